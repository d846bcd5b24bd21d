import Foundation
import Litmus
import LitmusTesting
import Testing

/// The Swift Testing integration, end to end: fixture suites (LitmusTestingFixtures.swift) and
/// the example target (Tests/LitmusExampleTests) run in child test processes, each one Litmus
/// session; their output and their runs' Parquet files (read back with DuckDB) are checked.
@Suite struct LitmusTestingTests {
    /// Runs the suites matching `filter` of this test binary in a child process.
    static func child(
        _ filter: String, fixture: String? = nil, environment extra: [String: String] = [:]
    ) throws -> (status: Int32, output: String, dataDir: String) {
        let dataDir = "\(TestPlugins.scratch)/litmus-testing-\(UUID().uuidString)"
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
        environment["LITMUS_DATA_DIR"] = dataDir
        environment["LITMUS_LOCK_DIR"] = dataDir + "/locks"
        if let fixture { environment["LITMUS_TESTING_FIXTURE"] = fixture }
        environment.merge(extra) { _, new in new }
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let result = try TestPlugins.run(binary, ["--testing-library", "swift-testing", "--filter", filter], environment: environment)
        return (result.status, result.output, dataDir)
    }

    /// The rows of the one run file under `dataDir` as dictionaries, via DuckDB.
    static func rows(_ dataDir: String, _ select: String = "*", where condition: String = "true") throws -> [[String: Any]] {
        let program = """
            import duckdb, glob, json, sys
            files = glob.glob(sys.argv[1] + "/runs/**/*.parquet", recursive=True)
            assert len(files) == 1, files
            rel = duckdb.sql(f"SELECT {sys.argv[2]} FROM read_parquet('{files[0]}') WHERE {sys.argv[3]}")
            print(json.dumps([dict(zip(rel.columns, r)) for r in rel.fetchall()], default=str))
            """
        return try TestPython.json(program, [dataDir, select, condition]) as! [[String: Any]]
    }

    // MARK: The example target

    /// Issue 12 #23 through the `.litmusStation` trait: production asked (LITMUS_PHASE) on the
    /// mock bench, whose load is mocked, records development with a warning the test output
    /// shows, and keeps the requested phase.
    @Test func productionOnAMockedBenchIsDemotedWithAWarning() throws {
        let run = try Self.child("PowerBoardTests", environment: ["LITMUS_PHASE": "production"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("test phase production was requested, but the run records development"), "\(run.output)")
        let row = try Self.rows(run.dataDir, "test_phase", where: "record_type = 'run'")
        #expect(row.first?["test_phase"] as? String == "development")
    }

    @Test func exampleSuitePassesAndItsRunIsOnDisk() throws {
        let run = try Self.child("PowerBoardTests")
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("Test run with 7 tests in 1 suite passed"), "\(run.output)")

        let steps = try Self.rows(run.dataDir, "step_index, step_name, step_path, step_outcome, code_file, code_line", where: "record_type = 'step'")
        #expect(steps.map { $0["step_name"] as! String }.sorted()
            == ["loadPower", "loadTimeoutIsReported", "outputOff", "outputRipple", "outputVoltage", "powerOn", "quiescentCurrent"])
        #expect(Set(steps.map { $0["step_index"] as! Int }) == Set(0..<7), "one step index per test, unique in the run")
        for s in steps {
            #expect((s["step_path"] as! String) == "PowerBoardTests/\(s["step_name"] as! String)")
            #expect((s["code_file"] as! String) == "LitmusExampleTests/PowerBoardTests.swift")
            #expect((s["code_line"] as! Int) > 20)
            #expect((s["step_outcome"] as! String) == "passed" || (s["step_outcome"] as! String) == "done")
        }

        // One vector per argument, its parameters as in_* columns; limits from the part's spec
        // band of each vin with the 10 % guardband; traceability through the fixture.
        let vout = try Self.rows(
            run.dataDir, "in_vin, in_load, measurement_value, limit_low, limit_high, measurement_outcome, characteristic_id, dut_pin, fixture_connection, instrument_role, instrument_resource",
            where: "step_name = 'outputVoltage' AND record_type = 'measurement'")
        #expect(vout.count == 6)
        #expect(Set(vout.map { "\($0["in_vin"]!)/\($0["in_load"]!)" }) == ["5.0/0.1", "5.0/0.5", "8.5/0.1", "8.5/0.5", "12.0/0.1", "12.0/0.5"])
        for m in vout {
            #expect(m["measurement_outcome"] as? String == "passed")
            #expect(m["characteristic_id"] as? String == "vout")
            #expect(m["dut_pin"] as? String == "VOUT" && m["fixture_connection"] as? String == "vout_sense")
            #expect(m["instrument_role"] as? String == "dmm" && m["instrument_resource"] as? String == "SIM0::dmm::INSTR")
            let low = m["limit_low"] as! Double, high = m["limit_high"] as! Double
            // Spec: 3.3 V ± (2 % + 10 mV) = ±0.076 V for vin <= 12; the guardband keeps 90 %.
            #expect(abs((high - low) / 2 - 0.076 * 0.9) < 1e-9, "\(m)")
        }

        // The retry: the load's first reading (1.6 W) fails, the retry passes.
        let power = try Self.rows(
            run.dataDir, "vector_index, vector_retry, vector_outcome, measurement_value, measurement_outcome",
            where: "step_name = 'loadPower' AND record_type = 'measurement' ORDER BY vector_index, vector_retry")
        #expect(power.count == 5)
        #expect(power.filter { $0["measurement_outcome"] as? String == "failed" }.count == 2)
        #expect(power.filter { ($0["vector_retry"] as! Int) == 1 }.allSatisfy { $0["measurement_outcome"] as? String == "passed" })
        let vectors = try Self.rows(run.dataDir, "vector_index, vector_retry, vector_outcome", where: "step_name = 'loadPower' AND record_type = 'vector'")
        #expect(vectors.count == 5)

        // The observation array went to the channel store; its URI is on the step's vector row.
        let ripple = try Self.rows(run.dataDir, "out_vout_samples", where: "step_name = 'outputRipple' AND record_type = 'vector'")
        #expect((ripple.first?["out_vout_samples"] as? String)?.hasPrefix("channel://") == true, "\(ripple)")

        // The run: identity, outcome, the injected fault recorded.
        let runRow = try Self.rows(run.dataDir, "dut_serial, dut_lot, operator_id, station_id, run_outcome, test_phase, part_id", where: "record_type = 'run'")
        #expect(runRow.first?["dut_serial"] as? String == "EXAMPLE-0001")
        #expect(runRow.first?["dut_lot"] as? String == "L2026-11")
        #expect(runRow.first?["station_id"] as? String == "bench_mock")
        #expect(runRow.first?["part_id"] as? String == "buck_3v3")
        #expect(runRow.first?["run_outcome"] as? String == "passed")
        let patches = try TestPython.json(
            """
            import glob, json, sys, pyarrow.parquet as pq
            f = glob.glob(sys.argv[1] + "/runs/**/*.parquet", recursive=True)[0]
            print(pq.read_metadata(f).metadata[b"litmus.mock_patches"].decode())
            """, [run.dataDir]) as! [[String: Any]]
        #expect(patches.contains { $0["operation"] as? String == "measure_current" && $0["role"] as? String == "eload" })
    }

    @Test func failingExampleShowsTheFullVerdict() throws {
        // The environment beats the trait's serial (the next board, without recompiling).
        let run = try Self.child("FailingExampleTests", environment: ["LITMUS_SHOW_FAILURE": "1", "LITMUS_DUT_SERIAL": "SN-FROM-ENV"])
        #expect(run.status != 0)
        let expected = "vout = 3.3012 V is outside its limit: limit 3.25...3.3 V (GELE); DUT pin VOUT, connection vout_sense, instrument dmm (SIM0::dmm::INSTR)"
        #expect(run.output.contains(expected), "\(run.output)")
        #expect(run.output.contains("FailingExampleTests.swift:"))
        let rows = try Self.rows(run.dataDir, "measurement_outcome, run_outcome, step_outcome, dut_serial", where: "record_type = 'measurement'")
        #expect(rows.first?["dut_serial"] as? String == "SN-FROM-ENV")
        #expect(rows.count == 1)
        #expect(rows.first?["measurement_outcome"] as? String == "failed")
        #expect(rows.first?["step_outcome"] as? String == "failed")
        #expect(rows.first?["run_outcome"] as? String == "failed")
    }

    // MARK: Traits

    /// Issue 12 #16 through the `.litmusMocks` trait: the channel's declared default reaches
    /// the lookup, so the reading is channel 1's and the verdict fails.
    @Test func litmusMocksLookupUsesTheChannelDefault() throws {
        let run = try Self.child("LookupDefaultFixture", fixture: "lookup")
        #expect(run.status != 0, "the dropout must fail: \(run.output)")
        let rows = try Self.rows(run.dataDir, "measurement_value, measurement_outcome", where: "record_type = 'measurement'")
        #expect(rows.count == 1)
        #expect(rows.first?["measurement_value"] as? Double == 5.001, "\(rows)")
        #expect(rows.first?["measurement_outcome"] as? String == "failed", "\(rows)")
    }

    @Test func precedenceSuiteTestSidecar() throws {
        let run = try Self.child("PrecedenceFixture", fixture: "precedence")
        #expect(run.status == 0, "\(run.output)")
        let rows = try Self.rows(
            run.dataDir, "step_name, measurement_name, limit_low, limit_high, vector_retry, measurement_outcome",
            where: "record_type = 'measurement'")
        func limit(_ step: String, _ name: String) -> [Double]? {
            rows.first { $0["step_name"] as? String == step && $0["measurement_name"] as? String == name }
                .map { [$0["limit_low"] as! Double, $0["limit_high"] as! Double] }
        }
        #expect(limit("levels", "a") == [0, 10], "the suite's")
        #expect(limit("levels", "b") == [1, 9], "the test's beats the suite's")
        #expect(limit("levels", "c") == [2, 8], "the sidecar's defaults beat the test's")
        #expect(limit("levels", "d") == [4, 6], "the sidecar's entry for the test beats its defaults")
        #expect(limit("inner", "a") == [-1, 11], "an inner suite's beats the outer suite's")
        #expect(rows.filter { $0["step_name"] as? String == "routeClosedForTheAttempt" }.count == 2)
        let retried = rows.filter { $0["step_name"] as? String == "retried" }
        #expect(retried.map { $0["vector_retry"] as! Int } == [0, 1, 2, 3], "the sidecar's retry (3) beat the suite's (2)")
        #expect(retried.map { $0["measurement_outcome"] as! String } == ["failed", "failed", "failed", "passed"])
    }

    @Test func parallelTestsKeepTheirOwnStateAndTakeTurnsOnTheBench() throws {
        let run = try Self.child("IsolationFixture", fixture: "isolation")
        #expect(run.status == 0, "\(run.output)")
        let rows = try Self.rows(
            run.dataDir, "step_name, in_k, measurement_name, measurement_value, measurement_outcome",
            where: "record_type = 'measurement'")
        #expect(rows.count == 3 * 8 * 2)
        for r in rows {
            let step = r["step_name"] as! String
            #expect((r["measurement_name"] as! String).hasPrefix(step + "_"), "\(r)")
            #expect(r["in_k"] as? Double == r["measurement_value"] as? Double, "\(r)")
        }
        #expect(rows.allSatisfy { ["passed", "done"].contains($0["measurement_outcome"] as! String) })
        // One case at a time on the bench: no two vector attempts overlap in time.
        let vectors = try Self.rows(run.dataDir, "vector_started_at, vector_ended_at", where: "record_type = 'vector' ORDER BY vector_started_at")
        #expect(vectors.count == 24)
        for (a, b) in zip(vectors, vectors.dropFirst()) {
            #expect((a["vector_ended_at"] as! String) <= (b["vector_started_at"] as! String), "\(a) overlaps \(b)")
        }
    }

    @Test func misuseFailsWithMessagesThatSayWhatToDo() throws {
        let run = try Self.child("ErrorFixture", fixture: "errors")
        #expect(run.status != 0)
        let expected = [
            "no DUT serial for the run on stations/bench_mock.yaml: pass litmusStation(..., dutSerial:) or set LITMUS_DUT_SERIAL",
            "station file stations/no_such_bench.yaml not found",
            "part buck_3v3 has no characteristic \"vuot\"",
            "litmusConnections:", "vout_snse",
            "LitmusTestingFixtures.swift:", "litmusLimits: limit x:",
            "no limit for \"unlimited\" (recorded unchecked): add it to .litmusLimits",
            "missing.litmus.yaml does not exist",
            "no prompt \"insert_dut\": add it with .litmusPrompts",
            "Litmus.pins[\"VOTU\"]:",
            "role dmm is a real instrument: patching dmm.measure_dc_voltage would fake a hardware reading",
            "Litmus.use(_:) came after this case started recording",
        ]
        for text in expected { #expect(run.output.contains(text), "missing: \(text)\n\(run.output)") }
        #expect(run.output.contains("Test run with 11 tests"), "\(run.output)")
    }

    @Test func litmusFunctionsOutsideALitmusTestSayWhichTraitIsMissing() {
        #expect {
            try Litmus.verify("vout", 3.3)
        } throws: { error in
            "\(error)".contains("Litmus.verify works only inside a test with a Litmus station: add .litmusStation(")
        }
        #expect(throws: LitmusTestingError.self) { _ = try Litmus.instrument("dmm") }
        #expect(throws: LitmusTestingError.self) { _ = try Litmus.context }
    }

    // MARK: Crash

    @Test func aCrashedTestProcessLeavesARunTheDaemonClosesAsAborted() throws {
        let run = try Self.child("CrashFixture", fixture: "crash")
        #expect(run.status != 0)
        #expect((try? Self.rows(run.dataDir)) == nil, "no run file before the daemon")
        let daemon = try TestPlugins.run(RunsCLITests.litmus, ["runs-daemon", "--once", "--data-dir", run.dataDir])
        #expect(daemon.status == 0, "\(daemon.output)")
        let rows = try Self.rows(run.dataDir, "record_type, run_outcome, dut_serial, measurement_name, measurement_outcome", where: "true")
        #expect(rows.first?["run_outcome"] as? String == "aborted")
        #expect(rows.first?["dut_serial"] as? String == "FIX-CRASH")
        // Every completed case is on disk (the event log is flushed at each case's end).
        #expect(rows.contains { $0["measurement_name"] as? String == "before_crash" && $0["measurement_outcome"] as? String == "passed" })
    }

    // MARK: Sweeps

    @Test func sweepsExpandLikeTheHarness() throws {
        let product = try Sweep.product(Axis("vin", range: "5:12:3.5"), Axis("load", [0.1, 0.5]))
        #expect(product.map(\.testDescription) == ["vin=5 load=0.1", "vin=5 load=0.5", "vin=8.5 load=0.1", "vin=8.5 load=0.5", "vin=12 load=0.1", "vin=12 load=0.5"])
        #expect(product.map(\.index) == Array(0..<6))
        #expect(try Sweep.zip(Axis("a", [1, 2]), Axis("b", [3, 4])).map(\.testDescription) == ["a=1 b=3", "a=2 b=4"])
        #expect(throws: VectorError.self) { try Sweep.zip(Axis("a", [1, 2]), Axis("b", [3])) }
        let nested = try Sweep.nested(try Sweep.product(Axis("temp", [25, 85])), try Sweep.product(Axis("vin", [5, 12])))
        #expect(nested.map(\.testDescription) == ["temp=25 vin=5", "temp=25 vin=12", "temp=85 vin=5", "temp=85 vin=12"])
        #expect(try Sweep.list([["vin": 5, "mode": "cc"], ["vin": 12, "mode": "cv"]]).map(\.testDescription) == ["vin=5 mode=cc", "vin=12 mode=cv"])
        #expect(try Axis.linspace("x", 0, 1, count: 5).values == [0, 0.25, 0.5, 0.75, 1])
        #expect(try Axis.arange("x", 0, 1, step: 0.25).values == [0, 0.25, 0.5, 0.75])
        #expect(try Axis.logspace("f", 1, 3, count: 3).values == [10, 100, 1000])
        #expect(throws: VectorError.self) { try Axis.linspace("x", 0, 1, count: 0) }
        let sidecar = try Sweep.sidecar("../../LitmusExampleTests/PowerBoardTests.litmus.yaml", test: "loadPower")
        #expect(sidecar.map(\.testDescription) == ["load=0.1", "load=0.5", "load=1"])
        #expect {
            try Sweep.sidecar("../../LitmusExampleTests/PowerBoardTests.litmus.yaml", test: "nope")
        } throws: { "\($0)".contains("has no vectors for test nope") }
    }

    @Test func sidecarErrorsAreLocated() throws {
        let dir = "\(TestPlugins.scratch)/sidecar-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = "\(dir)/bad.litmus.yaml"
        try "tests:\n  rails:\n    limitz: {vout: {low: 1}}\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect {
            try Sweep.sidecar(file, test: "rails")
        } throws: { error in
            "\(error)".contains("bad.litmus.yaml:3:5") && "\(error)".contains("limitz")
        }
    }
}
