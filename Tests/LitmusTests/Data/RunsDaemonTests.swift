import Foundation
import Testing

@testable import Litmus

@Suite struct RunsDaemonTests {
    func dataDir() -> String { "\(TestPlugins.scratch)/daemon-\(UUID().uuidString)" }

    func parquetFiles(_ dir: String) -> [String] {
        let runs = "\(dir)/runs"
        guard let e = FileManager.default.enumerator(atPath: runs) else { return [] }
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".parquet") }.map { "\(runs)/\($0)" }
    }

    func outcomes(_ path: String) throws -> [String: Any] {
        try #require(
            try TestPython.json(
                """
                import sys, json, pyarrow.parquet as pq
                t = pq.read_table(sys.argv[1]).to_pydict()
                print(json.dumps({"outcome": t["run_outcome"][0], "reason": t["run_end_reason"][0],
                                  "types": t["record_type"], "names": t["measurement_name"]}))
                """, [path]) as? [String: Any])
    }

    @Test func writesRunsOtherProcessesEndedOnceAndIsRestartable() throws {
        let dir = dataDir()
        let sample = SampleRun()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        try sample.emit(into: log)  // no in-process materializer
        try log.close()
        let report = try RunsDaemon(dataDir: dir).sweep()
        #expect(report.materialized.count == 1 && report.aborted.isEmpty)
        #expect(parquetFiles(dir).count == 1)
        // A second sweep, and a new daemon after a restart, write nothing.
        #expect(try RunsDaemon(dataDir: dir).sweep().materialized.isEmpty)
        let again = try RunsDaemon(dataDir: dir).sweep()
        #expect(again.materialized.isEmpty && again.alreadyMaterialized == 1)
        #expect(parquetFiles(dir).count == 1)
        #expect(try outcomes(parquetFiles(dir)[0])["outcome"] as? String == "failed")
    }

    @Test func aSettledSessionIsNotReadAgainUntilItChanges() throws {
        let dir = dataDir()
        let sample = SampleRun()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        try sample.emit(into: log)
        try log.close()
        let daemon = RunsDaemon(dataDir: dir)
        #expect(try daemon.sweep().materialized.count == 1)
        #expect(try daemon.sweep().alreadyMaterialized == 1)  // read once more after its own events
        #expect(try daemon.sweep().alreadyMaterialized == 0)  // settled and unchanged: skipped
        // A new run in the same session changes its files: read again, and written.
        var next = SampleRun()
        next.serial = "SN-NEXT"
        let again = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        try again.emit(Event(sessionID: sample.session, runID: next.run, .runStarted(RunStarted(dutSerial: "SN-NEXT"))))
        try again.emit(Event(sessionID: sample.session, runID: next.run, .runEnded(RunEnded(outcome: .done))))
        try again.close()
        let report = try daemon.sweep()
        #expect(report.materialized.count == 1 && report.alreadyMaterialized == 1)
    }

    @Test func closesAnOrphanedRunAsAbortedKeepingItsEvents() throws {
        let dir = dataDir()
        let sample = SampleRun()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        try sample.emit(into: log, ended: false)
        try log.close()  // the producer is gone: nobody holds the session's log
        let report = try RunsDaemon(dataDir: dir).sweep()
        #expect(report.aborted == [sample.run])
        let file = try #require(parquetFiles(dir).first)
        let read = try outcomes(file)
        #expect(read["outcome"] as? String == "aborted")
        #expect((read["reason"] as? String)?.contains("is gone") == true)
        #expect((read["names"] as? [Any])?.compactMap { $0 as? String }.count == 4)  // every measurement kept
        // The closing event is in the log, marked with the reason.
        let events = try EventReader.events(dataDir: dir, sessionID: sample.session).events
        #expect(events.contains { if case .runEnded(let e) = $0.body { e.outcome == .aborted } else { false } })
    }

    @Test func leavesARunningRunAloneUntilItsLeaseExpires() throws {
        let dir = dataDir()
        let sample = SampleRun()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        try sample.emit(into: log, ended: false)
        try log.flush()
        let daemon = RunsDaemon(dataDir: dir, leaseSeconds: 60)
        let report = try daemon.sweep()
        #expect(report.running == 1 && report.aborted.isEmpty && parquetFiles(dir).isEmpty)
        // Silent for longer than the lease: closed even though its writer holds the lock.
        let later = Timestamp(microseconds: Timestamp.now().microseconds + 120_000_000)
        let expired = try daemon.sweep(now: later)
        #expect(expired.aborted == [sample.run])
        #expect((try outcomes(parquetFiles(dir)[0])["reason"] as? String)?.contains("lease 60 s") == true)
        try log.close()
    }

    @Test func aRunJustEndedInALiveProcessIsLeftToItsOwnMaterializer() throws {
        let dir = dataDir()
        let sample = SampleRun()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        try sample.emit(into: log)  // ended, but this "process" has no materializer and is alive
        let daemon = RunsDaemon(dataDir: dir)
        #expect(try daemon.sweep().materialized.isEmpty)
        // Still not written a minute later: the daemon takes over.
        let later = Timestamp(microseconds: Timestamp.now().microseconds + 60_000_000)
        #expect(try daemon.sweep(now: later).materialized.count == 1)
        try log.close()
    }

    @Test func oneDaemonPerDataDirectory() throws {
        let dir = dataDir()
        let first = RunsDaemon(dataDir: dir)
        try first.acquire()
        let error = try #require(throws: RunsDaemonError.self) { try RunsDaemon(dataDir: dir).acquire() }
        #expect(error.description.contains("another runs daemon"))
    }

    /// A producer killed with SIGKILL mid-run: every acknowledged measurement is in the aborted
    /// run's file.
    @Test func aKilledProducersRunIsMaterializedAsAbortedWithEveryAcknowledgedMeasurement() throws {
        let producer = "\(TestPlugins.buildDirectory)/litmus-test-producer"
        for trial in 0..<3 {
            let dir = dataDir()
            let session = UUID()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: producer)
            process.arguments = ["crash", dir, session.uuidString]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            var acked: Int64 = -1
            var buffer = Data()
            let deadline = Date().addingTimeInterval(5)
            let target = Int64(50 + trial * 400)
            while acked < target && Date() < deadline {
                buffer.append(pipe.fileHandleForReading.availableData)
                for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.hasPrefix("ack ") {
                    acked = max(acked, Int64(line.dropFirst(4)) ?? acked)
                }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(acked >= target, "the producer acknowledged only \(acked)")
            let report = try RunsDaemon(dataDir: dir).sweep()
            #expect(report.aborted.count == 1)
            let file = try #require(parquetFiles(dir).first)
            let read = try outcomes(file)
            #expect(read["outcome"] as? String == "aborted")
            let names = (read["names"] as? [Any])?.compactMap { $0 as? String } ?? []
            // Sequence 0 is run.started, multiples of 97 are step.ended, every other sequence is
            // the measurement named "m<sequence>": each acknowledged one must be in the file.
            let measured = Set(names.compactMap { Int64($0.dropFirst()) })
            let lost = (1...acked).filter { $0 % 97 != 0 && !measured.contains($0) }
            #expect(lost.isEmpty, "acknowledged measurements missing: \(lost.prefix(10))")
        }
    }
}
