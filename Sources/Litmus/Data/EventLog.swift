import Foundation
import LitmusJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The durable, append-only event log of one writer: one JSON Lines file per log.
///
/// ```swift
/// let log = try EventStore(dataDir: "data").eventLog(sessionID: session)
/// try log.emit(Event(sessionID: session, .sessionStarted(SessionStarted())))
/// ...
/// try log.close()        // flushes, fsyncs, unlocks
/// ```
///
/// The file is `<dataDir>/events/date=YYYY-MM-DD/session=<uuid>/<writer>.jsonl` (the UTC date
/// of the log's creation), created with `O_EXCL`, so no log ever truncates or appends to
/// another's file, and locked with `flock(LOCK_EX)` until ``close()``: a reader can tell a live
/// writer from a dead one by trying the lock (``EventReader/isWriterAlive(path:)``).
///
/// `emit` assigns the event its `writer` and `sequence` (0, 1, 2... with no gaps) and queues it.
/// A background thread encodes queued events into their lines as they come (off the emitting
/// thread), writes them and `fdatasync`s them at least every ``Durability/syncInterval`` while
/// it holds unsynced events; boundary events (`step.ended`, `run.ended`, `session.ended` by
/// default) are on disk, with every event before them, when `emit` returns; ``flush()`` makes
/// everything emitted so far durable. An event is *acknowledged* once it is durable:
/// ``durableSequence`` and ``onDurable(_:)`` tell which.
///
/// A failed write keeps its data in memory and is retried; the error is thrown by the next
/// `emit`, `flush` or `close`. Nothing is dropped silently.
public final class EventLog: EventSink {
    /// When events reach the disk.
    public struct Durability: Sendable, Equatable {
        /// The longest time an emitted event waits before its sync starts (it is acknowledged
        /// once the batch's write and `fdatasync` end, which the disk and the machine's load
        /// decide: see docs/data-contract.md for the measured figures): a background thread
        /// writes and syncs at least this often while there are unsynced events, and sooner once 512 KiB of them are encoded (so that a
        /// boundary event's own sync finds little left to do). nil: no background thread
        /// (events are encoded and written by boundary events, ``EventLog/flush()``,
        /// ``EventLog/close()`` and a full buffer, and only the first three sync).
        public var syncInterval: Duration?
        /// Event types (``Event/type``) written and synced before `emit` returns.
        public var syncTypes: Set<String>
        /// Sync every event before `emit` returns (slow: one `fdatasync` per event).
        public var syncEveryEvent: Bool
        /// Buffered bytes at which `emit` writes the buffer itself (without syncing): bounds the
        /// memory a fast producer can use. Also the most a failing disk lets pile up.
        public var maxBufferedBytes: Int

        /// `step.ended`, `run.ended` and `session.ended`: a finished step, run or session is
        /// on disk before the harness moves on.
        public static let boundaryTypes: Set<String> = ["step.ended", "run.ended", "session.ended"]

        public init(
            syncInterval: Duration? = .milliseconds(20), syncTypes: Set<String> = Durability.boundaryTypes,
            syncEveryEvent: Bool = false, maxBufferedBytes: Int = 4 << 20
        ) {
            self.syncInterval = syncInterval
            self.syncTypes = syncTypes
            self.syncEveryEvent = syncEveryEvent
            self.maxBufferedBytes = max(maxBufferedBytes, 1)
        }

        /// Sync every 20 ms while there are unsynced events, and at step, run and session ends.
        public static let `default` = Durability()
        /// Every event synced before `emit` returns.
        public static let everyEvent = Durability(syncEveryEvent: true)
    }

    /// The log's file.
    public let path: String
    /// The writer id: `<hostname>-<pid>-<8 random hex digits>`, also the file's base name.
    public let writer: String
    public let sessionID: UUID
    public let durability: Durability
    /// When the log was created (its file's date partition).
    public let createdAt: Timestamp
    let core: EventLogCore

    /// Creates a new log file for a session under `dataDir`, creating the directories.
    ///
    /// - Throws: ``EventLogError`` (`.createFailed`, `.lockFailed`).
    public init(dataDir: String, sessionID: UUID, durability: Durability = .default) throws {
        let createdAt = Timestamp.now()
        let directory = EventStore.sessionDirectory(dataDir: dataDir, date: createdAt.date, sessionID: sessionID)
        do {
            try EventStore.makeDirectories(directory)
        } catch {
            throw EventLogError(.createFailed, path: directory, "cannot create the directory: \(error)", errorNumber: error.errno)
        }
        var fd: Int32 = -1
        var writer = ""
        var path = ""
        var attempts = 0
        while fd < 0 {
            writer = EventLog.makeWriterID()
            path = "\(directory)/\(writer).jsonl"
            do {
                fd = try System.openFile(path, flags: O_WRONLY | O_CREAT | O_EXCL | O_APPEND, mode: 0o644)
            } catch where error.errno == EEXIST && attempts < 8 {
                attempts += 1  // another writer drew the same random suffix: draw again
            } catch {
                throw EventLogError(.createFailed, path: path, "cannot create the log file: \(error)", errorNumber: error.errno)
            }
        }
        do {
            try EventLog.lock(fd, path: path)
            // The new file's directory entry must survive a crash too.
            try System.syncDirectory(directory)
        } catch {
            System.closeFile(fd)
            try? System.removeFile(path)
            if let error = error as? EventLogError { throw error }
            let errno = (error as? SystemCallError)?.errno ?? 0
            throw EventLogError(.createFailed, path: path, "cannot set up the log file: \(error)", errorNumber: errno)
        }
        self.path = path
        self.writer = writer
        self.sessionID = sessionID
        self.durability = durability
        self.createdAt = createdAt
        core = EventLogCore(fd: fd, path: path, writer: writer, durability: durability)
        if !core.startFlusher() {
            core.closeFromDeinit()
            throw EventLogError(.createFailed, path: path, "cannot start the flusher thread")
        }
    }

    deinit {
        core.closeFromDeinit()
    }

    /// Appends one event: assigns its `writer` and `sequence`, buffers its line, and for a
    /// sync type (``Durability/syncTypes``) writes and syncs it before returning. Observers
    /// have seen the event when `emit` returns (when called from inside an observer, right
    /// after that observer returns). Thread-safe.
    ///
    /// - Throws: ``EventLogError``: `.closed` after ``close()``, or a write or sync error of
    ///   the background flusher (thrown once; the event is then not accepted). A sync type's
    ///   own sync error is thrown after the event was accepted (it stays buffered).
    public func emit(_ event: Event) throws {
        _ = try core.append(event)
    }

    /// ``emit(_:)``, returning the sequence number given to the event.
    @discardableResult
    public func append(_ event: Event) throws -> Int64 {
        try core.append(event)
    }

    /// Writes and syncs everything emitted so far; returns when it is on disk. Does nothing
    /// after ``close()``.
    ///
    /// - Throws: ``EventLogError`` (`.writeFailed`: the data stays buffered, call again;
    ///   `.syncFailed`).
    public func flush() throws {
        try core.flush()
    }

    /// Flushes, syncs, unlocks and closes the file. Calling it again does nothing. If the
    /// final write fails, the log stays open (emits still throw `.closed`) so `close` can be
    /// retried; deinit closes it regardless.
    public func close() throws {
        try core.close()
    }

    /// The highest sequence known to be written and synced, -1 when none is.
    public var durableSequence: Int64 { core.lock.withLock { core.durable } }

    /// The sequence of the last event emitted, -1 when none was.
    public var lastSequence: Int64 { core.lock.withLock { core.nextSequence - 1 } }

    public var isClosed: Bool { core.lock.withLock { core.state != .open } }

    /// Calls `observer` for each event emitted after this call, synchronously, in sequence
    /// order, with its `writer` and `sequence` set (a sync type's event after its sync, when
    /// one thread emits; with several, another thread may deliver it earlier). An observer
    /// may emit to this log (the new event is delivered after the observer returns); it must
    /// not block for long: emits on other threads wait for their event's delivery. Capture the
    /// log weakly in the observer (the log keeps its observers until it is released).
    public func addObserver(_ observer: @escaping @Sendable (Event) -> Void) {
        core.lock.withLock { core.observers.append(observer) }
    }

    /// Calls `handler` with the new ``durableSequence`` each time it grows (from the thread
    /// that synced: the background flusher, `flush`, `close` or an `emit` of a sync type).
    /// Values only increase. The handler should be quick (on the flusher it delays the next
    /// sync) and capture the log weakly (the log keeps its handlers until it is released).
    public func onDurable(_ handler: @escaping @Sendable (Int64) -> Void) {
        core.lock.withLock { core.durableHandlers.append(handler) }
    }

    // MARK: Writer ids and locking

    /// `<hostname>-<pid>-<8 random hex digits>`, with anything but letters, digits, `.`, `_`
    /// and `-` replaced by `_` and the host name cut to 64 characters.
    static func makeWriterID(hostName: String = System.hostName(), pid: Int32 = getpid()) -> String {
        let random = UInt32.random(in: .min ... .max)
        let hex = String(random, radix: 16)
        return "\(sanitize(hostName))-\(pid)-\(String(repeating: "0", count: 8 - hex.count))\(hex)"
    }

    /// A file-name-safe version of `text` (never empty, never `.` or `..`).
    static func sanitize(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": out.unicodeScalars.append(scalar)
            default: out.append("_")
            }
        }
        if out.isEmpty || out.allSatisfy({ $0 == "." }) { return "host" }
        return out
    }

    /// Takes the exclusive lock of a file this process just created. A reader probing for a
    /// live writer holds it for a moment at most, so retry for a while before giving up.
    private static func lock(_ fd: Int32, path: String) throws {
        let deadline = System.monotonicNanoseconds() + 2_000_000_000
        while !(try System.tryLockExclusive(fd, path: path)) {
            guard System.monotonicNanoseconds() < deadline else {
                throw EventLogError(.lockFailed, path: path, "another process holds the lock of this new log file")
            }
            usleep(1000)
        }
    }
}

extension Error {
    /// The `errno` of a ``SystemCallError``, else 0.
    fileprivate var errno: Int32 { (self as? SystemCallError)?.errno ?? 0 }
}

/// Test hooks: faults injected into the log's writes and syncs (internal; `@testable` only).
struct EventLogFaults: Sendable {
    /// Fail every write with this errno while nonzero.
    var writeErrno: Int32 = 0
    /// Fail every sync with this errno while nonzero.
    var syncErrno: Int32 = 0
    /// Write at most this many bytes per `write` call (exercises short writes) when nonzero.
    var maxWriteSize: Int = 0
}

/// The state of an ``EventLog``, shared with its flusher thread (so the log itself can be
/// released, and deinit can close it, while the thread runs).
///
/// Two locks: `lock` guards the queue of accepted events and the counters (held briefly, by
/// `emit`), `ioLock` serialises encoding, writes and syncs (held for an encoding pass or a
/// `write` + `fdatasync`). Lock order: `ioLock`, then `lock`. Emits go on while the flusher
/// encodes, writes and syncs: it takes the queue out first. Encoding under `ioLock` keeps the
/// lines in sequence order whichever thread encodes them.
final class EventLogCore: @unchecked Sendable {
    enum State { case open, closing, closed }

    let fd: Int32
    let path: String
    let writer: String
    let syncTypes: [String]
    let syncEveryEvent: Bool
    let maxBufferedBytes: Int
    let intervalNanoseconds: UInt64?

    let lock: PosixLock
    /// Wakes the flusher (new data when it is idle, or stop).
    let flusherWake: PosixLock.Condition
    /// Broadcast when observers have seen more events.
    let deliveryDone: PosixLock.Condition
    let ioLock = PosixLock()
    private let closeLock = PosixLock()

    // Guarded by `lock`.
    /// Accepted events (writer and sequence set), not yet encoded, in sequence order.
    var queued: [Event] = []
    var queuedLastSequence: Int64 = -1
    /// Encoded events, for an emitting thread to release: memory is best freed by the thread
    /// that allocated it (freeing it on another contends for the allocator's locks).
    var retired: [Event] = []
    /// Encoded bytes not yet written (`writing` beyond `writingOffset`), readable under `lock`.
    var unwrittenBytes = 0
    /// The average line of the last encoded events, to estimate what the queue will take.
    var lineEstimate = 512
    /// When the oldest event not yet written was accepted.
    var pendingSince: UInt64 = 0
    var nextSequence: Int64 = 0
    var durable: Int64 = -1
    var reportedDurable: Int64 = -1
    var state = State.open
    /// A background write error not yet thrown to the user.
    var unreported: EventLogError?
    /// The last write failed (data is waiting in `writing` or `queued`).
    var broken = false
    var lastFailure: EventLogError?
    var lastFailureAt: UInt64 = 0
    /// A sync failed: the log is unusable.
    var dead: EventLogError?
    var observers: [@Sendable (Event) -> Void] = []
    var durableHandlers: [@Sendable (Int64) -> Void] = []
    var deliveryQueue: [Event] = []
    var deliveryBatch: [Event] = []
    var delivering = false
    var deliverer = pthread_self()
    var delivered: Int64 = -1
    var flusherIdle = false
    var stopFlusher = false
    var flusherThread: pthread_t?

    // Guarded by `ioLock`.
    var encoder = EventLineEncoder()
    /// The queue being encoded (swapped with `queued`).
    var encoding: [Event] = []
    /// Encoded events not yet handed over as `retired`.
    var encoded: [Event] = []
    /// Encoded lines not yet written, from `writingOffset` on.
    var writing: JSONBuffer
    var writingOffset = 0
    var writingLastSequence: Int64 = -1
    var writtenThrough: Int64 = -1
    var syncedThrough: Int64 = -1
    var fileOpen = true
    var faults = EventLogFaults()

    init(fd: Int32, path: String, writer: String, durability: EventLog.Durability) {
        self.fd = fd
        self.path = path
        self.writer = writer
        let lock = PosixLock()
        self.lock = lock
        flusherWake = PosixLock.Condition(lock)
        deliveryDone = PosixLock.Condition(lock)
        syncTypes = durability.syncTypes.sorted()
        syncEveryEvent = durability.syncEveryEvent
        maxBufferedBytes = durability.maxBufferedBytes
        intervalNanoseconds = durability.syncInterval.map { d in
            let (seconds, attoseconds) = d.components
            return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        }
        writing = Self.buffer(capacity: min(maxBufferedBytes, 1 << 20) + 4096)
    }

    /// Encoded bytes at which the background flusher writes and syncs without waiting for
    /// the sync interval: keeps the buffer small and the unsynced data little.
    static let syncAheadBytes = 512 << 10
    /// How often the background flusher encodes queued events while there are some (it
    /// looks by itself: waking it from `emit` would cost the emitting thread a system call).
    static let encodeAheadNanoseconds: UInt64 = 1_000_000

    /// What the queued and encoded events take (an estimate for the queued ones), with `lock`
    /// held: what ``EventLog/Durability/maxBufferedBytes`` bounds.
    var bufferedBytes: Int { unwrittenBytes + queued.count * lineEstimate }

    // MARK: Emit

    func append(_ event: Event) throws -> Int64 {
        lock.lock()
        if state != .open {
            lock.unlock()
            throw EventLogError(.closed, path: path, "the log is closed; the event (\(event.type)) was not accepted")
        }
        if let error = dead {
            lock.unlock()
            throw error
        }
        if let error = unreported {
            unreported = nil
            lock.unlock()
            throw error
        }
        if broken && bufferedBytes >= maxBufferedBytes, let error = lastFailure {
            lock.unlock()
            throw error
        }
        let sequence = nextSequence
        nextSequence += 1
        if queued.isEmpty && unwrittenBytes == 0 {
            pendingSince = System.monotonicNanoseconds()
            if flusherIdle { flusherWake.signal() }
        }
        var accepted = event
        accepted.writer = writer
        accepted.sequence = sequence
        queued.append(accepted)
        queuedLastSequence = sequence
        var release: [Event] = []
        if !retired.isEmpty { swap(&retired, &release) }
        let mustSync = syncEveryEvent || (!syncTypes.isEmpty && syncTypes.contains(event.type))
        let full = bufferedBytes >= maxBufferedBytes
        let hasObservers = !observers.isEmpty
        // With no delivery under way and none waiting, this thread delivers its event itself,
        // straight from here (the common case: one emitting thread).
        var directObservers: [@Sendable (Event) -> Void] = []
        if hasObservers {
            if !delivering && deliveryQueue.isEmpty {
                delivering = true
                deliverer = pthread_self()
                directObservers = observers
            } else {
                deliveryQueue.append(accepted)
            }
        }
        lock.unlock()
        release.removeAll()  // here, outside the lock

        var syncError: (any Error)?
        if mustSync {
            do { try sync(through: sequence) } catch { syncError = error }
        } else if full {
            writeInBackground()
        }
        if !directObservers.isEmpty {
            for observer in directObservers { observer(accepted) }
            lock.lock()
            self.delivered = sequence
            drainDeliveries()
        } else if hasObservers {
            deliver(through: sequence)
        }
        if let syncError { throw syncError }
        return sequence
    }

    /// Calls the observers for queued events, in sequence order, until `sequence` is
    /// delivered. One thread delivers at a time; the others wait for their event.
    private func deliver(through sequence: Int64) {
        lock.lock()
        if delivering {
            if pthread_equal(deliverer, pthread_self()) != 0 {
                // Emitted from inside an observer: the outer delivery loop takes it next.
                lock.unlock()
                return
            }
            while delivered < sequence { deliveryDone.wait() }
            lock.unlock()
            return
        }
        delivering = true
        deliverer = pthread_self()
        drainDeliveries()
    }

    /// With `lock` held by the delivering thread: delivers what is queued (events emitted
    /// meanwhile, by other threads or by the observers themselves), then ends the delivery and
    /// unlocks.
    private func drainDeliveries() {
        while !deliveryQueue.isEmpty {
            swap(&deliveryQueue, &deliveryBatch)
            let observers = self.observers
            let count = deliveryBatch.count
            let last = deliveryBatch[count - 1].sequence
            lock.unlock()
            // Only the delivering thread touches `deliveryBatch`.
            for i in 0..<count {
                let event = deliveryBatch[i]
                for observer in observers { observer(event) }
            }
            lock.lock()
            deliveryBatch.removeAll(keepingCapacity: true)
            delivered = last
            deliveryDone.broadcast()
        }
        delivering = false
        lock.unlock()
    }

    // MARK: Writing and syncing

    /// Writes and syncs everything up to `sequence` (and whatever else is buffered).
    func sync(through sequence: Int64) throws {
        ioLock.lock()
        let advanced: Int64?
        do {
            advanced = try writeAndSyncLocked(through: sequence)
        } catch {
            ioLock.unlock()
            throw error
        }
        ioLock.unlock()
        if let advanced { notifyDurable(advanced) }
    }

    func flush() throws {
        let (last, closed) = lock.withLock { (nextSequence - 1, state == .closed) }
        if closed { return }
        try sync(through: last)
    }

    /// Writes the buffer without syncing (a full buffer); a failure is kept for the next call.
    private func writeInBackground() {
        ioLock.lock()
        defer { ioLock.unlock() }
        do {
            try writeLocked()
        } catch {
            lock.withLock { if unreported == nil { unreported = error as? EventLogError } }
        }
    }

    /// With `ioLock` held: writes what is buffered and syncs. Returns the new durable
    /// sequence when it grew.
    private func writeAndSyncLocked(through target: Int64) throws -> Int64? {
        let (isDurable, deadError) = lock.withLock { (durable >= target, dead) }
        if let deadError { throw deadError }
        if isDurable || !fileOpen { return nil }  // synced by someone else meanwhile (group commit)
        try writeLocked()
        guard writtenThrough > syncedThrough else { return nil }
        let covering = writtenThrough
        do {
            if faults.syncErrno != 0 { throw SystemCallError(function: "fdatasync", errno: faults.syncErrno, path: path) }
            try System.syncData(fd, path: path)
        } catch {
            let failure = EventLogError(
                .syncFailed, path: path,
                "\(error); events after sequence \(syncedThrough) may not be on disk, and the log accepts no more events",
                errorNumber: error.errno)
            lock.withLock { dead = failure }
            throw failure
        }
        syncedThrough = covering
        lock.withLock {
            durable = covering
            // Everything emitted before this sync is on disk: an earlier write error was
            // overcome, with nothing lost, so it need not be thrown any more.
            if !broken { unreported = nil }
        }
        return covering
    }

    /// With `ioLock` held: encodes the queued events, then writes everything encoded (what is
    /// left of a failed write first).
    private func writeLocked() throws {
        guard fileOpen else { return }
        encodeQueuedLocked()
        if writingOffset < writing.count { try writeOutLocked() }
        lock.withLock { broken = false }
    }

    /// With `ioLock` held: encodes the queued events into `writing`, in sequence order, and
    /// hands them over to be released by an emitting thread.
    private func encodeQueuedLocked() {
        let last = lock.withLock { () -> Int64 in
            swap(&queued, &encoding)
            return queuedLastSequence
        }
        guard !encoding.isEmpty else { return }
        let before = writing.count
        for i in encoding.indices {
            encoder.appendLine(encoding[i], writer: writer, sequence: encoding[i].sequence, to: &writing)
        }
        writingLastSequence = last
        let lines = encoding.count
        if encoded.isEmpty {
            swap(&encoded, &encoding)
        } else {
            encoded.append(contentsOf: encoding)
            encoding.removeAll(keepingCapacity: true)
        }
        lock.withLock {
            unwrittenBytes = writing.count - writingOffset
            lineEstimate = max((writing.count - before) / lines, 64)
            if retired.isEmpty { swap(&retired, &encoded) }
        }
    }

    /// Writes `writing[writingOffset...]`, in as many `write` calls as it takes. On error the
    /// rest stays in `writing` for the next attempt.
    private func writeOutLocked() throws {
        do {
            while writingOffset < writing.count {
                if faults.writeErrno != 0 { throw SystemCallError(function: "write", errno: faults.writeErrno, path: path) }
                let limit = faults.maxWriteSize > 0 ? faults.maxWriteSize : Int.max
                let n = try writing.withBytes { bytes in
                    let end = min(bytes.count, writingOffset + limit)
                    return try System.writeSome(fd, UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[writingOffset..<end])), path: path)
                }
                if n <= 0 { throw SystemCallError(function: "write", errno: EIO, path: path) }
                writingOffset += n
            }
        } catch {
            let failure = EventLogError(
                .writeFailed, path: path,
                "\(error) after \(writingOffset) of \(writing.count) bytes; the unwritten events are kept in memory and the write is retried",
                errorNumber: error.errno)
            lock.withLock {
                broken = true
                lastFailure = failure
                lastFailureAt = System.monotonicNanoseconds()
                unwrittenBytes = writing.count - writingOffset
            }
            throw failure
        }
        writtenThrough = writingLastSequence
        writing.removeAll()
        writingOffset = 0
        lock.withLock { unwrittenBytes = 0 }
    }

    private func notifyDurable(_ sequence: Int64) {
        lock.lock()
        guard sequence > reportedDurable else {
            lock.unlock()
            return
        }
        reportedDurable = sequence
        let handlers = durableHandlers
        lock.unlock()
        for handler in handlers { handler(sequence) }
    }

    // MARK: The flusher thread

    /// Starts the background flusher (when there is a sync interval); false if it cannot.
    func startFlusher() -> Bool {
        guard intervalNanoseconds != nil else { return true }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { context in
                let core = Unmanaged<EventLogCore>.fromOpaque(context!).takeRetainedValue()
                core.flusherLoop()
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<EventLogCore>.fromOpaque(context).release()
            return false
        }
        lock.withLock { flusherThread = thread }
        return true
    }

    private func flusherLoop() {
        Thread.current.name = "litmus-eventlog"
        let interval = intervalNanoseconds ?? 20_000_000
        var lastEncodeAhead: UInt64 = 0
        lock.lock()
        while !stopFlusher {
            let nothingPending = queued.isEmpty && unwrittenBytes == 0
            if dead != nil || (nothingPending && !broken) {
                flusherIdle = true
                flusherWake.wait()
                flusherIdle = false
                continue
            }
            var start = nothingPending ? lastFailureAt : pendingSince
            if broken { start = max(start, lastFailureAt) }
            let due = start + interval
            let now = System.monotonicNanoseconds()
            if now < due && (broken || unwrittenBytes < Self.syncAheadBytes) {
                if !broken && !queued.isEmpty && now >= lastEncodeAhead + Self.encodeAheadNanoseconds {
                    // Encode now, off the emitting threads; write and sync when due.
                    lastEncodeAhead = now
                    lock.unlock()
                    ioLock.withLock { encodeQueuedLocked() }
                    lock.lock()
                    continue
                }
                flusherWake.wait(untilMonotonic: broken ? due : min(due, now + Self.encodeAheadNanoseconds))
                continue
            }
            lock.unlock()
            var advanced: Int64?
            ioLock.lock()
            do {
                advanced = try writeAndSyncLocked(through: .max)
            } catch {
                lock.withLock { if unreported == nil { unreported = error as? EventLogError } }
            }
            ioLock.unlock()
            if let advanced { notifyDurable(advanced) }
            lock.lock()
        }
        lock.unlock()
    }

    // MARK: Closing

    func close() throws {
        closeLock.lock()
        defer { closeLock.unlock() }
        lock.lock()
        if state == .closed {
            lock.unlock()
            return
        }
        state = .closing
        stopFlusher = true
        flusherWake.signal()
        let thread = flusherThread
        flusherThread = nil
        lock.unlock()
        if let thread {
            // The last reference can go away on the flusher thread itself (in an onDurable
            // handler): it cannot join itself, and it ends as soon as this returns.
            if pthread_equal(thread, pthread_self()) != 0 {
                pthread_detach(thread)
            } else {
                pthread_join(thread, nil)
            }
        }

        ioLock.lock()
        let advanced: Int64?
        do {
            advanced = try writeAndSyncLocked(through: .max)
        } catch let error as EventLogError where error.code == .syncFailed {
            // Nothing more can be made durable: write what is left (best effort) and close.
            try? writeLocked()
            closeFileLocked()
            ioLock.unlock()
            throw error
        } catch {
            ioLock.unlock()
            throw error
        }
        closeFileLocked()
        recycleBuffersLocked()
        ioLock.unlock()
        lock.withLock { unreported = nil }
        if let advanced { notifyDurable(advanced) }
    }

    /// With `ioLock` held: unlock and close the file.
    private func closeFileLocked() {
        guard fileOpen else { return }
        try? System.unlockFile(fd, path: path)
        System.closeFile(fd)
        fileOpen = false
        lock.withLock { state = .closed }
    }

    // MARK: Buffer reuse

    /// Buffers of closed logs, for the next logs of the process: a fresh buffer's memory is
    /// faulted in page by page as the first events fill it.
    nonisolated(unsafe) private static var recycledBuffers: [JSONBuffer] = []
    private static let recycledBuffersLock = PosixLock()

    /// A buffer of at least `capacity` bytes, recycled when one is available.
    private static func buffer(capacity: Int) -> JSONBuffer {
        recycledBuffersLock.withLock {
            if let i = recycledBuffers.lastIndex(where: { $0.capacity >= capacity }) {
                return recycledBuffers.remove(at: i)
            }
            return nil
        } ?? JSONBuffer(capacity: capacity)
    }

    /// With `ioLock` held, after the file was closed with everything written: hands the
    /// buffer over to the next logs (up to a few, of a size a default log uses).
    private func recycleBuffersLocked() {
        guard writingOffset == writing.count, lock.withLock({ queued.isEmpty }) else { return }
        let buffer = writing
        writing = JSONBuffer(capacity: 64)
        Self.recycledBuffersLock.withLock {
            if Self.recycledBuffers.count < 4 && buffer.capacity <= 8 << 20 { Self.recycledBuffers.append(buffer) }
        }
    }

    /// Close for a log released without `close()`: flush what can be flushed, then close the
    /// file whatever happens, saying on stderr what could not be written.
    func closeFromDeinit() {
        do {
            try close()
        } catch {
            ioLock.lock()
            let unwritten = (writing.count - writingOffset) + lock.withLock { queued.count * lineEstimate }
            closeFileLocked()
            ioLock.unlock()
            let text = "litmus: event log \(path) released with about \(unwritten) bytes of events not written: \(error)\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
    }
}
