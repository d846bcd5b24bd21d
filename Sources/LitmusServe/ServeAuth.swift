import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who may use the web screen, and how a browser proves it.
///
/// - On a loopback address nobody signs in (everyone on this machine is an engineer), unless
///   tokens are configured; the `Host` header must name this machine (no DNS rebinding).
/// - On any other address sign-in is required: with the engineer token printed once at
///   start-up (or `LITMUS_SERVE_TOKEN`), or with the users of `--users FILE`.
/// - Every browser gets a session cookie (HttpOnly, SameSite=Strict) and a CSRF token that
///   every POST must send back in `X-CSRF-Token`; a POST from another origin is refused.
///   An API client may send `Authorization: Bearer <token>` instead (no cookie, no CSRF).
final class ServeAuth: @unchecked Sendable {
    enum Role: String, Sendable {
        /// Starts boards, answers prompts, aborts; sees the screen, the history and run pages.
        case `operator`
        /// Everything, also the downloads of run data.
        case engineer
    }

    struct User: Sendable, Equatable {
        var name: String
        var role: Role
    }

    struct Session: Sendable {
        var id: String
        var csrf: String
        /// nil until signed in (when sign-in is required).
        var user: User?
    }

    /// Whether requests must be signed in.
    let required: Bool
    /// Whether the server listens on loopback only.
    let loopback: Bool
    private let tokens: [(token: String, user: User)]
    private let lock = NSLock()
    private var sessions: [String: Session] = [:]
    private var order: [String] = []
    /// The most sessions kept (the oldest is forgotten first).
    static let sessionLimit = 10_000

    /// - Parameters:
    ///   - host: the bind address.
    ///   - usersFile: `name role token` per line (`#` comments), readable by its owner only.
    ///   - token: the engineer token (`LITMUS_SERVE_TOKEN`); a random one is made when sign-in is
    ///     required and neither this nor users are given (``generatedToken``).
    init(host: String, usersFile: String?, token: String?) throws {
        loopback = Self.isLoopback(host)
        var tokens: [(String, User)] = []
        if let usersFile { tokens = try Self.readUsers(usersFile) }
        if let token {
            guard token.count >= 16 else { throw ServeError(.invalid, "LITMUS_SERVE_TOKEN is shorter than 16 characters: use a long random token") }
            tokens.append((token, User(name: "engineer", role: .engineer)))
        }
        if !loopback && tokens.isEmpty {
            let generated = Self.randomToken()
            tokens.append((generated, User(name: "engineer", role: .engineer)))
            generatedToken = generated
        } else {
            generatedToken = nil
        }
        self.tokens = tokens
        required = !loopback || !tokens.isEmpty
    }

    /// The engineer token made at start-up (printed once), when sign-in is required and none
    /// was configured.
    let generatedToken: String?

    static func isLoopback(_ host: String) -> Bool {
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    /// Whether a `Host` header names this machine over loopback (any port).
    static func isLoopbackHostHeader(_ header: String) -> Bool {
        var host = header
        if host.hasPrefix("[") {
            host = String(host.dropFirst().prefix { $0 != "]" })
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        return isLoopback(host)
    }

    static func randomToken() -> String {
        var bytes = [UInt8](repeating: 0, count: 24)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = read(fd, &bytes, bytes.count)
            close(fd)
        } else {
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Reads `name role token` lines; every mistake is reported as `file:line: what. Fix: how`.
    static func readUsers(_ path: String) throws -> [(String, User)] {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ServeError(.invalid, "\(path): cannot read the users file. Fix: give an existing file of `name role token` lines") }
        guard info.st_mode & 0o077 == 0 else {
            throw ServeError(.invalid, "\(path): the users file holds tokens but others can read it. Fix: chmod 600 \(path)")
        }
        guard info.st_size <= 1 << 20, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ServeError(.invalid, "\(path): not a UTF-8 text file of at most 1 MiB")
        }
        var users: [(String, User)] = []
        var problems: [String] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard parts.count == 3 else {
                problems.append("\(path):\(n + 1): expected `name role token`, found \(parts.count) fields. Fix: write e.g. `alice operator <a long random token>`")
                continue
            }
            guard let role = Role(rawValue: parts[1]) else {
                problems.append("\(path):\(n + 1): role \(parts[1].prefix(20)) is not a role. Fix: write operator or engineer")
                continue
            }
            guard parts[2].count >= 16 else {
                problems.append("\(path):\(n + 1): the token of \(parts[0]) is shorter than 16 characters. Fix: use a long random token (openssl rand -hex 24)")
                continue
            }
            if users.contains(where: { $0.0 == parts[2] }) {
                problems.append("\(path):\(n + 1): the token of \(parts[0]) is also another user's. Fix: give each user a token of their own")
                continue
            }
            users.append((parts[2], User(name: parts[0], role: role)))
        }
        guard problems.isEmpty else { throw ServeError(.invalid, problems.joined(separator: "\n")) }
        guard !users.isEmpty else { throw ServeError(.invalid, "\(path): no users. Fix: add `name role token` lines") }
        return users
    }

    /// The user a token belongs to (compared in constant time).
    func user(token: String) -> User? {
        let given = Array(token.utf8)
        var found: User?
        for (t, user) in tokens {
            let known = Array(t.utf8)
            var diff = UInt8(given.count == known.count ? 0 : 1)
            for i in 0..<min(given.count, known.count) { diff |= given[i] ^ known[i] }
            if diff == 0 { found = user }
        }
        return found
    }

    /// The browser's session from its cookie.
    func session(cookie: String?) -> Session? {
        guard let cookie, let id = Self.cookieValue(cookie, name: "litmus_session") else { return nil }
        return lock.withLock { sessions[id] }
    }

    /// A new session (the browser gets its cookie), signed in as `user` when given.
    func newSession(user: User?) -> Session {
        let session = Session(id: Self.randomToken(), csrf: Self.randomToken(), user: user)
        lock.withLock {
            sessions[session.id] = session
            order.append(session.id)
            if order.count > Self.sessionLimit {
                let old = order.count - Self.sessionLimit
                for id in order.prefix(old) { sessions[id] = nil }
                order.removeFirst(old)
            }
        }
        return session
    }

    func endSession(_ id: String) {
        lock.withLock {
            sessions[id] = nil
            order.removeAll { $0 == id }
        }
    }

    static func cookieHeader(_ session: Session) -> String {
        "litmus_session=\(session.id); Path=/; HttpOnly; SameSite=Strict"
    }

    static func cookieValue(_ header: String, name: String) -> String? {
        for part in header.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces)
            if kv.hasPrefix(name + "=") { return String(kv.dropFirst(name.count + 1)) }
        }
        return nil
    }

    /// Constant-time equality of two secrets.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
