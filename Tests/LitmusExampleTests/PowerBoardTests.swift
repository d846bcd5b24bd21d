// Writing hardware tests with Swift Testing: a 3.3 V buck module on the mock bench.
//
//   swift test --filter PowerBoardTests            (this suite only)
//   LITMUS_DUT_SERIAL=SN0042 swift test ...        (the next board, without recompiling)
//
// The suite trait opens the bench (station, fixture, part) once per process; each @Test is a
// step of the DUT's run, each argument a vector, each retry a vector attempt. The run's Parquet
// file is written to the data directory when the test process ends, failed tests or not.
//
// `.serialized` runs the steps one at a time in source order (without it Swift Testing runs
// them in parallel, in random order, and the station trait refuses the suite). `powerOn` is a
// setup step (if it fails, the measurements are skipped); `outputOff` is a teardown step: it
// runs after failures and after an operator abort (Ctrl-C).
import Foundation
import Litmus
import LitmusTesting
import Testing

@Suite(
    .serialized,
    .litmusStation(
        "stations/bench_mock.yaml", dutSerial: "EXAMPLE-0001", lot: "L2026-11", operator: "ci", phase: "validation",
        project: "litmus-example-tests", guardband: 10, autoPrompts: true),
    .litmusSidecar(),  // PowerBoardTests.litmus.yaml: limits and sweeps editable without recompiling
    .litmusPrompts(["insert_dut": .confirm("Insert the DUT and close the fixture lid")]))
struct PowerBoardTests {
    /// Power the input up: the supply's own read-back is judged against a limit in code.
    @Test(.litmusSetup, .litmusLimits(["vin_readback": .between(4.9, 5.1, unit: "V")]))
    func powerOn() throws {
        try Litmus.prompt("insert_dut")
        let psu = try Litmus.instrument("psu")
        try psu.call("set_current_limit", .f64(1.0))
        try psu.call("set_voltage", .f64(5.0))
        try psu.call("enable_output")
        try Litmus.verify("vin_readback", try psu.call("measure_voltage").doubleValue, connection: "vin_supply")
        try Litmus.record("psu_identity", .text(try Litmus.station.roles.first { $0.role == "psu" }?.identity?.description ?? "?"))
    }

    /// The output rail across input voltage and load: limits from the part's spec (the band
    /// matching each point's vin, narrowed by the 10 % guardband), one retry per failed point.
    /// `Litmus.pins["VOUT"]` closes the fixture's switch route to the DMM for the attempt.
    @Test(
        .litmusCharacteristics(["vout"]), .litmusRetry(max: 1),
        arguments: try Sweep.product(Axis("vin", range: "5:12:3.5"), Axis("load", [0.1, 0.5])))
    func outputVoltage(_ point: Vector) throws {
        try Litmus.use(point)
        let psu = try Litmus.instrument("psu")
        if try Litmus.context.changed("vin") { try psu.call("set_voltage", .f64(point.double("vin")!)) }
        try Litmus.instrument("eload").call("set_current", .f64(point.double("load")!))
        try Litmus.observe("vin_measured", .number(try psu.call("measure_voltage").doubleValue ?? .nan), unit: "V")
        let vout = try Litmus.pins["VOUT", function: "dc_voltage"]
        try vout.verify("vout", try vout.instrument.call("measure_dc_voltage").doubleValue)
    }

    /// Ripple: 64 samples of the output go to the channel store (the row keeps their
    /// `channel://` URI); the peak-to-peak value is judged (its limit is in the sidecar file).
    @Test func outputRipple() throws {
        let vout = try Litmus.pins["VOUT", function: "dc_voltage"]
        var samples: [Double] = []
        for _ in 0..<64 { samples.append(try vout.instrument.call("measure_dc_voltage").doubleValue ?? .nan) }
        try Litmus.observe("vout_samples", .samples(samples), unit: "V")
        try vout.verify("ripple_pp", samples.max()! - samples.min()!, unit: "V")
    }

    /// Power into the load, with the sweep points and the limit from the sidecar file. The
    /// electronic load is a mocked role (bench_mock.yaml): its power readings cycle 1.6, 1.65,
    /// 1.7 W, so a point that reads 1.6 W fails once and passes on its retry.
    @Test(.litmusRetry(max: 1, delay: 0.01), arguments: try Sweep.sidecar(test: "loadPower"))
    func loadPower(_ point: Vector) throws {
        try Litmus.use(point)
        let eload = try Litmus.instrument("eload")
        try eload.call("set_current", .f64(point.double("load")!))
        try Litmus.verify("load_power", try eload.call("measure_power").doubleValue, connection: "vout_load")
    }

    /// Quiescent current: the part's one-sided limit (at most 5 mA), no limit in code.
    @Test func quiescentCurrent() throws {
        try Litmus.verify("iq", try Litmus.instrument("psu").call("measure_current").doubleValue)
    }

    /// A fault injected into the mocked load: the test proves the error reaches the test body
    /// as a driver error naming the operation (and the run records the patch).
    @Test(.litmusMocks(["eload.measure_current": .error(status: -2, message: "load did not answer")]))
    func loadTimeoutIsReported() throws {
        let eload = try Litmus.instrument("eload")
        let error = #expect(throws: DriverError.self) { try eload.call("measure_current") }
        #expect(error?.description.contains("load did not answer") == true)
        try Litmus.measure("load_fault_seen", error == nil ? 0 : 1)
    }

    /// Output off and load released, whatever happened before: a teardown step.
    @Test(.litmusTeardown)
    func outputOff() throws {
        try Litmus.instrument("eload").call("set_current", .f64(0))
        try Litmus.instrument("psu").call("disable_output")
    }
}
