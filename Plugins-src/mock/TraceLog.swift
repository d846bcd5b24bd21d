import LitmusDriverKit

/// The bounded call log of a mock or simulated session (`trace_count`, `trace_at`).
///
/// Entries are kept compact and rendered as JSON only when asked for. Calls past `limit` are
/// counted in ``dropped`` instead of recorded.
struct TraceLog<Entry> {
    /// How many entries the log keeps (the `trace_limit` open option).
    let limit: Int
    private(set) var entries: [Entry] = []
    /// Calls not recorded because the log was full.
    private(set) var dropped = 0
    /// The `seq` of the next call. It counts every call of the session, recorded or dropped,
    /// and keeps counting across ``clear()``.
    private(set) var nextSeq: UInt64 = 0

    /// The `trace_limit` a session gets when the option is absent.
    static var defaultLimit: Int { 100_000 }

    init(limit: Int) { self.limit = limit }

    /// Records one call, built by `entry` from its sequence number. Returns true when this call
    /// is the first one dropped since the log was last cleared, so the caller can warn once.
    @discardableResult
    mutating func record(_ entry: (UInt64) -> Entry) -> Bool {
        let seq = nextSeq
        nextSeq &+= 1
        guard entries.count < limit else {
            dropped += 1
            return dropped == 1
        }
        entries.append(entry(seq))
        return false
    }

    /// Empties the log; sequence numbers go on.
    mutating func clear() {
        entries.removeAll()
        dropped = 0
    }

    /// The entry at `index`, or an error saying how many entries exist.
    func entry(at index: Int) throws -> Entry {
        guard index >= 0, index < entries.count else {
            let droppedNote = dropped > 0 ? ", \(dropped) more calls dropped past trace_limit \(limit)" : ""
            throw DriverFailure.invalidArgument("trace index \(UInt(bitPattern: index)) is out of range: the trace holds \(entries.count) entries\(droppedNote)")
        }
        return entries[index]
    }
}
