import Yams

// MARK: - Model

/// What a pin of a part carries.
public enum PinRole: String, Sendable, Equatable, CaseIterable {
    /// A signal input or output (the default).
    case signal
    /// A supply input or a power output.
    case power
    /// A ground return.
    case ground
    /// A reference voltage or current.
    case reference
}

/// A part (the unit under test): its pins and its datasheet characteristics, read from
/// `parts/<id>.yaml`.
///
/// ```yaml
/// name: "3.3 V buck module"
/// part_number: "PN-1001"
/// pins:
///   VOUT: {designator: J1.3, net: VOUT_3V3, role: power}
/// characteristics:
///   vout:
///     pin: VOUT
///     unit: V
///     bands:
///       - nominal: 3.3
///         accuracy: {pct_reading: 2}
/// ```
///
/// Read one file with ``parse(_:id:reader:)``; resolve `base:` inheritance with ``PartLoader``.
public struct Part: Sendable, Equatable {
    /// The part id: the file name without `.yaml`.
    public var id: String
    /// Display name.
    public var name: String
    /// The manufacturer's or the company's part number.
    public var partNumber: String?
    /// Hardware revision.
    public var revision: String?
    /// The id of the part this one inherits from (already merged in by ``PartLoader``).
    public var base: String?
    /// Free text.
    public var description: String?
    /// The datasheet this part's characteristics come from.
    public var datasheet: String?
    /// Pins, in file order.
    public var pins: [PartPin]
    /// Characteristics, in file order.
    public var characteristics: [Characteristic]

    public init(
        id: String, name: String, partNumber: String? = nil, revision: String? = nil, base: String? = nil,
        description: String? = nil, datasheet: String? = nil, pins: [PartPin] = [],
        characteristics: [Characteristic] = []
    ) {
        self.id = id
        self.name = name
        self.partNumber = partNumber
        self.revision = revision
        self.base = base
        self.description = description
        self.datasheet = datasheet
        self.pins = pins
        self.characteristics = characteristics
    }

    /// The pin with this key (`VOUT`), or nil.
    public func pin(_ key: String) -> PartPin? { pins.first { $0.key == key } }

    /// The pins on schematic net `net`, in file order.
    public func pins(onNet net: String) -> [PartPin] { pins.filter { $0.net == net } }

    /// The pin with this designator (`J1.3`), or nil.
    public func pin(designator: String) -> PartPin? { pins.first { $0.designator == designator } }

    /// The characteristic with this id, or nil.
    public func characteristic(_ id: String) -> Characteristic? { characteristics.first { $0.id == id } }
}

/// One pin of a part.
public struct PartPin: Sendable, Equatable {
    /// The key under `pins:` (`VOUT`); characteristics and fixtures refer to pins by key.
    public var key: String
    /// Where the pin is on the board or connector (`J1.3`).
    public var designator: String
    /// The schematic net (`VOUT_3V3`).
    public var net: String?
    /// What the pin carries.
    public var role: PinRole
    /// Free text.
    public var description: String?

    public init(key: String, designator: String, net: String? = nil, role: PinRole = .signal, description: String? = nil) {
        self.key = key
        self.designator = designator
        self.net = net
        self.role = role
        self.description = description
    }
}

/// A specified quantity of a part (an output voltage, a ripple, an efficiency) and its spec
/// bands: the limits that apply under given conditions.
public struct Characteristic: Sendable, Equatable {
    /// Seen from the part: whether it receives, produces, or both.
    public enum Direction: String, Sendable, Equatable, CaseIterable {
        case input, output, bidir
    }

    /// The key under `characteristics:` (`vout`).
    public var id: String
    /// Keys of the pins it is measured on, with ranges such as `GPIO[0:7]` expanded.
    public var pins: [String]
    /// The net it is measured on, when given by net rather than pin.
    public var net: String?
    /// What is measured (`dc_voltage`); free text.
    public var function: String?
    public var direction: Direction?
    /// The unit of the bands' values (`V`). Bands may give their own.
    public var unit: String?
    /// The nominal value used by bands that do not give one.
    public var nominal: Double?
    /// Where in the datasheet (`DS-1001 §4.2`).
    public var datasheetRef: String?
    /// Free text.
    public var description: String?
    /// Spec bands, in file order: the first one whose conditions match applies.
    public var bands: [SpecBand]

    public init(
        id: String, pins: [String] = [], net: String? = nil, function: String? = nil, direction: Direction? = nil,
        unit: String? = nil, nominal: Double? = nil, datasheetRef: String? = nil, description: String? = nil,
        bands: [SpecBand] = []
    ) {
        self.id = id
        self.pins = pins
        self.net = net
        self.function = function
        self.direction = direction
        self.unit = unit
        self.nominal = nominal
        self.datasheetRef = datasheetRef
        self.description = description
        self.bands = bands
    }

    /// The band that applies under `conditions`: the first band, in file order, whose every
    /// `when` key is present in `conditions` and matches. A band without conditions matches
    /// anything; a condition key missing from `conditions` means no match. `typical` bands are
    /// skipped: they are information, never limits.
    ///
    /// ```swift
    /// let band = part.characteristic("vout")?.band(for: ["vin": 5, "mode": "CC"])
    /// ```
    public func band(for conditions: [String: ConditionValue]) -> SpecBand? {
        bands.first { !$0.isTypical && $0.matches(conditions) }
    }

    /// The nominal of `band`: its own, or this characteristic's.
    public func nominal(of band: SpecBand) -> Double? { band.nominal ?? nominal }

    /// The limits under `conditions` (see ``band(for:)`` and ``SpecBand/bounds(defaultNominal:)``),
    /// or nil when no band applies.
    public func bounds(for conditions: [String: ConditionValue]) -> (low: Double?, high: Double?)? {
        band(for: conditions).map { $0.bounds(defaultNominal: nominal) }
    }
}

/// A value a band condition is checked against: a number or a text.
public enum ConditionValue: Sendable, Hashable, CustomStringConvertible, ExpressibleByFloatLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByStringLiteral
{
    case number(Double)
    case text(String)

    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(stringLiteral value: String) { self = .text(value) }

    /// The number, or nil for text.
    public var number: Double? { if case .number(let v) = self { return v } else { return nil } }

    public var description: String {
        switch self {
        case .number(let v): return RangeExpander.format(v)
        case .text(let s): return s
        }
    }
}

/// One condition of a band's `when`.
///
/// Numbers compare numerically (`1` equals `1.0`); text compares exactly. A range matches
/// numbers only: text never passes a range.
public enum BandCondition: Sendable, Equatable {
    /// `{min: 4.5, max: 12}`: inclusive at both ends; at least one bound.
    case range(min: Double?, max: Double?, unit: String? = nil)
    /// `{values: [0.1, 0.5]}` or `[0.1, 0.5]`: membership.
    case values([ConditionValue], unit: String? = nil)
    /// `mode: CC` or `{value: 5}`: equality.
    case equals(ConditionValue, unit: String? = nil)

    /// The unit written with the condition (informational; values are not converted).
    public var unit: String? {
        switch self {
        case .range(_, _, let unit), .values(_, let unit), .equals(_, let unit): return unit
        }
    }

    /// Whether `value` satisfies this condition.
    public func matches(_ value: ConditionValue) -> Bool {
        switch self {
        case .range(let low, let high, _):
            guard case .number(let v) = value else { return false }
            return v >= (low ?? -.infinity) && v <= (high ?? .infinity)
        case .values(let list, _):
            return list.contains(value)
        case .equals(let expected, _):
            return value == expected
        }
    }
}

/// Accuracy of a band as datasheets give it: ±(% of reading + % of range + absolute).
public struct Accuracy: Sendable, Equatable {
    /// Percent of the nominal value.
    public var pctReading: Double
    /// Percent of ``range``.
    public var pctRange: Double
    /// An absolute amount in the band's unit.
    public var absolute: Double
    /// The range (full scale) that ``pctRange`` is a percentage of.
    public var range: Double?

    public init(pctReading: Double = 0, pctRange: Double = 0, absolute: Double = 0, range: Double? = nil) {
        self.pctReading = pctReading
        self.pctRange = pctRange
        self.absolute = absolute
        self.range = range
    }

    /// The half-width of the window around `nominal`:
    /// `|nominal| × pct_reading / 100 + range × pct_range / 100 + absolute`.
    public func uncertainty(at nominal: Double) -> Double {
        abs(nominal) * pctReading / 100 + (range ?? 0) * pctRange / 100 + absolute
    }
}

/// A spec band: the limits of a characteristic under some conditions.
public struct SpecBand: Sendable, Equatable {
    /// How firm the band is. Only `typical` changes anything: a typical band is information
    /// and is never used as a limit.
    public enum Qualifier: String, Sendable, Equatable, CaseIterable {
        case guaranteed, typical, nominal, supplemental
    }

    /// The conditions, in file order. Empty matches anything.
    public var when: [(key: String, condition: BandCondition)]
    /// The nominal value (the characteristic's nominal applies when nil).
    public var nominal: Double?
    /// Explicit lower limit.
    public var min: Double?
    /// Explicit upper limit.
    public var max: Double?
    /// The window around the nominal, when not given by `min`/`max`.
    public var accuracy: Accuracy?
    /// The unit of this band's values, when it differs from the characteristic's.
    public var unit: String?
    public var qualifier: Qualifier?

    public init(
        when: [(key: String, condition: BandCondition)] = [], nominal: Double? = nil, min: Double? = nil,
        max: Double? = nil, accuracy: Accuracy? = nil, unit: String? = nil, qualifier: Qualifier? = nil
    ) {
        self.when = when
        self.nominal = nominal
        self.min = min
        self.max = max
        self.accuracy = accuracy
        self.unit = unit
        self.qualifier = qualifier
    }

    /// Whether this band is information only (`qualifier: typical`).
    public var isTypical: Bool { qualifier == .typical }

    /// The condition on `key`, or nil.
    public func condition(_ key: String) -> BandCondition? { when.first { $0.key == key }?.condition }

    /// Whether every condition's key is in `conditions` and its value matches.
    public func matches(_ conditions: [String: ConditionValue]) -> Bool {
        when.allSatisfy { clause in conditions[clause.key].map { clause.condition.matches($0) } ?? false }
    }

    /// The limits this band sets.
    ///
    /// Explicit `min`/`max` win; a band with only one of them is one-sided (the other bound is
    /// nil). Otherwise the window is nominal ± ``Accuracy/uncertainty(at:)``. A band with
    /// neither (a typical band with just a nominal) sets no limit: both bounds are nil.
    ///
    /// - Parameter defaultNominal: the characteristic's nominal, used when the band has none.
    public func bounds(defaultNominal: Double? = nil) -> (low: Double?, high: Double?) {
        if min != nil || max != nil { return (min, max) }
        guard let n = nominal ?? defaultNominal, let accuracy else { return (nil, nil) }
        let u = accuracy.uncertainty(at: n)
        return (n - u, n + u)
    }

    public static func == (a: SpecBand, b: SpecBand) -> Bool {
        a.when.count == b.when.count
            && zip(a.when, b.when).allSatisfy { $0.key == $1.key && $0.condition == $1.condition }
            && a.nominal == b.nominal && a.min == b.min && a.max == b.max && a.accuracy == b.accuracy
            && a.unit == b.unit && a.qualifier == b.qualifier
    }
}

// MARK: - Reading

extension Part {
    static let keys = ["id", "name", "part_number", "revision", "base", "description", "datasheet", "pins", "characteristics"]
    /// Header fields held as text; inherited from a base unless the part writes them.
    static let textFields = ["name", "part_number", "revision", "description", "datasheet"]

    /// Reads one part file on its own: `base:` is recorded but not resolved (use
    /// ``PartLoader`` for that). Every problem goes to `reader`, located; the result is nil when
    /// there was any error.
    ///
    /// - Parameters:
    ///   - node: the file's root.
    ///   - id: the part id, i.e. the file name without `.yaml`; a declared `id:` must equal it.
    ///   - reader: collects errors and warnings.
    public static func parse(_ node: ConfigNode, id: String, reader: ConfigReader) -> Part? {
        let before = reader.report.errors.count
        guard var draft = PartDraft.read(node, id: id, reader: reader) else { return nil }
        draft.rejectRemovals(reader: reader)
        let part = draft.finish(reader: reader)
        return reader.report.errors.count == before ? part : nil
    }

    /// The part as YAML, in the file format ``parse(_:id:reader:)`` reads back to an equal part.
    public func yaml() -> Node {
        ConfigEncoding.map([
            ("id", ConfigEncoding.text(id)),
            ("name", ConfigEncoding.text(name)),
            ("part_number", ConfigEncoding.text(partNumber)),
            ("revision", ConfigEncoding.text(revision)),
            ("base", ConfigEncoding.text(base)),
            ("description", ConfigEncoding.text(description)),
            ("datasheet", ConfigEncoding.text(datasheet)),
            ("pins", pins.isEmpty ? nil : Node(pins.map { (ConfigEncoding.text($0.key), $0.yaml()) })),
            ("characteristics",
             characteristics.isEmpty ? nil : Node(characteristics.map { (ConfigEncoding.text($0.id), $0.yaml()) })),
        ])
    }
}

extension PartPin {
    static let keys = ["designator", "net", "role", "description"]

    static func parse(_ node: ConfigNode, key: String) throws(ConfigError) -> PartPin {
        let m = try node.mapping("a pin: {designator: J1.3, net: VOUT, role: power}", allowed: keys)
        return PartPin(
            key: key,
            designator: try m.required("designator", "where the pin is on the board or connector", example: "J1.3")
                .string("a designator such as J1.3"),
            net: try m["net"]?.string("a net name"),
            role: try m["role"].map { (n) throws(ConfigError) -> PinRole in try PartReading.choice(n, "a pin role") } ?? .signal,
            description: try m["description"]?.string())
    }

    /// The pin as YAML (`role` left out when it is `signal`).
    public func yaml() -> Node {
        ConfigEncoding.map([
            ("designator", ConfigEncoding.text(designator)),
            ("net", ConfigEncoding.text(net)),
            ("role", role == .signal ? nil : ConfigEncoding.text(role.rawValue)),
            ("description", ConfigEncoding.text(description)),
        ])
    }
}

extension Characteristic {
    static let keys = [
        "pin", "pins", "net", "function", "direction", "unit", "nominal", "datasheet_ref", "description", "bands",
    ]

    /// Reads a characteristic; its pin references are returned unresolved (they are checked
    /// against the part's pins once inheritance is merged).
    static func parse(_ node: ConfigNode, id: String, reader: ConfigReader) throws(ConfigError) -> PartDraft.CharacteristicDraft {
        let m = try node.mapping("a characteristic: a mapping with pin, unit and bands", allowed: keys)
        if m.has("pin"), m.has("pins"), let pinsKey = m.keyNode("pins") {
            throw pinsKey.error("both `pin` and `pins` are written", fix: "write `pin: VOUT` for one pin or `pins: [VOUT, VIN]` for several, not both")
        }
        var refs: [ConfigNode] = []
        if let pin = m["pin"] {
            _ = try pin.string("a pin key such as VOUT")
            refs = [pin]
        } else if let pins = m["pins"] {
            if pins.isSequence {
                for item in try pins.list() {
                    _ = try item.string("a pin key such as VOUT")
                    refs.append(item)
                }
            } else {
                _ = try pins.string("a list of pin keys or a range such as GPIO[0:7]")
                refs = [pins]
            }
        }
        let net = try m["net"]?.string("a net name")
        if refs.isEmpty, net == nil {
            throw node.error(
                "characteristic \"\(id)\" names no pin, pins or net",
                fix: "add `pin: VOUT` (a key under pins:), `pins: [VOUT, VIN]`, `pins: \"GPIO[0:7]\"` or `net: VOUT_3V3`")
        }
        let nominal = try m["nominal"].map { (n) throws(ConfigError) -> Double in try PartReading.number(n, "the nominal value") }
        var bands: [SpecBand] = []
        if let list = m["bands"] {
            for item in try list.list("a list of bands") {
                if let band = reader.collect({ () throws -> SpecBand in
                    try SpecBand.parse(item, defaultNominal: nominal, reader: reader)
                }) {
                    bands.append(band)
                }
            }
        }
        let characteristic = Characteristic(
            id: id, pins: [], net: net, function: try m["function"]?.string(),
            direction: try m["direction"].map { (n) throws(ConfigError) -> Direction in try PartReading.choice(n, "a direction") },
            unit: try m["unit"]?.string("a unit"), nominal: nominal,
            datasheetRef: try m["datasheet_ref"]?.string(), description: try m["description"]?.string(), bands: bands)
        return PartDraft.CharacteristicDraft(characteristic: characteristic, pinRefs: refs)
    }

    /// The characteristic as YAML (`pin:` for one pin, `pins:` for several).
    public func yaml() -> Node {
        ConfigEncoding.map([
            ("pin", pins.count == 1 ? ConfigEncoding.text(pins[0]) : nil),
            ("pins", pins.count > 1 ? ConfigEncoding.list(pins.map { ConfigEncoding.text($0) }) : nil),
            ("net", ConfigEncoding.text(net)),
            ("function", ConfigEncoding.text(function)),
            ("direction", ConfigEncoding.text(direction?.rawValue)),
            ("unit", ConfigEncoding.text(unit)),
            ("nominal", ConfigEncoding.number(nominal)),
            ("datasheet_ref", ConfigEncoding.text(datasheetRef)),
            ("description", ConfigEncoding.text(description)),
            ("bands", ConfigEncoding.nonEmptyList(bands.map { $0.yaml() })),
        ])
    }
}

extension SpecBand {
    static let keys = ["when", "nominal", "min", "max", "accuracy", "unit", "qualifier"]

    static func parse(_ node: ConfigNode, defaultNominal: Double?, reader: ConfigReader) throws(ConfigError) -> SpecBand {
        if let entries = try? node.entries(), let value = entries.first(where: { $0.key == "value" }) {
            throw value.keyNode.error("unknown key \"value\"", fix: "a band's nominal value is written `nominal:`")
        }
        let m = try node.mapping("a band: a mapping with when, nominal, accuracy, min, max", allowed: keys)
        var band = SpecBand()
        if let when = m["when"] {
            for entry in try when.entries("conditions: a mapping of parameter to value, list or {min, max}") {
                if !entry.keyNode.isQuoted, PartReading.yaml11Booleans.contains(entry.key.lowercased()) {
                    reader.warn(entry.keyNode.warning(
                        "the condition key \"\(entry.key)\" is read as text; YAML 1.1 tools read it as a boolean",
                        fix: "write it in quotes: \"\(entry.key)\""))
                }
                band.when.append((entry.key, try BandCondition.parse(entry.value, reader: reader)))
            }
        }
        let nominalNode = m["nominal"]
        band.nominal = try nominalNode.map { (n) throws(ConfigError) -> Double in try PartReading.number(n, "the nominal value") }
        band.min = try m["min"].map { (n) throws(ConfigError) -> Double in try PartReading.number(n, "the lower limit") }
        band.max = try m["max"].map { (n) throws(ConfigError) -> Double in try PartReading.number(n, "the upper limit") }
        band.unit = try m["unit"]?.string("a unit")
        band.qualifier = try m["qualifier"].map { (n) throws(ConfigError) -> Qualifier in try PartReading.choice(n, "a qualifier") }
        if let accuracy = m["accuracy"] { band.accuracy = try Accuracy.parse(accuracy) }

        if let low = band.min, let high = band.max, low > high, let minNode = m["min"] {
            throw minNode.error(
                "min \(RangeExpander.format(low)) is greater than max \(RangeExpander.format(high))",
                fix: "swap them, or write only one for a one-sided limit")
        }
        if let accuracy = m["accuracy"], band.min != nil || band.max != nil {
            throw accuracy.error(
                "the band gives both an explicit min/max window and an accuracy; the accuracy would be ignored",
                fix: "write either min/max or nominal + accuracy")
        }
        if let n = band.nominal, let nominalNode, (band.min.map { n < $0 } ?? false) || (band.max.map { n > $0 } ?? false) {
            throw nominalNode.error(
                "nominal \(RangeExpander.format(n)) is outside the band's window "
                    + "\(band.min.map(RangeExpander.format) ?? "-∞") … \(band.max.map(RangeExpander.format) ?? "+∞")",
                fix: "correct the nominal or the window")
        }
        let nominal = band.nominal ?? defaultNominal
        if let accuracy = m["accuracy"], nominal == nil {
            throw accuracy.error(
                "an accuracy needs a nominal value to be applied to",
                fix: "add `nominal:` to the band or to the characteristic, or write an explicit min/max window")
        }
        if band.min == nil, band.max == nil, !band.isTypical {
            let place = nominalNode ?? node
            if let accuracy = band.accuracy, accuracy.uncertainty(at: nominal ?? 0) == 0, let node = m["accuracy"] {
                throw node.error(
                    "the accuracy is zero, so the limits would be low = high = nominal and every real measurement fails",
                    fix: "give pct_reading, pct_range or absolute, or write an explicit min/max window")
            }
            if band.accuracy == nil {
                if let nominal {
                    throw place.error(
                        "the band gives a nominal (\(RangeExpander.format(nominal))) but no limits: it would make low = high "
                            + "and every real measurement fails",
                        fix: "add `accuracy: {pct_reading: 2}` or an explicit `min:`/`max:` window; "
                            + "or mark it `qualifier: typical` if it is only information (typical bands are never used as limits)")
                }
                throw node.error(
                    "the band sets no limit",
                    fix: "add `min:` and/or `max:`, or `nominal:` with `accuracy:`")
            }
        }
        if band.isTypical, nominal == nil, band.min == nil, band.max == nil {
            throw node.error("the typical band gives no value", fix: "add `nominal:`, or `min:`/`max:`")
        }
        return band
    }

    /// The band as YAML.
    public func yaml() -> Node {
        ConfigEncoding.map([
            ("when", when.isEmpty ? nil : Node(when.map { (ConfigEncoding.text($0.key), $0.condition.yaml()) })),
            ("nominal", ConfigEncoding.number(nominal)),
            ("min", ConfigEncoding.number(min)),
            ("max", ConfigEncoding.number(max)),
            ("accuracy", accuracy?.yaml()),
            ("unit", ConfigEncoding.text(unit)),
            ("qualifier", ConfigEncoding.text(qualifier?.rawValue)),
        ])
    }
}

extension Accuracy {
    static let keys = ["pct_reading", "pct_range", "absolute", "range"]

    static func parse(_ node: ConfigNode) throws(ConfigError) -> Accuracy {
        let m = try node.mapping("an accuracy: {pct_reading, pct_range, absolute, range}", allowed: keys)
        func amount(_ key: String) throws(ConfigError) -> Double {
            guard let n = m[key] else { return 0 }
            let v = try n.double()
            if v < 0 { throw n.error("\(key) is negative", fix: "write the size of the ± window, e.g. \(RangeExpander.format(-v))") }
            return v
        }
        var accuracy = Accuracy(pctReading: try amount("pct_reading"), pctRange: try amount("pct_range"), absolute: try amount("absolute"))
        if let rangeNode = m["range"] {
            let range = try rangeNode.double("the range (full scale) that pct_range is a percentage of")
            guard range > 0 else { throw rangeNode.error("the range must be greater than zero", fix: "write the full scale, e.g. 10") }
            accuracy.range = range
        }
        if accuracy.pctRange != 0, accuracy.range == nil, let n = m["pct_range"] {
            throw n.error(
                "pct_range needs the range it is a percentage of",
                fix: "add `range:` (the full scale, e.g. `range: 10`) to this accuracy")
        }
        return accuracy
    }

    /// The accuracy as YAML (zero terms left out).
    public func yaml() -> Node {
        ConfigEncoding.map([
            ("pct_reading", pctReading == 0 ? nil : ConfigEncoding.number(pctReading)),
            ("pct_range", pctRange == 0 ? nil : ConfigEncoding.number(pctRange)),
            ("absolute", absolute == 0 ? nil : ConfigEncoding.number(absolute)),
            ("range", ConfigEncoding.number(range)),
        ])
    }
}

extension BandCondition {
    static func parse(_ node: ConfigNode, reader: ConfigReader) throws(ConfigError) -> BandCondition {
        if node.isSequence {
            return .values(try values(node, reader: reader))
        }
        if node.isMapping {
            let entries = try node.entries()
            if entries.count == 1, RangeExpander.generators.contains(entries[0].key) {
                return .values(try values(node, reader: reader))
            }
            let m = try node.mapping("a condition: {min, max}, {value}, {values} or a plain value",
                                     allowed: ["min", "max", "value", "values", "unit"])
            let unit = try m["unit"]?.string("a unit")
            let forms = [m.has("min") || m.has("max"), m.has("value"), m.has("values")].filter { $0 }.count
            guard forms == 1 else {
                throw node.error(
                    forms == 0 ? "the condition gives no value" : "the condition mixes min/max, value and values",
                    fix: "write one of `{min: 4.5, max: 12}`, `{value: 5}` or `{values: [0.1, 0.5]}`")
            }
            if m.has("value") {
                return .equals(try value(m.required("value", "the value to match", example: "5"), reader: reader), unit: unit)
            }
            if m.has("values") {
                return .values(try values(m.required("values", "the values to match", example: "[0.1, 0.5]"), reader: reader), unit: unit)
            }
            let low = try m["min"]?.double("a number (the lowest matching value)")
            let high = try m["max"]?.double("a number (the highest matching value)")
            if low == nil, high == nil {
                throw node.error("the range has no bound", fix: "write `min:`, `max:` or both")
            }
            if let low, let high, low > high, let minNode = m["min"] {
                throw minNode.error(
                    "min \(RangeExpander.format(low)) is greater than max \(RangeExpander.format(high)), so nothing matches",
                    fix: "swap them")
            }
            return .range(min: low, max: high, unit: unit)
        }
        return .equals(try value(node, reader: reader))
    }

    /// A plain condition value: a number when written as one without quotes, else text. Text
    /// that YAML 1.1 would read as a boolean is kept as text, with a warning.
    static func value(_ node: ConfigNode, reader: ConfigReader) throws(ConfigError) -> ConditionValue {
        guard node.isScalar, !node.isNull else {
            throw node.error("expected a number or a text to match, found \(node.found)")
        }
        let t = try node.text()
        if node.isQuoted { return .text(t) }
        if let v = ConfigNode.number(t), v.isFinite { return .number(v) }
        if PartReading.yaml11Booleans.contains(t.lowercased()) {
            reader.warn(node.warning(
                "\"\(t)\" is matched as the text \"\(t)\"; YAML 1.1 tools read it as a boolean, so its meaning is ambiguous",
                fix: "write it in quotes: \"\(t)\""))
        }
        return .text(t)
    }

    static func values(_ node: ConfigNode, reader: ConfigReader) throws(ConfigError) -> [ConditionValue] {
        var out: [ConditionValue] = []
        if node.isScalar {
            out = try node.numbers().map { .number($0) }
        } else {
            for item in try node.list("a list of values") { out.append(try value(item, reader: reader)) }
        }
        if out.isEmpty { throw node.error("the list of values is empty, so nothing matches", fix: "list the values that match") }
        return out
    }

    /// The condition as YAML: a plain value or list when it has no unit.
    public func yaml() -> Node {
        func node(_ v: ConditionValue) -> Node {
            switch v {
            case .number(let x): return ConfigEncoding.number(x)
            case .text(let s): return ConfigEncoding.text(s)
            }
        }
        switch self {
        case .range(let low, let high, let unit):
            return ConfigEncoding.map([
                ("min", ConfigEncoding.number(low)), ("max", ConfigEncoding.number(high)), ("unit", ConfigEncoding.text(unit)),
            ])
        case .values(let list, let unit):
            let items = ConfigEncoding.list(list.map(node))
            return unit == nil ? items : ConfigEncoding.map([("values", items), ("unit", ConfigEncoding.text(unit))])
        case .equals(let v, let unit):
            return unit == nil ? node(v) : ConfigEncoding.map([("value", node(v)), ("unit", ConfigEncoding.text(unit))])
        }
    }
}

/// Helpers shared by the part readers.
enum PartReading {
    /// Plain scalars YAML 1.1 (PyYAML) reads as booleans.
    static let yaml11Booleans: Set<String> = ["on", "off", "yes", "no", "true", "false"]

    /// A number, with a fix that says a limit needs a known value ("TBD" is not one).
    static func number(_ node: ConfigNode, _ what: String) throws(ConfigError) -> Double {
        do throws(ConfigError) {
            return try node.double("a number (\(what))")
        } catch {
            if !error.fix.isEmpty { throw error }
            throw node.error(
                error.problem, fix: "a limit needs a known number: write it, or leave the band out until the datasheet gives it")
        }
    }

    /// One of an enum's values, with a "did you mean".
    static func choice<E: RawRepresentable & CaseIterable>(_ node: ConfigNode, _ what: String) throws(ConfigError) -> E
    where E.RawValue == String {
        let t = try node.string(what)
        if let v = E(rawValue: t) { return v }
        let names = E.allCases.map(\.rawValue)
        let hint = Suggest.closest(to: t, in: names).map { "did you mean \"\($0)\"? " } ?? ""
        throw node.error("expected \(what) (one of \(names.joined(separator: ", "))), found \(node.found)", fix: hint + "write one of \(names.joined(separator: ", "))")
    }

    /// The error for a key that is not allowed, worded as ``ConfigNode/mapping(_:allowed:)`` words it.
    static func unknownKey(_ keyNode: ConfigNode, _ key: String, allowed: [String]) -> ConfigError {
        let hint = Suggest.closest(to: key, in: allowed)
        return keyNode.error(
            "unknown key \"\(key)\"",
            fix: (hint.map { "did you mean \"\($0)\"? " } ?? "") + "Keys allowed here: \(allowed.joined(separator: ", "))")
    }

    /// The last path component of a file path.
    static func fileName(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

extension String {
    fileprivate var trimmingSpaces: String { Substring(self).trimmingSpaces }
}

// MARK: - Drafts (one file, before inheritance)

/// One part file as written, before `base:` is merged in and pin references are resolved.
struct PartDraft {
    /// An entry of `pins:` or `characteristics:`; a nil value is `key: null` (remove the
    /// inherited entry).
    struct Entry<Value> {
        var key: String
        var keyNode: ConfigNode
        var node: ConfigNode
        var value: Value?

        /// An error at the key, with the entry's key path.
        func error(_ problem: String, fix: String) -> ConfigError {
            ConfigError(file: keyNode.file, line: keyNode.line, column: keyNode.column, keyPath: node.path, problem: problem, fix: fix)
        }
    }

    struct CharacteristicDraft {
        /// The characteristic, with `pins` still empty.
        var characteristic: Characteristic
        /// The `pin:` value or the `pins:` items, as written (keys or ranges).
        var pinRefs: [ConfigNode]
    }

    var id: String
    var root: ConfigNode
    /// Header text fields written with a value.
    var fields: [String: String] = [:]
    /// Header text fields written as null (cleared, not inherited).
    var cleared: Set<String> = []
    var base: String?
    var baseNode: ConfigNode?
    var pins: [Entry<PartPin>] = []
    var characteristics: [Entry<CharacteristicDraft>] = []
    /// Pins whose entries had errors (already reported): references to them are not errors.
    var brokenPins: Set<String> = []

    /// Reads one file. Errors go to `reader`; nil only when the file is not a mapping.
    static func read(_ root: ConfigNode, id: String, reader: ConfigReader) -> PartDraft? {
        guard let entries = reader.collect({ () throws in
            try root.entries("a part: a mapping with name, pins and characteristics")
        }) else { return nil }
        var kept: [(key: String, keyNode: ConfigNode, value: ConfigNode)] = []
        for entry in entries {
            if Part.keys.contains(entry.key) {
                kept.append(entry)
            } else {
                reader.fail(PartReading.unknownKey(entry.keyNode, entry.key, allowed: Part.keys))
            }
        }
        let m = ConfigMapping(node: root, entries: kept)
        var draft = PartDraft(id: id, root: root)

        reader.collect { _ = try m.checkID(id, what: "part") }
        for key in Part.textFields where m.has(key) {
            if let value = m[key] {
                if let text = reader.collect({ () throws in try value.string() }) { draft.fields[key] = text }
            } else {
                draft.cleared.insert(key)
            }
        }
        if let baseNode = m["base"] {
            reader.collect { () throws in
                let name = try baseNode.string("the id of the part to inherit from")
                if name.contains("/") || name.contains("\\") || name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                    throw baseNode.error(
                        "base names a part by its id, found \(baseNode.found)",
                        fix: "write the id of a part in the same directory, without .yaml (e.g. `base: buck_family`)")
                }
                draft.base = name
                draft.baseNode = baseNode
            }
        }
        if let pinsNode = m["pins"] {
            let items = reader.collect { () throws in
                try pinsNode.entries("pins: a mapping of pin key to {designator, net, role}")
            }
            for item in items ?? [] {
                if item.value.isNull {
                    draft.pins.append(Entry(key: item.key, keyNode: item.keyNode, node: item.value, value: nil))
                } else if let pin = reader.collect({ () throws in try PartPin.parse(item.value, key: item.key) }) {
                    draft.pins.append(Entry(key: item.key, keyNode: item.keyNode, node: item.value, value: pin))
                } else {
                    draft.brokenPins.insert(item.key)
                }
            }
        }
        if let charNode = m["characteristics"] {
            let items = reader.collect { () throws in
                try charNode.entries("characteristics: a mapping of id to {pin, unit, bands}")
            }
            for item in items ?? [] {
                if item.value.isNull {
                    draft.characteristics.append(Entry(key: item.key, keyNode: item.keyNode, node: item.value, value: nil))
                } else if let c = reader.collect({ () throws in
                    try Characteristic.parse(item.value, id: item.key, reader: reader)
                }) {
                    draft.characteristics.append(Entry(key: item.key, keyNode: item.keyNode, node: item.value, value: c))
                }
            }
        }
        return draft
    }

    /// Reports `key: null` entries of a part with nothing to inherit, and drops them.
    mutating func rejectRemovals(reader: ConfigReader) {
        let why = base == nil ? "this part has no `base:`" : "the base is not loaded here (read the part with PartLoader)"
        for entry in pins where entry.value == nil {
            reader.fail(entry.error("`\(entry.key): null` removes an inherited pin, but \(why)", fix: "delete the line, or give the pin"))
        }
        for entry in characteristics where entry.value == nil {
            reader.fail(entry.error(
                "`\(entry.key): null` removes an inherited characteristic, but \(why)", fix: "delete the line, or give the characteristic"))
        }
        pins.removeAll { $0.value == nil }
        characteristics.removeAll { $0.value == nil }
    }

    /// Resolves pin references and builds the part. Errors go to `reader`.
    func finish(reader: ConfigReader) -> Part? {
        var failed = false
        let name = fields["name"]
        if name == nil {
            failed = true
            reader.fail(root.error("missing `name` (the part's display name)", fix: "add e.g. `name: \"3.3 V buck module\"`"))
        }
        let pinList = pins.compactMap(\.value)
        var designators: [String: String] = [:]
        for entry in pins {
            guard let pin = entry.value else { continue }
            if let other = designators[pin.designator] {
                reader.warn(entry.node.warning(
                    "pin \(pin.key) has the designator \(pin.designator) of pin \(other)",
                    fix: "check the designators; each place on the board is one pin"))
            } else {
                designators[pin.designator] = pin.key
            }
        }
        let keys = pinList.map(\.key)
        var characteristics: [Characteristic] = []
        for entry in self.characteristics {
            guard let draft = entry.value else { continue }
            let resolved = reader.collect { () throws -> [String] in
                try Self.resolve(draft.pinRefs, keys: keys, broken: brokenPins)
            }
            guard let resolved else {
                failed = true
                continue
            }
            var c = draft.characteristic
            c.pins = resolved
            characteristics.append(c)
        }
        guard !failed, let name else { return nil }
        return Part(
            id: id, name: name, partNumber: fields["part_number"], revision: fields["revision"], base: base,
            description: fields["description"], datasheet: fields["datasheet"], pins: pinList,
            characteristics: characteristics)
    }

    /// Pin keys for the references of one characteristic.
    static func resolve(_ refs: [ConfigNode], keys: [String], broken: Set<String>) throws(ConfigError) -> [String] {
        func known() -> String {
            keys.isEmpty ? "this part declares no pins; add them under `pins:`" : "pins of this part: \(keys.joined(separator: ", "))"
        }
        var out: [String] = []
        for ref in refs {
            let text = try ref.string("a pin key")
            var names: [String]
            if keys.contains(text) || broken.contains(text) {
                names = [text]
            } else {
                let expanded: [String]?
                do throws(NameRange.Failure) {
                    expanded = try NameRange.expand(text)
                } catch {
                    throw ref.error("the pin range \"\(text)\" cannot be read: \(error.message)", fix: "write e.g. GPIO[0:7] or GPIO[0,2,4:6]")
                }
                guard let expanded else {
                    let hint = Suggest.closest(to: text, in: keys).map { "did you mean \"\($0)\"? " } ?? ""
                    throw ref.error("unknown pin \"\(text)\"", fix: hint + known())
                }
                let missing = expanded.filter { !keys.contains($0) && !broken.contains($0) }
                if !missing.isEmpty {
                    throw ref.error(
                        "\"\(text)\" stands for \(summary(expanded)), but \(summary(missing)) \(missing.count == 1 ? "is not a pin" : "are not pins") of this part",
                        fix: known())
                }
                names = expanded
            }
            for name in names {
                if out.contains(name) { throw ref.error("pin \(name) is listed twice", fix: "list each pin once") }
                out.append(name)
            }
        }
        return out
    }

    private static func summary(_ names: [String]) -> String {
        names.count <= 6 ? names.joined(separator: ", ") : "\(names[0]) … \(names[names.count - 1]) (\(names.count) pins)"
    }
}
