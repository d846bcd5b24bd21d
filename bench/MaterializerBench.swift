// Run materialization: events of one run -> its Parquet file, for 10k and 100k measurements.
import Foundation
import Litmus
import LitmusJSON

/// Time of the best of `rounds` runs of `body`, in seconds.
private func best(_ rounds: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = now()
        try body()
        best = min(best, Double(now() - start) / 1e9)
    }
    return best
}

/// The events of a characterization-style run: one step, vectors of 10 limited measurements,
/// three stimulus parameters per vector.
private func sampleRun(measurements: Int) -> RunAccumulator {
    let session = UUID(), runID = UUID()
    var run = RunAccumulator(runID: runID)
    func add(_ body: EventBody) { run.add(Event(sessionID: session, runID: runID, body)) }
    add(.runStarted(RunStarted(dutSerial: "BENCH-1", stationID: "bench", testPhase: "characterization")))
    add(.stepStarted(StepStarted(name: "sweep", index: 0)))
    for v in 0..<(measurements / 10) {
        add(
            .vectorStarted(
                VectorStarted(
                    stepIndex: 0, stepPath: "sweep", index: Int64(v),
                    params: [
                        NamedValue("vin", .double(Double(v % 10)), unit: "V"), NamedValue("load", .double(Double(v / 10 % 10) * 0.1), unit: "A"),
                        NamedValue("temp", .int(Int64(v / 100)), unit: "degC"),
                    ])))
        for m in 0..<10 {
            add(
                .measurement(
                    Measurement(
                        stepIndex: 0, stepPath: "sweep", vectorIndex: Int64(v), name: "m\(m)", value: Double(m) + 0.001 * Double(v),
                        unit: "V", outcome: .passed, limitLow: -1, limitHigh: 100, comparator: .GELE, dutPin: "J1.\(m)",
                        instrumentRole: "dmm", instrumentResource: "SIM::dmm::INSTR", instrumentChannel: "1")))
        }
        add(.vectorEnded(VectorEnded(stepIndex: 0, stepPath: "sweep", index: Int64(v), outcome: .passed)))
    }
    add(.stepEnded(StepEnded(name: "sweep", index: 0, outcome: .passed)))
    add(.runEnded(RunEnded(outcome: .passed)))
    return run
}

func runMaterializerBenchmark() {
    print("Run materialization (events of one run -> RunTable -> Parquet file, zstd), best of 3")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-runs-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for n in [10_000, 100_000] {
        let run = sampleRun(measurements: n)
        let table = RunTable(run: run)
        let rows = table.rowCount
        let build = best(3) { _ = RunTable(run: run) }
        // End to end, as a run ends: table, file (zstd, fsync, rename), under a fresh data dir.
        var k = 0
        let total: Double
        do {
            total = try best(3) {
                k += 1
                _ = try RunMaterializer.materialize(run, dataDir: "\(dir)/\(n)-\(k)")
            }
        } catch {
            print("  error: \(error)")
            return
        }
        // Baseline: copying the table's raw values once (the least any writer must do).
        let bytes = table.columns.reduce(0) { $0 + $1.valid.count * 8 }
        let source = [UInt8](repeating: 1, count: bytes)
        var sink = [UInt8](repeating: 0, count: bytes)
        let copy = best(3) { sink.withUnsafeMutableBytes { d in source.withUnsafeBytes { d.copyMemory(from: $0) } } }
        print(
            String(
                format: "  %6d measurements: %7d rows materialized in %6.1f ms (table alone %5.1f ms) = %5.2f M rows/s, %5.2f us/measurement; %.0fx a memcpy of the raw values (%.2f ms)",
                n, rows, total * 1e3, build * 1e3, Double(rows) / total / 1e6, total / Double(n) * 1e6, total / copy, copy * 1e3))
        if sink.isEmpty { print("") }
    }
    print("  Goal: >= 1M rows/s. (The Python original logs ~4k measurements/s.)")
}
