// A suite whose order a station engineer edits: stations/sequences/power_board.yaml decides
// which of these steps run, in which order, with what retry, stop-on-failure, role and run_if.
//
//   litmus run --station stations/bench_mock.yaml --sequence stations/sequences/power_board.yaml -- \
//     .build/debug/litmusPackageTests.xctest --testing-library swift-testing --filter PowerBoardSequence
//
// `.litmusSequenced` instead of `.serialized`: Swift Testing schedules the tests in parallel
// and the station trait admits them one at a time in the file's order. A parameterized step
// keeps its vectors in order with `.serialized` on the test itself. Every step must start at
// once for the gate to order them: `litmus run --sequence` lifts Swift Testing's limit on test
// cases run at once (SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH), so this suite runs only
// under a sequence (LITMUS_SEQUENCE), not in a plain `swift test` of the whole product.
import Foundation
import Litmus
import LitmusTesting
import Testing

@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["LITMUS_SEQUENCE"] != nil),
    .litmusStation("stations/bench_mock.yaml", dutSerial: "EXAMPLE-SEQ-0001", autoPrompts: true),
    .litmusSequenced("stations/sequences/power_board.yaml"))
struct PowerBoardSequence {
    @Test func powerOn() throws {
        let psu = try Litmus.instrument("psu")
        try psu.call("set_current_limit", .f64(1.0))
        try psu.call("set_voltage", .f64(5.0))
        try psu.call("enable_output")
        try Litmus.verify("vin_readback", try psu.call("measure_voltage").doubleValue, limit: try Limit.between(4.9, 5.1, unit: "V"))
    }

    /// The part's one-sided limit (at most 5 mA).
    @Test func quiescentCurrent() throws {
        try Litmus.verify("iq", try Litmus.instrument("psu").call("measure_current").doubleValue)
    }

    /// The output rail at two loads (the part's spec limits for vin = 5 V).
    @Test(.serialized, .litmusCharacteristics(["vout"]), arguments: try Sweep.product(Axis("vin", [5.0]), Axis("load", [0.1, 0.5])))
    func outputVoltage(_ point: Vector) throws {
        try Litmus.use(point)
        try Litmus.instrument("eload").call("set_current", .f64(point.double("load")!))
        let vout = try Litmus.pins["VOUT", function: "dc_voltage"]
        try vout.verify("vout", try vout.instrument.call("measure_dc_voltage").doubleValue)
    }

    /// Run only for the 3.3 V part, and only when the output passed.
    @Test(.serialized, .litmusCharacteristics(["vout"]), arguments: try Sweep.product(Axis("vin", [5.0, 12.0])))
    func lineRegulation(_ point: Vector) throws {
        try Litmus.use(point)
        try Litmus.instrument("psu").call("set_voltage", .f64(point.double("vin")!))
        let vout = try Litmus.pins["VOUT", function: "dc_voltage"]
        try vout.verify("vout", try vout.instrument.call("measure_dc_voltage").doubleValue)
    }

    @Test func outputOff() throws {
        try Litmus.instrument("eload").call("set_current", .f64(0))
        try Litmus.instrument("psu").call("disable_output")
    }
}
