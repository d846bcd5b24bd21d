import Foundation
import Testing

@testable import Litmus

/// Instrument profiles: typed operations as data (command templates and reply parsers), the
/// shipped generic profiles, and the simulated bench that answers them.
@Suite struct InstrumentProfileTests {
    static let profileDirectory = TestPlugins.packageRoot + "/stations/profiles"
    static let benchPath = TestPlugins.packageRoot + "/stations/sim/bench_devices.yaml"
    static let shipped = ["generic_scpi_dmm", "generic_scpi_psu", "generic_scpi_eload", "generic_scpi_switch"]

    // MARK: - Helpers

    /// Parses profile text as file `p.yaml`.
    func read(_ yaml: String, id: String = "p") throws -> (profile: InstrumentProfile?, report: ConfigReport) {
        let reader = ConfigReader()
        let node = try reader.parse(yaml, file: "p.yaml")
        let profile = InstrumentProfile.parse(node, id: id, reader: reader)
        return (profile, reader.report)
    }

    /// Parses profile text that must be valid.
    func profile(_ yaml: String, id: String = "p") throws -> InstrumentProfile {
        let (profile, report) = try read(yaml, id: id)
        #expect(report.errors.isEmpty, "\(report)")
        return try #require(profile)
    }

    /// A shipped profile, loaded from its file.
    func shipped(_ id: String) throws -> InstrumentProfile {
        let reader = ConfigReader()
        let profile = InstrumentProfile.load(path: "\(Self.profileDirectory)/\(id).yaml", reader: reader)
        #expect(reader.report.isEmpty, "\(reader.report)")
        return try #require(profile)
    }

    /// `location keyPath: problem` of every error.
    func errors(_ yaml: String) throws -> [String] {
        let (profile, report) = try read(yaml)
        #expect(profile == nil)
        return report.errors.map { "\($0.location) \($0.keyPath): \($0.problem)" }
    }

    /// Checks the errors of profile text, showing them all on a mismatch.
    func expectErrors(_ yaml: String, _ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let actual = try errors(yaml)
        #expect(actual == expected, sourceLocation: sourceLocation)
    }

    func op(_ profile: InstrumentProfile, _ name: String) throws -> ProfileOperation {
        try #require(profile.operation(named: name))
    }

    func bench(_ device: String) throws -> Instrument {
        try TestPlugins.registry.open("SIM::\(device)::INSTR", options: ["description": .string(Self.benchPath)])
    }

    /// Runs operations of one profile on one instrument and remembers which ran.
    final class Runner {
        let profile: InstrumentProfile
        let instrument: Instrument
        var ran: Set<String> = []

        init(_ profile: InstrumentProfile, _ instrument: Instrument) {
            self.profile = profile
            self.instrument = instrument
        }

        @discardableResult
        func callAsFunction(_ name: String, _ arguments: InstrumentValue...) throws -> InstrumentValue {
            let op = try #require(profile.operation(named: name))
            ran.insert(name)
            return try op.run(on: instrument, arguments: arguments, errorQuery: profile.errorQuery)
        }

        /// Every operation of the profile ran at least once.
        func expectAllRan(sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(ran == Set(profile.operations.map(\.name)), sourceLocation: sourceLocation)
        }
    }

    // MARK: - Shipped profiles

    @Test func shippedProfilesLoadWithoutProblems() throws {
        let names = try Self.shipped.map { try shipped($0).operations.map(\.name) }
        #expect(names[0] == [
            "measure_dc_voltage", "measure_ac_voltage", "measure_dc_current", "measure_resistance", "measure_frequency",
            "configure_voltage_range", "set_voltage_autorange",
        ])
        #expect(names[1] == [
            "set_voltage", "set_current_limit", "enable_output", "disable_output", "output_enabled", "measure_voltage",
            "measure_current",
        ])
        #expect(names[2] == [
            "set_mode", "set_current", "set_voltage", "set_resistance", "enable_input", "disable_input", "measure_voltage",
            "measure_current", "measure_power",
        ])
        #expect(names[3] == ["close_channels", "open_channels", "open_all", "is_closed"])
        for id in Self.shipped {
            let p = try shipped(id)
            #expect(p.id == id)
            #expect(p.errorQuery == "SYST:ERR?")
            #expect(p.initCommands == ["*CLS"])
        }
        #expect(try shipped("generic_scpi_psu").channels == ["1", "2"])
        #expect(try shipped("generic_scpi_psu").instrumentTypes == ["psu"])
    }

    @Test func shippedProfilesRoundTrip() throws {
        for id in Self.shipped {
            let original = try shipped(id)
            let text = ConfigEncoding.string(original.yaml())
            let again = try profile(text, id: id)
            #expect(again == original, "\(id):\n\(text)")
            #expect(ConfigEncoding.string(again.yaml()) == text)
        }
    }

    @Test func everyFeatureRoundTrips() throws {
        let original = try profile(
            #"""
            id: p
            name: "Every feature: on"
            description: "two\nlines"
            instrument_types: [eload, switch]
            identity: {manufacturer: "Keysight*", model: "E36?1A"}
            channels: ["CH[1:2]", AUX, "off"]
            init: ["*RST", "*CLS"]
            error_query: "SYST:ERR?"
            operations:
              set:
                write: "FUNC {mode};:SOUR{ch}:LEV {level};:COUN {n};:STAT {on};:LABEL \"{{{label}}}\""
                params:
                  mode: {type: string, choices: {CC: CURR, CV: VOLT}, default: CC, help: "regulation: mode"}
                  ch: {type: string, channel: true, default: AUX}
                  level: {type: f64, unit: A, min: -0.5, max: 1e3, default: 0.25}
                  n: {type: i64, min: 1, max: 10, default: 3}
                  on: {type: bool, default: false}
                  label: {type: string, choices: ["yes", "1.0"], default: "1.0"}
                help: everything at once
              block: {query_block: "CURV?"}
              text: {query: "SYST:VERS?", returns: string}
              numbers: {query: "FETC?", returns: "f64[]", unit: V}
              count: {query: "COUN?", returns: i64, unit: pcs}
            """#)
        #expect(original.channels == ["CH1", "CH2", "AUX", "off"])
        #expect(try op(original, "block").result == .bytes)
        let text = ConfigEncoding.string(original.yaml())
        #expect(try profile(text) == original, "\(text)")
    }

    @Test func parameterAndOperationInfos() throws {
        let psu = try shipped("generic_scpi_psu")
        let set = try op(psu, "set_voltage")
        #expect(set.parameterInfos == [
            ParameterInfo(name: "voltage", type: .f64, unit: "V", range: 0...30),
            // The default travels with the parameter: the host fills it in before any driver or mock.
            ParameterInfo(name: "channel", type: .string, isOptional: true, isChannel: true, choices: ["1", "2"], defaultValue: .string("1")),
        ])
        #expect(set.info(index: 0).signature == "set_voltage(voltage: f64 [V] 0...30, channel?: string {1|2} = \"1\") -> void")
        #expect(set.info(index: 3).flags == .writes)
        #expect(set.info(index: 3).index == 3)
        let measure = try op(psu, "measure_voltage").info(index: 5)
        #expect(measure.flags == .reads)
        #expect(measure.result == .f64)
        #expect(measure.resultUnit == "V")
        #expect(measure.help == "voltage measured at the output terminals")
        #expect(psu.operationInfos.map(\.index) == Array(0..<7))
        let mode = try op(try shipped("generic_scpi_eload"), "set_mode").parameterInfos[0]
        #expect(mode.choices == ["CC", "CV", "CR"])
        #expect(!mode.isOptional)
        let range = try op(try profile("operations: {a: {write: \"A {x}\", params: {x: {type: i64, min: 2}}}}"), "a")
        #expect(range.parameterInfos[0].range == 2...Double.infinity)
    }

    @Test func identityPatterns() throws {
        let p = try profile(#"identity: {manufacturer: "keysight*", model: "E36?1A"}"# + "\noperations: {a: {write: A}}")
        #expect(p.matches(identity: InstrumentIdentity(idn: "Keysight Technologies,E3631A,MY123,1.0")))
        #expect(p.matches(identity: InstrumentIdentity(idn: "KEYSIGHT,e3641a,MY123,1.0")))
        #expect(!p.matches(identity: InstrumentIdentity(idn: "Keysight Technologies,E36312A,MY123,1.0")))
        #expect(!p.matches(identity: InstrumentIdentity(idn: "Rigol,E3631A,1,1")))
        #expect(!p.matches(identity: InstrumentIdentity(manufacturer: "Keysight")))  // no model to match
        let any = try profile("operations: {a: {write: A}}")
        #expect(any.identity == nil)
        #expect(any.matches(identity: InstrumentIdentity()))
        let model = InstrumentProfile.IdentityPattern(model: "*")
        #expect(model.matches(InstrumentIdentity(idn: "x,anything")))
        #expect(ProfileGlob.matches("a*b*c", "aXXbYYc"))
        #expect(!ProfileGlob.matches("a*b*c", "aXXbYY"))
    }

    // MARK: - Rendering

    @Test func renderFormatsEveryType() throws {
        let psu = try shipped("generic_scpi_psu")
        let set = try op(psu, "set_voltage")
        #expect(try set.render([5]) == "INST:NSEL 1;:VOLT 5")
        #expect(try set.render([5.0, .void]) == "INST:NSEL 1;:VOLT 5")
        #expect(try set.render([0.1, "2"]) == "INST:NSEL 2;:VOLT 0.1")
        #expect(try set.render([12.345678, "1"]) == "INST:NSEL 1;:VOLT 12.345678")
        #expect(try set.render([2.5e-7]) == "INST:NSEL 1;:VOLT 2.5e-07")
        #expect(try set.render([-0.0]) == "INST:NSEL 1;:VOLT 0")
        #expect(try op(psu, "output_enabled").render([]) == "INST:NSEL 1;:OUTP?")

        let eload = try shipped("generic_scpi_eload")
        #expect(try op(eload, "set_mode").render(["CV"]) == "FUNC VOLT")
        #expect(try op(eload, "set_mode").render(["CR"]) == "FUNC RES")
        #expect(try op(eload, "enable_input").render([]) == "INP ON")
        let dmm = try shipped("generic_scpi_dmm")
        #expect(try op(dmm, "set_voltage_autorange").render([false]) == "VOLT:DC:RANG:AUTO 0")
        #expect(try op(dmm, "set_voltage_autorange").render([]) == "VOLT:DC:RANG:AUTO 1")
        #expect(try op(dmm, "configure_voltage_range").render([1000]) == "VOLT:DC:RANG 1000")
        let sw = try shipped("generic_scpi_switch")
        #expect(try op(sw, "close_channels").render(["101,102:105"]) == "ROUT:CLOS (@101,102:105)")

        let p = try profile(
            #"""
            operations:
              a:
                write: "X {n},{b},{s} {{literal}}"
                params: {n: {type: i64}, b: {type: bool}, s: {type: string}}
            """#)
        #expect(try op(p, "a").render([42, true, "say \"hi\""]) == #"X 42,1,say "hi" {literal}"#)
        #expect(try op(p, "a").render([-7, false, ""]) == "X -7,0, {literal}")
        #expect(try op(p, "a").render([6.0, false, "x"]) == "X 6,0,x {literal}")  // integral f64 for an i64
    }

    @Test func renderRefusesBadArguments() throws {
        let set = try op(try shipped("generic_scpi_psu"), "set_voltage")
        func refusal(_ arguments: [InstrumentValue]) throws -> String {
            let error = try #require(throws: DriverError.self) { try set.render(arguments) }
            #expect(error.status == .invalidArgument)
            return error.message
        }
        #expect(try refusal([]) == "'set_voltage' needs an argument for 'voltage' (voltage: f64 [V] 0...30)")
        #expect(try refusal([31]) == "'set_voltage' argument 'voltage' = 31.0 V is outside 0...30")
        #expect(try refusal(["5"]) == "'set_voltage' argument 'voltage' must be f64, got string \"5\"")
        #expect(try refusal([5, "3"]).hasPrefix("'set_voltage' argument 'channel' = \"3\" is not one of 1, 2."))
        #expect(try refusal([5, "1", "x"]) == "'set_voltage' takes 2 arguments, got 3")
        let mode = try op(try shipped("generic_scpi_eload"), "set_mode")
        let error = try #require(throws: DriverError.self) { try mode.render(["CURR"]) }
        #expect(error.message == "'set_mode' argument 'mode' = \"CURR\" is not one of CC, CV, CR. Did you mean 'CR'?")
        let close = try op(try shipped("generic_scpi_switch"), "close_channels")
        let injection = try #require(throws: DriverError.self) { try close.render(["101)\n*RST"]) }
        #expect(injection.message == "'close_channels' argument 'channels' must not contain a line break (it would end the message)")
        let open = try profile("operations: {a: {write: \"A {x}\", params: {x: {type: f64}}}}")
        let infinite = try #require(throws: DriverError.self) { try op(open, "a").render([.f64(.infinity)]) }
        #expect(infinite.message == "'a' argument 'x' must be finite, got inf")
    }

    // MARK: - Reply parsing

    func parsed(_ type: String, _ reply: String) throws -> InstrumentValue {
        let p = try profile("operations: {r: {query: \"R?\", returns: \"\(type)\"}}")
        return try op(p, "r").parse(Array(reply.utf8))
    }

    func parseFailure(_ type: String, _ reply: String) throws -> String {
        let p = try profile("operations: {r: {query: \"R?\", returns: \"\(type)\"}}")
        let error = try #require(throws: DriverError.self) { try op(p, "r").parse(Array(reply.utf8)) }
        #expect(error.status == .protocolViolation)
        return error.message
    }

    @Test func parsesNumbers() throws {
        #expect(try parsed("f64", "+5.00120000E+00\n") == .f64(5.0012))
        #expect(try parsed("f64", "  -0.5\r\n") == .f64(-0.5))
        #expect(try parsed("f64", "12") == .f64(12))
        #expect(try parsed("f64", ".25") == .f64(0.25))
        #expect(try parsed("f64", "1e-3") == .f64(0.001))
        // SCPI overload codes, mapped deliberately.
        #expect(try parsed("f64", "9.9E37") == .f64(.infinity))
        #expect(try parsed("f64", "+9.90000000E+37\n") == .f64(.infinity))
        #expect(try parsed("f64", "-9.9E37") == .f64(-.infinity))
        #expect(try parsed("f64", "9.91E37").doubleValue?.isNaN == true)
        #expect(try parsed("f64", "-9.91E+37").doubleValue?.isNaN == true)
        #expect(try parsed("f64", "9.8E37") == .f64(9.8e37))

        #expect(try parseFailure("f64", "5.0V") == #"'r': the reply "5.0V" is not a number (f64); a unit suffix is not accepted"#)
        #expect(try parseFailure("f64", "1.2 mA\n") == #"'r': the reply "1.2 mA" is not a number (f64); a unit suffix is not accepted"#)
        #expect(try parseFailure("f64", "inf") == #"'r': the reply "inf" is not a number (f64)"#)
        #expect(try parseFailure("f64", "nan") == #"'r': the reply "nan" is not a number (f64)"#)
        #expect(try parseFailure("f64", "0x10") == #"'r': the reply "0x10" is not a number (f64)"#)
        #expect(try parseFailure("f64", "") == #"'r': the reply "" is not a number (f64)"#)
        #expect(try parseFailure("f64", "1e") == #"'r': the reply "1e" is not a number (f64)"#)
        #expect(try parseFailure("f64", "1,2") == #"'r': the reply "1,2" is not a number (f64)"#)

        #expect(try parsed("i64", "42\n") == .i64(42))
        #expect(try parsed("i64", "+7") == .i64(7))
        #expect(try parsed("i64", " -3 ") == .i64(-3))
        #expect(try parseFailure("i64", "5.0") == #"'r': the reply "5.0" is not an integer (i64)"#)
        #expect(try parseFailure("i64", "1E3") == #"'r': the reply "1E3" is not an integer (i64)"#)
        #expect(try parseFailure("i64", "99999999999999999999") == #"'r': the reply "99999999999999999999" is not an integer (i64)"#)

        #expect(try parsed("f64[]", "1.5,2.5E-3,+9.9E37\n") == .f64Array([1.5, 0.0025, .infinity]))
        #expect(try parsed("f64[]", " 1 , -2 ") == .f64Array([1, -2]))
        #expect(try parsed("f64[]", "\n") == .f64Array([]))
        #expect(try parseFailure("f64[]", "1,,2") == #"'r': the reply "1,,2" is not a list of numbers (f64[]): field 2 is """#)
        #expect(try parseFailure("f64[]", "1,2V") == #"'r': the reply "1,2V" is not a list of numbers (f64[]): field 2 is "2V""#)
    }

    @Test func parsesBooleansStringsAndBytes() throws {
        #expect(try parsed("bool", "1\n") == .bool(true))
        #expect(try parsed("bool", "0") == .bool(false))
        #expect(try parsed("bool", "ON") == .bool(true))
        #expect(try parsed("bool", "off\r\n") == .bool(false))
        #expect(try parsed("bool", "On") == .bool(true))
        #expect(try parseFailure("bool", "2") == #"'r': the reply "2" is not a boolean (1, 0, ON or OFF)"#)
        #expect(try parseFailure("bool", "TRUE") == #"'r': the reply "TRUE" is not a boolean (1, 0, ON or OFF)"#)

        #expect(try parsed("string", "\"hello world\"\n") == .string("hello world"))
        #expect(try parsed("string", "  DCV  ") == .string("DCV"))
        #expect(try parsed("string", #""say ""hi""""#) == .string(#"say "hi""#))
        #expect(try parsed("string", "\"\"") == .string(""))
        #expect(try parsed("string", "\"unbalanced") == .string("\"unbalanced"))

        let block = try profile("operations: {b: {query_block: \"CURV?\", returns: bytes}}")
        #expect(try op(block, "b").parse([0, 10, 13, 255]) == .bytes([0, 10, 13, 255]))

        // Control characters in a bad reply are shown escaped.
        #expect(try parseFailure("bool", "\u{1}x\t") == #"'r': the reply "\x01x" is not a boolean (1, 0, ON or OFF)"#)
    }

    // MARK: - Validation

    @Test func unknownKeysAreLocatedWithSuggestions() throws {
        let (_, report) = try read(
            """
            operations:
              measure:
                query: "MEAS?"
                retruns: f64
            """)
        #expect(report.errors.count == 1)
        let error = try #require(report.errors.first)
        #expect(error.location == "p.yaml:4:5")
        #expect(error.keyPath == "operations.measure")
        #expect(error.problem == "unknown key \"retruns\"")
        #expect(error.fix.hasPrefix("did you mean \"returns\"?"))

        let (_, top) = try read("operatoins: {}")
        #expect(top.errors.map(\.description) == [
            "p.yaml:1:1: unknown key \"operatoins\". Fix: did you mean \"operations\"? Keys allowed here: id, name, description, "
                + "instrument_types, classes, protocol, termination, identity, channels, init, error_query, acknowledge, "
                + "error_reply, operations"
        ])
        try expectErrors("operations: {a: {write: \"A {x}\", params: {x: {type: f64, mn: 0}}}}", [
            "p.yaml:1:58 operations.a.params.x: unknown key \"mn\""
        ])
    }

    @Test func commandErrors() throws {
        try expectErrors(
            """
            operations:
              x:
                write: "VOLT 1"
                query: "VOLT?"
                returns: f64
              y: {returns: f64}
              a: {write: "MEAS:VOLT?"}
              b: {query: "VOLT 5"}
              c: {query: "MEAS:VOLT?;*OPC", returns: f64}
              d: {query: "A?;B?", returns: f64}
              e: {write: "A {x"}
              f: {write: "A x}"}
              g: {write: ~}
            """, [
                "p.yaml:4:5 operations.x: both `write` and `query` are given",
                "p.yaml:6:6 operations.y: missing the command: `write`, `query` or `query_block`",
                "p.yaml:7:14 operations.a.write: \"MEAS:VOLT?\" is a query, but a `write` reads no reply",
                "p.yaml:8:14 operations.b.query: \"VOLT 5\" sends no query (a header ending in '?'), so there is no reply to read",
                "p.yaml:8:6 operations.b: missing `returns` (the type of the reply)",
                "p.yaml:9:14 operations.c.query: a `query` sends exactly one query, as its last command; found it before the end",
                "p.yaml:10:14 operations.d.query: a `query` sends exactly one query, as its last command; found 2 queries",
                "p.yaml:11:14 operations.e.write: invalid template \"A {x\": '{' without a closing '}'",
                "p.yaml:12:14 operations.f.write: invalid template \"A x}\": '}' without an opening '{' (write }} for a literal brace)",
                "p.yaml:13:6 operations.g: missing `write` (the SCPI command)",
            ])
    }

    @Test func placeholderAndParameterErrors() throws {
        try expectErrors(
            """
            operations:
              set_voltage:
                write: "VOLT {volts}"
                params:
                  voltage: {type: f64}
              Set-Voltage:
                write: "VOLT {Volts}"
                params:
                  Volts: {type: f64}
              set_current:
                write: "CURR {current}"
                params:
                  curent: {type: f64}
                  current: {type: f64}
            """, [
                "p.yaml:3:12 operations.set_voltage.write: the placeholder {volts} is not a parameter",
                "p.yaml:5:16 operations.set_voltage.params.voltage: the parameter \"voltage\" does not appear in the command \"VOLT {volts}\"",
                "p.yaml:6:3 operations: the operation name \"Set-Voltage\" is not an identifier",
                "p.yaml:7:12 operations.Set-Voltage.write: invalid template \"VOLT {Volts}\": {Volts} is not a parameter name (lower-case letters, digits and '_')",
                "p.yaml:9:7 operations.Set-Voltage.params: the parameter name \"Volts\" is not an identifier",
                "p.yaml:13:15 operations.set_current.params.curent: the parameter \"curent\" does not appear in the command \"CURR {current}\"",
            ])
        let (_, report) = try read("operations: {\"9lives\": {write: \"A\"}, ok: {write: \"B {x}\", params: {x: {type: f64}, y: {type: f64}}}}")
        #expect(report.errors.first?.fix == "use lower-case letters, digits and '_', starting with a letter or '_', e.g. _9lives")
        let (_, hint) = try read("operations: {a: {write: \"VOLT {voltag}\", params: {voltage: {type: f64}}}}")
        #expect(hint.errors.first?.fix == "did you mean {voltage}? declare it under `params` (parameters: voltage)")
    }

    @Test func typeErrors() throws {
        try expectErrors(
            """
            operations:
              a:
                query: "A?"
                returns: float
              b:
                write: "B {x}"
                params:
                  x: {type: "f64[]"}
              c:
                query: "C?"
                returns: bytes
              d:
                query_block: "D?"
                returns: "f64[]"
              e:
                query: "E?"
                returns: void
              f:
                write: "F"
                returns: f64
              g:
                write: "G {x}"
                params:
                  x: {unit: V}
            """, [
                "p.yaml:4:14 operations.a.returns: unknown type \"float\"",
                "p.yaml:8:17 operations.b.params.x.type: f64[] is not allowed here",
                "p.yaml:11:14 operations.c.returns: bytes come from a binary block",
                "p.yaml:14:14 operations.d.returns: a `query_block` returns the block's bytes; f64[] is not supported",
                "p.yaml:17:14 operations.e.returns: a query's reply must be read as a type",
                "p.yaml:20:14 operations.f.returns: a `write` returns nothing, found returns: f64",
                "p.yaml:24:10 operations.g.params.x: missing `type` (the parameter's type: f64, i64, bool or string)",
            ])
        let (_, report) = try read("operations: {a: {query: \"A?\", returns: integer}}")
        #expect(report.errors.first?.fix == "did you mean \"i64\"? use f64, i64, bool, string, f64[], bytes")
    }

    @Test func rangeChoiceDefaultAndUnitErrors() throws {
        try expectErrors(
            """
            operations:
              a:
                write: "A {v}"
                params:
                  v: {type: f64, min: 5, max: 1}
              b:
                write: "B {v}"
                params:
                  v: {type: f64, min: 0, max: 10, default: 11}
              c:
                write: "C {m}"
                params:
                  m: {type: string, choices: [CURR, VOLT], default: CURRENT}
              d:
                write: "D {n}"
                params:
                  n: {type: i64, choices: [1, 2]}
              e:
                write: "E {f}"
                params:
                  f: {type: bool, unit: V}
              g:
                query: "G?"
                returns: bool
                unit: V
              h:
                write: "H {s}"
                params:
                  s: {type: string, min: 0}
              i:
                write: "I {n}"
                params:
                  n: {type: i64, default: 1.5}
              j:
                write: "J {m}"
                params:
                  m: {type: string, choices: []}
              k:
                write: "K {m}"
                params:
                  m: {type: string, choices: [A, B, A]}
              l:
                write: "L {b}"
                params:
                  b: {type: bool, default: yes}
            """, [
                "p.yaml:5:35 operations.a.params.v.max: max (1) is less than min (5)",
                "p.yaml:9:48 operations.b.params.v.default: the default 11 is outside 0...10",
                "p.yaml:13:57 operations.c.params.m.default: the default \"CURRENT\" is not one of the choices CURR, VOLT",
                "p.yaml:17:31 operations.d.params.n.choices: `choices` applies to string parameters, not to i64",
                "p.yaml:21:29 operations.e.params.f.unit: a unit applies to numbers (f64 or i64), not to bool",
                "p.yaml:25:11 operations.g.unit: a unit applies to a numeric result (f64, f64[] or i64), not to bool",
                "p.yaml:29:30 operations.h.params.s.min: `min` applies to numbers (f64 or i64), not to string",
                "p.yaml:33:31 operations.i.params.n.default: expected an integer, found \"1.5\"",
                "p.yaml:37:34 operations.j.params.m.choices: `choices` is empty",
                "p.yaml:41:41 operations.k.params.m.choices[2]: the choice \"A\" is listed twice",
                "p.yaml:45:32 operations.l.params.b.default: expected true or false, found \"yes\"",
            ])
        let (_, report) = try read("operations: {c: {write: \"C {m}\", params: {m: {type: string, choices: [CURR], default: CUR}}}}")
        #expect(report.errors.first?.fix == "did you mean \"CURR\"? give one of `choices`")
    }

    @Test func channelErrors() throws {
        try expectErrors(
            """
            operations:
              a:
                write: "A {ch}"
                params:
                  ch: {type: string, channel: true}
            """, [
                "p.yaml:5:35 operations.a.params.ch.channel: a channel parameter needs the profile's `channels`, and there are none"
            ])
        let (_, none) = try read("operations: {a: {write: \"A {ch}\", params: {ch: {type: string, channel: true}}}}")
        #expect(none.errors.first?.fix == "list them at the top of the profile, e.g. `channels: [\"1\", \"2\"]` or `channels: \"CH[1:4]\"`")
        try expectErrors(
            """
            channels: "CH[1:2]"
            operations:
              a:
                write: "A {x} {y}"
                params:
                  x: {type: string, channel: true}
                  y: {type: string, channel: true}
              b:
                write: "B {x}"
                params:
                  x: {type: string, channel: true, default: "3"}
              c:
                write: "C {n}"
                params:
                  n: {type: i64, channel: true}
              d:
                write: "D {x}"
                params:
                  x: {type: string, channel: true, choices: [A]}
            """, [
                "p.yaml:7:34 operations.a.params.y.channel: a second channel parameter; \"x\" is already the channel of this operation",
                "p.yaml:11:49 operations.b.params.x.default: the default \"3\" is not one of the channels CH1, CH2",
                "p.yaml:15:17 operations.c.params.n.type: a channel parameter is text: its values are the profile's `channels`",
                "p.yaml:19:49 operations.d.params.x.choices: a channel parameter takes its values from the profile's `channels`",
            ])
        try expectErrors("channels: [\"A\", \"B\", \"A\"]\noperations: {a: {write: A}}", [
            "p.yaml:1:22 channels[2]: channel \"A\" is listed twice"
        ])
        // A bad channel range is reported once, not again at every channel parameter.
        try expectErrors("channels: [\"CH[1-4]\"]\noperations: {a: {write: \"A {c}\", params: {c: {type: string, channel: true}}}}", [
            "p.yaml:1:12 channels[0]: \"CH[1-4]\": \"1-4\" is not an index (write whole numbers such as 0:7)"
        ])
        try expectErrors("channels: \"1:99999\"\noperations: {a: {write: A}}", [
            "p.yaml:1:11 channels: \"1:99999\": the range gives more than 1024 names"
        ])
    }

    @Test func channelRanges() throws {
        func channels(_ text: String) throws -> [String] { try profile("channels: \(text)\noperations: {a: {write: A}}").channels }
        #expect(try channels("\"1:2\"") == ["1", "2"])
        #expect(try channels("1:3") == ["1", "2", "3"])
        #expect(try channels("\"CH[1:4]\"") == ["CH1", "CH2", "CH3", "CH4"])
        #expect(try channels("\"[08:10]\"") == ["08", "09", "10"])
        #expect(try channels("\"(@[101:103])\"") == ["(@101)", "(@102)", "(@103)"])
        #expect(try channels("[1, \"OUT[2:3]\", AUX]") == ["1", "OUT2", "OUT3", "AUX"])
        #expect(try channels("P6V") == ["P6V"])
    }

    @Test func profileLevelErrors() throws {
        let (profile, report) = try read(
            """
            id: other
            instrument_types: [psu, dmmm]
            identity: {}
            init: ["*CLS", "*IDN?"]
            error_query: "SYST:ERR"
            operations:
              a: {write: "A"}
            """)
        #expect(profile == nil)
        #expect(report.errors.map { "\($0.location) \($0.keyPath): \($0.problem)" } == [
            "p.yaml:1:5 id: id \"other\" differs from the file name p.yaml (a profile's id is its file name)",
            "p.yaml:3:11 identity: an identity needs `manufacturer`, `model` or both",
            "p.yaml:4:16 init[1]: \"*IDN?\" is a query; init commands are written and nothing reads a reply",
            "p.yaml:5:14 error_query: expected one query ending in '?', found \"SYST:ERR\"",
        ])
        #expect(report.errors.first?.fix == "rename the file to other.yaml, or change the id to p (or leave it out)")
        #expect(report.warnings.map(\.description) == [
            "p.yaml:2:25: instrument_types[1]: unknown instrument type \"dmmm\". Fix: did you mean \"dmm\"? Known types: "
                + InstrumentProfile.knownTypes.joined(separator: ", ")
        ])
        try expectErrors("name: x", ["p.yaml:1:1 : missing `operations` (the profile's operations)"])
        try expectErrors("operations: {}", ["p.yaml:1:13 operations: a profile needs at least one operation"])
        try expectErrors("- a\n- b", ["p.yaml:1:1 : expected an instrument profile (a mapping with `operations`), found a list"])
        try expectErrors("name: [x]\noperations: {a: {write: A}}", ["p.yaml:1:7 name: expected a display name, found a list"])
    }

    @Test func loadReadsFilesAndChecksTheID() throws {
        let dir = "\(TestPlugins.scratch)/profiles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/my_dmm.yaml"
        try Data("id: my_dmm\noperations:\n  v: {query: \"MEAS:VOLT?\", returns: f64, unit: V}\n".utf8).write(to: URL(fileURLWithPath: path))
        let reader = ConfigReader()
        let loaded = try #require(InstrumentProfile.load(path: path, reader: reader))
        #expect(loaded.id == "my_dmm")
        #expect(loaded.operations == [ProfileOperation(name: "v", action: .query("MEAS:VOLT?"), result: .f64, unit: "V")])

        let renamed = "\(dir)/other.yaml"
        try FileManager.default.copyItem(atPath: path, toPath: renamed)
        let second = ConfigReader()
        #expect(InstrumentProfile.load(path: renamed, reader: second) == nil)
        #expect(second.report.errors.map(\.description) == [
            "\(renamed):1:5: id: id \"my_dmm\" differs from the file name other.yaml (a profile's id is its file name). Fix: rename the file to my_dmm.yaml, or change the id to other (or leave it out)"
        ])

        let third = ConfigReader()
        #expect(InstrumentProfile.load(path: "\(dir)/missing.yaml", reader: third) == nil)
        #expect(third.report.errors.first?.problem == "no such file")
    }

    // MARK: - End to end on the simulated bench

    @Test func dmmProfileEndToEnd() throws {
        let dmm = try bench("dmm")
        let profile = try shipped("generic_scpi_dmm")
        try profile.initialize(dmm)
        let run = Runner(profile, dmm)
        #expect(try run("measure_dc_voltage") == .f64(3.3012))
        #expect(try run("measure_ac_voltage") == .f64(230.1))
        #expect(try run("measure_dc_current") == .f64(0.1234))
        #expect(try run("measure_resistance") == .f64(1000.5))
        #expect(try run("measure_frequency") == .f64(50))
        #expect(try dmm.query("VOLT:DC:RANG?") == "10")
        #expect(try run("configure_voltage_range", 100) == .void)
        #expect(try dmm.query("VOLT:DC:RANG?") == "100")
        try run("configure_voltage_range", 0.1)
        #expect(try dmm.query("SENS:VOLT:RANG?") == "0.1")
        try run("set_voltage_autorange", false)
        #expect(try dmm.query("VOLT:DC:RANG:AUTO?") == "0")
        try run("set_voltage_autorange")
        #expect(try dmm.query("VOLT:DC:RANG:AUTO?") == "1")
        run.expectAllRan()
        try dmm.checkErrors()
    }

    @Test func psuProfileEndToEnd() throws {
        let psu = try bench("psu")
        let profile = try shipped("generic_scpi_psu")
        try profile.initialize(psu)
        let run = Runner(profile, psu)
        #expect(try run("measure_voltage") == .f64(0))
        #expect(try run("set_voltage", 5) == .void)
        #expect(try run("measure_voltage") == .f64(5))
        try run("set_voltage", 12.5, "2")
        #expect(try run("measure_voltage", "2") == .f64(12.5))
        #expect(try run("measure_voltage", "1") == .f64(5))  // each output keeps its own setpoint

        try run("set_current_limit", 0.5, "2")
        #expect(try psu.query("INST:NSEL 2;:CURR?") == "0.5")
        #expect(try psu.query("INST:NSEL 1;:CURR?") == "1")
        try run("set_current_limit", 2.25)
        #expect(try psu.query("INST:NSEL 1;:CURR?") == "2.25")

        #expect(try run("output_enabled", "2") == .bool(false))
        try run("enable_output", "2")
        #expect(try run("output_enabled", "2") == .bool(true))
        #expect(try run("output_enabled") == .bool(false))
        try run("enable_output")
        #expect(try run("output_enabled", "1") == .bool(true))
        try run("disable_output", "2")
        #expect(try run("output_enabled", "2") == .bool(false))
        #expect(try run("output_enabled", "1") == .bool(true))
        try run("disable_output")
        #expect(try run("output_enabled") == .bool(false))

        #expect(try run("measure_current") == .f64(0.0021))
        #expect(try run("measure_current", "2") == .f64(0.0021))
        run.expectAllRan()
        try psu.checkErrors()

        // *RST restores every output's defaults.
        try psu.write("*RST")
        #expect(try psu.query("INST:NSEL?") == "1")
        #expect(try run("measure_voltage", "2") == .f64(0))
    }

    @Test func eloadProfileEndToEnd() throws {
        let eload = try bench("eload")
        let profile = try shipped("generic_scpi_eload")
        try profile.initialize(eload)
        let run = Runner(profile, eload)
        #expect(try eload.query("FUNC?") == "CURR")
        try run("set_mode", "CV")
        #expect(try eload.query("FUNC?") == "VOLT")
        try run("set_mode", "CR")
        #expect(try eload.query("FUNC?") == "RES")
        try run("set_mode", "CC")
        #expect(try eload.query("FUNC?") == "CURR")
        try run("set_current", 1.5)
        #expect(try run("measure_current") == .f64(1.5))
        try run("set_voltage", 4.2)
        #expect(try eload.query("VOLT?") == "4.2")
        try run("set_resistance", 8)
        #expect(try eload.query("RES?") == "8")
        #expect(try eload.query("INP?") == "0")
        try run("enable_input")
        #expect(try eload.query("INP?") == "ON")
        try run("disable_input")
        #expect(try eload.query("INP?") == "OFF")
        #expect(try run("measure_voltage") == .f64(12))
        #expect(try run("measure_power") == .f64(18))
        run.expectAllRan()
        try eload.checkErrors()
    }

    @Test func switchProfileEndToEnd() throws {
        let sw = try bench("switch")
        let profile = try shipped("generic_scpi_switch")
        try profile.initialize(sw)
        let run = Runner(profile, sw)
        #expect(try run("is_closed", "101") == .bool(false))
        try run("close_channels", "101,102")
        #expect(try run("is_closed", "101") == .bool(true))
        #expect(try run("is_closed", "102") == .bool(true))
        #expect(try run("is_closed", "103") == .bool(false))
        try run("open_channels", "101")
        #expect(try run("is_closed", "101") == .bool(false))
        #expect(try run("is_closed", "102") == .bool(true))
        try run("close_channels", "201:203")
        #expect(try sw.query("ROUT:CLOS? (@201:204,102)") == "1,1,1,0,1")
        try run("open_all")
        #expect(try sw.query("ROUT:CLOS? (@102,201,202,203)") == "0,0,0,0")
        try run("close_channels", "105")
        #expect(try run("is_closed", "105") == .bool(true))
        run.expectAllRan()
        try sw.checkErrors()
    }

    @Test func profileCallsByName() throws {
        let psu = try bench("psu")
        let profile = try shipped("generic_scpi_psu")
        try profile.call("set_voltage", on: psu, arguments: [3.3, "2"])
        #expect(try profile.call("measure_voltage", on: psu, arguments: ["2"]) == .f64(3.3))
        let unknown = try #require(throws: DriverError.self) { try profile.call("measure_voltag", on: psu) }
        #expect(unknown.status == .notFound)
        #expect(unknown.message.hasPrefix("'measure_voltag' is not an operation of profile 'generic_scpi_psu'. Did you mean 'measure_voltage'?"))
    }

    @Test func instrumentErrorsFailWriteOperations() throws {
        let psu = try bench("psu")
        let profile = try profile(
            """
            error_query: "SYST:ERR?"
            operations:
              set_voltage: {write: "VOLT {v}", params: {v: {type: f64}}}
              bogus: {write: "FOO:BAR"}
              idn: {query: "*IDN?", returns: f64}
            """)
        let error = try #require(throws: DriverError.self) { try profile.call("set_voltage", on: psu, arguments: [99]) }
        #expect(error.status == .instrument)
        #expect(error.vendorCode == -222)
        #expect(error.message == #"'set_voltage': the instrument reported -222, "Data out of range" (execution error) after "VOLT 99""#)
        #expect(error.context == "sim SIM::psu::INSTR set_voltage")
        #expect(try psu.query("VOLT?") == "0")  // refused by the instrument
        try psu.checkErrors()  // the queue was drained

        let bogus = try #require(throws: DriverError.self) { try profile.call("bogus", on: psu) }
        #expect(bogus.message == #"'bogus': the instrument reported -113, "Undefined header" (command error) after "FOO:BAR""#)
        // Without an error query the write succeeds and the error stays queued.
        #expect(try op(profile, "bogus").run(on: psu, arguments: [], errorQuery: nil) == .void)
        #expect(try psu.drainErrors().errors.map(\.code) == [-113])

        let unparsable = try #require(throws: DriverError.self) { try profile.call("idn", on: psu) }
        #expect(unparsable.status == .protocolViolation)
        #expect(unparsable.message == #"'idn': the reply "Litmus,SIM-PSU-BENCH,SIM1002,1.0" to "*IDN?" is not a number (f64)"#)
        #expect(unparsable.context == "sim SIM::psu::INSTR idn")

        // The shipped profile refuses the value before anything is sent.
        let shipped = try shipped("generic_scpi_psu")
        let refused = try #require(throws: DriverError.self) { try shipped.call("set_voltage", on: psu, arguments: [99]) }
        #expect(refused.status == .invalidArgument)
        #expect(refused.context == "sim SIM::psu::INSTR set_voltage")
    }

    @Test func arraysBlocksStringsAndIntegersOverTheSimulator() throws {
        let dmm = try TestPlugins.registry.open("SIM::dmm::INSTR")  // the built-in devices
        let profile = try profile(
            """
            operations:
              readings: {query: "FETC:ARR?", returns: "f64[]", unit: V}
              capture: {query_block: "CURV?"}
              function: {query: "FUNC?", returns: string}
              identity: {query: "*IDN?", returns: string}
              event_status: {query: "*ESR?", returns: i64}
            """)
        #expect(try profile.call("readings", on: dmm) == .f64Array([1.5, 2.5, 3.5]))
        let block = try #require(try profile.call("capture", on: dmm).bytesValue)
        #expect(block.count == 1000)
        #expect(Array(block.prefix(3)) == [0, 1, 2])
        #expect(block[256] == 0)
        #expect(try profile.call("function", on: dmm) == .string("DCV"))
        #expect(try profile.call("identity", on: dmm) == .string("Litmus,SIM-DMM,SIM0001,1.0"))
        #expect(try profile.call("event_status", on: dmm) == .i64(0))
    }

    // MARK: - Simulator extensions: selected and per-channel properties, actions

    func writeDescription(_ yaml: String) throws -> String {
        let path = "\(TestPlugins.scratch)/sim-\(UUID().uuidString).yaml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func simSelectedPropertiesKeepOneValuePerSelection() throws {
        let psu = try bench("psu")
        #expect(try psu.query("INST:NSEL 2;:VOLT 3;:INST:NSEL 1;:VOLT 4;:VOLT?;:INST:NSEL 2;:VOLT?;:MEAS:VOLT?") == "4;3;3")
        #expect(try psu.query("INST:NSEL?") == "2")
        try psu.write("INST:NSEL 3")  // out of range: the selection stays
        #expect(try psu.drainErrors().errors.map(\.code) == [-222])
        #expect(try psu.query("VOLT?") == "3")
        try psu.write("OUTP ON")
        #expect(try psu.query("OUTP?;:OUTP:STAT?;:INST:NSEL 1;:OUTP?") == "ON;ON;0")
        try psu.write("*RST")
        #expect(try psu.query("INST:NSEL 2;:VOLT?;:OUTP?") == "0;0")
    }

    @Test func simPerChannelPropertiesAndActions() throws {
        let sw = try bench("switch")
        #expect(try sw.query("ROUT:CLOS? (@101)") == "0")
        try sw.write("ROUT:CLOS (@101,103:105)")
        #expect(try sw.query("ROUT:CLOS? (@101:106)") == "1,0,1,1,1,0")
        #expect(try sw.query("ROUT:CLOS? (@105:103)") == "1,1,1")  // descending range
        #expect(try sw.query("ROUT:CLOS? (@0101, 102)") == "1,0")  // integers compare by value
        try sw.write("ROUTE:OPEN (@104)")
        #expect(try sw.query("ROUTE:CLOSE? (@103,104)") == "1,0")
        try sw.write("ROUT:CLOS (@1!201)")  // an opaque channel name
        #expect(try sw.query("ROUT:CLOS? (@1!201,1!202)") == "1,0")
        try sw.write("ROUT:OPEN:ALL")
        #expect(try sw.query("ROUT:CLOS? (@101,103,105,1!201)") == "0,0,0,0")
        #expect(try sw.query("ROUT:CLOS? (@)") == "")
        try sw.checkErrors()

        try sw.write("ROUT:CLOS 101")  // not a channel list
        try sw.write("ROUT:CLOS")
        try sw.write("ROUT:CLOS? (@1,,2)")
        #expect(try sw.drainErrors().errors.map(\.code) == [-224, -109, -224])
    }

    @Test func simActionsOnPlainAndSelectedProperties() throws {
        let path = try writeDescription(
            """
            devices:
              box:
                properties:
                  slot: {default: 1, type: int, min: 1, max: 3, setter: "SLOT {value}"}
                  power:
                    default: "OFF"
                    type: string
                    values: ["ON", "OFF"]
                    selected_by: slot
                    getter: "POWer?"
                    actions: {"POWer:ON": "ON", "POWer:OFF": "OFF"}
                  mode:
                    default: A
                    type: string
                    getter: "MODE?"
                    actions: {"MODE:BETA": B}
            """)
        let box = try TestPlugins.registry.open("SIM::box::INSTR", options: ["description": .string(path)])
        try box.write("SLOT 2;:POW:ON")
        #expect(try box.query("POW?;:SLOT 1;:POW?;:SLOT 2;:POW?") == "ON;OFF;ON")
        try box.write("MODE:BETA")
        #expect(try box.query("MODE?") == "B")
        try box.write("MODE:BETA 5")  // an action takes no parameter
        #expect(try box.drainErrors().errors.map(\.code) == [-113])
    }

    @Test func simDescriptionErrorsForTheExtensions() throws {
        func failure(_ properties: String) throws -> String {
            let path = try writeDescription("devices:\n  d:\n    properties:\n" + properties)
            let error = try #require(throws: DriverError.self) {
                try TestPlugins.registry.open("SIM::d::INSTR", options: ["description": .string(path)])
            }
            #expect(error.status == .invalidArgument)
            return error.message.replacingOccurrences(of: path, with: "F")
        }
        func expectFailure(_ properties: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let actual = try failure(properties)
            #expect(actual == expected, sourceLocation: sourceLocation)
        }
        try expectFailure("      v: {default: 0, getter: \"V?\", selected_by: chan}\n",
            "F:4:50: devices.d.properties.v.selected_by: no property \"chan\" to select by; properties: v")
        try expectFailure("      v: {default: 0, getter: \"V?\", selected_by: v}\n",
            "F:4:50: devices.d.properties.v.selected_by: a property cannot be selected by itself")
        try expectFailure(
            "      a: {default: 0, getter: \"A?\", selected_by: b}\n      b: {default: 0, getter: \"B?\", selected_by: c}\n      c: {default: 0, getter: \"C?\"}\n",
            "F:4:50: devices.d.properties.a.selected_by: \"b\" is itself selected or per channel; select by a plain property such as the channel number")
        try expectFailure("      r: {default: 0, per_channel: true, selected_by: x, getter: \"R? {channels}\"}\n",
            "F:4:55: devices.d.properties.r.selected_by: a property is either per_channel or selected_by, not both")
        try expectFailure("      r: {default: 0, per_channel: true, getter: \"R?\"}\n",
            "F:4:50: devices.d.properties.r.getter: a getter of a per_channel property is a query followed by {channels}, e.g. \"ROUTe:CLOSe? {channels}\"")
        try expectFailure("      r: {default: 0, per_channel: true, setter: \"R {value}\"}\n",
            "F:4:50: devices.d.properties.r.setter: a per_channel property has no setter; store values with `actions`")
        try expectFailure("      r: {default: 0, getter: \"R?\", actions: {\"R:CLOS {channels}\": 1}}\n",
            "F:4:47: devices.d.properties.r.actions: an action is a command without parameters, e.g. \"OUTPut:ON\" ({channels} needs `per_channel: true`)")
        try expectFailure("      r: {default: 0, min: 0, max: 1, getter: \"R?\", actions: {\"R:ON\": 2}}\n",
            "F:4:71: devices.d.properties.r.actions.R:ON: the value \"2\" is invalid: it is outside min...max")
        try expectFailure("      r: {default: 0, getter: \"R?\", actions: []}\n",
            "F:4:46: devices.d.properties.r.actions: `actions` must map commands to the value they store, e.g. {\"OUTPut:ON\": \"ON\"}")
        try expectFailure("      r: {default: 0, per_channel: maybe, getter: \"R? {channels}\"}\n",
            "F:4:36: devices.d.properties.r.per_channel: `per_channel` must be true or false")
    }
}
