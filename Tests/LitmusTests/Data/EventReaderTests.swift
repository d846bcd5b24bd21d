import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

@Suite struct EventReaderTests {
    typealias S = EventSamples

    /// A closed log of `count` measurements; returns its path and the byte offset of each line.
    func writeLog(_ dir: String, session: UUID = S.session, count: Int) throws -> (path: String, lineStarts: [Int]) {
        let log = try EventLog(dataDir: dir, sessionID: session)
        for i in 0..<count { try log.emit(S.measurement(session: session, i)) }
        try log.close()
        let bytes = read(log.path)
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") && i + 1 < bytes.count { starts.append(i + 1) }
        #expect(starts.count == count)
        return (log.path, starts)
    }

    func read(_ path: String) -> [UInt8] {
        (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func aTornTailLosesNoCompleteEvent() throws {
        let dir = S.freshDirectory("reader-torn")
        let (path, starts) = try writeLog(dir, count: 10)
        let original = read(path)
        // Cut points: inside the last line, just before its newline, one byte into a line,
        // mid-file, and exactly on line boundaries (nothing torn).
        let cuts = [
            original.count - 1, original.count - 100, starts[9] + 1, starts[5] + 17, starts[3] - 2, starts[7], starts[1],
            original.count,
        ]
        for cut in cuts {
            try write(Array(original.prefix(cut)), to: path)
            let result = try EventReader.read(files: [path])
            // Line k ends where line k + 1 starts (the last one at the end of the file).
            let ends = Array(starts.dropFirst()) + [original.count]
            let complete = ends.filter { $0 <= cut }.count
            #expect(result.events.count == complete, "cut at \(cut)")
            #expect(result.events.map(\.sequence) == Array(0..<Int64(complete)))
            if ends.contains(cut) {
                #expect(result.problems.isEmpty, "cut at a line boundary \(cut): \(result.problems)")
            } else {
                #expect(result.problems.count == 1, "cut at \(cut): \(result.problems)")
                let problem = try #require(result.problems.first)
                #expect(problem.kind == .tornTail)
                #expect(problem.offset == Int64(starts[complete]))
                #expect(problem.line == complete + 1)
                #expect(problem.length == cut - starts[complete])
                #expect(problem.path == path)
            }
        }
    }

    @Test func badLinesAtTheEndAreATornTail() throws {
        let dir = S.freshDirectory("reader-badend")
        let (path, starts) = try writeLog(dir, count: 6)
        var bytes = read(path)
        bytes[starts[5] + 40] ^= 0x20  // last line damaged, newline intact
        bytes += [UInt8](repeating: 0, count: 4096)  // and zeros, as a crash on some file systems leaves
        try write(bytes, to: path)
        let result = try EventReader.read(files: [path])
        #expect(result.events.count == 5)
        #expect(result.problems.map(\.kind) == [.tornTail])
        #expect(result.problems.first?.offset == Int64(starts[5]))
        #expect(result.problems.first?.line == 6)
    }

    @Test func midFileCorruptionIsLocatedAndSkipped() throws {
        let dir = S.freshDirectory("reader-corrupt")
        let (path, starts) = try writeLog(dir, count: 9)
        var bytes = read(path)
        bytes[starts[4] + 123] ^= 0x01  // the middle line
        try write(bytes, to: path)
        let result = try EventReader.read(files: [path])
        #expect(result.events.map(\.sequence) == [0, 1, 2, 3, 5, 6, 7, 8], "later lines still read")
        let corrupted = try #require(result.problems.first { $0.kind == .corrupted })
        #expect(corrupted.path == path && corrupted.line == 5 && corrupted.offset == Int64(starts[4]))
        #expect(corrupted.length == starts[5] - starts[4])
        #expect(corrupted.description.hasPrefix("\(path):5 (byte \(starts[4])): corrupted"))
        let gap = try #require(result.problems.first { $0.kind == .sequenceGap })
        #expect(gap.line == 6 && gap.message.contains("from sequence 3 to 5"))
        #expect(result.problems.count == 2)
    }

    @Test func aLineWithAGoodChecksumThatDoesNotDecodeNamesTheField() throws {
        let dir = S.freshDirectory("reader-undecodable")
        let (path, starts) = try writeLog(dir, count: 4)
        let bytes = read(path)
        let line2 = String(decoding: bytes[starts[2]..<(starts[3] - 1)], as: UTF8.self)
        let object = String(line2.dropLast(18)) + "}"
        let broken = S.sealed(object.replacingOccurrences(of: #""outcome":"passed""#, with: #""outcome":"great""#))
        try write(Array(bytes[..<starts[2]]) + broken + [0x0A] + Array(bytes[starts[3]...]), to: path)
        let result = try EventReader.read(files: [path])
        #expect(result.events.map(\.sequence) == [0, 1, 3])
        let problem = try #require(result.problems.first { $0.kind == .undecodable })
        #expect(problem.field == "outcome" && problem.line == 3 && problem.offset == Int64(starts[2]))
        #expect(result.problems.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.sequenceGap, .undecodable])
    }

    @Test func aMissingLineIsASequenceGap() throws {
        let dir = S.freshDirectory("reader-gap")
        let (path, starts) = try writeLog(dir, count: 5)
        let bytes = read(path)
        try write(Array(bytes[..<starts[1]]) + Array(bytes[starts[3]...]), to: path)
        let result = try EventReader.read(files: [path])
        #expect(result.events.map(\.sequence) == [0, 3, 4])
        #expect(result.problems.count == 1)
        let gap = try #require(result.problems.first)
        #expect(gap.kind == .sequenceGap && gap.line == 2 && gap.writer != nil)
        #expect(gap.message.contains("2 event(s) missing"))
    }

    @Test func twoWritersMergeInAStableOrder() throws {
        let dir = S.freshDirectory("reader-merge")
        let store = EventStore(dataDir: dir)
        let session = UUID()
        let a = try store.eventLog(sessionID: session)
        let b = try store.eventLog(sessionID: session)
        let t0 = Timestamp.now().microseconds
        // Interleaved emits; b's events happen between a's.
        for i in 0..<20 {
            try a.emit(S.measurement(session: session, 2 * i, at: Timestamp(microseconds: t0 + Int64(20 * i))))
            try b.emit(S.measurement(session: session, 2 * i + 1, at: Timestamp(microseconds: t0 + Int64(20 * i + 10))))
        }
        // Same time on both writers: ordered by writer id.
        try a.emit(S.measurement(session: session, 100, at: Timestamp(microseconds: t0 + 1000)))
        try b.emit(S.measurement(session: session, 101, at: Timestamp(microseconds: t0 + 1000)))
        // A writer whose events were created out of time order keeps its sequence order.
        try a.emit(S.measurement(session: session, 200, at: Timestamp(microseconds: t0 + 5000)))
        try a.emit(S.measurement(session: session, 201, at: Timestamp(microseconds: t0 + 2000)))
        try b.emit(S.measurement(session: session, 202, at: Timestamp(microseconds: t0 + 3000)))
        try a.close()
        try b.close()

        let result = try store.events(sessionID: session)
        #expect(result.problems.isEmpty)
        #expect(Set(result.files) == [a.path, b.path])
        let names = result.events.map { event -> String in
            guard case .measurement(let m) = event.body else { return "?" }
            return m.name
        }
        let sameTime = a.writer < b.writer ? ["m100", "m101"] : ["m101", "m100"]
        // m202 (b, t0+3000) comes before a's m200 (t0+5000), and a's m201 (t0+2000) stays after m200.
        #expect(names == (0..<40).map { "m\($0)" } + sameTime + ["m202", "m200", "m201"])
        // Per writer, sequence order holds.
        for w in [a.writer, b.writer] {
            let seqs = result.events.filter { $0.writer == w }.map(\.sequence)
            #expect(seqs == seqs.sorted() && seqs.first == 0)
        }
        // Stable: reading again gives the same order.
        #expect(try store.events(sessionID: session).events.map(\.id) == result.events.map(\.id))
    }

    @Test func mergeKeepsEachWritersOrderWhenTimesGoBack() {
        func e(_ writer: String, _ seq: Int64, _ at: Int64) -> Event {
            var event = Event(sessionID: S.session, .record(Record(key: "\(writer)\(seq)", value: .null)), occurredAt: Timestamp(microseconds: at))
            event.writer = writer
            event.sequence = seq
            return event
        }
        let a = [e("a", 0, 10), e("a", 1, 50), e("a", 2, 20), e("a", 3, 60)]
        let b = [e("b", 0, 15), e("b", 1, 30), e("b", 2, 55)]
        let merged = EventReader.merge([a, b]).map { "\($0.writer)\($0.sequence)" }
        #expect(merged == ["a0", "b0", "b1", "a1", "a2", "b2", "a3"])
    }

    @Test func readsAcrossChunkBoundariesAndLongLines() throws {
        let dir = S.freshDirectory("reader-chunks")
        let log = try EventLog(dataDir: dir, sessionID: S.session)
        for i in 0..<50 { try log.emit(S.measurement(i)) }
        let long = String(repeating: "x", count: 300_000)
        try log.emit(Event(sessionID: S.session, .record(Record(key: "long", value: .string(long)))))
        for i in 51..<60 { try log.emit(S.measurement(i)) }
        try log.close()
        let reference = try EventReader.read(files: [log.path])
        #expect(reference.problems.isEmpty && reference.events.count == 60)
        for chunk in [64, 100, 531, 4096, 65536] {
            let result = try EventReader.read(files: [log.path], chunkSize: chunk)
            #expect(result.problems.isEmpty, "chunk \(chunk)")
            #expect(result.events.map(\.id) == reference.events.map(\.id), "chunk \(chunk)")
        }
        guard case .record(let r) = reference.events[50].body else {
            Issue.record("not the long record")
            return
        }
        #expect(r.value == .string(long))
    }

    @Test func sessionsAreListedWithTheirDatesAndFiles() throws {
        let dir = S.freshDirectory("reader-sessions")
        let store = EventStore(dataDir: dir)
        let s1 = UUID(), s2 = UUID(), old = UUID()
        let l1 = try store.eventLog(sessionID: s1)
        let l2 = try store.eventLog(sessionID: s2)
        let l3 = try store.eventLog(sessionID: s2)
        for log in [l1, l2, l3] {
            try log.emit(S.measurement(session: log.sessionID, 0))
            try log.close()
        }
        // A session from an earlier day, and things that are not sessions.
        let oldDirectory = EventStore.sessionDirectory(dataDir: dir, date: "2020-01-02", sessionID: old)
        try FileManager.default.createDirectory(atPath: oldDirectory, withIntermediateDirectories: true)
        try Data(S.lineBytes(S.measurement(session: old, 0))).write(to: URL(fileURLWithPath: "\(oldDirectory)/w.jsonl"))
        try FileManager.default.createDirectory(
            atPath: "\(dir)/events/date=2020-01-02/session=not-a-uuid", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir)/events/misc", withIntermediateDirectories: true)

        let sessions = store.sessions()
        #expect(sessions.count == 3)
        #expect(sessions.first?.id == old && sessions.first?.dates == ["2020-01-02"])
        let second = try #require(sessions.first { $0.id == s2 })
        #expect(second.files == [l2.path, l3.path].sorted())
        #expect(second.dates == [l2.createdAt.date])
        #expect(Set(EventReader.sessions(dataDir: dir)) == [s1, s2, old])
        #expect(try EventReader.events(dataDir: dir, sessionID: old).events.count == 1)
        let none = try store.events(sessionID: UUID())
        #expect(none.events.isEmpty && none.problems.isEmpty && none.files.isEmpty)
        #expect(EventReader.sessions(dataDir: "\(dir)/nowhere").isEmpty)
    }

    @Test func tailFollowsALiveSession() throws {
        let dir = S.freshDirectory("reader-tail")
        let store = EventStore(dataDir: dir)
        let session = UUID()
        let log = try store.eventLog(sessionID: session)
        var position = EventReader.TailPosition.start
        var batch = try store.tail(sessionID: session, from: position)
        #expect(batch.events.isEmpty && batch.problems.isEmpty)
        position = batch.position

        for i in 0..<5 { try log.emit(S.measurement(session: session, i)) }
        try log.flush()
        batch = try store.tail(sessionID: session, from: position)
        #expect(batch.events.map(\.sequence) == [0, 1, 2, 3, 4])
        position = batch.position
        batch = try store.tail(sessionID: session, from: position)
        #expect(batch.events.isEmpty, "nothing new")
        #expect(batch.position == position)

        for i in 5..<8 { try log.emit(S.measurement(session: session, i)) }
        try log.flush()
        batch = try store.tail(sessionID: session, from: position)
        #expect(batch.events.map(\.sequence) == [5, 6, 7])
        position = batch.position

        // Another writer, alive, in the middle of a line: the partial line waits.
        let other = EventStore.sessionDirectory(dataDir: dir, date: log.createdAt.date, sessionID: session) + "/other.jsonl"
        let fd = open(other, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        #expect(flock(fd, LOCK_EX) == 0)
        var otherEvent = S.measurement(session: session, 50)
        otherEvent.writer = "other"
        otherEvent.sequence = 0
        let line = S.lineBytes(otherEvent)
        _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, 100) }
        batch = try store.tail(sessionID: session, from: position)
        #expect(batch.events.isEmpty && batch.problems.isEmpty, "\(batch.problems)")
        position = batch.position
        _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + 100, line.count - 100) }
        batch = try store.tail(sessionID: session, from: position)
        #expect(batch.events.count == 1)
        position = batch.position

        // The other writer dies mid-line: once its lock is free, the rest is a torn tail.
        _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, 60) }
        batch = try store.tail(sessionID: session, from: position)
        #expect(batch.problems.isEmpty)
        position = batch.position
        close(fd)
        batch = try store.tail(sessionID: session, from: position)
        #expect(batch.problems.map(\.kind) == [.tornTail])
        #expect(batch.problems.first?.path == other)
        position = batch.position
        batch = try store.tail(sessionID: session, from: position)
        #expect(batch.problems.isEmpty, "reported once")

        try log.emit(S.measurement(session: session, 8))
        try log.close()
        batch = try store.tail(sessionID: session, from: batch.position)
        #expect(batch.events.map(\.sequence) == [8])
    }

    @Test func isWriterAliveFollowsTheLock() throws {
        let dir = S.freshDirectory("reader-alive")
        let log = try EventLog(dataDir: dir, sessionID: S.session)
        #expect(EventReader.isWriterAlive(path: log.path))
        #expect(EventReader.isWriterAlive(path: log.path), "a probe does not take the lock away")
        try log.close()
        #expect(!EventReader.isWriterAlive(path: log.path))
        #expect(!EventReader.isWriterAlive(path: "\(dir)/missing.jsonl"))
    }
}
