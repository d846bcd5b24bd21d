import CLitmusSupport
import Foundation
@testable import Litmus
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `Timestamp.now()`'s clock: the time-stamp counter extrapolated from `CLOCK_REALTIME`
/// anchors (litmus_realtime_ns). These check what it returns, not how fast it is.
@Suite("Realtime clock")
struct RealtimeClockTests {
    private static func kernelNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Far more than the extrapolation can be off by over its 1 ms window (well under a
    /// microsecond when the rate is right), far less than a wrong rate or a stale anchor gives.
    private static let tolerance: Int64 = 50_000

    /// Each reading lies between two kernel readings taken around it, over many windows
    /// (busy gaps of ~0.1 to 3 ms cross the 1 ms anchor window and measure new rates).
    @Test func agreesWithTheKernelClockAcrossAnchorWindows() {
        for i in 0..<1000 {
            let before = Self.kernelNanoseconds()
            let fast = litmus_realtime_ns()
            let after = Self.kernelNanoseconds()
            #expect(fast >= before - Self.tolerance, "reading \(i): \(before - fast) ns before the kernel's clock")
            #expect(fast <= after + Self.tolerance, "reading \(i): \(fast - after) ns after the kernel's clock")
            let spin = Self.kernelNanoseconds() + Int64(100_000 + (i * 7919) % 2_900_000)
            while Self.kernelNanoseconds() < spin {}
        }
    }

    /// Within a thread, times never go back (a re-anchoring that lands a little earlier than
    /// the extrapolation holds the time instead).
    @Test func neverGoesBackWithinAThread() {
        var last = litmus_realtime_ns()
        var back = 0
        for i in 0..<2_000_000 {
            let now = litmus_realtime_ns()
            if now < last { back += 1 }
            last = now
            if i % 100_000 == 0 { usleep(1500) }  // new anchors, and a rate measured over them
        }
        #expect(back == 0)
    }

    /// Several threads at once, each with its own anchor, agree with the kernel's clock.
    @Test func threadsAgreeWithTheKernelClock() async {
        let failures = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var bad = 0
                    for i in 0..<20_000 {
                        let before = Self.kernelNanoseconds()
                        let fast = litmus_realtime_ns()
                        let after = Self.kernelNanoseconds()
                        if fast < before - Self.tolerance || fast > after + Self.tolerance { bad += 1 }
                        if i % 1000 == 0 { usleep(1200) }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }

    /// The counter is used exactly when the kernel's own clocksource is it (on x86-64).
    @Test func usesTheCounterOnlyWhereTheKernelDoes() throws {
        let source = (try? String(contentsOfFile: "/sys/devices/system/clocksource/clocksource0/current_clocksource", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #if arch(x86_64)
        let expected = source == "tsc" && ProcessInfo.processInfo.environment["LITMUS_CLOCK"] != "syscall"
        #else
        let expected = false
        #endif
        #expect((litmus_realtime_uses_counter() != 0) == expected, "clocksource \(source ?? "unknown")")
    }

    /// `Timestamp.now()` is this clock in microseconds.
    @Test func timestampNowIsTheClockInMicroseconds() {
        let before = Self.kernelNanoseconds() / 1000
        let now = Timestamp.now().microseconds
        let after = Self.kernelNanoseconds() / 1000
        #expect(now >= before - Self.tolerance / 1000 && now <= after + Self.tolerance / 1000)
    }
}

/// The hot-path lock (litmus_lock): mutual exclusion, contended or not.
@Suite("FastLock")
struct FastLockTests {
    /// Four threads increment a plain counter under the lock: no increment is lost.
    @Test func contendedIncrementsAreNotLost() async {
        final class Counter: @unchecked Sendable {
            let lock = FastLock()
            var value = 0
        }
        let counter = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<200_000 { counter.lock.withLock { counter.value += 1 } }
                }
            }
        }
        #expect(counter.value == 800_000)
    }

    /// A thread that finds the lock held waits (in the kernel, past the spin) until it is
    /// released, and then sees everything written under it.
    @Test func aWaiterSleepsUntilTheHolderReleases() {
        final class Shared: @unchecked Sendable {
            let lock = FastLock()
            var released = false
            var sawReleased: Bool?
        }
        let shared = Shared()
        shared.lock.lock()
        let waiter = Thread {
            shared.lock.lock()
            shared.sawReleased = shared.released
            shared.lock.unlock()
        }
        waiter.start()
        usleep(50_000)  // long past the spin: the waiter is asleep on the futex (or not yet there)
        shared.released = true
        shared.lock.unlock()
        var seen: Bool?
        for _ in 0..<6000 {
            seen = shared.lock.withLock { shared.sawReleased }
            if seen != nil { break }
            usleep(10_000)
        }
        #expect(seen == true)
    }
}
