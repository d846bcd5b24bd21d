import Foundation
import Litmus

/// The Python original's characterization workload, in Swift: 1 run, 1 step, 1,000 vectors
/// (a product of three 10-point axes), 10 limited measurements per vector, the event log
/// attached, finalize + close, the run's Parquet file written. Baseline from the same run: the
/// same 10,000 measurement events (plus the vector events) emitted straight into an event log
/// and materialized, with no harness in between.
func runHarnessBenchmark() {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-harness-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let names = (0..<10).map { "m\($0)" }
    print("Harness: 1 run, 1 step, 1,000 vectors (10 x 10 x 10), 10 limited measurements each")
    do {
        let limit = try Limit.between(0, 100, unit: "V")
        let limits = Dictionary(uniqueKeysWithValues: names.map { ($0, limit) })
        let axes = [try Axis("a", range: "1:10"), try Axis("b", range: "1:10"), try Axis("c", range: "0.1:1:0.1")]

        var bestHarness = Double.infinity
        var bestBaseline = Double.infinity
        var file = ""
        var phases = (0.0, 0.0, 0.0)
        // LITMUS_BENCH_ROUNDS=N runs N harness rounds and nothing else (for a profiler).
        let profileRounds = ProcessInfo.processInfo.environment["LITMUS_BENCH_ROUNDS"].flatMap { Int($0) }
        for round in 0..<(profileRounds ?? 5) {
            // The harness.
            let data = "\(root)/h\(round)"
            let t0 = now()
            let logger = try TestRunLogger(RunIdentity(dutSerial: "SN\(round)", stationID: "bench", testPhase: "characterization", git: false), dataDir: data)
            let harness = try TestHarness(vectors: try Vectors.product(axes), logger: logger, stepName: "characterize", limits: limits)
            try harness.runAll { v in
                let x = v.double("c")!
                for name in names { try harness.measure(name, x * 10) }
            }
            let t1 = now()
            try logger.finalize()
            let t2 = now()
            try logger.close()
            let t3 = now()
            if Double(t3 - t0) < bestHarness {
                phases = (Double(t1 - t0), Double(t2 - t1), Double(t3 - t2))
            }
            bestHarness = min(bestHarness, Double(now() - t0))
            file = logger.runFile ?? ""
            if profileRounds != nil {
                try? FileManager.default.removeItem(atPath: data)
                continue
            }

            // The baseline: the same events, emitted directly, then materialized.
            let bdata = "\(root)/b\(round)"
            let b0 = now()
            let session = UUID(), run = UUID()
            let log = try EventStore(dataDir: bdata).eventLog(sessionID: session)
            let materializer = InProcessMaterializer(log: log, dataDir: bdata)
            try log.emit(Event(sessionID: session, .sessionStarted(SessionStarted(stationID: "bench"))))
            try log.emit(Event(sessionID: session, runID: run, .runStarted(RunStarted(dutSerial: "SN", stationID: "bench"))))
            try log.emit(Event(sessionID: session, runID: run, .stepStarted(StepStarted(name: "characterize", index: 0))))
            for i in 0..<1000 {
                try log.emit(Event(sessionID: session, runID: run, .vectorStarted(VectorStarted(stepIndex: 0, stepPath: "characterize", index: Int64(i)))))
                for name in names {
                    try log.emit(Event(sessionID: session, runID: run, .measurement(Measurement(
                        stepIndex: 0, stepPath: "characterize", vectorIndex: Int64(i), name: name, value: 5, unit: "V", outcome: .passed,
                        limitLow: 0, limitHigh: 100, comparator: .GELE))))
                }
                try log.emit(Event(sessionID: session, runID: run, .vectorEnded(VectorEnded(stepIndex: 0, stepPath: "characterize", index: Int64(i), outcome: .passed))))
            }
            try log.emit(Event(sessionID: session, runID: run, .stepEnded(StepEnded(name: "characterize", index: 0, path: "characterize", outcome: .passed))))
            try log.emit(Event(sessionID: session, runID: run, .runEnded(RunEnded(outcome: .passed))))
            _ = materializer.result(for: run)
            try log.emit(Event(sessionID: session, .sessionEnded(SessionEnded())))
            try log.close()
            bestBaseline = min(bestBaseline, Double(now() - b0))
        }
        if profileRounds != nil {
            print(String(format: "  best harness run %.2f ms", bestHarness / 1e6))
            return
        }
        // Where the data path's time goes: the same 10,000 measurement events emitted into a
        // log with and without the in-process materializer observing it.
        for observed in [false, true] {
            var best = Double.infinity
            for round in 0..<5 {
                let pdata = "\(root)/p\(observed)\(round)"
                let session = UUID(), run = UUID()
                let log = try EventStore(dataDir: pdata).eventLog(sessionID: session)
                let materializer = observed ? InProcessMaterializer(log: log, dataDir: pdata) : nil
                let m = Measurement(
                    stepIndex: 0, stepPath: "characterize", vectorIndex: 0, name: "m0", value: 5, unit: "V", outcome: .passed,
                    limitLow: 0, limitHigh: 100, comparator: .GELE)
                let p0 = now()
                for _ in 0..<10_000 { try log.emit(Event(sessionID: session, runID: run, .measurement(m))) }
                best = min(best, Double(now() - p0))
                _ = materializer
                try log.close()
            }
            print(String(format: "  10,000 measurement events emitted %@: %.2f µs each", (observed ? "with the in-process materializer observing" : "into the log alone") as NSString, best / 10_000 / 1000))
        }
        let perMeasurement = bestHarness / 10_000
        print(String(format: "  phases of the best harness run: open + loop %.1f ms, finalize (run.ended, Parquet) %.1f ms, close %.1f ms",
            phases.0 / 1e6, phases.1 / 1e6, phases.2 / 1e6))
        print(String(format: "  %-58@ %9.2f ms", "events emitted directly + Parquet (baseline)" as NSString, bestBaseline / 1e6))
        print(String(format: "  %-58@ %9.2f ms  %5.2fx baseline", "harness run: vectors, limits, events, finalize, close, Parquet" as NSString, bestHarness / 1e6, bestHarness / bestBaseline))
        print(String(format: "  per logged measurement: %.2f µs (the Python original: 250 µs here, %.0fx faster)", perMeasurement / 1000, 250_000 / perMeasurement))
        print(String(format: "Goal: >= 100x faster per measurement than the original and the run on disk in < 100 ms: %@ (%.1f ms)",
            (250_000 / perMeasurement >= 100 && bestHarness < 100e6) ? "met" : "NOT met", bestHarness / 1e6))
        print("  run file: \(file)")
    } catch {
        print("error: \(error)")
        exit(1)
    }
}
