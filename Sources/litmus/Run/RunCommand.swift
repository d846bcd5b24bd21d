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
                    serialPattern: serialPattern))
        } catch let error as RunnerError {
            FileHandle.standardError.write(Data("litmus run: \(error)\n".utf8))
            throw ExitCode(3)
        }
        let face = TerminalFace(tty: isatty(1) == 1)
        face.header(runner)
        let source = try SerialSource(serials: serials, file: serialsFrom, interactive: isatty(0) == 1)
        let interrupts = Interrupts(runner: runner, face: face)
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

/// Ctrl-C while a board runs aborts that board (its teardown still runs, its run is recorded
/// aborted); a second Ctrl-C ends the runner once that board has ended. Ctrl-C while waiting
/// for a serial ends the runner.
final class Interrupts: @unchecked Sendable {
    private let runner: StationRunner
    private let face: TerminalFace
    private let lock = NSLock()
    private var count = 0
    private var stop = false
    private var sources: [any DispatchSourceSignal] = []

    init(runner: StationRunner, face: TerminalFace) {
        self.runner = runner
        self.face = face
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

    private func interrupted(_ sig: Int32) {
        let (n, busy) = lock.withLock { () -> (Int, Bool) in
            count += 1
            if count >= 2 || sig == SIGTERM { stop = true }
            return (count, runner.isTesting)
        }
        if !busy {
            face.error("interrupted: no board running, the runner ends")
            exit(130)
        }
        if n == 1 {
            face.error("aborting this board: its teardown still runs and the run is recorded as aborted by the operator (Ctrl-C again to end the runner after it)")
            runner.abortCurrentBoard(reason: "aborted by the operator (Ctrl-C at the runner)")
        } else {
            face.error("the runner ends after this board's teardown")
        }
    }

    /// A new board starts with one Ctrl-C to spare.
    func boardEnded() {
        lock.withLock { if !stop { count = 0 } }
    }
}
