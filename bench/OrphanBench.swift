// Orphans and acknowledgements, as a running `litmus runs-daemon` and a producer see them:
//
// - death -> aborted run file: a producer (litmus-test-producer, beside this executable) is
//   killed with SIGKILL while a daemon runs (as `litmus runs-daemon` does, 2 s interval); the
//   time until the run's aborted Parquet file is on disk, against the daemon's own time to
//   write the same run when it ended normally (one sweep), measured in the same run.
// - event emitted -> acknowledged (fsynced): per event of a steady producer with the default
//   durability (20 ms sync interval), against fdatasync alone on the same file system.
import Foundation
import Litmus
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Prints the orphan and acknowledgement benchmark. Files go to a temporary directory.
func runOrphanBenchmark() {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-orphans-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    do {
        try orphanToAbortedFile(root: root)
        try acknowledgementLatency(root: root)
    } catch {
        print("  error: \(error)")
    }
}

/// p-th percentile (0...100) of sorted values, nearest rank.
private func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

private func milliseconds(_ ns: UInt64) -> Double { Double(ns) / 1e6 }

/// Shared between the benchmark and the daemon's thread.
private final class DaemonProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var sweeps = 0
    private var stopped = false
    func swept() { lock.withLock { sweeps += 1 } }
    var count: Int { lock.withLock { sweeps } }
    func stop() { lock.withLock { stopped = true } }
    var isStopped: Bool { lock.withLock { stopped } }
}

private func parquetCount(_ dataDir: String) -> Int {
    guard let e = FileManager.default.enumerator(atPath: "\(dataDir)/runs") else { return 0 }
    return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".parquet") }.count
}

private func orphanToAbortedFile(root: String) throws {
    let trials = 12
    let measurements = 2000
    let producer = benchDirectory() + "/litmus-test-producer"
    guard FileManager.default.isExecutableFile(atPath: producer) else {
        throw BenchError(message: "no \(producer): build it (swift build -c release --product litmus-test-producer)")
    }
    var logger = Logger(label: "litmus.bench.daemon")
    logger.logLevel = .critical
    print("Orphaned run: producer killed (SIGKILL) -> its aborted Parquet file on disk (\(trials) trials, run of \(measurements) measurements)")

    // Baseline: the same run, ended normally, written by one daemon sweep.
    var baseline: [Double] = []
    for i in 0..<5 {
        let dir = "\(root)/baseline-\(i)"
        let session = UUID(), run = UUID()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: session)
        try log.emit(Event(sessionID: session, runID: run, .runStarted(RunStarted(dutSerial: "SN-BASE"))))
        for k in 1...measurements {
            try log.emit(
                Event(
                    sessionID: session, runID: run,
                    .measurement(
                        Measurement(
                            stepIndex: Int64(k / 97), stepPath: "crash", vectorIndex: Int64(k % 97), name: "m\(k)",
                            value: Double(k), unit: "V", outcome: .passed, limitLow: -1, limitHigh: 1e12))))
        }
        try log.emit(Event(sessionID: session, runID: run, .runEnded(RunEnded(outcome: .passed))))
        try log.close()
        let daemon = RunsDaemon(dataDir: dir, logger: logger)
        let start = now()
        let report = try daemon.sweep()
        baseline.append(milliseconds(now() - start))
        guard report.materialized.count == 1 else { throw BenchError(message: "baseline sweep wrote \(report)") }
    }
    baseline.sort()

    let dataDir = "\(root)/orphans"
    let daemon = RunsDaemon(dataDir: dataDir, logger: logger)
    let probe = DaemonProbe()
    let thread = Thread {
        do {
            try daemon.run(interval: 2, shouldStop: { probe.isStopped }) { _ in probe.swept() }
        } catch {
            print("  daemon error: \(error)")
        }
    }
    thread.start()
    defer { probe.stop() }

    var latencies: [Double] = []
    for _ in 0..<trials {
        let session = UUID()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: producer)
        process.arguments = ["flush", dataDir, session.uuidString, "\(measurements)"]
        let output = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("flushed") else { throw BenchError(message: "the producer said \"\(line)\"") }
        // Two sweeps later the daemon has seen the run (running) and watches its writer.
        let seen = probe.count
        while probe.count < seen + 2 { usleep(1000) }
        let before = parquetCount(dataDir)
        kill(process.processIdentifier, SIGKILL)
        let killed = now()
        process.waitUntilExit()
        while parquetCount(dataDir) == before {
            guard now() - killed < 60_000_000_000 else { throw BenchError(message: "no aborted file 60 s after the kill") }
            usleep(500)
        }
        latencies.append(milliseconds(now() - killed))
        try? input.fileHandleForWriting.close()
    }
    latencies.sort()
    let base = percentile(baseline, 50)
    func row(_ label: String, _ ms: Double) {
        print(String(format: "  %-52@ %9.1f ms  %6.1fx baseline", label as NSString, ms, ms / max(base, 0.001)))
    }
    print(String(format: "  %-52@ %9.1f ms", "same run ended normally: one daemon sweep (baseline)" as NSString, base))
    row("death -> aborted file, p50", percentile(latencies, 50))
    row("death -> aborted file, p90", percentile(latencies, 90))
    row("death -> aborted file, max", latencies.last ?? .nan)
    let goal = 1000.0
    print(
        String(
            format: "Goal: aborted file within %.0f ms of the producer's death: %@ (max %.1f ms)", goal,
            (latencies.last ?? .infinity) <= goal ? "met" : "NOT met", latencies.last ?? .nan))
}

/// Acknowledgement times, written by the log's flusher thread, read after the log is closed.
private final class AckTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var next: Int64 = 0
    var times: [UInt64]
    init(count: Int) { times = Array(repeating: 0, count: count) }
    func durable(through sequence: Int64) {
        let t = now()
        lock.withLock {
            while next <= sequence && next < Int64(times.count) {
                times[Int(next)] = t
                next += 1
            }
        }
    }
}

private func acknowledgementLatency(root: String) throws {
    let count = 30_000
    let spacing: UInt64 = 100_000  // one event every 100 µs: 10 000 events/s, 3 s
    let dir = "\(root)/acks"
    let session = UUID(), run = UUID()
    let log = try EventStore(dataDir: dir).eventLog(sessionID: session)
    let interval = log.durability.syncInterval.map { Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1e3 } ?? 0
    print(
        String(
            format: "Acknowledgement: event emitted -> fsynced (%d events, one per %.0f us, default durability: %.0f ms sync interval)",
            count, Double(spacing) / 1e3, interval))
    let acks = AckTimes(count: count)
    log.onDurable { acks.durable(through: $0) }
    var emitted = [UInt64](repeating: 0, count: count)
    var due = now()
    for i in 0..<count {
        while now() < due {}
        emitted[i] = now()
        try log.emit(
            Event(
                sessionID: session, runID: run,
                .measurement(Measurement(stepIndex: 0, stepPath: "acks", name: "m\(i)", value: Double(i), outcome: .passed))))
        due += spacing
    }
    try log.close()
    let latencies = zip(acks.times, emitted).map { milliseconds($0 &- $1) }.sorted()

    // Baseline: fdatasync alone, of a small append to a file in the same directory.
    let path = "\(dir)/fsync-probe"
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw BenchError(message: "cannot create \(path)") }
    var syncs: [Double] = []
    let line = [UInt8](repeating: 0x61, count: 4096)
    for _ in 0..<300 {
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let start = now()
        fdatasync(fd)
        syncs.append(milliseconds(now() - start))
        usleep(2000)
    }
    close(fd)
    syncs.sort()
    print(
        String(
            format: "  %-52@ p50 %6.2f ms  p90 %6.2f ms  p99 %7.2f ms  max %7.2f ms",
            "fdatasync of a 4 KiB append (baseline)" as NSString, percentile(syncs, 50), percentile(syncs, 90),
            percentile(syncs, 99), syncs.last ?? .nan))
    print(
        String(
            format: "  %-52@ p50 %6.2f ms  p90 %6.2f ms  p99 %7.2f ms  max %7.2f ms", "emitted -> acknowledged" as NSString,
            percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99), latencies.last ?? .nan))
    // What holds: the sync interval plus the write and fdatasync of the batch and the flusher
    // thread's scheduling, which the disk and the machine's load decide.
    let p99 = percentile(latencies, 99)
    print(
        String(
            format: "Acknowledged within: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms = sync interval %.0f ms + %.1f ms at p99 "
                + "(write, fdatasync, scheduling; fdatasync alone p99 %.1f ms, %.1fx)",
            percentile(latencies, 50), percentile(latencies, 90), p99, interval, p99 - interval, percentile(syncs, 99),
            (p99 - interval) / max(percentile(syncs, 99), 0.001)))
}
