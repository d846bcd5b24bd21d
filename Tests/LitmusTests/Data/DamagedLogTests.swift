import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// Event logs damaged the ways files get damaged (a flipped byte, a lost line, a repeated
/// line, converted line endings), materialized by the real `litmus runs-daemon` and read back
/// with pyarrow: no run vanishes, no measurement is doubled, and every problem is reported
/// where it is and recorded with its run.
@Suite struct DamagedLogTests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"

    /// A closed log holding the sample run (4 measurements, `failed`), with no materializer:
    /// its data dir, the log's path and the byte offset where each line starts.
    func sampleLog(_ name: String, sample: SampleRun = SampleRun()) throws -> (dir: String, path: String, lines: [[UInt8]]) {
        let dir = "\(TestPlugins.scratch)/\(name)-\(UUID().uuidString)"
        let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        try sample.emit(into: log)
        try log.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: log.path)))
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { Array($0) }
        return (dir, log.path, lines)
    }

    func write(_ lines: [[UInt8]], to path: String, ending: [UInt8] = [0x0A]) throws {
        try Data(lines.flatMap { $0 + ending }).write(to: URL(fileURLWithPath: path))
    }

    /// The index of the first line holding `text`.
    func index(of text: String, in lines: [[UInt8]]) throws -> Int {
        try #require(lines.firstIndex { String(decoding: $0, as: UTF8.self).contains(text) })
    }

    func offset(ofLine k: Int, in lines: [[UInt8]]) -> Int { lines.prefix(k).reduce(0) { $0 + $1.count + 1 } }

    func parquetFiles(_ dir: String) -> [String] {
        let runs = "\(dir)/runs"
        guard let e = FileManager.default.enumerator(atPath: runs) else { return [] }
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".parquet") }.map { "\(runs)/\($0)" }
    }

    /// What pyarrow reads in a run file.
    func readBack(_ path: String) throws -> [String: Any] {
        try #require(
            try TestPython.json(
                """
                import sys, json, pyarrow.parquet as pq
                f = pq.ParquetFile(sys.argv[1])
                t = f.read().to_pydict()
                meta = f.metadata.metadata
                print(json.dumps({"outcome": t["run_outcome"][0], "station": t["station_id"][0],
                                  "serial": t["dut_serial"][0], "diagnostics": t["run_diagnostics"],
                                  "names": [n for n in t["measurement_name"] if n is not None],
                                  "meta": json.loads(meta[b"litmus.diagnostics"])}))
                """, [path]) as? [String: Any])
    }

    func daemonOnce(_ dir: String) throws -> (status: Int32, output: String) {
        try TestPlugins.run(Self.litmus, ["runs-daemon", "--once", "--data-dir", dir])
    }

    // MARK: 10. corruption is reported, recorded with the run, and fails --once

    @Test func aCorruptedLineIsWarnedWithItsPlaceRecordedWithTheRunAndFailsTheDaemon() throws {
        let (dir, path, lines) = try sampleLog("corrupt")
        var damaged = lines
        let k = try index(of: #""name":"vout""#, in: lines)
        damaged[k][60] ^= 0x01
        try write(damaged, to: path)
        let offset = offset(ofLine: k, in: lines)

        let daemon = try daemonOnce(dir)
        #expect(daemon.status != 0, "events were lost: --once must fail\n\(daemon.output)")
        #expect(daemon.output.contains("warning: \(path):\(k + 1) (byte \(offset)): corrupted"), "\(daemon.output)")
        #expect(daemon.output.contains("incomplete: run"), "\(daemon.output)")

        let file = try #require(parquetFiles(dir).first)
        let read = try readBack(file)
        #expect((read["diagnostics"] as? [Any])?.allSatisfy { ($0 as? String)?.contains("corrupted") == true } == true)
        let meta = try #require(read["meta"] as? [[String: Any]])
        let corrupted = try #require(meta.first { $0["kind"] as? String == "corrupted" })
        #expect(corrupted["path"] as? String == path && corrupted["line"] as? Int == k + 1 && corrupted["offset"] as? Int == offset)
        #expect(corrupted["loses_events"] as? Bool == true)
        #expect((read["names"] as? [Any])?.count == 3)  // the damaged measurement is the only one missing

        let list = try TestPlugins.run(Self.litmus, ["runs", "list", "--data-dir", dir])
        #expect(list.status == 0 && list.output.contains("corrupted"), "\(list.output)")
        let show = try TestPlugins.run(Self.litmus, ["runs", "show", try runPrefix(dir), "--data-dir", dir])
        #expect(show.output.contains("diagnostic \(path):\(k + 1) (byte \(offset)): corrupted"), "\(show.output)")

        // Already written: a second pass has nothing left to fail on.
        #expect(try daemonOnce(dir).status == 0)
    }

    /// The first 8 characters of the only run's id.
    func runPrefix(_ dir: String) throws -> String {
        let catalog = try RunCatalog(dataDir: dir)
        return String(try #require(catalog.summaries.first).runID.uuidString.lowercased().prefix(8))
    }

    @Test func aSequenceGapAndAnUndecodableLineAreRecordedWithTheRun() throws {
        let (dir, path, lines) = try sampleLog("gap")
        var damaged = lines
        // Lose one line (a gap) and replace another by a well-sealed line that is no event.
        let lost = try index(of: #""type":"instrument.connected""#, in: lines)
        damaged.remove(at: lost)
        let bad = try index(of: #""type":"vector.ended""#, in: damaged)
        let text = String(decoding: damaged[bad], as: UTF8.self)
        damaged[bad] = EventSamples.sealed(String(text.dropLast(18)).replacingOccurrences(of: #""outcome":"#, with: #""result":"#) + "}")
        try write(damaged, to: path)

        let daemon = try daemonOnce(dir)
        #expect(daemon.status != 0, "\(daemon.output)")
        #expect(daemon.output.contains("(byte \(offset(ofLine: lost, in: damaged))): sequenceGap"), "\(daemon.output)")
        #expect(daemon.output.contains("(byte \(offset(ofLine: bad, in: damaged))): undecodable"), "\(daemon.output)")
        let read = try readBack(try #require(parquetFiles(dir).first))
        let kinds = Set(try #require(read["meta"] as? [[String: Any]]).compactMap { $0["kind"] as? String })
        #expect(kinds.isSuperset(of: ["sequenceGap", "undecodable"]), "\(kinds)")
    }

    @Test func aCleanLogPassesTheDaemonWithNoDiagnostics() throws {
        let (dir, _, _) = try sampleLog("clean")
        let daemon = try daemonOnce(dir)
        #expect(daemon.status == 0, "\(daemon.output)")
        #expect(!daemon.output.contains("warning"))
        let read = try readBack(try #require(parquetFiles(dir).first))
        #expect((read["diagnostics"] as? [Any])?.allSatisfy { $0 is NSNull } == true)
        #expect((read["meta"] as? [Any])?.isEmpty == true)
    }

    // MARK: 11. a lost run.started loses nothing else

    @Test(arguments: ["deleted", "corrupted"])
    func aRunWhoseRunStartedIsLostIsWrittenWithEveryMeasurement(damage: String) throws {
        let sample = SampleRun()
        let (dir, path, lines) = try sampleLog("nostart", sample: sample)
        var damaged = lines
        let k = try index(of: #""type":"run.started""#, in: lines)
        if damage == "deleted" { damaged.remove(at: k) } else { damaged[k][30] ^= 0x04 }
        try write(damaged, to: path)

        let daemon = try daemonOnce(dir)
        #expect(daemon.status != 0, "the run's identity was lost: --once must fail\n\(daemon.output)")
        let file = try #require(parquetFiles(dir).first, "the run vanished: \(daemon.output)")
        let read = try readBack(file)
        #expect((read["names"] as? [Any])?.count == 4, "every measurement is kept")
        #expect(read["outcome"] as? String == "failed")  // run.ended still says so
        #expect(read["station"] as? String == sample.station)  // from session.started
        let kinds = Set(try #require(read["meta"] as? [[String: Any]]).compactMap { $0["kind"] as? String })
        #expect(kinds.contains("missingRunStarted"))
        if damage == "corrupted" { #expect(kinds.contains("corrupted")) }
        #expect((read["diagnostics"] as? [String])?.first?.contains("missingRunStarted") == true)

        let list = try TestPlugins.run(Self.litmus, ["runs", "list", "--data-dir", dir])
        #expect(list.output.contains(String(sample.run.uuidString.lowercased().prefix(8))), "listed: \(list.output)")
        #expect(list.output.contains("missingRunStarted"))
    }

    // MARK: 12. converted line endings

    @Test(arguments: [[UInt8(0x0D), 0x0A], [UInt8(0x0D)]])
    func aLogWithConvertedLineEndingsIsReadWhole(ending: [UInt8]) throws {
        let (dir, path, lines) = try sampleLog("crlf")
        try write(lines, to: path, ending: ending)
        let read = try EventReader.read(files: [path])
        #expect(read.events.count == lines.count)
        #expect(read.problems.map(\.kind) == [.lineEndings], "\(read.problems)")

        let daemon = try daemonOnce(dir)
        #expect(daemon.status == 0, "nothing was lost\n\(daemon.output)")
        #expect(daemon.output.contains("lineEndings"), "reported plainly: \(daemon.output)")
        let back = try readBack(try #require(parquetFiles(dir).first))
        #expect((back["names"] as? [Any])?.count == 4)
        #expect(back["outcome"] as? String == "failed")
    }

    // MARK: 13. repeated lines

    @Test func aRepeatedLineIsReadOnceAndReported() throws {
        let (dir, path, lines) = try sampleLog("dup")
        var damaged = lines
        let k = try index(of: #""name":"vout""#, in: lines)
        damaged.insert(lines[k], at: k + 1)  // the same line twice
        damaged.append(lines[k])  // and once more at the end
        try write(damaged, to: path)
        // And a copy of the whole file under another name in the session directory.
        let copy = (path as NSString).deletingLastPathComponent + "/copy.jsonl"
        try FileManager.default.copyItem(atPath: path, toPath: copy)

        let read = try EventReader.read(files: [path, copy])
        #expect(read.events.count == lines.count, "each event once")
        let duplicates = read.problems.filter { $0.kind == .duplicate }
        #expect(duplicates.count == 2 + damaged.count)
        #expect(duplicates.contains { $0.path == path && $0.line == k + 2 })
        #expect(!read.problems.contains { $0.kind == .sequenceGap }, "\(read.problems)")

        let daemon = try daemonOnce(dir)
        #expect(daemon.status == 0, "nothing was lost\n\(daemon.output)")
        let back = try readBack(try #require(parquetFiles(dir).first))
        #expect((back["names"] as? [String])?.sorted() == ["ripple", "vout", "vout", "vout"], "no doubled row: \(back)")
        #expect(Set((back["meta"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }) == ["duplicate"])
    }

    // MARK: 14. stale partial files

    @Test func theDaemonRemovesPartialFilesOfDeadWritersOnly() throws {
        let dir = "\(TestPlugins.scratch)/partials-\(UUID().uuidString)"
        let station = "\(dir)/runs/date=2026-01-02/station=bench"
        try FileManager.default.createDirectory(atPath: station, withIntermediateDirectories: true)
        // A process that has exited: its pid is free.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = "\(station)/20260102T000000Z_aaaaaaaa.parquet.partial-\(gone.processIdentifier)"
        // This process, writing: it holds the file's lock.
        let live = "\(station)/20260102T000000Z_bbbbbbbb.parquet.partial-\(getpid())"
        // This pid again, but nobody holds the lock and it is old: a reused pid.
        let reused = "\(station)/20260102T000000Z_cccccccc.parquet.partial-\(getpid() == 1 ? 2 : 1)"
        for path in [dead, live, reused] { #expect(FileManager.default.createFile(atPath: path, contents: Data("PAR1".utf8))) }
        var old = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, reused, &old, 0) == 0)
        let fd = open(live, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)
        let other = "\(station)/notes.partial-x.txt"  // not a partial file's name
        #expect(FileManager.default.createFile(atPath: other, contents: Data()))

        let daemon = try daemonOnce(dir)
        #expect(daemon.status == 0, "\(daemon.output)")
        #expect(!FileManager.default.fileExists(atPath: dead), "the dead writer's partial file stays: \(daemon.output)")
        #expect(!FileManager.default.fileExists(atPath: reused))
        #expect(FileManager.default.fileExists(atPath: live), "a live writer's partial file was removed")
        #expect(FileManager.default.fileExists(atPath: other))
        #expect(daemon.output.contains("2 stale partial file(s) removed"), "\(daemon.output)")
    }

    // MARK: 15. woken by the producer's death

    /// With an interval far longer than the test, only the producer's lock being released can
    /// make the running daemon close the orphan.
    @Test func aRunningDaemonIsWokenByTheProducersDeath() throws {
        let dir = "\(TestPlugins.scratch)/wake-\(UUID().uuidString)"
        let session = UUID()
        let producer = Process()
        producer.executableURL = URL(fileURLWithPath: "\(TestPlugins.buildDirectory)/litmus-test-producer")
        producer.arguments = ["flush", dir, session.uuidString, "500"]
        let output = Pipe(), input = Pipe()
        producer.standardOutput = output
        producer.standardInput = input
        try producer.run()
        let first = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        #expect(first.hasPrefix("flushed"), "\(first)")

        let daemon = RunsDaemon(dataDir: dir)
        let state = DaemonState()
        let thread = Thread {
            try? daemon.run(interval: 3600, shouldStop: { state.stop }) { report in state.add(report) }
        }
        thread.start()
        defer { state.stop = true }
        // The first sweep finds the run running and starts watching its writer.
        var deadline = Date().addingTimeInterval(60)
        while state.sweeps == 0 && Date() < deadline { usleep(10_000) }
        #expect(state.sweeps == 1 && state.running == 1 && parquetFiles(dir).isEmpty)

        kill(producer.processIdentifier, SIGKILL)
        producer.waitUntilExit()
        deadline = Date().addingTimeInterval(60)
        while parquetFiles(dir).isEmpty && Date() < deadline { usleep(10_000) }
        let file = try #require(parquetFiles(dir).first, "the daemon was not woken by the producer's death")
        let read = try readBack(file)
        #expect(read["outcome"] as? String == "aborted")
        #expect((read["names"] as? [Any])?.count == 500)
    }

    final class DaemonState: @unchecked Sendable {
        private let lock = NSLock()
        private var _stop = false
        private var _sweeps = 0
        private var _running = 0
        var stop: Bool {
            get { lock.withLock { _stop } }
            set { lock.withLock { _stop = newValue } }
        }
        var sweeps: Int { lock.withLock { _sweeps } }
        var running: Int { lock.withLock { _running } }
        func add(_ report: RunsDaemon.SweepReport) {
            lock.withLock {
                _sweeps += 1
                _running = report.running
            }
        }
    }
}
