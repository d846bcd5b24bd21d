import Foundation
import Testing

@testable import Litmus

/// The README's main job: litmus-example on the mock bench, its Parquet read back by DuckDB.
@Suite struct ExampleTests {
    /// Issue 12 #23 from an executable: `--phase production` on the mock bench (its load is
    /// mocked) prints a warning and records development, keeping the request in the metadata.
    @Test func productionOnTheMockBenchIsDemotedLoudly() throws {
        let data = TestPlugins.scratch + "/example-phase-\(UUID().uuidString)"
        var env = ProcessInfo.processInfo.environment
        env["LITMUS_LOCK_DIR"] = data + "/locks"
        env.removeValue(forKey: "LITMUS_PROMPT")
        let result = try TestPlugins.run(
            TestPlugins.buildDirectory + "/litmus-example",
            ["--station", TestPlugins.packageRoot + "/stations/bench_mock.yaml", "--data", data, "--serial", "SN-PHASE", "--phase", "production"],
            environment: env)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("test phase production was requested, but the run records development: mocked roles: eload"), "\(result.output)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: data + "/runs").filter { $0.hasSuffix(".parquet") }
        #expect(files.count == 1)
        let kept = try #require(
            try TestPython.json(
                """
                import sys, json, pyarrow.parquet as pq
                t = pq.read_table(sys.argv[1])
                run = json.loads(t.schema.metadata[b"litmus.run"])
                print(json.dumps({"phase": t.column("test_phase")[0].as_py(), "requested": run["metadata"].get("requested_test_phase")}))
                """, [data + "/runs/" + (files.first ?? "")]) as? [String: Any])
        #expect(kept["phase"] as? String == "development")
        #expect(kept["requested"] as? String == "production")
    }

    @Test func theExampleRunsOnTheMockBenchAndItsRunFileReadsBack() throws {
        let data = TestPlugins.scratch + "/example-\(UUID().uuidString)"
        var env = ProcessInfo.processInfo.environment
        env["LITMUS_LOCK_DIR"] = data + "/locks"
        env.removeValue(forKey: "LITMUS_PROMPT")
        let result = try TestPlugins.run(
            TestPlugins.buildDirectory + "/litmus-example",
            ["--station", TestPlugins.packageRoot + "/stations/bench_mock.yaml", "--data", data, "--serial", "SN-E2E"], environment: env)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("PASSED"), "\(result.output)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: data + "/runs").filter { $0.hasSuffix(".parquet") }
        #expect(files.count == 1)
        let file = data + "/runs/" + files[0]
        let rows = try TestPython.json(
            """
            import sys, json, duckdb
            q = '''SELECT record_type, step_name, vector_index, in_vin, in_load, out_vin_measured, measurement_name,
                   measurement_value, limit_low, limit_high, limit_comparator, measurement_outcome, dut_pin,
                   fixture_connection, instrument_role, instrument_resource, instrument_channel, spec_ref,
                   characteristic_id, test_phase, run_outcome, dut_serial, station_id, fixture_id, part_id
                   FROM read_parquet(?)'''
            cols = [d[0] for d in duckdb.execute(q, [sys.argv[1]]).description]
            rows = [dict(zip(cols, r)) for r in duckdb.execute(q, [sys.argv[1]]).fetchall()]
            print(json.dumps(rows, default=str))
            """, [file]) as? [[String: Any]] ?? []
        let kinds = rows.map { $0["record_type"] as? String ?? "" }
        #expect(kinds.filter { $0 == "run" }.count == 1)
        #expect(kinds.filter { $0 == "vector" }.count == 6)
        let vout = rows.filter { $0["measurement_name"] as? String == "vout" }
        #expect(vout.count == 6)
        for m in vout {
            #expect(m["measurement_value"] as? Double == 3.3012)
            #expect(m["measurement_outcome"] as? String == "passed")
            #expect(m["limit_comparator"] as? String == "GELE")
            #expect(m["dut_pin"] as? String == "VOUT")
            #expect(m["fixture_connection"] as? String == "vout_sense")
            #expect(m["instrument_role"] as? String == "dmm")
            #expect(m["instrument_resource"] as? String == "SIM0::dmm::INSTR")
            #expect(m["characteristic_id"] as? String == "vout")
            #expect((m["spec_ref"] as? String)?.hasPrefix("DS-1001 §4.2 @ vin=") == true)
            // 3.3 ± (2 % + 10 mV), guardband 10 % inward: 3.2316 ... 3.3684.
            #expect(abs((m["limit_low"] as? Double ?? 0) - 3.2316) < 1e-9)
            #expect(abs((m["limit_high"] as? Double ?? 0) - 3.3684) < 1e-9)
        }
        #expect(vout.map { $0["in_vin"] as? Double } == [5, 5, 8.5, 8.5, 12, 12])
        #expect(vout.map { $0["in_load"] as? Double } == [0.1, 0.5, 0.1, 0.5, 0.1, 0.5])
        let vectors = rows.filter { $0["record_type"] as? String == "vector" }
        #expect(vectors.allSatisfy { $0["out_vin_measured"] as? Double != nil })
        let iq = try #require(rows.first { $0["measurement_name"] as? String == "iq" })
        #expect(iq["limit_comparator"] as? String == "LE")
        #expect(iq["instrument_channel"] as? String == "1")
        #expect(iq["fixture_connection"] as? String == "vin_current")
        let run = rows[0]
        #expect(run["run_outcome"] as? String == "passed")
        #expect(run["dut_serial"] as? String == "SN-E2E")
        #expect(run["station_id"] as? String == "bench_mock")
        #expect(run["fixture_id"] as? String == "buck_fixture")
        #expect(run["part_id"] as? String == "buck_3v3")
    }
}
