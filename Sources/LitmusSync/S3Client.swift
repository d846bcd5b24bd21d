import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The few S3 API calls a sync needs (PutObject, HeadObject, the multipart calls,
/// ListMultipartUploads, HeadBucket), signed with SigV4 and retried with backoff on what
/// retrying can fix: 5xx, 408/429, throttling codes, timeouts and dropped connections.
///
/// Calls block the calling thread (the syncer runs a few worker threads); the client itself
/// is shared. Credentials never appear in errors or logs.
public final class S3Client: @unchecked Sendable {
    public struct Options: Sendable {
        /// Attempts per request, the first included.
        public var attempts = 8
        /// First backoff delay; doubled each retry (with jitter) up to `maxBackoff`.
        public var backoff = 0.2
        public var maxBackoff = 5.0
        /// Connect timeout, and the longest wait for the next bytes of a response.
        public var connectTimeout = 5.0
        public var readTimeout = 30.0
        public init() {}
    }

    public let destination: S3Destination
    let signer: SigV4Signer
    let options: Options
    private let http: HTTPClient
    /// Called before each retry (operation, key, attempt, why): for progress output.
    var onRetry: (@Sendable (String, String?, Int, String) -> Void)?

    public init(destination: S3Destination, credentials: AWSCredentials, caBundle: String? = nil, options: Options = Options()) throws {
        self.destination = destination
        self.signer = SigV4Signer(credentials: credentials, region: destination.region)
        self.options = options
        var tls = TLSConfiguration.makeClientConfiguration()  // certificates verified
        if let caBundle {
            guard FileManager.default.isReadableFile(atPath: caBundle) else {
                throw SyncError.local(path: caBundle, "the CA bundle cannot be read. Fix: point AWS_CA_BUNDLE at a PEM file")
            }
            tls.trustRoots = .file(caBundle)
        }
        var config = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(Int64(options.connectTimeout * 1000)), read: .milliseconds(Int64(options.readTimeout * 1000))))
        config.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    deinit { try? http.syncShutdown() }

    // MARK: calls

    /// Stores `body` at `key`; the server checks Content-MD5. Returns the ETag (quotes removed).
    ///
    /// `landed` is asked before each retry: a request whose reply was lost (a dropped
    /// connection, a timeout, a 5xx) may have been stored all the same, and sending it again
    /// would store it twice (a second version in a versioned bucket). When it returns an ETag,
    /// that is the result.
    func putObject(
        key: String, body: [UInt8], md5Base64: String, sha256: String, metadata: [String: String], landed: (() throws -> String?)? = nil
    ) throws -> String {
        var headers = [("content-md5", md5Base64), ("content-type", "application/octet-stream")]
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { headers.append(("x-amz-meta-" + k, v)) }
        let r = try send("PutObject", method: .PUT, key: key, headers: headers, body: body, payloadSHA256: sha256, landed: landed)
        return Self.etag(r.headers)
    }

    struct ObjectHead {
        var size: Int64
        var etag: String
        var metadata: [String: String]
    }

    /// The object's size, ETag and metadata, or nil when there is no such object.
    func headObject(key: String) throws -> ObjectHead? {
        let r = try send("HeadObject", method: .HEAD, key: key, acceptNotFound: true)
        if r.status == .notFound { return nil }
        var metadata: [String: String] = [:]
        for (name, value) in r.headers where name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(name.lowercased().dropFirst(11))] = value
        }
        return ObjectHead(size: Int64(r.headers.first(name: "content-length") ?? "") ?? -1, etag: Self.etag(r.headers), metadata: metadata)
    }

    /// Checks that the bucket exists and these credentials reach it.
    func headBucket() throws {
        let r = try send("HeadBucket", method: .HEAD, key: nil, acceptNotFound: true)
        if r.status == .notFound {
            throw SyncError.rejected(operation: "HeadBucket", key: destination.bucket, status: 404, code: "NoSuchBucket", message: "")
        }
    }

    func createMultipartUpload(key: String, metadata: [String: String]) throws -> String {
        var headers = [("content-type", "application/octet-stream")]
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { headers.append(("x-amz-meta-" + k, v)) }
        let r = try send("CreateMultipartUpload", method: .POST, key: key, query: [("uploads", "")], headers: headers)
        guard let id = XMLText.first("UploadId", in: r.body) else {
            throw SyncError.gaveUp(operation: "CreateMultipartUpload", key: key, attempts: 1, last: "no UploadId in the reply")
        }
        return id
    }

    func uploadPart(key: String, uploadID: String, number: Int, body: [UInt8], md5Base64: String, sha256: String) throws -> String {
        let r = try send(
            "UploadPart", method: .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
            headers: [("content-md5", md5Base64)], body: body, payloadSHA256: sha256)
        return Self.etag(r.headers)
    }

    /// Completes the upload; returns the object's ETag.
    func completeMultipartUpload(key: String, uploadID: String, parts: [(Int, String)], landed: (() throws -> String?)? = nil) throws -> String {
        var xml = "<CompleteMultipartUpload>"
        for (n, etag) in parts { xml += "<Part><PartNumber>\(n)</PartNumber><ETag>\"\(etag)\"</ETag></Part>" }
        xml += "</CompleteMultipartUpload>"
        let body = Array(xml.utf8)
        let r = try send(
            "CompleteMultipartUpload", method: .POST, key: key, query: [("uploadId", uploadID)],
            headers: [("content-type", "application/xml")], body: body, payloadSHA256: SigV4Signer.sha256Hex(body), landed: landed)
        if r.headers.first(name: "x-litmus-landed") != nil { return Self.etag(r.headers) }
        // The call can fail inside a 200 reply: S3 streams whitespace, then an <Error>.
        if let code = XMLText.first("Code", in: r.body), XMLText.first("Error", in: r.body) != nil || r.body.contains("<Error>") {
            throw SyncError.rejected(operation: "CompleteMultipartUpload", key: key, status: 200, code: code, message: XMLText.first("Message", in: r.body) ?? "")
        }
        return XMLText.first("ETag", in: r.body).map { $0.replacingOccurrences(of: "\"", with: "") } ?? Self.etag(r.headers)
    }

    func abortMultipartUpload(key: String, uploadID: String) throws {
        _ = try send("AbortMultipartUpload", method: .DELETE, key: key, query: [("uploadId", uploadID)], acceptNotFound: true)
    }

    /// Multipart uploads in progress under `prefix` (key, upload id); follows the pages.
    func listMultipartUploads(prefix: String) throws -> [(key: String, uploadID: String)] {
        var out: [(String, String)] = []
        var keyMarker: String?
        var idMarker: String?
        repeat {
            var query = [("uploads", ""), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let idMarker { query.append(("upload-id-marker", idMarker)) }
            let r = try send("ListMultipartUploads", method: .GET, key: nil, query: query)
            for upload in XMLText.all("Upload", in: r.body) {
                if let k = XMLText.first("Key", in: upload), let id = XMLText.first("UploadId", in: upload) { out.append((k, id)) }
            }
            if XMLText.first("IsTruncated", in: r.body) == "true" {
                keyMarker = XMLText.first("NextKeyMarker", in: r.body)
                idMarker = XMLText.first("NextUploadIdMarker", in: r.body)
                if keyMarker == nil { break }
            } else {
                break
            }
        } while true
        return out
    }

    // MARK: transport

    struct Reply {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: String
    }

    private static let emptySHA256 = SigV4Signer.sha256Hex([UInt8]())

    /// Signs and sends one request, retrying what can be retried.
    private func send(
        _ operation: String, method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8] = [], payloadSHA256: String? = nil, acceptNotFound: Bool = false, landed: (() throws -> String?)? = nil
    ) throws -> Reply {
        let path = destination.path(forKey: key)
        var queryText = query.map { $0.1.isEmpty && $0.0 == "uploads" ? "uploads" : SigV4Signer.encode($0.0) + "=" + SigV4Signer.encode($0.1) }
            .joined(separator: "&")
        if !queryText.isEmpty { queryText = "?" + queryText }
        let url = destination.endpoint.absoluteString.trimmingSuffix("/") + path + queryText
        let hash = payloadSHA256 ?? (body.isEmpty ? Self.emptySHA256 : SigV4Signer.sha256Hex(body))
        var attempt = 0
        var delay = options.backoff
        while true {
            attempt += 1
            var why: String
            if attempt > 1, let landed, let etag = try landed() {
                var headers = HTTPHeaders()
                headers.add(name: "etag", value: etag)
                headers.add(name: "x-litmus-landed", value: "1")
                return Reply(status: .ok, headers: headers, body: "")
            }
            do {
                let signed = signer.sign(
                    method: method.rawValue, path: path, query: query, headers: [("host", destination.host)] + headers, payloadSHA256: hash)
                var request = try HTTPClient.Request(url: url, method: method)
                for (k, v) in signed { request.headers.replaceOrAdd(name: k, value: v) }
                if method == .PUT || method == .POST { request.body = .bytes(body) }
                let deadline = NIODeadline.now() + .milliseconds(Int64((options.connectTimeout + options.readTimeout * 4) * 1000))
                let response = try http.execute(request: request, deadline: deadline).wait()
                let text = response.body.map { String(buffer: $0) } ?? ""
                let reply = Reply(status: response.status, headers: response.headers, body: text)
                let code = response.status.code
                if (200..<300).contains(code) || (acceptNotFound && code == 404) { return reply }
                let s3Code = XMLText.first("Code", in: text) ?? response.status.reasonPhrase
                let retryable = code >= 500 || code == 408 || code == 429 || ["RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable"].contains(s3Code)
                if !retryable {
                    throw SyncError.rejected(operation: operation, key: key, status: Int(code), code: s3Code, message: XMLText.first("Message", in: text) ?? "")
                }
                why = "HTTP \(code) \(s3Code)"
            } catch let e as SyncError {
                throw e
            } catch {
                why = Self.describe(error)
            }
            if attempt >= options.attempts {
                throw SyncError.gaveUp(operation: operation, key: key, attempts: attempt, last: why)
            }
            onRetry?(operation, key, attempt, why)
            usleep(useconds_t(min(delay * Double.random(in: 0.5...1.0), options.maxBackoff) * 1_000_000))
            delay = min(delay * 2, options.maxBackoff)
        }
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? HTTPClientError { return "\(e)" }
        return String(describing: error)
    }

    static func etag(_ headers: HTTPHeaders) -> String {
        (headers.first(name: "etag") ?? "").replacingOccurrences(of: "\"", with: "")
    }
}

/// Reading the few elements S3's XML replies carry (no DTDs, no namespaces that matter).
enum XMLText {
    static func first(_ tag: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(tag)>"), let close = xml.range(of: "</\(tag)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return unescape(String(xml[open.upperBound..<close.lowerBound]))
    }

    static func all(_ tag: String, in xml: String) -> [String] {
        var out: [String] = []
        var from = xml.startIndex
        while let open = xml.range(of: "<\(tag)>", range: from..<xml.endIndex),
            let close = xml.range(of: "</\(tag)>", range: open.upperBound..<xml.endIndex)
        {
            out.append(String(xml[open.upperBound..<close.lowerBound]))
            from = close.upperBound
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        return s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
