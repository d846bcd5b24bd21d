import Crypto
import Foundation

/// AWS Signature Version 4 for S3 requests (header-based signing, payload hash signed).
///
/// The steps: a canonical request (method, encoded path, sorted query, sorted lower-case
/// headers, signed header names, payload SHA-256), a string to sign with the credential scope
/// `date/region/service/aws4_request`, and an HMAC-SHA256 chain from the secret key.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Returns `headers` plus `x-amz-date`, `x-amz-content-sha256`, the session token if any,
    /// and `Authorization`.
    ///
    /// - Parameters:
    ///   - path: the request path, already percent-encoded (``encodePath(_:)``).
    ///   - query: the query parameters, not encoded.
    ///   - headers: every header that will be sent except those added here; `host` included.
    ///   - payloadSHA256: the body's SHA-256 in lower-case hex.
    ///   - sendsPayloadHash: add the `x-amz-content-sha256` header (S3 requires it; other
    ///     services sign the hash without sending it).
    public func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)],
        payloadSHA256: String, date: Date = Date(), sendsPayloadHash: Bool = true
    ) -> [(String, String)] {
        let (amzDate, day) = Self.timestamps(date)
        var all = headers
        all.append(("x-amz-date", amzDate))
        if sendsPayloadHash { all.append(("x-amz-content-sha256", payloadSHA256)) }
        if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }

        var canonicalHeaders: [(name: String, value: String)] = []
        for (name, value) in all { canonicalHeaders.append((name.lowercased(), Self.trim(value))) }
        canonicalHeaders.sort { $0.name < $1.name }
        var signedHeaders = ""
        var headerLines = ""
        for (i, h) in canonicalHeaders.enumerated() {
            signedHeaders += (i == 0 ? "" : ";") + h.name
            headerLines += h.name + ":" + h.value + "\n"
        }
        var encodedQuery: [(name: String, value: String)] = []
        for (name, value) in query { encodedQuery.append((Self.encode(name), Self.encode(value))) }
        encodedQuery.sort { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
        var canonicalQuery = ""
        for (i, q) in encodedQuery.enumerated() { canonicalQuery += (i == 0 ? "" : "&") + q.name + "=" + q.value }
        let canonicalRequest = [
            method, path, canonicalQuery,
            headerLines,
            signedHeaders, payloadSHA256,
        ].joined(separator: "\n")

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        all.append((
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        ))
        return all
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` and `YYYYMMDD` in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let day = String(format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        return (day + String(format: "T%02d%02d%02dZ", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)), day)
    }

    /// Header values: leading and trailing spaces removed, inner runs of spaces made one.
    static func trim(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// RFC 3986 encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`.
    public static func encode(_ s: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(b >> 4)])
                out.unicodeScalars.append(digits[Int(b & 15)])
            }
        }
        return out
    }

    /// An object key as a request path (its `/` kept).
    public static func encodePath(_ key: String) -> String { encode(key, keepSlash: true) }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lower-case hex SHA-256 of `data`.
    public static func sha256Hex<D: DataProtocol>(_ data: D) -> String { hex(SHA256.hash(data: data)) }
}
