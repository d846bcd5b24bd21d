import Foundation
import Litmus
import LitmusTesting
import Testing

/// Order and structure of a station sequence in Swift Testing: `.serialized` suites run in
/// source order, teardown steps run after failures and aborts, stop-on-failure skips, an
/// unordered suite is refused. Each case runs suites in child test processes and reads their
/// runs back with DuckDB.
@Suite struct StepOrderTests {
    /// `step_name, step_role, step_outcome, step_error` of every step row, by step index, and
    /// the measurement names recorded, of the one run under `dataDir`.
    static func steps(_ dataDir: String) throws -> [[String: Any]] {
        try LitmusTestingTests.rows(
            dataDir, "step_index, step_name, step_role, step_outcome, step_error, run_outcome",
            where: "record_type = 'step' ORDER BY step_index")
    }

    static func measured(_ dataDir: String) throws -> Set<String> {
        Set(try LitmusTestingTests.rows(dataDir, "measurement_name", where: "record_type = 'measurement'").map { $0["measurement_name"] as! String })
    }

    @Test func theExampleSuiteRunsInSourceOrderTwentyTimesOutOfTwenty() throws {
        let sourceOrder = ["powerOn", "outputVoltage", "outputRipple", "loadPower", "quiescentCurrent", "loadTimeoutIsReported", "outputOff"]
        var dataDirs: [String] = []
        for _ in 0..<20 {
            let run = try LitmusTestingTests.child("PowerBoardTests")
            #expect(run.status == 0, "\(run.output)")
            dataDirs.append(run.dataDir)
        }
        // One DuckDB process reads every run: the step names in step_index order, per run.
        let program = """
            import duckdb, glob, json, sys
            out = []
            for d in sys.argv[1:]:
                files = glob.glob(d + "/runs/**/*.parquet", recursive=True)
                assert len(files) == 1, files
                rel = duckdb.sql(f"SELECT step_name, step_role FROM read_parquet('{files[0]}') WHERE record_type = 'step' ORDER BY step_index")
                out.append(rel.fetchall())
            print(json.dumps(out))
            """
        let runs = try TestPython.json(program, dataDirs) as! [[[Any]]]
        #expect(runs.count == 20)
        for (i, steps) in runs.enumerated() {
            #expect(steps.map { $0[0] as! String } == sourceOrder, "run \(i + 1) of 20")
            #expect(steps.map { $0[1] as! String } == ["setup", "main", "main", "main", "main", "main", "teardown"], "run \(i + 1) of 20")
        }
    }

    @Test func teardownRunsAfterAForcedFailureAndTheSequenceContinues() throws {
        let run = try LitmusTestingTests.child("TeardownFixture", fixture: "teardown")
        #expect(run.status != 0, "the forced failure fails the test process")
        let steps = try Self.steps(run.dataDir)
        #expect(steps.map { $0["step_name"] as! String } == ["powerOn", "failing", "afterFailure", "outputOff"], "\(steps)")
        #expect(steps.map { $0["step_role"] as! String } == ["setup", "main", "main", "teardown"])
        #expect(steps.map { $0["step_outcome"] as! String } == ["done", "failed", "done", "done"])
        #expect(steps.first?["run_outcome"] as? String == "failed")
        #expect(try Self.measured(run.dataDir) == ["setup_ran", "forced", "after_failure_ran", "teardown_ran"])
    }

    @Test func stopOnFailureSkipsTheLaterStepsButNotTheTeardown() throws {
        let run = try LitmusTestingTests.child("StopOnFailureFixture", fixture: "stop")
        #expect(run.status != 0)
        #expect(!run.output.contains("BODY-RAN: skippedStep"), "\(run.output)")
        let steps = try Self.steps(run.dataDir)
        #expect(steps.map { $0["step_name"] as! String } == ["powerOn", "failing", "skippedStep", "outputOff"], "\(steps)")
        #expect(steps.map { $0["step_outcome"] as! String } == ["done", "failed", "skipped", "done"])
        #expect(steps[2]["step_error"] as? String == "step failing failed (litmusStopOnFailure)")
        #expect(steps[3]["step_role"] as? String == "teardown")
        #expect(try Self.measured(run.dataDir) == ["setup_ran", "forced", "teardown_ran"])
    }

    @Test func anOperatorAbortSkipsTheRestRunsTheTeardownAndEndsTheRunAborted() throws {
        let run = try LitmusTestingTests.child("AbortFixture", fixture: "abort")
        #expect(!run.output.contains("BODY-RAN: afterAbort"), "\(run.output)")
        let steps = try Self.steps(run.dataDir)
        #expect(steps.map { $0["step_name"] as! String } == ["powerOn", "interrupted", "afterAbort", "outputOff"], "\(steps)")
        #expect(steps.map { $0["step_outcome"] as! String } == ["done", "done", "skipped", "done"])
        #expect(steps[2]["step_error"] as? String == "aborted by the operator (SIGINT)")
        #expect(steps[3]["step_role"] as? String == "teardown")
        #expect(steps.first?["run_outcome"] as? String == "aborted")
        #expect(try Self.measured(run.dataDir) == ["setup_ran", "interrupted_step_finished", "teardown_ran"])
    }

    @Test func aSuiteThatSaysNothingAboutOrderIsRefusedAtItsStationTrait() throws {
        let run = try LitmusTestingTests.child("UnorderedFixture", fixture: "unordered")
        #expect(run.status != 0)
        #expect(!run.output.contains("BODY-RAN"), "\(run.output)")
        #expect(run.output.contains("UnorderedFixture: the tests of a suite on a Litmus bench must run in a known order"), "\(run.output)")
        #expect(run.output.contains("Fix: add .serialized next to .litmusStation(...) on this suite"), "\(run.output)")
        // Located at the station trait, in the suite's attributes.
        #expect(run.output.contains("LitmusTestingFixtures.swift:"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: run.dataDir + "/runs"), "nothing ran, so no run was recorded")
    }
}
