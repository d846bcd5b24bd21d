import Foundation
import Litmus
import LitmusRunner

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The runner on a terminal: a progress line redrawn in place on a TTY (plain lines, one per
/// change, otherwise), then a large verdict with every failing measurement and the run file.
final class TerminalFace: @unchecked Sendable {
    let tty: Bool
    private let lock = NSLock()
    private var lastLine = ""
    private var lineOpen = false
    private var lastDraw: UInt64 = 0
    /// Questions on the screen (a prompt, the abort question): the progress line is not
    /// redrawn over them.
    private var questionsOpen = 0
    /// The abort question has standard input to itself while it is open.
    private var abortQuestionOpen = false
    /// Held while a line of standard input is read, so two questions never split one answer.
    private let inputLock = NSLock()

    init(tty: Bool) { self.tty = tty }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Ends an in-place line before other output.
    private func closeLine() {
        if lineOpen {
            write("\n")
            lineOpen = false
        }
    }

    func header(_ runner: StationRunner) {
        lock.withLock {
            let b = runner.bench
            write("litmus run: station \(b.stationID) (\(b.roles.joined(separator: ", ")))")
            write(b.mockedRoles.isEmpty ? "" : ", mocked: \(b.mockedRoles.joined(separator: ", "))")
            write("; phase \(runner.options.phase)\(runner.options.operatorID.map { ", operator \($0)" } ?? "")\n")
            if let sequence = runner.sequence {
                write("sequence \(sequence.id): \(sequence.names.joined(separator: ", "))\n")
            }
            for w in b.warnings { write("warning: \(w)\n") }
        }
    }

    func askSerial() {
        lock.withLock {
            closeLine()
            write("serial> ")
        }
    }

    /// A progress update: redrawn in place on a TTY (at most every 50 ms), a new line when it
    /// changed otherwise (each step, vector and measurement; the clock alone does not make a
    /// new plain line).
    func progress(_ progress: RunProgress) {
        lock.withLock {
            if tty {
                // A question is on the line: the verdict or the answer comes first.
                if questionsOpen > 0 && progress.outcome == nil { return }
                // At most 20 redraws a second; the verdict follows the last state anyway.
                var ts = timespec()
                clock_gettime(CLOCK_MONOTONIC, &ts)
                let t = UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
                if t - lastDraw < 50 && progress.outcome == nil { return }
                lastDraw = t
                var columns = winsize()
                let width = ioctl(1, UInt(TIOCGWINSZ), &columns) == 0 && columns.ws_col > 10 ? Int(columns.ws_col) - 1 : 119
                let line = String(progress.line().prefix(width))
                if line == lastLine && lineOpen { return }
                lastLine = line
                write("\r\u{1B}[2K" + line)
                lineOpen = true
            } else {
                let line = progress.line(now: progress.lastEventAt ?? .now())
                let key = line.components(separatedBy: " · ").dropLast().joined(separator: " · ")
                if key != lastLine {
                    lastLine = key
                    write("progress: \(line)\n")
                }
            }
        }
    }

    /// Asks a test's prompt on the terminal (standard input), on a thread of its own, and
    /// answers it on the channel unless another face answered first or it timed out.
    func ask(_ request: PromptChannel.Request, channel: PromptChannel, source: String) {
        let thread = Thread { [self] in
            var question = "prompt: \(request.message)"
            switch request.kind {
            case "confirm": question += " [y/n]"
            case "choice": question += " [" + request.choices.enumerated().map { "\($0 + 1)=\($1)" }.joined(separator: ", ") + "]"
            default: break
            }
            if let t = request.timeoutSeconds { question += String(format: " (%g s)", t) }
            lock.withLock {
                closeLine()
                write(question + " ")
                questionsOpen += 1
            }
            defer { lock.withLock { questionsOpen -= 1 } }
            var input = StandardInputLines()
            var paused = false
            while channel.open.contains(where: { $0.id == request.id }) {
                if lock.withLock({ abortQuestionOpen }) {
                    paused = true
                    usleep(50_000)
                    continue
                }
                if paused {
                    // The abort question was answered no: ask this one again.
                    paused = false
                    lock.withLock { write("\(question) ") }
                }
                guard let reply = inputLock.withLock({ input.next(slice: 0.2) }) else { continue }
                guard let line = reply else {
                    // Nobody can answer on this terminal: a prompt without a timeout would wait forever.
                    if request.timeoutSeconds == nil {
                        channel.cancel(id: request.id, reason: "standard input of litmus run closed")
                        error("standard input closed: the prompt \"\(request.message)\" is cancelled (use --auto-prompts for unattended runs)")
                    } else {
                        error("standard input closed: the prompt waits for its timeout")
                    }
                    return
                }
                let t = line.trimmingCharacters(in: .whitespaces)
                var value: String?
                switch request.kind {
                case "confirm":
                    if ["y", "yes"].contains(t.lowercased()) { value = "yes" }
                    if ["n", "no"].contains(t.lowercased()) { value = "no" }
                case "choice":
                    if let i = Int(t), i >= 1, i <= request.choices.count { value = request.choices[i - 1] }
                    value = value ?? request.choices.first { $0.lowercased() == t.lowercased() }
                default:
                    value = line
                }
                guard let value else {
                    lock.withLock { write("? \(question) ") }
                    continue
                }
                if !channel.answer(id: request.id, value: value, source: source) {
                    error("the prompt was answered elsewhere or timed out")
                }
                return
            }
        }
        thread.start()
    }

    /// Asks on the terminal whether to abort the board being tested (`[y/N]`): true for yes
    /// (or when standard input closed: nobody can say no), false for no, nil when `cancelled`
    /// became true first (the board ended, or a second Ctrl-C decided). A prompt being asked
    /// meanwhile waits: the answer typed goes to this question.
    func askAbort(serial: String, cancelled: () -> Bool) -> Bool? {
        lock.withLock {
            closeLine()
            write("abort board \(serial)? [y/N] ")
            abortQuestionOpen = true
            questionsOpen += 1
        }
        defer {
            lock.withLock {
                abortQuestionOpen = false
                questionsOpen -= 1
            }
        }
        var input = StandardInputLines()
        return inputLock.withLock { () -> Bool? in
            while !cancelled() {
                guard let reply = input.next(slice: 0.1) else { continue }
                guard let line = reply else { return true }
                return ["y", "yes"].contains(line.trimmingCharacters(in: .whitespaces).lowercased())
            }
            return nil
        }
    }

    /// A line for the operator (standard output), ending the progress line first.
    func note(_ message: String) {
        lock.withLock {
            closeLine()
            write("\(message)\n")
        }
    }

    func error(_ message: String) {
        lock.withLock {
            closeLine()
            FileHandle.standardError.write(Data("litmus run: \(message)\n".utf8))
        }
    }

    /// The verdict of one board: large, then every failing measurement, then where the data is.
    func verdict(_ board: StationRunner.Board) {
        lock.withLock {
            closeLine()
            lastLine = ""
            let word: String
            switch board.outcome {
            case .passed, .done: word = "PASS"
            case .failed: word = "FAIL"
            case .aborted, .terminated: word = "ABORTED"
            default: word = "ERROR"
            }
            write("\n")
            for row in BigText.render(word) { write("  \(row)\n") }
            write("  \(board.serial): \(board.outcome.rawValue)\(board.reason.map { " (\($0))" } ?? "")\n")
            if !board.progress.failures.isEmpty {
                write("  failing measurements:\n")
                for f in board.progress.failures {
                    write("    \(f.step) \(f.name) = \(f.valueText), limit \(f.limitText) \(f.outcome.rawValue)")
                    write("; pin \(f.pin ?? "-"), instrument \(f.instrument ?? "-"), attempt \(f.attempt)\n")
                }
            }
            for s in board.progress.skippedSteps { write("  skipped \(s.path): \(s.reason ?? "-")\n") }
            write("  run file: \(board.runFile ?? "none (no run was recorded)")\n")
            write("  test output: \(board.logFile)\n\n")
        }
    }

    func summary(boards: Int, worst: Outcome) {
        lock.withLock {
            closeLine()
            write("litmus run: \(boards) board(s) tested, worst outcome \(worst.rawValue)\n")
        }
    }
}

/// Words in 5-row block letters, for the verdict.
enum BigText {
    static let glyphs: [Character: [String]] = [
        "A": [" ### ", "#   #", "#####", "#   #", "#   #"],
        "B": ["#### ", "#   #", "#### ", "#   #", "#### "],
        "D": ["#### ", "#   #", "#   #", "#   #", "#### "],
        "E": ["#####", "#    ", "#### ", "#    ", "#####"],
        "F": ["#####", "#    ", "#### ", "#    ", "#    "],
        "I": ["#####", "  #  ", "  #  ", "  #  ", "#####"],
        "L": ["#    ", "#    ", "#    ", "#    ", "#####"],
        "O": [" ### ", "#   #", "#   #", "#   #", " ### "],
        "P": ["#### ", "#   #", "#### ", "#    ", "#    "],
        "R": ["#### ", "#   #", "#### ", "#  # ", "#   #"],
        "S": [" ####", "#    ", " ### ", "    #", "#### "],
        "T": ["#####", "  #  ", "  #  ", "  #  ", "  #  "],
    ]

    static func render(_ word: String) -> [String] {
        (0..<5).map { row in word.map { glyphs[$0]?[row] ?? "     " }.joined(separator: " ") }
    }
}

/// Lines of standard input, read with a time limit per call.
struct StandardInputLines {
    private var bytes: [UInt8] = []

    /// nil: nothing complete within `slice` seconds; .some(nil): end of input; else a line.
    mutating func next(slice: Double) -> String?? {
        var pfd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(slice * 1000))
        if ready <= 0 { return nil }
        var byte: UInt8 = 0
        while true {
            let n = read(0, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return .some(nil) }
            if byte == UInt8(ascii: "\n") {
                defer { bytes = [] }
                return .some(String(decoding: bytes, as: UTF8.self))
            }
            bytes.append(byte)
            if bytes.count > 4096 { bytes.removeFirst(bytes.count - 4096) }
        }
    }
}
