import Foundation
import Testing
import Yams

@testable import Litmus

/// Writes configuration files into a fresh directory laid out like `stations/`, with the
/// shipped profiles, simulated devices, part and fixture copied in.
struct StationScratch {
    let dir: String

    init(_ name: String = #function) throws {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        dir = TestPlugins.scratch + "/stations-\(clean)-\(UInt32.random(in: 0...UInt32.max))"
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for sub in ["profiles", "sim", "parts", "fixtures"] {
            try fm.copyItem(atPath: TestPlugins.packageRoot + "/stations/\(sub)", toPath: dir + "/\(sub)")
        }
    }

    /// Writes `text` to `name` (relative to the directory) and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Loads `station` and returns the configuration and the report.
    func load(_ station: String, fixture: String? = nil, part: String? = nil, mock: Bool = false) -> (StationConfiguration?, ConfigReport) {
        StationConfiguration.load(
            station: dir + "/" + station, fixture: fixture.map { dir + "/" + $0 }, part: part.map { dir + "/" + $0 },
            registry: TestPlugins.registry, mock: .init(all: mock), environment: [:])
    }
}

/// A minimal valid station with one simulated DMM; `extra` is appended under the dmm role,
/// `roles` after it.
func simStation(id: String = "bench", dmm extra: String = "", roles: String = "") -> String {
    """
    id: \(id)
    name: Test bench
    instruments:
      dmm:
        resource: "SIM::dmm::INSTR"
        profile: generic_scpi_dmm
        options: {description: "${station_dir}/sim/bench_devices.yaml"}
    \(extra)\(roles)
    """
}

@Suite struct StationModelTests {
    @Test func shippedMockBenchLoadsWithExactValues() throws {
        let (config, report) = StationConfiguration.load(
            station: TestPlugins.packageRoot + "/stations/bench_mock.yaml", registry: TestPlugins.registry, environment: [:])
        #expect(report.errors.isEmpty, "\(report)")
        let c = try #require(config)
        #expect(c.station.id == "bench_mock")
        #expect(c.station.stationType == "buck_tester")
        #expect(c.roles.map(\.role) == ["dmm", "psu", "eload", "matrix"])
        let dmm = try #require(c.role("dmm"))
        #expect(dmm.driver?.id == "sim")
        #expect(dmm.canonicalResource == "SIM0::dmm::INSTR")
        #expect(dmm.options["timeout_ms"] == .i64(2000))
        #expect(dmm.options["description"] == .string(TestPlugins.packageRoot + "/stations/sim/bench_devices.yaml"))
        #expect(dmm.operations.contains { $0.name == "measure_dc_voltage" })
        #expect(dmm.config.calibration?.due == ConfigDate("2099-12-31"))
        #expect(c.role("eload")?.mocked == true)
        #expect(c.role("psu")?.mocked == false)
        #expect(c.role("psu")?.channels == ["1", "2"])
        #expect(c.fixture?.id == "buck_fixture")
        #expect(c.part?.id == "buck_3v3")
    }

    @Test func stationRoundTripsWithEveryField() throws {
        var inst = StationInstrument(
            role: "dmm", type: "dmm", driver: "sim", resource: "SIM::dmm::INSTR", profile: "generic_scpi_dmm",
            options: [ConfigEntry(key: "timeout_ms", value: .scalar("2000", quoted: false)),
                      ConfigEntry(key: "description", value: .scalar("off", quoted: true))],
            mock: true,
            mockConfig: [ConfigEntry(key: "measure_dc_voltage", value: .map([ConfigEntry(key: "nominal", value: .scalar("5", quoted: false))])),
                         ConfigEntry(key: "set_range", value: .null)],
            identity: InstrumentIdentity(manufacturer: "ACME", model: "DMM-1", serial: "0042", firmware: "1.2"),
            calibration: Calibration(due: ConfigDate("2027-01-31"), last: ConfigDate("2026-01-31"), certificate: "C-1", lab: "Lab: one"),
            description: "bench DMM # one")
        inst.locations = ConfigLocations()
        let full = Station(
            id: "full", name: "Full: bench", hostname: "host-1", location: "Bldg 4", stationType: "rail",
            description: "yes", pluginPaths: ["plugins", "/opt/litmus"], profilePaths: ["p1", "p2"],
            fixture: "fixtures/f.yaml", part: "parts/p.yaml", mock: true,
            instruments: [inst, StationInstrument(role: "psu", resource: "TCPIP0::10.0.0.5::5025::SOCKET")])
        let minimal = Station(id: "min", name: "Min", instruments: [StationInstrument(role: "load", mock: true)])
        for station in [full, minimal] {
            let text = ConfigEncoding.string(station.yaml)
            let reader = ConfigReader()
            let root = try reader.parse(text, file: "")
            let back = Station.parse(root, reader: reader)
            #expect(reader.report.errors.isEmpty, "\(reader.report)\n\(text)")
            #expect(back == station, "\(text)")
        }
    }

    @Test func fixtureRoundTripsSingleAndMultiSite() throws {
        let single = Fixture(
            id: "f1", name: "F1", part: "buck_3v3", description: "d",
            sites: [FixtureSite(connections: [
                FixtureConnection(name: "vout", role: "dmm", channel: "1", terminal: "hi", pin: "VOUT", net: "VOUT_3V3",
                                  function: "dc_voltage", route: SwitchRoute(switchRole: "matrix", channels: ["101", "102"], settlingMs: 2.5),
                                  description: "sense"),
                FixtureConnection(name: "gnd", role: "dmm", net: "GND"),
            ])], isMultiSite: false)
        let multi = Fixture(
            id: "f2", sites: [
                FixtureSite(index: 0, name: "left", uutResource: "ASRL/dev/ttyUSB0::INSTR", connections: [FixtureConnection(name: "v", role: "dmm", channel: "1", pin: "VOUT")]),
                FixtureSite(index: 1, name: "right", connections: [FixtureConnection(name: "v", role: "dmm", channel: "2", pin: "VOUT")]),
            ])
        for fixture in [single, multi] {
            let text = ConfigEncoding.string(fixture.yaml)
            let reader = ConfigReader()
            let back = Fixture.parse(try reader.parse(text, file: ""), reader: reader)
            #expect(reader.report.errors.isEmpty, "\(reader.report)\n\(text)")
            #expect(back == fixture, "\(text)")
        }
    }
}

/// One test per validation error class: the exact location, key path and message.
@Suite struct StationValidationTests {
    /// Loads `text` as `bench.yaml` and returns the report.
    func errors(_ text: String, file: String = "bench.yaml", mock: Bool = false) throws -> [ConfigError] {
        let s = try StationScratch()
        try s.write(file, text)
        return s.load(file, mock: mock).1.errors.map {
            var e = $0
            e.file = (e.file as NSString).lastPathComponent
            return e
        }
    }

    func expectOne(_ errors: [ConfigError], _ location: String, _ keyPath: String, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(errors.count == 1, "\(errors)", sourceLocation: sourceLocation)
        guard let e = errors.first else { return }
        #expect(e.location == location, "\(e)", sourceLocation: sourceLocation)
        #expect(e.keyPath == keyPath, "\(e)", sourceLocation: sourceLocation)
        for f in fragments { #expect(e.description.contains(f), "missing '\(f)' in: \(e)", sourceLocation: sourceLocation) }
    }

    @Test func unknownKeySuggestsTheRightOne() throws {
        let e = try errors(simStation(dmm: "    resorce: x\n"))
        expectOne(e, "bench.yaml:8:5", "instruments.dmm", ["unknown key \"resorce\"", "did you mean \"resource\""])
    }

    @Test func missingNameSaysWhatToAdd() throws {
        let e = try errors("id: bench\ninstruments: {}\n")
        expectOne(e, "bench.yaml:1:1", "", ["missing `name`", "add e.g. `name:"])
    }

    @Test func idMustMatchTheFileName() throws {
        let e = try errors(simStation(id: "other"))
        expectOne(e, "bench.yaml:1:5", "id", ["id \"other\" differs from the file name bench.yaml", "rename"])
    }

    @Test func badRoleName() throws {
        let e = try errors(simStation(roles: "  Bad-Role: {mock: true}\n"))
        expectOne(e, "bench.yaml:8:3", "instruments", ["\"Bad-Role\" is not a valid role name"])
    }

    @Test func realInstrumentNeedsAResource() throws {
        let e = try errors(simStation(roles: "  psu: {profile: generic_scpi_psu}\n"))
        expectOne(e, "bench.yaml:8:8", "instruments.psu", ["needs a `resource`", "mock: true"])
    }

    @Test func yesIsNotABoolean() throws {
        let e = try errors(simStation(dmm: "    mock: yes\n"))
        expectOne(e, "bench.yaml:8:11", "instruments.dmm.mock", ["expected true or false, found \"yes\"", "write true"])
    }

    @Test func badCalibrationDate() throws {
        let e = try errors(simStation(dmm: "    calibration: {due: 2027-02-30}\n"))
        expectOne(e, "bench.yaml:8:24", "instruments.dmm.calibration.due", ["YYYY-MM-DD", "\"2027-02-30\""])
    }

    @Test func calibrationLastAfterDue() throws {
        let e = try errors(simStation(dmm: "    calibration: {due: 2027-01-01, last: 2027-06-01}\n"))
        expectOne(e, "bench.yaml:8:18", "instruments.dmm.calibration", ["after the due date"])
    }

    @Test func badResourceString() throws {
        let e = try errors(simStation(roles: "  psu: {resource: \"TCPIP0:10.0.0.5::INSTR\", profile: generic_scpi_psu}\n"))
        #expect(e.count == 1, "\(e)")
        #expect(e.first?.location == "bench.yaml:8:19")
        #expect(e.first?.keyPath == "instruments.psu.resource")
        #expect(e.first?.description.contains("e.g.") == true, "\(e)")
    }

    @Test func unknownDriverListsTheLoadedOnes() throws {
        let e = try errors(simStation(roles: "  psu: {driver: simm, resource: \"SIM::psu::INSTR\"}\n"))
        expectOne(e, "bench.yaml:8:17", "instruments.psu.driver", ["no driver 'simm'", "Did you mean 'sim'"])
    }

    @Test func driverMustServeTheResourceScheme() throws {
        let e = try errors(simStation(roles: "  psu: {driver: mock, resource: \"SIM::psu::INSTR\"}\n"))
        expectOne(e, "bench.yaml:8:17", "instruments.psu.driver", ["opens MOCK resources, not SIM"])
    }

    @Test func noDriverForTheScheme() throws {
        let e = try errors(simStation(roles: "  psu: {resource: \"GPIB0::5::INSTR\"}\n"))
        expectOne(e, "bench.yaml:8:19", "instruments.psu.resource", ["no loaded driver opens", "scheme GPIB"])
    }

    @Test func unknownProfileSuggestsOne() throws {
        let e = try errors(simStation(roles: "  psu: {resource: \"SIM::psu::INSTR\", profile: generic_scpi_pus}\n"))
        expectOne(e, "bench.yaml:8:47", "instruments.psu.profile", ["no instrument profile \"generic_scpi_pus\"", "did you mean \"generic_scpi_psu\""])
    }

    @Test func unknownOptionSuggestsOne() throws {
        let e = try errors(simStation(dmm: "    options: {timout_ms: 5}\n").replacingOccurrences(of: "    options: {description: \"${station_dir}/sim/bench_devices.yaml\"}\n", with: ""))
        expectOne(e, "bench.yaml:7:15", "instruments.dmm.options.timout_ms", ["no open option \"timout_ms\"", "did you mean \"timeout_ms\""])
    }

    @Test func optionOfTheWrongType() throws {
        let text = simStation().replacingOccurrences(of: "options: {description:", with: "options: {timeout_ms: fast, description:")
        let e = try errors(text)
        expectOne(e, "bench.yaml:7:15", "instruments.dmm.options.timeout_ms", ["expected an integer, found \"fast\""])
    }

    @Test func optionOutOfRange() throws {
        let text = simStation().replacingOccurrences(of: "options: {description:", with: "options: {timeout_ms: -5, description:")
        let e = try errors(text)
        expectOne(e, "bench.yaml:7:15", "instruments.dmm.options.timeout_ms", ["outside"])
    }

    @Test func mockConfigKeyMustBeAnOperation() throws {
        let e = try errors(simStation(dmm: "    mock_config: {measure_dc_voltag: 5}\n"))
        expectOne(e, "bench.yaml:8:19", "instruments.dmm.mock_config.measure_dc_voltag", ["not an operation of role dmm", "did you mean \"measure_dc_voltage\""])
    }

    @Test func mockConfigValueMustHaveTheResultType() throws {
        let e = try errors(simStation(dmm: "    mock_config: {measure_dc_voltage: high}\n"))
        expectOne(e, "bench.yaml:8:19", "instruments.dmm.mock_config.measure_dc_voltage", ["returns f64", "expected a number, found \"high\""])
    }

    @Test func mockConfigGrammarErrorsAreLocated() throws {
        let e1 = try errors(simStation(dmm: "    mock_config:\n      measure_dc_voltage: {nominal: 5, sigmaa: 1}\n"))
        expectOne(e1, "bench.yaml:9:7", "instruments.dmm.mock_config.measure_dc_voltage", ["unknown behaviour key \"sigmaa\"", "did you mean \"sigma\""])
        let e2 = try errors(simStation(dmm: "    mock_config:\n      measure_dc_voltage: {sequence: [1, 2], then: forever}\n"))
        expectOne(e2, "bench.yaml:9:7", "instruments.dmm.mock_config.measure_dc_voltage", ["then must be repeat, cycle or error"])
        let e3 = try errors(simStation(dmm: "    mock_config:\n      measure_dc_voltage: {nominal: 5, sigma: -1}\n"))
        expectOne(e3, "bench.yaml:9:7", "instruments.dmm.mock_config.measure_dc_voltage", ["sigma"])
    }

    @Test func yamlSyntaxErrorIsLocated() throws {
        let e = try errors("id: bench\nname: [unclosed\ninstruments: {}\n")
        #expect(e.count == 1, "\(e)")
        #expect(e.first?.line ?? 0 >= 2, "\(e)")
        #expect(e.first?.description.contains("YAML syntax") == true, "\(e)")
    }

    @Test func duplicateKeysAreErrors() throws {
        let e = try errors("id: bench\nname: a\nname: b\n")
        #expect(e.count == 1, "\(e)")
        #expect(e.first?.description.contains("duplicate key name") == true, "\(e)")
    }

    @Test func independentErrorsAreAllReported() throws {
        let e = try errors(simStation(dmm: "    mock_config: {nope: 1}\n", roles: "  psu: {resource: \"SIM::psu::INSTR\", profile: nosuch}\n  load: {mock: true, colour: red}\n"))
        #expect(e.count == 3, "\(e)")
        #expect(e.map(\.line).sorted() == [8, 9, 10], "\(e)")
    }

    @Test func mockedRoleWithoutItsPluginStillChecksTheProfileTable() throws {
        let s = try StationScratch()
        try s.write("lab.yaml", """
            name: Lab
            instruments:
              psu:
                resource: "VICP0::192.168.10.30::INSTR"
                profile: generic_scpi_psu
                mock_config: {measure_voltage: 5.0, measure_voltag: 1}
            """)
        let (_, report) = s.load("lab.yaml", mock: true)
        #expect(report.errors.count == 1, "\(report)")
        #expect(report.errors.first?.keyPath == "instruments.psu.mock_config.measure_voltag")
        #expect(report.warnings.contains { $0.description.contains("no loaded driver opens") }, "\(report)")
    }
}

@Suite struct FixtureValidationTests {
    func load(_ fixture: String, station: String? = nil) throws -> ConfigReport {
        let s = try StationScratch()
        try s.write("bench.yaml", station ?? """
            name: Bench
            part: parts/buck_3v3.yaml
            instruments:
              dmm: {resource: "SIM::dmm::INSTR", profile: generic_scpi_dmm, options: {description: "${station_dir}/sim/bench_devices.yaml"}}
              psu: {resource: "SIM::psu::INSTR", profile: generic_scpi_psu, options: {description: "${station_dir}/sim/bench_devices.yaml"}}
              matrix: {resource: "SIM::switch::INSTR", profile: generic_scpi_switch, options: {description: "${station_dir}/sim/bench_devices.yaml"}}
            """)
        try s.write("fixtures/f.yaml", fixture)
        var report = s.load("bench.yaml", fixture: "fixtures/f.yaml").1
        report.errors = report.errors.map {
            var e = $0
            e.file = (e.file as NSString).lastPathComponent
            return e
        }
        return report
    }

    @Test func shippedFixtureIsValid() throws {
        let r = try load(String(contentsOfFile: TestPlugins.packageRoot + "/stations/fixtures/buck_fixture.yaml", encoding: .utf8).replacingOccurrences(of: "id: buck_fixture", with: "id: f")
            .replacingOccurrences(of: "instrument: eload", with: "instrument: dmm"))
        #expect(r.errors.isEmpty, "\(r)")
    }

    @Test func unknownRole() throws {
        let r = try load("connections:\n  vout: {instrument: dvm, pin: VOUT}\n")
        #expect(r.errors.count == 1, "\(r)")
        #expect(r.errors.first?.location == "f.yaml:2:22")
        #expect(r.errors.first?.keyPath == "connections.vout.instrument")
        #expect(r.errors.first?.description.contains("did you mean \"dmm\"") == true, "\(r)")
    }

    @Test func unknownPinWithDesignatorHint() throws {
        let r = try load("connections:\n  vout: {instrument: dmm, pin: J1.3}\n")
        #expect(r.errors.count == 1, "\(r)")
        #expect(r.errors.first?.location == "f.yaml:2:32")
        #expect(r.errors.first?.description.contains("designator of pin VOUT") == true, "\(r)")
    }

    @Test func channelMustBeValidForTheRole() throws {
        let r = try load("connections:\n  vin: {instrument: psu, channel: \"3\", pin: VIN}\n")
        #expect(r.errors.count == 1, "\(r)")
        #expect(r.errors.first?.location == "f.yaml:2:35")
        #expect(r.errors.first?.description.contains("not a channel of role psu (profile generic_scpi_psu)") == true, "\(r)")
    }

    @Test func routeSwitchMustBeARole() throws {
        let r = try load("connections:\n  vout: {instrument: dmm, pin: VOUT, route: {switch: matrx, channels: [\"101\"]}}\n")
        #expect(r.errors.count == 1, "\(r)")
        #expect(r.errors.first?.keyPath == "connections.vout.route.switch")
        #expect(r.errors.first?.description.contains("did you mean \"matrix\"") == true, "\(r)")
    }

    @Test func partMismatch() throws {
        let r = try load("part: other_part\nconnections:\n  vout: {instrument: dmm, pin: VOUT}\n")
        #expect(r.errors.count == 1, "\(r)")
        #expect(r.errors.first?.location == "f.yaml:1:7")
        #expect(r.errors.first?.description.contains("wired for part \"other_part\"") == true, "\(r)")
    }

    @Test func shapeErrors() throws {
        let both = try load("connections: {}\nsites: []\n")
        #expect(both.errors.first?.description.contains("not both") == true, "\(both)")
        let numeric = try load("sites:\n  - {name: \"1\", connections: {v: {instrument: dmm, pin: VOUT}}}\n")
        #expect(numeric.errors.first?.location == "f.yaml:2:12", "\(numeric)")
        let dup = try load("sites:\n  - {name: a, connections: {v: {instrument: dmm, pin: VOUT}}}\n  - {name: a, connections: {v: {instrument: dmm, pin: VOUT}}}\n")
        #expect(dup.errors.first?.location == "f.yaml:3:12", "\(dup)")
        #expect(dup.errors.first?.description.contains("duplicate site name") == true, "\(dup)")
        let noPin = try load("connections:\n  v: {instrument: dmm}\n")
        #expect(noPin.errors.first?.location == "f.yaml:2:6", "\(noPin)")
        let noChannels = try load("connections:\n  v: {instrument: dmm, pin: VOUT, route: {switch: matrix, channels: []}}\n")
        #expect(noChannels.errors.first?.description.contains("at least one channel") == true, "\(noChannels)")
    }
}

/// mock_config against a native driver's typed operation table (the reference C driver).
@Suite struct MockConfigAgainstDriverTableTests {
    @Test func everyResultTypeIsCheckedAndAnswered() throws {
        let s = try StationScratch()
        try s.write("bench.yaml", """
            name: Example bench
            instruments:
              dmm:
                resource: "EXAMPLE::dmm0::INSTR"
                options: {serial: "0042", nplc: 10}
                mock: true
                mock_config:
                  measure_dc_voltage: 5
                  read_count: {sequence: [1, 2, 3]}
                  is_autorange: true
                  fetch_buffer: [1, 2.5, 3]
                  measure_resistance: {lookup: {"DCV": 1.0}, default: 1000}
            """)
        let (config, report) = s.load("bench.yaml")
        #expect(report.errors.isEmpty, "\(report)")
        let c = try #require(config)
        #expect(c.role("dmm")?.options == ["serial": .string("0042"), "nplc": .f64(10)])
        let bench = try c.open()
        defer { bench.close() }
        let dmm = try bench.instrument("dmm")
        #expect(try dmm.call("measure_dc_voltage") == .f64(5))
        #expect(try dmm.call("read_count") == .i64(1))
        #expect(try dmm.call("read_count") == .i64(2))
        #expect(try dmm.call("is_autorange") == .bool(true))
        #expect(try dmm.call("fetch_buffer", 3) == .f64Array([1, 2.5, 3]))
        #expect(try dmm.call("set_range", "RES") == .void)
        #expect(throws: DriverError.self) { try dmm.call("set_range", "VOLTS") }  // choices still checked
        #expect(throws: DriverError.self) { try dmm.call("fetch_buffer", 0) }     // ranges still checked
    }

    @Test func wrongTypesAreLocatedPerKey() throws {
        let s = try StationScratch()
        try s.write("bench.yaml", """
            name: Example bench
            instruments:
              dmm:
                resource: "EXAMPLE::dmm0::INSTR"
                mock: true
                mock_config:
                  read_count: 2.5
                  is_autorange: on
                  fetch_buffer: [1, x]
                  set_range: 5
            """)
        let errors = s.load("bench.yaml").1.errors
        #expect(errors.map(\.line) == [7, 8, 9, 10], "\(errors)")
        #expect(errors.map { $0.keyPath.components(separatedBy: ".").last ?? "" } == ["read_count", "is_autorange", "fetch_buffer", "set_range"])
        #expect(errors[0].description.contains("expected an integer, found \"2.5\""), "\(errors)")
        #expect(errors[1].description.contains("write true or false"), "\(errors)")
        #expect(errors[2].description.contains("list of numbers"), "\(errors)")
        #expect(errors[3].description.contains("nothing (null)"), "\(errors)")
    }
}
