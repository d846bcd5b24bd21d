import Foundation

/// What an operator prompt asks for.
public enum PromptKind: String, Sendable, CaseIterable {
    /// Yes or no.
    case confirm
    /// One of the given choices.
    case choice
    /// Free text.
    case input
}

/// A question for the operator.
public struct Prompt: Sendable, Equatable {
    public var message: String
    public var kind: PromptKind
    public var choices: [String]
    /// Seconds to wait for an answer; nil waits forever.
    public var timeout: Double?
    /// A picture to show with the question (a face that can show one does): a path relative
    /// to the station file's folder, e.g. `images/lid.png`.
    public var image: String? = nil
}

/// The operator's answer.
public enum PromptAnswer: Sendable, Equatable {
    case confirmed(Bool)
    case chose(String)
    case text(String)
    /// Nobody answered within the prompt's timeout.
    case timedOut

    /// The answer as text (for the event log): "yes"/"no", the choice, the text; nil when timed out.
    public var value: String? {
        switch self {
        case .confirmed(let b): b ? "yes" : "no"
        case .chose(let s), .text(let s): s
        case .timedOut: nil
        }
    }
}

/// Answers prompts: a terminal, a script (tests, CI), an automatic policy, or the station
/// runner over its prompt channel.
public protocol PromptHandler: Sendable {
    /// Who answered, for the event log: `operator`, `script`, `auto`.
    var source: String { get }
    func answer(_ prompt: Prompt) throws -> PromptAnswer
    /// The answer and who gave it (a handler whose answerer varies, like the runner's channel,
    /// says who answered each prompt). By default ``answer(_:)`` and ``source``.
    func answerWithSource(_ prompt: Prompt) throws -> (answer: PromptAnswer, source: String)
}

extension PromptHandler {
    public func answerWithSource(_ prompt: Prompt) throws -> (answer: PromptAnswer, source: String) {
        (try answer(prompt), source)
    }
}

/// Why a prompt could not be asked.
public struct PromptError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Answers without asking: confirm -> yes, choice -> the first choice, input -> "".
/// Chosen by `LITMUS_PROMPT=auto` (CI, unattended runs).
public struct AutoPromptHandler: PromptHandler {
    public init() {}
    public var source: String { "auto" }
    public func answer(_ prompt: Prompt) throws -> PromptAnswer {
        switch prompt.kind {
        case .confirm: return .confirmed(true)
        case .choice:
            guard let first = prompt.choices.first else { throw PromptError("a choice prompt needs choices") }
            return .chose(first)
        case .input: return .text("")
        }
    }
}

/// Answers from a list, in order (tests, scripted runs). Running out of answers is an error.
public final class ScriptedPromptHandler: PromptHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [PromptAnswer]
    public init(_ answers: [PromptAnswer]) { self.answers = answers }
    public var source: String { "script" }
    public func answer(_ prompt: Prompt) throws -> PromptAnswer {
        try lock.withLock {
            guard !answers.isEmpty else { throw PromptError("the script has no answer left for \"\(prompt.message)\"") }
            return answers.removeFirst()
        }
    }
}

/// Asks on the terminal (standard input must be a TTY), honouring the timeout.
public struct TerminalPromptHandler: PromptHandler {
    public init() {}
    public var source: String { "operator" }

    public func answer(_ prompt: Prompt) throws -> PromptAnswer {
        guard isatty(0) == 1 else { throw PromptError("standard input is not a terminal; set LITMUS_PROMPT=auto or give the harness a prompt handler") }
        while true {
            var line = prompt.message
            switch prompt.kind {
            case .confirm: line += " [y/n] "
            case .choice: line += " [" + prompt.choices.enumerated().map { "\($0 + 1)=\($1)" }.joined(separator: ", ") + "] "
            case .input: line += " "
            }
            FileHandle.standardOutput.write(Data(line.utf8))
            guard let reply = try readLine(timeout: prompt.timeout) else { return .timedOut }
            let t = reply.trimmingCharacters(in: .whitespaces)
            switch prompt.kind {
            case .confirm:
                if ["y", "yes"].contains(t.lowercased()) { return .confirmed(true) }
                if ["n", "no"].contains(t.lowercased()) { return .confirmed(false) }
            case .choice:
                if let i = Int(t), i >= 1, i <= prompt.choices.count { return .chose(prompt.choices[i - 1]) }
                if let c = prompt.choices.first(where: { $0.lowercased() == t.lowercased() }) { return .chose(c) }
            case .input:
                return .text(reply)
            }
        }
    }

    /// One line from standard input, or nil when `timeout` seconds pass first.
    private func readLine(timeout: Double?) throws -> String? {
        var bytes: [UInt8] = []
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while true {
            var pfd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let ms = deadline.map { Int32(max(0, min(Double(Int32.max), $0.timeIntervalSinceNow * 1000))) } ?? -1
            let ready = poll(&pfd, 1, ms)
            if ready == 0 { return nil }
            if ready < 0 { if errno == EINTR { continue } else { throw PromptError("cannot read the terminal") } }
            var byte: UInt8 = 0
            let n = read(0, &byte, 1)
            if n <= 0 { throw PromptError("the terminal closed") }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }
}

/// Asks the station runner (`litmus run`) over its prompt channel: a Unix socket named in
/// `LITMUS_PROMPT_SOCKET`, one JSON line each way (docs/runner.md). The runner shows the
/// prompt on its faces (terminal, later a web screen); the first answer wins and names who
/// gave it (`operator:alice@terminal`), which the event log records.
public struct SocketPromptHandler: PromptHandler {
    /// The socket's path.
    public let path: String
    public init(path: String) { self.path = path }
    public var source: String { "runner" }

    public func answer(_ prompt: Prompt) throws -> PromptAnswer { try answerWithSource(prompt).answer }

    public func answerWithSource(_ prompt: Prompt) throws -> (answer: PromptAnswer, source: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PromptError("cannot make a socket for the runner's prompt channel: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard var address = System.unixSocketAddress(path) else {
            throw PromptError("LITMUS_PROMPT_SOCKET=\(path) is longer than a socket path may be (\(System.unixSocketPathLimit) bytes)")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw PromptError(
                "cannot reach the station runner's prompt channel at \(path) (LITMUS_PROMPT_SOCKET): \(String(cString: strerror(errno))). Is `litmus run` still running?")
        }
        var request: [String: Any] = [
            "type": "prompt", "id": UUID().uuidString.lowercased(), "kind": prompt.kind.rawValue, "message": prompt.message,
            "choices": prompt.choices, "timeout_seconds": prompt.timeout ?? NSNull(),
        ]
        if let image = prompt.image { request["image"] = image }
        if let serial = ProcessInfo.processInfo.environment["LITMUS_DUT_SERIAL"] { request["dut_serial"] = serial }
        var line = try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys])
        line.append(UInt8(ascii: "\n"))
        try line.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw PromptError("the runner's prompt channel closed while asking \"\(prompt.message)\"") }
                sent += n
            }
        }
        // One answer line, at most 64 KiB.
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(UInt8(ascii: "\n")) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PromptError("the runner's prompt channel closed without answering \"\(prompt.message)\"") }
            reply += buffer[0..<n]
            guard reply.count <= 65536 else { throw PromptError("the runner's answer to \"\(prompt.message)\" is longer than 64 KiB") }
        }
        let text = reply.prefix { $0 != UInt8(ascii: "\n") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text)) as? [String: Any],
            object["type"] as? String == "answer", let response = object["response"] as? String
        else {
            throw PromptError("the runner's answer to \"\(prompt.message)\" is not an answer line: \(String(decoding: text.prefix(200), as: UTF8.self))")
        }
        let source = object["source"] as? String ?? "runner"
        if response == "timed_out" { return (.timedOut, source) }
        guard response == "answered", let value = object["value"] as? String else {
            throw PromptError("the runner did not answer \"\(prompt.message)\": \(response) (\(source))")
        }
        switch prompt.kind {
        case .confirm:
            guard ["yes", "no"].contains(value) else { throw PromptError("the runner answered \"\(value)\" to a confirm prompt (yes or no expected)") }
            return (.confirmed(value == "yes"), source)
        case .choice:
            guard prompt.choices.contains(value) else {
                throw PromptError("the runner answered \"\(value)\", not one of \(prompt.choices.joined(separator: ", "))")
            }
            return (.chose(value), source)
        case .input:
            return (.text(value), source)
        }
    }
}

extension Prompt {
    /// The handler a harness uses: the station runner's channel when `LITMUS_PROMPT_SOCKET` is
    /// set (instead of none or the automatic one: under the runner, the operator answers),
    /// else the given handler, else ``defaultHandler(environment:)``.
    static func handler(_ given: (any PromptHandler)?, environment: [String: String] = ProcessInfo.processInfo.environment) -> (any PromptHandler)? {
        if let path = environment["LITMUS_PROMPT_SOCKET"], !path.isEmpty, given == nil || given is AutoPromptHandler {
            return SocketPromptHandler(path: path)
        }
        return given ?? defaultHandler(environment: environment)
    }

    /// The handler to use when the harness was given none: `LITMUS_PROMPT=auto` answers
    /// automatically; a terminal asks the operator; anything else is an error saying so.
    static func defaultHandler(environment: [String: String] = ProcessInfo.processInfo.environment) -> (any PromptHandler)? {
        if let mode = environment["LITMUS_PROMPT"]?.lowercased(), ["auto", "1", "yes", "true"].contains(mode) {
            return AutoPromptHandler()
        }
        return isatty(0) == 1 ? TerminalPromptHandler() : nil
    }
}
