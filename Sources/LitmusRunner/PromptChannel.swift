import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The runner's end of the prompt channel: a Unix socket whose path the test process gets in
/// `LITMUS_PROMPT_SOCKET`. A test process (``Litmus/SocketPromptHandler``) sends one JSON line
/// per prompt and waits for one answer line (protocol: docs/runner.md).
///
/// Any number of faces (the terminal, later a web screen) see each prompt through
/// ``onPrompt`` and answer with ``answer(id:value:source:)``: the first answer wins, later ones
/// are refused. A prompt with a timeout that nobody answers in time is answered `timed_out`.
///
/// ```swift
/// let channel = try PromptChannel()
/// channel.onPrompt = { request in _ = channel.answer(id: request.id, value: "yes", source: "operator:alice@terminal") }
/// // start the test with LITMUS_PROMPT_SOCKET=channel.path
/// ```
public final class PromptChannel: @unchecked Sendable {
    /// A prompt from a test process.
    public struct Request: Sendable, Equatable {
        public var id: String
        /// `confirm`, `choice` or `input`.
        public var kind: String
        public var message: String
        public var choices: [String]
        public var timeoutSeconds: Double?
        public var dutSerial: String?
        /// A picture for the operator: a path relative to the station file's folder, as the
        /// test wrote it (a face checks it stays inside that folder before showing it).
        public var image: String?
        public var receivedAt: Date
    }

    /// How a prompt was closed, for the faces that still show it.
    public struct Closing: Sendable, Equatable {
        public var id: String
        /// `answered`, `timed_out` or `cancelled`.
        public var response: String
        public var value: String?
        /// Who answered (`operator:bob@web`), `timeout`, or why it was cancelled.
        public var source: String
    }

    /// The socket's path.
    public let path: String
    /// Called (on the channel's thread) for each prompt that arrives.
    public var onPrompt: (@Sendable (Request) -> Void)? {
        get { lock.withLock { handler } }
        set { lock.withLock { handler = newValue } }
    }

    /// Called (on the thread that closed it) once for each prompt that is answered, times out
    /// or is cancelled: every face closes its question, whoever answered.
    public var onClosed: (@Sendable (Closing) -> Void)? {
        get { lock.withLock { closedHandler } }
        set { lock.withLock { closedHandler = newValue } }
    }

    private let listener: Int32
    private let lock = NSLock()
    private var handler: (@Sendable (Request) -> Void)?
    private var closedHandler: (@Sendable (Closing) -> Void)?
    private var pending: [String: (request: Request, fd: Int32)] = [:]
    private var closed = false

    /// Listens on `path` (default: a new socket in the temporary directory).
    ///
    /// - Throws: ``RunnerError`` when the socket cannot be made.
    public init(path: String? = nil) throws {
        let path = path ?? "\(NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/")litmus-prompt-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
        self.path = path
        guard var address = System.unixSocketAddress(path) else {
            throw RunnerError(
                "prompt socket path \(path) is longer than a Unix socket path may be (\(System.unixSocketPathLimit) bytes); set TMPDIR to a shorter directory")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RunnerError("cannot make the prompt socket: \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let text = String(cString: strerror(errno))
            closeDescriptor(fd)
            throw RunnerError("cannot listen on the prompt socket \(path): \(text)")
        }
        chmod(path, 0o600)
        listener = fd
        let acceptor = Thread { [self] in acceptLoop() }
        acceptor.name = "litmus-prompt-channel"
        acceptor.start()
    }

    deinit { close() }

    /// Stops listening and removes the socket; prompts still open are answered `cancelled`.
    /// Calling it again does nothing. The listening descriptor is shut down here and closed by
    /// the acceptor thread as it leaves: were it closed here, an acceptor thread not yet in
    /// `accept()` could accept on its number after a new socket (another channel's) took it.
    public func close() {
        let open = lock.withLock { () -> [(request: Request, fd: Int32)]? in
            if closed { return nil }
            closed = true
            defer { pending = [:] }
            return Array(pending.values)
        }
        guard let open else { return }
        for p in open { reply(p.fd, id: p.request.id, response: "cancelled", value: nil, source: "runner") }
        for p in open { notifyClosed(p.request.id, "cancelled", nil, "runner") }
        shutdown(listener, Int32(SHUT_RDWR))
        unlink(path)
    }

    /// The prompts waiting for an answer.
    public var open: [Request] { lock.withLock { pending.values.map(\.request).sorted { $0.receivedAt < $1.receivedAt } } }

    /// Answers prompt `id` with `value` (`yes`/`no`, a choice, text), saying who answered
    /// (`operator:alice@terminal`, `operator:bob@web`). Returns false when the prompt is
    /// unknown or was answered already (the first answer wins).
    @discardableResult
    public func answer(id: String, value: String, source: String) -> Bool {
        guard let p = lock.withLock({ pending.removeValue(forKey: id) }) else { return false }
        reply(p.fd, id: id, response: "answered", value: value, source: source)
        notifyClosed(id, "answered", value, source)
        return true
    }

    /// Gives up prompt `id` (no face can answer it): the test's prompt fails with the reason.
    /// Returns false when it was answered already.
    @discardableResult
    public func cancel(id: String, reason: String) -> Bool {
        guard let p = lock.withLock({ pending.removeValue(forKey: id) }) else { return false }
        reply(p.fd, id: id, response: "cancelled", value: nil, source: reason)
        notifyClosed(id, "cancelled", nil, reason)
        return true
    }

    private func timeOut(id: String) {
        guard let p = lock.withLock({ pending.removeValue(forKey: id) }) else { return }
        reply(p.fd, id: id, response: "timed_out", value: nil, source: "timeout")
        notifyClosed(id, "timed_out", nil, "timeout")
    }

    private func notifyClosed(_ id: String, _ response: String, _ value: String?, _ source: String) {
        lock.withLock { closedHandler }?(Closing(id: id, response: response, value: value, source: source))
    }

    private func reply(_ fd: Int32, id: String, response: String, value: String?, source: String) {
        let object: [String: Any] = [
            "type": "answer", "id": id, "response": response, "value": value ?? NSNull(), "source": source,
            "answered_at": ISO8601DateFormatter().string(from: Date()),
        ]
        if var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            line.append(UInt8(ascii: "\n"))
            line.withUnsafeBytes { raw in
                var sent = 0
                while sent < raw.count {
                    let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    sent += n
                }
            }
        }
        closeDescriptor(fd)
    }

    /// Accepts until the channel is closed, then closes the listening descriptor (its only
    /// closer: the number stays this channel's until no thread can use it).
    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                let error = errno
                if lock.withLock({ closed }) {
                    closeDescriptor(listener)
                    return
                }
                // Not closed: a connection that went away, a signal, or no descriptor free
                // for a moment; keep listening.
                if error != EINTR && error != ECONNABORTED { usleep(10_000) }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let reader = Thread { [self] in serve(fd) }
            reader.start()
        }
    }

    /// Reads one prompt line (at most 64 KiB) from a connection and registers it.
    private func serve(_ fd: Int32) {
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !line.contains(UInt8(ascii: "\n")) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }
            guard n > 0, line.count + n <= 65536 else {
                closeDescriptor(fd)
                return
            }
            line += buffer[0..<n]
        }
        let text = Data(line.prefix { $0 != UInt8(ascii: "\n") })
        guard let object = try? JSONSerialization.jsonObject(with: text) as? [String: Any], object["type"] as? String == "prompt",
            let id = object["id"] as? String, let kind = object["kind"] as? String, ["confirm", "choice", "input"].contains(kind),
            let message = object["message"] as? String
        else {
            reply(fd, id: "", response: "refused", value: nil, source: "runner")
            return
        }
        let request = Request(
            id: id, kind: kind, message: message, choices: object["choices"] as? [String] ?? [],
            timeoutSeconds: (object["timeout_seconds"] as? NSNumber)?.doubleValue, dutSerial: object["dut_serial"] as? String,
            image: object["image"] as? String, receivedAt: Date())
        let (accepted, handler) = lock.withLock { () -> (Bool, (@Sendable (Request) -> Void)?) in
            if closed || pending[id] != nil { return (false, nil) }
            pending[id] = (request, fd)
            return (true, self.handler)
        }
        guard accepted else {
            reply(fd, id: id, response: "refused", value: nil, source: "runner")
            return
        }
        if let timeout = request.timeoutSeconds, timeout.isFinite, timeout >= 0 {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak self] in self?.timeOut(id: id) }
        }
        handler?(request)
    }
}

private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
