import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// A thread-safe list, for observers and callbacks.
final class Collected<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.withLock { items.append(item) } }
    var all: [T] { lock.withLock { items } }
    var last: T? { lock.withLock { items.last } }
}

@Suite struct EventLogTests {
    typealias S = EventSamples

    func fileBytes(_ path: String) -> [UInt8] {
        (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
    }

    /// Waits up to `seconds` for `condition`.
    func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(2000)
        }
        return condition()
    }

    @Test func fileLayoutWriterIDAndLock() throws {
        let dir = S.freshDirectory("log-layout")
        let session = UUID()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: session)
        let expectedDirectory =
            "\(dir)/events/date=\(log.createdAt.date)/session=\(session.uuidString.lowercased())"
        #expect(log.path == "\(expectedDirectory)/\(log.writer).jsonl")
        #expect(log.createdAt.date.count == 10)
        let parts = log.writer.split(separator: "-")
        #expect(parts.count >= 3)
        #expect(parts[parts.count - 2] == "\(getpid())")
        let suffix = parts.last!
        #expect(suffix.count == 8 && suffix.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(log.writer.unicodeScalars.allSatisfy { CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-").contains($0) })
        #expect(EventReader.isWriterAlive(path: log.path))
        var st = stat()
        #expect(stat(log.path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o644 & ~currentUmask())
        #expect(stat(expectedDirectory, &st) == 0 && st.st_mode & 0o777 == 0o755 & ~currentUmask())
        try log.close()
        #expect(!EventReader.isWriterAlive(path: log.path))
    }

    func currentUmask() -> mode_t {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }

    @Test func writerIDsAreSanitized() {
        #expect(EventLog.sanitize("bench 1/α:x") == "bench_1___x")
        #expect(EventLog.sanitize("") == "host")
        #expect(EventLog.sanitize("..") == "host")
        #expect(EventLog.sanitize(String(repeating: "h", count: 300)).count == 64)
        let id = EventLog.makeWriterID(hostName: "my host/../x", pid: 77)
        #expect(id.hasPrefix("my_host_.._x-77-"))
        #expect(!id.contains("/"))
    }

    @Test func assignsWriterAndSequence() throws {
        let dir = S.freshDirectory("log-seq")
        let log = try EventLog(dataDir: dir, sessionID: S.session)
        #expect(log.lastSequence == -1 && log.durableSequence == -1)
        for i in 0..<5 { #expect(try log.append(S.measurement(i)) == Int64(i)) }
        #expect(log.lastSequence == 4)
        try log.flush()
        #expect(log.durableSequence == 4)
        let result = try EventReader.read(files: [log.path])
        #expect(result.problems.isEmpty)
        #expect(result.events.map(\.sequence) == [0, 1, 2, 3, 4])
        #expect(result.events.allSatisfy { $0.writer == log.writer && $0.sessionID == S.session })
        try log.close()
    }

    @Test func aSecondLogForTheSameSessionGetsItsOwnFile() throws {
        let dir = S.freshDirectory("log-second")
        let store = EventStore(dataDir: dir)
        let first = try store.eventLog(sessionID: S.session)
        for i in 0..<3 { try first.emit(S.measurement(i)) }
        try first.flush()
        let before = fileBytes(first.path)
        let second = try store.eventLog(sessionID: S.session)
        #expect(second.path != first.path && second.writer != first.writer)
        for i in 0..<2 { try second.emit(S.measurement(10 + i)) }
        try second.close()
        #expect(fileBytes(first.path) == before, "the first file is untouched")
        try first.emit(S.measurement(3))
        try first.close()
        let result = try store.events(sessionID: S.session)
        #expect(result.problems.isEmpty)
        #expect(result.files.count == 2)
        #expect(result.events.count == 6)
        #expect(result.events.filter { $0.writer == first.writer }.map(\.sequence) == [0, 1, 2, 3])
        #expect(result.events.filter { $0.writer == second.writer }.map(\.sequence) == [0, 1])
    }

    @Test func emitAfterCloseThrowsAndLeavesTheFileIntact() throws {
        let dir = S.freshDirectory("log-closed")
        let log = try EventLog(dataDir: dir, sessionID: S.session)
        for i in 0..<3 { try log.emit(S.measurement(i)) }
        try log.close()
        let bytes = fileBytes(log.path)
        #expect(bytes.count > 0)
        #expect {
            try log.emit(S.measurement(3))
        } throws: { error in
            (error as? EventLogError)?.code == .closed && (error as? EventLogError)?.path == log.path
        }
        try log.close()  // twice: nothing happens
        try log.flush()  // after close: nothing to do
        #expect(log.isClosed)
        #expect(fileBytes(log.path) == bytes)
        #expect(try EventReader.read(files: [log.path]).events.count == 3)
    }

    @Test func deinitFlushesAndClosesAForgottenLog() throws {
        let dir = S.freshDirectory("log-deinit")
        var path = ""
        do {
            let log = try EventLog(dataDir: dir, sessionID: S.session, durability: .init(syncInterval: nil))
            path = log.path
            for i in 0..<10 { try log.emit(S.measurement(i)) }
            #expect(log.durableSequence == -1)
        }
        #expect(!EventReader.isWriterAlive(path: path))
        let result = try EventReader.read(files: [path])
        #expect(result.problems.isEmpty)
        #expect(result.events.count == 10)
    }

    @Test func boundaryEventsAreSyncedBeforeEmitReturns() throws {
        let dir = S.freshDirectory("log-boundary")
        let log = try EventLog(dataDir: dir, sessionID: S.session, durability: .init(syncInterval: nil))
        try log.emit(S.measurement(0))
        try log.emit(S.measurement(1))
        #expect(log.durableSequence == -1)
        #expect(fileBytes(log.path).isEmpty, "buffered, not written")
        try log.emit(Event(sessionID: S.session, runID: S.run, .stepEnded(StepEnded(name: "s", index: 1, outcome: .passed))))
        #expect(log.durableSequence == 2)
        #expect(try EventReader.read(files: [log.path]).events.count == 3)
        try log.emit(S.measurement(3))
        try log.emit(Event(sessionID: S.session, runID: S.run, .runEnded(RunEnded(outcome: .passed))))
        #expect(log.durableSequence == 4)
        try log.emit(Event(sessionID: S.session, .sessionEnded(SessionEnded())))
        #expect(log.durableSequence == 5)
        try log.close()

        // A custom set, and every event.
        let custom = try EventLog(
            dataDir: dir, sessionID: S.session, durability: .init(syncInterval: nil, syncTypes: ["measurement"]))
        try custom.emit(S.measurement(0))
        #expect(custom.durableSequence == 0)
        try custom.close()
        let every = try EventLog(dataDir: dir, sessionID: S.session, durability: .everyEvent)
        try every.emit(Event(sessionID: S.session, .record(Record(key: "k", value: .null))))
        #expect(every.durableSequence == 0)
        try every.close()
    }

    @Test func theBackgroundFlusherSyncsWithinTheInterval() throws {
        let dir = S.freshDirectory("log-flusher")
        let log = try EventLog(dataDir: dir, sessionID: S.session, durability: .init(syncInterval: .milliseconds(20)))
        let acks = Collected<Int64>()
        log.onDurable { acks.append($0) }
        // No flush() and no sync type: only the flusher can make these durable. (How soon is a
        // figure of `litmus-bench orphans`, not a test: the wait below is only a hang bound.)
        for i in 0..<100 { try log.emit(S.measurement(i)) }
        #expect(eventually(60) { log.durableSequence == 99 })
        #expect(acks.all.last == 99)
        #expect(acks.all == acks.all.sorted() && Set(acks.all).count == acks.all.count, "acks only increase")
        #expect(try EventReader.read(files: [log.path]).events.count == 100)
        // More data later is synced too.
        try log.emit(S.measurement(100))
        #expect(eventually(60) { log.durableSequence == 100 })
        try log.close()
    }

    @Test func observersSeeEveryEventInSequenceOrderFromManyThreads() throws {
        let dir = S.freshDirectory("log-observers")
        let log = try EventLog(dataDir: dir, sessionID: S.session)
        let seen = Collected<Int64>()
        let writers = Collected<String>()
        log.addObserver { event in
            seen.append(event.sequence)
            writers.append(event.writer)
        }
        let threads = 4, perThread = 2000
        let failures = Collected<String>()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                do {
                    let event =
                        i % 500 == 499
                        ? Event(sessionID: S.session, runID: S.run, .stepEnded(StepEnded(name: "s", index: Int64(i), outcome: .passed)))
                        : S.measurement(t * perThread + i)
                    let sequence = try log.append(event)
                    // Synchronous: the observer has seen it when emit returns.
                    if (seen.last ?? -1) < sequence { failures.append("\(sequence) not yet observed") }
                } catch {
                    failures.append("\(error)")
                }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
        #expect(seen.all == Array(0..<Int64(threads * perThread)))
        #expect(Set(writers.all) == [log.writer])
        try log.close()
        let result = try EventReader.read(files: [log.path])
        #expect(result.problems.isEmpty)
        #expect(result.events.map(\.sequence) == Array(0..<Int64(threads * perThread)))
    }

    @Test func anObserverMayEmitToTheSameLog() throws {
        let dir = S.freshDirectory("log-reentrant")
        let log = try EventLog(dataDir: dir, sessionID: S.session)
        let seen = Collected<String>()
        log.addObserver { [weak log] event in
            seen.append("\(event.sequence):\(event.type)")
            if case .runEnded = event.body {
                // What a materializer does when a run ends.
                try? log?.emit(
                    Event(sessionID: S.session, runID: S.run, .runMaterialized(RunMaterialized(path: "x", rows: 1, materializer: "t"))))
            }
        }
        try log.emit(S.measurement(0))
        try log.emit(Event(sessionID: S.session, runID: S.run, .runEnded(RunEnded(outcome: .passed))))
        try log.emit(S.measurement(2))
        #expect(seen.all == ["0:measurement", "1:run.ended", "2:run.materialized", "3:measurement"])
        try log.close()
        #expect(try EventReader.read(files: [log.path]).events.map(\.type) == ["measurement", "run.ended", "run.materialized", "measurement"])
    }

    @Test func shortWritesLoseNothing() throws {
        let dir = S.freshDirectory("log-short")
        let log = try EventLog(dataDir: dir, sessionID: S.session)
        log.core.ioLock.withLock { log.core.faults.maxWriteSize = 7 }
        for i in 0..<200 { try log.emit(S.measurement(i)) }
        try log.close()
        let result = try EventReader.read(files: [log.path])
        #expect(result.problems.isEmpty)
        #expect(result.events.count == 200)
    }

    @Test func aFailedWriteKeepsTheDataAndIsRetried() throws {
        let dir = S.freshDirectory("log-enospc")
        let log = try EventLog(dataDir: dir, sessionID: S.session, durability: .init(syncInterval: nil))
        for i in 0..<50 { try log.emit(S.measurement(i)) }
        try log.flush()
        // The disk fills up (a short write first, then ENOSPC).
        log.core.ioLock.withLock { log.core.faults.writeErrno = ENOSPC }
        for i in 50..<60 { try log.emit(S.measurement(i)) }
        #expect {
            try log.flush()
        } throws: { error in
            (error as? EventLogError)?.code == .writeFailed && (error as? EventLogError)?.errorNumber == ENOSPC
        }
        #expect(log.durableSequence == 49)
        // A boundary event cannot be made durable either: emit says so (the event is kept).
        #expect(throws: EventLogError.self) {
            try log.emit(Event(sessionID: S.session, runID: S.run, .stepEnded(StepEnded(name: "s", index: 0, outcome: .passed))))
        }
        #expect(log.lastSequence == 60)
        // Space comes back: everything is written, nothing lost or repeated.
        log.core.ioLock.withLock { log.core.faults.writeErrno = 0 }
        try log.flush()
        #expect(log.durableSequence == 60)
        try log.emit(S.measurement(61))
        try log.close()
        let result = try EventReader.read(files: [log.path])
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.events.map(\.sequence) == Array(0...61))
    }

    @Test func aBackgroundWriteErrorIsThrownByTheNextEmit() throws {
        let dir = S.freshDirectory("log-bgerror")
        let log = try EventLog(dataDir: dir, sessionID: S.session, durability: .init(syncInterval: .milliseconds(5)))
        log.core.ioLock.withLock { log.core.faults.writeErrno = EIO }
        try log.emit(S.measurement(0))
        #expect(eventually { log.core.lock.withLock { log.core.unreported != nil } })
        #expect {
            try log.emit(S.measurement(1))
        } throws: { error in
            (error as? EventLogError)?.code == .writeFailed
        }
        #expect(log.lastSequence == 0, "the event of the failed emit was not accepted")
        log.core.ioLock.withLock { log.core.faults.writeErrno = 0 }
        try log.flush()
        try log.emit(S.measurement(1))
        try log.close()
        let result = try EventReader.read(files: [log.path])
        #expect(result.problems.isEmpty)
        #expect(result.events.map(\.sequence) == [0, 1])
    }

    @Test func aFullBufferWithAFailingDiskRefusesNewEvents() throws {
        let dir = S.freshDirectory("log-full")
        let log = try EventLog(
            dataDir: dir, sessionID: S.session, durability: .init(syncInterval: nil, maxBufferedBytes: 4096))
        log.core.ioLock.withLock { log.core.faults.writeErrno = ENOSPC }
        var accepted = 0
        var refused = 0
        for i in 0..<100 {
            do {
                try log.emit(S.measurement(i))
                accepted += 1
            } catch {
                refused += 1
            }
        }
        #expect(refused > 0 && accepted > 0)
        #expect(log.core.lock.withLock { log.core.bufferedBytes } < 4096 + 1024, "memory is bounded")
        log.core.ioLock.withLock { log.core.faults.writeErrno = 0 }
        try log.close()
        let result = try EventReader.read(files: [log.path])
        #expect(result.problems.isEmpty)
        #expect(result.events.count == accepted)
    }

    @Test func aSyncFailureStopsTheLog() throws {
        let dir = S.freshDirectory("log-eio")
        let log = try EventLog(dataDir: dir, sessionID: S.session, durability: .init(syncInterval: nil))
        try log.emit(S.measurement(0))
        try log.flush()
        log.core.ioLock.withLock { log.core.faults.syncErrno = EIO }
        try log.emit(S.measurement(1))
        #expect {
            try log.flush()
        } throws: { error in
            (error as? EventLogError)?.code == .syncFailed
        }
        #expect(log.durableSequence == 0)
        #expect(throws: EventLogError.self) { try log.emit(S.measurement(2)) }
        #expect(throws: EventLogError.self) { try log.close() }
        #expect(!EventReader.isWriterAlive(path: log.path), "closed anyway")
        try log.close()
        // What was written before the failure reads back.
        #expect(try EventReader.read(files: [log.path]).events.count == 2)
    }

    @Test func aFastProducerIsBoundedByTheBuffer() throws {
        let dir = S.freshDirectory("log-backpressure")
        let log = try EventLog(
            dataDir: dir, sessionID: S.session, durability: .init(syncInterval: nil, maxBufferedBytes: 64 << 10))
        for i in 0..<5000 { try log.emit(S.measurement(i)) }
        #expect(fileBytes(log.path).count > 1 << 20, "emit wrote full buffers itself")
        #expect(log.core.lock.withLock { log.core.bufferedBytes } <= 64 << 10)
        try log.close()
        let result = try EventReader.read(files: [log.path])
        #expect(result.problems.isEmpty)
        #expect(result.events.count == 5000)
    }

    @Test func closeRacingEmitsLosesNoAcceptedEvent() throws {
        let dir = S.freshDirectory("log-closerace")
        let log = try EventLog(dataDir: dir, sessionID: S.session)
        let accepted = Collected<Int64>()
        DispatchQueue.concurrentPerform(iterations: 3) { t in
            if t == 0 {
                usleep(3000)
                try? log.close()
                return
            }
            for i in 0..<100_000 {
                do { accepted.append(try log.append(S.measurement(i))) } catch { return }
            }
        }
        try log.close()
        let result = try EventReader.read(files: [log.path])
        #expect(result.problems.isEmpty)
        #expect(result.events.map(\.sequence) == accepted.all.sorted())
    }

    @Test func duckDBReadsTheLogsWithHivePartitions() throws {
        let dir = S.freshDirectory("log-duckdb")
        let store = EventStore(dataDir: dir)
        let session = UUID()
        let a = try store.eventLog(sessionID: session)
        let b = try store.eventLog(sessionID: session)
        for i in 0..<30 {
            try (i % 3 == 0 ? b : a).emit(S.measurement(session: session, i))
        }
        try a.close()
        try b.close()
        let script = """
            import duckdb, json, sys
            con = duckdb.connect()
            rel = con.sql(f"select * from read_json_auto('{sys.argv[1]}/events/*/*/*.jsonl', hive_partitioning = true)")
            rows = con.sql(
                "select count(*), count(distinct writer), min(session), min(date)::varchar, sum(value), max(seq), "
                "min(type), count(distinct crc) from rel").fetchall()
            print(json.dumps([str(v) for v in rows[0]]))
            """
        let fields = try #require(try TestPython.json(script, [dir]) as? [String])
        try #require(fields.count == 8, "\(fields)")
        #expect(fields[0] == "30")
        #expect(fields[1] == "2")
        #expect(fields[2].lowercased() == session.uuidString.lowercased())
        #expect(fields[3] == a.createdAt.date)
        #expect(Double(fields[4]) == (0..<30).reduce(0.0) { $0 + Double($1) * 0.5 })
        #expect(fields[5] == "19")
        #expect(fields[6] == "measurement")
        #expect(fields[7] == "30")
    }
}
