import Foundation
import Testing

@testable import Litmus

/// Plugins built for ABI 1.0 and 1.1 keep loading and working in this (1.2) host. Each is
/// compiled with cc against a frozen copy of that minor's header (Fixtures/abi/<minor>/), the
/// way a vendor built it then: nothing of a later minor exists in its structs.
@Suite(.timeLimit(.minutes(15)))  // a hang guard only: its clock also counts the time a test waits for a thread of the shared pool
struct OldABITests {
    static func frozenHeader(_ minor: String) -> String {
        TestPlugins.packageRoot + "/Tests/LitmusTests/Fixtures/abi/\(minor)"
    }

    @Test(arguments: [("1.0", 0), ("1.1", 1)])
    func anOutOfTreePluginBuiltWithAnOlderHeaderLoadsAndWorks(header: String, minor: Int) throws {
        let path = try TestPlugins.compile(
            sources: [TestPlugins.fixtureDirectory + "/out_of_tree.c"], includeDirectory: Self.frozenHeader(header),
            name: "liblitmus-oot-abi\(minor)")
        let registry = DriverRegistry()
        let plugin = try registry.loadPlugin(at: path)
        #expect(plugin.abiMinor == minor)
        let driver = try registry.driver(id: "oot-counter")
        #expect(driver.supports.contains(.trigger) == false)  // NULL in 1.1, absent in 1.0
        let oot = try registry.open("OOT::counter::INSTR")
        defer { oot.close() }
        #expect(try oot.call("add", 1.5, 2.25) == .f64(3.75))
        #expect(try oot.call("echo", "héllo") == .string("héllo"))
        #expect(try oot.call("scale", .f64Array([1, -2])) == .f64Array([2, -4]))
        #expect(try oot.call("bytes_len", .bytes([0, 10, 255])) == .i64(3))
        // Errors still travel through error_set, the 1.0 service.
        let failure = try #require(throws: DriverError.self) { try oot.call("fail", .i64(-4)) }
        #expect(failure.status == .timeout)
        #expect(failure.message == "requested failure -4")
        #expect(failure.vendorCode == 42)
        // Message I/O through the host's read path.
        try oot.write("PING")
        #expect(try oot.read() == "PING")
        // The 1.1 addition, absent from a 1.0 plugin, is reported unsupported, never called.
        let trigger = try #require(throws: DriverError.self) { try oot.trigger() }
        #expect(trigger.status == .unsupported)
    }

    @Test(arguments: [("1.0", 0), ("1.1", 1)])
    func theReferenceCDriverBuiltWithAnOlderHeaderStillSimulates(header: String, minor: Int) throws {
        let dir = TestPlugins.packageRoot + "/Plugins-src/example-c"
        let path = try TestPlugins.compile(
            sources: ["\(dir)/api.c", "\(dir)/protocol.c", "\(dir)/hardware.c"], includeDirectory: Self.frozenHeader(header),
            name: "liblitmus-example-abi\(minor)")
        let registry = DriverRegistry()
        let plugin = try registry.loadPlugin(at: path)
        #expect(plugin.abiMinor == minor)
        let dmm = try registry.open("EXAMPLE::dmm0::INSTR")
        defer { dmm.close() }
        #expect(try dmm.call("measure_dc_voltage") == .f64(5.000123))
        #expect(try dmm.query("*IDN?").hasPrefix("Litmus examples,EXAMPLE-DMM6500,"))
        // Built without the 1.2 services, a real resource is refused by the simulation's parser.
        let refused = try #require(throws: DriverError.self) {
            try registry.open("TCPIP0::127.0.0.1::5025::SOCKET", driver: "example-dmm")
        }
        #expect(refused.status == .invalidArgument, "\(refused)")
    }

    @Test func theFrozenHeadersAreTheOlderMinors() throws {
        for (header, minor) in [("1.0", 0), ("1.1", 1)] {
            let text = try String(contentsOfFile: Self.frozenHeader(header) + "/litmus_driver.h", encoding: .utf8)
            #expect(text.contains("#define LITMUS_ABI_MINOR \(minor)\n"))
            #expect(!text.contains("io_open"))
        }
    }
}
