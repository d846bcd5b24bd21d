import Foundation
import Testing

@testable import Litmus

/// The simulated SCPI transport of the mock plugin (`SIM::<device>::INSTR`).
@Suite struct SimulatedTransportTests {
    func open(_ device: String, _ options: [String: InstrumentValue] = [:]) throws -> Instrument {
        try TestPlugins.registry.open("SIM::\(device)::INSTR", options: options)
    }

    @Test func builtInDevicesAnswerDialogues() throws {
        let dmm = try open("dmm")
        #expect(try dmm.identify() == InstrumentIdentity(manufacturer: "Litmus", model: "SIM-DMM", serial: "SIM0001", firmware: "1.0"))
        #expect(try dmm.queryNumber("MEAS:VOLT:DC?") == 5.0012)
        // SCPI short and long forms, any case, a leading colon.
        #expect(try dmm.query("measure:voltage:dc?") == "5.0012")
        #expect(try dmm.query(":MEASURE:VOLT:DC?") == "5.0012")
        #expect(try dmm.queryNumbers("FETC:ARR?") == [1.5, 2.5, 3.5])
        #expect(try dmm.queryBinaryBlock("CURV?").count == 1000)
        try dmm.checkErrors()
    }

    @Test func propertiesHaveGettersSettersRangesAndReset() throws {
        let psu = try open("psu")
        #expect(try psu.queryNumber("VOLT?") == 0)
        try psu.write("VOLT 12.5")
        #expect(try psu.queryNumber("VOLTage?") == 12.5)
        #expect(try psu.queryNumber("MEAS:VOLT?") == 12.5)
        try psu.write("VOLT 99")  // out of range: rejected, queued as an error
        #expect(try psu.queryNumber("VOLT?") == 12.5)
        let errors = try #require(throws: InstrumentErrors.self) { try psu.checkErrors() }
        #expect(errors.errors.map(\.code) == [-222])
        try psu.write("OUTP ON")
        #expect(try psu.query("OUTP?") == "ON")
        try psu.write("OUTP MAYBE")
        #expect(try psu.drainErrors().errors.first?.code == -224)
        try psu.write("*RST")
        #expect(try psu.queryNumber("VOLT?") == 0)
    }

    @Test func errorQueueStatusByteAndClear() throws {
        let dmm = try open("dmm")
        try dmm.write("FOO:BAR")
        let stb = try dmm.readSTB()
        #expect(stb & 0x04 != 0)  // EAV: error queue not empty
        #expect(try dmm.query("SYST:ERR?") == "-113,\"Undefined header\"")
        #expect(try dmm.query("SYSTem:ERRor:NEXT?") == "0,\"No error\"")
        try dmm.write("*IDN?")
        #expect(try dmm.readSTB() & 0x10 != 0)  // MAV
        try dmm.clear()
        #expect(try dmm.readSTB() & 0x10 == 0)
        let timeout = try #require(throws: DriverError.self) { try dmm.read() }
        #expect(timeout.status == .timeout)
        // Queue overflow keeps the first entries and marks the overflow.
        for _ in 0..<25 { try dmm.write("NOPE") }
        let (errors, _) = try dmm.drainErrors(limit: 40)
        #expect(errors.count == 20)
        #expect(errors.last?.code == -350)
        try dmm.write("NOPE")
        try dmm.write("*CLS")
        try dmm.checkErrors()
    }

    @Test func compoundCommandsAnswerInOneMessage() throws {
        let psu = try open("psu")
        #expect(try psu.query("VOLT 3.3;VOLT?;*OPC?") == "3.3;1")
    }

    @Test func patchedRepliesAndTrace() throws {
        let dmm = try open("dmm")
        let control = try #require(dmm.mock)
        try control.clearTrace()
        try control.patchReply("MEAS:VOLT:DC?", reply: "9.999", times: 1)
        #expect(try dmm.query("MEAS:VOLT:DC?") == "9.999")
        #expect(try dmm.query("MEAS:VOLT:DC?") == "5.0012")
        let trace = try control.trace()
        #expect(trace.map(\.operation).prefix(2) == ["write", "read"])
        #expect(trace.first?.data?.hasPrefix("MEAS:VOLT:DC?") == true)
        // Typed-mock patches make no sense on a SCPI session, and say so.
        #expect(throws: DriverError.self) { try dmm.call("measure_dc_voltage") }
    }

    @Test func deviceDescriptionFileErrorsAreLocated() throws {
        let path = "\(TestPlugins.scratch)/broken-\(UUID().uuidString).yaml"
        try Data("devices:\n  dmm:\n    dialogues:\n      - {q: \"A?\", r: [unclosed\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: DriverError.self) { try open("dmm", ["description": .string(path)]) }
        #expect(error.status == .invalidArgument)
        #expect(error.message.contains(path))
        #expect(error.message.contains(":4:") || error.message.contains("line 4"))

        let missing = try #require(throws: DriverError.self) { try open("nosuch") }
        #expect(missing.message.contains("dmm"))  // names the devices that exist
    }
}
