import Foundation
import Testing

@testable import Litmus

/// `litmus discover`, run as the built binary.
@Suite struct DiscoverCommandTests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"

    @Test func tableListsTheSimDevicesAndTheExampleDriver() throws {
        let r = try TestPlugins.run(Self.litmus, ["discover"])
        #expect(r.status == 0, "\(r.output)")
        let lines = r.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("DRIVER ") && $0.contains("RESOURCE") && $0.contains("DESCRIPTION") }, "\(r.output)")
        for (driver, resource) in [("sim", "SIM::dmm::INSTR"), ("sim", "SIM::psu::INSTR"), ("example-dmm", "EXAMPLE::dmm0::INSTR")] {
            #expect(
                lines.contains { $0.split(separator: " ", omittingEmptySubsequences: true).prefix(2) == [Substring(driver), Substring(resource)] },
                "\(driver) \(resource) in:\n\(r.output)")
        }
        #expect(r.output.contains("Litmus,SIM-DMM,SIM0001,1.0"))
    }

    @Test func jsonParsesAsAnArrayOfDriverResourceDescription() throws {
        let r = try TestPlugins.run(Self.litmus, ["discover", "--json", "--driver", "sim", "--driver", "example-dmm"])
        #expect(r.status == 0, "\(r.output)")
        let parsed = try JSONSerialization.jsonObject(with: Data(r.output.utf8))
        let rows = try #require(parsed as? [[String: String]], "\(r.output)")
        #expect(rows.allSatisfy { Set($0.keys) == ["driver", "resource", "description"] })
        #expect(rows.contains { $0["driver"] == "sim" && $0["resource"] == "SIM::dmm::INSTR" })
        #expect(rows.contains { $0["driver"] == "sim" && $0["resource"] == "SIM::psu::INSTR" })
        #expect(rows.contains { $0["driver"] == "example-dmm" && $0["resource"] == "EXAMPLE::dmm0::INSTR" })
        #expect(Set(rows.compactMap { $0["driver"] }) == ["sim", "example-dmm"])
    }

    @Test func discoveredResourcesOpen() throws {
        let r = try TestPlugins.run(Self.litmus, ["discover", "--json", "--driver", "sim"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [[String: String]])
        for resource in rows.compactMap({ $0["resource"] }) {
            let open = try TestPlugins.run(Self.litmus, ["scpi", resource, "-c", "*IDN?"])
            #expect(open.status == 0, "\(resource): \(open.output)")
        }
    }

    @Test func unknownDriverFailsWithASuggestion() throws {
        let r = try TestPlugins.run(Self.litmus, ["discover", "--driver", "simm"])
        #expect(r.status != 0)
        #expect(r.output.contains("Did you mean 'sim'?"), "\(r.output)")
    }

    /// A plugin whose discovery fails: out_of_tree.c with a discover entry that returns an
    /// I/O error.
    static func failingDiscoverPlugin() throws -> String {
        var source = try String(contentsOfFile: "\(TestPlugins.fixtureDirectory)/out_of_tree.c", encoding: .utf8)
        let failing = """
            static litmus_status oot_discover(const litmus_driver_desc *driver, litmus_found_fn found, void *ctx,
                                              litmus_error *err)
            {
                (void)driver;
                (void)found;
                (void)ctx;
                return fail(err, LITMUS_E_IO, 0, "bus scan failed (test fixture)");
            }

            static const litmus_driver_vtable vtable = {
            """
        guard source.contains("static const litmus_driver_vtable vtable = {"), source.contains("NULL, /* discover */") else {
            throw DriverError(.failed, "out_of_tree.c changed: cannot add a discover entry")
        }
        source = source.replacingOccurrences(of: "static const litmus_driver_vtable vtable = {", with: failing)
        source = source.replacingOccurrences(of: "NULL, /* discover */", with: "oot_discover, /* discover */")
        let dir = "\(TestPlugins.pluginScratch)/discover-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try source.write(toFile: "\(dir)/failing.c", atomically: true, encoding: .utf8)
        let output = "\(dir)/liblitmus-failing-discover.so"
        let cc = try TestPlugins.run(
            "/usr/bin/env", ["cc", "-std=c11", "-shared", "-fPIC", "-I", TestPlugins.headerDirectory, "\(dir)/failing.c", "-o", output])
        guard cc.status == 0 else { throw DriverError(.failed, "cc failed: \(cc.output)") }
        return output
    }

    @Test func aDriverThatFailsToDiscoverIsAWarning() throws {
        let plugin = try Self.failingDiscoverPlugin()
        let r = try TestPlugins.run(Self.litmus, ["discover", "--plugin-path", plugin])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("warning: driver oot-counter could not discover resources"), "\(r.output)")
        #expect(r.output.contains("bus scan failed (test fixture)"))
        #expect(r.output.contains("SIM::dmm::INSTR"), "the other drivers are still listed")
        let json = try TestPlugins.run(Self.litmus, ["discover", "--json", "--plugin-path", plugin, "--driver", "oot-counter"])
        #expect(json.status == 0)
        // The warning goes to standard error; TestPlugins.run merges both, so find the array.
        let start = try #require(json.output.firstIndex(of: "["))
        let rows = try JSONSerialization.jsonObject(with: Data(json.output[start...].utf8)) as? [Any]
        #expect(rows?.isEmpty == true, "\(json.output)")
    }
}
