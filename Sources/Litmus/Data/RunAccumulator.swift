import Foundation
import LitmusJSON

/// Collects the events of one run, in emit order, into what the Parquet row model needs.
///
/// It is a pure projection: fed live by an ``EventLog`` observer (in-process materialization)
/// or from events read back from disk (the runs daemon), it builds the same table.
///
/// Adding an event is cheap, since it runs on the producer's emit path: a measurement is read
/// into columns while its event is still in the processor's cache (strings become indices into
/// the distinct values of their column), and steps and vectors are kept in the order they first
/// appeared, so building the table reads compact memory and sorts nothing.
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
    /// Time of the earliest event seen for this run (its start when `run.started` is lost).
    public private(set) var firstEventAt: Timestamp?
    /// Event-log problems the reader tied to this run (see ``diagnostics``).
    public private(set) var problems: [EventLogProblem] = []
    /// Custom metadata: RunStarted's, then RunMetadata events in order (later values win).
    public private(set) var metadata: [String: String] = [:]
    public private(set) var instruments: [InstrumentConnected] = []
    public private(set) var mockPatches: [MockPatchApplied] = []
    /// The run's own warnings and errors (`diagnostic.*` events with its run id), in order:
    /// traceability gaps, a demoted test phase... They are the last of its ``diagnostics``.
    public private(set) var recordedDiagnostics: [Diagnostic] = []

    // The keys hash their numbers only: hashing a String is slow, and a run's steps and vectors
    // differ in their numbers (equality still compares the path).
    struct StepKey: Hashable {
        var index: Int64
        var path: String
        var retry: Int64

        func hash(into hasher: inout Hasher) {
            hasher.combine(index)
            hasher.combine(retry)
        }
    }
    struct VectorKey: Hashable {
        var stepIndex: Int64
        var stepPath: String
        var index: Int64
        var retry: Int64

        func hash(into hasher: inout Hasher) {
            hasher.combine(stepIndex)
            hasher.combine(index)
            hasher.combine(retry)
        }
    }
    /// One step attempt: its key and whichever of its events were seen.
    struct StepRecord {
        var key: StepKey
        var started: StepStarted?
        var startedAt: Timestamp?
        var ended: StepEnded?
        var endedAt: Timestamp?
    }
    /// One vector attempt: its key and whichever of its events were seen.
    struct VectorRecord {
        var key: VectorKey
        var started: VectorStarted?
        var startedAt: Timestamp?
        var ended: VectorEnded?
        var endedAt: Timestamp?
    }

    /// Step attempts in the order of their first event.
    private(set) var steps: [StepRecord] = []
    /// The position in ``steps`` of each step attempt.
    private(set) var stepPositions: [StepKey: Int] = [:]
    /// Vector attempts in the order of their first event.
    private(set) var vectors: [VectorRecord] = []
    /// The position in ``vectors`` of each vector attempt.
    private(set) var vectorPositions: [VectorKey: Int] = [:]
    /// Measurements in emit order, column by column.
    private(set) var measurements = MeasurementColumns()
    private(set) var observations: [(event: Observation, at: Timestamp)] = []

    public init(runID: UUID) { self.runID = runID }

    /// The runs of a session read back (``EventReader/events(sessionID:)``), each with the
    /// session's `session.started` event and the problems the reader tied to it.
    /// Problems tied to no run of the session are returned apart.
    public static func runs(of read: EventReader.ReadResult) -> (runs: [UUID: RunAccumulator], unattributed: [EventLogProblem]) {
        var runs = runs(of: read.events)
        var unattributed: [EventLogProblem] = []
        for problem in read.problems {
            if let id = problem.runID, runs[id] != nil {
                runs[id]!.problems.append(problem)
            } else {
                unattributed.append(problem)
            }
        }
        return (runs, unattributed)
    }

    /// Ties an event-log problem to this run (it becomes one of its ``diagnostics``).
    public mutating func note(_ problem: EventLogProblem) {
        problems.append(problem)
    }

    /// Everything the run file records as wrong or doubtful: first what is wrong with the run's
    /// data (a missing `run.started` — the run is then written with the identity the session
    /// gives, and its outcome is its `run.ended`'s, else `aborted` — and the event-log problems
    /// tied to it), then the run's own warnings and errors (``recordedDiagnostics``).
    public var diagnostics: [RunDiagnostic] {
        var out: [RunDiagnostic] = []
        if started == nil {
            out.append(
                RunDiagnostic(
                    kind: RunDiagnostic.missingRunStarted,
                    message: "the run's run.started event is missing (lost or damaged): DUT and part identity unknown; "
                        + "station and operator come from the session, the start time from the run's first event",
                    losesEvents: true))
        }
        out += problems.map(RunDiagnostic.init)
        out += recordedDiagnostics.map(RunDiagnostic.init)
        return out
    }

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

    /// The number of measurements recorded.
    public var measurementCount: Int { measurements.rows.count }

    /// The number of measurements whose outcome is `failed` or `errored`.
    public var failedMeasurementCount: Int { measurements.failed }

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
        if let last = lastEventAt {
            if event.occurredAt > last { lastEventAt = event.occurredAt }
            if event.occurredAt < firstEventAt! { firstEventAt = event.occurredAt }
        } else {
            lastEventAt = event.occurredAt
            firstEventAt = event.occurredAt
        }
        switch event.body {
        case .measurement(let m):
            measurements.add(m, at: event.occurredAt)
        case .vectorStarted(let v):
            let key = VectorKey(stepIndex: v.stepIndex, stepPath: v.stepPath, index: v.index, retry: v.retry)
            let i = vectorPosition(key)
            vectors[i].started = v
            vectors[i].startedAt = event.occurredAt
        case .vectorEnded(let v):
            let key = VectorKey(stepIndex: v.stepIndex, stepPath: v.stepPath, index: v.index, retry: v.retry)
            let i = vectorPosition(key)
            vectors[i].ended = v
            vectors[i].endedAt = event.occurredAt
        case .observation(let o):
            observations.append((o, event.occurredAt))
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
            let i = stepPosition(StepKey(index: s.index, path: s.path, retry: s.retry))
            steps[i].started = s
            steps[i].startedAt = event.occurredAt
        case .stepEnded(let s):
            let i = stepPosition(StepKey(index: s.index, path: s.path, retry: s.retry))
            steps[i].ended = s
            steps[i].endedAt = event.occurredAt
        case .instrumentConnected(let i):
            instruments.removeAll { $0.role == i.role }
            instruments.append(i)
        case .mockPatchApplied(let p):
            mockPatches.append(p)
        case .diagnostic(let d):
            recordedDiagnostics.append(d)
        case .sessionStarted, .sessionEnded, .record, .promptOpened, .promptAnswered, .instrumentDisconnected,
            .instrumentCall, .channelStarted, .channelEnded:
            break
        }
    }

    /// The position of a vector attempt in ``vectors``, adding it if new. A vector's events
    /// nearly always concern the latest vector, which is checked before any hashing.
    private mutating func vectorPosition(_ key: VectorKey) -> Int {
        if let last = vectors.indices.last, vectors[last].key == key { return last }
        // A new vector nearly always: one hash to add it (and a second to undo that when not).
        if let known = vectorPositions.updateValue(vectors.count, forKey: key) {
            vectorPositions[key] = known
            return known
        }
        vectors.append(VectorRecord(key: key))
        return vectors.count - 1
    }

    /// The position of a step attempt in ``steps``, adding it if new.
    private mutating func stepPosition(_ key: StepKey) -> Int {
        if let last = steps.indices.last, steps[last].key == key { return last }
        if let known = stepPositions[key] { return known }
        steps.append(StepRecord(key: key))
        stepPositions[key] = steps.count - 1
        return steps.count - 1
    }
}

/// The measurements of a run, column by column, in emit order: per measurement one
/// ``Row`` of numbers and string indices (into each string column's distinct values), and the
/// runs of consecutive measurements that share a scope.
struct MeasurementColumns: Sendable {
    // The string columns, by position in ``Row/strings``.
    static let name = 0, unit = 1, outcome = 2, comparator = 3, characteristic = 4, specRef = 5, pin = 6
    static let connection = 7, role = 8, resource = 9, channel = 10

    /// One measurement.
    struct Row {
        /// Per string column, the index of the value in its ``MeasurementColumns/strings``
        /// entry, -1 for nil (a tuple: its elements are laid out in order).
        var strings: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32)
        var value: Double
        var low: Double
        var high: Double
        var nominal: Double
        var tolerance: Double
        /// Which of the five doubles are present: bit 0 value, 1 low, 2 high, 3 nominal,
        /// 4 tolerance.
        var present: UInt8
        /// `measuredAt`, else the event's time, in microseconds.
        var time: Int64
    }

    /// Measurements with one scope, one after the other.
    struct Group {
        var stepIndex: Int64
        var stepPath: String
        var vectorIndex: Int64?
        var retry: Int64
        var range: Range<Int>
    }

    private(set) var rows: [Row] = []
    /// Per string column, its distinct values.
    private(set) var strings = (0..<11).map { _ in InternedStrings() }
    private(set) var groups: [Group] = []
    /// Measurements whose outcome is `failed` or `errored`.
    private(set) var failed = 0

    /// Adds a measurement, emitted at `occurredAt`.
    mutating func add(_ m: Measurement, at occurredAt: Timestamp) {
        let indices = strings.withUnsafeMutableBufferPointer { tables in
            func index(_ k: Int, _ value: String?) -> Int32 {
                guard let value else { return -1 }
                return tables[k].index(of: value)
            }
            return (
                index(Self.name, m.name), index(Self.unit, m.unit), index(Self.outcome, m.outcome.rawValue),
                index(Self.comparator, m.comparator?.rawValue), index(Self.characteristic, m.characteristicID),
                index(Self.specRef, m.specRef), index(Self.pin, m.dutPin), index(Self.connection, m.fixtureConnection),
                index(Self.role, m.instrumentRole), index(Self.resource, m.instrumentResource),
                index(Self.channel, m.instrumentChannel)
            )
        }
        let row = Row(
            strings: indices,
            value: m.value ?? 0, low: m.limitLow ?? 0, high: m.limitHigh ?? 0, nominal: m.limitNominal ?? 0,
            tolerance: m.limitTolerance ?? 0,
            present: (m.value == nil ? 0 : 1) | (m.limitLow == nil ? 0 : 2) | (m.limitHigh == nil ? 0 : 4)
                | (m.limitNominal == nil ? 0 : 8) | (m.limitTolerance == nil ? 0 : 16),
            time: (m.measuredAt ?? occurredAt).microseconds)
        let i = rows.count
        rows.append(row)
        if m.outcome == .failed || m.outcome == .errored { failed += 1 }
        if let last = groups.indices.last, groups[last].vectorIndex == m.vectorIndex, groups[last].retry == m.retry,
            groups[last].stepIndex == m.stepIndex, groups[last].stepPath == m.stepPath
        {
            groups[last].range = groups[last].range.lowerBound..<(i + 1)
        } else {
            groups.append(
                Group(stepIndex: m.stepIndex, stepPath: m.stepPath, vectorIndex: m.vectorIndex, retry: m.retry, range: i..<(i + 1)))
        }
    }
}

/// Distinct strings and their indices, told apart by their UTF-8 bytes: never by Swift's
/// `String` equality, which follows Unicode canonical equivalence and would merge `"é"` and
/// `"e\u{301}"` into one value (a Parquet file stores bytes). A value type (its storage is
/// copied when a shared copy is changed).
///
/// A small direct-mapped cache of recently seen `String`s, compared by their 16 raw bytes,
/// finds a repeated value without hashing it. Equal raw bytes mean equal contents while both
/// strings are alive (a large string's raw bytes hold its storage's address), and the cache
/// keeps the strings it holds alive. (Where a `String` is not 16 bytes, nothing is cached.)
struct InternedStrings: Sendable {
    /// A recently seen string and its index (-1: an empty entry).
    private struct CacheEntry {
        var string: String
        var index: Int32
    }

    private final class Storage: @unchecked Sendable {
        /// The distinct values, in first-seen order.
        var values: [String] = []
        /// The UTF-8 bytes of every value, back to back.
        var bytes: [UInt8] = []
        /// Per value: where its bytes start in ``bytes``, how many there are, and their hash.
        var entries: [(start: Int, count: Int, hash: UInt64)] = []
        /// Open addressing, linear probing: value index + 1, 0 when empty; at most half full.
        var slots = [Int32](repeating: 0, count: 16)
        /// The cache (memory of its own: reading it takes no exclusivity check and no retain).
        let cache = UnsafeMutablePointer<CacheEntry>.allocate(capacity: InternedStrings.cacheSize)

        init() {
            cache.initialize(repeating: CacheEntry(string: "", index: -1), count: InternedStrings.cacheSize)
        }

        init(copying other: Storage) {
            values = other.values
            bytes = other.bytes
            entries = other.entries
            slots = other.slots
            cache.initialize(from: other.cache, count: InternedStrings.cacheSize)
        }

        deinit {
            cache.deinitialize(count: InternedStrings.cacheSize)
            cache.deallocate()
        }
    }

    private static let cacheSize = 32
    private var storage = Storage()

    /// The distinct values, in first-seen order.
    var values: [String] { storage.values }

    /// The index of `value`, added if new.
    mutating func index(of value: String) -> Int32 {
        guard MemoryLayout<String>.size == 16 else { return uniqueLookup(value) }
        let (low, high) = withUnsafeBytes(of: value) { ($0.load(as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
        let slot = Int(truncatingIfNeeded: ((low ^ (high &* 0x9E37_79B9_7F4A_7C15)) &* 0xFF51_AFD7_ED55_8CCD) >> 59)
        // The entry's raw bytes, read in place.
        let entry = UnsafeRawPointer(storage.cache + slot)
        let cached = entry.load(fromByteOffset: MemoryLayout<CacheEntry>.offset(of: \.index)!, as: Int32.self)
        let stringOffset = MemoryLayout<CacheEntry>.offset(of: \.string)!
        if cached >= 0 && entry.load(fromByteOffset: stringOffset, as: UInt64.self) == low
            && entry.load(fromByteOffset: stringOffset + 8, as: UInt64.self) == high
        {
            return cached
        }
        let index = uniqueLookup(value)
        storage.cache[slot] = CacheEntry(string: value, index: index)
        return index
    }

    /// ``lookup(_:)`` on storage of this value's own.
    private mutating func uniqueLookup(_ value: String) -> Int32 {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
        return lookup(value)
    }

    /// The index of `value` by its bytes, added if new (the storage is this value's own).
    private func lookup(_ value: String) -> Int32 {
        var text = value
        let storage = self.storage
        return text.withUTF8 { utf8 in
            let hash = Self.hash(utf8)
            let mask = storage.slots.count - 1
            var slot = Int(truncatingIfNeeded: hash) & mask
            while storage.slots[slot] != 0 {
                let k = Int(storage.slots[slot]) - 1
                let e = storage.entries[k]
                if e.hash == hash && e.count == utf8.count
                    && (e.count == 0
                        || storage.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + e.start, utf8.baseAddress!, e.count) == 0 })
                {
                    return Int32(k)
                }
                slot = (slot + 1) & mask
            }
            let k = Int32(storage.values.count)
            storage.values.append(value)
            storage.entries.append((storage.bytes.count, utf8.count, hash))
            storage.bytes.append(contentsOf: utf8)
            storage.slots[slot] = k + 1
            if storage.values.count * 2 > storage.slots.count { Self.rehash(storage) }
            return k
        }
    }

    private static func rehash(_ storage: Storage) {
        storage.slots = Array(repeating: 0, count: storage.slots.count * 2)
        let mask = storage.slots.count - 1
        for (k, e) in storage.entries.enumerated() {
            var slot = Int(truncatingIfNeeded: e.hash) & mask
            while storage.slots[slot] != 0 { slot = (slot + 1) & mask }
            storage.slots[slot] = Int32(k + 1)
        }
    }

    /// FNV-1a over the bytes, then a final mix (values are short: names, units, outcomes).
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }
}
