import Foundation
import Testing

@testable import Litmus

/// pyvisa-sim device files in the `sim` driver (issue 15 item 4): what a file gets wrong is
/// reported with file:line:column and the fix, an unknown resource lists the file's resources,
/// and what only pyvisa-sim's semantics explain (separate replies per `;`-separated query, a
/// reply template that cannot format a value) behaves as in pyvisa-sim. Through the real mock
/// plugin, opened by the registry.
@Suite struct PyVISASimFileTests {
    func write(_ yaml: String) throws -> String {
        let path = "\(TestPlugins.scratch)/pyvisa-sim-\(UUID().uuidString).yaml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func openError(_ resource: String, _ path: String) -> String {
        do {
            let instrument = try TestPlugins.registry.open(resource, options: ["description": .string(path)])
            instrument.close()
            return "opened"
        } catch {
            return "\(error)"
        }
    }

    static let device = """
        spec: "1.1"
        devices:
          meter:
            eom:
              ASRL INSTR: {q: "\\r\\n", r: "\\n"}
            error: ERROR
            dialogues:
              - {q: "*IDN?", r: "ACME,M1,1,1.0"}
            properties:
              level:
                default: 0
                getter: {q: "LEV?", r: "{:d}"}
                setter: {q: "LEV {:d}"}
              range:
                default: 2
                getter: {q: "RANGE?", r: "{:d}"}
                setter: {q: "RANGE {:d}", r: "OK"}
                specs: {type: int, valid: [1, 2, 5]}
        resources:
          ASRL7::INSTR: {device: meter}
        """

    @Test func anUnknownResourceListsTheFilesResources() throws {
        let path = try write(Self.device)
        let message = openError("SIM::ASRL9::INSTR", path)
        #expect(message.contains("no resource \"ASRL9::INSTR\""), "\(message)")
        #expect(message.contains("SIM::ASRL7::INSTR"), "\(message)")
    }

    /// The names pyvisa lists (`pyvisa.ResourceManager("...@sim").list_resources()`) open the
    /// devices the file names in its own spelling.
    @Test func pyvisasCanonicalResourceNamesOpenTheFilesResources() throws {
        let path = try write(
            Self.device.replacingOccurrences(
                of: "ASRL7::INSTR: {device: meter}",
                with: "ASRL7::INSTR: {device: meter}\n  GPIB::8::INSTR: {device: meter}\n  TCPIP::localhost::INSTR: {device: meter}\n  USB::0x1111::0x2222::0x1234::INSTR: {device: meter}"))
        for resource in ["SIM::GPIB0::8::INSTR", "SIM::TCPIP0::localhost::inst0::INSTR", "SIM::USB0::0x1111::0x2222::0x1234::0::INSTR", "SIM::gpib::8::instr"] {
            let dut = try TestPlugins.registry.open(resource, options: ["description": .string(path)])
            defer { dut.close() }
            #expect(try dut.query("*IDN?") == "ACME,M1,1,1.0", "\(resource)")
        }
        #expect(openError("SIM::GPIB0::9::INSTR", path).contains("no resource"))
    }

    @Test func fileErrorsSayWhereAndHowToFix() throws {
        let newer = try write(Self.device.replacingOccurrences(of: "spec: \"1.1\"", with: "spec: \"2.0\""))
        let spec = openError("SIM::ASRL7::INSTR", newer)
        #expect(spec.contains("\(newer):1:7: spec:"), "\(spec)")
        #expect(spec.contains("write spec: \"1.1\""), "\(spec)")

        let badDefault = try write(Self.device.replacingOccurrences(of: "default: 2", with: "default: 3"))
        let message = openError("SIM::ASRL7::INSTR", badDefault)
        #expect(message.contains("\(badDefault):15:18: devices.meter.properties.range.default:"), "\(message)")
        #expect(message.contains("give a default the specs allow"), "\(message)")

        let unknownDevice = try write(Self.device.replacingOccurrences(of: "{device: meter}", with: "{device: metre}"))
        let resource = openError("SIM::ASRL7::INSTR", unknownDevice)
        #expect(resource.contains("resources.ASRL7::INSTR.device: no device \"metre\""), "\(resource)")
    }

    @Test func answersFollowPyVISASim() throws {
        let dut = try TestPlugins.registry.open("SIM::asrl7::instr", options: ["description": .string(try write(Self.device))])
        defer { dut.close() }
        // No built-in commands: the file is the whole instrument, as in pyvisa-sim.
        #expect(try dut.query("*IDN?") == "ACME,M1,1,1.0")
        #expect(try dut.query("*OPC?") == "ERROR")
        // Each ';'-separated query is answered on its own message.
        try dut.write("RANGE 5;RANGE?;RANGE 4")
        #expect(try dut.read() == "OK")
        #expect(try dut.read() == "5")
        #expect(try dut.read() == "ERROR")
        // Matching is exact: no SCPI abbreviation or case folding.
        #expect(try dut.query("range?") == "ERROR")
        // A property without specs keeps the text default; "{:d}" cannot format text, so the
        // write fails as pyvisa-sim raises, and says how to fix the file.
        do {
            try dut.write("LEV?")
            Issue.record("LEV? of a text default was answered")
        } catch let error as DriverError {
            #expect(error.message.contains("specs: {type: int}"), "\(error.message)")
        }
        // Once set, the value is the parsed integer and formats.
        try dut.write("LEV 7")
        #expect(try dut.query("LEV?") == "7")
    }

    /// A template asking for a billion-character field or a hundred million random values fails
    /// the write with the limit, instead of exhausting memory.
    @Test func hostileTemplatesFailTheWriteWithTheLimit() throws {
        let path = try write(
            """
            spec: "1.1"
            devices:
              d:
                dialogues:
                  - {q: "MANY?", r: "{RANDOM(0, 1, 100000000):.2f}"}
                  - {q: "FEW?", r: "{RANDOM(0, 1, 3):.1f}"}
                properties:
                  wide:
                    default: 1
                    getter: {q: "WIDE?", r: "{:999999999d}"}
                    specs: {type: int}
            resources:
              ASRL1::INSTR: {device: d}
            """)
        let dut = try TestPlugins.registry.open("SIM::ASRL1::INSTR", options: ["description": .string(path)])
        defer { dut.close() }
        for (query, limit) in [("MANY?", "a count up to 10000"), ("WIDE?", "at most 10000 for width")] {
            do {
                try dut.write(query)
                Issue.record("\(query) was answered")
            } catch let error as DriverError {
                #expect(error.message.contains(limit), "\(error.message)")
            }
        }
        let values = try dut.query("FEW?").components(separatedBy: ", ")
        #expect(values.count == 3)
        #expect(values.allSatisfy { Double($0).map { (0...1).contains($0) } == true && $0.count == 3 }, "\(values)")
    }
}
