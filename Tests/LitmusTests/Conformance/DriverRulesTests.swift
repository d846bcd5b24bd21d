import Foundation
import Testing

@testable import Litmus

/// The written rules of docs/writing-a-driver.md ("Rules"), enforced: channel parameters of
/// any type, and scheme claims that never break other stations.
@Suite struct DriverRulesTests {
    /// A registry with the in-tree lan driver and the integer-channel supply (which, with
    /// `claimTCPIP`, also claims TCPIP).
    func registry(claimTCPIP: Bool, environment: [String: String] = [:]) throws -> DriverRegistry {
        let registry = DriverRegistry(environment: environment)
        try registry.loadPlugin(at: TestPlugins.path("lan"))
        let plugin = try TestPlugins.compile(
            "channel_psu.c", defines: claimTCPIP ? ["CLAIM_TCPIP"] : [], name: claimTCPIP ? "liblitmus-intch-tcpip" : "liblitmus-intch")
        try registry.loadPlugin(at: plugin)
        return registry
    }

    func station(_ s: StationScratch, id: String, role: String) throws -> String {
        try s.write("\(id).yaml", "id: \(id)\nname: Bench \(id)\ninstruments:\n\(role)")
        return s.dir + "/\(id).yaml"
    }

    @Test func integerChannelOutsideItsRangeIsALocatedError() throws {
        let s = try StationScratch()
        let registry = try registry(claimTCPIP: false)
        let stationPath = try station(s, id: "intbench", role: "  psu:\n    resource: \"INTCH::psu0::INSTR\"\n")
        let fixture = try s.write(
            "fixtures/int.yaml",
            """
            id: int
            connections:
              vin: {instrument: psu, channel: "2", net: VIN}
              vaux:
                instrument: psu
                channel: 3
                net: VAUX
            """)
        let (config, report) = StationConfiguration.load(station: stationPath, fixture: fixture, registry: registry, environment: [:])
        #expect(config?.role("psu")?.channels == ["1", "2"], "\(report)")
        #expect(report.errors.count == 1, "\(report)")
        let e = report.errors.first
        #expect(e?.location == "\(fixture):6:14", "\(report)")
        #expect(e?.description.contains("channel \"3\" is not a channel of role psu (driver intch-psu)") == true, "\(report)")
        #expect(e?.description.contains("channels: 1, 2") == true, "\(report)")
    }

    @Test func channelRuleCoversEveryType() {
        let flagged = ParameterInfo(name: "output", type: .i64, isChannel: true, range: 1...2)
        let named = ParameterInfo(name: "channel", type: .i64, range: 1...4)
        let text = ParameterInfo(name: "ch", type: .string, isChannel: true, choices: ["CH1", "CH2"])
        let plain = ParameterInfo(name: "voltage", type: .f64, range: 0...30)
        #expect(ChannelRule.isChannel(flagged) && ChannelRule.isChannel(named) && ChannelRule.isChannel(text))
        #expect(!ChannelRule.isChannel(plain))
        #expect(ChannelRule.values(of: flagged) == ["1", "2"])
        #expect(ChannelRule.values(of: named) == ["1", "2", "3", "4"])
        #expect(ChannelRule.values(of: text) == ["CH1", "CH2"])
        #expect(ChannelRule.normalized("02", among: ["1", "2"]) == "2")
    }

    @Test func aSecondTCPIPClaimBreaksNoStation() throws {
        let s = try StationScratch()
        let registry = try registry(claimTCPIP: true)
        // A station that never heard of the vendor plugin: its TCPIP role still opens with lan.
        let plain = try station(s, id: "lab_a", role: "  dmm:\n    resource: \"TCPIP0::10.0.0.5::5025::SOCKET\"\n")
        let (a, reportA) = StationConfiguration.load(station: plain, registry: registry, environment: [:])
        #expect(reportA.errors.isEmpty, "\(reportA)")
        #expect(a?.role("dmm")?.driver?.id == "lan")
        // The vendor's station names its driver for its TCPIP resource.
        let vendor = try station(
            s, id: "lab_b", role: "  psu:\n    driver: intch-psu\n    resource: \"TCPIP0::10.0.0.6::7000::SOCKET\"\n")
        let (b, reportB) = StationConfiguration.load(station: vendor, registry: registry, environment: [:])
        #expect(reportB.errors.isEmpty, "\(reportB)")
        #expect(b?.role("psu")?.driver?.id == "intch-psu")
        // The conflict is visible, with who wins.
        let conflict = registry.schemeConflicts.first { $0.scheme == "TCPIP" }
        #expect(conflict?.drivers == ["intch-psu", "lan"])
        #expect(conflict?.preferred == "lan")
        // A site may give the scheme to the vendor driver instead.
        let preferring = try self.registry(claimTCPIP: true, environment: [DriverRegistry.schemeDriversVariable: "TCPIP=intch-psu"])
        #expect(try preferring.driver(forResource: "TCPIP0::10.0.0.5::5025::SOCKET").id == "intch-psu")
    }

    @Test func driversListShowsTheSchemeConflict() throws {
        let plugin = try TestPlugins.compile("channel_psu.c", defines: ["CLAIM_TCPIP"], name: "liblitmus-intch-tcpip")
        var env = ProcessInfo.processInfo.environment
        env["LITMUS_PLUGIN_PATH"] = plugin
        let r = try TestPlugins.run("\(TestPlugins.buildDirectory)/litmus", ["drivers", "list"], environment: env)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("scheme TCPIP is claimed by intch-psu, lan: its resources open with lan"), "\(r.output)")
        #expect(r.output.contains("driver: intch-psu"), "\(r.output)")
    }
}
