import Foundation
import Testing

@testable import Litmus

/// `litmus import`: a sample project written in the original's documented format (and read by
/// the original's own loaders from .venv-anchor, so it is valid there), imported by the built
/// binary; the result must pass `litmus station check`, carry the same bench, wiring and limits
/// as the original reads them, run a harness, and report every key that did not map.
@Suite(.serialized) struct ImportTests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"
    static var anchorPython: String { "\(TestPlugins.packageRoot)/.venv-anchor/bin/python" }

    // MARK: - The sample project (the original's format)

    static let station = """
        # A bench of the original, as its docs describe one.
        id: line2_bench3
        name: "Line 2 / Bench 3"
        station_type: rail_tester
        hostname: l2b3-pc
        location: "Bldg 4, Line 2"
        supported_phases: [validation, production]
        instruments:
          dmm:
            type: dmm
            driver: vendor_drivers.dmm.Model6500
            resource: "TCPIP0::10.4.2.31::INSTR"
            catalog_ref: keithley_dmm6500
            mock_config:
              measure_dc_voltage: {nominal: 3.30, sigma: 0.004}
          psu:
            type: psu
            resource: "USB0::0x2A8D::0x1102::MY5900123::INSTR"
            description: "bench supply"
          matrix:
            type: switch
            driver: vendor_drivers.sw.Matrix34980
            resource: "TCPIP0::10.4.2.40::5025::SOCKET"
            channels: {close_channels: set}
          eload:
            type: eload
            mock: true
            mock_config: {set_current: null, measure_voltage: 3.29}
          DAQ-1:
            type: daq
            driver: nidaqmx_driver.Daq
            resource: "Dev1/ai0"

        """

    static let asset = """
        id: dmm
        catalog_ref: keithley_dmm6500
        info: {manufacturer: KEITHLEY, model: DMM6500, serial: "04412345"}
        calibration: {due_date: 2099-11-30, last_cal: 2025-11-30, certificate: "C-8812", lab: MetCal}

        """

    static let stationType = """
        id: rail_tester
        description: "Rail test bench"
        instruments:
          dmm: {type: dmm, driver: vendor_drivers.dmm.Model6500}

        """

    static let fixture = """
        id: rail_fixture
        name: "Buck rail fixture"
        part_id: buck_3v3
        station_types: [rail_tester]
        uut_resource: /dev/ttyUSB3
        connections:
          vout_sense:
            name: vout_sense
            instrument: dmm
            instrument_channel: "1"
            instrument_terminal: hi
            uut_pin: VOUT
            net: VOUT_3V3
            function: dc_voltage
            route:
              switch: matrix
              channels: ["101"]
              settling_ms: 5
          vin_supply:
            name: vin_feed
            instrument: psu
            instrument_channel: "1"
            uut_pin: VIN
          daq_tap:
            name: daq_tap
            instrument: DAQ-1
            uut_pin: VOUT
            function: ac_voltage

        """

    static let part = """
        id: buck_3v3
        name: "3.3 V buck converter"
        part_number: PN-1001
        revision: B
        schematic: "sch/buck.pdf"
        pins:
          VIN: {name: "J1.1", net: VIN_5V, role: power}
          VOUT: {name: "J1.3", net: VOUT_3V3, role: power}
          GND: {name: "J1.2", net: GND, role: ground}
          SDA: {name: "J2.1", net: I2C_SDA}
        signal_groups:
          i2c: {protocol: i2c, signals: [{pin: SDA, role: data}]}
        characteristics:
          vout:
            function: dc_voltage
            direction: output
            unit: V
            pin: VOUT
            datasheet_ref: "DS-1001 4.2"
            conditions:
              vin: {range: {min: 4.5, max: 24, unit: V}}
            bands:
              - when: {vin: {min: 4.5, max: 12, unit: V}}
                value: 3.3
                accuracy: {pct_reading: 2, absolute: 0.01}
              - when: {vin: {min: 12, max: 24, unit: V}}
                value: 3.3
                accuracy: {pct_range: 3}
                resolution: {digits: 5.5}
          iq:
            function: dc_current
            direction: input
            unit: A
            pin: VIN
            bands:
              - value: 0.005
          vin_range:
            function: dc_voltage
            direction: input
            unit: V
            pins: [VIN]
            bands:
              - when: {mode: [eco, normal]}
                value: 12
                accuracy: {absolute: 7.5}
                range: {min: 0, max: 30, unit: V}

        """

    static let files: [String: String] = [
        "stations/line2_bench3.yaml": station, "stations/types/rail_tester.yaml": stationType, "instruments/dmm.yaml": asset,
        "fixtures/rail_fixture.yaml": fixture, "parts/buck_3v3.yaml": part,
    ]

    /// Limits asked of both implementations: characteristic and conditions.
    static let limitCases: [(String, [String: ParamValue])] = [
        ("vout", ["vin": .number(5)]), ("vout", ["vin": .number(18)]), ("iq", [:]), ("vin_range", ["mode": .text("eco")]),
    ]

    static func writeProject(_ files: [String: String] = files) throws -> String {
        let dir = "\(TestPlugins.scratch)/import-\(UUID().uuidString.prefix(8))"
        for (path, text) in files {
            let full = "\(dir)/original/\(path)"
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// What the original's own loaders read from the sample project (they raise on an invalid
    /// file), and the limits its `derive_limit` computes.
    static func originalView(_ root: String) throws -> [String: Any] {
        let cases = limitCases.map { c -> [Any] in
            [c.0, c.1.mapValues { v -> Any in if case .number(let d) = v { d } else if case .text(let t) = v { t } else { "" } }]
        }
        let program = """
            import json, sys
            from pathlib import Path
            from litmus.store import load_station, load_fixture, load_part, load_instrument_asset, load_station_type
            from litmus.execution.limits import derive_limit
            root = Path(sys.argv[1])
            st = load_station(root / "stations/line2_bench3.yaml")
            fx = load_fixture(root / "fixtures/rail_fixture.yaml")
            pt = load_part(root / "parts/buck_3v3.yaml")
            asset = load_instrument_asset(root / "instruments/dmm.yaml")
            assert load_station_type("rail_tester", project_root=root) is not None, "station type refused"
            out = {
                "roles": {r: {"type": i.type, "resource": i.resource} for r, i in st.instruments.items()},
                "connections": {k: {"instrument": c.instrument, "channel": c.instrument_channel, "pin": c.uut_pin,
                                    "net": c.net, "function": str(c.function) if c.function else None,
                                    "route": [c.route.switch, c.route.channels, c.route.settling_ms] if c.route else None}
                                for k, c in fx.connections.items()},
                "pins": {k: [p.name, p.net, str(p.role)] for k, p in pt.pins.items()},
                "identity": [asset.info.manufacturer, asset.info.model, asset.info.serial],
                "calibration": [str(asset.calibration.due_date), str(asset.calibration.last_cal)],
                "limits": [],
            }
            for name, conds in json.loads(sys.argv[2]):
                l = derive_limit(pt.characteristics[name], conds, char_id=name)
                out["limits"].append([name, l.low, l.high])
            # TesterKit 0.6 reads the same files: its loaders accept them and read the same models.
            from testerkit.store import load_station as tk_station, load_fixture as tk_fixture, load_part as tk_part
            assert tk_station(root / "stations/line2_bench3.yaml").model_dump() == st.model_dump(), "testerkit station differs"
            assert tk_fixture(root / "fixtures/rail_fixture.yaml").model_dump() == fx.model_dump(), "testerkit fixture differs"
            assert tk_part(root / "parts/buck_3v3.yaml").model_dump() == pt.model_dump(), "testerkit part differs"
            print(json.dumps(out))
            """
        let casesJSON = String(decoding: try JSONSerialization.data(withJSONObject: cases), as: UTF8.self)
        guard FileManager.default.isExecutableFile(atPath: anchorPython) else {
            throw TestPython.Failure(description: "no Python original at \(anchorPython): run scripts/setup.sh")
        }
        let r = try TestPlugins.run(anchorPython, ["-c", program, root, casesJSON])
        guard r.status == 0, let start = r.output.firstIndex(of: "{") else {
            throw TestPython.Failure(description: "the original's loaders refused the sample: \(r.output)")
        }
        return try JSONSerialization.jsonObject(with: Data(r.output[start...].utf8)) as! [String: Any]
    }

    static func importProject(_ dir: String, _ extra: [String] = []) throws -> (status: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
        env["LITMUS_LOCK_DIR"] = "\(TestPlugins.scratch)/import-locks"
        return try TestPlugins.run(litmus, ["import", "original", "--out", "stations", "--from", "litmus-0.3"] + extra, environment: env, in: dir)
    }

    /// Line and column (1-based) of the `occurrence`-th line of `text` whose content starts
    /// with `needle` after its indentation.
    static func position(of needle: String, in text: String, occurrence: Int = 1) -> (line: Int, column: Int) {
        var seen = 0
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let body = line.drop { $0 == " " }
            if body.hasPrefix(needle) {
                seen += 1
                if seen == occurrence { return (i + 1, line.count - body.count + 1) }
            }
        }
        return (0, 0)
    }

    // MARK: - Tests

    @Test func aSampleProjectImportsPassesStationCheckAndKeepsBenchWiringAndLimits() throws {
        let dir = try Self.writeProject()
        let original = try Self.originalView(dir + "/original")
        let r = try Self.importProject(dir)
        #expect(r.status == 0, "\(r.output)")
        for path in ["stations/line2_bench3.yaml", "stations/fixtures/rail_fixture.yaml", "stations/parts/buck_3v3.yaml", "stations/import-report.txt"] {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(path)"), "\(path)\n\(r.output)")
        }

        // The real station check accepts the result, and opens it mocked.
        let check = try TestPlugins.run(Self.litmus, ["station", "check", "stations/line2_bench3.yaml", "--mock", "--open"], in: dir)
        #expect(check.status == 0, "\(check.output)\n\((try? String(contentsOfFile: dir + "/stations/line2_bench3.yaml", encoding: .utf8)) ?? "")")

        // The bench: the same roles (DAQ-1 renamed), types and resources.
        let (loaded, report) = StationConfiguration.load(station: dir + "/stations/line2_bench3.yaml", registry: TestPlugins.registry)
        let config = try #require(loaded, "\(report)")
        #expect(report.errors.isEmpty, "\(report)")
        let roles = try #require(original["roles"] as? [String: [String: Any]])
        #expect(config.station.instruments.map(\.role) == ["dmm", "psu", "matrix", "eload", "daq_1"])
        for inst in config.station.instruments where inst.role != "daq_1" {
            let o = try #require(roles[inst.role])
            #expect(inst.type == o["type"] as? String)
            #expect(inst.resource == o["resource"] as? String)
        }
        #expect(config.station.instrument("eload")?.mock == true)
        #expect(config.station.instrument("daq_1")?.mock == true, "a resource Litmus cannot open is mocked, and reported")
        // The instrument file joined into its role.
        let dmm = try #require(config.station.instrument("dmm"))
        let identity = try #require(original["identity"] as? [String])
        #expect([dmm.identity?.manufacturer, dmm.identity?.model, dmm.identity?.serial] == identity.map { Optional($0) })
        let calibration = try #require(original["calibration"] as? [String])
        #expect([dmm.calibration?.due?.description, dmm.calibration?.last?.description] == calibration.map { Optional($0) })

        // The wiring, connection by connection.
        let fixture = try #require(config.fixture)
        let connections = try #require(original["connections"] as? [String: [String: Any]])
        let site = try #require(fixture.sites.first)
        #expect(Set(site.connections.map(\.name)) == Set(connections.keys))
        for c in site.connections {
            let o = try #require(connections[c.name])
            #expect(c.role == ((o["instrument"] as? String) == "DAQ-1" ? "daq_1" : o["instrument"] as? String), "\(c.name)")
            #expect(c.channel == o["channel"] as? String, "\(c.name)")
            #expect(c.pin == o["pin"] as? String, "\(c.name)")
            #expect(c.net == o["net"] as? String, "\(c.name)")
            #expect(c.function == o["function"] as? String, "\(c.name)")
            if let route = o["route"] as? [Any] {
                #expect(c.route?.switchRole == route[0] as? String)
                #expect(c.route?.channels == route[1] as? [String])
                #expect(c.route?.settlingMs == (route[2] as? NSNumber)?.doubleValue)
            } else {
                #expect(c.route == nil)
            }
        }
        #expect(fixture.part == "buck_3v3")

        // The part: pins, and the limits the original derives, equal.
        let part = try #require(config.part)
        let pins = try #require(original["pins"] as? [String: [Any]])
        #expect(Set(part.pins.map(\.key)) == Set(pins.keys))
        for pin in part.pins {
            let o = try #require(pins[pin.key])
            #expect(pin.designator == o[0] as? String && pin.net == o[1] as? String && pin.role.rawValue == o[2] as? String, "\(pin)")
        }
        let product = try ProductContext(part: part)
        let limits = try #require(original["limits"] as? [[Any]])
        for (i, (name, conditions)) in Self.limitCases.enumerated() {
            let mine = try #require(try product.limit(for: name, conditions: conditions), "\(name)")
            let theirs = limits[i]
            for (a, b) in [(mine.low, theirs[1] as? Double), (mine.high, theirs[2] as? Double)] {
                let x = try #require(a, "\(name) \(conditions)"), y = try #require(b, "\(name) \(conditions)")
                #expect(abs(x - y) <= 1e-12 * max(1, abs(y)), "\(name) \(conditions): Litmus \(mine), original \(theirs)")
            }
        }
    }

    @Test func aHarnessRunsOnTheImportedBench() throws {
        let dir = try Self.writeProject()
        #expect(try Self.importProject(dir).status == 0)
        let (loaded, report) = StationConfiguration.load(
            station: dir + "/stations/line2_bench3.yaml", registry: TestPlugins.registry, mock: .init(all: true))
        let config = try #require(loaded, "\(report)")
        let bench = try config.open(.init(locks: nil))
        defer { bench.close() }
        let run = try HarnessRun()
        let harness = try TestHarness(
            vectors: try Vectors.product([Axis("vin", [5, 18])]), logger: run.logger,
            product: try ProductContext(part: try #require(config.part)), station: bench)
        let step = try harness.runAll { _ in try harness.measure("vout", 3.3, pin: "VOUT") }
        #expect(step.outcome == .passed)
        _ = try harness.runAll { _ in try harness.measure("vout", 3.5, pin: "VOUT") }
        try run.logger.finalize()
        let measured = try run.measurements()
        #expect(measured.map(\.outcome) == [.passed, .passed, .failed, .failed], "\(measured)")
        #expect(measured.allSatisfy { $0.fixtureConnection == "vout_sense" && $0.instrumentRole == "dmm" && $0.characteristicID == "vout" }, "\(measured)")
        try run.logger.close()
    }

    @Test func theReportListsEveryKeyThatDidNotMapWithItsPlace() throws {
        let dir = try Self.writeProject()
        let r = try Self.importProject(dir)
        #expect(r.status == 0, "\(r.output)")
        let report = try String(contentsOfFile: dir + "/stations/import-report.txt", encoding: .utf8)
        let notImported = report.components(separatedBy: "\nchanged").first ?? report
        func entry(_ file: String, _ text: String, _ needle: String, _ keyPath: String, occurrence: Int = 1) -> String {
            let at = Self.position(of: needle, in: text, occurrence: occurrence)
            return "original/\(file):\(at.line):\(at.column): \(keyPath):"
        }
        let expected = [
            entry("stations/line2_bench3.yaml", Self.station, "supported_phases:", "supported_phases"),
            entry("stations/line2_bench3.yaml", Self.station, "driver:", "instruments.dmm.driver"),
            entry("stations/line2_bench3.yaml", Self.station, "catalog_ref:", "instruments.dmm.catalog_ref"),
            entry("stations/line2_bench3.yaml", Self.station, "measure_dc_voltage:", "instruments.dmm.mock_config.measure_dc_voltage"),
            entry("stations/line2_bench3.yaml", Self.station, "driver:", "instruments.matrix.driver", occurrence: 2),
            entry("stations/line2_bench3.yaml", Self.station, "channels:", "instruments.matrix.channels"),
            entry("stations/line2_bench3.yaml", Self.station, "driver:", "instruments.DAQ-1.driver", occurrence: 3),
            entry("instruments/dmm.yaml", Self.asset, "catalog_ref:", "catalog_ref"),
            entry("fixtures/rail_fixture.yaml", Self.fixture, "station_types:", "station_types"),
            entry("fixtures/rail_fixture.yaml", Self.fixture, "uut_resource:", "uut_resource"),
            entry("parts/buck_3v3.yaml", Self.part, "schematic:", "schematic"),
            entry("parts/buck_3v3.yaml", Self.part, "signal_groups:", "signal_groups"),
            entry("parts/buck_3v3.yaml", Self.part, "conditions:", "characteristics.vout.conditions"),
            entry("parts/buck_3v3.yaml", Self.part, "resolution:", "characteristics.vout.bands[1].resolution"),
            entry("parts/buck_3v3.yaml", Self.part, "range:", "characteristics.vin_range.bands[0].range"),
        ]
        for e in expected {
            #expect(notImported.contains(e), "missing \(e) in:\n\(report)")
        }
        // The eload's mock answers: each with the value to write by hand.
        #expect(notImported.contains("instruments.eload.mock_config.measure_voltage: "), "\(report)")
        #expect(notImported.contains("add `mock_config: {measure_voltage: 3.29}`"), "\(report)")
        // The station type is reported as a whole file.
        #expect(notImported.contains("original/stations/types/rail_tester.yaml:1:1: a station type"), "\(report)")
        // Nothing else is left out: every entry is one of the above.
        let lines = notImported.split(separator: "\n").filter { $0.hasPrefix("  ") }
        #expect(lines.count == expected.count + 3, "\(report)")
        // And the changes are reported too.
        #expect(report.contains("instruments.DAQ-1: role \"DAQ-1\" is written daq_1"), "\(report)")
        #expect(report.contains("connections.vin_supply.name: the connection is recorded as vin_supply"), "\(report)")
        #expect(report.contains("accuracy.pct_range: the original takes the nominal as the range"), "\(report)")
    }

    @Test func aMultiSiteFixtureKeepsItsSitesAndEachSiteItsUUTResource() throws {
        let fixture = """
            id: dual
            part_id: buck_3v3
            uut_resource: /dev/ttyUSB0
            sites:
              - name: left
                connections:
                  vout: {name: vout, instrument: dmm, instrument_channel: "1", uut_pin: VOUT}
              - name: right
                uut_resource: /dev/ttyUSB1
                connections:
                  vout: {name: vout, instrument: dmm, instrument_channel: "2", uut_pin: VOUT}

            """
        let dir = try Self.writeProject([
            "stations/line2_bench3.yaml": Self.station, "fixtures/dual.yaml": fixture, "parts/buck_3v3.yaml": Self.part,
        ])
        let original = try TestPlugins.run(
            Self.anchorPython,
            ["-c", "import sys; from pathlib import Path; from litmus.store import load_fixture; "
                + "f = load_fixture(Path(sys.argv[1])); print([(s.name, s.uut_resource) for s in f.sites])",
             dir + "/original/fixtures/dual.yaml"])
        #expect(original.status == 0 && original.output.contains("('left', None), ('right', '/dev/ttyUSB1')"), "\(original.output)")
        let r = try Self.importProject(dir, ["--from", "testerkit"])
        #expect(r.status == 0, "\(r.output)")
        let (loaded, report) = StationConfiguration.load(station: dir + "/stations/line2_bench3.yaml", registry: TestPlugins.registry)
        let sites = try #require(loaded?.fixture?.sites, "\(report)")
        // The original gives a site without its own uut_resource the fixture's.
        #expect(sites.map(\.name) == ["left", "right"])
        #expect(sites.map(\.uutResource) == ["/dev/ttyUSB0", "/dev/ttyUSB1"])
        #expect(sites.map { $0.connections.map(\.channel) } == [["1"], ["2"]])
        let at = Self.position(of: "uut_resource:", in: fixture)
        #expect(r.output.contains("original/fixtures/dual.yaml:\(at.line):\(at.column + 14): sites[0].uut_resource: the fixture's uut_resource is written on site 0"), "\(r.output)")
    }

    @Test func importingAgainGivesTheSameFilesAndNeedsForce() throws {
        let dir = try Self.writeProject()
        #expect(try Self.importProject(dir).status == 0)
        let paths = ["stations/line2_bench3.yaml", "stations/fixtures/rail_fixture.yaml", "stations/parts/buck_3v3.yaml"]
        let first = try paths.map { try String(contentsOfFile: "\(dir)/\($0)", encoding: .utf8) }
        let refused = try Self.importProject(dir)
        #expect(refused.status == 1)
        #expect(refused.output.contains("these files exist; nothing was written"), "\(refused.output)")
        #expect(try Self.importProject(dir, ["--force"]).status == 0)
        #expect(try paths.map { try String(contentsOfFile: "\(dir)/\($0)", encoding: .utf8) } == first)
    }

    @Test func badInputGivesLocatedErrors() throws {
        // A typo the original refuses too, a YAML syntax error, and a file of no known kind.
        let typo = Self.station.replacingOccurrences(of: "    resource: \"USB0", with: "    resourse: \"USB0")
        let broken = "id: rail_fixture\nconnections:\n  vout: {instrument: dmm\n"
        let dir = try Self.writeProject([
            "stations/line2_bench3.yaml": typo, "fixtures/rail_fixture.yaml": broken, "notes/misc.yaml": "owner: lab\n",
        ])
        // The original's loader refuses the typo as well.
        let original = try TestPlugins.run(
            Self.anchorPython,
            ["-c", "import sys; from pathlib import Path; from litmus.store import load_station; load_station(Path(sys.argv[1]))",
             dir + "/original/stations/line2_bench3.yaml"])
        #expect(original.status != 0 && original.output.contains("resourse"), "\(original.output)")

        let r = try Self.importProject(dir)
        #expect(r.status == 1, "\(r.output)")
        let at = Self.position(of: "resourse:", in: typo)
        #expect(
            r.output.contains("original/stations/line2_bench3.yaml:\(at.line):\(at.column): instruments.psu: unknown key \"resourse\""),
            "\(r.output)")
        #expect(r.output.contains("did you mean \"resource\"?"), "\(r.output)")
        #expect(r.output.contains("original/fixtures/rail_fixture.yaml:4:1: YAML syntax"), "\(r.output)")
        #expect(r.output.contains("original/notes/misc.yaml:1:1: cannot tell what this file is"), "\(r.output)")
        let missing = try TestPlugins.run(Self.litmus, ["import", "nowhere", "--out", "x"], in: dir)
        #expect(missing.status == 1 && missing.output.contains("nowhere: no such file or folder"), "\(missing.output)")
        let from = try TestPlugins.run(Self.litmus, ["import", "original", "--out", "x", "--from", "litmus-9"], in: dir)
        #expect(from.status == 1 && from.output.contains("Fix: write --from litmus-0.3 or --from testerkit"), "\(from.output)")
    }
}
