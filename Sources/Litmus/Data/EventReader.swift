import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the event files of a data directory (see ``EventStore`` for the layout): lists
/// sessions, reads a session's events merged across its writers, and follows a live session.
///
/// ```swift
/// let result = try EventReader(dataDir: "data").events(sessionID: session)
/// for problem in result.problems { print(problem) }    // file:line (byte offset): kind: ...
/// for event in result.events { ... }
/// ```
///
/// Every line's CRC is checked. A bad line is skipped and reported with its location, and
/// reading goes on: the reader loses no good event to a bad one. Files are read in large
/// chunks (1 MiB), never a system call per line.
public struct EventReader: Sendable {
    public let dataDir: String

    public init(dataDir: String) {
        self.dataDir = dataDir
    }

    /// A session found on disk.
    public struct Session: Sendable, Equatable {
        public var id: UUID
        /// The date partitions holding its files (`YYYY-MM-DD`), sorted.
        public var dates: [String]
        /// Its event files, sorted.
        public var files: [String]
    }

    /// A session's events and the problems found reading them.
    public struct ReadResult: Sendable {
        /// Merged across writers in a stable order: by `occurredAt`, then `writer`, then
        /// `sequence`, except that each writer's events stay in sequence order.
        public var events: [Event]
        /// Sorted by file, then offset.
        public var problems: [EventLogProblem]
        /// The files read.
        public var files: [String]
    }

    /// Where a follower (``tail(sessionID:from:)``) is in each file of a session.
    public struct TailPosition: Sendable, Equatable {
        /// How far a file has been read: the byte offset after the last line taken, and that
        /// line's number.
        public struct Cursor: Sendable, Equatable {
            public var offset: Int64
            public var line: Int
            public init(offset: Int64, line: Int) {
                self.offset = offset
                self.line = line
            }
        }
        public var files: [String: Cursor]
        /// The last sequence seen per writer (for gap detection across calls).
        public var lastSequence: [String: Int64]

        public init(files: [String: Cursor] = [:], lastSequence: [String: Int64] = [:]) {
            self.files = files
            self.lastSequence = lastSequence
        }

        /// Nothing read yet.
        public static let start = TailPosition()
    }

    /// What ``tail(sessionID:from:)`` found.
    public struct TailResult: Sendable {
        /// New events, ordered like ``ReadResult/events`` within this batch.
        public var events: [Event]
        public var problems: [EventLogProblem]
        /// Pass it to the next call.
        public var position: TailPosition
    }

    // MARK: Listing

    /// The sessions with event files, by first date then id.
    public func sessions() -> [Session] {
        let root = EventStore.eventsDirectory(dataDir: dataDir)
        var found: [UUID: Session] = [:]
        for dateEntry in System.directoryEntries(root) where dateEntry.hasPrefix("date=") {
            let date = String(dateEntry.dropFirst(5))
            let dateDirectory = "\(root)/\(dateEntry)"
            for sessionEntry in System.directoryEntries(dateDirectory) where sessionEntry.hasPrefix("session=") {
                guard let id = UUID(uuidString: String(sessionEntry.dropFirst(8))) else { continue }
                let directory = "\(dateDirectory)/\(sessionEntry)"
                let files = System.directoryEntries(directory).filter { $0.hasSuffix(".jsonl") }.map { "\(directory)/\($0)" }
                var session = found[id] ?? Session(id: id, dates: [], files: [])
                if !session.dates.contains(date) { session.dates.append(date) }
                session.files += files
                found[id] = session
            }
        }
        return found.values.map { s in
            var s = s
            s.dates.sort()
            s.files.sort()
            return s
        }.sorted { a, b in
            a.dates.first! != b.dates.first! ? a.dates.first! < b.dates.first! : a.id.uuidString < b.id.uuidString
        }
    }

    /// The ids of the sessions under `dataDir`, by first date then id.
    public static func sessions(dataDir: String) -> [UUID] {
        EventReader(dataDir: dataDir).sessions().map(\.id)
    }

    /// A session's event files, sorted. Looks only at the session's own directories (cheap
    /// enough to call on every poll of a follower).
    public func files(sessionID: UUID) -> [String] {
        let root = EventStore.eventsDirectory(dataDir: dataDir)
        let names = Set(["session=\(sessionID.uuidString.lowercased())", "session=\(sessionID.uuidString)"])
        var files: [String] = []
        for dateEntry in System.directoryEntries(root) where dateEntry.hasPrefix("date=") {
            for name in names {
                let directory = "\(root)/\(dateEntry)/\(name)"
                guard System.fileKind(directory) == .directory else { continue }
                files += System.directoryEntries(directory).filter { $0.hasSuffix(".jsonl") }.map { "\(directory)/\($0)" }
            }
        }
        return files.sorted()
    }

    /// Whether a live ``EventLog`` holds the file (its `flock` is taken).
    public static func isWriterAlive(path: String) -> Bool {
        guard let fd = try? System.openFile(path, flags: O_RDONLY) else { return false }
        defer { System.closeFile(fd) }
        // A shared lock conflicts only with the writer's exclusive one, not with other probes.
        return (try? System.tryLockShared(fd, path: path)) == false
    }

    // MARK: Reading

    /// Every event of a session, from all its files and writers, merged; with the problems
    /// found (a torn tail after a crash is expected and harmless).
    ///
    /// - Throws: ``EventLogError`` `.readFailed` when a file cannot be read.
    public func events(sessionID: UUID) throws -> ReadResult {
        try EventReader.read(files: files(sessionID: sessionID))
    }

    /// ``events(sessionID:)`` of the data directory `dataDir`.
    public static func events(dataDir: String, sessionID: UUID) throws -> ReadResult {
        try EventReader(dataDir: dataDir).events(sessionID: sessionID)
    }

    /// The events of the given files, merged as for a session.
    public static func read(files: [String]) throws -> ReadResult {
        try read(files: files, chunkSize: defaultChunkSize)
    }

    static let defaultChunkSize = 1 << 20

    static func read(files: [String], chunkSize: Int) throws -> ReadResult {
        var scans: [FileScan] = []
        for path in files {
            scans.append(try scanFile(path, from: TailPosition.Cursor(offset: 0, line: 0), final: true, chunkSize: chunkSize))
        }
        var lastSequence: [String: Int64] = [:]
        let (events, problems) = assemble(scans, lastSequence: &lastSequence)
        return ReadResult(events: events, problems: problems, files: files)
    }

    /// The events appended to a session's files since `position` (files that appeared since
    /// are read from their start). An incomplete last line is left for the next call, and so
    /// are bad lines at the end of a live writer's file (the writer may be mid-write); once
    /// the writer is gone (its lock is free) they are reported as a torn tail.
    ///
    /// ```swift
    /// var position = EventReader.TailPosition.start
    /// while following {
    ///     let batch = try reader.tail(sessionID: id, from: position)
    ///     batch.events.forEach { print($0.type) }
    ///     position = batch.position
    ///     Thread.sleep(forTimeInterval: 0.2)
    /// }
    /// ```
    public func tail(sessionID: UUID, from position: TailPosition = .start) throws -> TailResult {
        try tail(sessionID: sessionID, from: position, chunkSize: EventReader.defaultChunkSize)
    }

    func tail(sessionID: UUID, from position: TailPosition, chunkSize: Int) throws -> TailResult {
        var position = position
        var scans: [FileScan] = []
        for path in files(sessionID: sessionID) {
            let cursor = position.files[path] ?? TailPosition.Cursor(offset: 0, line: 0)
            var scan = try EventReader.scanFile(path, from: cursor, final: false, chunkSize: chunkSize)
            if scan.end.offset < scan.bytesEnd && !EventReader.isWriterAlive(path: path) {
                // The writer is gone: the file will not grow, so what is left is a torn tail.
                scan = try EventReader.scanFile(path, from: cursor, final: true, chunkSize: chunkSize)
            }
            position.files[path] = scan.end
            scans.append(scan)
        }
        let (events, problems) = EventReader.assemble(scans, lastSequence: &position.lastSequence)
        return TailResult(events: events, problems: problems, position: position)
    }

    // MARK: Scanning one file

    /// The lines of one file from a cursor: its events, problems, and how far it was decided.
    struct FileScan {
        let path: String
        var events: [Event] = []
        /// (line, offset) of each event, for locating sequence gaps.
        var locations: [(line: Int, offset: Int64)] = []
        var problems: [EventLogProblem] = []
        /// Bad lines not yet followed by a good one: corrupted if one follows, else a torn tail.
        var undecided: [(line: Int, offset: Int64, length: Int, preview: String, runID: UUID?)] = []
        /// After the last line taken.
        var end: TailPosition.Cursor
        /// The file offset after the last byte read.
        var bytesEnd: Int64
        /// Lines that ended with a CR before their LF, and where the first one is.
        var crLines = 0
        var firstCRLine: (line: Int, offset: Int64)?
        /// The file's lines end with a CR alone (no LF at all).
        var crOnly = false

        init(path: String, from cursor: TailPosition.Cursor) {
            self.path = path
            end = cursor
            bytesEnd = cursor.offset
        }

        mutating func line(_ bytes: UnsafeBufferPointer<UInt8>, number: Int, offset: Int64) {
            let length = bytes.count + 1
            // A writer never puts a raw CR in a line (JSON escapes it), so a CR before the LF
            // is a converted line ending: the line is what comes before it.
            var bytes = bytes
            if bytes.last == 0x0D {
                bytes = UnsafeBufferPointer(rebasing: bytes.dropLast())
                crLines += 1
                if firstCRLine == nil { firstCRLine = (number, offset) }
            }
            guard EventCoding.checksumMatches(bytes) else {
                undecided.append((number, offset, length, EventReader.preview(bytes), EventReader.runID(in: bytes)))
                return
            }
            for bad in undecided {
                problems.append(
                    EventLogProblem(
                        .corrupted, path: path, line: bad.line, offset: bad.offset, length: bad.length, runID: bad.runID,
                        message: "bad checksum in a \(bad.length)-byte line (\(bad.preview)); skipped, the lines after it are read"))
            }
            undecided.removeAll()
            do {
                events.append(try EventCoding.decode(line: bytes))
                locations.append((number, offset))
            } catch let error as EventDecodingError {
                problems.append(
                    EventLogProblem(
                        .undecodable, path: path, line: number, offset: offset, length: length, field: error.field,
                        runID: EventReader.runID(in: bytes),
                        message: "checksum is right but the event does not decode: \(error); skipped"))
            } catch {
                problems.append(
                    EventLogProblem(
                        .undecodable, path: path, line: number, offset: offset, length: length,
                        runID: EventReader.runID(in: bytes),
                        message: "checksum is right but the event does not decode: \(error); skipped"))
            }
            end = TailPosition.Cursor(offset: offset + Int64(length), line: number)
        }

        /// At the end of the bytes read. `final`: the file will not grow, so bad lines and an
        /// incomplete line at the end are a torn tail.
        mutating func finish(partialLineBytes: Int, at partialOffset: Int64, lines: Int, final: Bool) {
            bytesEnd = partialOffset + Int64(partialLineBytes)
            if let first = firstCRLine ?? (crOnly ? (line: 1, offset: 0) : nil) {
                let ending = crOnly ? "CR alone" : "CR LF"
                problems.append(
                    EventLogProblem(
                        .lineEndings, path: path, line: first.line, offset: first.offset, length: 0,
                        message: "lines end with \(ending) instead of LF (\(crOnly ? "the file's" : "\(crLines)") lines), as a text "
                            + "conversion leaves them; read with the CR removed, nothing lost. Fix: convert the file back "
                            + "(`\(crOnly ? "tr '\\r' '\\n'" : "dos2unix")`) or stop the tool that converts it"))
            }
            guard final else { return }
            let start = undecided.first.map { (line: $0.line, offset: $0.offset) } ?? (line: lines + 1, offset: partialOffset)
            if bytesEnd > start.offset {
                var what: [String] = []
                if !undecided.isEmpty { what.append("\(undecided.count) line(s) with a bad checksum") }
                if partialLineBytes > 0 { what.append("an incomplete line of \(partialLineBytes) bytes without a newline") }
                problems.append(
                    EventLogProblem(
                        .tornTail, path: path, line: start.line, offset: start.offset, length: Int(bytesEnd - start.offset),
                        runID: undecided.lazy.compactMap(\.runID).first,
                        message: "the file ends with \(what.joined(separator: " and ")), as a crash mid-write leaves it; skipped"))
            }
            undecided.removeAll()
            end = TailPosition.Cursor(offset: bytesEnd, line: lines + (partialLineBytes > 0 ? 1 : 0))
        }
    }

    /// Reads `path` from `cursor` to its end in chunks, line by line.
    static func scanFile(_ path: String, from cursor: TailPosition.Cursor, final: Bool, chunkSize: Int) throws
        -> FileScan
    {
        let fd: Int32
        do {
            fd = try System.openFile(path, flags: O_RDONLY)
        } catch {
            throw EventLogError(.readFailed, path: path, "cannot open: \(error)", errorNumber: error.errno)
        }
        defer { System.closeFile(fd) }
        var scan = FileScan(path: path, from: cursor)
        var buffer = [UInt8](repeating: 0, count: max(chunkSize, 64))
        var bufferOffset = cursor.offset  // file offset of buffer[0]
        var filled = 0
        var lineNumber = cursor.line
        // LF, or CR for a file whose line endings were converted to CR alone (a writer never
        // puts a raw CR in a line, so a CR where no LF is found ends a line).
        var terminator: Int32 = 0x0A
        /// Takes the complete lines in buffer[..<filled]; returns the bytes consumed.
        func consumeLines() -> Int {
            var consumed = 0
            buffer.withUnsafeBufferPointer { bytes in
                let base = bytes.baseAddress!
                while consumed < filled, let newline = memchr(base + consumed, terminator, filled - consumed) {
                    let end = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(newline))
                    lineNumber += 1
                    scan.line(
                        UnsafeBufferPointer(rebasing: bytes[consumed..<end]), number: lineNumber,
                        offset: bufferOffset + Int64(consumed))
                    consumed = end + 1
                }
            }
            return consumed
        }
        /// With no LF in the bytes held (a full buffer, or the end of the file): a CR that ends
        /// what looks like a line (`{` … `}`) means CR line endings; switches to them.
        func switchToCR() -> Bool {
            guard terminator == 0x0A, filled > 1,
                buffer.withUnsafeBufferPointer({ bytes in
                    guard bytes[0] == UInt8(ascii: "{"), let cr = memchr(bytes.baseAddress!, 0x0D, filled) else { return false }
                    let at = UnsafeRawPointer(bytes.baseAddress!).distance(to: UnsafeRawPointer(cr))
                    return at > 0 && bytes[at - 1] == UInt8(ascii: "}")
                })
            else { return false }
            terminator = 0x0D
            scan.crOnly = true
            return true
        }
        func drop(_ consumed: Int) {
            guard consumed > 0 else { return }
            buffer.withUnsafeMutableBytes { raw in
                _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, filled - consumed)
            }
            filled -= consumed
            bufferOffset += Int64(consumed)
        }
        while true {
            // A line longer than the buffer: grow it.
            if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { raw in
                    try System.readSome(
                        fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]), at: bufferOffset + Int64(filled),
                        path: path)
                }
            } catch {
                throw EventLogError(.readFailed, path: path, "cannot read: \(error)", errorNumber: (error as? SystemCallError)?.errno ?? 0)
            }
            if n == 0 {
                if final && switchToCR() { drop(consumeLines()) }
                break
            }
            filled += n
            var consumed = consumeLines()
            if consumed == 0 && filled == buffer.count && switchToCR() { consumed = consumeLines() }
            drop(consumed)
        }
        scan.finish(partialLineBytes: filled, at: bufferOffset, lines: lineNumber, final: final)
        return scan
    }

    /// The run id a damaged line names (`"run_id":"<uuid>"`), when it is still readable.
    static func runID(in bytes: UnsafeBufferPointer<UInt8>) -> UUID? {
        let key = Array(#""run_id":""#.utf8)
        guard bytes.count >= key.count + 36 else { return nil }
        var i = 0
        while i + key.count + 36 <= bytes.count {
            if bytes[i] == key[0] && bytes[i..<(i + key.count)].elementsEqual(key) {
                let start = i + key.count
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(start + 36)]), as: UTF8.self)
                return UUID(uuidString: text)
            }
            i += 1
        }
        return nil
    }

    /// The first bytes of a bad line, printable, for messages.
    static func preview(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var text = ""
        for b in bytes.prefix(48) {
            text += (0x20..<0x7F).contains(b) ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16)
        }
        return "starts with \"\(text)\(bytes.count > 48 ? "..." : "")\""
    }

    // MARK: Merging

    /// Checks each writer's sequence (from `lastSequence`, which it updates), drops repeated
    /// lines (an event with the id, writer and sequence of one already read: reported as
    /// `.duplicate`), tells which run each problem concerns, and merges the writers' events
    /// by (occurredAt, writer, sequence), keeping each writer's order.
    static func assemble(_ scans: [FileScan], lastSequence: inout [String: Int64]) -> ([Event], [EventLogProblem]) {
        var problems: [EventLogProblem] = []
        var byWriter: [String: [Event]] = [:]
        /// Writers whose kept events are not in increasing sequence order (an event that went
        /// back was kept), with their events' positions by sequence.
        var unordered: [String: [Int64: [Int]]] = [:]
        /// The kept event of `writer` with `sequence`, if any.
        func kept(_ writer: String, _ sequence: Int64) -> Event? {
            guard let events = byWriter[writer] else { return nil }
            if let positions = unordered[writer] { return positions[sequence].flatMap { $0.first.map { events[$0] } } }
            var low = 0, high = events.count
            while low < high {
                let mid = (low + high) / 2
                if events[mid].sequence < sequence { low = mid + 1 } else { high = mid }
            }
            return low < events.count && events[low].sequence == sequence ? events[low] : nil
        }
        for scan in scans {
            var fileProblems = scan.problems
            for (event, location) in zip(scan.events, scan.locations) {
                let last = lastSequence[event.writer] ?? -1
                if event.sequence <= last, let first = kept(event.writer, event.sequence), first.id == event.id {
                    fileProblems.append(
                        EventLogProblem(
                            .duplicate, path: scan.path, line: location.line, offset: location.offset, length: 0,
                            writer: event.writer, runID: event.runID,
                            message: "repeats event \(event.id.uuidString.lowercased()) (writer \(event.writer), sequence "
                                + "\(event.sequence), \(event.type)) already read; skipped, it counts once"))
                    continue
                }
                if event.sequence != last + 1 {
                    let missing = max(0, event.sequence - last - 1)
                    let message =
                        event.sequence > last + 1
                        ? "writer \(event.writer) jumps from sequence \(last) to \(event.sequence): \(missing) event(s) missing"
                        : "writer \(event.writer) goes back from sequence \(last) to \(event.sequence): events out of order (kept)"
                    fileProblems.append(
                        EventLogProblem(
                            .sequenceGap, path: scan.path, line: location.line, offset: location.offset, length: 0,
                            writer: event.writer, runID: event.runID, missingEvents: missing, message: message))
                    if event.sequence <= last && unordered[event.writer] == nil {
                        var positions: [Int64: [Int]] = [:]
                        for (i, e) in (byWriter[event.writer] ?? []).enumerated() { positions[e.sequence, default: []].append(i) }
                        unordered[event.writer] = positions
                    }
                }
                lastSequence[event.writer] = event.sequence
                if !unordered.isEmpty && unordered[event.writer] != nil {
                    unordered[event.writer]![event.sequence, default: []].append(byWriter[event.writer]?.count ?? 0)
                }
                byWriter[event.writer, default: []].append(event)
            }
            attribute(&fileProblems, in: scan)
            problems += fileProblems
        }
        problems.sort { ($0.path, $0.offset, $0.line) < ($1.path, $1.offset, $1.line) }
        return (merge(byWriter.sorted { $0.key < $1.key }.map(\.value)), problems)
    }

    /// Gives each problem of one file that names no run the nearest run around it in the file:
    /// a run whose events surround it, else the run of the next event (bad bytes before a run
    /// are most likely its start), else of the last event before it. File-wide problems (line
    /// endings) concern no run.
    static func attribute(_ problems: inout [EventLogProblem], in scan: FileScan) {
        guard problems.contains(where: { $0.runID == nil && $0.kind != .lineEndings }) else { return }
        // The runs' spans in the file: first and last offset of their events.
        var spans: [UUID: (first: Int64, last: Int64)] = [:]
        for (event, location) in zip(scan.events, scan.locations) {
            guard let run = event.runID else { continue }
            if let span = spans[run] {
                spans[run] = (span.first, max(span.last, location.offset))
            } else {
                spans[run] = (location.offset, location.offset)
            }
        }
        guard !spans.isEmpty else { return }
        for i in problems.indices where problems[i].runID == nil && problems[i].kind != .lineEndings {
            let at = problems[i].offset
            let inside = spans.filter { $0.value.first < at && at < $0.value.last }.min { $0.value.first > $1.value.first }
            let next = spans.filter { $0.value.first > at }.min { $0.value.first < $1.value.first }
            let previous = spans.filter { $0.value.last < at }.max { $0.value.last < $1.value.last }
            problems[i].runID = (inside ?? next ?? previous)?.key
        }
    }

    /// A k-way merge of per-writer lists (each in sequence order) by (occurredAt, writer,
    /// sequence): stable, and never reorders one writer's events.
    static func merge(_ lists: [[Event]]) -> [Event] {
        if lists.count == 1 { return lists[0] }
        var out: [Event] = []
        out.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        var heads = [Int](repeating: 0, count: lists.count)
        // A binary min-heap of list indices, keyed by each list's head event.
        var heap: [Int] = []
        func less(_ a: Int, _ b: Int) -> Bool {
            let x = lists[a][heads[a]], y = lists[b][heads[b]]
            if x.occurredAt != y.occurredAt { return x.occurredAt < y.occurredAt }
            if x.writer != y.writer { return x.writer < y.writer }
            if x.sequence != y.sequence { return x.sequence < y.sequence }
            return a < b
        }
        func siftUp(_ i: Int) {
            var i = i
            while i > 0 {
                let parent = (i - 1) / 2
                guard less(heap[i], heap[parent]) else { return }
                heap.swapAt(i, parent)
                i = parent
            }
        }
        func siftDown(_ i: Int) {
            var i = i
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && less(heap[l], heap[m]) { m = l }
                if r < heap.count && less(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for (i, list) in lists.enumerated() where !list.isEmpty {
            heap.append(i)
            siftUp(heap.count - 1)
        }
        while let top = heap.first {
            out.append(lists[top][heads[top]])
            heads[top] += 1
            if heads[top] == lists[top].count {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            if !heap.isEmpty { siftDown(0) }
        }
        return out
    }
}

extension Error {
    /// The `errno` of a ``SystemCallError``, else 0.
    fileprivate var errno: Int32 { (self as? SystemCallError)?.errno ?? 0 }
}
