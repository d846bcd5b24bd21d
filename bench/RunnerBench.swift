import Foundation
import Litmus
import LitmusRunner

/// The station runner's overhead per board: `StationRunner.test(serial:)` (serial validated,
/// test process spawned with the run identity, its event log followed to the verdict, run file
/// located) against spawning the same command directly and waiting for it, on the mock bench,
/// interleaved, best of the rounds. The command is litmus-example (a harness executable).
func runRunnerBenchmark() {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-runner-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    setenv("LITMUS_LOCK_DIR", root + "/locks", 1)
    let example = benchDirectory() + "/litmus-example"
    let rounds = 7
    print("Station runner: overhead per board against starting the test command directly (litmus-example, best of \(rounds))")
    do {
        var environment = ProcessInfo.processInfo.environment
        environment["LITMUS_DATA_DIR"] = root + "/direct"
        let runner = try StationRunner(
            .init(
                station: "stations/bench_mock.yaml", command: [example, "--serial", "{serial}", "--data", root + "/runner"],
                dataDir: root + "/runner"))
        var direct = Double.infinity, viaRunner = Double.infinity
        for round in 0..<rounds {
            var t0 = now()
            let child = try ChildProcess.spawn(
                [example, "--serial", "BENCH-D\(round)", "--data", root + "/direct"], environment: environment, output: root + "/direct.log")
            guard child.wait()?.succeeded == true else { throw BenchError(message: "litmus-example failed: see \(root)/direct.log") }
            direct = min(direct, Double(now() - t0) / 1e6)

            t0 = now()
            let board = try runner.test(serial: "BENCH-R\(round)")
            guard board.outcome == .passed || board.outcome == .done, board.runFile != nil else {
                throw BenchError(message: "the runner's board ended \(board.outcome): \(board.reason ?? "-")")
            }
            viaRunner = min(viaRunner, Double(now() - t0) / 1e6)
        }
        print(String(format: "  %-52@ %9.1f ms/board", "litmus-example started directly (baseline)" as NSString, direct))
        print(String(format: "  %-52@ %9.1f ms/board  %5.2fx baseline", "the same under StationRunner.test(serial:)" as NSString, viaRunner, viaRunner / direct))
        let overhead = viaRunner - direct
        print(String(format: "Goal: <= 200 ms runner overhead per board: %@ (%.1f ms)", overhead <= 200 ? "met" : "NOT met", overhead))
    } catch {
        print("error: \(error)")
    }
}
