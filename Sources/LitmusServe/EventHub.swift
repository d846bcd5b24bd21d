import Foundation

/// The open screens: each has a stream of ``Message``s. A screen that falls so far behind that
/// its buffer fills is disconnected (its browser reconnects and gets the whole state again),
/// so a stuck tab never grows the server's memory.
final class EventHub: @unchecked Sendable {
    /// Messages a screen may be behind before it is disconnected.
    static let buffer = 4096

    private let lock = NSLock()
    private var subscribers: [UUID: AsyncStream<Message>.Continuation] = [:]

    /// The number of open screens.
    var count: Int { lock.withLock { subscribers.count } }

    /// A new screen: `first` is sent before anything published later. Call it under the
    /// owner's lock with the state the screen starts from, so no change falls in between.
    func subscribe(first: Message) -> (id: UUID, stream: AsyncStream<Message>) {
        let (stream, continuation) = AsyncStream<Message>.makeStream(bufferingPolicy: .bufferingOldest(Self.buffer))
        let id = UUID()
        continuation.yield(first)
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        lock.withLock { subscribers[id] = continuation }
        return (id, stream)
    }

    func remove(_ id: UUID) {
        let c = lock.withLock { subscribers.removeValue(forKey: id) }
        c?.finish()
    }

    /// Sends `message` to every open screen.
    func publish(_ message: Message) {
        var dropped: [UUID] = []
        lock.withLock {
            for (id, c) in subscribers {
                if case .dropped = c.yield(message) { dropped.append(id) }
            }
        }
        for id in dropped { remove(id) }
    }

    /// Ends every stream (the server stops).
    func finishAll() {
        let all = lock.withLock { () -> [AsyncStream<Message>.Continuation] in
            defer { subscribers = [:] }
            return Array(subscribers.values)
        }
        for c in all { c.finish() }
    }
}
