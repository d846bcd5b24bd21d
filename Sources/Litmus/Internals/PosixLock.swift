#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex with condition variables whose timed waits use the monotonic clock (a
/// wall-clock step must not stretch or cut a sync interval). The one lock type of the data
/// path (event log, channel store).
final class PosixLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    /// A condition variable used with this lock.
    final class Condition: @unchecked Sendable {
        private let cond: UnsafeMutablePointer<pthread_cond_t>
        private unowned let owner: PosixLock

        init(_ owner: PosixLock) {
            self.owner = owner
            cond = .allocate(capacity: 1)
            cond.initialize(to: pthread_cond_t())
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            #if os(Linux)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            #endif
            pthread_cond_init(cond, &attributes)
            pthread_condattr_destroy(&attributes)
        }

        deinit {
            pthread_cond_destroy(cond)
            cond.deinitialize(count: 1)
            cond.deallocate()
        }

        /// Waits (the lock held) until signalled; may wake spuriously.
        func wait() { pthread_cond_wait(cond, owner.mutex) }

        /// Waits (the lock held) until signalled or until `deadline` (monotonic nanoseconds).
        func wait(untilMonotonic deadline: UInt64) {
            #if os(Linux)
            var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            pthread_cond_timedwait(cond, owner.mutex, &ts)
            #else
            let now = System.monotonicNanoseconds()
            let delta = deadline > now ? deadline - now : 0
            var ts = timespec(tv_sec: Int(delta / 1_000_000_000), tv_nsec: Int(delta % 1_000_000_000))
            pthread_cond_timedwait_relative_np(cond, owner.mutex, &ts)
            #endif
        }

        func signal() { pthread_cond_signal(cond) }
        func broadcast() { pthread_cond_broadcast(cond) }
    }
}
