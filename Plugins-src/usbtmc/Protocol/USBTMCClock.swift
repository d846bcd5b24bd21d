#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time for ``USBTMCLink``: deadlines and the pauses between status polls. Tests pass a
/// virtual clock so that polling and timeouts cost no real time.
public protocol USBTMCClock: AnyObject {
    /// Monotonic time in nanoseconds.
    var nanoseconds: UInt64 { get }
    /// Waits `milliseconds`.
    func sleep(milliseconds: UInt32)
}

/// The system's monotonic clock.
public final class USBTMCSystemClock: USBTMCClock {
    public init() {}

    public var nanoseconds: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    public func sleep(milliseconds: UInt32) {
        var ts = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
        var rest = timespec()
        while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
    }
}

/// A point in time by which an operation must finish.
public struct USBTMCDeadline: Sendable {
    /// Nanoseconds on the clock's timeline; `UInt64.max` for never.
    public let nanoseconds: UInt64

    public static let never = USBTMCDeadline(nanoseconds: .max)

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// `milliseconds` from now on `clock`; `UInt32.max` means never.
    public init(after milliseconds: UInt32, on clock: any USBTMCClock) {
        nanoseconds = milliseconds == .max ? .max : clock.nanoseconds &+ UInt64(milliseconds) &* 1_000_000
    }

    public var isNever: Bool { nanoseconds == .max }

    /// Milliseconds left, rounded up; `UInt32.max` for never, 0 once passed.
    public func remaining(on clock: any USBTMCClock) -> UInt32 {
        if isNever { return .max }
        let now = clock.nanoseconds
        guard now < nanoseconds else { return 0 }
        return UInt32(clamping: (nanoseconds - now + 999_999) / 1_000_000)
    }

    /// The earlier of two deadlines.
    public func earlier(_ other: USBTMCDeadline) -> USBTMCDeadline {
        nanoseconds <= other.nanoseconds ? self : other
    }
}
