import Foundation
import LitmusRunner
import Testing

/// The runner's test process: what it writes reaches its log file.
@Suite struct RunnerChildProcessTests {
    @Test func standardOutputAndErrorBothReachTheLogFile() throws {
        // Regression: standard output was opened close-on-exec, so everything a test printed
        // to it (Swift Testing's `--list-tests`, a harness's prints) was lost.
        let file = "\(TestPlugins.scratch)/child-output-\(UUID().uuidString).log"
        let child = try LitmusRunner.ChildProcess.spawn(["/bin/sh", "-c", "echo out; echo err >&2"], environment: ["PATH": "/usr/bin:/bin"], output: file)
        #expect(child.wait() == .exited(0))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "out\nerr\n")
    }
}
