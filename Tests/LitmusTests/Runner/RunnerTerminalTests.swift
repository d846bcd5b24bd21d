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
        environment["TERM"] = "xterm"
        environment.merge(extra) { _, new in new }
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let argv = [RunsCLITests.litmus, "run", "--station", "stations/bench_mock.yaml", "--data-dir", dataDir] + arguments
            + ["--", binary, "--testing-library", "swift-testing", "--filter", "RunnerFixture"]
        let spec: [String: Any] = ["argv": argv, "env": environment, "cwd": TestPlugins.packageRoot, "script": script]
        let program = """
            import json, os, pty, select, signal, sys, time
            spec = json.loads(sys.argv[1])
            pid, fd = pty.fork()
            if pid == 0:
                os.chdir(spec["cwd"])
                os.execve(spec["argv"][0], spec["argv"], spec["env"])
            out, seen, eof, stuck = b"", 0, False, None
            deadline = time.time() + 180  # a guard against a hang, not a timing assert
            def pump(timeout):
                global out, eof
                if eof:
                    time.sleep(timeout)
                    return
                r, _, _ = select.select([fd], [], [], timeout)
                if r:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        eof = True
                    out += data
            for kind, arg in spec["script"]:
                if kind == "file":
                    while not os.path.exists(arg) and not eof and time.time() < deadline:
                        pump(0.02)
                    ok = os.path.exists(arg)
                elif kind == "expect":
                    while out.find(arg.encode(), seen) < 0 and not eof and time.time() < deadline:
                        pump(0.02)
                    at = out.find(arg.encode(), seen)
                    ok = at >= 0
                    if ok:
                        seen = at + len(arg)
                elif kind == "send":
                    os.write(fd, arg.encode())
                    ok = True
                elif kind == "touch":
                    open(arg, "w").close()
                    ok = True
                if not ok:
                    stuck = kind + " " + arg
                    break
            while not eof and time.time() < deadline:
                pump(0.1)
            if not eof:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            print(json.dumps({"status": os.waitstatus_to_exitcode(status), "output": out.decode(errors="replace"), "stuck": stuck}))
            """
        let text = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let result = try TestPython.json(program, [text]) as! [String: Any]
        return Result(status: result["status"] as! Int, output: result["output"] as! String, dataDir: dataDir, stuck: result["stuck"] as? String)
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
