// The board test that `litmus serve` starts in the browser tests (a child of a child): this
// test binary, filtered to ServeFixture, with LITMUS_TESTING_FIXTURE=serve. The serial decides
// what the board does: `ASK` asks the operator to close the lid (with a picture from the
// station folder), `FAIL` fails the rail at vin 9 V, `SLOW` takes 0.3 s per vector.
import Foundation
import Litmus
@testable import LitmusTesting
import Testing

@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["LITMUS_TESTING_FIXTURE"] == "serve"), .serialized,
    .litmusStation("stations/bench_mock.yaml", dutSerial: "SERVE-DEFAULT"),
    .litmusPrompts(["lid": .confirm("Close the fixture lid", image: "images/fixture_lid.svg")]))
struct ServeFixture {
    static var serial: String { ProcessInfo.processInfo.environment["LITMUS_DUT_SERIAL"] ?? "" }

    @Test(.litmusSetup) func powerOn() throws {
        try Litmus.instrument("psu").call("enable_output")
        try Litmus.measure("powered", 1)
    }

    @Test func lid() throws {
        guard Self.serial.contains("ASK") else { return }
        let answer = try Litmus.prompt("lid")
        try Litmus.measure("lid_closed", answer == .confirmed(true) ? 1 : 0)
    }

    @Test(.serialized, arguments: try Sweep.product(Axis("vin", [5, 7, 9, 12])))
    func rail(_ v: Vector) throws {
        try Litmus.use(v)
        if Self.serial.contains("SLOW") { usleep(300_000) }
        let vin = v.double("vin") ?? 0
        let value = Self.serial.contains("FAIL") && vin == 9 ? 3.6 : 3.28 + vin * 0.002
        try Litmus.verify("vout", value, unit: "V", limit: try Limit.between(3.2, 3.4, unit: "V"), connection: "vout_sense")
    }

    @Test(.litmusTeardown) func outputOff() throws {
        try Litmus.instrument("psu").call("disable_output")
        try Litmus.measure("output_off", 1)
    }
}
