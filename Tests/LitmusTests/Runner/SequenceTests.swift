import Foundation
import Litmus
import Testing

/// Sequence files: `litmus run --sequence` orders a `.litmusSequenced` suite (SequenceFixture,
/// started as a real child process) by the file; the order is read back from the run file
/// with DuckDB.
@Suite(.serialized) struct SequenceTests {
    static func write(_ yaml: String) throws -> String {
        let dir = "\(TestPlugins.scratch)/sequences-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/board.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func run(_ sequence: String, serial: String = "SN-SEQ-1") throws -> StationRunnerTests.Result {
        try StationRunnerTests.litmusRun(
            ["--serial", serial, "--auto-prompts", "--sequence", sequence], environment: ["LITMUS_TESTING_FIXTURE": "sequence"], suite: "SequenceFixture")
    }

    static func steps(_ dataDir: String) throws -> [[String: Any]] {
        try LitmusTestingTests.rows(dataDir, "step_name, step_outcome, step_role, step_error", where: "record_type = 'step' ORDER BY step_index")
    }

    @Test func theOrderInTheFileIsTheOrderOnTheBench() throws {
        let sequence = try Self.write(
            """
            steps:
              - test: powerOn
                role: setup
              - test: second
              - test: first
              - test: outputOff
                role: teardown
            """)
        let run = try Self.run(sequence)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("sequence board: powerOn, second, first, outputOff"), "\(run.stdout)")
        let runs = try StationRunnerTests.runs(run.dataDir)
        #expect(runs.first?["steps"] as? [String] == ["powerOn", "second", "first", "outputOff"], "reversed as the file says: \(runs)")
        #expect(runs.first?["measured"] as? [String] == ["powered", "second", "first", "output_off"], "not run: forVariantB, flaky: \(runs)")
        #expect(try Self.steps(run.dataDir).map { $0["step_role"] as? String } == ["setup", "main", "main", "teardown"])

        // The same suite in the source order's reverse: the file decides, not the source.
        let again = try Self.run(
            try Self.write("steps:\n  - test: outputOff\n  - test: first\n  - test: powerOn\n"))
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(try StationRunnerTests.runs(again.dataDir).first?["steps"] as? [String] == ["outputOff", "first", "powerOn"])
    }

    @Test func anUnknownStepIsALocatedErrorBeforeAnyBoard() throws {
        let sequence = try Self.write("steps:\n  - test: powerOn\n  - test: secnod\n")
        let run = try Self.run(sequence)
        #expect(run.status == 3, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("\(sequence):3:11:"), "located at the name: \(run.stderr)")
        #expect(run.stderr.contains("no test named secnod in the test product (did you mean second?)"), "\(run.stderr)")
        #expect(run.stderr.contains("Fix: use one of: first, flaky, forVariantB, outputOff, powerOn, second"), "the suite's tests: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: run.dataDir + "/runs"), "no board was tested")
    }

    @Test func aBadSequenceFileIsALocatedError() throws {
        let sequence = try Self.write("steps:\n  - test: powerOn\n    role: warmup\n  - test: first\n    run_if: {passed: second}\n")
        let run = try Self.run(sequence)
        #expect(run.status == 3, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("\(sequence):3:11:") && run.stderr.contains("role warmup is not a step role"), "\(run.stderr)")
        #expect(run.stderr.contains("\(sequence):5:22:") && run.stderr.contains("second is not an earlier step of this sequence"), "\(run.stderr)")
    }

    @Test func runIfSkipsAndRetryIsPerStep() throws {
        let sequence = try Self.write(
            """
            steps:
              - test: powerOn
                role: setup
              - test: flaky
                retry: 1
              - test: forVariantB
                run_if: {part: variant_b}
              - test: first
                run_if: {passed: flaky}
              - test: second
                run_if: {failed: flaky}
              - test: outputOff
                role: teardown
            """)
        let run = try Self.run(sequence)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let steps = try Self.steps(run.dataDir)
        #expect(steps.map { $0["step_name"] as! String } == ["powerOn", "flaky", "forVariantB", "first", "second", "outputOff"], "\(steps)")
        #expect(steps.map { $0["step_outcome"] as! String } == ["done", "passed", "skipped", "done", "skipped", "done"], "\(steps)")
        #expect((steps[2]["step_error"] as? String)?.contains("run_if not met (\(sequence):6:11): part is") == true, "\(steps[2])")
        #expect((steps[4]["step_error"] as? String)?.contains("flaky passed, not failed") == true, "\(steps[4])")
        let attempts = try LitmusTestingTests.rows(run.dataDir, "measurement_name, vector_retry", where: "record_type = 'measurement' AND measurement_name = 'flaky' ORDER BY vector_retry")
        #expect(attempts.count == 2, "the failed first attempt and its retry: \(attempts)")

        // Without the file's retry the same step fails.
        let strict = try Self.run(try Self.write("steps:\n  - test: flaky\n"))
        #expect(strict.status == 1, "\(strict.stdout)\n\(strict.stderr)")
    }

    @Test func aStepThatNeverStartsIsRecordedErroredInsteadOfHanging() throws {
        // The test binary run directly (no runner to check the names) with a step it does not have.
        let dataDir = "\(TestPlugins.scratch)/sequence-missing-\(UUID().uuidString)"
        let sequence = try Self.write("steps:\n  - test: powerOn\n  - test: ghost\n  - test: first\n")
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
        environment["LITMUS_LOCK_DIR"] = dataDir + "/locks"
        environment["LITMUS_TESTING_FIXTURE"] = "sequence"
        environment["LITMUS_SEQUENCE"] = sequence
        environment["LITMUS_SEQUENCE_TIMEOUT"] = "1"
        environment["LITMUS_DATA_DIR"] = dataDir
        environment["LITMUS_DUT_SERIAL"] = "SN-GHOST"
        environment["SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH"] = "64"  // what litmus run sets
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let result = try TestPlugins.run(binary, ["--testing-library", "swift-testing", "--filter", "SequenceFixture"], environment: environment)
        #expect(result.status != 0, "the missing step fails the test product: \(result.output)")
        #expect(result.output.contains("step ghost of sequence board did not start"), "\(result.output)")
        let steps = try Self.steps(dataDir)
        #expect(steps.map { $0["step_name"] as! String } == ["powerOn", "ghost", "first"], "\(steps)")
        #expect(steps.map { $0["step_outcome"] as! String } == ["done", "errored", "done"], "\(steps)")
        #expect((steps[1]["step_error"] as? String)?.contains("\(sequence):3:11: step ghost of sequence board did not start within 1.0 s") == true, "\(steps[1])")
    }

    /// Swift Testing runs at most 2 x cores test cases at once by default: a sequence longer
    /// than that would stall with every running case waiting for a step not yet started (seen
    /// in the whole product's run). Run without `litmus run` and without the width, the
    /// sequenced suite is refused at once with the fix instead.
    @Test func aSequenceLongerThanSwiftTestingsParallelWidthIsRefusedWithTheFix() throws {
        let dataDir = "\(TestPlugins.scratch)/sequence-width-\(UUID().uuidString)"
        var environment = ProcessInfo.processInfo.environment.filter {
            (!$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN")) && $0.key != "SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH"
        }
        environment["LITMUS_LOCK_DIR"] = dataDir + "/locks"
        environment["LITMUS_TESTING_FIXTURE"] = "sequence"
        environment["LITMUS_SEQUENCE"] = try Self.write("steps:\n  - test: powerOn\n  - test: first\n")
        environment["LITMUS_DATA_DIR"] = dataDir
        environment["LITMUS_DUT_SERIAL"] = "SN-WIDTH"
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let result = try TestPlugins.run(binary, ["--testing-library", "swift-testing", "--filter", "SequenceFixture"], environment: environment)
        #expect(result.status != 0)
        #expect(result.output.contains("which must all start at once"), "\(result.output)")
        #expect(result.output.contains("set SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=64"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/runs"), "no step ran")
    }

    @Test func aSequenceIsNeverSilentlyIgnoredNorMissing() throws {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
        let dataDir = "\(TestPlugins.scratch)/sequence-refused-\(UUID().uuidString)"
        environment["LITMUS_LOCK_DIR"] = dataDir + "/locks"
        environment["LITMUS_DATA_DIR"] = dataDir
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")

        // A sequenced suite without any sequence file: refused with the fix, nothing runs.
        environment["LITMUS_TESTING_FIXTURE"] = "sequence"
        let none = try TestPlugins.run(binary, ["--testing-library", "swift-testing", "--filter", "SequenceFixture"], environment: environment)
        #expect(none.status != 0)
        #expect(none.output.contains("SequenceFixture is .litmusSequenced but no sequence file is given"), "\(none.output)")

        // A sequence for a .serialized suite (which it cannot reorder): refused, not ignored.
        environment["LITMUS_TESTING_FIXTURE"] = "runner"
        environment["LITMUS_SEQUENCE"] = try Self.write("steps:\n  - test: outputOff\n  - test: powerOn\n")
        let serialized = try TestPlugins.run(binary, ["--testing-library", "swift-testing", "--filter", "RunnerFixture"], environment: environment)
        #expect(serialized.status != 0)
        #expect(serialized.output.contains("RunnerFixture is not .litmusSequenced and would run in its own order"), "\(serialized.output)")
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/runs"), "no step ran")
    }

    @Test func theShippedSequenceOrdersTheExampleSuiteUnderTheRunner() throws {
        let run = try StationRunnerTests.litmusRun(
            ["--serial", "SN-EX-1", "--auto-prompts", "--sequence", "stations/sequences/power_board.yaml"], suite: "PowerBoardSequence")
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let steps = try Self.steps(run.dataDir)
        #expect(steps.map { $0["step_name"] as! String } == ["powerOn", "quiescentCurrent", "outputVoltage", "lineRegulation", "outputOff"], "\(steps)")
        #expect(steps.map { $0["step_role"] as! String } == ["setup", "main", "main", "main", "teardown"], "roles from the file: \(steps)")
    }
}
