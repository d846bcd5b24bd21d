import Foundation
import LitmusDriverKit
import Yams
import LitmusJSON
import LitmusYAML

/// Reads a YAML device-description file into ``SimDevice``s. The format:
///
/// ```yaml
/// devices:
///   dmm:
///     identity: "Litmus,SIM-DMM,SIM0001,1.0"   # *IDN? (default Litmus,Simulated,<name>,1.0)
///     eom: "\n"                                # appended to every response (default "\n")
///     dialogues:
///       - {q: "MEASure:VOLTage:DC?", r: "5.0012"}
///       - {q: "*RST"}                                           # a command: no reply
///       - {q: "CURVe?", block: {length: 1000, pattern: ramp}}   # IEEE 488.2 definite block
///       - {q: "DATA?", block: {indefinite: true, hex: "00ff"}}  # "#0<bytes>"
///       - {q: "RAW?", raw_hex: "2331356162"}                    # exact bytes, no eom
///     properties:
///       voltage:
///         default: 0.0
///         type: float          # float | int | string
///         min: 0
///         max: 30
///         values: [ON, OFF]    # allowed values of a string property
///         getter: "VOLTage?"   # or a list: ["VOLTage?", "MEASure:VOLTage?"]
///         setter: "VOLTage {value}"
///         actions: {"VOLTage:MINimum": 0}   # commands that store a fixed value
/// ```
///
/// Two kinds of property hold one value per key:
///
/// ```yaml
///     properties:
///       channel:                       # the output that later commands address
///         {default: 1, type: int, min: 1, max: 2, getter: "INSTrument:NSELect?", setter: "INSTrument:NSELect {value}"}
///       voltage:
///         default: 0
///         selected_by: channel         # one value per value of `channel`
///         getter: "VOLTage?"
///         setter: "VOLTage {value}"
///       relay:
///         default: 0
///         type: int
///         per_channel: true            # one value per channel of an SCPI channel list (@101,102:105)
///         getter: "ROUTe:CLOSe? {channels}"          # answers "1,0": one value per listed channel
///         actions:
///           "ROUTe:CLOSe {channels}": 1              # on the listed channels
///           "ROUTe:OPEN {channels}": 0
///           "ROUTe:OPEN:ALL": 0                      # no channel list: on every channel
/// ```
///
/// A `selected_by` property names a property that is neither selected nor per channel; its
/// getters, setter and actions address the value of the currently selected key. A
/// `per_channel` property has no setter; its getters end with `{channels}`, its actions may.
///
/// The file wins over the built-in IEEE 488.2 commands (`*IDN?`, `*RST`, `*CLS`, `*OPC?`,
/// `*ESR?`, `*STB?`, `*TST?`, `SYSTem:ERRor?`...): a dialogue or a property getter for one of
/// them gives the reply, and the built-in's effect on the state (`*RST` resets the properties)
/// still happens.
///
/// The file is read within ``YAMLLimits`` (size, alias expansion, nesting), like every YAML
/// file Litmus reads. Every error is `invalidArgument` with `file:line:column`, the key path and
/// the fix.
/// Scalars are read as written (`ON` stays the text "ON", not YAML 1.1's true).
///
/// A file with a top-level `spec:` key is a pyvisa-sim device file, read by
/// ``PyVISASimFileParser`` with pyvisa-sim's meaning.
struct SimDeviceParser {
    /// The file name (or `<built-in devices>`) in messages.
    let source: String

    /// The largest block a dialogue may declare.
    static let maximumBlockLength = 100_000_000

    /// The bounds on a description file and its YAML: the defaults, changed by
    /// `LITMUS_YAML_LIMITS` in the environment (as for every YAML file Litmus reads).
    static func limits() throws -> YAMLLimits {
        do {
            return try YAMLLimits(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw DriverFailure.invalidArgument("\(error.message)")
        }
    }

    /// What a description file holds: devices in this format, or a pyvisa-sim file (told apart
    /// by its top-level `spec:` key).
    enum Description {
        case devices([SimDevice])
        case pyvisaSim(PyVISASimFile)
    }

    /// Reads the description file at `path` (at most ``YAMLLimits/fileBytes`` of it).
    static func load(path: String) throws -> Description {
        let limits = try limits()
        let text: String
        do throws(YAMLInputError) {
            text = try YAMLInput.read(path: path, limits: limits)
        } catch where error.line == 0 {
            throw DriverFailure.notFound(
                "the device description \(path) cannot be read (\(error.problem)); "
                    + "set the `description` option to a readable YAML file")
        } catch {
            throw DriverFailure.invalidArgument("\(path):\(error.line):\(error.column): \(error.problem); \(error.fix)")
        }
        let parser = SimDeviceParser(source: path)
        let root = try parser.compose(text, limits: limits)
        if let root, root.mapping?["spec"] != nil {
            return .pyvisaSim(try PyVISASimFileParser(source: path).parse(root))
        }
        return .devices(try parser.devices(root))
    }

    /// Parses description text, within `limits`.
    func parse(_ text: String, limits: YAMLLimits = YAMLLimits()) throws -> [SimDevice] {
        try devices(try compose(text, limits: limits))
    }

    private func compose(_ text: String, limits: YAMLLimits) throws -> Node? {
        do {
            return try YAMLInput.compose(text, limits: limits)
        } catch let error as YAMLInputError {
            throw DriverFailure.invalidArgument("\(source):\(error.line):\(error.column): \(error.problem); \(error.fix)")
        } catch let error as YamlError {
            throw syntaxFailure(error)
        }
    }

    private func devices(_ root: Node?) throws -> [SimDevice] {
        guard let root, let top = root.mapping else {
            throw fail(root, [], "the file must be a mapping with a `devices:` key")
        }
        try checkKeys(top, ["devices"], at: [])
        guard let devicesNode = top["devices"] else {
            throw fail(root, [], "missing `devices:`; list the simulated instruments under it")
        }
        guard let devices = devicesNode.mapping, !devices.isEmpty else {
            throw fail(devicesNode, ["devices"], "`devices` must map device names to descriptions, e.g. `dmm: {identity: ...}`")
        }
        return try devices.map { key, value in try device(key: key, value) }
    }

    // MARK: - Devices

    private func device(key: Node, _ node: Node) throws -> SimDevice {
        guard let name = key.scalar?.string, !name.isEmpty, !name.contains("::"), !name.contains(where: \.isWhitespace)
        else {
            throw fail(key, ["devices"], "a device name must be non-empty text without spaces or '::'")
        }
        let path = ["devices", name]
        guard let mapping = node.mapping else {
            throw fail(node, path, "a device must be a mapping with identity, eom, dialogues and properties")
        }
        try checkKeys(mapping, ["identity", "eom", "dialogues", "properties"], at: path)
        let identity = try mapping["identity"].map { try string($0, path + ["identity"]) } ?? "Litmus,Simulated,\(name),1.0"
        let eom = try mapping["eom"].map { try string($0, path + ["eom"]) } ?? "\n"

        var dialogues: [SimDevice.Dialogue] = []
        if let list = mapping["dialogues"] {
            guard let items = list.sequence else {
                throw fail(list, path + ["dialogues"], "`dialogues` must be a list of {q: ..., r: ...} entries")
            }
            for (i, item) in items.enumerated() {
                dialogues.append(try dialogue(item, path + ["dialogues[\(i)]"]))
            }
        }

        var properties: [SimDevice.Property] = []
        var names: [String] = []
        var selectors: [(property: Int, name: String, node: Node)] = []
        if let map = mapping["properties"] {
            guard let entries = map.mapping else {
                throw fail(map, path + ["properties"], "`properties` must map property names to descriptions")
            }
            for (key, value) in entries {
                guard let propertyName = key.scalar?.string, !propertyName.isEmpty else {
                    throw fail(key, path + ["properties"], "a property name must be non-empty text")
                }
                let (property, selector) = try self.property(value, path + ["properties", propertyName])
                if let selector { selectors.append((properties.count, selector.name, selector.node)) }
                properties.append(property)
                names.append(propertyName)
            }
        }
        for (index, name, node) in selectors {
            let at = path + ["properties", names[index], "selected_by"]
            guard let selector = names.firstIndex(of: name) else {
                throw fail(node, at, "no property \"\(name)\" to select by; properties: \(names.joined(separator: ", "))")
            }
            guard selector != index else { throw fail(node, at, "a property cannot be selected by itself") }
            let chosen = properties[selector]
            guard !chosen.perChannel, !selectors.contains(where: { $0.property == selector }) else {
                throw fail(node, at, "\"\(name)\" is itself selected or per channel; select by a plain property such as the channel number")
            }
            properties[index].selector = selector
        }
        return SimDevice(
            name: name, identity: identity, eom: Array(eom.utf8), dialogues: dialogues, properties: properties)
    }

    private func dialogue(_ node: Node, _ path: [String]) throws -> SimDevice.Dialogue {
        guard let mapping = node.mapping else {
            throw fail(node, path, "a dialogue must be a mapping such as {q: \"MEASure:VOLTage?\", r: \"5.0\"}")
        }
        try checkKeys(mapping, ["q", "r", "block", "raw_hex"], at: path)
        guard let q = mapping["q"] else { throw fail(node, path, "missing `q:` (the command or query to answer)") }
        let pattern = try self.pattern(q, path + ["q"])
        let replies = ["r", "block", "raw_hex"].filter { mapping[$0] != nil }
        guard replies.count <= 1 else {
            throw fail(node, path, "give one reply, not \(replies.joined(separator: " and ")); use r, block or raw_hex")
        }
        if let r = mapping["r"] {
            return .init(pattern: pattern, reply: .message(Array(try string(r, path + ["r"]).utf8)))
        }
        if let raw = mapping["raw_hex"] {
            guard let bytes = bytesFromHex(try string(raw, path + ["raw_hex"])) else {
                throw fail(raw, path + ["raw_hex"], "`raw_hex` must be pairs of hex digits, e.g. \"2331356162\"")
            }
            return .init(pattern: pattern, reply: .raw(bytes))
        }
        if let block = mapping["block"] {
            return .init(pattern: pattern, reply: .message(try self.block(block, path + ["block"])))
        }
        return .init(pattern: pattern, reply: nil)
    }

    /// An IEEE 488.2 block: `#<digits><length><bytes>`, or `#0<bytes>` when indefinite.
    private func block(_ node: Node, _ path: [String]) throws -> [UInt8] {
        guard let mapping = node.mapping else {
            throw fail(node, path, "`block` must be a mapping: {length: 1000, pattern: ramp} or {hex: \"00ff\"}")
        }
        try checkKeys(mapping, ["length", "pattern", "hex", "indefinite"], at: path)
        var indefinite = false
        if let flag = mapping["indefinite"] {
            guard let value = flag.bool else { throw fail(flag, path + ["indefinite"], "`indefinite` must be true or false") }
            indefinite = value
        }
        let data: [UInt8]
        if let hex = mapping["hex"] {
            guard mapping["length"] == nil, mapping["pattern"] == nil else {
                throw fail(node, path, "give either `hex` or `length` (with `pattern`), not both")
            }
            guard let bytes = bytesFromHex(try string(hex, path + ["hex"])) else {
                throw fail(hex, path + ["hex"], "`hex` must be pairs of hex digits, e.g. \"00ff0a0d\"")
            }
            data = bytes
        } else if let lengthNode = mapping["length"] {
            guard let length = Int(try string(lengthNode, path + ["length"])), (0...Self.maximumBlockLength).contains(length)
            else {
                throw fail(lengthNode, path + ["length"], "`length` must be an integer from 0 to \(Self.maximumBlockLength)")
            }
            if let patternNode = mapping["pattern"] {
                let name = try string(patternNode, path + ["pattern"])
                guard name == "ramp" else {
                    throw fail(patternNode, path + ["pattern"], "unknown pattern \"\(name)\"; use ramp (bytes i % 256)")
                }
            }
            data = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        } else {
            throw fail(node, path, "a block needs `length` (with `pattern: ramp`) or `hex`")
        }
        let header = indefinite ? "#0" : "#\(String(data.count).count)\(data.count)"
        return Array(header.utf8) + data
    }

    // MARK: - Properties

    /// A property, and the name of the property that selects it (resolved by the caller, once
    /// every property is known).
    private func property(_ node: Node, _ path: [String]) throws -> (SimDevice.Property, selector: (name: String, node: Node)?) {
        guard let mapping = node.mapping else {
            throw fail(node, path, "a property must be a mapping with default, type, getter and/or setter")
        }
        try checkKeys(
            mapping, ["default", "type", "min", "max", "values", "getter", "setter", "actions", "selected_by", "per_channel"],
            at: path)

        var type = SimDevice.PropertyType.float
        if let typeNode = mapping["type"] {
            let text = try string(typeNode, path + ["type"])
            guard let parsed = SimDevice.PropertyType(rawValue: text) else {
                throw fail(typeNode, path + ["type"], "unknown type \"\(text)\"; use float, int or string")
            }
            type = parsed
        }

        var range: ClosedRange<Double>?
        let minimum = try mapping["min"].map { try number($0, path + ["min"], type) }
        let maximum = try mapping["max"].map { try number($0, path + ["max"], type) }
        if minimum != nil || maximum != nil {
            let low = minimum ?? -Double.greatestFiniteMagnitude
            let high = maximum ?? Double.greatestFiniteMagnitude
            guard low <= high else { throw fail(node, path, "min (\(low)) is greater than max (\(high))") }
            range = low...high
        }

        var values: [String]?
        if let list = mapping["values"] {
            guard type == .string else {
                throw fail(list, path + ["values"], "`values` applies to string properties; limit numbers with min and max")
            }
            guard let items = list.sequence, !items.isEmpty else {
                throw fail(list, path + ["values"], "`values` must be a non-empty list, e.g. [ON, OFF]")
            }
            values = try items.enumerated().map { try string($1, path + ["values[\($0)]"]) }
        }

        var perChannel = false
        if let flag = mapping["per_channel"] {
            guard let value = flag.bool else { throw fail(flag, path + ["per_channel"], "`per_channel` must be true or false") }
            perChannel = value
        }
        var selector: (name: String, node: Node)?
        if let selectorNode = mapping["selected_by"] {
            guard !perChannel else {
                throw fail(selectorNode, path + ["selected_by"], "a property is either per_channel or selected_by, not both")
            }
            selector = (try string(selectorNode, path + ["selected_by"]), selectorNode)
        }

        var getters: [SCPIPattern] = []
        if let getterNode = mapping["getter"] {
            let nodes = getterNode.sequence.map(Array.init) ?? [getterNode]
            for (i, item) in nodes.enumerated() {
                let itemPath = path + [getterNode.sequence == nil ? "getter" : "getter[\(i)]"]
                let getter = try pattern(item, itemPath)
                if perChannel {
                    guard getter.isQuery, getter.takesChannelList else {
                        throw fail(item, itemPath, "a getter of a per_channel property is a query followed by {channels}, e.g. \"ROUTe:CLOSe? {channels}\"")
                    }
                } else {
                    guard getter.isQuery, getter.parameters == nil else {
                        throw fail(item, itemPath, "a getter is a query without parameters, e.g. \"VOLTage?\"")
                    }
                }
                getters.append(getter)
            }
        }
        var setter: SCPIPattern?
        if let setterNode = mapping["setter"] {
            guard !perChannel else {
                throw fail(setterNode, path + ["setter"], "a per_channel property has no setter; store values with `actions`")
            }
            let pattern = try self.pattern(setterNode, path + ["setter"])
            guard pattern.parameters == "{VALUE}", !pattern.isQuery else {
                throw fail(setterNode, path + ["setter"], "a setter is a command header followed by {value}, e.g. \"VOLTage {value}\"")
            }
            setter = pattern
        }

        var actions: [SimDevice.Action] = []
        if let actionsNode = mapping["actions"] {
            let at = path + ["actions"]
            guard let entries = actionsNode.mapping, !entries.isEmpty else {
                throw fail(actionsNode, at, "`actions` must map commands to the value they store, e.g. {\"OUTPut:ON\": \"ON\"}")
            }
            for (key, valueNode) in entries {
                let pattern = try self.pattern(key, at)
                let allowed = pattern.parameters == nil || (perChannel && pattern.takesChannelList)
                guard !pattern.isQuery, allowed else {
                    throw fail(
                        key, at,
                        perChannel
                            ? "an action is a command, alone or followed by {channels}, e.g. \"ROUTe:CLOSe {channels}\""
                            : "an action is a command without parameters, e.g. \"OUTPut:ON\" ({channels} needs `per_channel: true`)")
                }
                let text = try string(valueNode, at + [key.scalar?.string ?? ""])
                switch SimDevice.Property.parse(Substring(text), type: type, range: range, values: values) {
                case .success(let value): actions.append(SimDevice.Action(pattern: pattern, value: value))
                case .failure(let error):
                    throw fail(valueNode, at + [key.scalar?.string ?? ""], "the value \"\(text)\" is invalid: \(reason(error, type, values))")
                }
            }
        }
        guard !getters.isEmpty || setter != nil || !actions.isEmpty else {
            throw fail(node, path, "a property needs a getter (\"VOLTage?\"), a setter (\"VOLTage {value}\") or actions")
        }

        guard let defaultNode = mapping["default"] else {
            throw fail(node, path, "missing `default:` (the value after open and after *RST)")
        }
        let defaultText = try string(defaultNode, path + ["default"])
        switch SimDevice.Property.parse(Substring(defaultText), type: type, range: range, values: values) {
        case .success(let value):
            let property = SimDevice.Property(
                type: type, defaultValue: value, range: range, values: values, getters: getters,
                setter: setter, actions: actions, selector: nil, perChannel: perChannel)
            return (property, selector)
        case .failure(let error):
            throw fail(defaultNode, path + ["default"], "the default \"\(defaultText)\" is invalid: \(reason(error, type, values))")
        }
    }

    /// Why a value of a property is refused.
    private func reason(_ error: SCPIError, _ type: SimDevice.PropertyType, _ values: [String]?) -> String {
        switch error {
        case .dataOutOfRange: "it is outside min...max"
        case _ where values != nil: "it is not one of `values`"
        default: "it is not a valid \(type.rawValue)\(type == .string ? "" : "; set `type: string` for text")"
        }
    }

    // MARK: - Scalars

    private func string(_ node: Node, _ path: [String]) throws -> String {
        guard let scalar = node.scalar else { throw fail(node, path, "expected a single value (text or number), not a list or mapping") }
        return scalar.string
    }

    private func number(_ node: Node, _ path: [String], _ type: SimDevice.PropertyType) throws -> Double {
        guard type != .string else {
            throw fail(node, path, "min and max apply to float and int properties; list string values in `values`")
        }
        let text = try string(node, path)
        guard let value = Double(text), value.isFinite else {
            throw fail(node, path, "\"\(text)\" is not a number")
        }
        return value
    }

    /// The longest command pattern (SCPI headers are short; a megabyte pattern took seconds).
    static let maximumPatternLength = 1024

    private func pattern(_ node: Node, _ path: [String]) throws -> SCPIPattern {
        let text = try string(node, path)
        guard text.utf8.count <= Self.maximumPatternLength else {
            throw fail(
                node, path,
                "the command pattern is \(text.utf8.count) bytes long; at most \(Self.maximumPatternLength) are accepted")
        }
        do {
            return try SCPIPattern(text)
        } catch {
            throw fail(node, path, "\(error.message); write SCPI notation such as \"MEASure:VOLTage:DC?\"")
        }
    }

    private func checkKeys(_ mapping: Node.Mapping, _ allowed: [String], at path: [String]) throws {
        for key in mapping.keys {
            guard let text = key.scalar?.string, allowed.contains(text) else {
                let shown = key.scalar?.string ?? "(not text)"
                throw fail(key, path, "unknown key \"\(shown)\"; expected one of \(allowed.joined(separator: ", "))")
            }
        }
    }

    // MARK: - Errors

    private func fail(_ node: Node?, _ path: [String], _ problem: String) -> DriverFailure {
        let location = node?.mark.map { "\(source):\($0.line):\($0.column)" } ?? source
        let key = path.isEmpty ? "" : " \(path.joined(separator: ".")):"
        return .invalidArgument("\(location):\(key) \(problem)")
    }

    private func syntaxFailure(_ error: YamlError) -> DriverFailure {
        let fix = "fix the YAML syntax (indentation, quotes, ':' after keys)"
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return .invalidArgument("\(source):\(mark.line):\(mark.column): YAML error: \(problem)\(detail); \(fix)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .invalidArgument(
                "\(source):\(context.mark.line):\(context.mark.column): duplicate keys "
                    + "\(duplicates.joined(separator: ", ")); each key may appear once in a mapping")
        default:
            return .invalidArgument("\(source):1:1: YAML error: \(error); \(fix)")
        }
    }
}
