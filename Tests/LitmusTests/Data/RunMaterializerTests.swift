import Foundation
import LitmusJSON
import Testing

@testable import Litmus

/// A realistic run, emitted through a real event log.
struct SampleRun {
    let session = UUID()
    let run = UUID()
    var serial = "SN-0001"
    var station = "bench 3/A"  // needs sanitizing in the path
    var outcome: Outcome = .failed

    /// Emits the whole run; returns the time of run.ended.
    @discardableResult
    func emit(into log: EventLog, ended: Bool = true) throws -> Timestamp {
        func e(_ body: EventBody) throws { try log.emit(Event(sessionID: session, runID: run, body)) }
        try log.emit(Event(sessionID: session, .sessionStarted(SessionStarted(stationID: station, client: "tests"))))
        try e(
            .runStarted(
                RunStarted(
                    dutSerial: serial, dutPartNumber: "PWR-100", stationID: station, operatorID: "op7",
                    testPhase: "production", gitCommit: "abc123", metadata: ["lot_note": "first"])))
        try e(.instrumentConnected(InstrumentConnected(role: "dmm", driver: "mock", resource: "MOCK::dmm", mocked: true)))
        try e(.stepStarted(StepStarted(name: "rails", index: 0, description: "3V3 rail", code: CodeLocation(file: "Rails.swift", function: "rails()", line: 12))))
        let points: [(JSONValue, JSONValue, String)] = [(.int(5), .double(0.1), "CC"), (.double(5.5), .int(1), "CV")]
        for (i, (vin, load, mode)) in points.enumerated() {
            for retry in Int64(0)...(i == 1 ? 1 : 0) {
                try e(
                    .vectorStarted(
                        VectorStarted(
                            stepIndex: 0, stepPath: "rails", index: Int64(i), retry: retry,
                            params: [NamedValue("vin", vin, unit: "V"), NamedValue("load (A)", load, unit: "A"), NamedValue("mode", .string(mode))])))
                let failed = i == 1 && retry == 0
                try e(
                    .measurement(
                        Measurement(
                            stepIndex: 0, stepPath: "rails", vectorIndex: Int64(i), retry: retry, name: "vout",
                            value: failed ? 3.6 : 3.31, unit: "V", outcome: failed ? .failed : .passed, limitLow: 3.135,
                            limitHigh: 3.465, comparator: .GELE, characteristicID: "VOUT_3V3", specRef: "DS-1 p4 @ vin=5",
                            dutPin: "J1.3", fixtureConnection: "vout_sense", instrumentRole: "dmm",
                            instrumentResource: "MOCK::dmm", instrumentChannel: "1")))
                try e(.observation(Observation(stepIndex: 0, stepPath: "rails", vectorIndex: Int64(i), retry: retry, NamedValue("temp", .double(25.5 + Double(i)), unit: "degC"))))
                try e(.vectorEnded(VectorEnded(stepIndex: 0, stepPath: "rails", index: Int64(i), retry: retry, outcome: failed ? .failed : .passed)))
            }
        }
        try e(.measurement(Measurement(stepIndex: 0, stepPath: "rails", name: "ripple", value: .nan, unit: "mV", outcome: .errored)))
        try e(.observation(Observation(stepIndex: 0, stepPath: "rails", NamedValue("waveform", .string("channel://scope.ch1?session=\(session.uuidString.lowercased())")))))
        try e(.stepEnded(StepEnded(name: "rails", index: 0, outcome: .errored, error: "ripple reading was NaN")))
        try e(.runMetadata(RunMetadata(key: "rework", value: "R12 replaced")))
        let end = Timestamp.now()
        if ended { try log.emit(Event(sessionID: session, runID: run, .runEnded(RunEnded(outcome: outcome)), occurredAt: end)) }
        return end
    }
}

@Suite struct RunMaterializerTests {
    func dataDir() -> String { "\(TestPlugins.scratch)/runs-\(UUID().uuidString)" }

    @Test func theParquetFileIsOnDiskWhenRunEndedReturns() throws {
        let dir = dataDir()
        let sample = SampleRun()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        let materializer = InProcessMaterializer(log: log, dataDir: dir)
        let endedAt = try sample.emit(into: log)
        let result = try #require(materializer.result(for: sample.run)).get()
        #expect(FileManager.default.fileExists(atPath: result.path))
        #expect(result.path.contains("/runs/date=\(endedAt.date)/station=bench_3_A/"))
        #expect(result.path.hasSuffix("_\(sample.run.uuidString.lowercased().prefix(8))_SN-0001.parquet"))
        // 1 run + 1 step + 3 vector attempts + 3 vector measurements + 1 step measurement.
        #expect(result.rows == 9)
        try log.close()
        // The run.materialized event is in the log.
        let events = try EventReader.events(dataDir: dir, sessionID: sample.session).events
        #expect(events.contains { if case .runMaterialized(let m) = $0.body { m.path == result.path } else { false } })

        let read = try #require(
            try TestPython.json(
                """
                import sys, json, pyarrow.parquet as pq
                t = pq.read_table(sys.argv[1])
                meta = {k.decode(): v.decode() for k, v in pq.read_metadata(sys.argv[1]).metadata.items() if k.startswith(b"litmus")}
                rows = t.to_pylist()
                def clean(v):
                    if isinstance(v, float) and v != v: return "NaN"
                    if hasattr(v, "isoformat"): return v.isoformat()
                    return v
                print(json.dumps({"types": {f.name: str(f.type) for f in t.schema}, "meta": meta,
                                  "rows": [{k: clean(v) for k, v in r.items()} for r in rows]}))
                """, [result.path]) as? [String: Any])
        let types = try #require(read["types"] as? [String: String])
        #expect(types["in_vin"] == "double")  // 5 and 5.5: one numeric type
        #expect(types["in_load__A_"] == "double")
        #expect(types["in_mode"] == "string")
        #expect(types["out_temp"] == "double")
        #expect(types["out_waveform"] == "string")
        #expect(types["run_started_at"] == "timestamp[us, tz=UTC]")
        #expect(types["measurement_value"] == "double")
        #expect(types["step_index"] == "int64")
        let rows = try #require(read["rows"] as? [[String: Any]])
        #expect(rows.map { $0["record_type"] as? String } == [
            "run", "step", "measurement", "vector", "measurement", "vector", "measurement", "vector", "measurement",
        ])
        // Run-scope columns on every row; step- and vector-scope ones only inside their scope.
        #expect(rows.allSatisfy { $0["dut_serial"] as? String == "SN-0001" && $0["run_outcome"] as? String == "failed" })
        #expect(rows[0]["step_name"] is NSNull)
        #expect(rows[1]["vector_index"] is NSNull && rows[1]["in_vin"] is NSNull)
        #expect(rows[2]["measurement_name"] as? String == "ripple" && rows[2]["measurement_value"] as? String == "NaN")
        #expect(rows[2]["vector_index"] is NSNull)
        #expect(rows[1]["out_waveform"] as? String == "channel://scope.ch1?session=\(sample.session.uuidString.lowercased())")
        let failedAttempt = rows[6]
        #expect(failedAttempt["vector_index"] as? Int == 1 && failedAttempt["vector_retry"] as? Int == 0)
        #expect(failedAttempt["measurement_outcome"] as? String == "failed")
        #expect(failedAttempt["in_vin"] as? Double == 5.5 && failedAttempt["in_mode"] as? String == "CV")
        #expect(failedAttempt["limit_low"] as? Double == 3.135 && failedAttempt["limit_comparator"] as? String == "GELE")
        #expect(failedAttempt["dut_pin"] as? String == "J1.3" && failedAttempt["instrument_channel"] as? String == "1")
        #expect(failedAttempt["out_temp"] as? Double == 26.5)
        #expect(rows[8]["vector_retry"] as? Int == 1 && rows[8]["measurement_outcome"] as? String == "passed")
        #expect(rows[1]["step_description"] as? String == "3V3 rail" && rows[1]["code_line"] as? Int == 12)
        #expect(rows[1]["step_outcome"] as? String == "errored")
        #expect((rows[0]["run_ended_at"] as? String)?.hasPrefix(String(endedAt.iso8601.prefix(19))) == true)

        let meta = try #require(read["meta"] as? [String: String])
        #expect(meta["litmus.schema_version"] == "1")
        #expect(meta["litmus.mocked"] == "true")
        let run = try #require(try JSONSerialization.jsonObject(with: Data(meta["litmus.run"]!.utf8)) as? [String: Any])
        let custom = try #require(run["metadata"] as? [String: String])
        #expect(custom == ["lot_note": "first", "rework": "R12 replaced"])  // set during the run: kept
        #expect(run["git_commit"] as? String == "abc123")
        #expect(meta["litmus.instruments"]?.contains("\"mocked\":true") == true)
        #expect(meta["litmus.units"]?.contains("\"in_vin\":\"V\"") == true)
    }

    @Test func materializingTwiceWritesOnce() throws {
        let dir = dataDir()
        let sample = SampleRun()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
        try sample.emit(into: log)
        try log.close()
        var run = RunAccumulator(runID: sample.run)
        for e in try EventReader.events(dataDir: dir, sessionID: sample.session).events { run.add(e) }
        let first = try RunMaterializer.materialize(run, dataDir: dir)
        let second = try RunMaterializer.materialize(run, dataDir: dir)
        #expect(first.written && !second.written)
        #expect(first.path == second.path)
    }

    @Test func aRunThatJudgedNothingKeepsItsOutcome() throws {
        let dir = dataDir()
        let session = UUID(), runID = UUID()
        let log = try EventStore(dataDir: dir).eventLog(sessionID: session)
        let materializer = InProcessMaterializer(log: log, dataDir: dir)
        try log.emit(Event(sessionID: session, runID: runID, .runStarted(RunStarted(dutSerial: "X"))))
        try log.emit(Event(sessionID: session, runID: runID, .runEnded(RunEnded(outcome: .done))))
        let result = try #require(materializer.result(for: runID)).get()
        #expect(result.rows == 1)
        let outcome = try TestPython.json(
            "import sys, json, pyarrow.parquet as pq; print(json.dumps(pq.read_table(sys.argv[1]).column('run_outcome').to_pylist()))",
            [result.path])
        #expect(outcome as? [String] == ["done"])
        #expect(result.path.contains("station=unknown"))
        try log.close()
    }

    @Test func duckDBReadsAFleetWithHivePartitions() throws {
        let dir = dataDir()
        for (serial, station, outcome) in [("A1", "line1", Outcome.passed), ("A2", "line1", .failed), ("B1", "line2", .passed)] {
            var sample = SampleRun()
            sample.serial = serial
            sample.station = station
            sample.outcome = outcome
            let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
            _ = InProcessMaterializer(log: log, dataDir: dir)
            try sample.emit(into: log)
            try log.close()
        }
        let result = try #require(
            try TestPython.json(
                """
                import sys, json, duckdb
                q = f"SELECT station, dut_serial, run_outcome, count(*) FILTER (WHERE record_type = 'measurement') AS m FROM read_parquet('{sys.argv[1]}/runs/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY dut_serial"
                print(json.dumps(duckdb.sql(q).fetchall()))
                """, [dir]) as? [[Any]])
        #expect(result.count == 3)
        #expect(result.map { $0[0] as? String } == ["line1", "line1", "line2"])
        #expect(result.map { $0[2] as? String } == ["passed", "failed", "passed"])
        #expect(result.allSatisfy { $0[3] as? Int == 4 })
    }

    @Test(arguments: [
        ("SN 1/2", "SN_1_2"), ("../../etc", "_._.._etc"), ("", ""), ("ok-name_1.2", "ok-name_1.2"), (".hidden", "_hidden"),
        ("é", "_"), (String(repeating: "x", count: 100), String(repeating: "x", count: 64)),
    ])
    func userStringsAreSanitizedForPaths(input: String, expected: String) {
        #expect(RunMaterializer.sanitize(input) == expected)
    }
}
