/// A lock the data path holds around a critical section: ``FastLock`` and ``PosixLock``.
protocol CriticalSectionLock: AnyObject {
    func lock()
    func unlock()
}

extension CriticalSectionLock {
    /// Runs `body` with the lock held.
    @inline(__always) func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

extension FastLock: CriticalSectionLock {}
extension PosixLock: CriticalSectionLock {}
