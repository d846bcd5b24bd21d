// Channel store append rates, with baselines measured in the same run (the machines are
// shared and noisy, so the ratios say more than the absolute numbers):
//
//  - bulk: `append(contentsOf:)` of f64 arrays and `appendWaveform` of 64 Ki-point waveforms,
//    against memcpy of the same bytes into a pre-touched buffer as large as the data (what the
//    kernel's copy into the page cache is), and against write() of the same bytes to a new file
//    (the kernel's own part: what the writer cannot go below while it uses write()). A round is
//    a 32 MiB burst, inside one 64 MiB segment: the writer's own cost (framing, CRC, the copy
//    into the page cache); the disk catches up in the background, and what waiting for it
//    costs is the "final flush" row;
//  - single: `append(_: Double)` (each with its own clock reading and returned URI), against
//    storing each value through a call the optimiser cannot see through.
//
// The store runs with its default options (64 MiB segments, background fdatasync every
// 100 ms), writing to a temporary directory (LITMUS_BENCH_DIR overrides) that is removed after.
import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#endif

func runChannelBenchmark() {
    var base = ProcessInfo.processInfo.environment["LITMUS_BENCH_DIR"] ?? NSTemporaryDirectory()
    while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
    let root = base + "/litmus-channel-bench-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let rounds = 5
    print("Channel store append rates (best of \(rounds) rounds; data in \(root))")
    // LITMUS_BENCH_CHANNELS=single runs the single-sample rows only (for a profiler).
    let singlesOnly = ProcessInfo.processInfo.environment["LITMUS_BENCH_CHANNELS"] == "single"
    if singlesOnly {
        channelBenchSingles(root, rounds: rounds)
        return
    }

    // MARK: Bulk
    let chunk = (0..<65_536).map { Double($0) * 0.001 }
    let chunksPerRound = 64  // 4 Mi samples, 32 MiB per round
    let bulkSamples = Double(chunk.count * chunksPerRound)

    let copyNs = channelBenchBest(rounds) { () -> UInt64 in
        let bytes = chunk.count * 8
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes * chunksPerRound, alignment: 64)
        defer { destination.deallocate() }
        memset(destination, 1, bytes * chunksPerRound)  // pre-touch: no page faults in the timing
        let start = channelBenchClock()
        chunk.withUnsafeBytes { source in
            for i in 0..<chunksPerRound { memcpy(destination + i * bytes, source.baseAddress!, bytes) }
        }
        let elapsed = channelBenchClock() - start
        channelBenchSink = destination.load(fromByteOffset: 8 * 12345, as: Double.self)
        return elapsed
    }
    // The kernel's part alone: write() of the same bytes, one call per 64 Ki-point block, to a
    // new file in the same directory (what appending to a segment costs before any framing).
    let kernelNs = channelBenchBest(rounds) { () -> UInt64 in
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let path = root + "/write-\(UUID().uuidString.prefix(8))"
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0o644)
        guard fd >= 0 else { return .max }
        defer { close(fd) }
        let start = channelBenchClock()
        let ok = chunk.withUnsafeBytes { source -> Bool in
            for _ in 0..<chunksPerRound {
                var done = 0
                while done < source.count {
                    let n = write(fd, source.baseAddress! + done, source.count - done)
                    if n <= 0 { return false }
                    done += n
                }
            }
            return true
        }
        return ok ? channelBenchClock() - start : .max
    }
    var flushedNs = UInt64.max
    var compactNs = UInt64.max
    let bulkNs = channelBenchBest(rounds) { () -> UInt64 in
        channelBenchRound(root) { store in
            let channel = try store.channel("bulk", type: .f64, unit: "V")
            let start = channelBenchClock()
            for _ in 0..<chunksPerRound { try channel.append(contentsOf: chunk) }
            let appended = channelBenchClock() - start
            try store.flush()
            flushedNs = min(flushedNs, channelBenchClock() - start)
            if compactNs == .max {  // once: what close() adds for such a channel
                try store.close()
                let compactStart = channelBenchClock()
                try ChannelStore.compact(dataDir: store.dataDir, sessionID: store.sessionID)
                compactNs = channelBenchClock() - compactStart
            }
            return appended
        }
    }
    let waveformNs = channelBenchBest(rounds) { () -> UInt64 in
        channelBenchRound(root) { store in
            let channel = try store.channel("scope", type: .waveform, unit: "V")
            let t0 = Timestamp.now()
            let start = channelBenchClock()
            for _ in 0..<chunksPerRound { try channel.appendWaveform(t0: t0, dt: 1e-9, samples: chunk) }
            return channelBenchClock() - start
        }
    }
    channelBenchRow("memcpy of the same bytes (baseline)", samples: bulkSamples, ns: copyNs, baseline: copyNs)
    channelBenchRow("write() of the same bytes to a new file (kernel floor)", samples: bulkSamples, ns: kernelNs, baseline: copyNs)
    channelBenchRow("appendWaveform of 64 Ki-point waveforms", samples: bulkSamples, ns: waveformNs, baseline: copyNs)
    channelBenchRow("append(contentsOf:) of 64 Ki-sample f64 arrays", samples: bulkSamples, ns: bulkNs, baseline: copyNs)
    channelBenchRow("  ... including the final flush (fdatasync)", samples: bulkSamples, ns: flushedNs, baseline: copyNs)
    channelBenchRow("  compaction of such a channel to Parquet (once)", samples: bulkSamples, ns: compactNs, baseline: nil)

    let singleRate = channelBenchSingles(root, rounds: rounds)

    let waveformRate = bulkSamples / (Double(waveformNs) / 1e9)
    let waveformRatio = Double(waveformNs) / Double(max(copyNs, 1))
    let bulkRate = bulkSamples / (Double(bulkNs) / 1e9)
    print(String(format: "Goal: waveforms of 64 Ki points >= 1 G points/s and within 2x of memcpy: %@ (%.2f G points/s, %.2fx); "
                 + "scalar samples >= 20 M/s: %@ (%.1f M/s); bulk f64 %.0f M/s; write() alone %.2fx memcpy, waveforms %.2fx write()",
                 (waveformRate >= 1e9 && waveformRatio <= 2 ? "met" : "NOT met") as NSString, waveformRate / 1e9, waveformRatio,
                 (singleRate >= 20e6 ? "met" : "NOT met") as NSString, singleRate / 1e6, bulkRate / 1e6,
                 Double(kernelNs) / Double(max(copyNs, 1)), Double(waveformNs) / Double(max(kernelNs, 1))))
}

/// The single-sample rows: `append(Double)` against its baseline. Returns samples per second.
@discardableResult
private func channelBenchSingles(_ root: String, rounds: Int) -> Double {
    let singles = 5_000_000
    let storeBaseline = ChannelBenchStore(capacity: singles)
    let storeNs = channelBenchBest(rounds) { () -> UInt64 in
        let start = channelBenchClock()
        for i in 0..<singles { storeBaseline.store(Double(i), at: i) }
        return channelBenchClock() - start
    }
    let singleNs = channelBenchBest(rounds) { () -> UInt64 in
        channelBenchRound(root) { store in
            let channel = try store.channel("single", type: .f64, unit: "V")
            let start = channelBenchClock()
            for i in 0..<singles { try channel.append(Double(i)) }
            return channelBenchClock() - start
        }
    }
    channelBenchRow("store of each Double through an opaque call (baseline)", samples: Double(singles), ns: storeNs, baseline: storeNs)
    channelBenchRow("append(Double), one call per sample", samples: Double(singles), ns: singleNs, baseline: storeNs)
    return Double(singles) / (Double(singleNs) / 1e9)
}

/// Runs one round in a fresh store and session (removed afterwards); returns its timing.
private func channelBenchRound(_ root: String, _ body: (ChannelStore) throws -> UInt64) -> UInt64 {
    let dir = root + "/round-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: ChannelStore.Options(compactOnClose: false))
    do {
        let ns = try body(store)
        try store.close()
        return ns
    } catch {
        print("  error: \(error)")
        return .max
    }
}

private func channelBenchBest(_ rounds: Int, _ body: () -> UInt64) -> UInt64 {
    (0..<rounds).map { _ in body() }.min() ?? .max
}

private func channelBenchRow(_ label: String, samples: Double, ns: UInt64, baseline: UInt64?) {
    let rate = samples / (Double(ns) / 1e9)
    let padded = label.count < 58 ? label + String(repeating: " ", count: 58 - label.count) : label
    var line = "  " + padded + String(format: " %8.1f M samples/s  %6.2f ns/sample", rate / 1e6, Double(ns) / samples)
    if let baseline { line += String(format: "  %6.2fx baseline time", Double(ns) / Double(max(baseline, 1))) }
    print(line)
}

private func channelBenchClock() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

nonisolated(unsafe) private var channelBenchSink = 0.0

/// The single-append baseline: one value stored per call into a preallocated buffer.
private final class ChannelBenchStore {
    private let buffer: UnsafeMutablePointer<Double>
    init(capacity: Int) {
        buffer = .allocate(capacity: capacity)
        buffer.initialize(repeating: 0, count: capacity)
    }
    deinit { buffer.deallocate() }
    @inline(never) func store(_ value: Double, at index: Int) { buffer[index] = value }
}
