import Foundation

/// The open screens. Each has a queue of ``Message``s and a wake-up signal: its connection
/// takes everything queued at once and writes it in one go, so a board logging a thousand
/// measurements a second costs each screen a few writes a second, not a thousand. A screen
/// that falls so far behind that its queue fills is disconnected (its browser reconnects and
/// gets the whole state again), so a stuck tab never grows the server's memory.
final class EventHub: @unchecked Sendable {
    /// Messages a screen may be behind before it is disconnected.
    static let buffer = 4096

    /// One open screen's queue.
    final class Subscriber: @unchecked Sendable {
        private let lock = NSLock()
        private var pending: [Message] = []
        private var closed = false
        fileprivate let wake: AsyncStream<Void>.Continuation
        /// Yields whenever messages are queued (several queued messages may yield once).
        let wakeups: AsyncStream<Void>

        init() {
            (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        }

        /// Queues a message; false when the screen is too far behind (it is closed then).
        fileprivate func add(_ message: Message) -> Bool {
            let ok = lock.withLock { () -> Bool in
                if closed { return false }
                if pending.count >= EventHub.buffer {
                    closed = true
                    pending = []
                    return false
                }
                pending.append(message)
                return true
            }
            if ok { wake.yield() } else { wake.finish() }
            return ok
        }

        /// Everything queued, in order; nil once the screen was closed.
        func take() -> [Message]? {
            lock.withLock {
                if closed { return nil }
                defer { pending = [] }
                return pending
            }
        }

        fileprivate func close() {
            lock.withLock { closed = true }
            wake.finish()
        }
    }

    private let lock = NSLock()
    private var subscribers: [UUID: Subscriber] = [:]

    /// The number of open screens.
    var count: Int { lock.withLock { subscribers.count } }

    /// A new screen: `first` is queued before anything published later. Call it under the
    /// owner's lock with the state the screen starts from, so no change falls in between.
    func subscribe(first: Message) -> (id: UUID, subscriber: Subscriber) {
        let subscriber = Subscriber()
        _ = subscriber.add(first)
        let id = UUID()
        lock.withLock { subscribers[id] = subscriber }
        return (id, subscriber)
    }

    func remove(_ id: UUID) {
        lock.withLock { subscribers.removeValue(forKey: id) }?.close()
    }

    /// Queues `message` for every open screen.
    func publish(_ message: Message) {
        let all = lock.withLock { subscribers }
        for (id, s) in all where !s.add(message) { remove(id) }
    }

    /// Ends every screen's stream (the server stops).
    func finishAll() {
        let all = lock.withLock { () -> [Subscriber] in
            defer { subscribers = [:] }
            return Array(subscribers.values)
        }
        for s in all { s.close() }
    }
}
