#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one deadline of a host read operation (a read up to the termination or END, a query,
/// a block read): the session timeout from the operation's start, across every driver read
/// it takes. A driver's own timeout bounds one driver read; without this, a peer dripping a
/// byte at a time, or streaming without a terminator, would keep a read going forever.
struct ReadDeadline {
    /// The timeout it was made from; 0 or `UInt32.max`: no deadline.
    let timeoutMs: UInt32
    /// Nanoseconds on CLOCK_MONOTONIC; `UInt64.max` for never.
    let nanoseconds: UInt64

    init(timeoutMs: UInt32) {
        self.timeoutMs = timeoutMs
        nanoseconds = timeoutMs == 0 || timeoutMs == .max ? .max : Self.now &+ UInt64(timeoutMs) &* 1_000_000
    }

    var isNever: Bool { nanoseconds == .max }

    var hasPassed: Bool { !isNever && Self.now >= nanoseconds }

    /// Whole milliseconds left (at least 1 until it passes); `UInt32.max` for never.
    var remainingMs: UInt32 {
        if isNever { return .max }
        let t = Self.now
        guard t < nanoseconds else { return 0 }
        return UInt32(clamping: max(1, (nanoseconds - t) / 1_000_000))
    }

    static var now: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
