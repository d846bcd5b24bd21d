import CLitmusSupport
import Foundation

/// An open file descriptor, closed when the last reference goes away (so the background sync
/// can `fdatasync` a segment that the writer has just rotated away from).
final class ChannelFileHandle: Sendable {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { System.closeFile(fd) }
}

/// A growable byte buffer in manually managed memory (no copy-on-write checks on the hot path).
struct ChannelByteBuffer {
    private(set) var base: UnsafeMutableRawPointer
    var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    func deallocate() { base.deallocate() }

    /// Makes room for `extra` more bytes and returns where they go.
    @inline(__always)
    mutating func reserve(_ extra: Int) -> UnsafeMutableRawPointer {
        if count + extra > capacity { grow(count + extra) }
        return base + count
    }

    private mutating func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Gives back memory that grew past `limit` for one large record.
    mutating func shrink(to limit: Int) {
        guard count == 0, capacity > limit * 2 else { return }
        base.deallocate()
        capacity = limit
        base = .allocate(byteCount: limit, alignment: 16)
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// Writes one channel's segments in one session: buffers samples, frames them as records,
/// writes large chunks to the open segment, rotates by size and age, and syncs.
///
/// Not thread-safe: its ``Channel`` calls it with the channel's lock held. Holds an exclusive
/// `flock` on the channel directory from `init` to ``release()``, so two writers (in this
/// process or another) never write the same channel of a session.
final class ChannelSegmentWriter {
    struct Limits: Sendable {
        var maxSegmentBytes: Int
        var maxSegmentAgeNanoseconds: UInt64
        var writeBufferBytes: Int
    }

    /// Something to `fdatasync` (a segment) or `fsync` (the channel directory) outside the lock.
    struct SyncTarget: Sendable {
        let handle: ChannelFileHandle
        let isDirectory: Bool
        var path: String { handle.path }

        func sync() throws(SystemCallError) {
            if isDirectory {
                try System.syncDirectory(handle.fd, path: handle.path)
            } else {
                try System.syncData(handle.fd, path: handle.path)
            }
        }
    }

    let descriptor: ChannelDescriptor
    let directory: String
    private let limits: Limits
    private let typeCode: UInt8
    private let hostname: String
    private var directoryHandle: ChannelFileHandle?

    /// The offset the next sample gets.
    private(set) var nextOffset: Int64
    /// The number of the current (or last) segment; 0 before the first.
    private(set) var segmentNumber: Int
    private var file: ChannelFileHandle?
    private var fileSize: Int64 = 0
    private var fileCreated: UInt64 = 0
    private var fileHasData = false
    /// Bytes were written to `file` since it was last synced.
    private var fileUnsynced = false
    /// A segment was created since the directory was last synced.
    private var directoryUnsynced = false

    /// Sealed records waiting for `write`.
    private var buffer: ChannelByteBuffer
    /// Single scalar appends not yet sealed into a record: value bits and received_at.
    private var pendingBits: UnsafeMutablePointer<UInt64>
    private var pendingTimes: UnsafeMutablePointer<Int64>
    private var pendingCount = 0
    private var pendingStrings: [String] = []
    private var pendingStringBytes = 0
    static let pendingCapacity = 4096
    static let pendingStringBytesLimit = 256 * 1024

    /// Opens the channel directory (creating it), locks it, and continues after any segments
    /// an earlier writer left in it (same session): the next segment number and the next
    /// sample offset follow theirs.
    ///
    /// - Throws: ``ChannelStoreError`` `.busy` when another writer holds the channel,
    ///   `.conflict` when the existing segments have another type or unit.
    init(directory: String, descriptor: ChannelDescriptor, limits: Limits) throws {
        self.directory = directory
        self.descriptor = descriptor
        self.limits = limits
        self.typeCode = ChannelSegmentFormat.typeCode(descriptor.valueType)
        self.hostname = System.hostName()
        buffer = ChannelByteBuffer(capacity: min(limits.writeBufferBytes, 1 << 16))
        pendingBits = .allocate(capacity: Self.pendingCapacity)
        pendingTimes = .allocate(capacity: Self.pendingCapacity)
        nextOffset = 0
        segmentNumber = 0
        do {
            let created = System.fileKind(directory) == .missing
            try System.makeDirectories(directory)
            if created {
                // Make the new directory's entry durable, and its parents' (session, date,
                // channels) in case they are new too.
                var path = directory
                for _ in 0..<3 {
                    guard let slash = path.lastIndex(of: "/") else { break }
                    path = String(path[..<slash])
                    try System.syncDirectory(path)
                }
            }
            let fd = try System.openDirectory(directory)
            let handle = ChannelFileHandle(fd: fd, path: directory)
            guard try System.tryLockExclusive(fd, path: directory) else {
                throw ChannelStoreError(
                    .busy,
                    "channel \(descriptor.id.debugDescription) of session \(descriptor.sessionID.uuidString.lowercased()) "
                        + "is already open for writing (by another ChannelStore in this or another process): \(directory)",
                    path: directory)
            }
            directoryHandle = handle
        } catch let error as SystemCallError {
            throw ChannelStoreError(.io, "cannot open channel directory: \(error)", path: directory)
        } catch let error as ChannelStoreError {
            throw error
        } catch {
            throw ChannelStoreError(.io, "\(error)", path: directory)
        }
        let resume = try ChannelSegmentReader.resumePoint(directory: directory)
        if let existing = resume.descriptor {
            guard existing.id == descriptor.id else {
                // A case-insensitive file system maps two ids to one directory.
                throw ChannelStoreError(
                    .conflict,
                    "channel directory \(directory) already holds channel \(existing.id.debugDescription), "
                        + "not \(descriptor.id.debugDescription) (ids that differ only in case collide on this file system)",
                    path: directory)
            }
            var existingHere = existing
            existingHere.sessionID = descriptor.sessionID
            if let conflict = existingHere.conflict(with: descriptor) {
                throw ChannelStoreError(.conflict, conflict + " (found in \(directory))", path: directory)
            }
        }
        segmentNumber = resume.lastSegment
        nextOffset = resume.nextOffset
    }

    deinit {
        buffer.deallocate()
        pendingBits.deallocate()
        pendingTimes.deallocate()
    }

    // MARK: Appends

    /// Appends one f64, i64 or bool sample (as its bit pattern, bool as 0 or 1).
    @inline(__always)
    func appendScalar(_ bits: UInt64, time: Int64) throws -> Int64 {
        if _slowPath(pendingCount == Self.pendingCapacity) { try sealPending() }
        pendingBits[pendingCount] = bits
        pendingTimes[pendingCount] = time
        pendingCount += 1
        let offset = nextOffset
        nextOffset += 1
        return offset
    }

    func appendString(_ value: String, time: Int64) throws -> Int64 {
        try checkPayloadSize(value.utf8.count + 64)
        if pendingStrings.count == Self.pendingCapacity
            || (!pendingStrings.isEmpty && pendingStringBytes + value.utf8.count > Self.pendingStringBytesLimit)
        {
            try sealPending()
        }
        pendingStrings.append(value)
        pendingTimes[pendingStrings.count - 1] = time
        pendingStringBytes += value.utf8.count
        let offset = nextOffset
        nextOffset += 1
        return offset
    }

    /// Appends `count` fixed-size values (8 bytes for f64 and i64, 1 for bool) with one time.
    /// Returns the first offset.
    func appendBulk(_ bytes: UnsafeRawBufferPointer, count: Int, time: Int64) throws -> Int64 {
        try sealPending()
        let first = nextOffset
        let width = bytes.count / count
        var done = 0
        while done < count {
            let n = min(count - done, ChannelSegmentFormat.maxRecordSamples)
            let body = UnsafeRawBufferPointer(rebasing: bytes[(done * width)..<((done + n) * width)])
            var prefix = DataPrefix()
            prefix.header(typeCode: typeCode, perSampleTimes: false, count: n, first: nextOffset)
            prefix.append(time)
            try prefix.withBytes { p in try emitRecord(prefix: p, body: body, samples: n) }
            done += n
        }
        return first
    }

    func appendStrings(_ values: [String], time: Int64) throws -> Int64 {
        try sealPending()
        let first = nextOffset
        var start = 0
        while start < values.count {
            // Split so that one record stays at most ~maxRecordSamples strings or 16 MiB.
            var end = start
            var bytes = 0
            while end < values.count && end - start < ChannelSegmentFormat.maxRecordSamples && (bytes < 16 << 20 || end == start) {
                bytes += values[end].utf8.count
                end += 1
            }
            var payload: [UInt8] = []
            payload.reserveCapacity(ChannelSegmentFormat.dataHeaderSize + 8 + 4 * (end - start) + bytes)
            appendDataHeader(to: &payload, perSampleTimes: false, count: end - start, first: nextOffset)
            ChannelSegmentFormat.appendLE(time, to: &payload)
            for i in start..<end { ChannelSegmentFormat.appendLE(UInt32(values[i].utf8.count), to: &payload) }
            for i in start..<end { payload.append(contentsOf: values[i].utf8) }
            try checkPayloadSize(payload.count)
            try payload.withUnsafeBytes { p in
                try emitRecord(prefix: p, body: UnsafeRawBufferPointer(start: nil, count: 0), samples: end - start)
            }
            start = end
        }
        return first
    }

    func appendArray(_ elements: UnsafeBufferPointer<Double>, time: Int64) throws -> Int64 {
        try sealPending()
        let offset = nextOffset
        var prefix = DataPrefix()
        prefix.header(typeCode: typeCode, perSampleTimes: false, count: 1, first: offset)
        prefix.append(time)
        prefix.append(UInt32(truncatingIfNeeded: elements.count))
        try checkPayloadSize(prefix.count + elements.count * 8, elements: elements.count)
        try prefix.withBytes { p in
            try emitRecord(prefix: p, body: UnsafeRawBufferPointer(elements), samples: 1)
        }
        return offset
    }

    func appendWaveform(t0: Int64, dt: Double, _ elements: UnsafeBufferPointer<Double>, time: Int64) throws
        -> Int64
    {
        try sealPending()
        let offset = nextOffset
        var prefix = DataPrefix()
        prefix.header(typeCode: typeCode, perSampleTimes: false, count: 1, first: offset)
        prefix.append(time)
        prefix.append(t0)
        prefix.append(dt.bitPattern)
        prefix.append(UInt32(truncatingIfNeeded: elements.count))
        try checkPayloadSize(prefix.count + elements.count * 8, elements: elements.count)
        try prefix.withBytes { p in
            try emitRecord(prefix: p, body: UnsafeRawBufferPointer(elements), samples: 1)
        }
        return offset
    }

    private func checkPayloadSize(_ bytes: Int, elements: Int? = nil) throws {
        guard bytes > Int(UInt32.max) else { return }
        let what = elements.map { "\($0) elements" } ?? "\(bytes) bytes"
        throw ChannelStoreError(
            .invalidValue,
            "one sample of channel \(descriptor.id.debugDescription) is too large (\(what)); a record holds at most 4 GiB")
    }

    // MARK: Records

    /// The fixed part of a data payload, on the stack.
    private struct DataPrefix {
        var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        var count = 0

        mutating func header(typeCode: UInt8, perSampleTimes: Bool, count n: Int, first: Int64) {
            append(UInt32(ChannelSegmentFormat.dataKind) | UInt32(typeCode) << 8 | UInt32(perSampleTimes ? 1 : 0) << 16)
            append(UInt32(n))
            append(first)
        }

        mutating func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self) }
            count += MemoryLayout<T>.size
        }

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
            var copy = storage
            return try withUnsafeBytes(of: &copy) { raw -> R in
                try body(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
            }
        }
    }

    private func appendDataHeader(to out: inout [UInt8], perSampleTimes: Bool, count: Int, first: Int64) {
        out += [ChannelSegmentFormat.dataKind, typeCode, perSampleTimes ? 1 : 0, 0]
        ChannelSegmentFormat.appendLE(UInt32(count), to: &out)
        ChannelSegmentFormat.appendLE(first, to: &out)
    }

    /// Frames `prefix + body` as one record: into the buffer, or straight to the file (with
    /// `writev`, no copy) when it is large. Advances `nextOffset` by `samples`.
    private func emitRecord(prefix: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer, samples: Int)
        throws
    {
        let payloadSize = prefix.count + body.count
        var crc = litmus_crc32c(0, prefix.baseAddress, prefix.count)
        if body.count > 0 { crc = litmus_crc32c(crc, body.baseAddress, body.count) }
        let recordSize = ChannelSegmentFormat.frameSize + payloadSize
        if recordSize >= limits.writeBufferBytes / 2 {
            try writeOut()
            var frame = (UInt32(payloadSize).littleEndian, crc.littleEndian)
            let first = nextOffset
            try withUnsafeBytes(of: &frame) { f in
                try ensureSegment(nextRecordSize: recordSize, firstOffset: first)
                try writeToFile([f, prefix, body])
            }
        } else {
            let p = buffer.reserve(recordSize)
            p.storeBytes(of: UInt32(payloadSize).littleEndian, as: UInt32.self)
            p.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
            (p + 8).copyMemory(from: prefix.baseAddress!, byteCount: prefix.count)
            if body.count > 0 { (p + 8 + prefix.count).copyMemory(from: body.baseAddress!, byteCount: body.count) }
            buffer.count += recordSize
        }
        nextOffset += Int64(samples)
        if buffer.count >= limits.writeBufferBytes { try writeOut() }
    }

    /// Seals the pending single appends into one record in the buffer.
    private func sealPending() throws {
        if descriptor.valueType == .string {
            guard !pendingStrings.isEmpty else { return }
            let n = pendingStrings.count
            var payload: [UInt8] = []
            payload.reserveCapacity(ChannelSegmentFormat.dataHeaderSize + 12 * n + pendingStringBytes)
            appendDataHeader(to: &payload, perSampleTimes: true, count: n, first: nextOffset - Int64(n))
            for i in 0..<n { ChannelSegmentFormat.appendLE(pendingTimes[i], to: &payload) }
            for s in pendingStrings { ChannelSegmentFormat.appendLE(UInt32(s.utf8.count), to: &payload) }
            for s in pendingStrings { payload.append(contentsOf: s.utf8) }
            pendingStrings.removeAll(keepingCapacity: true)
            pendingStringBytes = 0
            nextOffset -= Int64(n)  // emitRecord advances it again
            try payload.withUnsafeBytes { p in
                try emitRecord(prefix: p, body: UnsafeRawBufferPointer(start: nil, count: 0), samples: n)
            }
            return
        }
        guard pendingCount > 0 else { return }
        let n = pendingCount
        let width = descriptor.valueType == .bool ? 1 : 8
        let payloadSize = ChannelSegmentFormat.dataHeaderSize + 8 * n + width * n
        let recordSize = ChannelSegmentFormat.frameSize + payloadSize
        let p = buffer.reserve(recordSize)
        let payload = p + ChannelSegmentFormat.frameSize
        payload.storeBytes(
            of: (UInt32(ChannelSegmentFormat.dataKind) | UInt32(typeCode) << 8 | 1 << 16).littleEndian, as: UInt32.self)
        payload.storeBytes(of: UInt32(n).littleEndian, toByteOffset: 4, as: UInt32.self)
        payload.storeBytes(of: (nextOffset - Int64(n)).littleEndian, toByteOffset: 8, as: Int64.self)
        (payload + 16).copyMemory(from: pendingTimes, byteCount: 8 * n)
        if width == 8 {
            (payload + 16 + 8 * n).copyMemory(from: pendingBits, byteCount: 8 * n)
        } else {
            let values = (payload + 16 + 8 * n).assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { values[i] = UInt8(truncatingIfNeeded: pendingBits[i]) }
        }
        let crc = litmus_crc32c(0, payload, payloadSize)
        p.storeBytes(of: UInt32(payloadSize).littleEndian, as: UInt32.self)
        p.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        buffer.count += recordSize
        pendingCount = 0
        if buffer.count >= limits.writeBufferBytes { try writeOut() }
    }

    // MARK: Files

    /// Writes the buffered records to the segment, rotating where a record would take the
    /// segment past its size limit (records never straddle segments).
    private func writeOut() throws {
        defer { buffer.shrink(to: max(limits.writeBufferBytes, 1 << 16)) }
        let bytes = buffer.bytes
        var start = 0
        while start < bytes.count {
            let firstSize = ChannelSegmentFormat.frameSize + Int(ChannelSegmentFormat.load(bytes, start, as: UInt32.self))
            let firstOffset = ChannelSegmentFormat.load(bytes, start + 16, as: Int64.self)
            try ensureSegment(nextRecordSize: firstSize, firstOffset: firstOffset)
            let room = Int64(limits.maxSegmentBytes) - fileSize
            var end = start + firstSize
            if Int64(bytes.count - start) <= room {
                end = bytes.count
            } else {
                while end < bytes.count {
                    let size = ChannelSegmentFormat.frameSize + Int(ChannelSegmentFormat.load(bytes, end, as: UInt32.self))
                    if Int64(end - start + size) > room { break }
                    end += size
                }
            }
            try writeToFile([UnsafeRawBufferPointer(rebasing: bytes[start..<end])])
            start = end
        }
        buffer.count = 0
    }

    /// Rotates or opens a segment as needed before a record of `nextRecordSize` bytes whose
    /// first sample is `firstOffset`.
    private func ensureSegment(nextRecordSize: Int, firstOffset: Int64) throws {
        if file != nil, fileHasData {
            let full = fileSize + Int64(nextRecordSize) > Int64(limits.maxSegmentBytes)
            let old = System.monotonicNanoseconds() - fileCreated >= limits.maxSegmentAgeNanoseconds
            if full || old { try closeSegment() }
        }
        if file == nil { try openSegment(firstOffset: firstOffset) }
    }

    /// Creates the next segment and writes its header record.
    private func openSegment(firstOffset: Int64) throws {
        let number = segmentNumber + 1
        let path = directory + "/" + ChannelSegmentFormat.segmentName(number)
        let header = ChannelSegmentHeader(
            descriptor: descriptor, segment: number, firstSampleOffset: firstOffset, createdAt: .now(), hostname: hostname,
            pid: Int64(getpid()))
        let record = ChannelSegmentFormat.record([ChannelSegmentFormat.headerKind] + ChannelSegmentFormat.headerJSON(header))
        do {
            let fd = try System.openFile(path, flags: O_WRONLY | O_CREAT | O_EXCL | O_APPEND)
            let handle = ChannelFileHandle(fd: fd, path: path)
            try record.withUnsafeBytes { try System.writeAll(fd, $0, path: path) }
            file = handle
        } catch {
            throw ChannelStoreError(.io, "cannot create segment: \(error)", path: path)
        }
        segmentNumber = number
        fileSize = Int64(record.count)
        fileCreated = System.monotonicNanoseconds()
        fileHasData = false
        fileUnsynced = true
        directoryUnsynced = true
    }

    /// Syncs and closes the current segment. Syncing here, before the next segment gets data,
    /// keeps segments in order on disk: a crash never leaves a later segment with an earlier
    /// one's tail missing.
    private func closeSegment() throws {
        guard let file else { return }
        if fileUnsynced {
            do { try System.syncData(file.fd, path: file.path) } catch {
                throw ChannelStoreError(.io, "\(error)", path: file.path)
            }
        }
        self.file = nil
        fileUnsynced = false
    }

    private func writeToFile(_ parts: [UnsafeRawBufferPointer]) throws {
        guard let file else { return }
        let total = parts.reduce(0) { $0 + $1.count }
        do {
            if parts.count == 1 {
                try System.writeAll(file.fd, parts[0], path: file.path)
            } else {
                try System.writeAll(file.fd, parts, path: file.path)
            }
        } catch {
            // Cut a partly written record off, so the segment stays a clean sequence of records.
            try? System.truncateFile(file.fd, length: fileSize, path: file.path)
            throw ChannelStoreError(.io, "cannot write samples: \(error)", path: file.path)
        }
        fileSize += Int64(total)
        fileHasData = true
        fileUnsynced = true
    }

    // MARK: Flush and sync

    /// Writes everything buffered to the segment (no sync).
    func writeBuffered() throws {
        try sealPending()
        try writeOut()
    }

    /// Writes everything buffered and makes it durable.
    func sync() throws {
        for target in try prepareSync() {
            do { try target.sync() } catch { throw ChannelStoreError(.io, "\(error)", path: target.path) }
        }
    }

    /// Writes everything buffered; returns what needs syncing (to do outside the lock).
    func prepareSync() throws -> [SyncTarget] {
        try writeBuffered()
        var targets: [SyncTarget] = []
        if fileUnsynced, let file {
            targets.append(SyncTarget(handle: file, isDirectory: false))
            fileUnsynced = false
        }
        if directoryUnsynced, let directoryHandle {
            targets.append(SyncTarget(handle: directoryHandle, isDirectory: true))
            directoryUnsynced = false
        }
        return targets
    }

    /// Writes, syncs and closes the current segment (the directory stays locked).
    func close() throws {
        try sync()
        file = nil
    }

    /// Unlocks the channel directory, and removes it when no segment was ever written to it.
    func release() {
        file = nil
        if segmentNumber == 0 { System.removeEmptyDirectory(directory) }
        directoryHandle = nil
    }
}
