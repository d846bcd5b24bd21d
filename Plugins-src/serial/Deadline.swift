#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock that bounds one driver call across all its system calls.
///
/// `Deadline.never` (from a timeout of `UInt32.max`, `LITMUS_TIMEOUT_INFINITE`) waits forever.
struct Deadline: Comparable {
    /// Nanoseconds on CLOCK_MONOTONIC; `UInt64.max` for never.
    let nanoseconds: UInt64

    static let never = Deadline(nanoseconds: .max)

    /// The monotonic clock now, in nanoseconds.
    static var now: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// `milliseconds` from now; `UInt32.max` means never.
    static func after(milliseconds: UInt32) -> Deadline {
        milliseconds == .max ? .never : Deadline(nanoseconds: now &+ UInt64(milliseconds) &* 1_000_000)
    }

    /// Milliseconds left, rounded up, for poll(2): -1 for never, 0 once passed.
    var pollTimeout: Int32 {
        if nanoseconds == .max { return -1 }
        let t = Deadline.now
        if t >= nanoseconds { return 0 }
        return Int32(clamping: (nanoseconds - t + 999_999) / 1_000_000)
    }

    var hasPassed: Bool { nanoseconds != .max && Deadline.now >= nanoseconds }

    static func < (a: Deadline, b: Deadline) -> Bool { a.nanoseconds < b.nanoseconds }
}
