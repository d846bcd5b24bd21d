import Foundation
import Testing

/// `litmus run` on a real pseudo-terminal (Python's `pty` from .venv drives it like an
/// operator: waits for the board to run, presses Ctrl-C, reads the question, answers).
@Suite(.serialized) struct RunnerTerminalTests {
    struct Result {
        var status: Int
        var output: String
        var dataDir: String
        /// The script step that did not happen (nil: all did).
        var stuck: String?
    }

    /// Runs `litmus run <arguments> -- <this test binary> --filter RunnerFixture` on a pty and
    /// plays `script`: `["file", path]` waits for a file, `["expect", text]` for output,
    /// `["send", text]` types, `["touch", path]` creates a file.
    static func onATerminal(_ arguments: [String], environment extra: [String: String] = [:], script: [[String]]) throws -> Result {
        let dataDir = "\(TestPlugins.scratch)/runner-pty-\(UUID().uuidString)"
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
        environment["LITMUS_LOCK_DIR"] = dataDir + "/locks"
        environment["LITMUS_TESTING_FIXTURE"] = "runner"
        environment.merge(extra) { _, new in new }
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let argv = [RunsCLITests.litmus, "run", "--station", "stations/bench_mock.yaml", "--data-dir", dataDir] + arguments
            + ["--", binary, "--testing-library", "swift-testing", "--filter", "RunnerFixture"]
        let run = try TerminalSession.run(argv, environment: environment, directory: TestPlugins.packageRoot, script: script, guardSeconds: 180)
        return Result(status: run.status, output: run.output, dataDir: dataDir, stuck: run.stuck)
    }

    static func marker() -> String { "\(TestPlugins.scratch)/runner-marker-\(UUID().uuidString)" }

    @Test func ctrlCAsksAndNoLetsTheBoardGoOn() throws {
        let marker = Self.marker()
        let run = try Self.onATerminal(
            ["--serial", "SN-HOLD-N1", "--auto-prompts"], environment: ["RUNNER_FIXTURE_MARKER": marker],
            script: [["file", marker], ["send", "\u{03}"], ["expect", "abort board SN-HOLD-N1? [y/N]"], ["send", "n\r"],
                     ["expect", "continuing board SN-HOLD-N1"], ["touch", marker + ".go"]])
        #expect(run.stuck == nil, "\(run.output)")
        #expect(run.status == 0, "\(run.output)")
        let runs = try StationRunnerTests.runs(run.dataDir)
        #expect(runs.map { $0["outcome"] as! String } == ["passed"], "\(runs)")
        #expect(runs.first?["measured"] as? [String] == ["powered", "held", "rail", "rail", "rail", "output_off"], "nothing skipped: \(runs)")
    }

    @Test func ctrlCAnsweredYesAbortsTheBoardAndTeardownRuns() throws {
        let marker = Self.marker()
        let run = try Self.onATerminal(
            ["--serial", "SN-HOLD-Y1", "--auto-prompts"], environment: ["RUNNER_FIXTURE_MARKER": marker],
            script: [["file", marker], ["send", "\u{03}"], ["expect", "abort board SN-HOLD-Y1? [y/N]"], ["send", "y\r"]])
        #expect(run.stuck == nil, "\(run.output)")
        #expect(run.status == 2, "\(run.output)")
        #expect(run.output.contains("SN-HOLD-Y1: aborted"), "\(run.output)")
        #expect(run.output.contains("skipped RunnerFixture/rail: aborted by the operator (SIGINT)"), "\(run.output)")
        let runs = try StationRunnerTests.runs(run.dataDir)
        #expect(runs.map { $0["outcome"] as! String } == ["aborted"], "\(runs)")
        #expect(runs.first?["measured"] as? [String] == ["powered", "held", "output_off"], "rail skipped, teardown ran: \(runs)")
    }

    @Test func aSecondCtrlCWhileAskingAbortsAndEndsTheRunnerAfterTeardown() throws {
        let marker = Self.marker()
        let run = try Self.onATerminal(
            ["--serial", "SN-HOLD-C1", "--serial", "SN-HOLD-C2", "--auto-prompts"], environment: ["RUNNER_FIXTURE_MARKER": marker],
            script: [["file", marker], ["send", "\u{03}"], ["expect", "abort board SN-HOLD-C1? [y/N]"], ["send", "\u{03}"]])
        #expect(run.stuck == nil, "\(run.output)")
        #expect(run.status == 2, "\(run.output)")
        #expect(run.output.contains("the runner ends after this board's teardown"), "\(run.output)")
        let runs = try StationRunnerTests.runs(run.dataDir)
        #expect(runs.map { $0["serial"] as! String } == ["SN-HOLD-C1"], "the second board is not tested: \(runs)")
        #expect(runs.first?["outcome"] as? String == "aborted")
        #expect(runs.first?["measured"] as? [String] == ["powered", "held", "output_off"], "teardown ran: \(runs)")
    }
}
