// The board test that the runner tests start under `litmus run` (a child of a child): this
// test binary, filtered to RunnerFixture, with LITMUS_TESTING_FIXTURE=runner. The serial it
// gets from the runner decides what the board does: `FAIL` fails a limit, `CRASH` dies after
// recording a measurement, `ASK` asks the operator, `TIMEOUT` asks with a 0.5 s timeout, `HOLD` tells the test (through the file
// named in RUNNER_FIXTURE_MARKER) that it is running and waits for the operator's abort (or
// for `<marker>.go`).
import Foundation
import Litmus
@testable import LitmusTesting
import Testing

@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["LITMUS_TESTING_FIXTURE"] == "runner"), .serialized,
    .litmusStation("stations/bench_mock.yaml", dutSerial: "RUNNER-DEFAULT"),
    .litmusPrompts(["lid": .confirm("Close the fixture lid"), "variant": .choice("Which variant?", ["A", "B"], timeout: 0.5)]))
struct RunnerFixture {
    static var serial: String { ProcessInfo.processInfo.environment["LITMUS_DUT_SERIAL"] ?? "" }

    @Test(.litmusSetup) func powerOn() throws {
        try Litmus.instrument("psu").call("enable_output")
        try Litmus.measure("powered", 1)
    }

    @Test func lid() throws {
        if Self.serial.contains("HOLD"), let marker = ProcessInfo.processInfo.environment["RUNNER_FIXTURE_MARKER"] {
            _ = FileManager.default.createFile(atPath: marker, contents: Data("running".utf8))
            // Wait (bounded) for the runner's SIGINT to reach this process, or for the test to
            // say go on (`<marker>.go`: the operator chose not to abort).
            for _ in 0..<3000 where LitmusSession.shared.abortReason == nil && !FileManager.default.fileExists(atPath: marker + ".go") {
                usleep(10_000)
            }
            try Litmus.measure("held", 1)
        }
        if Self.serial.contains("TIMEOUT") {
            try Litmus.measure("variant_answered", try Litmus.prompt("variant") == .timedOut ? 0 : 1)
        }
        guard Self.serial.contains("ASK") else { return }
        let answer = try Litmus.prompt("lid")
        try Litmus.measure("lid_closed", answer == .confirmed(true) ? 1 : 0)
    }

    @Test(arguments: try Sweep.product(Axis("n", [1, 2, 3])))
    func rail(_ v: Vector) throws {
        try Litmus.use(v)
        let value = Self.serial.contains("FAIL") && v.double("n") == 2 ? 9.0 : 3.3
        try Litmus.verify("rail", value, unit: "V", limit: try Limit.between(3.2, 3.4, unit: "V"), connection: "vout_sense")
        if Self.serial.contains("CRASH") && v.double("n") == 2 { kill(getpid(), SIGKILL) }
    }

    @Test(.litmusTeardown) func outputOff() throws {
        try Litmus.instrument("psu").call("disable_output")
        try Litmus.measure("output_off", 1)
    }
}
