import Foundation
import LitmusJSON

/// Collects the events of one run, in emit order, into what the Parquet row model needs.
///
/// It is a pure projection: fed live by an ``EventLog`` observer (in-process materialization)
/// or from events read back from disk (the runs daemon), it builds the same table.
public struct RunAccumulator: Sendable {
    public let runID: UUID
    public private(set) var sessionID: UUID?
    public private(set) var session: SessionStarted?
    public private(set) var started: RunStarted?
    public private(set) var startedAt: Timestamp?
    public private(set) var ended: RunEnded?
    public private(set) var endedAt: Timestamp?
    public private(set) var materialized: RunMaterialized?
    /// Time of the last event seen for this run (for lease checks).
    public private(set) var lastEventAt: Timestamp?
    /// Custom metadata: RunStarted's, then RunMetadata events in order (later values win).
    public private(set) var metadata: [String: String] = [:]
    public private(set) var instruments: [InstrumentConnected] = []
    public private(set) var mockPatches: [MockPatchApplied] = []

    struct StepKey: Hashable {
        var index: Int64
        var path: String
        var retry: Int64
    }
    struct VectorKey: Hashable {
        var stepIndex: Int64
        var stepPath: String
        var index: Int64
        var retry: Int64
    }
    struct StepRecord {
        var started: StepStarted?
        var startedAt: Timestamp?
        var ended: StepEnded?
        var endedAt: Timestamp?
        var order: Int
    }
    struct VectorRecord {
        var started: VectorStarted?
        var startedAt: Timestamp?
        var ended: VectorEnded?
        var endedAt: Timestamp?
        var order: Int
    }

    private(set) var steps: [StepKey: StepRecord] = [:]
    private(set) var vectors: [VectorKey: VectorRecord] = [:]
    private(set) var measurements: [(event: Measurement, at: Timestamp)] = []
    private(set) var observations: [(event: Observation, at: Timestamp)] = []
    private var order = 0

    public init(runID: UUID) { self.runID = runID }

    /// The runs of one session's events (read back in order), each with the session's
    /// `session.started` event.
    public static func runs(of events: [Event]) -> [UUID: RunAccumulator] {
        var runs: [UUID: RunAccumulator] = [:]
        var sessionStarted: Event?
        for event in events {
            if case .sessionStarted = event.body { sessionStarted = event }
            guard let id = event.runID else { continue }
            if runs[id] == nil {
                var run = RunAccumulator(runID: id)
                if let s = sessionStarted { run.add(s) }
                runs[id] = run
            }
            runs[id]!.add(event)
        }
        return runs
    }

    /// Whether the run has ended (RunEnded seen).
    public var isEnded: Bool { ended != nil }

    /// Adds one event. Events of other runs are ignored; session events set the session.
    public mutating func add(_ event: Event) {
        if case .sessionStarted(let s) = event.body {
            if sessionID == nil || sessionID == event.sessionID {
                session = s
                sessionID = event.sessionID
            }
            return
        }
        guard event.runID == runID else { return }
        sessionID = event.sessionID
        lastEventAt = max(lastEventAt ?? event.occurredAt, event.occurredAt)
        order += 1
        switch event.body {
        case .runStarted(let r):
            started = r
            startedAt = event.occurredAt
            metadata.merge(r.metadata) { _, new in new }
        case .runMetadata(let m):
            metadata[m.key] = m.value
        case .runEnded(let r):
            ended = r
            endedAt = event.occurredAt
        case .runMaterialized(let m):
            materialized = m
        case .stepStarted(let s):
            let key = StepKey(index: s.index, path: s.path, retry: s.retry)
            steps[key, default: StepRecord(order: order)].started = s
            steps[key]!.startedAt = event.occurredAt
        case .stepEnded(let s):
            let key = StepKey(index: s.index, path: s.path, retry: s.retry)
            steps[key, default: StepRecord(order: order)].ended = s
            steps[key]!.endedAt = event.occurredAt
        case .vectorStarted(let v):
            let key = VectorKey(stepIndex: v.stepIndex, stepPath: v.stepPath, index: v.index, retry: v.retry)
            vectors[key, default: VectorRecord(order: order)].started = v
            vectors[key]!.startedAt = event.occurredAt
        case .vectorEnded(let v):
            let key = VectorKey(stepIndex: v.stepIndex, stepPath: v.stepPath, index: v.index, retry: v.retry)
            vectors[key, default: VectorRecord(order: order)].ended = v
            vectors[key]!.endedAt = event.occurredAt
        case .measurement(let m):
            measurements.append((m, m.measuredAt ?? event.occurredAt))
        case .observation(let o):
            observations.append((o, event.occurredAt))
        case .instrumentConnected(let i):
            instruments.removeAll { $0.role == i.role }
            instruments.append(i)
        case .mockPatchApplied(let p):
            mockPatches.append(p)
        case .sessionStarted, .sessionEnded, .record, .promptOpened, .promptAnswered, .instrumentDisconnected,
            .instrumentCall, .channelStarted, .channelEnded, .diagnostic:
            break
        }
    }
}
