import Foundation
import Litmus

/// The Python original's characterization workload, in Swift: 1 run, 1 step, 1,000 vectors
/// (a product of three 10-point axes), 10 limited measurements per vector, the event log
/// attached, finalize + close, the run's Parquet file written. Baseline from the same run: the
/// same 10,000 measurement events (plus the vector events) emitted straight into an event log
/// and materialized, with no harness in between. Then the same run at 10k and 100k vectors
/// (flat per measurement?), and the Python original on the same workload
/// (bench/anchor/characterization.py) when its venv is installed (`make bench` does so).
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
        print(String(format: "  %@ %9.2f ms", benchPad("events emitted directly + Parquet (baseline)", 58) as NSString, bestBaseline / 1e6))
        print(String(format: "  %@ %9.2f ms  %5.2fx baseline", benchPad("harness run: vectors, limits, events, finalize, close, Parquet", 58) as NSString, bestHarness / 1e6, bestHarness / bestBaseline))
        print(String(format: "  per logged measurement, all in: %.2f µs", perMeasurement / 1000))

        // Flat with size: the same run with the vector set repeated 10 and 100 times.
        var perScale: [Double] = []
        for repeats in [1, 10, 100] {
            let scaleAxes = repeats == 1 ? axes : axes + [try Axis("r", range: "1:\(repeats)")]
            let vectors = try Vectors.product(scaleAxes)
            var best = Double.infinity
            for round in 0..<(repeats == 100 ? 1 : 3) {
                let data = "\(root)/s\(repeats)-\(round)"
                let t0 = now()
                let logger = try TestRunLogger(RunIdentity(dutSerial: "SN", stationID: "bench", testPhase: "characterization", git: false), dataDir: data)
                let harness = try TestHarness(vectors: vectors, logger: logger, stepName: "characterize", limits: limits)
                try harness.runAll { v in
                    let x = v.double("c")!
                    for name in names { try harness.measure(name, x * 10) }
                }
                try logger.finalize()
                try logger.close()
                best = min(best, Double(now() - t0))
                try? FileManager.default.removeItem(atPath: data)
            }
            perScale.append(best / Double(vectors.count * names.count))
            print(String(format: "  %7d vectors x 10 measurements: %9.1f ms, %.2f µs per measurement", vectors.count, best / 1e6,
                         best / Double(vectors.count * names.count) / 1000))
        }
        let flatness = perScale.last! / perScale.first!
        print(String(format: "  per measurement at 100k vectors / at 1k vectors: %.2fx", flatness))

        // The Python original on the same workload, when its environment is installed.
        var anchorPerMeasurement: Double?
        switch benchAnchor() {
        case .failure(let why):
            print("  the Python original: skipped (\(why))")
        case .success(let anchor):
            for package in ["litmus", "testerkit"] {
                let data = "\(root)/anchor-\(package)"
                do {
                    let result = try anchor.run(package, dataDir: data)
                    let per = result.seconds * 1e9 / Double(result.measurements)
                    if package == "litmus" { anchorPerMeasurement = per }
                    print(String(format: "  %@ %9.1f ms  %8.1f µs per measurement  (Litmus %.0fx faster; Parquet wait %.0f ms)", benchPad("\(result.name) \(result.version), same workload (1 run)", 58) as NSString, result.seconds * 1e3, per / 1000,
                                 per / perMeasurement, result.parquetSeconds * 1e3))
                } catch {
                    print("  the Python original (\(package)): failed: \(error)")
                }
                try? FileManager.default.removeItem(atPath: data)
            }
        }
        let met = bestHarness <= 25e6 && perMeasurement <= 2_500 && flatness <= 1.25
        print(String(format: "Goal: <= 25 ms and <= 2.5 µs per measurement all in, flat from 1k to 100k vectors (<= 1.25x): %@ (%.1f ms, %.2f µs, %.2fx)%@",
            met ? "met" : "NOT met", bestHarness / 1e6, perMeasurement / 1000, flatness,
            anchorPerMeasurement.map { String(format: "; %.0fx faster per measurement than the original here", $0 / perMeasurement) } ?? ""))
        print("  run file: \(file)")
    } catch {
        print("error: \(error)")
        exit(1)
    }
}
