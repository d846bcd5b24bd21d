import Foundation

/// Where a data directory is synced: a bucket, a key prefix and the endpoint that serves it.
///
/// `s3://bucket/prefix` names the bucket and prefix; the endpoint is AWS S3 for the region
/// unless one is given (MinIO, Ceph, a cloud's S3 API, a test server). Object keys are
/// `<prefix>/<path inside the data directory>`, so the Hive layout (`runs/date=…/station=…`)
/// is the same in the bucket as on disk.
public struct S3Destination: Sendable, Equatable, CustomStringConvertible {
    /// How the bucket is named in requests.
    public enum Addressing: String, Sendable {
        /// `https://endpoint/bucket/key`: what MinIO-like servers expect.
        case path
        /// `https://bucket.endpoint/key`: AWS's default.
        case virtualHosted = "virtual-hosted"
    }

    public var bucket: String
    /// The key prefix, without leading or trailing `/` (empty: the bucket's root).
    public var prefix: String
    /// `scheme://host[:port]`, no path.
    public var endpoint: URL
    public var region: String
    public var addressing: Addressing

    /// Parses `s3://bucket[/prefix]`.
    ///
    /// - Parameters:
    ///   - endpoint: an S3 API endpoint (`http://127.0.0.1:9000`); nil for AWS S3 in `region`.
    ///   - addressing: nil: path-style for a given endpoint, virtual-hosted for AWS (path-style
    ///     there too when the bucket name has a dot, which TLS certificates cannot cover).
    public init(url: String, endpoint: String?, region: String, addressing: Addressing? = nil) throws {
        guard url.hasPrefix("s3://") else {
            throw SyncError.badDestination(url, "it does not start with s3://. Fix: write s3://bucket/prefix")
        }
        let rest = url.dropFirst(5)
        let bucket = String(rest.prefix(while: { $0 != "/" }))
        try Self.checkBucket(bucket, in: url)
        var prefix = String(rest.dropFirst(bucket.count))
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty, prefix.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw SyncError.badDestination(url, "the prefix has an empty, `.` or `..` part. Fix: write s3://bucket/a/b")
        }
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        if let endpoint {
            guard let u = URL(string: endpoint), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = u.host, !host.isEmpty, u.path.isEmpty || u.path == "/", u.query == nil
            else {
                throw SyncError.badDestination(endpoint, "an endpoint is http(s)://host[:port] with no path. Fix: e.g. --endpoint http://127.0.0.1:9000")
            }
            var c = URLComponents()
            c.scheme = scheme
            c.host = host
            c.port = u.port
            self.endpoint = c.url!
            self.addressing = addressing ?? .path
        } else {
            self.endpoint = URL(string: "https://s3.\(region).amazonaws.com")!
            self.addressing = addressing ?? (bucket.contains(".") ? .path : .virtualHosted)
        }
    }

    /// Bucket names as S3 accepts them (3-63 lower-case letters, digits, `.` and `-`).
    static func checkBucket(_ bucket: String, in url: String) throws {
        let ok = (3...63).contains(bucket.count)
            && bucket.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "." || $0 == "-" }
            && bucket.first!.isLetterOrDigitASCII && bucket.last!.isLetterOrDigitASCII
            && !bucket.contains("..")
        if !ok {
            throw SyncError.badDestination(
                url, "`\(bucket)` is not a valid bucket name. Fix: 3 to 63 lower-case letters, digits, `.` or `-`, starting and ending with a letter or digit")
        }
    }

    /// The object key of a file at `relativePath` inside the data directory.
    public func key(for relativePath: String) -> String {
        prefix.isEmpty ? relativePath : prefix + "/" + relativePath
    }

    /// The host the requests go to (with the port when it is not the scheme's default).
    var host: String {
        var h = endpoint.host!
        if addressing == .virtualHosted { h = bucket + "." + h }
        if let port = endpoint.port { h += ":\(port)" }
        return h
    }

    /// The request path of `key` (nil: the bucket itself), percent-encoded the way SigV4 signs it.
    func path(forKey key: String?) -> String {
        var p = addressing == .path ? "/" + bucket : ""
        if let key { p += "/" + SigV4Signer.encodePath(key) }
        return p.isEmpty ? "/" : p
    }

    public var description: String {
        "s3://\(bucket)\(prefix.isEmpty ? "" : "/" + prefix) at \(endpoint.absoluteString) (\(region), \(addressing.rawValue)-style)"
    }
}

extension Character {
    var isLetterOrDigitASCII: Bool { (self >= "a" && self <= "z") || (self >= "0" && self <= "9") }
}
