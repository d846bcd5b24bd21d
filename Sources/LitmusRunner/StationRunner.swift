import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The station runtime: checks the bench once for the session, then tests boards one at a
/// time, each as a child process with the run identity in its environment, followed through
/// the event log (never the test's output).
///
/// ```swift
/// let runner = try StationRunner(StationRunner.Options(station: "stations/bench_mock.yaml",
///                                                      command: [".build/debug/litmus-example", "--serial", "{serial}"]))
/// let board = try runner.test(serial: "SN0001") { progress in print(progress.line()) }
/// print(board.outcome, board.runFile ?? "-")
/// ```
///
/// Resource locks: the runner opens the bench once at the start (identity, calibration,
/// locks, the production rule) and closes it again before the first board, releasing its
/// locks: the test process opens the bench itself and holds the locks while it runs. Between
/// boards nobody holds them.
public final class StationRunner: @unchecked Sendable {
    /// How the session runs.
    public struct Options: Sendable {
        public var station: String
        /// The test command; `{serial}` in an argument is replaced by the board's serial.
        public var command: [String]
        public var operatorID: String?
        /// `development` by default; `production` is refused while any role is mocked.
        public var phase: String
        public var dataDir: String
        /// A serial must match it whole (e.g. `SN[0-9]{4}`).
        public var serialPattern: String?
        /// The environment the test command starts from (the runner's by default).
        public var environment: [String: String]
        /// Where each board's test output goes (`<dataDir>/runner-logs` by default).
        public var logDirectory: String?
        /// The sequence file the boards are tested with (part of what makes two boards the
        /// same test, for the estimate).
        public var sequence: String?

        public init(
            station: String, command: [String], operatorID: String? = nil, phase: String = "development",
            dataDir: String = ProcessInfo.processInfo.environment["LITMUS_DATA_DIR"] ?? "data", serialPattern: String? = nil,
            environment: [String: String] = ProcessInfo.processInfo.environment, logDirectory: String? = nil, sequence: String? = nil
        ) {
            self.station = station
            self.command = command
            self.operatorID = operatorID
            self.phase = phase
            self.dataDir = dataDir
            self.serialPattern = serialPattern
            self.environment = environment
            self.logDirectory = logDirectory
            self.sequence = sequence
        }
    }

    /// One board's result.
    public struct Board: Sendable {
        public var serial: String
        public var outcome: Outcome
        /// Why, when the run did not end by itself (a crash, an abort) or the command failed.
        public var reason: String?
        public var progress: RunProgress
        public var runFile: String?
        public var termination: ChildProcess.Termination
        /// The test command's output.
        public var logFile: String
        public var sessionID: UUID
    }

    /// What the bench check found.
    public struct BenchSummary: Sendable {
        public var stationID: String
        public var roles: [String]
        public var mockedRoles: [String]
        public var warnings: [String]
        /// Each role as opened: driver, resource, mocked, identity, calibration dates (what a
        /// run records as `instrument.connected`).
        public var instruments: [InstrumentConnected] = []
        /// Each role's calibration state on the day the bench was checked.
        public var calibration: [String: Calibration.Status] = [:]
    }

    public let options: Options
    public let bench: BenchSummary
    /// The sequence file (`--sequence`), checked against the test product's tests.
    public let sequence: SequenceFile?
    private let pattern: NSRegularExpression?
    private let lock = NSLock()
    private var current: ChildProcess?
    private var currentSerial: String?
    private var abortRequested: String?
    /// The earlier boards of the same test (this session's and earlier sessions'), for n, m
    /// and the time estimate.
    private var history: BoardHistory
    /// How often the event log is read while a board runs (seconds). The reaper wakes the
    /// loop at once when the test process ends.
    public var followInterval = 0.05

    /// Checks the options and the bench.
    ///
    /// - Throws: ``RunnerError`` for a bad pattern, an unusable or unopenable station, or
    ///   `production` on a bench with mocked roles.
    public init(_ options: Options) throws {
        self.options = options
        if let text = options.serialPattern {
            do {
                pattern = try NSRegularExpression(pattern: "^(?:\(text))$")
            } catch {
                throw RunnerError("--serial-pattern \(text) is not a regular expression: \(error.localizedDescription). Fix: write it like SN[0-9]{4}")
            }
        } else {
            pattern = nil
        }
        guard !options.command.isEmpty else {
            throw RunnerError("no test command: give it after `--`, e.g. `litmus run --station s.yaml -- .build/debug/litmus-example --serial {serial}`")
        }
        if let sequence = options.sequence {
            self.sequence = try Self.checkSequence(sequence, options: options)
        } else {
            self.sequence = nil
        }
        bench = try Self.checkBench(options)
        history = BoardHistory(dataDir: options.dataDir, key: .init(station: bench.stationID, command: options.command, sequence: options.sequence))
    }

    /// Reads the sequence file and checks that every step names a test of the test product,
    /// before any board: a Swift Testing product (its command has `--testing-library
    /// swift-testing`) is asked with `--list-tests`; another command (a harness executable)
    /// cannot list its steps, and a step it never starts is recorded `errored` at its turn.
    static func checkSequence(_ path: String, options: Options) throws -> SequenceFile {
        let sequence: SequenceFile
        do throws(ConfigReport) {
            sequence = try SequenceFile.load(path)
        } catch {
            throw RunnerError("sequence \(path) is not usable:\n\(error.errors.map { "  \($0)" }.joined(separator: "\n"))")
        }
        guard options.command.contains("swift-testing") else { return sequence }
        let names = try listTests(options)
        let unknown = sequence.unknownSteps(among: names)
        guard unknown.isEmpty else {
            throw RunnerError("sequence \(path) names tests the test product does not have:\n\(unknown.map { "  \($0)" }.joined(separator: "\n"))")
        }
        return sequence
    }

    /// The test function names of a Swift Testing product: its command with `--list-tests`
    /// (`Module.Suite/name(_:)` per line), the serial `{serial}` replaced by `LIST`, kept to
    /// the tests its `--filter`s select.
    static func listTests(_ options: Options) throws -> Set<String> {
        let file = "\(NSTemporaryDirectory())/litmus-list-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: file) }
        var environment = options.environment
        environment["LITMUS_SEQUENCE"] = nil
        let command = options.command.map { $0.replacingOccurrences(of: "{serial}", with: "LIST") } + ["--list-tests"]
        let child = try ChildProcess.spawn(command, environment: environment, output: file)
        var ended: ChildProcess.Termination?
        while ended == nil { ended = child.wait(timeout: 1) }
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        guard ended!.succeeded else {
            throw RunnerError("`\(command.joined(separator: " "))` \(ended!) instead of listing its tests:\n\(text.suffix(2000))\nFix: check the test command")
        }
        // `--list-tests` lists the whole product; keep what the command's `--filter`s select
        // (Swift Testing matches them as regular expressions against the test's id).
        var filters: [NSRegularExpression] = []
        for (i, argument) in options.command.enumerated() where argument == "--filter" && i + 1 < options.command.count {
            if let regex = try? NSRegularExpression(pattern: options.command[i + 1]) { filters.append(regex) }
        }
        var names = Set<String>()
        for line in text.split(separator: "\n") {
            let id = String(line)
            if !filters.isEmpty && !filters.contains(where: { $0.firstMatch(in: id, range: NSRange(id.startIndex..., in: id)) != nil }) { continue }
            // `LitmusTests.RunnerFixture/rail(_:)`: the last path component up to its `(`.
            guard let last = line.split(separator: "/").last, last.contains("(") else { continue }
            names.insert(String(last.prefix { $0 != "(" }).trimmingCharacters(in: .whitespaces))
        }
        return names
    }

    /// Opens the bench once (identity, calibration, locks) and closes it again.
    static func checkBench(_ options: Options) throws -> BenchSummary {
        let registry = DriverRegistry()
        registry.loadSearchPath()
        let (loaded, report) = StationConfiguration.load(station: options.station, registry: registry)
        guard let configuration = loaded, report.errors.isEmpty else {
            let errors = report.errors.map { "  \($0)" }.joined(separator: "\n")
            throw RunnerError("station \(options.station) is not usable:\n\(errors)\nFix the file; `litmus station check \(options.station)` shows the whole report.")
        }
        let station: OpenStation
        do {
            station = try configuration.open(.init(locks: ResourceLocks(directory: ResourceLocks.defaultDirectory())))
        } catch {
            throw RunnerError("station \(options.station) did not open: \(error)")
        }
        defer { station.close() }
        let mocked = station.roles.filter { $0.resolved.mocked }.map(\.role)
        if options.phase == "production" && !mocked.isEmpty {
            throw RunnerError(
                "phase production refused: station \(options.station) has mocked roles (\(mocked.joined(separator: ", "))), and a production record must come from real instruments. Fix: use real instruments for those roles (remove `mock: true` / LITMUS_MOCK), or run with --phase development")
        }
        return BenchSummary(
            stationID: configuration.station.id, roles: station.roles.map(\.role), mockedRoles: mocked,
            warnings: (report.warnings + station.report.warnings).map { "\($0)" }, instruments: station.inventory,
            calibration: Dictionary(station.roles.map { ($0.role, $0.calibration) }) { first, _ in first })
    }

    /// The serial as scanned, checked: trimmed, not empty, printable, at most 64 characters,
    /// matching the pattern when there is one.
    public func validate(serial raw: String) throws -> String {
        let serial = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !serial.isEmpty else { throw RunnerError("empty serial: scan or type the board's serial") }
        guard serial.count <= 64 else { throw RunnerError("serial \(serial.prefix(20))... is \(serial.count) characters; at most 64") }
        guard serial.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f && !CharacterSet.whitespaces.contains($0) }) else {
            throw RunnerError("serial \(serial.debugDescription) has spaces or control characters: scan it again")
        }
        if let pattern, pattern.firstMatch(in: serial, range: NSRange(serial.startIndex..., in: serial)) == nil {
            throw RunnerError("serial \(serial) does not match the pattern \(options.serialPattern!): scan the board's serial label")
        }
        return serial
    }

    /// An operator id as typed at a face: trimmed by the face, 1 to 64 printable characters
    /// without spaces (it goes into every run's `operator_id`).
    public static func validate(operatorID: String) throws {
        guard !operatorID.isEmpty, operatorID.count <= 64,
            operatorID.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && !CharacterSet.whitespacesAndNewlines.contains($0) })
        else {
            throw RunnerError("operator \(operatorID.prefix(20).debugDescription) is not an operator id: 1 to 64 printable characters without spaces, like alice")
        }
    }

    /// The environment of a board's test process (`operatorID` beats the session's).
    func environment(serial: String, sessionID: UUID, promptSocket: String?, operatorID: String? = nil) -> [String: String] {
        var env = options.environment.filter { !["LITMUS_DUT_SERIAL", "LITMUS_SESSION_ID", "LITMUS_PROMPT_SOCKET"].contains($0.key) }
        env["LITMUS_DUT_SERIAL"] = serial
        env["LITMUS_STATION"] = options.station
        env["LITMUS_PHASE"] = options.phase
        env["LITMUS_DATA_DIR"] = options.dataDir
        env["LITMUS_SESSION_ID"] = sessionID.uuidString.lowercased()
        if let op = operatorID ?? options.operatorID { env["LITMUS_OPERATOR"] = op }
        if let promptSocket { env["LITMUS_PROMPT_SOCKET"] = promptSocket }
        if let sequence = options.sequence {
            env["LITMUS_SEQUENCE"] = sequence.hasPrefix("/") ? sequence : FileManager.default.currentDirectoryPath + "/" + sequence
            // A sequenced suite admits its steps one at a time in the file's order, so every
            // step must have started: lift Swift Testing's limit (2 x cores test cases at once).
            if env["SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH"] == nil {
                env["SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH"] = "1024"
            }
        }
        return env
    }

    /// Whether a board's test process is running.
    public var isTesting: Bool { lock.withLock { current != nil } }

    /// The serial of the board being tested, nil between boards.
    public var testingSerial: String? { lock.withLock { current == nil ? nil : currentSerial } }

    /// Asks the running board's test process to stop (SIGINT to its process group): its
    /// teardown steps still run and its run ends `aborted`. A second call sends SIGTERM.
    public func abortCurrentBoard(reason: String = "aborted by the operator") {
        let (child, again) = lock.withLock { () -> (ChildProcess?, Bool) in
            defer { if abortRequested == nil { abortRequested = reason } }
            return (current, abortRequested != nil)
        }
        child?.signalGroup(again ? SIGTERM : SIGINT)
    }

    /// Tests one board: starts the test command with the run identity, follows the run's
    /// events (calling `progress` after each event, and every ``followInterval`` when nothing
    /// happens), and returns the verdict once the process
    /// has ended. A process that dies without ending its run gets it ended `aborted` (with
    /// everything it recorded) and written to its Parquet file.
    ///
    /// A face that shows more than the progress (the web screen lists every step and
    /// measurement) gets each durable event through `onEvent`, before `progress` is called for
    /// it; `operatorID` names who started this board when it is not the session's operator.
    public func test(
        serial raw: String, operatorID: String? = nil, promptSocket: String? = nil, progress: (RunProgress) -> Void = { _ in },
        onEvent: (Event) -> Void = { _ in }
    ) throws -> Board {
        if let operatorID { try Self.validate(operatorID: operatorID) }
        let serial = try validate(serial: raw)
        let sessionID = UUID()
        let logDirectory = options.logDirectory ?? "\(options.dataDir)/runner-logs"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        let logFile = "\(logDirectory)/\(RunMaterializer.sanitize(serial))-\(sessionID.uuidString.lowercased().prefix(8)).log"
        let command = options.command.map { $0.replacingOccurrences(of: "{serial}", with: serial) }
        var model = RunProgress(serial: serial, expected: lock.withLock { history.expectation })
        let child = try ChildProcess.spawn(
            command, environment: environment(serial: serial, sessionID: sessionID, promptSocket: promptSocket, operatorID: operatorID), output: logFile)
        lock.withLock {
            current = child
            currentSerial = serial
            abortRequested = nil
        }
        defer { lock.withLock { current = nil } }

        let reader = EventReader(dataDir: options.dataDir)
        var position = EventReader.TailPosition.start
        var termination: ChildProcess.Termination?
        while true {
            termination = child.wait(timeout: followInterval)
            let batch = try reader.tail(sessionID: sessionID, from: position)
            position = batch.position
            // Each event is shown: a face decides what to redraw or print.
            for event in batch.events {
                model.apply(event)
                onEvent(event)
                progress(model)
            }
            if batch.events.isEmpty { progress(model) }
            if termination != nil { break }
        }
        let ended = termination!

        var reason: String?
        let aborted = lock.withLock { abortRequested }
        if model.outcome == nil {
            reason = model.runID == nil
                ? "the test command \(ended) before starting a run for \(serial); its output is in \(logFile)"
                : "the test process \(ended) before ending its run\(aborted.map { " (\($0))" } ?? "")"
            if model.runID != nil { try closeAbandonedRun(model, sessionID: sessionID, reason: reason!) }
            model.abort(reason!)
        } else if let endReason = model.endReason {
            reason = endReason
        } else if model.outcome == .aborted, let aborted {
            reason = aborted
        }
        var outcome = model.outcome!
        if !ended.succeeded && outcome < .failed {
            outcome = .errored
            reason = "the run recorded \(model.outcome!.rawValue), but the test command \(ended) (a check outside Litmus failed?); its output is in \(logFile)"
        }
        let runFile = model.runID.flatMap { try? runFilePath(runID: $0, sessionID: sessionID) }
        try lock.withLock { try history.record(session: sessionID, serial: serial, progress: model) }
        progress(model)
        return Board(
            serial: serial, outcome: outcome, reason: reason, progress: model, runFile: runFile, termination: ended, logFile: logFile,
            sessionID: sessionID)
    }

    /// Ends a dead process's run as `aborted` (what `litmus runs-daemon` would do later) and
    /// writes its Parquet file with everything it recorded.
    private func closeAbandonedRun(_ model: RunProgress, sessionID: UUID, reason: String) throws {
        guard let runID = model.runID else { return }
        let log = try EventStore(dataDir: options.dataDir).eventLog(sessionID: sessionID)
        try log.emit(Event(sessionID: sessionID, runID: runID, .runEnded(RunEnded(outcome: .aborted, reason: reason))))
        try log.close()
    }

    /// The run's Parquet file: the one its process wrote, else written now from its events.
    private func runFilePath(runID: UUID, sessionID: UUID) throws -> String? {
        let events = try EventReader(dataDir: options.dataDir).events(sessionID: sessionID).events
        guard let run = RunAccumulator.runs(of: events)[runID], run.isEnded else { return nil }
        let result = try RunMaterializer.materialize(run, dataDir: options.dataDir)
        return result.path
    }
}
