#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock that bounds one driver call across all its system calls:
/// a transport computes it once per operation and every `poll(2)` waits `pollTimeout`.
///
/// `Deadline.never` (from a timeout of `UInt32.max`, `LITMUS_TIMEOUT_INFINITE`) waits forever.
public struct Deadline: Comparable, Sendable {
    /// Nanoseconds on CLOCK_MONOTONIC; `UInt64.max` for never.
    public let nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let never = Deadline(nanoseconds: .max)

    /// The monotonic clock now, in nanoseconds.
    public static var now: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// `milliseconds` from now; `UInt32.max` means never.
    public static func after(milliseconds: UInt32) -> Deadline {
        milliseconds == .max ? .never : Deadline(nanoseconds: now &+ UInt64(milliseconds) &* 1_000_000)
    }

    /// Milliseconds left, rounded up, for poll(2): -1 for never, 0 once passed.
    public var pollTimeout: Int32 {
        if nanoseconds == .max { return -1 }
        let t = Deadline.now
        if t >= nanoseconds { return 0 }
        return Int32(clamping: (nanoseconds - t + 999_999) / 1_000_000)
    }

    public var hasPassed: Bool { nanoseconds != .max && Deadline.now >= nanoseconds }

    public static func < (a: Deadline, b: Deadline) -> Bool { a.nanoseconds < b.nanoseconds }
}
