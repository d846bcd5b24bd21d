import Foundation
import Testing

@testable import Litmus

/// Instrument classes (issue 16 item 3): standard operation sets that profiles and drivers
/// declare and are checked against, so a test written against a class runs on any conforming
/// instrument. Before, `instrument_types: [psu]` promised nothing.
@Suite struct InstrumentClassTests {
    static let profiles = TestPlugins.packageRoot + "/stations/profiles"
    static let benchMock = TestPlugins.packageRoot + "/stations/bench_mock.yaml"

    // MARK: - Test code written against the class, run on two implementations

    /// A DC power supply test that names only class operations, units and the channel
    /// convention: set, switch on, read back typed, switch off.
    static func exerciseSupply(_ psu: Instrument) throws {
        try InstrumentClass.dcPowerSupply.requireConformance(of: psu)
        try psu.call("set_current_limit", 0.5, "2")
        try psu.call("set_voltage", 12.0, "2")
        try psu.call("enable_output", "2")
        #expect(try psu.call("output_enabled", "2") == .bool(true))
        let volts = try #require(try psu.call("measure_voltage", "2").doubleValue)
        #expect(abs(volts - 12) < 0.01, "\(volts)")
        let amps = try #require(try psu.call("measure_current", "2").doubleValue)
        #expect(amps >= 0 && amps <= 0.5, "\(amps)")
        // The default channel is the first one.
        try psu.call("set_voltage", 3.3)
        try psu.call("enable_output")
        #expect(abs((try psu.call("measure_voltage", "1").doubleValue ?? 0) - 3.3) < 0.01)
        try psu.call("disable_output", "2")
        try psu.call("disable_output")
        #expect(try psu.call("output_enabled", "2") == .bool(false))
        // Out of the class's ranges: refused before anything is sent.
        #expect(throws: DriverError.self) { try psu.call("set_voltage", -1.0, "2") }
        #expect(throws: DriverError.self) { try psu.call("set_voltage", 1.0, "3") }
    }

    @Test func oneClassTestRunsOnTheSCPISupplyOverTheSimulator() throws {
        let (config, report) = StationConfiguration.load(station: Self.benchMock, registry: TestPlugins.registry, environment: [:])
        #expect(report.errors.isEmpty, "\(report)")
        let bench = try #require(config).open(.init(locks: nil))
        defer { bench.close() }
        let psu = try bench.instrument("psu")
        #expect(psu.driver.id == "sim")
        try Self.exerciseSupply(psu)
    }

    @Test func oneClassTestRunsOnTheLineSupplyOverTCP() throws {
        let fixture = try LinePSUBench()
        let psu = try fixture.psu
        #expect(psu.driver.id == "lan")
        try Self.exerciseSupply(psu)
        #expect(fixture.received.contains("OUT2 0"), "\(fixture.received)")
    }

    // MARK: - Shipped files

    @Test func shippedProfilesDeclareAndConformToTheirClasses() throws {
        let expected = [
            "generic_scpi_dmm": "dmm", "generic_scpi_psu": "dc_power_supply", "generic_scpi_eload": "electronic_load",
            "generic_scpi_switch": "switch", "acme_line_psu": "dc_power_supply",
        ]
        for (id, classID) in expected {
            let reader = ConfigReader()
            let profile = try #require(InstrumentProfile.load(path: "\(Self.profiles)/\(id).yaml", reader: reader), "\(reader.report)")
            #expect(profile.classes == [classID])
            let cls = try #require(InstrumentClass.named(classID))
            #expect(cls.check(profile.operationInfos) == [], "\(id)")
        }
    }

    @Test(arguments: [false, true])
    func mockBenchRolesConformToTheirProfilesClasses(mocked: Bool) throws {
        let (config, report) = StationConfiguration.load(
            station: Self.benchMock, registry: TestPlugins.registry, mock: .init(all: mocked), environment: [:])
        #expect(report.errors.isEmpty, "\(report)")
        let bench = try #require(config).open(.init(locks: nil))
        defer { bench.close() }
        var checked: [String] = []
        for role in bench.roles {
            let classes = role.resolved.profile?.classes ?? []
            #expect(!classes.isEmpty, "role \(role.role) declares no class")
            for id in classes {
                try InstrumentClass.named(id)!.requireConformance(of: role.instrument)
                checked.append("\(role.role):\(id)")
            }
        }
        #expect(checked == ["dmm:dmm", "psu:dc_power_supply", "eload:electronic_load", "matrix:switch"])
    }

    // MARK: - Problems, located

    @Test func classProblemsNameTheOperationParameterAndUnit() throws {
        let reader = ConfigReader()
        let node = try reader.parse(
            """
            classes: [psu]
            channels: ["1", "2"]
            operations:
              set_voltage:
                write: "VOLT {millivolts},(@{channel})"
                params:
                  millivolts: {type: f64, unit: mV}
                  channel: {type: string, channel: true}
              set_current_limit:
                write: "CURR {current}"
                params: {current: {type: f64, unit: mA}}
              enable_output: {write: "OUTP ON"}
              output_enabled: {query: "OUTP?", returns: string}
              measure_voltage: {query: "MEAS:VOLT?", returns: f64}
              measure_current: {query: "MEAS:CURR?", returns: f64, unit: A}
            """, file: "p.yaml")
        #expect(InstrumentProfile.parse(node, id: "p", reader: reader) == nil)
        #expect(reader.report.errors.map(\.description) == [
            "p.yaml:7:19: operations.set_voltage.params.millivolts: profile p declares class dc_power_supply: parameter 1 of 'set_voltage' is 'millivolts', the class has 'voltage' there. Fix: rename it to 'voltage' or reorder the parameters: set_voltage(voltage: f64 [V], channel?) -> void",
            "p.yaml:8:16: operations.set_voltage.params.channel: profile p declares class dc_power_supply: the 'channel' parameter of 'set_voltage' has no default, so class code that omits it fails. Fix: give it a default, the first channel (`default: \"1\"` in a profile)",
            "p.yaml:11:23: operations.set_current_limit.params.current: profile p declares class dc_power_supply: parameter 'current' of 'set_current_limit' is in mA, the class's is in A. Fix: declare `unit: A` (convert in the command if the instrument uses another unit)",
            "p.yaml:1:11: classes[0]: profile p declares class dc_power_supply: missing the operation disable_output(channel?) -> void. Fix: add the operation 'disable_output'",
            "p.yaml:13:45: operations.output_enabled.returns: profile p declares class dc_power_supply: 'output_enabled' returns string, the class's returns bool. Fix: return bool (`returns: bool`)",
            "p.yaml:14:51: operations.measure_voltage.returns: profile p declares class dc_power_supply: 'measure_voltage' returns a value without a unit, the class's is in V. Fix: declare `unit: V`",
            "p.yaml:10:5: operations.set_current_limit: profile p declares class dc_power_supply: 'set_current_limit' takes no channel, while set_voltage takes one: every per-channel operation addresses its channel the same way. Fix: add the parameter `channel` (a channel, with a default) right after the class's parameters",
            "p.yaml:12:18: operations.enable_output: profile p declares class dc_power_supply: 'enable_output' takes no channel, while set_voltage takes one: every per-channel operation addresses its channel the same way. Fix: add the parameter `channel` (a channel, with a default) right after the class's parameters",
            "p.yaml:13:19: operations.output_enabled: profile p declares class dc_power_supply: 'output_enabled' takes no channel, while set_voltage takes one: every per-channel operation addresses its channel the same way. Fix: add the parameter `channel` (a channel, with a default) right after the class's parameters",
            "p.yaml:14:20: operations.measure_voltage: profile p declares class dc_power_supply: 'measure_voltage' takes no channel, while set_voltage takes one: every per-channel operation addresses its channel the same way. Fix: add the parameter `channel` (a channel, with a default) right after the class's parameters",
            "p.yaml:15:20: operations.measure_current: profile p declares class dc_power_supply: 'measure_current' takes no channel, while set_voltage takes one: every per-channel operation addresses its channel the same way. Fix: add the parameter `channel` (a channel, with a default) right after the class's parameters",
        ])
    }

    @Test func unknownClassesAreRefusedWithTheList() throws {
        let reader = ConfigReader()
        let node = try reader.parse("classes: [dc_power_suply]\noperations: {a: {write: \"A\"}}", file: "p.yaml")
        #expect(InstrumentProfile.parse(node, id: "p", reader: reader) == nil)
        #expect(reader.report.errors.map(\.description) == [
            "p.yaml:1:11: classes[0]: unknown instrument class \"dc_power_suply\". Fix: did you mean \"dc_power_supply\"? classes: dmm, dc_power_supply, electronic_load, switch, oscilloscope (docs/instrument-classes.md)"
        ])
    }

    @Test func extraRequiredParametersAndMissingChoicesAreProblems() {
        let ops = [
            OperationInfo(
                name: "set_mode", index: 0,
                params: [ParameterInfo(name: "mode", type: .string, choices: ["CC", "CV"]), ParameterInfo(name: "slew", type: .f64)],
                flags: .writes),
            OperationInfo(name: "set_current", index: 1, params: [ParameterInfo(name: "current", type: .f64, unit: "A")], flags: .reads),
        ]
        let problems = InstrumentClass.electronicLoad.check(ops)
        #expect(problems.map(\.operation) == ["set_mode", "set_mode", "set_current", "enable_input", "disable_input", "measure_voltage", "measure_current"])
        #expect(problems[0].message == "parameter 'mode' of 'set_mode' does not accept CR (choices: CC, CV)")
        #expect(problems[1].message == "'set_mode' needs the parameter 'slew', which class code does not pass")
        #expect(problems[2].message == "'set_current' changes the instrument but is not declared as writing")
        #expect(problems[3].isMissing)
    }

    // MARK: - Drivers

    @Test func driversCheckReportsEachDeclaredClass() throws {
        let broken = try TestPlugins.compile("class_claim.c", name: "liblitmus-class-claim")
        let report = ConformanceCheck.run(pluginAt: broken)
        #expect(!report.passed)
        let item = try #require(report.items.first { $0.name == "instrument class dc_power_supply" })
        #expect(item.outcome == .failed)
        for line in [
            "parameter 'voltage' of 'set_voltage' is in mV, the class's is in V",
            "missing the operation enable_output(channel?) -> void. Fix: add the operation 'enable_output'",
            "'set_current_limit' takes no channel, while set_voltage takes one",
        ] {
            #expect(item.detail.contains(line), "\(item.detail)")
        }

        let dmm = try TestPlugins.compile("class_claim.c", defines: ["CLAIM_DMM"], name: "liblitmus-class-claim-dmm")
        let good = ConformanceCheck.run(pluginAt: dmm)
        #expect(good.passed, "\(good.rendered())")
        #expect(good.items.contains { $0.name == "instrument class dmm" && $0.outcome == .passed })

        let unknown = try TestPlugins.compile("class_claim.c", defines: ["CLAIM_UNKNOWN"], name: "liblitmus-class-claim-unknown")
        let misnamed = ConformanceCheck.run(pluginAt: unknown)
        #expect(misnamed.items.contains { $0.name == "instrument class dc_power_suply" && $0.outcome == .failed })

        // Through the command line: the exit status and the same lines.
        let cli = try TestPlugins.run(TestPlugins.buildDirectory + "/litmus", ["drivers", "check", broken])
        #expect(cli.status == 1, "\(cli.output)")
        #expect(cli.output.contains("instrument class dc_power_supply"), "\(cli.output)")
        #expect(cli.output.contains("Fix: declare `unit: V`"), "\(cli.output)")
    }

    @Test func aStationRoleOnADriverThatBreaksItsClassFails() throws {
        let plugin = try TestPlugins.compile("class_claim.c", name: "liblitmus-class-claim")
        let registry = DriverRegistry()
        try registry.loadPlugin(at: plugin)
        let dir = TestPlugins.scratch + "/class-driver-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "name: claim\ninstruments:\n  psu: {resource: \"CLAIM::x::INSTR\"}\n".write(
            toFile: dir + "/station.yaml", atomically: true, encoding: .utf8)
        let (config, report) = StationConfiguration.load(station: dir + "/station.yaml", registry: registry, environment: [:])
        #expect(config?.roles.isEmpty ?? true)
        let messages = report.errors.map(\.description)
        #expect(messages.contains { $0.contains("station.yaml:3:") && $0.contains("instruments.psu.resource: driver class-claim class dc_power_supply: missing the operation disable_output(channel?) -> void") }, "\(messages)")
    }

    // MARK: - The command line

    @Test func stationCheckFailsOnAProfileThatBreaksItsClassAndSaysHowToFix() throws {
        let dir = TestPlugins.scratch + "/class-station-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/profiles", withIntermediateDirectories: true)
        // The shipped SCPI supply, without its disable_output.
        let shipped = try String(contentsOfFile: Self.profiles + "/generic_scpi_psu.yaml", encoding: .utf8)
        let broken = shipped.replacingOccurrences(of: "id: generic_scpi_psu\n", with: "")
            .replacingOccurrences(of: "  disable_output:\n    write: \"INST:NSEL {channel};:OUTP OFF\"\n    params:\n      channel: {type: string, channel: true, default: \"1\"}\n", with: "")
        #expect(broken != shipped)
        try broken.write(toFile: dir + "/profiles/my_psu.yaml", atomically: true, encoding: .utf8)
        try """
            name: class check
            instruments:
              psu: {resource: "SIM::psu::INSTR", profile: my_psu}
            """.write(toFile: dir + "/station.yaml", atomically: true, encoding: .utf8)
        let result = try TestPlugins.run(TestPlugins.buildDirectory + "/litmus", ["station", "check", dir + "/station.yaml"])
        #expect(result.status != 0, "\(result.output)")
        let line = try #require(broken.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("classes:") }) + 1
        #expect(result.output.contains(
            "my_psu.yaml:\(line):11: classes[0]: profile my_psu declares class dc_power_supply: missing the operation disable_output(channel?) -> void. Fix: add the operation 'disable_output'"),
            "\(result.output)")

        // The shipped profiles pass the same check.
        let good = try TestPlugins.run(TestPlugins.buildDirectory + "/litmus", ["station", "check", Self.benchMock])
        #expect(good.status == 0, "\(good.output)")
    }
}

/// docs/instrument-classes.md lists every operation of every class as the table has it.
@Suite struct InstrumentClassDocumentationTests {
    @Test func theGuideListsEverySignatureOfTheTable() throws {
        let guide = try String(contentsOfFile: TestPlugins.packageRoot + "/docs/instrument-classes.md", encoding: .utf8)
            .replacingOccurrences(of: "\\|", with: "|")
        for cls in InstrumentClass.all {
            #expect(guide.contains("### `\(cls.id)`"), "\(cls.id)")
            for alias in cls.aliases { #expect(guide.contains("`\(alias)`"), "\(alias)") }
            for op in cls.operations {
                #expect(guide.contains("| `\(op.signature)` | \(op.isRequired ? "yes" : "no") |"), "\(cls.id).\(op.signature)")
            }
        }
    }
}
