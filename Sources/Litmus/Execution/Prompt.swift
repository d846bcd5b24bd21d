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

/// Answers prompts: a terminal, a script (tests, CI) or an automatic policy.
public protocol PromptHandler: Sendable {
    /// Who answered, for the event log: `operator`, `script`, `auto`.
    var source: String { get }
    func answer(_ prompt: Prompt) throws -> PromptAnswer
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

extension Prompt {
    /// The handler to use when the harness was given none: `LITMUS_PROMPT=auto` answers
    /// automatically; a terminal asks the operator; anything else is an error saying so.
    static func defaultHandler(environment: [String: String] = ProcessInfo.processInfo.environment) -> (any PromptHandler)? {
        if let mode = environment["LITMUS_PROMPT"]?.lowercased(), ["auto", "1", "yes", "true"].contains(mode) {
            return AutoPromptHandler()
        }
        return isatty(0) == 1 ? TerminalPromptHandler() : nil
    }
}
