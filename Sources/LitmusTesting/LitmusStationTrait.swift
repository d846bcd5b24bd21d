import Foundation
import Litmus
import Testing

/// Runs the tests of a suite (or one test) on a Litmus bench: the station file with its
/// fixture and part, the DUT's identity, the run's phase and data directory.
///
/// ```swift
/// @Suite(.litmusStation("stations/bench_mock.yaml", dutSerial: "SN0001", phase: "validation"))
/// struct PowerTests {
///     @Test(.litmusLimits(["iq": .atMost(0.005, unit: "A")]))
///     func quiescentCurrent() throws {
///         try Litmus.verify("iq", try Litmus.instrument("psu").call("measure_current").doubleValue)
///     }
/// }
/// ```
///
/// - The bench opens the first time a test needs it and stays open for the process: one
///   `swift test` process is one Litmus session, with one run per DUT serial. Runs are
///   finalized and their Parquet files written when the process exits, failed tests or not.
/// - Each `@Test` is a step of the run (its file, function and line recorded); each of its
///   cases a vector; each retry a vector attempt.
/// - **One case at a time per bench.** Swift Testing runs tests in parallel; a bench is one
///   set of instruments, so the cases of every test on it take turns (other tests still run in
///   parallel). The Litmus state of a case is task-local: nothing leaks between cases.
///
/// Every argument can be overridden from the environment, which wins over the code so an
/// operator can test the next board without recompiling: `LITMUS_STATION`, `LITMUS_FIXTURE`,
/// `LITMUS_PART`, `LITMUS_MOCK` (1/true), `LITMUS_DUT_SERIAL`, `LITMUS_DUT_PART_NUMBER`,
/// `LITMUS_DUT_REVISION`, `LITMUS_DUT_LOT`, `LITMUS_OPERATOR`, `LITMUS_PHASE`,
/// `LITMUS_GUARDBAND` (percent), `LITMUS_DATA_DIR`, `LITMUS_PROMPT=auto`.
public struct LitmusStationTrait: SuiteTrait, TestTrait, TestScoping {
    /// The trait's settings as written in code (nil: not set).
    public struct Options: Sendable {
        public var station: String
        public var fixture: String?
        public var part: String?
        public var mock: Bool?
        public var dutSerial: String?
        public var dutPartNumber: String?
        public var dutRevision: String?
        public var dutLot: String?
        public var operatorID: String?
        public var phase: String?
        public var product: String?
        public var project: String?
        public var guardbandPct: Double?
        public var dataDir: String?
        /// Answer prompts automatically (for unattended runs); else `LITMUS_PROMPT=auto` or a terminal.
        public var autoPrompts: Bool
        /// The fixture site the tests use.
        public var site: Int
    }

    /// The settings in effect: the environment over the code, paths resolved.
    struct Resolved: Sendable {
        var station: String
        var fixture: String?
        var part: String?
        var mock: Bool
        var dutSerial: String
        var dutPartNumber: String? = nil
        var dutRevision: String? = nil
        var dutLot: String? = nil
        var operatorID: String? = nil
        var phase: String
        var product: String? = nil
        var project: String? = nil
        var guardbandPct: Double
        var dataDir: String
        var autoPrompts: Bool
        var site: Int
    }

    public let options: Options
    /// The directory of the file that declared the trait (relative paths fall back to it).
    let declaringDirectory: String
    /// Where the trait is written (the suite's attributes): problems of the suite are reported there.
    let sourceLocation: SourceLocation
    let id = UUID()

    /// Suites pass the trait to their tests.
    public var isRecursive: Bool { true }

    /// Only the innermost station trait of a test acts (a test-level one beats its suite's).
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> LitmusStationTrait? {
        let stations = test.traits.compactMap { $0 as? LitmusStationTrait }
        return stations.last?.id == id ? self : nil
    }

    /// Whether the suite around the running test (the innermost with a station trait) runs its
    /// tests in a decided order: `.serialized` or `.litmusParallel` on it or on an outer suite
    /// with a station trait. nil outside such a suite. (`.serialized` is not among a test's
    /// traits, so the suite's scope passes it down.)
    @TaskLocal static var suiteOrderDecided: Bool?

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        if test.isSuite {
            let decided = LitmusStepTrait.isOrderDecided(test) || Self.suiteOrderDecided == true
            try await Self.$suiteOrderDecided.withValue(decided) { try await function() }
        } else if let testCase {
            try await LitmusTestScope.runCase(testCase, function)
        } else {
            guard checkOrder(of: test) else { return }
            if let sequenced = LitmusStepTrait.sequenced(test) {
                try await runSequenced(test, defaultFile: sequenced.defaultFile, declaringDirectory: sequenced.declaringDirectory, function)
            } else if let sequence = ProcessInfo.processInfo.environment["LITMUS_SEQUENCE"], !sequence.isEmpty, Self.suiteOrderDecided != nil {
                // A sequence would be silently ignored: the suite runs in its own order.
                Issue.record(
                    Comment(
                        rawValue: "LITMUS_SEQUENCE=\(sequence) is set, but \(test.id.nameComponents.dropLast().joined(separator: "/")) is not .litmusSequenced and would run in its own order; \(test.name) was not run. Fix: mark the suite .litmusSequenced (instead of .serialized) to let a sequence order it, or run without --sequence"),
                    sourceLocation: sourceLocation)
            } else {
                try await LitmusTestScope.runTest(test, options: try resolve(), function)
            }
        }
    }

    /// Refuses a test of a suite with a station trait that is neither `.serialized` nor
    /// `.litmusParallel`: Swift Testing would run its steps in parallel, in random order (power
    /// on after the measurements). The issue is reported at this trait, in the suite's
    /// attributes. (A station trait on a test alone is not checked: its cases already take
    /// turns on the bench.)
    func checkOrder(of test: Test) -> Bool {
        let suites = test.id.nameComponents.dropLast()
        guard let decided = Self.suiteOrderDecided, !decided, !LitmusStepTrait.isOrderDecided(test) else { return true }
        Issue.record(
            Comment(
                rawValue: "\(suites.joined(separator: "/")): the tests of a suite on a Litmus bench must run in a known order, and Swift Testing runs them in parallel in random order; \(test.name) was not run. Fix: add .serialized next to .litmusStation(...) on this suite (@Suite(.serialized, .litmusStation(...))) to run its tests one at a time in source order, or add .litmusParallel to opt into parallel, unordered tests"),
            sourceLocation: sourceLocation)
        return false
    }

    /// Runs a test of a `.litmusSequenced` suite at its turn in the sequence file, or not at
    /// all when the file does not name it.
    func runSequenced(
        _ test: Test, defaultFile: String?, declaringDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        _ function: @Sendable () async throws -> Void
    ) async throws {
        let suites = test.id.nameComponents.dropLast().joined(separator: "/")
        let given = environment["LITMUS_SEQUENCE"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultFile
        guard let given else {
            Issue.record(
                Comment(
                    rawValue: "\(suites) is .litmusSequenced but no sequence file is given; \(test.name) was not run. Fix: run it with `litmus run --sequence sequences/<name>.yaml`, set LITMUS_SEQUENCE, give the suite a default (.litmusSequenced(\"sequences/<name>.yaml\")), or use .serialized for source order"),
                sourceLocation: sourceLocation)
            return
        }
        let beside = (declaringDirectory as NSString).appendingPathComponent(given)
        let path = given.hasPrefix("/") || FileManager.default.fileExists(atPath: given) || !FileManager.default.fileExists(atPath: beside) ? given : beside
        let gate: LitmusSequenceGate
        switch LitmusSequenceGate.gate(path: path, environment: environment) {
        case .success(let g): gate = g
        case .failure(let report):
            Issue.record(Comment(rawValue: "sequence \(path) is not usable; \(test.name) was not run:\n\(report)"), sourceLocation: sourceLocation)
            return
        }
        // The gate needs every step of the sequence started at once (each waits for its turn);
        // Swift Testing runs at most 2 x cores test cases at a time unless told otherwise, so a
        // longer sequence would stall until the gate's timeout. `litmus run` raises the width.
        let width = environment[Self.parallelizationWidthVariable].flatMap(Int.init)
        if width == nil || width! < gate.sequence.steps.count {
            Issue.record(
                Comment(
                    rawValue: "sequence \(gate.sequence.id) has \(gate.sequence.steps.count) steps, which must all start at once to be admitted in the file's order, but Swift Testing runs \(width.map { "at most \($0)" } ?? "at most 2 x cores") test cases at a time; \(test.name) was not run. Fix: run it with `litmus run --sequence` (it sets \(Self.parallelizationWidthVariable)), or set \(Self.parallelizationWidthVariable)=\(max(64, gate.sequence.steps.count)) in the test's environment"),
                sourceLocation: sourceLocation)
            return
        }
        let function_ = String(test.name.prefix { $0 != "(" })
        guard let (index, step) = gate.sequence.step(named: function_) else {
            try Test.cancel(Comment(rawValue: "not in sequence \(gate.sequence.id) (\(path))"))
        }
        let options = try resolve(environment: environment)
        let recordMissing: @Sendable (SequenceFile.Step, String) -> Void = { missing, reason in
            LitmusTestScope.recordMissing(missing, suitePath: suites.isEmpty ? nil : suites, options: options, reason: reason)
        }
        guard await gate.turn(index, recordMissing: recordMissing) else {
            Issue.record(Comment(rawValue: "\(test.name) started after sequence \(gate.sequence.id) gave up waiting for it; it was not run"), sourceLocation: sourceLocation)
            return
        }
        for (missing, reason) in gate.takeMissed() {
            Issue.record(
                Comment(rawValue: "\(reason); it is recorded errored"),
                sourceLocation: SourceLocation(fileID: missing.file, filePath: missing.file, line: max(missing.line, 1), column: max(missing.column, 1)))
        }
        var outcome = Outcome.errored
        defer { gate.finished(index, outcome: outcome) }
        try await LitmusTestScope.runTest(
            test, options: options, sequence: (step, gate.outcomesSoFar), onOutcome: { outcome = $0 }, function)
    }

    /// Swift Testing's limit on test cases run at once (its default is 2 x the cores).
    static let parallelizationWidthVariable = "SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH"

    /// The options with the environment applied and paths resolved.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Resolved {
        func env(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        let station = try path(env("LITMUS_STATION") ?? options.station, what: "station file", variable: "LITMUS_STATION")
        let fixture = try (env("LITMUS_FIXTURE") ?? options.fixture).map { try path($0, what: "fixture file", variable: "LITMUS_FIXTURE") }
        let part = try (env("LITMUS_PART") ?? options.part).map { try path($0, what: "part file", variable: "LITMUS_PART") }
        guard let serial = env("LITMUS_DUT_SERIAL") ?? options.dutSerial else {
            throw LitmusTestingError(
                "no DUT serial for the run on \(station): pass litmusStation(..., dutSerial:) or set LITMUS_DUT_SERIAL (there is no default: unlabeled boards would all become one board)")
        }
        var guardband = options.guardbandPct ?? 0
        if let text = env("LITMUS_GUARDBAND") {
            guard let g = Double(text), g.isFinite, g >= 0, g < 100 else {
                throw LitmusTestingError("LITMUS_GUARDBAND=\(text) is not a percentage from 0 to 100")
            }
            guardband = g
        }
        let mock = env(StationConfiguration.MockSelection.environmentVariable).map { ["1", "true", "yes"].contains($0.lowercased()) }
        return Resolved(
            station: station, fixture: fixture, part: part, mock: mock ?? options.mock ?? false, dutSerial: serial,
            dutPartNumber: env("LITMUS_DUT_PART_NUMBER") ?? options.dutPartNumber, dutRevision: env("LITMUS_DUT_REVISION") ?? options.dutRevision,
            dutLot: env("LITMUS_DUT_LOT") ?? options.dutLot, operatorID: env("LITMUS_OPERATOR") ?? options.operatorID,
            phase: env("LITMUS_PHASE") ?? options.phase ?? "development", product: options.product, project: options.project,
            guardbandPct: guardband, dataDir: env("LITMUS_DATA_DIR") ?? options.dataDir ?? "data",
            autoPrompts: options.autoPrompts, site: options.site)
    }

    /// `path` as given when absolute or present from the current directory (the package root
    /// under `swift test`), else beside the file that declared the trait.
    private func path(_ path: String, what: String, variable: String) throws -> String {
        if path.hasPrefix("/") || FileManager.default.fileExists(atPath: path) { return path }
        let beside = (declaringDirectory as NSString).appendingPathComponent(path)
        if FileManager.default.fileExists(atPath: beside) { return beside }
        throw LitmusTestingError(
            "\(what) \(path) not found (looked in \(FileManager.default.currentDirectoryPath) and \(declaringDirectory)): fix the path in litmusStation(...) or \(variable)")
    }
}

extension Trait where Self == LitmusStationTrait {
    /// Tests on a Litmus bench; see ``LitmusStationTrait``. Relative paths are looked up from
    /// the current directory (the package root under `swift test`), then beside this file.
    public static func litmusStation(
        _ station: String, fixture: String? = nil, part: String? = nil, mock: Bool? = nil, dutSerial: String? = nil,
        partNumber: String? = nil, revision: String? = nil, lot: String? = nil, operator operatorID: String? = nil,
        phase: String? = nil, product: String? = nil, project: String? = nil, guardband: Double? = nil, dataDir: String? = nil,
        autoPrompts: Bool = false, site: Int = 0, filePath: String = #filePath, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Self {
        LitmusStationTrait(
            options: .init(
                station: station, fixture: fixture, part: part, mock: mock, dutSerial: dutSerial, dutPartNumber: partNumber,
                dutRevision: revision, dutLot: lot, operatorID: operatorID, phase: phase, product: product, project: project,
                guardbandPct: guardband, dataDir: dataDir, autoPrompts: autoPrompts, site: site),
            declaringDirectory: (filePath as NSString).deletingLastPathComponent, sourceLocation: sourceLocation)
    }
}
