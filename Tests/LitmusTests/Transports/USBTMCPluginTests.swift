import Foundation
import Testing

@testable import Litmus

/// The built `litmus-usbtmc` plugin through dlopen, on this machine (no USB device).
@Suite struct USBTMCPluginTests {
    @Test func openingAMissingDeviceSaysWhichOne() throws {
        let e = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("USB0::0x2A8D::0x1102::MY59001234::0::INSTR")
        }
        #expect(e.status == .notFound)
        #expect(e.message.contains("0x2A8D:0x1102"))
        #expect(e.message.contains("MY59001234"))
        #expect(e.message.contains("lsusb -d 2a8d:1102"))

        // Decimal ids and lower-case keywords reach the driver in canonical form.
        let decimal = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("usb::10893::4354::MY59001234::instr")
        }
        #expect(decimal.status == .notFound)
        #expect(decimal.message.contains("0x2A8D:0x1102"))
    }

    @Test func badOptionsAreRejectedBeforeLookingForTheDevice() throws {
        let e = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("USB0::0x2A8D::0x1102::MY59001234::0::INSTR", options: ["quirks": "header_twice"])
        }
        #expect(e.status == .invalidArgument)
        #expect(e.message.contains("header_twice"))
        let raw = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("USB0::0x2A8D::0x1102::MY59001234::0::RAW")
        }
        #expect(raw.status == .invalidArgument, "\(raw)")
    }

    @Test func theDriverDescribesItself() throws {
        let driver = try TestPlugins.registry.driver(id: "usbtmc")
        #expect(driver.schemes == ["USB"])
        #expect(driver.operations.map(\.name) == ["remote", "local", "lockout", "indicator_pulse", "capabilities"])
        #expect(Set(driver.openOptions.map(\.name)) == ["quirks", "termchar", "detach_kernel_driver", "abort_budget_ms"])
        // `litmus drivers info usbtmc` shows the option's help: the quirk table, each entry
        // marked opt-in while unverified (issue 12 #6).
        let quirks = try #require(driver.openOptions.first { $0.name == "quirks" })
        #expect(quirks.help?.contains("0x1AB1:0x04CE Rigol DS1000Z series: header_once,trust_block_length (unverified, opt-in)") == true, "\(quirks.help ?? "")")
        // No USB bus here: discovery succeeds with nothing.
        #expect(try driver.discover().isEmpty)
    }

    @Test func conformanceKitPasses() throws {
        let litmus = "\(TestPlugins.buildDirectory)/litmus"
        let result = try TestPlugins.run(litmus, ["drivers", "check", TestPlugins.path("usbtmc")])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Verdict: PASS"))
    }
}
