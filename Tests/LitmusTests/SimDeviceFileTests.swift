import Foundation
import Testing

@testable import Litmus

/// A simulated device's own file wins over the built-in IEEE 488.2 answers (issue 12 item 25):
/// a `*IDN?` dialogue was silently overridden by the built-in identity. Through the real mock
/// plugin, opened by the registry.
@Suite struct SimDeviceFileTests {
    func open(_ yaml: String) throws -> Instrument {
        let path = "\(TestPlugins.scratch)/simfile-\(UUID().uuidString).yaml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        return try TestPlugins.registry.open("SIM::dut::INSTR", options: ["description": .string(path)])
    }

    @Test func aDialogueForABuiltInCommandGivesTheReply() throws {
        let dut = try open(
            """
            devices:
              dut:
                identity: "Litmus,FromIdentity,1,1.0"
                dialogues:
                  - {q: "*IDN?", r: "ACME,DIALOGUE-MODEL,SN42,2.1"}
                  - {q: "*TST?", r: "7"}
                  - {q: "*RST"}
                properties:
                  level: {default: 1, type: int, getter: "LEVel?", setter: "LEVel {value}"}
            """)
        defer { dut.close() }
        #expect(try dut.query("*IDN?") == "ACME,DIALOGUE-MODEL,SN42,2.1")
        #expect(try dut.identify().model == "DIALOGUE-MODEL")
        #expect(try dut.query("*TST?") == "7")
        // The built-in's effect on the state still happens: *RST resets the properties.
        try dut.write("LEVel 5")
        #expect(try dut.queryNumber("LEVel?") == 5)
        try dut.write("*RST")
        #expect(try dut.queryNumber("LEVel?") == 1)
        // Built-ins the file does not name still answer.
        #expect(try dut.query("*OPC?") == "1")
        try dut.checkErrors()
    }

    @Test func aPropertyGetterForABuiltInQueryGivesTheReply() throws {
        let dut = try open(
            """
            devices:
              dut:
                properties:
                  selftest: {default: 3, type: int, getter: "*TST?", setter: "SELFtest {value}"}
            """)
        defer { dut.close() }
        #expect(try dut.queryNumber("*TST?") == 3)
        try dut.write("SELF 4")
        #expect(try dut.queryNumber("*TST?") == 4)
        // Without a dialogue, *IDN? is the built-in answer from `identity` (its default here).
        #expect(try dut.query("*IDN?") == "Litmus,Simulated,dut,1.0")
    }
}
