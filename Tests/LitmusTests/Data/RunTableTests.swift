import Foundation
import LitmusJSON
import Testing

@testable import Litmus

/// The run table built from events, read directly (no Parquet): scopes without events of their
/// own, observations at every scope, and strings told apart by their bytes.
@Suite struct RunTableTests {
    let session = UUID()
    let run = UUID()

    func table(_ bodies: [EventBody]) -> RunTable {
        var accumulator = RunAccumulator(runID: run)
        accumulator.add(Event(sessionID: session, .sessionStarted(SessionStarted(stationID: "bench"))))
        for body in bodies { accumulator.add(Event(sessionID: session, runID: run, body)) }
        return RunTable(run: accumulator)
    }

    func column(_ table: RunTable, _ name: String) -> [JSONValue] {
        guard let column = table.column(name) else {
            Issue.record("no column \(name)")
            return []
        }
        return (0..<table.rowCount).map { column.json($0) }
    }

    @Test func scopesWithoutEventsGetRowsInOrderOfFirstReference() {
        let t = table([
            .runStarted(RunStarted(dutSerial: "SN1")),
            .measurement(Measurement(stepIndex: 0, stepPath: "a", vectorIndex: 0, name: "é", value: 1, outcome: .passed)),
            .measurement(Measurement(stepIndex: 1, stepPath: "b", retry: 1, name: "e\u{301}", value: 2, outcome: .failed)),
            .observation(Observation(NamedValue("ambient", .double(20), unit: "degC"))),
            .observation(Observation(stepIndex: 1, stepPath: "b", retry: 1, NamedValue("t", .double(1.5)))),
            .runEnded(RunEnded(outcome: .failed)),
        ])
        #expect(t.rowCount == 6)
        #expect(column(t, "record_type") == ["run", "step", "vector", "measurement", "step", "measurement"].map { .string($0) })
        #expect(column(t, "step_name") == [.null, .string("a"), .string("a"), .string("a"), .string("b"), .string("b")])
        #expect(column(t, "step_retry") == [.null, .int(0), .int(0), .int(0), .int(1), .int(1)])
        #expect(column(t, "step_outcome") == Array(repeating: .null, count: 6))
        #expect(column(t, "vector_index") == [.null, .null, .int(0), .int(0), .null, .null])
        #expect(column(t, "vector_outcome") == Array(repeating: .null, count: 6))
        // Canonically equivalent names stay two values (the file stores bytes).
        #expect(column(t, "measurement_name") == [.null, .null, .null, .string("é"), .null, .string("e\u{301}")])
        #expect(t.column("measurement_name")?.stringValues.count == 2)
        #expect(column(t, "measurement_outcome") == [.null, .null, .null, .string("passed"), .null, .string("failed")])
        // A run-scope observation is on the run row only; a step's on its rows.
        #expect(column(t, "out_ambient") == [.double(20), .null, .null, .null, .null, .null])
        #expect(column(t, "out_t") == [.null, .null, .null, .null, .double(1.5), .double(1.5)])
        #expect(column(t, "run_outcome") == Array(repeating: .string("failed"), count: 6))
        #expect(t.column("dut_serial")?.strings.map { $0 } == Array(repeating: "SN1", count: 6))
        #expect(t.column("dut_lot")?.valid.allSatisfy { !$0 } == true)
        #expect(t.metadata.first { $0.0 == "litmus.units" }?.1 == #"{"out_ambient":"degC"}"#)
    }

    /// Issue 12 #21, row by row: a retried step's first attempt and a retried vector's first
    /// attempt (with their measurements) are not final; equal retries (two harnesses running a
    /// step of one name) are both final; the run row is.
    @Test func finalAttemptsByStepPathAndVectorIndex() {
        let t = table([
            .runStarted(RunStarted(dutSerial: "SN1")),
            .measurement(Measurement(stepIndex: 0, stepPath: "s", name: "m", value: 1, outcome: .failed)),
            .measurement(Measurement(stepIndex: 1, stepPath: "s", retry: 1, name: "m", value: 2, outcome: .passed)),
            .measurement(Measurement(stepIndex: 2, stepPath: "v", vectorIndex: 0, name: "m", value: 1, outcome: .failed)),
            .measurement(Measurement(stepIndex: 2, stepPath: "v", vectorIndex: 0, retry: 1, name: "m", value: 2, outcome: .passed)),
            .measurement(Measurement(stepIndex: 2, stepPath: "v", vectorIndex: 1, name: "m", value: 3, outcome: .passed)),
            .measurement(Measurement(stepIndex: 3, stepPath: "twice", name: "m", value: 1, outcome: .passed)),
            .measurement(Measurement(stepIndex: 4, stepPath: "twice", name: "m", value: 1, outcome: .passed)),
            .runEnded(RunEnded(outcome: .passed)),
        ])
        let rows = (0..<t.rowCount).map { r in
            "\(column(t, "record_type")[r].stringValue ?? "")/\(column(t, "is_final_attempt")[r].boolValue.map { $0 ? "final" : "earlier" } ?? "null")"
        }
        // (Steps known only from measurements: those of vectors come first.)
        #expect(rows == [
            "run/final",
            "step/final", "vector/earlier", "measurement/earlier", "vector/final", "measurement/final", "vector/final", "measurement/final",
            "step/earlier", "measurement/earlier", "step/final", "measurement/final",
            "step/final", "measurement/final", "step/final", "measurement/final",
        ])
    }

    @Test func vectorsGoWithTheirStepAttemptAndParametersWithTheirVector() {
        let t = table([
            .runStarted(RunStarted(dutSerial: "SN2")),
            .stepStarted(StepStarted(name: "s", index: 0)),
            .vectorStarted(VectorStarted(stepIndex: 0, stepPath: "s", index: 0, params: [NamedValue("vin", .int(5), unit: "V")])),
            .measurement(Measurement(stepIndex: 0, stepPath: "s", vectorIndex: 0, name: "v", value: 1, outcome: .passed)),
            .vectorEnded(VectorEnded(stepIndex: 0, stepPath: "s", index: 0, outcome: .passed, params: [NamedValue("mode", .string("CC"))])),
            .stepEnded(StepEnded(name: "s", index: 0, outcome: .failed)),
            .stepStarted(StepStarted(name: "s", index: 0, retry: 1)),
            .vectorStarted(VectorStarted(stepIndex: 0, stepPath: "s", index: 0, retry: 1, params: [NamedValue("vin", .double(5.5))])),
            .measurement(Measurement(stepIndex: 0, stepPath: "s", vectorIndex: 0, retry: 1, name: "v", value: 2, outcome: .passed)),
            .vectorEnded(VectorEnded(stepIndex: 0, stepPath: "s", index: 0, retry: 1, outcome: .passed)),
            .stepEnded(StepEnded(name: "s", index: 0, retry: 1, outcome: .passed)),
            .runEnded(RunEnded(outcome: .passed)),
        ])
        #expect(column(t, "record_type") == ["run", "step", "vector", "measurement", "step", "vector", "measurement"].map { .string($0) })
        #expect(column(t, "step_retry") == [.null, .int(0), .int(0), .int(0), .int(1), .int(1), .int(1)])
        #expect(column(t, "vector_retry") == [.null, .null, .int(0), .int(0), .null, .int(1), .int(1)])
        #expect(column(t, "step_outcome") == [.null, .string("failed"), .string("failed"), .string("failed"), .string("passed"), .string("passed"), .string("passed")])
        #expect(column(t, "in_vin") == [.null, .null, .double(5), .double(5), .null, .double(5.5), .double(5.5)])
        #expect(column(t, "in_mode") == [.null, .null, .string("CC"), .string("CC"), .null, .null, .null])
        #expect(column(t, "measurement_value") == [.null, .null, .null, .double(1), .null, .null, .double(2)])
    }
}

/// The run file's verdict columns read back with DuckDB: which rows are final attempts
/// (issue 12 #21) and the EQ/NE tolerance in force (#20), through both ways a run file is
/// written: the in-process materializer and the runs daemon, from the same events.
@Suite struct RunFileVerdictTests {
    /// A run whose second vector fails its first attempt and passes the retry, with an EQ
    /// limit judged with the default tolerance and an NE limit with an exact one. Returns the
    /// in-process run file and the run's events.
    func retriedRun() throws -> (file: String, events: [Event]) {
        let run = try HarnessRun()
        let harness = try TestHarness(
            vectors: try Vectors.product([Axis("vin", [5, 12])]), logger: run.logger, stepName: "rails",
            retry: try RetryConfig(maxRetries: 2, retryOn: [.failed]), limits: ["vout": try Limit.between(3.2, 3.4, unit: "V")])
        var tries: [Int: Int] = [:]
        let step = try harness.runAll { v in
            tries[v.index, default: 0] += 1
            // Vector 1 reads low on its first attempt only.
            try harness.measure("vout", v.index == 1 && tries[1] == 1 ? 3.0 : 3.3)
            try harness.measure("sum", 0.1 + 0.2, limit: try Limit.equal(to: 0.3))  // equal within the default
            try harness.measure("exact", 0.1 + 0.2, limit: try Limit(nominal: 0.3, comparator: .NE, tolerance: 0))
        }
        #expect(step.outcome == .passed)
        #expect(step.vectors.map(\.attempts) == [1, 2])
        try run.logger.finalize()
        let file = try #require(run.logger.runFile)
        let events = try run.events()
        try run.logger.close()
        return (file, events)
    }

    /// The same events through the runs daemon: written into a log of another data directory
    /// (without the in-process `run.materialized`) and swept.
    func daemonFile(_ events: [Event]) throws -> String {
        let dir = "\(TestPlugins.scratch)/daemon-final-\(UUID().uuidString)"
        let session = try #require(events.first?.sessionID)
        let log = try EventStore(dataDir: dir).eventLog(sessionID: session)
        for e in events {
            if case .runMaterialized = e.body { continue }
            try log.emit(Event(sessionID: e.sessionID, runID: e.runID, e.body, occurredAt: e.occurredAt))
        }
        try log.close()
        let report = try RunsDaemon(dataDir: dir).sweep()
        #expect(report.materialized.count == 1)
        let runs = "\(dir)/runs"
        let files = (FileManager.default.enumerator(atPath: runs)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".parquet") }
        #expect(files.count == 1)
        return "\(runs)/\(try #require(files.first))"
    }

    /// Runs the documented final-results queries (docs/run-files.md) with DuckDB.
    func query(_ file: String) throws -> [String: Any] {
        try #require(
            try TestPython.json(
                """
                import sys, json, duckdb
                f = sys.argv[1]
                con = duckdb.connect()
                con.execute(f"CREATE VIEW runs AS SELECT * FROM read_parquet('{f}')")
                one = lambda q: con.execute(q).fetchall()
                print(json.dumps({
                  "all_failed": one("SELECT count(*) FROM runs WHERE record_type = 'measurement' AND measurement_name = 'vout' AND measurement_outcome = 'failed'")[0][0],
                  "final_failed": one("SELECT count(*) FROM runs WHERE record_type = 'measurement' AND is_final_attempt AND measurement_name = 'vout' AND measurement_outcome = 'failed'")[0][0],
                  "final_per_vector": one("SELECT vector_index, count(*) FROM runs WHERE record_type = 'measurement' AND is_final_attempt AND measurement_name = 'vout' GROUP BY ALL ORDER BY 1"),
                  "final_vectors": one("SELECT vector_index, vector_retry, vector_outcome FROM runs WHERE record_type = 'vector' AND is_final_attempt ORDER BY 1"),
                  "null_flags": one("SELECT count(*) FROM runs WHERE is_final_attempt IS NULL")[0][0],
                  "rejudged": one(\"\"\"SELECT measurement_name, limit_tolerance, bool_and(
                                      (CASE limit_comparator WHEN 'EQ' THEN abs(measurement_value - limit_nominal) <= limit_tolerance
                                                             ELSE NOT abs(measurement_value - limit_nominal) <= limit_tolerance END)
                                      = (measurement_outcome = 'passed'))
                                    FROM runs WHERE record_type = 'measurement' AND limit_comparator IN ('EQ', 'NE') GROUP BY ALL ORDER BY 1\"\"\"),
                  "range_tolerance": one("SELECT count(limit_tolerance) FROM runs WHERE measurement_name = 'vout'")[0][0],
                }))
                """, [file]) as? [String: Any])
    }

    @Test func aRetryThatPassesLeavesOneFinalRowPerMeasurementAndNoFinalFailure() throws {
        let (inProcess, events) = try retriedRun()
        for file in [inProcess, try daemonFile(events)] {
            let r = try query(file)
            #expect(r["all_failed"] as? Int == 1, "\(file): \(r)")  // the failed try is kept
            #expect(r["final_failed"] as? Int == 0, "\(file): \(r)")
            #expect((r["final_per_vector"] as? [[Int]]) == [[0, 1], [1, 1]], "\(file): \(r)")
            #expect(((r["final_vectors"] as? [[Any]]) ?? []).map { "\($0[0])/\($0[1])/\($0[2])" } == ["0/0/passed", "1/1/passed"], "\(r)")
            #expect(r["null_flags"] as? Int == 0, "\(r)")
            // EQ verdicts re-judged from the data agree; the tolerance in force is recorded.
            let rejudged = (r["rejudged"] as? [[Any]]) ?? []
            #expect(rejudged.count == 2, "\(r)")
            #expect(rejudged.allSatisfy { $0[2] as? Bool == true }, "\(r)")
            #expect(rejudged.first { $0[0] as? String == "exact" }?[1] as? Double == 0)
            #expect(rejudged.first { $0[0] as? String == "sum" }?[1] as? Double == Limit.defaultRelativeTolerance * 0.3 + Limit.defaultAbsoluteTolerance)
            #expect(r["range_tolerance"] as? Int == 0)  // no tolerance on a range limit
        }
    }
}
