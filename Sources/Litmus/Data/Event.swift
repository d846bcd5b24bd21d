import Foundation
import LitmusJSON

/// One event of the durable data path: something that happened in a session, with when,
/// where (session, run) and who wrote it. The data contract is `docs/data-contract.md`.
///
/// `writer` and `sequence` are assigned by the ``EventLog`` that emits the event: events of
/// one writer are totally ordered by `sequence` (0, 1, 2... with no gaps).
public struct Event: Sendable {
    /// The version of the event schema this code writes.
    public static let schemaVersion = 1

    public var id: UUID
    public var occurredAt: Timestamp
    public var sessionID: UUID
    /// The run the event belongs to; nil for session events, always.
    public var runID: UUID?
    /// The writer (one event log file) that emitted it.
    public var writer: String
    /// Position in its writer's sequence, from 0.
    public var sequence: Int64
    public var body: EventBody

    public init(
        sessionID: UUID, runID: UUID? = nil, _ body: EventBody, occurredAt: Timestamp = .now(), id: UUID? = nil
    ) {
        self.id = id ?? EventID.make(at: occurredAt)
        self.occurredAt = occurredAt
        self.sessionID = sessionID
        self.runID = body.isSessionEvent ? nil : runID
        self.writer = ""
        self.sequence = -1
        self.body = body
    }

    /// The event's type string, e.g. `test.measurement`.
    public var type: String { body.type }
}

/// What happened. Each case's payload is documented with its fields in the data contract.
public indirect enum EventBody: Sendable {
    case sessionStarted(SessionStarted)
    case sessionEnded(SessionEnded)
    case runStarted(RunStarted)
    case runMetadata(RunMetadata)
    case runEnded(RunEnded)
    case runMaterialized(RunMaterialized)
    case stepStarted(StepStarted)
    case stepEnded(StepEnded)
    case vectorStarted(VectorStarted)
    case vectorEnded(VectorEnded)
    case measurement(Measurement)
    case observation(Observation)
    case record(Record)
    case promptOpened(PromptOpened)
    case promptAnswered(PromptAnswered)
    case instrumentConnected(InstrumentConnected)
    case instrumentDisconnected(InstrumentDisconnected)
    case instrumentCall(InstrumentCall)
    case mockPatchApplied(MockPatchApplied)
    case channelStarted(ChannelStarted)
    case channelEnded(ChannelEnded)
    case diagnostic(Diagnostic)

    public var type: String {
        switch self {
        case .sessionStarted: "session.started"
        case .sessionEnded: "session.ended"
        case .runStarted: "run.started"
        case .runMetadata: "run.metadata"
        case .runEnded: "run.ended"
        case .runMaterialized: "run.materialized"
        case .stepStarted: "step.started"
        case .stepEnded: "step.ended"
        case .vectorStarted: "vector.started"
        case .vectorEnded: "vector.ended"
        case .measurement: "measurement"
        case .observation: "observation"
        case .record: "record"
        case .promptOpened: "prompt.opened"
        case .promptAnswered: "prompt.answered"
        case .instrumentConnected: "instrument.connected"
        case .instrumentDisconnected: "instrument.disconnected"
        case .instrumentCall: "instrument.call"
        case .mockPatchApplied: "mock.patch_applied"
        case .channelStarted: "channel.started"
        case .channelEnded: "channel.ended"
        case .diagnostic(let d): d.level == .error ? "diagnostic.error" : "diagnostic.warning"
        }
    }

    /// Session events never carry a run id.
    public var isSessionEvent: Bool {
        switch self {
        case .sessionStarted, .sessionEnded: true
        default: false
        }
    }
}

// MARK: - Session and run

/// A test process (or tool) opened a session on a station.
public struct SessionStarted: Sendable, Equatable {
    public var stationID: String?
    public var stationName: String?
    public var stationType: String?
    public var stationLocation: String?
    public var hostname: String
    /// The producer process: with `hostname` and `processStartedAt`, how the runs daemon tells
    /// a live producer from a dead one.
    public var pid: Int64
    /// When the producer process started (tells a reused pid from the original).
    public var processStartedAt: Timestamp?
    /// What opened the session: `swift-testing`, `harness`, the program name...
    public var client: String?
    public var operatorID: String?
    public var operatorName: String?
    public var fixtureID: String?
    /// A run with no event for this long is taken as abandoned even if the pid looks alive.
    public var leaseSeconds: Double?

    public init(
        stationID: String? = nil, stationName: String? = nil, stationType: String? = nil,
        stationLocation: String? = nil, hostname: String = ProcessInfo.processInfo.hostName,
        pid: Int64 = Int64(ProcessInfo.processInfo.processIdentifier), processStartedAt: Timestamp? = nil,
        client: String? = nil, operatorID: String? = nil, operatorName: String? = nil, fixtureID: String? = nil,
        leaseSeconds: Double? = nil
    ) {
        self.stationID = stationID
        self.stationName = stationName
        self.stationType = stationType
        self.stationLocation = stationLocation
        self.hostname = hostname
        self.pid = pid
        self.processStartedAt = processStartedAt
        self.client = client
        self.operatorID = operatorID
        self.operatorName = operatorName
        self.fixtureID = fixtureID
        self.leaseSeconds = leaseSeconds
    }
}

public struct SessionEnded: Sendable, Equatable {
    public var reason: String?
    public init(reason: String? = nil) { self.reason = reason }
}

/// A run of one DUT started: everything that identifies it, from one model.
public struct RunStarted: Sendable, Equatable {
    public var dutSerial: String
    public var dutPartNumber: String?
    public var dutRevision: String?
    public var dutLot: String?
    public var partID: String?
    public var partName: String?
    public var partRevision: String?
    public var stationID: String?
    public var stationName: String?
    public var stationType: String?
    public var stationLocation: String?
    public var hostname: String?
    public var operatorID: String?
    public var operatorName: String?
    public var fixtureID: String?
    public var testPhase: String?
    public var product: String?
    public var project: String?
    public var gitCommit: String?
    public var gitBranch: String?
    public var gitRemote: String?
    public var siteIndex: Int64
    public var siteName: String?
    /// Custom metadata known at start; later additions come as ``RunMetadata`` events.
    public var metadata: [String: String]

    public init(
        dutSerial: String, dutPartNumber: String? = nil, dutRevision: String? = nil, dutLot: String? = nil,
        partID: String? = nil, partName: String? = nil, partRevision: String? = nil, stationID: String? = nil,
        stationName: String? = nil, stationType: String? = nil, stationLocation: String? = nil,
        hostname: String? = nil, operatorID: String? = nil, operatorName: String? = nil, fixtureID: String? = nil,
        testPhase: String? = nil, product: String? = nil, project: String? = nil, gitCommit: String? = nil,
        gitBranch: String? = nil, gitRemote: String? = nil, siteIndex: Int64 = 0, siteName: String? = nil,
        metadata: [String: String] = [:]
    ) {
        self.dutSerial = dutSerial
        self.dutPartNumber = dutPartNumber
        self.dutRevision = dutRevision
        self.dutLot = dutLot
        self.partID = partID
        self.partName = partName
        self.partRevision = partRevision
        self.stationID = stationID
        self.stationName = stationName
        self.stationType = stationType
        self.stationLocation = stationLocation
        self.hostname = hostname
        self.operatorID = operatorID
        self.operatorName = operatorName
        self.fixtureID = fixtureID
        self.testPhase = testPhase
        self.product = product
        self.project = project
        self.gitCommit = gitCommit
        self.gitBranch = gitBranch
        self.gitRemote = gitRemote
        self.siteIndex = siteIndex
        self.siteName = siteName
        self.metadata = metadata
    }
}

/// Custom run metadata set during the run (it reaches the stored data whenever it is set).
public struct RunMetadata: Sendable, Equatable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// The outcome of a run, step, vector or measurement, with a severity ladder: when several
/// outcomes combine, the most severe wins.
public enum Outcome: String, Sendable, CaseIterable, Comparable {
    /// Recorded without a limit to judge it.
    case done
    case skipped
    case passed
    case failed
    case errored
    case terminated
    case aborted

    /// Higher is more severe.
    public var severity: Int {
        switch self {
        case .done: 0
        case .skipped: 1
        case .passed: 2
        case .failed: 3
        case .errored: 4
        case .terminated: 5
        case .aborted: 6
        }
    }

    public static func < (a: Outcome, b: Outcome) -> Bool { a.severity < b.severity }
}

public struct RunEnded: Sendable, Equatable {
    public var outcome: Outcome
    /// Set when the runs daemon closed an orphaned run (the producer died).
    public var reason: String?
    public init(outcome: Outcome, reason: String? = nil) {
        self.outcome = outcome
        self.reason = reason
    }
}

/// A run's Parquet file was written.
public struct RunMaterialized: Sendable, Equatable {
    public var path: String
    public var rows: Int64
    public var materializer: String
    public init(path: String, rows: Int64, materializer: String) {
        self.path = path
        self.rows = rows
        self.materializer = materializer
    }
}

// MARK: - Steps and vectors

/// Where a step's code is (file, function, line), for traceability back to the test.
public struct CodeLocation: Sendable, Equatable {
    public var file: String?
    public var function: String?
    public var line: Int64?
    public init(file: String? = nil, function: String? = nil, line: Int64? = nil) {
        self.file = file
        self.function = function
        self.line = line
    }
}

public struct StepStarted: Sendable, Equatable {
    public var name: String
    public var index: Int64
    /// Unique within the run: `power/rails` for nested steps.
    public var path: String
    public var description: String?
    public var retry: Int64
    public var code: CodeLocation?
    /// What the step is for, when its runner says: `setup`, `main` or `teardown` (the
    /// `step_role` column). Teardown steps run even after failures and aborts.
    public var role: String?
    public init(
        name: String, index: Int64, path: String? = nil, description: String? = nil, retry: Int64 = 0,
        code: CodeLocation? = nil, role: String? = nil
    ) {
        self.name = name
        self.index = index
        self.path = path ?? name
        self.description = description
        self.retry = retry
        self.code = code
        self.role = role
    }
}

public struct StepEnded: Sendable, Equatable {
    public var name: String
    public var index: Int64
    public var path: String
    public var retry: Int64
    public var outcome: Outcome
    public var error: String?
    public init(name: String, index: Int64, path: String? = nil, retry: Int64 = 0, outcome: Outcome, error: String? = nil) {
        self.name = name
        self.index = index
        self.path = path ?? name
        self.retry = retry
        self.outcome = outcome
        self.error = error
    }
}

/// A named value with an optional unit: a stimulus parameter (`in_*`) or an observation
/// (`out_*`).
public struct NamedValue: Sendable, Equatable {
    public var name: String
    public var value: JSONValue
    public var unit: String?
    public init(_ name: String, _ value: JSONValue, unit: String? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
    }
}

public struct VectorStarted: Sendable, Equatable {
    public var stepIndex: Int64
    public var stepPath: String
    public var index: Int64
    /// Attempt number of this vector, from 0.
    public var retry: Int64
    /// Stimulus parameters (become `in_<name>` columns).
    public var params: [NamedValue]
    public init(stepIndex: Int64, stepPath: String, index: Int64, retry: Int64 = 0, params: [NamedValue] = []) {
        self.stepIndex = stepIndex
        self.stepPath = stepPath
        self.index = index
        self.retry = retry
        self.params = params
    }
}

public struct VectorEnded: Sendable, Equatable {
    public var stepIndex: Int64
    public var stepPath: String
    public var index: Int64
    public var retry: Int64
    public var outcome: Outcome
    public var error: String?
    /// Stimulus parameters configured during the vector (after `vector.started`); they join
    /// the started ones as `in_<name>` columns, later values winning.
    public var params: [NamedValue]
    public init(
        stepIndex: Int64, stepPath: String, index: Int64, retry: Int64 = 0, outcome: Outcome, error: String? = nil,
        params: [NamedValue] = []
    ) {
        self.stepIndex = stepIndex
        self.stepPath = stepPath
        self.index = index
        self.retry = retry
        self.outcome = outcome
        self.error = error
        self.params = params
    }
}

// MARK: - Measurements and observations

/// How a value is compared with its limit.
public enum Comparator: String, Sendable, CaseIterable {
    case GELE, GELT, GTLE, GTLT, GE, GT, LE, LT, EQ, NE
}

/// One judged (or recorded) measurement, with its limit and full traceability.
public struct Measurement: Sendable, Equatable {
    public var stepIndex: Int64
    public var stepPath: String
    /// nil for a measurement at step scope (outside any vector).
    public var vectorIndex: Int64?
    public var retry: Int64
    public var name: String
    public var value: Double?
    public var unit: String?
    public var outcome: Outcome
    public var limitLow: Double?
    public var limitHigh: Double?
    public var limitNominal: Double?
    /// For `EQ`/`NE` limits: the largest |value − nominal| counted as equal (the tolerance the
    /// verdict used, so a re-judge from the data agrees).
    public var limitTolerance: Double?
    public var comparator: Comparator?
    public var characteristicID: String?
    public var specRef: String?
    public var dutPin: String?
    public var fixtureConnection: String?
    public var instrumentRole: String?
    public var instrumentResource: String?
    public var instrumentChannel: String?
    /// When the value was taken (defaults to the event time).
    public var measuredAt: Timestamp?

    public init(
        stepIndex: Int64, stepPath: String, vectorIndex: Int64? = nil, retry: Int64 = 0, name: String,
        value: Double?, unit: String? = nil, outcome: Outcome, limitLow: Double? = nil, limitHigh: Double? = nil,
        limitNominal: Double? = nil, limitTolerance: Double? = nil, comparator: Comparator? = nil,
        characteristicID: String? = nil, specRef: String? = nil, dutPin: String? = nil, fixtureConnection: String? = nil,
        instrumentRole: String? = nil, instrumentResource: String? = nil, instrumentChannel: String? = nil,
        measuredAt: Timestamp? = nil
    ) {
        self.stepIndex = stepIndex
        self.stepPath = stepPath
        self.vectorIndex = vectorIndex
        self.retry = retry
        self.name = name
        self.value = value
        self.unit = unit
        self.outcome = outcome
        self.limitLow = limitLow
        self.limitHigh = limitHigh
        self.limitNominal = limitNominal
        self.limitTolerance = limitTolerance
        self.comparator = comparator
        self.characteristicID = characteristicID
        self.specRef = specRef
        self.dutPin = dutPin
        self.fixtureConnection = fixtureConnection
        self.instrumentRole = instrumentRole
        self.instrumentResource = instrumentResource
        self.instrumentChannel = instrumentChannel
        self.measuredAt = measuredAt
    }
}

/// An observed value (environment, readback): becomes an `out_<name>` column. Large arrays are
/// stored in the channel store and the value is their `channel://` URI.
public struct Observation: Sendable, Equatable {
    public var stepIndex: Int64?
    public var stepPath: String?
    public var vectorIndex: Int64?
    public var retry: Int64
    public var value: NamedValue
    public var dutPin: String?
    public init(
        stepIndex: Int64? = nil, stepPath: String? = nil, vectorIndex: Int64? = nil, retry: Int64 = 0, _ value: NamedValue,
        dutPin: String? = nil
    ) {
        self.stepIndex = stepIndex
        self.stepPath = stepPath
        self.vectorIndex = vectorIndex
        self.retry = retry
        self.value = value
        self.dutPin = dutPin
    }
}

/// A diagnostic record: any JSON value under a key.
public struct Record: Sendable, Equatable {
    public var stepIndex: Int64?
    public var vectorIndex: Int64?
    public var key: String
    public var value: JSONValue
    public init(stepIndex: Int64? = nil, vectorIndex: Int64? = nil, key: String, value: JSONValue) {
        self.stepIndex = stepIndex
        self.vectorIndex = vectorIndex
        self.key = key
        self.value = value
    }
}

// MARK: - Prompts

public struct PromptOpened: Sendable, Equatable {
    public var promptID: String
    /// `confirm`, `choice` or `input`.
    public var kind: String
    public var message: String
    public var choices: [String]
    public var timeoutSeconds: Double?
    public init(promptID: String, kind: String, message: String, choices: [String] = [], timeoutSeconds: Double? = nil) {
        self.promptID = promptID
        self.kind = kind
        self.message = message
        self.choices = choices
        self.timeoutSeconds = timeoutSeconds
    }
}

public struct PromptAnswered: Sendable, Equatable {
    public var promptID: String
    /// `answered`, `timed_out` or `cancelled`.
    public var response: String
    public var value: String?
    /// Who answered: `operator`, `script`, `auto`.
    public var source: String
    public var durationSeconds: Double
    public init(promptID: String, response: String, value: String?, source: String, durationSeconds: Double) {
        self.promptID = promptID
        self.response = response
        self.value = value
        self.source = source
        self.durationSeconds = durationSeconds
    }
}

// MARK: - Instruments

/// An instrument role was opened: the run's instrument inventory.
public struct InstrumentConnected: Sendable, Equatable {
    public var role: String
    public var driver: String
    public var resource: String
    public var mocked: Bool
    public var manufacturer: String?
    public var model: String?
    public var serial: String?
    public var firmware: String?
    public var calibrationDue: String?
    public var calibrationLast: String?
    public var calibrationCertificate: String?
    public var calibrationLab: String?
    public init(
        role: String, driver: String, resource: String, mocked: Bool, manufacturer: String? = nil, model: String? = nil,
        serial: String? = nil, firmware: String? = nil, calibrationDue: String? = nil, calibrationLast: String? = nil,
        calibrationCertificate: String? = nil, calibrationLab: String? = nil
    ) {
        self.role = role
        self.driver = driver
        self.resource = resource
        self.mocked = mocked
        self.manufacturer = manufacturer
        self.model = model
        self.serial = serial
        self.firmware = firmware
        self.calibrationDue = calibrationDue
        self.calibrationLast = calibrationLast
        self.calibrationCertificate = calibrationCertificate
        self.calibrationLab = calibrationLab
    }
}

public struct InstrumentDisconnected: Sendable, Equatable {
    public var role: String
    public var resource: String
    public init(role: String, resource: String) {
        self.role = role
        self.resource = resource
    }
}

/// One typed call through an instrument's dispatch point.
public struct InstrumentCall: Sendable, Equatable {
    public var role: String
    public var operation: String
    public var arguments: [JSONValue]
    public var result: JSONValue?
    /// The error, when the call failed.
    public var error: String?
    public var durationMicroseconds: Int64
    public var mocked: Bool
    public init(
        role: String, operation: String, arguments: [JSONValue], result: JSONValue?, error: String? = nil,
        durationMicroseconds: Int64, mocked: Bool
    ) {
        self.role = role
        self.operation = operation
        self.arguments = arguments
        self.result = result
        self.error = error
        self.durationMicroseconds = durationMicroseconds
        self.mocked = mocked
    }
}

/// A mock patch became active (recorded so mocked data is never mistaken for real data).
public struct MockPatchApplied: Sendable, Equatable {
    public var role: String
    public var operation: String
    public var behavior: String
    public var times: Int64?
    /// `run`, `step` or `vector`.
    public var scope: String
    public init(role: String, operation: String, behavior: String, times: Int64?, scope: String) {
        self.role = role
        self.operation = operation
        self.behavior = behavior
        self.times = times
        self.scope = scope
    }
}

// MARK: - Channels and diagnostics

public struct ChannelStarted: Sendable, Equatable {
    public var channelID: String
    /// `f64`, `i64`, `bool`, `string`, `f64[]` or `waveform`.
    public var valueType: String
    public var unit: String?
    public var instrumentRole: String?
    public init(channelID: String, valueType: String, unit: String? = nil, instrumentRole: String? = nil) {
        self.channelID = channelID
        self.valueType = valueType
        self.unit = unit
        self.instrumentRole = instrumentRole
    }
}

public struct ChannelEnded: Sendable, Equatable {
    public var channelID: String
    public var reason: String
    public var samples: Int64
    public init(channelID: String, reason: String, samples: Int64) {
        self.channelID = channelID
        self.reason = reason
        self.samples = samples
    }
}

public struct Diagnostic: Sendable, Equatable {
    public enum Level: String, Sendable { case warning, error }
    public var level: Level
    public var source: String
    public var message: String
    public var details: JSONValue?
    public init(level: Level, source: String, message: String, details: JSONValue? = nil) {
        self.level = level
        self.source = source
        self.message = message
        self.details = details
    }
}

/// Where events go: an ``EventLog``, or a test double.
public protocol EventSink: AnyObject, Sendable {
    /// Appends one event. The sink assigns `writer` and `sequence`.
    func emit(_ event: Event) throws
}
