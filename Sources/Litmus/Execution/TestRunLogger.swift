import Foundation
import Logging

/// Owns one run of one DUT: its identity, its event log and channel store, and the order in
/// which they open and close.
///
/// It emits `session.started` and `run.started` itself from one model (callers never copy
/// identity fields by hand); ``finalize()`` emits `run.ended` with the rolled-up outcome (the
/// run's Parquet file is on disk when it returns); ``close()`` emits `session.ended` and closes
/// the channel store and the event log, in that order, once.
///
/// ```swift
/// let logger = try TestRunLogger(RunIdentity(dutSerial: "SN12345", stationID: "bench_1", testPhase: "validation"),
///                                dataDir: "data")
/// let harness = try TestHarness(logger: logger, stepName: "rails")
/// ...
/// try logger.finalize()      // run.ended -> data/runs/date=.../station=bench_1/..._SN12345.parquet
/// try logger.close()         // session.ended, channel store, event log
/// ```
///
/// Without a data directory (``init(_:)`` with `dataDir: nil`) nothing is persisted; the
/// logger says so once, as a warning, instead of silently dropping every event.
public final class TestRunLogger: @unchecked Sendable {
    public let sessionID: UUID
    public let runID: UUID
    /// What identifies the run (recorded in `run.started`).
    public let identity: RunIdentity
    /// Where events, channels and run files go; nil when nothing is persisted.
    public let dataDir: String?
    /// The event log, when persisting.
    public let eventLog: EventLog?
    /// The channel store for arrays and waveforms, when persisting.
    public let channelStore: ChannelStore?
    /// Writes the run's Parquet file when `run.ended` is emitted.
    public let materializer: InProcessMaterializer?
    /// Run-level custom metadata: values set at any time reach the stored run.
    public private(set) lazy var runContext = RunContext(logger: self)

    private let lock = NSLock()
    private var finalized = false
    private var closed = false
    private var warnedNoLog = false
    private var stepOutcomes: [String: Outcome] = [:]
    private var stepOrder: [String] = []
    private var stepCounter: Int64 = 0
    private var inventoried: Set<ObjectIdentifier> = []
    private var externalOutcome: Outcome?
    private let log: Logger

    /// Starts a session and a run: with `dataDir`, opens the event log, the in-process
    /// materializer and the channel store and emits `session.started` and `run.started`.
    ///
    /// - Throws: ``EventLogError`` when the event log cannot be opened.
    public init(
        _ identity: RunIdentity, dataDir: String? = ProcessInfo.processInfo.environment["LITMUS_DATA_DIR"] ?? "data",
        sessionID: UUID = TestRunLogger.runnerSessionID() ?? UUID(), runID: UUID = UUID(),
        logger: Logger = Logger(label: "litmus.run")
    ) throws {
        // Blank: nothing but Unicode space separators and tabs (CharacterSet.whitespaces, without
        // Foundation's character-set machinery on the start-up path).
        guard !identity.dutSerial.unicodeScalars.allSatisfy({ $0 == "\t" || $0.properties.generalCategory == .spaceSeparator }) else {
            throw HarnessError("the DUT serial is empty: every run needs the serial of the board it tested (a default would make all unlabeled boards one board)")
        }
        self.identity = identity
        self.sessionID = sessionID
        self.runID = runID
        self.dataDir = dataDir
        self.log = logger
        if let dataDir {
            let eventLog = try EventStore(dataDir: dataDir).eventLog(sessionID: sessionID)
            self.eventLog = eventLog
            self.materializer = InProcessMaterializer(log: eventLog, dataDir: dataDir)
            self.channelStore = ChannelStore(dataDir: dataDir, sessionID: sessionID, events: eventLog)
            try eventLog.emit(Event(sessionID: sessionID, .sessionStarted(identity.sessionStarted)))
            try eventLog.emit(Event(sessionID: sessionID, runID: runID, .runStarted(identity.runStarted)))
        } else {
            self.eventLog = nil
            self.materializer = nil
            self.channelStore = nil
        }
        if let demotion = identity.phaseDemotion { try warnPhase(demotion) }
    }

    /// A phase warning: logged, and recorded in the run as a `diagnostic.warning`.
    private func warnPhase(_ message: String) throws {
        log.warning("\(message)")
        try emit(.diagnostic(Diagnostic(level: .warning, source: "test_phase", message: message)))
    }

    deinit { try? close() }

    /// The session id a station runner (`litmus run`) gives its test process in
    /// `LITMUS_SESSION_ID`, so it can follow the process's events; nil outside a runner (or
    /// when the value is not a UUID).
    public static func runnerSessionID(environment: [String: String] = ProcessInfo.processInfo.environment) -> UUID? {
        environment["LITMUS_SESSION_ID"].flatMap { UUID(uuidString: $0) }
    }

    /// Whether events reach disk.
    public var isPersisting: Bool { eventLog != nil }

    /// Emits one run event (with this run's id). Without an event log it warns once.
    public func emit(_ body: EventBody) throws {
        guard let eventLog else {
            let first = lock.withLock {
                defer { warnedNoLog = true }
                return !warnedNoLog
            }
            if first {
                log.warning(
                    "TestRunLogger has no data directory: events of run \(runID) are NOT persisted (pass dataDir: to keep them)")
            }
            return
        }
        try eventLog.emit(Event(sessionID: sessionID, runID: runID, body))
    }

    /// Emits `instrument.connected` for each role of `station`, once per station per run
    /// (several harnesses may share a run and a bench).
    func recordInventory(of station: OpenStation) throws {
        let first = lock.withLock { inventoried.insert(ObjectIdentifier(station)).inserted }
        guard first else { return }
        for record in station.inventory { try emit(.instrumentConnected(record)) }
        // A run that claims production (its identity was not applied to this bench) on a bench
        // with mocked roles: say so loudly; the mocked roles are in the inventory.
        if let phase = identity.testPhase, station.effectivePhase(phase) != phase {
            try warnPhase(
                "run \(runID) records test phase \(phase) on station \(station.configuration.station.id), whose roles "
                    + "\(station.mockedRoles.joined(separator: ", ")) are mocked. Fix: build the identity with "
                    + "`identity.apply(bench)` (it records development and the requested phase), or unmock the roles")
        }
    }

    /// The next step index of the run: unique across every harness writing to this run.
    func nextStepIndex() -> Int64 {
        lock.withLock {
            defer { stepCounter += 1 }
            return stepCounter
        }
    }

    /// Records a step's final outcome for the run's roll-up (the last value per step path wins:
    /// a retried step counts by its final attempt).
    func recordStep(path: String, outcome: Outcome) {
        lock.withLock {
            if stepOutcomes[path] == nil { stepOrder.append(path) }
            stepOutcomes[path] = outcome
        }
    }

    /// Escalates the run with an outcome from outside any step (a setup failure, an interrupt).
    public func escalate(_ outcome: Outcome) {
        lock.withLock { externalOutcome = max(externalOutcome ?? outcome, outcome) }
    }

    /// The run's outcome so far: the most severe final step outcome; `done` when nothing was
    /// judged.
    public var outcome: Outcome {
        lock.withLock {
            var o: Outcome = .done
            for path in stepOrder { o = max(o, stepOutcomes[path]!) }
            if let e = externalOutcome { o = max(o, e) }
            return o
        }
    }

    /// Ends the run: emits `run.ended` with ``outcome`` (or `override`). The run's Parquet file
    /// is written before this returns. Calling it again does nothing.
    @discardableResult
    public func finalize(_ override: Outcome? = nil) throws -> Outcome {
        let (first, outcome) = lock.withLock { () -> (Bool, Outcome) in
            defer { finalized = true }
            return (!finalized, override ?? Self.rollUp(stepOrder.map { stepOutcomes[$0]! }, externalOutcome))
        }
        guard first else { return outcome }
        try emit(.runEnded(RunEnded(outcome: outcome)))
        return outcome
    }

    /// The path of the run's Parquet file once ``finalize()`` wrote it.
    public var runFile: String? {
        guard let result = materializer?.result(for: runID), case .success(let r) = result else { return nil }
        return r.path
    }

    /// Ends the run if not ended (as `terminated` when it was never finalized), emits
    /// `session.ended`, closes the channel store, then the event log. Safe to call twice.
    public func close() throws {
        let first = lock.withLock {
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        if let id = lock.withLock({ signalRegistration }) { SignalCleanup.unregister(id) }
        if !lock.withLock({ finalized }) { try finalize(.terminated) }
        guard let eventLog else { return }
        try channelStore?.close()
        try eventLog.emit(Event(sessionID: sessionID, .sessionEnded(SessionEnded())))
        try eventLog.close()
    }

    /// Ends the run as `terminated` and closes everything when the process gets SIGINT or
    /// SIGTERM (Ctrl-C at the bench), then exits with 128 + the signal. Open instruments are
    /// interrupted first (a blocked USBTMC read is aborted on the device) and closed after
    /// (interfaces released, kernel drivers re-attached): see ``SignalCleanup``. Call once per
    /// process.
    public func closeOnSignals() {
        let id = SignalCleanup.register { [weak self] _ in
            self?.escalate(.terminated)
            _ = try? self?.finalize(.terminated)
            try? self?.close()
        }
        lock.withLock { signalRegistration = id }
    }

    /// The ``SignalCleanup`` action of ``closeOnSignals()``, removed by ``close()``.
    private var signalRegistration: Int?

    static func rollUp(_ steps: [Outcome], _ external: Outcome?) -> Outcome {
        var o: Outcome = .done
        for s in steps { o = max(o, s) }
        if let external { o = max(o, external) }
        return o
    }
}

/// Run-level custom metadata. A value set at any time, before or after the run started,
/// reaches the run's stored data (as a `run.metadata` event).
public final class RunContext: @unchecked Sendable {
    private unowned let logger: TestRunLogger
    private let lock = NSLock()
    private var values: [String: String] = [:]

    init(logger: TestRunLogger) { self.logger = logger }

    /// Sets `key` to `value` and records it.
    public func set(_ key: String, _ value: String) throws {
        lock.withLock { values[key] = value }
        try logger.emit(.runMetadata(RunMetadata(key: key, value: value)))
    }

    public func get(_ key: String) -> String? { lock.withLock { values[key] ?? logger.identity.metadata[key] } }

    /// Everything set so far, with the metadata known at start.
    public var metadata: [String: String] {
        lock.withLock { logger.identity.metadata.merging(values) { _, new in new } }
    }
}

/// What identifies a run: the DUT, the station, who runs it, the product and the test code.
/// It is the `run.started` event's model (every field of ``RunStarted`` reads and writes
/// through it: `identity.dutSerial`, `identity.testPhase`), built with the test code's git
/// revision and the host name filled in.
@dynamicMemberLookup
public struct RunIdentity: Sendable, Equatable {
    /// The `run.started` event this identity becomes.
    public var runStarted: RunStarted

    public subscript<T>(dynamicMember key: WritableKeyPath<RunStarted, T>) -> T {
        get { runStarted[keyPath: key] }
        set { runStarted[keyPath: key] = newValue }
    }

    /// - Parameter dutSerial: the DUT's serial; required and non-empty (a default serial would
    ///   make every unlabeled board the same board).
    /// - Parameter git: read the commit (`-dirty` when modified), branch and remote of the
    ///   repository at the current directory when not given.
    public init(
        dutSerial: String, dutPartNumber: String? = nil, dutRevision: String? = nil, dutLot: String? = nil,
        partID: String? = nil, partName: String? = nil, partRevision: String? = nil, stationID: String? = nil,
        stationName: String? = nil, stationType: String? = nil, stationLocation: String? = nil,
        hostname: String = ProcessInfo.processInfo.hostName, operatorID: String? = nil, operatorName: String? = nil,
        fixtureID: String? = nil, testPhase: String? = nil, product: String? = nil, project: String? = nil,
        gitCommit: String? = nil, gitBranch: String? = nil, gitRemote: String? = nil, git: Bool = true,
        siteIndex: Int = 0, siteName: String? = nil, metadata: [String: String] = [:]
    ) {
        let repo = git && (gitCommit == nil || gitBranch == nil || gitRemote == nil) ? GitInfo.current() : nil
        runStarted = RunStarted(
            dutSerial: dutSerial, dutPartNumber: dutPartNumber, dutRevision: dutRevision, dutLot: dutLot, partID: partID,
            partName: partName, partRevision: partRevision, stationID: stationID, stationName: stationName,
            stationType: stationType, stationLocation: stationLocation, hostname: hostname, operatorID: operatorID,
            operatorName: operatorName, fixtureID: fixtureID, testPhase: testPhase, product: product, project: project,
            gitCommit: gitCommit ?? repo?.commit, gitBranch: gitBranch ?? repo?.branch, gitRemote: gitRemote ?? repo?.remote,
            siteIndex: Int64(siteIndex), siteName: siteName, metadata: metadata)
    }

    /// The metadata key that keeps the phase a run asked for when the bench demoted it.
    public static let requestedPhaseKey = "requested_test_phase"
    /// The metadata key that says why the phase was demoted (the mocked roles).
    public static let phaseDemotionKey = "test_phase_demoted_because"

    /// The warning for a demoted phase (``apply(_:)`` recorded ``requestedPhaseKey``), or nil.
    public var phaseDemotion: String? {
        guard let requested = runStarted.metadata[Self.requestedPhaseKey], requested != runStarted.testPhase else { return nil }
        return "test phase \(requested) was requested, but the run records \(runStarted.testPhase ?? "none"): "
            + "\(runStarted.metadata[Self.phaseDemotionKey] ?? "the bench has mocked roles"). A mocked bench never records "
            + "production. Fix: open the station without mocks for production runs"
    }

    /// The station fields of an open bench, and its phase rule: a bench with any mocked role
    /// records `development` instead of `production`. A demotion is kept in the metadata (the
    /// requested phase under ``requestedPhaseKey``, the mocked roles under
    /// ``phaseDemotionKey``) and ``TestRunLogger`` warns about it when the run starts.
    public mutating func apply(_ bench: OpenStation) {
        let s = bench.configuration.station
        runStarted.stationID = s.id
        runStarted.stationName = s.name
        runStarted.stationType = s.stationType
        runStarted.stationLocation = s.location
        runStarted.fixtureID = bench.configuration.fixture?.id ?? runStarted.fixtureID
        if let part = bench.configuration.part {
            runStarted.partID = part.id
            runStarted.partName = part.name
            runStarted.partRevision = part.revision
        }
        if let phase = runStarted.testPhase {
            let effective = bench.effectivePhase(phase)
            if effective != phase {
                runStarted.metadata[Self.requestedPhaseKey] = phase
                runStarted.metadata[Self.phaseDemotionKey] = "mocked roles: \(bench.mockedRoles.joined(separator: ", "))"
            }
            runStarted.testPhase = effective
        }
    }

    var sessionStarted: SessionStarted {
        SessionStarted(
            stationID: runStarted.stationID, stationName: runStarted.stationName, stationType: runStarted.stationType,
            stationLocation: runStarted.stationLocation, hostname: runStarted.hostname ?? ProcessInfo.processInfo.hostName,
            client: "harness", operatorID: runStarted.operatorID, operatorName: runStarted.operatorName,
            fixtureID: runStarted.fixtureID)
    }
}
