import Foundation

/// What went wrong while syncing, where, and what to do about it.
public enum SyncError: Error, CustomStringConvertible, Sendable {
    /// The `s3://` URL or the endpoint cannot be used.
    case badDestination(String, String)
    /// No credentials were found; `searched` says where we looked.
    case noCredentials(profile: String, searched: [String])
    /// An AWS config or credentials file could not be read (`path:line: what`).
    case badConfigFile(path: String, line: Int, String)
    /// The server refused a request for a reason retrying cannot fix (wrong credentials, no
    /// such bucket, access denied…).
    case rejected(operation: String, key: String?, status: Int, code: String, message: String)
    /// A request kept failing (5xx, timeouts, dropped connections) after every retry.
    case gaveUp(operation: String, key: String?, attempts: Int, last: String)
    /// The server stored something other than what was sent (checksum mismatch).
    case verificationFailed(key: String, String)
    /// A local file or the cursor could not be read or written.
    case local(path: String, String)
    /// Another `litmus sync` to the same destination holds the cursor.
    case busy(path: String)

    public var description: String {
        switch self {
        case .badDestination(let what, let why):
            return "\(what): \(why)"
        case .noCredentials(let profile, let searched):
            return "no AWS credentials for profile `\(profile)` (looked in: \(searched.joined(separator: "; "))). "
                + "Fix: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add the profile to ~/.aws/credentials, or pass --profile"
        case .badConfigFile(let path, let line, let what):
            return "\(path):\(line): \(what)"
        case .rejected(let op, let key, let status, let code, let message):
            return "\(op)\(key.map { " \($0)" } ?? ""): the server refused it (HTTP \(status) \(code)\(message.isEmpty ? "" : ": " + message)). Fix: \(Self.fix(code: code, status: status))"
        case .gaveUp(let op, let key, let attempts, let last):
            return "\(op)\(key.map { " \($0)" } ?? ""): still failing after \(attempts) attempt(s) (last: \(last)). "
                + "Nothing is lost: the cursor keeps what was uploaded; run `litmus sync` again when the server is reachable"
        case .verificationFailed(let key, let why):
            return "\(key): the upload did not verify (\(why)); it will be sent again on the next sync"
        case .local(let path, let why):
            return "\(path): \(why)"
        case .busy(let path):
            return "\(path): another `litmus sync` to this destination is running (it holds the cursor's lock). Fix: wait for it, or stop it"
        }
    }

    /// Advice for the S3 error codes people meet.
    static func fix(code: String, status: Int) -> String {
        switch code {
        case "NoSuchBucket": return "create the bucket, or check its name in the s3:// URL"
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed":
            return "check the access key and secret (environment, ~/.aws/credentials, --profile) and the region"
        case "AccessDenied": return "give these credentials s3:PutObject, s3:GetObject and s3:ListBucket on the bucket and prefix"
        case "PermanentRedirect", "IllegalLocationConstraintException": return "the bucket is in another region: pass --region"
        case "InvalidBucketName": return "use a valid bucket name"
        default: return status == 403 ? "check the credentials and the bucket's policy" : "check the destination and the server's logs"
        }
    }
}
