import Foundation

/// Time series and waveforms per channel and session, stored outside the event log and
/// referenced from results by `channel://` URIs (``ChannelURI``).
///
/// ```swift
/// let store = ChannelStore(dataDir: "data", sessionID: session, events: eventLog)
/// let ripple = try store.channel("psu.ripple", type: .waveform, unit: "V", instrumentRole: "scope")
/// let uri = try ripple.appendWaveform(t0: .now(), dt: 1e-6, samples: trace)
/// // ... record `uri.description` in an observation ...
/// try store.close()     // ChannelEnded per channel, fsync, Parquet per channel
/// let back = try ChannelStore.read(dataDir: "data", uri: uri)
/// ```
///
/// On disk, each channel of a session has its own directory of append-only segment files
/// (format: ``ChannelSegmentFormat``), kept open across flushes and rotated by size or age:
///
/// ```
/// <dataDir>/channels/date=YYYY-MM-DD/session=<uuid>/<channel-id>/seg-000001.bin
///                                                                 seg-000002.bin
///                                                                 samples.parquet   (after close)
/// ```
///
/// The date is the UTC date when the session's first store opened (a session that crosses
/// midnight stays in one directory; a later store of the same session reuses it).
///
/// Durability: samples are buffered in memory and written in large chunks. A background
/// thread writes what is buffered and `fdatasync`s every ``Options-swift.struct/syncInterval``,
/// so a sample is on disk within that interval even when no further append comes (an
/// append-driven check would leave the last samples before a pause or a hang in memory, and
/// would put `fdatasync` latency on the measuring thread). ``flush()`` and ``close()`` sync
/// too. A crash loses at most the last interval; readers skip a torn tail.
///
/// Thread safety: the store and its channels may be used from any thread; each channel has
/// its own lock.
public final class ChannelStore: @unchecked Sendable {
    /// Limits and intervals of a store.
    public struct Options: Sendable {
        /// A segment is rotated before a record would take it past this size (a single larger
        /// record gets a segment of its own). Default 64 MiB.
        public var maxSegmentBytes: Int
        /// A segment is rotated at the first write after it is this old. Default 1 hour.
        public var maxSegmentAge: Duration
        /// How often buffered samples are written and synced in the background; nil to sync
        /// only on ``ChannelStore/flush()`` and ``ChannelStore/close()``. Default 100 ms.
        public var syncInterval: Duration?
        /// Samples are written to the segment file in chunks of about this size. Default 1 MiB.
        public var writeBufferBytes: Int
        /// Write `samples.parquet` for each channel at ``ChannelStore/close()``. Default true.
        public var compactOnClose: Bool

        public init(
            maxSegmentBytes: Int = 64 << 20, maxSegmentAge: Duration = .seconds(3600),
            syncInterval: Duration? = .milliseconds(100), writeBufferBytes: Int = 1 << 20, compactOnClose: Bool = true
        ) {
            self.maxSegmentBytes = maxSegmentBytes
            self.maxSegmentAge = maxSegmentAge
            self.syncInterval = syncInterval
            self.writeBufferBytes = writeBufferBytes
            self.compactOnClose = compactOnClose
        }

        var limits: ChannelSegmentWriter.Limits {
            let age = maxSegmentAge.components
            let nanos = max(0, age.seconds) * 1_000_000_000 + max(0, age.attoseconds) / 1_000_000_000
            return ChannelSegmentWriter.Limits(
                maxSegmentBytes: max(maxSegmentBytes, 1024), maxSegmentAgeNanoseconds: UInt64(nanos),
                writeBufferBytes: max(writeBufferBytes, 4096))
        }
    }

    public let dataDir: String
    public let sessionID: UUID
    public let options: Options
    /// `<dataDir>/channels/date=YYYY-MM-DD/session=<uuid>`.
    public let sessionDirectory: String

    private let events: (any EventSink)?
    private let mutex = PosixLock()
    /// Guarded by `mutex`.
    private var channelsByID: [String: Channel] = [:]
    private var channelList = ChannelList()
    private var syncer: ChannelSyncer?
    private var closed = false

    /// A store for one session. Nothing is created on disk until a channel is declared.
    ///
    /// - Parameters:
    ///   - dataDir: the data root (the event log and run files live beside `channels/`).
    ///   - sessionID: the session the samples belong to.
    ///   - events: where ChannelStarted and ChannelEnded go; nil for none.
    public init(dataDir: String, sessionID: UUID, events: (any EventSink)? = nil, options: Options = Options()) {
        self.dataDir = dataDir
        self.sessionID = sessionID
        self.events = events
        self.options = options
        self.sessionDirectory =
            Self.existingSessionDirectory(dataDir: dataDir, sessionID: sessionID)
            ?? "\(dataDir)/channels/date=\(Timestamp.now().date)/session=\(sessionID.uuidString.lowercased())"
    }

    deinit {
        // close() was not called: write and sync what is buffered, without events or compaction.
        if !closed {
            syncer?.stop()
            for channel in channelList.channels {
                _ = channel.finish()
                channel.mutex.withLock { channel.writer.release() }
            }
        }
    }

    /// Declares a channel of the session, or returns the one already declared.
    ///
    /// Declaring again with the same type and unit returns the same ``Channel``. The type,
    /// unit and instrument role of a channel are fixed for the session, also across stores
    /// (an earlier store's segments are checked, and a new store continues their offsets).
    ///
    /// - Throws: ``ChannelStoreError`` with code `.invalidChannelID` (the message says what
    ///   is allowed), `.conflict` (naming both declarations), `.busy` (another store writes
    ///   this channel), `.closed`, or `.io`.
    public func channel(_ id: String, type: ChannelValueType, unit: String?, instrumentRole: String? = nil) throws
        -> Channel
    {
        if let problem = ChannelID.problem(with: id) { throw ChannelStoreError(.invalidChannelID, problem) }
        let descriptor = ChannelDescriptor(
            id: id, valueType: type, unit: unit, instrumentRole: instrumentRole, sessionID: sessionID)
        mutex.lock()
        defer { mutex.unlock() }
        if closed {
            throw ChannelStoreError(.closed, "the channel store of session \(sessionID.uuidString.lowercased()) is closed")
        }
        if let existing = channelsByID[id] {
            if let conflict = existing.descriptor.conflict(with: descriptor) {
                throw ChannelStoreError(.conflict, conflict)
            }
            return existing
        }
        let writer = try ChannelSegmentWriter(
            directory: sessionDirectory + "/" + id, descriptor: descriptor, limits: options.limits)
        let channel = Channel(writer: writer, events: events)
        channelsByID[id] = channel
        channelList.append(channel)
        if syncer == nil, let interval = options.syncInterval {
            let list = channelList
            let s = ChannelSyncer(interval: interval) { list.channels }
            s.start()
            syncer = s
        }
        return channel
    }

    /// The channels declared so far, in declaration order.
    public var channels: [Channel] { channelList.channels }

    /// Writes every channel's buffered samples and makes them durable.
    public func flush() throws {
        var first: Error?
        for channel in channelList.channels {
            do { try channel.flush() } catch { first = first ?? error }
        }
        if let first { throw first }
    }

    /// Ends the session's channels: writes and syncs every channel, emits ChannelEnded
    /// (`session_ended`, with the sample count) for each channel this store wrote to, then
    /// writes each such channel's `samples.parquet`. Later appends throw `.closed`.
    /// Calling it again does nothing.
    ///
    /// - Throws: the first error met; everything else is still done.
    public func close() throws {
        mutex.lock()
        if closed {
            mutex.unlock()
            return
        }
        closed = true
        let all = channelList.channels
        let s = syncer
        syncer = nil
        mutex.unlock()
        s?.stop()

        var firstError: Error?
        var finished: [(Channel, Bool, Int64, Bool)] = []
        for channel in all {
            let result = channel.finish()
            if let error = result.error { firstError = firstError ?? error }
            finished.append((channel, result.wrote, result.samples, result.error == nil))
        }
        for (channel, wrote, samples, _) in finished where wrote {
            let body = ChannelEnded(channelID: channel.id, reason: "session_ended", samples: samples)
            do { try events?.emit(Event(sessionID: sessionID, .channelEnded(body))) } catch {
                firstError = firstError ?? error
            }
        }
        if options.compactOnClose {
            for (channel, wrote, samples, ok) in finished where wrote && ok && samples > 0 {
                do { try ChannelSegmentCompactor.compact(directory: channel.writer.directory) } catch {
                    firstError = firstError ?? error
                }
            }
        }
        for channel in all { channel.mutex.withLock { channel.writer.release() } }
        if let firstError { throw firstError }
    }

    // MARK: Reading

    /// Resolves a URI to its samples: every sample of the channel, or the one pinned sample
    /// (a scalar, an array or a waveform).
    ///
    /// Reads the segment files (they are kept after compaction: they are the checksummed
    /// record; `samples.parquet` is a copy for other tools). A torn tail is skipped and listed
    /// in ``ChannelData/issues``.
    ///
    /// - Parameter tolerateCorruption: when false (the default), mid-file corruption or
    ///   missing samples throw `.corrupt` with the file and byte offset; when true, the intact
    ///   records are returned and the problems are listed in ``ChannelData/issues``.
    /// - Throws: ``ChannelStoreError`` `.notFound` (no such channel, session or offset),
    ///   `.corrupt`, `.io`.
    public static func read(dataDir: String, uri: ChannelURI, tolerateCorruption: Bool = false) throws -> ChannelData {
        guard let directory = channelDirectory(dataDir: dataDir, sessionID: uri.sessionID, channelID: uri.channelID) else {
            throw ChannelStoreError(
                .notFound,
                "no channel \(uri.channelID.debugDescription) in session \(uri.sessionID.uuidString.lowercased()) "
                    + "under \(dataDir)/channels (for \(uri))")
        }
        return try ChannelSegmentReader.read(directory: directory, uri: uri, tolerateCorruption: tolerateCorruption)
    }

    /// Resolves a URI of this store's session, including samples still buffered in memory
    /// (they are written to the segment file first, without a sync).
    public func read(_ uri: ChannelURI, tolerateCorruption: Bool = false) throws -> ChannelData {
        if uri.sessionID == sessionID, let channel = mutex.withLock({ channelsByID[uri.channelID] }) {
            try channel.writeBuffered()
        }
        return try Self.read(dataDir: dataDir, uri: uri, tolerateCorruption: tolerateCorruption)
    }

    /// The directory of a channel of a session, if it exists.
    public static func channelDirectory(dataDir: String, sessionID: UUID, channelID: String) -> String? {
        guard ChannelID.problem(with: channelID) == nil,
            let session = existingSessionDirectory(dataDir: dataDir, sessionID: sessionID)
        else { return nil }
        let directory = session + "/" + channelID
        return System.fileKind(directory) == .directory ? directory : nil
    }

    /// `<dataDir>/channels/date=…/session=<uuid>` when some store of the session created it.
    static func existingSessionDirectory(dataDir: String, sessionID: UUID) -> String? {
        let root = dataDir + "/channels"
        let name = "session=" + sessionID.uuidString.lowercased()
        for date in System.directoryEntries(root) where date.hasPrefix("date=") {
            let candidate = "\(root)/\(date)/\(name)"
            if System.fileKind(candidate) == .directory { return candidate }
        }
        return nil
    }

    // MARK: Compaction

    /// Writes (or rewrites) `samples.parquet` for every channel of a session from its
    /// segments: for sessions whose store never closed (a crashed producer). A channel being
    /// written by a live store is skipped. Returns the Parquet files written.
    @discardableResult
    public static func compact(dataDir: String, sessionID: UUID) throws -> [String] {
        guard let session = existingSessionDirectory(dataDir: dataDir, sessionID: sessionID) else { return [] }
        var written: [String] = []
        for name in System.directoryEntries(session) {
            let directory = session + "/" + name
            guard System.fileKind(directory) == .directory, !ChannelSegmentReader.segmentFiles(directory).isEmpty else {
                continue
            }
            let fd = try openLocked(directory)
            guard let fd else { continue }
            defer { System.closeFile(fd) }
            written.append(try ChannelSegmentCompactor.compact(directory: directory))
        }
        return written
    }

    /// Opens and locks a channel directory; nil when a writer holds it.
    private static func openLocked(_ directory: String) throws -> Int32? {
        do {
            let fd = try System.openDirectory(directory)
            if try System.tryLockExclusive(fd, path: directory) { return fd }
            System.closeFile(fd)
            return nil
        } catch {
            throw ChannelStoreError(.io, "\(error)", path: directory)
        }
    }
}

/// The channels of a store, readable from the sync thread.
final class ChannelList: @unchecked Sendable {
    private let mutex = PosixLock()
    private var items: [Channel] = []

    func append(_ channel: Channel) { mutex.withLock { items.append(channel) } }
    var channels: [Channel] { mutex.withLock { items } }
}

/// The background thread that writes and syncs buffered samples every interval.
final class ChannelSyncer: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var exited = false
    private let interval: TimeInterval
    private let channels: @Sendable () -> [Channel]

    init(interval: Duration, channels: @escaping @Sendable () -> [Channel]) {
        let c = interval.components
        self.interval = max(0.001, Double(c.seconds) + Double(c.attoseconds) / 1e18)
        self.channels = channels
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "litmus.channel-sync"
        thread.start()
    }

    private func run() {
        condition.lock()
        while !stopped {
            _ = condition.wait(until: Date(timeIntervalSinceNow: interval))
            if stopped { break }
            condition.unlock()
            for channel in channels() { channel.periodicSync() }
            condition.lock()
        }
        exited = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the thread and waits for it to finish its current round.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !exited { condition.wait() }
        condition.unlock()
    }
}

/// Why a channel store operation failed: ``code`` says what kind of failure, ``message`` the
/// details (with the channel, session and file concerned).
///
/// ```swift
/// do { try vout.append(true) }
/// catch let error as ChannelStoreError where error.code == .typeMismatch { print(error) }
/// ```
public struct ChannelStoreError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure (extensible: compare with the named codes).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A channel id that breaks the rules (the message says what is allowed).
        public static let invalidChannelID = Code("invalid channel id")
        /// A channel declared again with another type, unit or role.
        public static let conflict = Code("conflict")
        /// A value of the wrong type for the channel.
        public static let typeMismatch = Code("type mismatch")
        /// A value the store cannot take (a bad waveform interval, a sample too large).
        public static let invalidValue = Code("invalid value")
        /// The store or channel is closed.
        public static let closed = Code("closed")
        /// Another store holds the channel for writing.
        public static let busy = Code("busy")
        /// No such channel, session or sample.
        public static let notFound = Code("not found")
        /// A segment file is damaged (mid-file corruption, missing samples).
        public static let corrupt = Code("corrupt")
        /// A file system call failed.
        public static let io = Code("I/O error")
        /// Writing the Parquet copy failed.
        public static let compaction = Code("compaction failed")
    }

    public var code: Code
    public var message: String
    /// The file or directory concerned, when there is one.
    public var path: String?

    public init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    public var description: String {
        guard let path, !message.contains(path) else { return message }
        return "\(message) (\(path))"
    }
}

/// The samples of one channel (or the one sample a pinned URI names).
public struct ChannelData: Sendable {
    public var descriptor: ChannelDescriptor
    /// Each sample's `sample_offset` (consecutive, unless corruption was tolerated).
    public var sampleOffsets: [Int64]
    /// Each sample's time (`received_at`).
    public var receivedAt: [Timestamp]
    public var values: ChannelValues
    /// Torn tails skipped (and, with `tolerateCorruption`, damage skipped).
    public var issues: [ChannelSegmentIssue]

    public init(
        descriptor: ChannelDescriptor, sampleOffsets: [Int64], receivedAt: [Timestamp], values: ChannelValues,
        issues: [ChannelSegmentIssue] = []
    ) {
        self.descriptor = descriptor
        self.sampleOffsets = sampleOffsets
        self.receivedAt = receivedAt
        self.values = values
        self.issues = issues
    }

    public var count: Int { sampleOffsets.count }

    public var doubles: [Double]? { if case .f64(let v) = values { v } else { nil } }
    public var int64s: [Int64]? { if case .i64(let v) = values { v } else { nil } }
    public var bools: [Bool]? { if case .bool(let v) = values { v } else { nil } }
    public var strings: [String]? { if case .string(let v) = values { v } else { nil } }
    public var arrays: [[Double]]? { if case .f64Array(let v) = values { v } else { nil } }
    public var waveforms: [Waveform]? { if case .waveform(let v) = values { v } else { nil } }
}

/// The values of ``ChannelData``, typed by the channel's ``ChannelValueType``.
public enum ChannelValues: Sendable, Equatable {
    case f64([Double])
    case i64([Int64])
    case bool([Bool])
    case string([String])
    case f64Array([[Double]])
    case waveform([Waveform])

    public var count: Int {
        switch self {
        case .f64(let v): v.count
        case .i64(let v): v.count
        case .bool(let v): v.count
        case .string(let v): v.count
        case .f64Array(let v): v.count
        case .waveform(let v): v.count
        }
    }
}
