// What a limit failure looks like. Kept out of the default test run; run it with
//
//   LITMUS_SHOW_FAILURE=1 swift test --filter FailingExampleTests
//
// and read the issue: the value, the limit, the characteristic, the DUT pin, the instrument
// and the vector. The run's Parquet file records the failure like any other row.
import Foundation
import Litmus
import LitmusTesting
import Testing

@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["LITMUS_SHOW_FAILURE"] == "1", "set LITMUS_SHOW_FAILURE=1 to see a limit failure"),
    .serialized,
    .litmusStation("stations/bench_mock.yaml", dutSerial: "EXAMPLE-FAIL-0001", phase: "validation", project: "litmus-example-tests"))
struct FailingExampleTests {
    /// The simulated DMM reads 3.3012 V; a limit that tight fails it.
    @Test(.litmusLimits(["vout": .between(3.25, 3.30, unit: "V")]))
    func outputVoltageTooTight() throws {
        let vout = try Litmus.pins["VOUT", function: "dc_voltage"]
        try vout.verify("vout", try vout.instrument.call("measure_dc_voltage").doubleValue)
    }
}
