// Analytics over a lake: `litmus metrics` (yield and Cpk) on 1,000 runs with 1M measurements
// in total, against DuckDB (from the project's .venv) answering the same query over the same
// files in the same run. The lake is written by the real run writer (RunTable ->
// RunMaterializer -> ParquetWriter) into the Hive layout runs/date=/station=.
import Foundation
import Litmus
import LitmusAnalytics

func runAnalyticsBenchmark() {
    let runs = 1000
    let vectorsPerRun = 100
    let measurementsPerVector = 10
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-lake-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    print("Analytics: litmus metrics (yield + Cpk) over a Hive lake of \(runs) runs x \(vectorsPerRun * measurementsPerVector) measurements, vs DuckDB")
    let start = now()
    var measurements = 0
    do {
        for r in 0..<runs {
            let (run, count) = analyticsSampleRun(r, vectors: vectorsPerRun, measurementsPerVector: measurementsPerVector)
            measurements += count
            try RunMaterializer.materialize(run, dataDir: dir)
        }
    } catch {
        print("  cannot write the lake: \(error)")
        return
    }
    print(String(format: "  lake: %d runs, %d measurement rows (retried attempts included), written in %.1f s", runs, measurements, Double(now() - start) / 1e9))

    let lake: RunLake
    do { lake = try RunLake(root: dir) } catch {
        print("  \(error)")
        return
    }
    var best = Double.infinity
    var metrics: RunMetrics?
    for _ in 0..<3 {
        let t = now()
        metrics = RunMetrics.compute(lake: lake)
        best = min(best, Double(now() - t) / 1e9)
    }
    guard let metrics else { return }
    print(String(format: "  litmus metrics (Swift reader, 2 threads)  %8.3f s   units %d, first-pass %.4f, final %.4f, %d capability rows",
                 best, metrics.yield.units, metrics.yield.firstPass, metrics.yield.final, metrics.capability.count))
    if !metrics.problems.isEmpty { print("  problems: \(metrics.problems.prefix(3))") }

    guard let python = benchPython() else {
        print("  DuckDB: no .venv/bin/python (run scripts/setup.sh); ratio not measured")
        return
    }
    let program = #"""
import sys, json, time, duckdb
glob = sys.argv[1] + '/runs/*/*/*.parquet'
best = float('inf')
for _ in range(3):
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute('SET enable_progress_bar = false')  # a bar on stdout (a query over 2 s) would break the JSON line
    con.execute("CREATE VIEW t AS SELECT * FROM read_parquet('%s', hive_partitioning = true, union_by_name = true, file_row_number = true)" % glob.replace("'", "''"))
    y = con.execute('''
      WITH runs AS (SELECT DISTINCT run_id, dut_serial, run_outcome, run_started_at FROM t WHERE record_type = 'run'),
      o AS (SELECT *, row_number() OVER (PARTITION BY dut_serial ORDER BY run_started_at, run_id) AS k,
                   count(*) OVER (PARTITION BY dut_serial) AS n FROM runs)
      SELECT count(DISTINCT dut_serial), count(*) FILTER (k = 1 AND run_outcome = 'passed') / count(DISTINCT dut_serial),
             count(*) FILTER (k = n AND run_outcome = 'passed') / count(DISTINCT dut_serial) FROM o''').fetchone()
    cap = con.execute('''
      WITH s AS (SELECT step_path, measurement_name, limit_low, limit_high, measurement_value AS v, measured_at, run_id, file_row_number
                 FROM t WHERE record_type = 'measurement' AND is_final_attempt AND isfinite(measurement_value)
                 AND (limit_low IS NOT NULL OR limit_high IS NOT NULL)),
      r AS (SELECT *, abs(v - lag(v) OVER (PARTITION BY step_path, measurement_name, limit_low, limit_high
                                           ORDER BY measured_at, run_id, file_row_number)) AS mr FROM s)
      SELECT step_path, measurement_name, limit_low, limit_high, count(*), avg(v), stddev_samp(v),
             least((limit_high - avg(v)), (avg(v) - limit_low)) / (3 * avg(mr) / 1.128) AS cpk FROM r
      GROUP BY step_path, measurement_name, limit_low, limit_high''').fetchall()
    best = min(best, time.perf_counter() - t)
    con.close()
print(json.dumps({'seconds': best, 'units': y[0], 'first_pass': y[1], 'final': y[2], 'rows': len(cap)}))
"""#
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", program, dir]
    let output = Pipe()
    process.standardOutput = output
    // Its error output goes to a file read back on failure (a pipe could fill and block it).
    let errors = dir + "/duckdb.err"
    _ = FileManager.default.createFile(atPath: errors, contents: nil)
    process.standardError = FileHandle(forWritingAtPath: errors)
    do { try process.run() } catch {
        print("  DuckDB: cannot start \(python): \(error)")
        return
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let seconds = json["seconds"] as? Double
    else {
        let said = ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "").split(separator: "\n").suffix(3).joined(separator: " | ")
        let printed = String(decoding: data.prefix(300), as: UTF8.self)
        print("  DuckDB: the query failed (status \(process.terminationStatus)): \(said.isEmpty ? "printed: " + printed : said)")
        return
    }
    print(String(format: "  DuckDB (same query, its own threads)     %8.3f s   units %d, first-pass %.4f, final %.4f, %d capability rows",
                 seconds, json["units"] as? Int ?? -1, json["first_pass"] as? Double ?? .nan, json["final"] as? Double ?? .nan, json["rows"] as? Int ?? -1))
    print(String(format: "  ratio litmus / DuckDB: %.2fx   (goal: litmus <= 1 s: %@)", best / seconds, best <= 1 ? "met" : "NOT met"))
}

/// One run: a step of `vectors` vectors of `measurementsPerVector` limited measurements; every
/// 50th vector fails once and passes on a retry; every 37th run fails a vector for good and is
/// tested again (as a later run of the same serial). Returns the run and its measurement rows.
private func analyticsSampleRun(_ r: Int, vectors: Int, measurementsPerVector: Int) -> (RunAccumulator, Int) {
    let session = UUID(), runID = UUID()
    var run = RunAccumulator(runID: runID)
    let base = Int64(1_780_000_000_000_000) + Int64(r) * 60_000_000
    var clock = base
    func add(_ body: EventBody) {
        clock += 10
        run.add(Event(sessionID: session, runID: runID, body, occurredAt: Timestamp(microseconds: clock)))
    }
    let serial = r % 37 == 36 ? "SN\(r - 1)" : "SN\(r)"
    let failsForGood = r % 37 == 35
    add(.runStarted(RunStarted(dutSerial: serial, stationID: "bench\(r % 4)", testPhase: "production")))
    add(.stepStarted(StepStarted(name: "sweep", index: 0)))
    var rows = 0
    var runOutcome = Outcome.passed
    for v in 0..<vectors {
        let attempts = v % 50 == 7 ? 2 : 1
        for attempt in 0..<attempts {
            add(.vectorStarted(VectorStarted(stepIndex: 0, stepPath: "sweep", index: Int64(v), retry: Int64(attempt), params: [
                NamedValue("vin", .double(Double(v % 10)), unit: "V"),
            ])))
            var vectorOutcome = Outcome.passed
            for m in 0..<measurementsPerVector {
                let noise = Double((r * 7919 + v * 104_729 + m * 31) % 2001 - 1000) / 1e5
                var value = Double(m) + 1 + noise
                if attempt == 0 && attempts == 2 && m == 3 { value = 100 }
                if failsForGood && v == 42 && m == 5 { value = -50 }
                let outcome: Outcome = value >= Double(m) && value <= Double(m) + 2 ? .passed : .failed
                if outcome == .failed { vectorOutcome = .failed }
                add(.measurement(Measurement(
                    stepIndex: 0, stepPath: "sweep", vectorIndex: Int64(v), retry: Int64(attempt), name: "m\(m)", value: value, unit: "V",
                    outcome: outcome, limitLow: Double(m), limitHigh: Double(m) + 2, comparator: .GELE, dutPin: "J1.\(m)",
                    measuredAt: Timestamp(microseconds: clock))))
                rows += 1
            }
            add(.vectorEnded(VectorEnded(stepIndex: 0, stepPath: "sweep", index: Int64(v), retry: Int64(attempt), outcome: vectorOutcome)))
            if attempt == attempts - 1 && vectorOutcome == .failed { runOutcome = .failed }
        }
    }
    add(.stepEnded(StepEnded(name: "sweep", index: 0, outcome: runOutcome)))
    add(.runEnded(RunEnded(outcome: runOutcome)))
    return (run, rows)
}
