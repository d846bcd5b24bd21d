/// A standard set of operations for one kind of instrument: their names, parameters, units,
/// result types and channel convention, so code written against the class runs on every
/// driver or profile that declares it. Modelled on the IVI class specifications (IviDmm,
/// IviDCPwr, IviSwtch, IviScope), with Litmus's naming: snake_case operations, one operation
/// per setting or reading, SI base units.
///
/// A profile declares classes with `classes: [dc_power_supply]`; a driver with an entry
/// `class:dc_power_supply` in its `instrument_types`. Either is checked against the class
/// (``check(_:)``): by `litmus station check` when the profile or station is read, and by
/// `litmus drivers check`.
///
/// Channel convention: an operation marked ``Operation/perChannel`` addresses one output or
/// input. Its implementation takes the channel as the parameter named `channel`, right after
/// the class's parameters, declared as a channel (a profile's `channel: true`), with a default
/// (so class code that omits it addresses the first channel); or, on a single-channel
/// instrument, no channel parameter in any of its per-channel operations.
///
/// ```swift
/// let problems = InstrumentClass.dcPowerSupply.check(instrument.operations)
/// try InstrumentClass.dcPowerSupply.requireConformance(of: instrument)
/// try instrument.call("set_voltage", .f64(12), .string("2"))
/// ```
public struct InstrumentClass: Sendable, Equatable {
    /// One parameter of a class operation.
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var type: ValueType
        /// The unit the value is in; nil for a dimensionless value or text.
        public var unit: String?
        /// Values every implementation must accept, when it restricts the parameter's choices.
        public var requiredChoices: [String]

        public init(_ name: String, _ type: ValueType, unit: String? = nil, requiredChoices: [String] = []) {
            self.name = name
            self.type = type
            self.unit = unit
            self.requiredChoices = requiredChoices
        }

        var signature: String {
            var text = "\(name): \(type)"
            if let unit { text += " [\(unit)]" }
            if !requiredChoices.isEmpty { text += " {\(requiredChoices.joined(separator: "|"))...}" }
            return text
        }
    }

    /// One operation of a class.
    public struct Operation: Sendable, Equatable {
        /// Whether the operation changes the instrument (and so is declared as writing) or only
        /// reads it.
        public enum Kind: String, Sendable, Equatable { case setting, reading }

        public var name: String
        /// In call order, without the channel.
        public var params: [Parameter]
        public var result: ValueType
        public var unit: String?
        public var kind: Kind
        /// The operation addresses one channel (the class's channel convention).
        public var perChannel: Bool
        /// Every implementation has it; an optional one is checked only where it is implemented.
        public var isRequired: Bool
        /// The IVI counterpart, for the documentation.
        public var ivi: String
        public var help: String

        public init(
            _ name: String, _ params: [Parameter] = [], result: ValueType = .void, unit: String? = nil, kind: Kind,
            perChannel: Bool = false, required: Bool = true, ivi: String = "", help: String = ""
        ) {
            self.name = name
            self.params = params
            self.result = result
            self.unit = unit
            self.kind = kind
            self.perChannel = perChannel
            self.isRequired = required
            self.ivi = ivi
            self.help = help
        }

        /// `set_voltage(voltage: f64 [V], channel?) -> void`
        public var signature: String {
            var items = params.map(\.signature)
            if perChannel { items.append("channel?") }
            var text = "\(name)(\(items.joined(separator: ", "))) -> \(result)"
            if let unit { text += " [\(unit)]" }
            return text
        }
    }

    /// A way an implementation departs from the class.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// The class's id.
        public var classID: String
        /// The operation concerned.
        public var operation: String
        /// The parameter concerned, or nil for the operation itself; `->` for its result.
        public var parameter: String?
        /// The operation is missing altogether.
        public var isMissing: Bool
        public var message: String
        public var fix: String

        public var description: String {
            "class \(classID): \(message). Fix: \(fix)"
        }
    }

    /// `dc_power_supply`
    public var id: String
    /// A display name.
    public var name: String
    /// Other names accepted in `classes:` and `instrument_types` (`psu`).
    public var aliases: [String]
    /// The IVI class specification it follows.
    public var ivi: String
    public var operations: [Operation]

    public init(id: String, name: String, aliases: [String] = [], ivi: String, operations: [Operation]) {
        self.id = id
        self.name = name
        self.aliases = aliases
        self.ivi = ivi
        self.operations = operations
    }

    /// The class's operation called `name`.
    public func operation(named name: String) -> Operation? { operations.first { $0.name == name } }

    /// Every class, in documentation order.
    public static let all: [InstrumentClass] = [dmm, dcPowerSupply, electronicLoad, switchClass, oscilloscope]

    /// The class with this id or alias (`psu` is `dc_power_supply`).
    public static func named(_ name: String) -> InstrumentClass? {
        all.first { $0.id == name || $0.aliases.contains(name) }
    }

    /// The prefix of a driver's `instrument_types` entry that declares a class.
    public static let driverTypePrefix = "class:"

    // MARK: - Checking

    /// How `operations` (a driver's, a profile's or an open instrument's) depart from the
    /// class: missing required operations, and every implemented class operation whose
    /// parameters, units, result or kind differ. Empty when they conform.
    public func check(_ operations: [OperationInfo]) -> [Problem] {
        var problems: [Problem] = []
        func problem(_ op: String, _ param: String?, _ message: String, _ fix: String, missing: Bool = false) {
            problems.append(Problem(classID: id, operation: op, parameter: param, isMissing: missing, message: message, fix: fix))
        }
        let byName = Dictionary(operations.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var channelled: [String] = []
        var unchannelled: [String] = []
        for want in self.operations {
            guard let have = byName[want.name] else {
                if want.isRequired {
                    problem(
                        want.name, nil, "missing the operation \(want.signature)",
                        "add the operation '\(want.name)'\(want.help.isEmpty ? "" : " (\(want.help))")", missing: true)
                }
                continue
            }
            // The class's parameters, in order.
            for (i, p) in want.params.enumerated() {
                guard i < have.params.count else {
                    problem(
                        want.name, p.name, "'\(want.name)' lacks the parameter \(p.signature) (parameter \(i + 1))",
                        "declare it as parameter \(i + 1): `\(p.name): {type: \(p.type)\(p.unit.map { ", unit: \($0)" } ?? "")}`")
                    continue
                }
                let got = have.params[i]
                guard got.name == p.name else {
                    problem(
                        want.name, got.name, "parameter \(i + 1) of '\(want.name)' is '\(got.name)', the class has '\(p.name)' there",
                        "rename it to '\(p.name)' or reorder the parameters: \(want.signature)")
                    continue
                }
                if got.type != p.type {
                    problem(
                        want.name, p.name, "parameter '\(p.name)' of '\(want.name)' is \(got.type), the class's is \(p.type)",
                        "declare `type: \(p.type)`")
                }
                if !Self.sameUnit(got.unit, p.unit) {
                    problem(
                        want.name, p.name,
                        got.unit.map { "parameter '\(p.name)' of '\(want.name)' is in \($0), the class's is in \(p.unit ?? "no unit")" }
                            ?? "parameter '\(p.name)' of '\(want.name)' has no unit, the class's is in \(p.unit!)",
                        p.unit.map { "declare `unit: \($0)` (convert in the command if the instrument uses another unit)" } ?? "remove the unit")
                }
                if let choices = got.choices, !got.isChannel {
                    let absent = p.requiredChoices.filter { !choices.contains($0) }
                    if !absent.isEmpty {
                        problem(
                            want.name, p.name,
                            "parameter '\(p.name)' of '\(want.name)' does not accept \(absent.joined(separator: ", ")) (choices: \(choices.joined(separator: ", ")))",
                            "add the choice\(absent.count == 1 ? "" : "s") \(absent.joined(separator: ", ")), mapped to the instrument's own text")
                    }
                }
            }
            // The channel, then anything else the implementation adds.
            var next = want.params.count
            if want.perChannel {
                if next < have.params.count, have.params[next].name == "channel" {
                    let channel = have.params[next]
                    channelled.append(want.name)
                    if !channel.isChannel {
                        problem(
                            want.name, "channel", "the 'channel' parameter of '\(want.name)' is not declared as a channel",
                            "mark it as a channel (`channel: true` in a profile, LITMUS_PARAM_CHANNEL in a driver)")
                    }
                    if !channel.isOptional {
                        problem(
                            want.name, "channel", "the 'channel' parameter of '\(want.name)' has no default, so class code that omits it fails",
                            "give it a default, the first channel (`default: \"1\"` in a profile)")
                    }
                    next += 1
                } else {
                    unchannelled.append(want.name)
                }
            }
            for extra in have.params.dropFirst(next) where !extra.isOptional {
                problem(
                    want.name, extra.name,
                    "'\(want.name)' needs the parameter '\(extra.name)', which class code does not pass"
                        + (want.perChannel && extra.isChannel ? " (a channel goes right after \(want.params.isEmpty ? "the operation name" : want.params.map(\.name).joined(separator: ", ")), named 'channel')" : ""),
                    want.perChannel && extra.isChannel ? "name it 'channel' and put it right after the class's parameters" : "give it a default, or remove it")
            }
            // The result.
            if have.result != want.result {
                problem(
                    want.name, "->", "'\(want.name)' returns \(have.result), the class's returns \(want.result)",
                    want.result == .void ? "return nothing (a write)" : "return \(want.result) (`returns: \(want.result)`)")
            } else if !Self.sameUnit(have.resultUnit, want.unit) {
                problem(
                    want.name, "->",
                    have.resultUnit.map { "'\(want.name)' returns \($0), the class's returns \(want.unit ?? "no unit")" }
                        ?? "'\(want.name)' returns a value without a unit, the class's is in \(want.unit!)",
                    want.unit.map { "declare `unit: \($0)`" } ?? "remove the unit")
            }
            // Reads and writes, when the implementation says.
            if !have.flags.isEmpty {
                if want.kind == .setting, !have.flags.contains(.writes) {
                    problem(want.name, nil, "'\(want.name)' changes the instrument but is not declared as writing", "flag it as writing (LITMUS_OP_WRITES; a profile's `write:`)")
                }
                if want.kind == .reading, have.flags.contains(.writes), !have.flags.contains(.reads) {
                    problem(want.name, nil, "'\(want.name)' is a reading but is declared as writing only", "flag it as reading (LITMUS_OP_READS; a profile's `query:`)")
                }
            }
        }
        // One channel convention for the whole instrument.
        if !channelled.isEmpty {
            for name in unchannelled {
                problem(
                    name, "channel",
                    "'\(name)' takes no channel, while \(channelled.joined(separator: ", ")) \(channelled.count == 1 ? "takes" : "take") one: every per-channel operation addresses its channel the same way",
                    "add the parameter `channel` (a channel, with a default) right after the class's parameters")
            }
        }
        return problems
    }

    /// Throws unless the instrument's operations conform to the class: the first thing a test
    /// written against the class does.
    ///
    /// - Throws: ``DriverError`` with status `.unsupported` listing every problem.
    public func requireConformance(of instrument: Instrument) throws {
        let problems = check(instrument.operations)
        guard !problems.isEmpty else { return }
        throw DriverError(
            .unsupported,
            "does not conform to instrument class \(id): " + problems.map { "\($0.message) (fix: \($0.fix))" }.joined(separator: "; "),
            context: instrument.context)
    }

    /// The classes a driver declares (entries `class:<id>` of its instrument types), and the
    /// entries that name no class.
    public static func declared(by driver: DriverInfo) -> (classes: [InstrumentClass], unknown: [String]) {
        var classes: [InstrumentClass] = []
        var unknown: [String] = []
        for type in driver.instrumentTypes where type.hasPrefix(driverTypePrefix) {
            let name = String(type.dropFirst(driverTypePrefix.count))
            if let c = named(name) { classes.append(c) } else { unknown.append(name) }
        }
        return (classes, unknown)
    }

    /// Every problem of a driver with the classes it declares, as lines for messages.
    public static func problems(of driver: DriverInfo) -> [String] {
        let (classes, unknown) = declared(by: driver)
        let ids = all.map(\.id)
        var lines = unknown.map { name in
            "instrument type \"\(driverTypePrefix)\(name)\" names no instrument class. Fix: "
                + (Suggest.closest(to: name, in: ids + all.flatMap(\.aliases)).map { "did you mean \"\(driverTypePrefix)\($0)\"? " } ?? "")
                + "classes: \(ids.joined(separator: ", "))"
        }
        for c in classes { lines += c.check(driver.operations).map(\.description) }
        return lines
    }

    /// Adds the class checks of a driver to a `drivers check` report: one item per declared
    /// class (skipped when it declares none).
    static func report(_ driver: DriverInfo, into report: inout ConformanceCheck.Report) {
        let (classes, unknown) = declared(by: driver)
        guard !classes.isEmpty || !unknown.isEmpty else {
            report.add(driver.id, "instrument classes", .skipped, "the driver declares no class (instrument type class:<id>)")
            return
        }
        for name in unknown {
            report.add(driver.id, "instrument class \(name)", .failed, "names no class; classes: \(all.map(\.id).joined(separator: ", "))")
        }
        for c in classes {
            let problems = c.check(driver.operations)
            report.add(
                driver.id, "instrument class \(c.id)", problems.isEmpty ? .passed : .failed,
                problems.isEmpty
                    ? "\(c.operations.filter { driver.operation(named: $0.name) != nil }.count) class operations"
                    : problems.map { "\($0.message). Fix: \($0.fix)" }.joined(separator: "\n"))
        }
    }

    /// Units compared by meaning: `Ohm`, `ohm`, `Ω` are one unit.
    static func sameUnit(_ a: String?, _ b: String?) -> Bool { canonicalUnit(a) == canonicalUnit(b) }

    static func canonicalUnit(_ unit: String?) -> String? {
        guard let unit else { return nil }
        switch unit {
        case "Ohm", "ohm", "OHM", "Ω", "ohms", "Ohms": return "Ohm"
        case "sec": return "s"
        default: return unit
        }
    }
}

// MARK: - The classes

extension InstrumentClass {
    /// A digital multimeter (IviDmm, IVI-4.2): one reading per measurement function.
    public static let dmm = InstrumentClass(
        id: "dmm", name: "Digital multimeter", aliases: ["digital_multimeter"], ivi: "IviDmm (IVI-4.2)",
        operations: [
            .init("measure_dc_voltage", result: .f64, unit: "V", kind: .reading, ivi: "Function DC Volts + Read", help: "one DC voltage reading, autoranged"),
            .init("measure_ac_voltage", result: .f64, unit: "V", kind: .reading, required: false, ivi: "Function AC Volts + Read", help: "AC voltage, true RMS"),
            .init("measure_dc_current", result: .f64, unit: "A", kind: .reading, required: false, ivi: "Function DC Current + Read"),
            .init("measure_ac_current", result: .f64, unit: "A", kind: .reading, required: false, ivi: "Function AC Current + Read"),
            .init("measure_resistance", result: .f64, unit: "Ohm", kind: .reading, required: false, ivi: "Function 2-Wire Res + Read"),
            .init("measure_4w_resistance", result: .f64, unit: "Ohm", kind: .reading, required: false, ivi: "Function 4-Wire Res + Read"),
            .init("measure_frequency", result: .f64, unit: "Hz", kind: .reading, required: false, ivi: "IviDmmFrequencyMeasurement"),
            .init("configure_voltage_range", [.init("range", .f64, unit: "V")], kind: .setting, required: false, ivi: "Range", help: "fixed DC voltage range covering the value"),
            .init("set_voltage_autorange", [.init("enabled", .bool)], kind: .setting, required: false, ivi: "Range = Auto Range On"),
        ])

    /// A DC power supply (IviDCPwr, IVI-4.4, base and measurement groups), per output channel.
    public static let dcPowerSupply = InstrumentClass(
        id: "dc_power_supply", name: "DC power supply", aliases: ["psu", "power_supply"], ivi: "IviDCPwr (IVI-4.4)",
        operations: [
            .init("set_voltage", [.init("voltage", .f64, unit: "V")], kind: .setting, perChannel: true, ivi: "Voltage Level", help: "output voltage setpoint"),
            .init("set_current_limit", [.init("current", .f64, unit: "A")], kind: .setting, perChannel: true, ivi: "Current Limit (regulate)", help: "current limit"),
            .init("enable_output", kind: .setting, perChannel: true, ivi: "Output Enabled = true"),
            .init("disable_output", kind: .setting, perChannel: true, ivi: "Output Enabled = false"),
            .init("output_enabled", result: .bool, kind: .reading, perChannel: true, ivi: "Output Enabled (get)"),
            .init("measure_voltage", result: .f64, unit: "V", kind: .reading, perChannel: true, ivi: "Measure (Voltage)", help: "voltage at the output terminals"),
            .init("measure_current", result: .f64, unit: "A", kind: .reading, perChannel: true, ivi: "Measure (Current)", help: "current through the output"),
            .init("set_ovp_limit", [.init("limit", .f64, unit: "V")], kind: .setting, perChannel: true, required: false, ivi: "OVP Limit + OVP Enabled"),
            .init("disable_ovp", kind: .setting, perChannel: true, required: false, ivi: "OVP Enabled = false"),
        ])

    /// A DC electronic load. IVI defines no load class; this one follows IviDCPwr's
    /// conventions (levels in SI units, an input switched like an output, per channel).
    public static let electronicLoad = InstrumentClass(
        id: "electronic_load", name: "DC electronic load", aliases: ["eload", "load"], ivi: "none (IviDCPwr conventions)",
        operations: [
            .init("set_mode", [.init("mode", .string, requiredChoices: ["CC", "CV", "CR"])], kind: .setting, perChannel: true, ivi: "-", help: "regulation mode: CC, CV, CR (CP optional)"),
            .init("set_current", [.init("current", .f64, unit: "A")], kind: .setting, perChannel: true, ivi: "-", help: "constant-current level"),
            .init("enable_input", kind: .setting, perChannel: true, ivi: "-"),
            .init("disable_input", kind: .setting, perChannel: true, ivi: "-"),
            .init("measure_voltage", result: .f64, unit: "V", kind: .reading, perChannel: true, ivi: "-"),
            .init("measure_current", result: .f64, unit: "A", kind: .reading, perChannel: true, ivi: "-"),
            .init("set_voltage", [.init("voltage", .f64, unit: "V")], kind: .setting, perChannel: true, required: false, ivi: "-", help: "constant-voltage level"),
            .init("set_resistance", [.init("resistance", .f64, unit: "Ohm")], kind: .setting, perChannel: true, required: false, ivi: "-", help: "constant-resistance level"),
            .init("set_power", [.init("power", .f64, unit: "W")], kind: .setting, perChannel: true, required: false, ivi: "-", help: "constant-power level"),
            .init("measure_power", result: .f64, unit: "W", kind: .reading, perChannel: true, required: false, ivi: "-"),
            .init("input_enabled", result: .bool, kind: .reading, perChannel: true, required: false, ivi: "-"),
        ])

    /// A relay switch (IviSwtch, IVI-4.6), addressed by the instrument's relay channels as in an
    /// SCPI channel list (`101`, `101,102`, `101:105`) rather than by IviSwtch's paths between
    /// two channel names.
    public static let switchClass = InstrumentClass(
        id: "switch", name: "Switch (relays)", aliases: ["matrix", "mux"], ivi: "IviSwtch (IVI-4.6)",
        operations: [
            .init("close_channels", [.init("channels", .string)], kind: .setting, ivi: "Connect", help: "close relays: 101 or 101,102 or 101:105"),
            .init("open_channels", [.init("channels", .string)], kind: .setting, ivi: "Disconnect"),
            .init("open_all", kind: .setting, ivi: "Disconnect All"),
            .init("is_closed", [.init("channel", .string)], result: .bool, kind: .reading, required: false, ivi: "Get Path"),
            .init("wait_for_debounce", kind: .reading, required: false, ivi: "Wait For Debounce"),
        ])

    /// An oscilloscope (IviScope, IVI-4.1, base group), per input channel.
    public static let oscilloscope = InstrumentClass(
        id: "oscilloscope", name: "Oscilloscope", aliases: ["scope"], ivi: "IviScope (IVI-4.1)",
        operations: [
            .init("configure_channel", [.init("range", .f64, unit: "V"), .init("offset", .f64, unit: "V")], kind: .setting, perChannel: true, ivi: "Configure Channel (range, offset)", help: "full-scale vertical range and offset"),
            .init("configure_acquisition", [.init("time_per_record", .f64, unit: "s")], kind: .setting, ivi: "Configure Acquisition Record", help: "time the record spans"),
            .init("read_waveform", result: .f64Array, unit: "V", kind: .reading, perChannel: true, ivi: "Read Waveform", help: "acquire and return one record"),
            .init("sample_interval", result: .f64, unit: "s", kind: .reading, required: false, ivi: "Read Waveform (X increment)"),
            .init("set_coupling", [.init("coupling", .string, requiredChoices: ["AC", "DC"])], kind: .setting, perChannel: true, required: false, ivi: "Vertical Coupling"),
            .init("configure_edge_trigger", [.init("level", .f64, unit: "V"), .init("slope", .string, requiredChoices: ["POSITIVE", "NEGATIVE"])], kind: .setting, required: false, ivi: "Configure Edge Trigger Source"),
            .init("enable_channel", kind: .setting, perChannel: true, required: false, ivi: "Channel Enabled = true"),
            .init("disable_channel", kind: .setting, perChannel: true, required: false, ivi: "Channel Enabled = false"),
        ])
}
