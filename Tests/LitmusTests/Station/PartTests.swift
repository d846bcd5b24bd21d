import Foundation
import Testing

@testable import Litmus

/// Parts (`parts/<id>.yaml`): the model, band selection, limits, validation errors with their
/// exact places, YAML round trips, pin ranges and `base:` inheritance.
@Suite struct PartTests {
    /// A fresh directory of part files, removed afterwards.
    final class PartsDir {
        let path: String

        init() {
            path = FileManager.default.temporaryDirectory.path + "/litmus-parts-" + UUID().uuidString
            try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        @discardableResult
        func write(_ name: String, _ text: String) -> String {
            let file = "\(path)/\(name)"
            _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
            return file
        }

        func load(_ name: String) -> (part: Part?, report: ConfigReport, file: String) {
            let reader = ConfigReader()
            let file = "\(path)/\(name)"
            return (PartLoader.load(path: file, reader: reader), reader.report, file)
        }
    }

    /// Checks that `report` holds exactly one error, at this place.
    func expectOneError(
        _ report: ConfigReport, file: String, line: Int, column: Int, keyPath: String, problem: String, fix: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(report.errors.count == 1, "\(report)", sourceLocation: sourceLocation)
        guard let e = report.errors.first else { return }
        #expect(e.file == file, sourceLocation: sourceLocation)
        #expect(e.line == line, "\(e)", sourceLocation: sourceLocation)
        #expect(e.column == column, "\(e)", sourceLocation: sourceLocation)
        #expect(e.keyPath == keyPath, "\(e)", sourceLocation: sourceLocation)
        #expect(e.problem.contains(problem), "\(e)", sourceLocation: sourceLocation)
        #expect(fix.isEmpty || e.fix.contains(fix), "\(e)", sourceLocation: sourceLocation)
    }

    /// A part with one pin `VOUT` and one characteristic `vout` whose bands are `bands`
    /// (indented under `bands:`, starting on line 8).
    static func onePin(bands: String) -> String {
        """
        name: Test part
        pins:
          VOUT: {designator: J1.3}
        characteristics:
          vout:
            pin: VOUT
            bands:
        \(bands)
        """
    }

    static let fullExample = """
        id: buck_3v3
        name: "3.3 V buck module"
        part_number: "PN-1001"
        revision: B
        description: Synchronous buck, 4.5 to 24 V in
        datasheet: "DS-1001 rev 3"
        pins:
          VIN:  {designator: J1.1, net: VIN, role: power}
          VOUT: {designator: J1.3, net: VOUT_3V3, role: power, description: "regulated output"}
          GND:  {designator: J1.2, net: GND, role: ground}
          EN:   {designator: J1.4}
        characteristics:
          vout:
            pin: VOUT
            function: dc_voltage
            direction: output
            unit: V
            nominal: 3.3
            datasheet_ref: "DS-1001 §4.2"
            bands:
              - when: {vin: {min: 4.5, max: 12}, load: {values: [0.1, 0.5]}}
                nominal: 3.3
                accuracy: {pct_reading: 2, pct_range: 0, absolute: 0.01, range: 5}
              - when: {vin: {min: 12, max: 24}}
                min: 3.2
                max: 3.4
          ripple:
            pin: VOUT
            unit: mV
            bands:
              - max: 50
          vin_range:
            pins: [VIN, GND]
            net: VIN
            bands:
              - when: {mode: CC, temp: {value: 25, unit: degC}}
                min: 4.5
                max: 24
                unit: V
                qualifier: guaranteed
        """

    // MARK: - Parsing

    @Test func fullExampleParsesWithExactValues() throws {
        let dir = PartsDir()
        dir.write("buck_3v3.yaml", Self.fullExample)
        let (loaded, report, _) = dir.load("buck_3v3.yaml")
        #expect(report.isEmpty, "\(report)")
        let part = try #require(loaded)
        #expect(part.id == "buck_3v3")
        #expect(part.name == "3.3 V buck module")
        #expect(part.partNumber == "PN-1001")
        #expect(part.revision == "B")
        #expect(part.base == nil)
        #expect(part.description == "Synchronous buck, 4.5 to 24 V in")
        #expect(part.datasheet == "DS-1001 rev 3")
        #expect(part.pins == [
            PartPin(key: "VIN", designator: "J1.1", net: "VIN", role: .power),
            PartPin(key: "VOUT", designator: "J1.3", net: "VOUT_3V3", role: .power, description: "regulated output"),
            PartPin(key: "GND", designator: "J1.2", net: "GND", role: .ground),
            PartPin(key: "EN", designator: "J1.4", role: .signal),
        ])
        #expect(part.pin("VOUT")?.designator == "J1.3")
        #expect(part.pin(designator: "J1.2")?.key == "GND")
        #expect(part.pin("NOPE") == nil)
        #expect(part.characteristics.map(\.id) == ["vout", "ripple", "vin_range"])

        let vout = try #require(part.characteristic("vout"))
        #expect(vout == Characteristic(
            id: "vout", pins: ["VOUT"], function: "dc_voltage", direction: .output, unit: "V", nominal: 3.3,
            datasheetRef: "DS-1001 §4.2",
            bands: [
                SpecBand(
                    when: [("vin", .range(min: 4.5, max: 12)), ("load", .values([0.1, 0.5]))], nominal: 3.3,
                    accuracy: Accuracy(pctReading: 2, pctRange: 0, absolute: 0.01, range: 5)),
                SpecBand(when: [("vin", .range(min: 12, max: 24))], min: 3.2, max: 3.4),
            ]))
        #expect(vout.bands[0].when.map(\.key) == ["vin", "load"])
        #expect(part.characteristic("ripple") == Characteristic(id: "ripple", pins: ["VOUT"], unit: "mV", bands: [SpecBand(max: 50)]))
        #expect(part.characteristic("vin_range") == Characteristic(
            id: "vin_range", pins: ["VIN", "GND"], net: "VIN",
            bands: [
                SpecBand(
                    when: [("mode", .equals("CC")), ("temp", .equals(25, unit: "degC"))], min: 4.5, max: 24, unit: "V",
                    qualifier: .guaranteed)
            ]))
        #expect(part.characteristic("nope") == nil)
    }

    @Test func partWithOnlyRequiredFields() throws {
        let dir = PartsDir()
        dir.write("bare.yaml", "name: Bare\n")
        let (loaded, report, _) = dir.load("bare.yaml")
        #expect(report.isEmpty, "\(report)")
        #expect(loaded == Part(id: "bare", name: "Bare"))
    }

    @Test func characteristicByNetOnly() throws {
        let dir = PartsDir()
        dir.write("p.yaml", "name: P\ncharacteristics:\n  rail:\n    net: VBUS\n    bands: [{max: 5.5}]\n")
        let part = try #require(dir.load("p.yaml").part)
        #expect(part.characteristic("rail") == Characteristic(id: "rail", net: "VBUS", bands: [SpecBand(max: 5.5)]))
    }

    @Test func throwingLoaderReturnsWarningsAndThrowsTheReport() throws {
        let dir = PartsDir()
        let good = dir.write("good.yaml", Self.onePin(bands: "      - {when: {mode: on}, max: 1}"))
        let result = try PartLoader.load(path: good)
        #expect(result.part.characteristic("vout")?.bands.first?.condition("mode") == .equals("on"))
        #expect(result.warnings.count == 1)
        let bad = dir.write("bad.yaml", "pins: {}\n")
        #expect(throws: ConfigReport.self) { try PartLoader.load(path: bad) }
        let byID = PartLoader.load(id: "good", directory: dir.path, reader: ConfigReader())
        #expect(byID?.id == "good")
    }

    // MARK: - Round trips

    static func roundTrip(_ part: Part) throws -> (Part?, ConfigReport, String) {
        let text = ConfigEncoding.string(part.yaml())
        let reader = ConfigReader()
        let node = try reader.parse(text, file: "\(part.id).yaml")
        return (Part.parse(node, id: part.id, reader: reader), reader.report, text)
    }

    @Test func roundTripWithEveryFieldSet() throws {
        let part = Part(
            id: "full", name: "Full: every field", partNumber: "0042", revision: "1.0", base: "family",
            description: "multi\nline # not a comment", datasheet: "DS-7 'rev' \"3\"",
            pins: [
                PartPin(key: "VIN", designator: "J1.1", net: "VIN", role: .power, description: "input"),
                PartPin(key: "GPIO0", designator: "J2.1", net: "off", role: .signal),
                PartPin(key: "GPIO1", designator: "J2.2", role: .reference),
                PartPin(key: "GND", designator: "J1.2", net: "GND", role: .ground),
            ],
            characteristics: [
                Characteristic(
                    id: "vout", pins: ["VIN"], net: "VOUT", function: "dc_voltage", direction: .output, unit: "V",
                    nominal: 3.3, datasheetRef: "§4.2", description: "output voltage",
                    bands: [
                        SpecBand(
                            when: [
                                ("vin", .range(min: 4.5, max: 12, unit: "V")), ("load", .values([0.1, 0.5])),
                                ("mode", .equals("off")), ("code", .equals("5")), ("temp", .equals(25, unit: "degC")),
                                ("corner", .values(["ss", "ff", 1], unit: "x")), ("low", .range(min: nil, max: 1e-9)),
                                ("on", .range(min: -40, max: nil)),
                            ],
                            nominal: 3.3, accuracy: Accuracy(pctReading: 2, pctRange: 0.5, absolute: 0.01, range: 5),
                            unit: "V", qualifier: .guaranteed),
                        SpecBand(min: 3.2, max: 3.4),
                        SpecBand(accuracy: Accuracy(absolute: 0.1)),
                        SpecBand(nominal: 3.3, qualifier: .typical),
                    ]),
                Characteristic(id: "gpio", pins: ["GPIO0", "GPIO1"], direction: .bidir, bands: [SpecBand(min: 0.85)]),
                Characteristic(id: "iin", net: "VIN", direction: .input, bands: [SpecBand(max: 50)]),
                Characteristic(id: "info", pins: ["GND"]),
            ])
        let (back, report, text) = try Self.roundTrip(part)
        #expect(report.isEmpty, "\(report)\n\(text)")
        #expect(back == part, "\(text)")
    }

    @Test func roundTripWithOnlyRequiredFields() throws {
        let part = Part(id: "minimal", name: "Minimal")
        let (back, report, text) = try Self.roundTrip(part)
        #expect(report.isEmpty, "\(report)")
        #expect(back == part, "\(text)")
        #expect(text == "id: minimal\nname: Minimal\n")
    }

    @Test func roundTripOfTheFullExample() throws {
        let dir = PartsDir()
        dir.write("buck_3v3.yaml", Self.fullExample)
        let part = try #require(dir.load("buck_3v3.yaml").part)
        let (back, report, text) = try Self.roundTrip(part)
        #expect(report.isEmpty, "\(report)")
        #expect(back == part, "\(text)")
    }

    // MARK: - Band selection

    static let selection = Characteristic(
        id: "vout", nominal: 3.3,
        bands: [
            SpecBand(when: [("vin", .range(min: 4.5, max: 12))], nominal: 3.3, accuracy: Accuracy(pctReading: 2)),
            SpecBand(when: [("vin", .range(min: 4.5, max: 24))], min: 3.1, max: 3.5),
            SpecBand(when: [("load", .values([0.1, 0.5]))], min: 1, max: 2),
            SpecBand(when: [("code", .equals(5))], min: 5, max: 6),
            SpecBand(when: [("mode", .equals("CC"))], min: 7, max: 8),
        ])

    @Test func firstMatchingBandWinsAndRangesAreInclusive() {
        let c = Self.selection
        #expect(c.band(for: ["vin": 4.5]) == c.bands[0])
        #expect(c.band(for: ["vin": 12]) == c.bands[0])
        #expect(c.band(for: ["vin": 12.0001]) == c.bands[1])
        #expect(c.band(for: ["vin": 24]) == c.bands[1])
        #expect(c.band(for: ["vin": 4.4999]) == nil)
        #expect(c.band(for: ["vin": 24.5]) == nil)
    }

    @Test func listMembershipPointAndText() {
        let c = Self.selection
        #expect(c.band(for: ["load": 0.5]) == c.bands[2])
        #expect(c.band(for: ["load": 0.3]) == nil)
        #expect(c.band(for: ["code": 5]) == c.bands[3])
        #expect(c.band(for: ["code": 5.0]) == c.bands[3])
        #expect(c.band(for: ["code": "5"]) == nil)
        #expect(c.band(for: ["mode": "CC"]) == c.bands[4])
        #expect(c.band(for: ["mode": "CV"]) == nil)
        #expect(c.band(for: ["mode": "cc"]) == nil)
    }

    @Test func missingKeyDoesNotMatchAndEmptyWhenMatchesAnything() {
        let c = Characteristic(
            id: "x",
            bands: [
                SpecBand(when: [("vin", .range(min: 0, max: 10)), ("temp", .equals(25))], max: 1),
                SpecBand(max: 2),
            ])
        #expect(c.band(for: ["vin": 5, "temp": 25]) == c.bands[0])
        #expect(c.band(for: ["vin": 5]) == c.bands[1])
        #expect(c.band(for: [:]) == c.bands[1])
        #expect(c.band(for: ["other": "x"]) == c.bands[1])
        #expect(Characteristic(id: "y", bands: [SpecBand(when: [("vin", .equals(1))], max: 1)]).band(for: [:]) == nil)
    }

    @Test func typicalBandsAreSkipped() {
        let c = Characteristic(
            id: "x",
            bands: [
                SpecBand(nominal: 3.3, qualifier: .typical),
                SpecBand(when: [("vin", .equals(5))], min: 3, max: 4, qualifier: .typical),
                SpecBand(min: 3.2, max: 3.4),
            ])
        #expect(c.band(for: ["vin": 5]) == c.bands[2])
        #expect(Characteristic(id: "t", bands: [SpecBand(nominal: 1, qualifier: .typical)]).band(for: [:]) == nil)
    }

    @Test func textNeverMatchesARange() {
        let c = Characteristic(id: "x", bands: [SpecBand(when: [("vin", .range(min: 0, max: 100))], max: 1)])
        #expect(c.band(for: ["vin": "5"]) == nil)
        #expect(c.band(for: ["vin": "fast"]) == nil)
        #expect(c.band(for: ["vin": 5]) == c.bands[0])
        #expect(BandCondition.range(min: 1, max: nil).matches(1))
        #expect(!BandCondition.range(min: 1, max: nil).matches(0.5))
        #expect(BandCondition.range(min: nil, max: 1).matches(-1e9))
    }

    // MARK: - Bounds

    @Test func boundsFromNominalAndAccuracyAreExact() {
        // 4 ± (25 % of 4 + 12.5 % of 8 + 0.5) = 4 ± 2.5
        let band = SpecBand(nominal: 4, accuracy: Accuracy(pctReading: 25, pctRange: 12.5, absolute: 0.5, range: 8))
        #expect(band.bounds().low == 1.5)
        #expect(band.bounds().high == 6.5)
        // Negative nominal: |nominal| is used.
        let negative = SpecBand(nominal: -4, accuracy: Accuracy(pctReading: 25))
        #expect(negative.bounds().low == -5)
        #expect(negative.bounds().high == -3)
        // 3.3 V ± (2 % + 10 mV) = 3.3 ± 0.076
        let vout = SpecBand(nominal: 3.3, accuracy: Accuracy(pctReading: 2, absolute: 0.01))
        let (low, high) = vout.bounds()
        #expect(abs(low! - 3.224) < 1e-12)
        #expect(abs(high! - 3.376) < 1e-12)
    }

    @Test func pctRangeUsesTheRangeNotTheNominal() {
        // 1 % of a 10 V range is 0.1 V, whatever the nominal.
        let band = SpecBand(nominal: 2, accuracy: Accuracy(pctRange: 1, range: 10))
        #expect(band.bounds().low == 2 - 0.1)
        #expect(band.bounds().high == 2 + 0.1)
    }

    @Test func oneSidedAndExplicitWindows() {
        #expect(SpecBand(max: 50).bounds().low == nil)
        #expect(SpecBand(max: 50).bounds().high == 50)
        #expect(SpecBand(min: 0.85).bounds().low == 0.85)
        #expect(SpecBand(min: 0.85).bounds().high == nil)
        let window = SpecBand(nominal: 3.3, min: 3.2, max: 3.4)
        #expect(window.bounds().low == 3.2)
        #expect(window.bounds().high == 3.4)
        // A typical band with only a nominal sets no limit.
        #expect(SpecBand(nominal: 3.3, qualifier: .typical).bounds().low == nil)
        #expect(SpecBand(nominal: 3.3, qualifier: .typical).bounds().high == nil)
    }

    @Test func bandsWithoutNominalUseTheCharacteristics() throws {
        let dir = PartsDir()
        dir.write("p.yaml", """
            name: P
            pins: {VOUT: {designator: J1}}
            characteristics:
              vout:
                pin: VOUT
                nominal: 5
                bands:
                  - accuracy: {pct_reading: 10}
            """)
        let (loaded, report, _) = dir.load("p.yaml")
        #expect(report.isEmpty, "\(report)")
        let c = try #require(loaded?.characteristic("vout"))
        #expect(c.bands[0].nominal == nil)
        #expect(c.nominal(of: c.bands[0]) == 5)
        let bounds = try #require(c.bounds(for: [:]))
        #expect(bounds.low == 4.5)
        #expect(bounds.high == 5.5)
    }

    // MARK: - Validation errors, located exactly

    @Test func unknownKeyWithDidYouMean() {
        let dir = PartsDir()
        dir.write("p.yaml", """
            name: P
            pins:
              VOUT: {designator: J1.3}
            characteristics:
              vout:
                pin: VOUT
                unti: V
                bands: [{max: 1}]
            """)
        let (part, report, file) = dir.load("p.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: file, line: 7, column: 5, keyPath: "characteristics.vout", problem: "unknown key \"unti\"",
            fix: "did you mean \"unit\"?")
    }

    @Test func unknownTopLevelKeysAreAllReported() {
        let dir = PartsDir()
        dir.write("p.yaml", "name: P\npart_numbr: X\ncharateristics: {}\n")
        let (part, report, file) = dir.load("p.yaml")
        #expect(part == nil)
        #expect(report.errors.count == 2, "\(report)")
        #expect(report.errors.map(\.line) == [2, 3])
        #expect(report.errors.allSatisfy { $0.file == file && $0.column == 1 && $0.keyPath == "" })
        #expect(report.errors[0].fix.contains("did you mean \"part_number\"?"))
        #expect(report.errors[1].fix.contains("did you mean \"characteristics\"?"))
    }

    @Test func unknownBandAndPinKeys() {
        let dir = PartsDir()
        dir.write("p.yaml", """
            name: P
            pins:
              VOUT: {designator: J1.3, rol: power}
            characteristics:
              vout:
                pin: VOUT
                bands:
                  - {nominal: 1, accuracy: {pct_readng: 2}}
                  - {value: 3.3}
            """)
        let (_, report, file) = dir.load("p.yaml")
        #expect(report.errors.count == 3, "\(report)")
        let e = report.errors
        #expect((e[0].file, e[0].line, e[0].column, e[0].keyPath) == (file, 3, 28, "pins.VOUT"))
        #expect(e[0].fix.contains("did you mean \"role\"?"))
        #expect((e[1].line, e[1].column, e[1].keyPath) == (8, 33, "characteristics.vout.bands[0].accuracy"))
        #expect(e[1].fix.contains("did you mean \"pct_reading\"?"))
        #expect((e[2].line, e[2].column, e[2].keyPath) == (9, 10, "characteristics.vout.bands[1]"))
        #expect(e[2].fix.contains("`nominal:`"))
    }

    @Test func missingName() {
        let dir = PartsDir()
        dir.write("p.yaml", "pins:\n  VOUT: {designator: J1.3}\n")
        let (part, report, file) = dir.load("p.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: file, line: 1, column: 1, keyPath: "", problem: "missing `name`", fix: "name:")
    }

    @Test func badPinReferencesAreAllReported() {
        let dir = PartsDir()
        dir.write("p.yaml", """
            name: P
            pins:
              VOUT: {designator: J1.3}
              VIN: {designator: J1.1}
            characteristics:
              vout:
                pin: VOUTT
                bands: [{max: 1}]
              iin:
                pins: [VIN, VBAT]
                bands: [{max: 1}]
              ok:
                pin: VIN
                bands: [{max: 1}]
            """)
        let (part, report, file) = dir.load("p.yaml")
        #expect(part == nil)
        #expect(report.errors.count == 2, "\(report)")
        let e = report.errors
        #expect((e[0].file, e[0].line, e[0].column, e[0].keyPath) == (file, 7, 10, "characteristics.vout.pin"))
        #expect(e[0].problem == "unknown pin \"VOUTT\"")
        #expect(e[0].fix == "did you mean \"VOUT\"? pins of this part: VOUT, VIN")
        #expect((e[1].line, e[1].column, e[1].keyPath) == (10, 17, "characteristics.iin.pins[1]"))
        #expect(e[1].problem == "unknown pin \"VBAT\"")
    }

    @Test func characteristicWithoutPinOrNet() {
        let dir = PartsDir()
        dir.write("p.yaml", "name: P\ncharacteristics:\n  vout:\n    unit: V\n    bands: [{max: 1}]\n")
        let (_, report, file) = dir.load("p.yaml")
        expectOneError(report, file: file, line: 4, column: 5, keyPath: "characteristics.vout", problem: "names no pin, pins or net")
    }

    @Test func nominalWithoutLimits() {
        let dir = PartsDir()
        dir.write("p.yaml", Self.onePin(bands: "      - nominal: 3.3"))
        let (part, report, file) = dir.load("p.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: file, line: 8, column: 18, keyPath: "characteristics.vout.bands[0].nominal",
            problem: "gives a nominal (3.3) but no limits", fix: "qualifier: typical")
    }

    @Test func typicalBandMayHaveJustANominal() throws {
        let dir = PartsDir()
        dir.write("p.yaml", Self.onePin(bands: "      - {nominal: 3.3, qualifier: typical}\n      - {min: 3, max: 3.6}"))
        let (loaded, report, _) = dir.load("p.yaml")
        #expect(report.isEmpty, "\(report)")
        let c = try #require(loaded?.characteristic("vout"))
        #expect(c.bands[0] == SpecBand(nominal: 3.3, qualifier: .typical))
        #expect(c.band(for: [:]) == SpecBand(min: 3, max: 3.6))
    }

    @Test func minGreaterThanMax() {
        let dir = PartsDir()
        dir.write("p.yaml", Self.onePin(bands: "      - min: 3.4\n        max: 3.2"))
        let (part, report, file) = dir.load("p.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: file, line: 8, column: 14, keyPath: "characteristics.vout.bands[0].min",
            problem: "min 3.4 is greater than max 3.2")
    }

    @Test func nonNumericNominal() {
        let dir = PartsDir()
        dir.write("p.yaml", Self.onePin(bands: "      - nominal: TBD\n        accuracy: {pct_reading: 2}"))
        let (part, report, file) = dir.load("p.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: file, line: 8, column: 18, keyPath: "characteristics.vout.bands[0].nominal",
            problem: "expected a number (the nominal value), found \"TBD\"", fix: "a limit needs a known number")
    }

    @Test func pctRangeWithoutRange() {
        let dir = PartsDir()
        dir.write("p.yaml", Self.onePin(bands: "      - nominal: 3.3\n        accuracy: {pct_range: 1}"))
        let (part, report, file) = dir.load("p.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: file, line: 9, column: 31, keyPath: "characteristics.vout.bands[0].accuracy.pct_range",
            problem: "pct_range needs the range", fix: "range:")
    }

    @Test func otherBandErrors() {
        let cases: [(bands: String, line: Int, column: Int, keyPath: String, problem: String)] = [
            ("      - {min: 1, max: 2, accuracy: {absolute: 0.1}}", 8, 36, "characteristics.vout.bands[0].accuracy", "both an explicit min/max window and an accuracy"),
            ("      - {accuracy: {absolute: 0.1}}", 8, 20, "characteristics.vout.bands[0].accuracy", "needs a nominal"),
            ("      - {nominal: 1, accuracy: {pct_reading: 0}}", 8, 32, "characteristics.vout.bands[0].accuracy", "the accuracy is zero"),
            ("      - {nominal: 5, min: 1, max: 2}", 8, 19, "characteristics.vout.bands[0].nominal", "outside the band's window"),
            ("      - {unit: V}", 8, 9, "characteristics.vout.bands[0]", "the band sets no limit"),
            ("      - {when: {vin: {min: 5, max: 1}}, max: 1}", 8, 28, "characteristics.vout.bands[0].when.vin.min", "nothing matches"),
            ("      - {when: {vin: {unit: V}}, max: 1}", 8, 22, "characteristics.vout.bands[0].when.vin", "gives no value"),
            ("      - {when: {vin: {values: []}}, max: 1}", 8, 31, "characteristics.vout.bands[0].when.vin.values", "empty"),
            ("      - {max: 1, qualifier: typcal}", 8, 29, "characteristics.vout.bands[0].qualifier", "one of guaranteed, typical"),
            ("      - {max: 1, accuracy: {absolute: -1}}", 8, 39, "characteristics.vout.bands[0].accuracy.absolute", "negative"),
        ]
        for c in cases {
            let dir = PartsDir()
            dir.write("p.yaml", Self.onePin(bands: c.bands))
            let (part, report, file) = dir.load("p.yaml")
            #expect(part == nil)
            expectOneError(report, file: file, line: c.line, column: c.column, keyPath: c.keyPath, problem: c.problem)
        }
    }

    @Test func idMustMatchTheFileName() {
        let dir = PartsDir()
        dir.write("buck_3v3.yaml", "id: buck_3v3x\nname: Buck\n")
        let (part, report, file) = dir.load("buck_3v3.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: file, line: 1, column: 5, keyPath: "id",
            problem: "id \"buck_3v3x\" differs from the file name buck_3v3.yaml",
            fix: "rename the file to buck_3v3x.yaml, or change the id to buck_3v3")
    }

    @Test func independentErrorsAreAllReported() {
        let dir = PartsDir()
        dir.write("p.yaml", """
            id: q
            pins:
              VOUT: {designator: J1.3, role: pwr}
            characteristics:
              a:
                pin: VOUT
                bands: [{nominal: TBD, accuracy: {pct_reading: 1}}]
              b:
                pin: VOUT
                bands: [{min: 2, max: 1}, {nominal: 1}]
            """)
        let (part, report, _) = dir.load("p.yaml")
        #expect(part == nil)
        // id, the role, a's nominal, b's two bands, and the missing name.
        #expect(report.errors.map(\.line) == [1, 3, 7, 10, 10, 1], "\(report)")
        #expect(report.errors[1].fix.contains("did you mean \"power\"?"))
    }

    // MARK: - Ambiguous YAML in `when`

    @Test func ambiguousOffIsTextWithAWarning() throws {
        let dir = PartsDir()
        dir.write("p.yaml", Self.onePin(bands: "      - when: {mode: off}\n        max: 1\n      - when: {mode: [sleep, \"on\"]}\n        max: 2"))
        let (loaded, report, file) = dir.load("p.yaml")
        #expect(report.errors.isEmpty, "\(report)")
        #expect(report.warnings.count == 1, "\(report)")
        let w = try #require(report.warnings.first)
        #expect((w.file, w.line, w.column, w.keyPath) == (file, 8, 22, "characteristics.vout.bands[0].when.mode"))
        #expect(w.problem.contains("\"off\""))
        #expect(w.fix == "write it in quotes: \"off\"")
        let c = try #require(loaded?.characteristic("vout"))
        #expect(c.bands[0].condition("mode") == .equals(.text("off")))
        #expect(c.band(for: ["mode": "off"]) == c.bands[0])
        #expect(c.band(for: ["mode": "false"]) == nil)
        #expect(c.band(for: ["mode": 0]) == nil)
        // Quoted: no warning, still text.
        #expect(c.band(for: ["mode": "on"]) == c.bands[1])
    }

    @Test func conditionForms() throws {
        let dir = PartsDir()
        dir.write("p.yaml", Self.onePin(bands: """
                  - when: {a: 5, b: "5", c: [1, x], d: {value: 2, unit: V}, e: {values: [3]}, f: {max: 1}, g: {min: 0}, h: 1e3}
                    max: 1
            """))
        let (loaded, report, _) = dir.load("p.yaml")
        #expect(report.isEmpty, "\(report)")
        let band = try #require(loaded?.characteristic("vout")?.bands.first)
        #expect(band.when.map(\.key) == ["a", "b", "c", "d", "e", "f", "g", "h"])
        #expect(band.condition("a") == .equals(5))
        #expect(band.condition("b") == .equals(.text("5")))
        #expect(band.condition("c") == .values([1, "x"]))
        #expect(band.condition("d") == .equals(2, unit: "V"))
        #expect(band.condition("e") == .values([3]))
        #expect(band.condition("f") == .range(min: nil, max: 1))
        #expect(band.condition("g") == .range(min: 0, max: nil))
        #expect(band.condition("h") == .equals(1000))
        #expect(band.condition("d")?.unit == "V")
    }

    // MARK: - Pin ranges

    @Test func pinRangeStringsExpand() throws {
        #expect(try NameRange.expand("GPIO[0:3]") == ["GPIO0", "GPIO1", "GPIO2", "GPIO3"])
        #expect(try NameRange.expand("GPIO[0,2,4:5]") == ["GPIO0", "GPIO2", "GPIO4", "GPIO5"])
        #expect(try NameRange.expand("D[3:1]") == ["D3", "D2", "D1"])
        #expect(try NameRange.expand("D[08:10]") == ["D08", "D09", "D10"])
        #expect(try NameRange.expand("LED[0:1]_N") == ["LED0_N", "LED1_N"])
        #expect(try NameRange.expand("VOUT") == nil)
        #expect(throws: NameRange.Failure.self) { try NameRange.expand("GPIO[0:x]") }
        #expect(throws: NameRange.Failure.self) { try NameRange.expand("GPIO[]") }
        #expect(throws: NameRange.Failure.self) { try NameRange.expand("GPIO[0:8:2]") }
        #expect(throws: NameRange.Failure.self) { try NameRange.expand("GPIO[0:99999]") }
    }

    @Test func characteristicPinRanges() throws {
        let dir = PartsDir()
        dir.write("mcu.yaml", """
            name: MCU
            pins:
              GPIO0: {designator: P0}
              GPIO1: {designator: P1}
              GPIO2: {designator: P2}
              GPIO3: {designator: P3}
              GPIO4: {designator: P4}
              GPIO5: {designator: P5}
              "GPIO[9]": {designator: P9}
            characteristics:
              all:
                pins: "GPIO[0:3]"
                bands: [{max: 3.6}]
              some:
                pins: ["GPIO[0,2,4:5]"]
                bands: [{max: 3.6}]
              literal:
                pin: "GPIO[9]"
                bands: [{max: 3.6}]
            """)
        let (loaded, report, _) = dir.load("mcu.yaml")
        #expect(report.isEmpty, "\(report)")
        let part = try #require(loaded)
        #expect(part.characteristic("all")?.pins == ["GPIO0", "GPIO1", "GPIO2", "GPIO3"])
        #expect(part.characteristic("some")?.pins == ["GPIO0", "GPIO2", "GPIO4", "GPIO5"])
        #expect(part.characteristic("literal")?.pins == ["GPIO[9]"])
        let (back, backReport, text) = try Self.roundTrip(part)
        #expect(backReport.isEmpty, "\(backReport)")
        #expect(back == part, "\(text)")
    }

    @Test func pinRangeNamingMissingPins() {
        let dir = PartsDir()
        dir.write("mcu.yaml", "name: MCU\npins:\n  GPIO0: {designator: P0}\ncharacteristics:\n  io:\n    pins: GPIO[0:2]\n    bands: [{max: 1}]\n")
        let (_, report, file) = dir.load("mcu.yaml")
        expectOneError(
            report, file: file, line: 6, column: 11, keyPath: "characteristics.io.pins",
            problem: "\"GPIO[0:2]\" stands for GPIO0, GPIO1, GPIO2, but GPIO1, GPIO2 are not pins of this part")
    }

    // MARK: - Inheritance

    static let family = """
        name: Buck family
        part_number: PN-1000
        description: family
        datasheet: DS-1000
        pins:
          VIN: {designator: J1.1, role: power}
          VOUT: {designator: J1.3, role: power}
          GND: {designator: J1.2, role: ground}
        characteristics:
          vout:
            pin: VOUT
            unit: V
            bands: [{nominal: 3.3, accuracy: {pct_reading: 2}}]
          ripple:
            pin: VOUT
            bands: [{max: 50}]
          iq:
            pin: VIN
            bands: [{max: 0.005}]
        """

    @Test func variantAddingACharacteristicKeepsTheBases() throws {
        let dir = PartsDir()
        dir.write("buck_family.yaml", Self.family)
        dir.write("buck_pg.yaml", """
            base: buck_family
            name: Buck with power good
            pins:
              PG: {designator: J1.5}
            characteristics:
              pg:
                pin: PG
                bands: [{min: 0.9}]
            """)
        let (loaded, report, _) = dir.load("buck_pg.yaml")
        #expect(report.isEmpty, "\(report)")
        let part = try #require(loaded)
        #expect(part.id == "buck_pg")
        #expect(part.base == "buck_family")
        #expect(part.name == "Buck with power good")
        #expect(part.partNumber == "PN-1000")
        #expect(part.pins.map(\.key) == ["VIN", "VOUT", "GND", "PG"])
        #expect(part.characteristics.map(\.id) == ["vout", "ripple", "iq", "pg"])
        #expect(part.characteristic("ripple")?.bands == [SpecBand(max: 50)])
    }

    @Test func variantOverridesAndRemovesByKey() throws {
        let dir = PartsDir()
        dir.write("buck_family.yaml", Self.family)
        dir.write("buck_5v.yaml", """
            base: buck_family
            name: 5 V buck
            description: null
            pins:
              GND: {designator: J2.2, role: ground}
            characteristics:
              vout:
                pin: VOUT
                unit: V
                bands: [{nominal: 5, accuracy: {pct_reading: 2}}]
              iq: null
            """)
        let (loaded, report, _) = dir.load("buck_5v.yaml")
        #expect(report.isEmpty, "\(report)")
        let part = try #require(loaded)
        #expect(part.name == "5 V buck")
        #expect(part.description == nil)
        #expect(part.datasheet == "DS-1000")
        #expect(part.pins.map(\.key) == ["VIN", "VOUT", "GND"])
        #expect(part.pin("GND")?.designator == "J2.2")
        #expect(part.characteristics.map(\.id) == ["vout", "ripple"])
        #expect(part.characteristic("vout")?.bands == [SpecBand(nominal: 5, accuracy: Accuracy(pctReading: 2))])
        #expect(part.characteristic("iq") == nil)
    }

    @Test func inheritanceOverSeveralLevels() throws {
        let dir = PartsDir()
        dir.write("buck_family.yaml", Self.family)
        dir.write("buck_5v.yaml", "base: buck_family\nname: 5 V\ncharacteristics:\n  iq: null\n")
        dir.write("buck_5v_b.yaml", "base: buck_5v\nrevision: B\npins:\n  EN: {designator: J1.6}\n")
        let (loaded, report, _) = dir.load("buck_5v_b.yaml")
        #expect(report.isEmpty, "\(report)")
        let part = try #require(loaded)
        #expect(part.name == "5 V")
        #expect(part.revision == "B")
        #expect(part.base == "buck_5v")
        #expect(part.pins.map(\.key) == ["VIN", "VOUT", "GND", "EN"])
        #expect(part.characteristics.map(\.id) == ["vout", "ripple"])
    }

    @Test func removingAPinACharacteristicUsesIsAnErrorInTheBase() {
        let dir = PartsDir()
        let base = dir.write("buck_family.yaml", Self.family)
        dir.write("v.yaml", "base: buck_family\nname: V\npins:\n  VIN: null\n")
        let (part, report, _) = dir.load("v.yaml")
        #expect(part == nil)
        expectOneError(report, file: base, line: 18, column: 10, keyPath: "characteristics.iq.pin", problem: "unknown pin \"VIN\"")
    }

    @Test func removingWhatIsNotInherited() {
        let dir = PartsDir()
        dir.write("buck_family.yaml", Self.family)
        dir.write("v.yaml", "base: buck_family\nname: V\ncharacteristics:\n  rippel: null\n")
        let (_, report, file) = dir.load("v.yaml")
        expectOneError(
            report, file: file, line: 4, column: 3, keyPath: "characteristics.rippel",
            problem: "base \"buck_family\" has no characteristic \"rippel\"", fix: "did you mean \"ripple\"?")
        dir.write("standalone.yaml", "name: S\npins:\n  VIN: null\n")
        let standalone = dir.load("standalone.yaml")
        expectOneError(
            standalone.report, file: standalone.file, line: 3, column: 3, keyPath: "pins.VIN",
            problem: "this part has no `base:`")
    }

    @Test func missingBase() {
        let dir = PartsDir()
        dir.write("buck_family.yaml", Self.family)
        dir.write("v.yaml", "name: V\nbase: buck_famly\n")
        let (part, report, file) = dir.load("v.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: file, line: 2, column: 7, keyPath: "base",
            problem: "base part \"buck_famly\" not found: there is no file \(dir.path)/buck_famly.yaml",
            fix: "did you mean \"buck_family\"?")
    }

    @Test func inheritanceCycle() {
        let dir = PartsDir()
        dir.write("a.yaml", "name: A\nbase: b\n")
        let b = dir.write("b.yaml", "name: B\nbase: a\n")
        let (part, report, _) = dir.load("a.yaml")
        #expect(part == nil)
        expectOneError(report, file: b, line: 2, column: 7, keyPath: "base", problem: "inheritance cycle: a -> b -> a")
        dir.write("self.yaml", "name: S\nbase: self\n")
        let selfLoop = dir.load("self.yaml")
        expectOneError(
            selfLoop.report, file: selfLoop.file, line: 2, column: 7, keyPath: "base", problem: "inheritance cycle: self -> self")
    }

    @Test func inheritanceDepthIsLimited() throws {
        let dir = PartsDir()
        // p0 -> p1 -> ... -> p9: nine bases, one too many.
        for i in 0..<10 {
            dir.write("p\(i).yaml", i == 9 ? "name: P9\n" : "name: P\(i)\nbase: p\(i + 1)\n")
        }
        let (part, report, _) = dir.load("p0.yaml")
        #expect(part == nil)
        expectOneError(
            report, file: "\(dir.path)/p8.yaml", line: 2, column: 7, keyPath: "base",
            problem: "inheritance deeper than 8 levels: p0 -> p1 -> p2 -> p3 -> p4 -> p5 -> p6 -> p7 -> p8 -> p9")
        // p1 has eight bases: allowed.
        let ok = dir.load("p1.yaml")
        #expect(ok.report.isEmpty, "\(ok.report)")
        #expect(ok.part?.name == "P1")
    }
}
