import Foundation
import Litmus
import LitmusRunner
import Testing

/// `litmus run` end to end: the real CLI starts this test binary (filtered to RunnerFixture)
/// once per board as a child process, follows its event log, answers its prompts over the
/// Unix socket, and the runs are read back from disk (DuckDB, the event reader).
@Suite(.serialized) struct StationRunnerTests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var dataDir: String
    }

    /// Runs `litmus run <arguments> -- <this test binary> ... --filter <suite>` with
    /// `input` on its standard input.
    static func litmusRun(
        _ arguments: [String], input: String = "", environment extra: [String: String] = [:], dataDir: String? = nil, extraCommand: [String] = [],
        suite: String = "RunnerFixture",
        whileRunning: (Process) -> Void = { _ in }
    ) throws -> Result {
        let dataDir = dataDir ?? "\(TestPlugins.scratch)/runner-\(UUID().uuidString)"
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
        environment["LITMUS_LOCK_DIR"] = dataDir + "/locks"
        environment["LITMUS_TESTING_FIXTURE"] = "runner"
        environment.merge(extra) { _, new in new }
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RunsCLITests.litmus)
        process.arguments = ["run", "--station", "stations/bench_mock.yaml", "--data-dir", dataDir] + arguments
            + ["--", binary, "--testing-library", "swift-testing", "--filter", suite] + extraCommand
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: TestPlugins.packageRoot)
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        whileRunning(process)
        // Read both pipes to the end without letting one fill up.
        let group = DispatchGroup()
        nonisolated(unsafe) var err = Data()
        DispatchQueue.global().async(group: group) { err = stderr.fileHandleForReading.readDataToEndOfFile() }
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self),
            dataDir: dataDir)
    }

    /// One row per run file: serial, outcome, operator, phase, start, the steps in order.
    static func runs(_ dataDir: String) throws -> [[String: Any]] {
        let program = """
            import duckdb, glob, json, sys
            out = []
            for f in glob.glob(sys.argv[1] + "/runs/**/*.parquet", recursive=True):
                run = duckdb.sql(f"SELECT dut_serial, run_outcome, operator_id, test_phase, run_started_at FROM read_parquet('{f}') WHERE record_type = 'run'").fetchall()[0]
                steps = [r[0] for r in duckdb.sql(f"SELECT step_name FROM read_parquet('{f}') WHERE record_type = 'step' ORDER BY step_index").fetchall()]
                measured = [r[0] for r in duckdb.sql(f"SELECT measurement_name FROM read_parquet('{f}') WHERE record_type = 'measurement'").fetchall()]
                out.append({"serial": run[0], "outcome": run[1], "operator": run[2], "phase": run[3], "started": str(run[4]), "steps": steps, "measured": measured, "file": f})
            out.sort(key=lambda r: r["started"])
            print(json.dumps(out))
            """
        return try TestPython.json(program, [dataDir]) as! [[String: Any]]
    }

    @Test func serialsFromAFileRunInOrderWithTheVerdictsInTheExitStatus() throws {
        let file = "\(TestPlugins.scratch)/serials-\(UUID().uuidString).txt"
        try "# today's boards\nSN-A1\n\nSN-FAIL-B2\nSN-C3\n".write(toFile: file, atomically: true, encoding: .utf8)
        let run = try Self.litmusRun(["--serials-from", file, "--operator", "ci", "--auto-prompts"])
        #expect(run.status == 1, "a failed board makes the exit status 1\n\(run.stdout)\n\(run.stderr)")

        let runs = try Self.runs(run.dataDir)
        #expect(runs.map { $0["serial"] as! String } == ["SN-A1", "SN-FAIL-B2", "SN-C3"], "in the file's order: \(runs)")
        #expect(runs.map { $0["outcome"] as! String } == ["passed", "failed", "passed"])
        for r in runs {
            #expect(r["operator"] as? String == "ci")
            #expect(r["phase"] as? String == "development")
            #expect(r["steps"] as? [String] == ["powerOn", "lid", "rail", "outputOff"], "source order: \(r)")
            #expect((r["measured"] as! [String]).last == "output_off", "teardown ran: \(r)")
        }

        // The verdicts, in order, with the failing measurement in full and the run file.
        let verdicts = run.stdout.split(separator: "\n").filter { $0.hasPrefix("  SN-") }.map { String($0) }
        #expect(verdicts.map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces) } == ["SN-A1", "SN-FAIL-B2", "SN-C3"], "\(run.stdout)")
        #expect(run.stdout.contains("RunnerFixture/rail rail = 9 V, limit [3.2, 3.4] failed; pin VOUT, instrument dmm (SIM0::dmm::INSTR), attempt 1"), "\(run.stdout)")
        for r in runs { #expect(run.stdout.contains("run file: \(r["file"] as! String)"), "\(run.stdout)") }
        #expect(run.stdout.contains("3 board(s) tested, worst outcome failed"))
    }

    @Test func progressIsPlainLinesWhenNotATerminal() throws {
        let run = try Self.litmusRun(["--serial", "SN-P1", "--serial", "SN-P2", "--auto-prompts"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").filter { $0.hasPrefix("progress: SN-P") }
        #expect(!run.stdout.contains("\r") && !run.stdout.contains("\u{1B}["), "no in-place redraw when not a terminal")
        // Steps appear in order, each step once per vector change; the second board knows n.
        let first = lines.filter { $0.hasPrefix("progress: SN-P1") }
        #expect(first.contains { $0.contains("step 1 powerOn (setup)") }, "\(first)")
        #expect(first.contains { $0.contains("step 3 rail · vector 2 · rail = 3.3 V [3.2, 3.4] passed") }, "\(first)")
        #expect(first.contains { $0.contains("step 4 outputOff (teardown)") }, "\(first)")
        let second = lines.filter { $0.hasPrefix("progress: SN-P2") }
        #expect(second.contains { $0.contains("step 3/4 rail · vector 3/3") }, "an estimate from the first board: \(second)")
        #expect(second.contains { $0.contains(" / ~") }, "\(second)")
    }

    @Test func theEstimateComesFromEarlierSessionsOfTheSameTestCommand() throws {
        let first = try Self.litmusRun(["--serial", "SN-E1", "--auto-prompts"])
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(!first.stdout.contains(" / ~"), "nothing to estimate from in a new data directory: \(first.stdout)")

        // A new runner on the same data directory knows n, m and the time from its first board.
        let second = try Self.litmusRun(["--serial", "SN-E2", "--auto-prompts"], dataDir: first.dataDir)
        #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
        let lines = second.stdout.split(separator: "\n").filter { $0.hasPrefix("progress: SN-E2") }
        #expect(lines.contains { $0.contains("step 3/4 rail · vector 3/3") }, "\(lines)")
        #expect(lines.contains { $0.contains(" / ~") }, "\(lines)")

        // Another test command on the same data directory is another test: no estimate.
        let other = try Self.litmusRun(["--serial", "SN-E3", "--auto-prompts"], dataDir: first.dataDir, extraCommand: ["--filter", "RunnerFixture"])
        #expect(other.status == 0, "\(other.stdout)\n\(other.stderr)")
        #expect(!other.stdout.contains(" / ~") && !other.stdout.contains("step 3/4"), "\(other.stdout)")
    }

    @Test func aCrashedBoardShowsAsAbortedWithWhatItRecorded() throws {
        let run = try Self.litmusRun(["--serial", "SN-CRASH-1", "--auto-prompts"])
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("SN-CRASH-1: aborted (the test process killed by signal 9 (SIGKILL) before ending its run)"), "\(run.stdout)")
        let runs = try Self.runs(run.dataDir)
        #expect(runs.count == 1)
        #expect(runs.first?["outcome"] as? String == "aborted")
        #expect((runs.first?["measured"] as? [String])?.contains("rail") == true, "the first case, finished before the crash, is on disk: \(runs)")
        #expect(run.stdout.contains("run file: \(runs.first?["file"] as? String ?? "?")"))
    }

    @Test func aPromptIsAnsweredInTheRunnerAndRecordedWithWhoAnswered() throws {
        let run = try Self.litmusRun(["--serial", "SN-ASK-1", "--operator", "alice"], input: "maybe\ny\n")
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("prompt: Close the fixture lid [y/n]"), "\(run.stdout)")
        let sessions = EventReader(dataDir: run.dataDir).sessions()
        #expect(sessions.count == 1)
        let events = try EventReader(dataDir: run.dataDir).events(sessionID: sessions[0].id).events
        let answered = events.compactMap { e -> (PromptAnswered, Timestamp)? in
            if case .promptAnswered(let a) = e.body { return (a, e.occurredAt) } else { return nil }
        }
        #expect(answered.count == 1)
        #expect(answered.first?.0.source == "operator:alice@terminal")
        #expect(answered.first?.0.value == "yes" && answered.first?.0.response == "answered")
        #expect(try Self.runs(run.dataDir).first?["measured"] as? [String] == ["powered", "lid_closed", "rail", "rail", "rail", "output_off"])
    }

    @Test func productionIsRefusedOnABenchWithMockedRoles() throws {
        let run = try Self.litmusRun(["--serial", "SN-1", "--phase", "production"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("phase production refused: station stations/bench_mock.yaml has mocked roles (eload)"), "\(run.stderr)")
        #expect(run.stderr.contains("Fix:"))
        #expect(!FileManager.default.fileExists(atPath: run.dataDir + "/runs"))
    }

    @Test func aBadSerialIsRefusedWithThePattern() throws {
        let run = try Self.litmusRun(["--serial", "XX-1", "--serial-pattern", "SN-[A-Z0-9-]+", "--auto-prompts"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("serial XX-1 does not match the pattern SN-[A-Z0-9-]+"), "\(run.stderr)")
    }

    @Test func ctrlCAtTheRunnerAbortsTheBoardAndItsTeardownStillRuns() throws {
        let marker = "\(TestPlugins.scratch)/runner-marker-\(UUID().uuidString)"
        let run = try Self.litmusRun(["--serial", "SN-HOLD-1", "--auto-prompts"], environment: ["RUNNER_FIXTURE_MARKER": marker]) { runner in
            // Once the board's test is in its second step, the operator presses Ctrl-C.
            for _ in 0..<3000 where !FileManager.default.fileExists(atPath: marker) { usleep(10_000) }
            kill(runner.processIdentifier, SIGINT)
        }
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("aborting this board: its teardown still runs"), "\(run.stderr)")
        #expect(run.stdout.contains("SN-HOLD-1: aborted"), "\(run.stdout)")
        #expect(run.stdout.contains("skipped RunnerFixture/rail: aborted by the operator (SIGINT)"), "\(run.stdout)")
        let runs = try Self.runs(run.dataDir)
        #expect(runs.first?["outcome"] as? String == "aborted")
        #expect(runs.first?["steps"] as? [String] == ["powerOn", "lid", "rail", "outputOff"])
        #expect(runs.first?["measured"] as? [String] == ["powered", "held", "output_off"], "the running step finished, rail was skipped, teardown ran")
    }

    @Test func onATerminalProgressIsRedrawnInPlaceAndTheVerdictIsLarge() throws {
        // A real pseudo-terminal: util-linux `script` runs the runner on one.
        let dataDir = "\(TestPlugins.scratch)/runner-tty-\(UUID().uuidString)"
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let command = [
            RunsCLITests.litmus, "run", "--station", "stations/bench_mock.yaml", "--data-dir", dataDir, "--serial", "SN-FAIL-TTY",
            "--auto-prompts", "--", binary, "--testing-library", "swift-testing", "--filter", "RunnerFixture",
        ].joined(separator: " ")
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
        environment["LITMUS_LOCK_DIR"] = dataDir + "/locks"
        environment["LITMUS_TESTING_FIXTURE"] = "runner"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qefc", command, "/dev/null"]
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: TestPlugins.packageRoot)
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        let out = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try stdin.fileHandleForWriting.close()
        #expect(process.terminationStatus == 1, "\(out)")
        #expect(out.contains("\r\u{1B}[2KSN-FAIL-TTY · step"), "redrawn in place: \(out.debugDescription)")
        #expect(!out.contains("progress: "), "no plain progress lines on a terminal")
        #expect(out.contains("#####  ###  ##### #"), "the large FAIL: \(out)")
        #expect(out.contains("rail = 9 V, limit [3.2, 3.4] failed; pin VOUT, instrument dmm (SIM0::dmm::INSTR), attempt 1"), "\(out)")
    }

    @Test func aPromptNobodyCanAnswerIsCancelledInsteadOfHanging() throws {
        // Standard input ends without an answer and the prompt has no timeout.
        let run = try Self.litmusRun(["--serial", "SN-ASK-2", "--operator", "alice"], input: "")
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("the prompt \"Close the fixture lid\" is cancelled"), "\(run.stderr)")
        let steps = try LitmusTestingTests.rows(run.dataDir, "step_name, step_outcome, step_error", where: "record_type = 'step' ORDER BY step_index")
        #expect(steps.map { $0["step_outcome"] as! String } == ["done", "errored", "passed", "done"], "\(steps)")
        #expect(try Self.runs(run.dataDir).first?["outcome"] as? String == "errored")
    }

    @Test func aPromptNobodyAnswersInTimeIsRecordedTimedOut() throws {
        let run = try Self.litmusRun(["--serial", "SN-TIMEOUT-1", "--operator", "alice"], input: "")
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("prompt: Which variant? [1=A, 2=B] (0.5 s)"), "\(run.stdout)")
        let sessions = EventReader(dataDir: run.dataDir).sessions()
        let events = try EventReader(dataDir: run.dataDir).events(sessionID: try #require(sessions.first).id).events
        let answered = events.compactMap { e -> PromptAnswered? in
            if case .promptAnswered(let a) = e.body { return a } else { return nil }
        }
        #expect(answered.map(\.response) == ["timed_out"])
        #expect(answered.first?.source == "timeout" && answered.first?.value == nil)
        #expect((try Self.runs(run.dataDir).first?["measured"] as? [String])?.contains("variant_answered") == true)
    }

    @Test func onceTestsOneBoardFromStandardInput() throws {
        let run = try Self.litmusRun(["--once", "--auto-prompts"], input: "SN-O1\nSN-O2\n")
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(try Self.runs(run.dataDir).map { $0["serial"] as! String } == ["SN-O1"])
    }
}
