import Foundation
import LitmusAnalytics
import Testing

@testable import Litmus

/// `litmus metrics` over real runs, checked against the same figures computed by DuckDB SQL
/// over the same files.
@Suite struct RunMetricsTests {
    /// DuckDB's answers: yields per serial, failures per measurement (final attempts and all
    /// attempts), capability per step, measurement and limit.
    static let duckdbProgram = #"""
import sys, json, duckdb
glob = sys.argv[1] + '/runs/*/*/*.parquet'
con = duckdb.connect()
con.execute("CREATE VIEW t AS SELECT * FROM read_parquet('%s', hive_partitioning = true, union_by_name = true, file_row_number = true)" % glob.replace("'", "''"))
y = con.execute('''
  WITH runs AS (SELECT DISTINCT run_id, dut_serial, run_outcome, run_started_at FROM t WHERE record_type = 'run'),
  o AS (SELECT *, row_number() OVER (PARTITION BY dut_serial ORDER BY run_started_at, run_id) AS k,
               count(*) OVER (PARTITION BY dut_serial) AS n FROM runs)
  SELECT count(DISTINCT dut_serial), count(*) FILTER (k = 1 AND run_outcome = 'passed'),
         count(*) FILTER (k = n AND run_outcome = 'passed'), count(DISTINCT dut_serial) FILTER (n > 1),
         count(*), count(*) FILTER (run_outcome = 'passed') FROM o''').fetchone()
pareto = dict(con.execute('''SELECT measurement_name, count(*) FROM t WHERE record_type = 'measurement'
  AND is_final_attempt AND measurement_outcome = 'failed' GROUP BY 1''').fetchall())
all_attempts = dict(con.execute('''SELECT measurement_name, count(*) FROM t WHERE record_type = 'measurement'
  AND measurement_outcome = 'failed' GROUP BY 1''').fetchall())
measured = con.execute("SELECT count(*) FROM t WHERE record_type = 'measurement' AND is_final_attempt").fetchone()[0]
cap = []
for row in con.execute('''
  WITH s AS (SELECT step_path, measurement_name, limit_low, limit_high, measurement_value AS v, measured_at, run_id, file_row_number
             FROM t WHERE record_type = 'measurement' AND is_final_attempt AND isfinite(measurement_value)
             AND (limit_low IS NOT NULL OR limit_high IS NOT NULL)),
  r AS (SELECT *, abs(v - lag(v) OVER (PARTITION BY step_path, measurement_name, limit_low, limit_high
                                       ORDER BY measured_at, run_id, file_row_number)) AS mr FROM s)
  SELECT step_path, measurement_name, limit_low, limit_high, count(*), avg(v), stddev_samp(v), avg(mr) / 1.128 FROM r GROUP BY ALL''').fetchall():
    step, name, lo, hi, n, mean, s, sw = row
    zero = lambda sig: sig is None or sig <= 1e-12 * abs(mean)  # the rounding noise of equal values
    def k(sig):
        if zero(sig): return None
        vals = [x for x in [(hi - mean) / (3 * sig) if hi is not None else None, (mean - lo) / (3 * sig) if lo is not None else None] if x is not None]
        return min(vals)
    cap.append({'step': step, 'measurement': name, 'low': lo, 'high': hi, 'n': n, 'mean': mean, 'sigma': s,
                'cpk': k(sw), 'ppk': k(s), 'cp': (hi - lo) / (6 * sw) if lo is not None and hi is not None and not zero(sw) else None})
print(json.dumps({'units': y[0], 'first_pass': y[1], 'final': y[2], 'retested': y[3], 'runs': y[4], 'passed_runs': y[5],
                  'pareto': pareto, 'all_attempts': all_attempts, 'measured': measured, 'capability': cap}))
"""#

    /// Whether `a` equals DuckDB's `b` to 1e-9 relative; undefined (nil, NaN) matches null.
    static func close(_ a: Double?, _ b: Any?) -> Bool {
        let a = a.flatMap { $0.isNaN ? nil : $0 }
        guard let a, let b = b as? Double else { return a == nil && (b == nil || b is NSNull) }
        return abs(a - b) <= 1e-9 * max(1, abs(b))
    }

    @Test func yieldParetoAndCpkAgreeWithDuckDB() throws {
        let lake = try AnalyticsLake.get()
        let sql = try #require(try TestPython.json(Self.duckdbProgram, [lake.data]) as? [String: Any])
        let metrics = RunMetrics.compute(lake: try RunLake(root: lake.data))
        #expect(metrics.problems.isEmpty, "\(metrics.problems)")

        // Yields per serial.
        #expect(metrics.yield.units == sql["units"] as? Int)
        #expect(metrics.yield.firstPassUnits == sql["first_pass"] as? Int)
        #expect(metrics.yield.finalPassUnits == sql["final"] as? Int)
        #expect(metrics.yield.retestedUnits == sql["retested"] as? Int)
        #expect(metrics.yield.runs == sql["runs"] as? Int)
        #expect(metrics.yield.passedRuns == sql["passed_runs"] as? Int)
        // The lake is what it is meant to be: 5 units, 3 passed first time, all in the end.
        #expect(metrics.yield.units == 5 && metrics.yield.firstPassUnits == 3 && metrics.yield.finalPassUnits == 5)

        // Pareto by measurement.
        let pareto = try #require(sql["pareto"] as? [String: Int])
        #expect(Dictionary(uniqueKeysWithValues: metrics.paretoByMeasurement.map { ($0.key, $0.failures) }) == pareto)
        #expect(metrics.measurements == sql["measured"] as? Int)

        // Retried failures are in the files but not counted.
        let allAttempts = try #require(sql["all_attempts"] as? [String: Int])
        #expect(lake.failedRipples == 4)
        #expect(allAttempts["ripple"] == lake.failedRipples)
        #expect(pareto["ripple"] == nil)
        #expect(!metrics.paretoByMeasurement.contains { $0.key == "ripple" })

        // Capability per step, measurement and limit.
        let capability = try #require(sql["capability"] as? [[String: Any]])
        #expect(metrics.capability.count == capability.count)
        var compared = 0
        for row in capability {
            let match = metrics.capability.first {
                $0.step == row["step"] as? String && $0.measurement == row["measurement"] as? String
                    && Self.close($0.low, row["low"]) && Self.close($0.high, row["high"])
            }
            guard let c = match else {
                Issue.record("no capability row for \(row)")
                continue
            }
            #expect(c.count == row["n"] as? Int)
            #expect(Self.close(c.mean, row["mean"]), "\(c.measurement) mean \(c.mean) vs \(row["mean"] ?? "nil")")
            #expect(Self.close(c.sigma, row["sigma"]), "\(c.measurement) sigma")
            #expect(Self.close(c.cpk, row["cpk"]), "\(c.measurement) cpk \(c.cpk ?? .nan) vs \(row["cpk"] ?? "nil")")
            #expect(Self.close(c.ppk, row["ppk"]), "\(c.measurement) ppk")
            #expect(Self.close(c.cp, row["cp"]), "\(c.measurement) cp")
            #expect(c.histogram.counts.reduce(0, +) == c.count)
            if c.cpk != nil { compared += 1 }
        }
        #expect(compared >= 2, "no measurement had a defined Cpk to compare")
    }

    @Test func theCommandPrintsTablesJSONAndHTML() throws {
        let lake = try AnalyticsLake.get()
        let text = try AnalyticsLake.litmus(["metrics", lake.data])
        #expect(text.status == 0, "\(text.output)")
        #expect(text.output.contains("First-pass yield: 60.0 % (3/5)"), "\(text.output)")
        #expect(text.output.contains("Failure Pareto by measurement:"))
        #expect(text.output.contains("Capability (worst Cpk first):"))

        let json = try AnalyticsLake.litmus(["metrics", lake.data, "--json"])
        #expect(json.status == 0, "\(json.output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let metrics = RunMetrics.compute(lake: try RunLake(root: lake.data))
        let yield = try #require(object["yield"] as? [String: Any])
        #expect(yield["units"] as? Int == metrics.yield.units)
        #expect(Self.close(metrics.yield.firstPass, yield["first_pass"]))
        let capability = try #require(object["capability"] as? [[String: Any]])
        #expect(capability.count == metrics.capability.count)
        #expect(zip(capability, metrics.capability).allSatisfy { Self.close($1.cpk, $0["cpk"]) && $0["n"] as? Int == $1.count })

        // Filters: one station, one serial pattern, one measurement.
        let filtered = try AnalyticsLake.litmus(["metrics", lake.data, "--json", "--station", "bench_h", "--serial", "SN-H[12]", "--measurement", "vout"])
        let f = try #require(try JSONSerialization.jsonObject(with: Data(filtered.output.utf8)) as? [String: Any])
        #expect((f["yield"] as? [String: Any])?["units"] as? Int == 2)
        #expect((f["capability"] as? [[String: Any]])?.allSatisfy { $0["measurement"] as? String == "vout" } == true)

        let html = TestPlugins.scratch + "/metrics-\(UUID().uuidString).html"
        let page = try AnalyticsLake.litmus(["metrics", lake.data, "--html", html])
        #expect(page.status == 0, "\(page.output)")
        let content = try String(contentsOfFile: html, encoding: .utf8)
        #expect(content.contains("<svg class=pareto") && content.contains("class=\"chart histogram\"") && content.contains("class=\"mean\""))
        #expect(!content.contains("http://") || !content.contains("src=\"http"))

        let missing = try AnalyticsLake.litmus(["metrics", lake.data + "/nope"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("no such file or folder") && missing.output.contains("Fix:"), "\(missing.output)")
    }
}
