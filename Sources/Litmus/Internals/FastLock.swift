import CLitmusSupport

/// A lock for short critical sections on hot paths, such as a channel's single-sample append:
/// one atomic instruction to take and one to release when uncontended (``PosixLock`` goes
/// through pthread_mutex calls), a futex wait when contended. Not recursive, and without
/// condition variables: use ``PosixLock`` where a thread must wait for a state.
final class FastLock: @unchecked Sendable {
    private let word: UnsafeMutablePointer<litmus_lock>

    init() {
        word = .allocate(capacity: 1)
        word.initialize(to: litmus_lock(word: 0))
    }

    deinit {
        word.deinitialize(count: 1)
        word.deallocate()
    }

    @inline(__always) func lock() { litmus_lock_acquire(word) }
    @inline(__always) func unlock() { litmus_lock_release(word) }
}
