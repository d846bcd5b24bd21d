import LitmusDriverKit

/// The time budget of one VXI-11 operation, which may take several RPCs (a write split in
/// chunks, a read that loops): one deadline for all of them.
///
/// The instrument gets `io_timeout` = what is left of the session timeout, so it gives up
/// first and answers error 15. The client waits `io_timeout` (plus `lock_timeout` when it asks
/// the instrument to wait for a lock) plus a margin for the network and the instrument's
/// clock; only when that passes too does it abort the call itself (device_abort).
struct VXI11Budget {
    /// CLOCK_MONOTONIC nanoseconds when the operation started.
    let start: UInt64
    /// The session timeout in ms; `UInt32.max` waits forever.
    let timeoutMs: UInt32
    /// How long the instrument may wait for a lock first, in ms.
    let lockWaitMs: UInt32

    init(timeoutMs: UInt32, lockWaitMs: UInt32) {
        start = Deadline.now
        self.timeoutMs = timeoutMs
        self.lockWaitMs = lockWaitMs
    }

    var isForever: Bool { timeoutMs == .max }

    /// The margin the client allows beyond io_timeout: 250 ms plus a quarter of the timeout,
    /// at most 2 s.
    static func margin(forTimeout ms: UInt32) -> UInt64 {
        min(250 + UInt64(ms) / 4, 2000)
    }

    /// The io_timeout to send now: the rest of the session timeout (0 once it has passed).
    var ioTimeoutMs: UInt32 {
        if isForever { return .max }
        let elapsed = (Deadline.now &- start) / 1_000_000
        return UInt32(clamping: UInt64(timeoutMs) > elapsed ? UInt64(timeoutMs) - elapsed : 0)
    }

    /// When the client stops waiting for the instrument and aborts.
    var clientDeadline: Deadline {
        if isForever || lockWaitMs == .max { return .never }
        let total = UInt64(timeoutMs) + UInt64(lockWaitMs) + Self.margin(forTimeout: timeoutMs)
        return Deadline(nanoseconds: start &+ total &* 1_000_000)
    }

    /// Milliseconds since the start, for messages.
    var elapsedMs: UInt64 { (Deadline.now &- start) / 1_000_000 }

    /// The budget for recovery after the client's deadline (device_abort and the late
    /// reply): half the timeout, between 200 ms and 2 s.
    var recoveryDeadline: Deadline {
        let ms = isForever ? 2000 : min(max(timeoutMs / 2, 200), 2000)
        return .after(milliseconds: ms)
    }
}
