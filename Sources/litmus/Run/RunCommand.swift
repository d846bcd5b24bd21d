import ArgumentParser
import Foundation
import Litmus
import LitmusRunner

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `litmus run`: the production loop. Serial in, test, verdict, next serial.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Test boards one after another: read a serial, run the test command for it, show the verdict.",
        discussion: """
            Serials come from --serial, --serials-from, or standard input (one per line: what a USB \
            barcode scanner types). Each board is tested by the command after `--`, started with \
            LITMUS_DUT_SERIAL, LITMUS_STATION, LITMUS_OPERATOR, LITMUS_PHASE, LITMUS_DATA_DIR and \
            LITMUS_SESSION_ID in its environment; `{serial}` in its arguments is replaced by the serial.

              litmus run --station stations/bench_mock.yaml --serials-from serials.txt -- \\
                .build/debug/litmus-example --serial {serial}

            Exit status: 0 every board passed, 1 a board failed, 2 a board errored or was aborted, \
            3 the bench was refused.
            """)

    @Option(help: "The station file.") var station: String
    @Option(name: .customLong("operator"), help: "The operator's id, recorded in every run.") var operatorID: String?
    @Option(help: "The test phase (development, validation, production...). production is refused while any role is mocked.")
    var phase = "development"
    @Option(name: .customLong("serial"), help: "A serial to test (repeat for several); no standard input is read.")
    var serials: [String] = []
    @Option(name: .customLong("serials-from"), help: "A file with one serial per line (# comments, blank lines skipped).")
    var serialsFrom: String?
    @Flag(help: "Test one board (the first serial read) and exit.") var once = false
    @Option(name: .customLong("serial-pattern"), help: "A regular expression every serial must match whole, e.g. 'SN[0-9]{4}'.")
    var serialPattern: String?
    @Flag(name: .customLong("auto-prompts"), help: "Answer the tests' prompts automatically (confirm: yes, choice: the first) instead of asking.")
    var autoPrompts = false
    @Option(help: "A sequence file (sequences/<name>.yaml): the order, retry, stop-on-failure, roles and run_if of a .litmusSequenced suite's steps.")
    var sequence: String?
    @OptionGroup var data: DataDirOption
    @Argument(parsing: .postTerminator, help: "The test command (after --).") var command: [String] = []

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("give the test command after --, e.g. `litmus run --station \(station) -- .build/debug/litmus-example --serial {serial}`")
        }
        if !serials.isEmpty && serialsFrom != nil { throw ValidationError("use --serial or --serials-from, not both") }
    }

    func run() throws {
        let runner: StationRunner
        do {
            runner = try StationRunner(
                .init(
                    station: station, command: command, operatorID: operatorID, phase: phase, dataDir: data.path,
                    serialPattern: serialPattern, sequence: sequence))
        } catch let error as RunnerError {
            FileHandle.standardError.write(Data("litmus run: \(error)\n".utf8))
            throw ExitCode(3)
        }
        let face = TerminalFace(tty: isatty(1) == 1)
        face.header(runner)
        let source = try SerialSource(serials: serials, file: serialsFrom, interactive: isatty(0) == 1)
        let interrupts = Interrupts(runner: runner, face: face, ask: isatty(0) == 1)
        interrupts.install()
        let channel: PromptChannel
        do { channel = try PromptChannel() } catch let error as RunnerError {
            FileHandle.standardError.write(Data("litmus run: \(error)\n".utf8))
            throw ExitCode(3)
        }
        defer { channel.close() }
        let who = "operator:\(operatorID ?? "unknown")@terminal"
        let auto = autoPrompts
        channel.onPrompt = { [face] request in
            if auto {
                let value = request.kind == "confirm" ? "yes" : request.kind == "choice" ? (request.choices.first ?? "") : ""
                channel.answer(id: request.id, value: value, source: "auto@runner")
            } else {
                face.ask(request, channel: channel, source: who)
            }
        }

        var worst: Outcome = .done
        var boards = 0
        while !interrupts.stopRequested, let line = source.next(prompt: { face.askSerial() }) {
            do {
                let board = try runner.test(serial: line, promptSocket: channel.path) { face.progress($0) }
                face.verdict(board)
                worst = max(worst, board.outcome)
            } catch let error as RunnerError {
                face.error(error.message)
                if !source.interactive { worst = max(worst, .errored) }
                if source.interactive && !once { continue }
            }
            boards += 1
            interrupts.boardEnded()
            if once { break }
        }
        face.summary(boards: boards, worst: worst)
        switch worst {
        case .done, .passed, .skipped: return
        case .failed: throw ExitCode(1)
        default: throw ExitCode(2)
        }
    }
}

/// Where serials come from: the command line, a file, or standard input line by line.
final class SerialSource {
    private var queued: [String]?
    let interactive: Bool

    init(serials: [String], file: String?, interactive: Bool) throws {
        if !serials.isEmpty {
            queued = serials
        } else if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--serials-from \(file): cannot read the file")
            }
            queued = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        self.interactive = queued == nil && interactive
    }

    /// The next serial, or nil at the end of the list or of standard input.
    func next(prompt: () -> Void) -> String? {
        if queued != nil { return queued!.isEmpty ? nil : queued!.removeFirst() }
        // Unbuffered, like the prompt answers read from the same input between serials.
        var input = StandardInputLines()
        while true {
            if interactive { prompt() }
            var line: String??
            repeat { line = input.next(slice: 1) } while line == nil
            guard let text = line! else { return nil }
            let serial = text.trimmingCharacters(in: .whitespaces)
            if !serial.isEmpty { return serial }
        }
    }
}

/// Ctrl-C while a board runs asks on a terminal whether to abort that board (`[y/N]`; not on
/// a terminal it aborts at once): an abort sends SIGINT to the board's test process, so its
/// teardown still runs and its run is recorded aborted by the operator. A second Ctrl-C (while
/// asking or after the abort) aborts the board if it was not yet, and ends the runner once
/// that board has ended. Ctrl-C while waiting for a serial ends the runner. SIGTERM aborts the
/// board without asking and ends the runner after it.
final class Interrupts: @unchecked Sendable {
    private enum State { case idle, asking, aborting }

    private let runner: StationRunner
    private let face: TerminalFace
    /// Whether the operator can be asked (standard input is a terminal).
    private let ask: Bool
    private let lock = NSLock()
    private var state = State.idle
    /// Which question is current: an answer to an older one is ignored.
    private var question = 0
    private var stop = false
    private var sources: [any DispatchSourceSignal] = []

    init(runner: StationRunner, face: TerminalFace, ask: Bool) {
        self.runner = runner
        self.face = face
        self.ask = ask
    }

    var stopRequested: Bool { lock.withLock { stop } }

    func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in interrupted(sig) }
            source.resume()
            sources.append(source)
        }
    }

    private enum Action { case exit, askAbort(Int, String), abort(String), ending }

    private func interrupted(_ sig: Int32) {
        let action = lock.withLock { () -> Action in
            guard let serial = runner.testingSerial else { return .exit }
            switch state {
            case .idle where ask && sig == SIGINT:
                state = .asking
                question += 1
                return .askAbort(question, serial)
            case .idle:
                state = .aborting
                if sig == SIGTERM { stop = true }
                return .abort(sig == SIGTERM ? "aborted by SIGTERM at the runner" : "aborted by the operator (Ctrl-C at the runner)")
            case .asking:
                // A second Ctrl-C while asking: abort, and end the runner after this board.
                state = .aborting
                stop = true
                return .abort("aborted by the operator (Ctrl-C twice at the runner)")
            case .aborting:
                stop = true
                return .ending
            }
        }
        switch action {
        case .exit:
            face.error("interrupted: no board running, the runner ends")
            exit(130)
        case .askAbort(let id, let serial):
            let thread = Thread { [self] in
                let yes = face.askAbort(serial: serial) { lock.withLock { state != .asking || question != id } || runner.testingSerial != serial }
                let decided = lock.withLock { () -> Bool? in
                    guard state == .asking, question == id else { return nil }
                    state = yes == true ? .aborting : .idle
                    return yes
                }
                switch decided {
                case true?: abortBoard("aborted by the operator (Ctrl-C at the runner)")
                case false?: face.note("continuing board \(serial) (Ctrl-C asks again)")
                case nil:
                    if runner.testingSerial != serial { face.note("board \(serial) ended before an answer: nothing to abort") }
                }
            }
            thread.start()
        case .abort(let reason):
            abortBoard(reason)
            if stopRequested { face.error("the runner ends after this board's teardown") }
        case .ending:
            face.error("the runner ends after this board's teardown")
        }
    }

    private func abortBoard(_ reason: String) {
        face.error("aborting this board: its teardown still runs and the run is recorded as aborted by the operator (Ctrl-C again to end the runner after it)")
        runner.abortCurrentBoard(reason: reason)
    }

    /// A new board starts with no question open and one Ctrl-C to spare.
    func boardEnded() {
        lock.withLock { if !stop { state = .idle } }
    }
}
