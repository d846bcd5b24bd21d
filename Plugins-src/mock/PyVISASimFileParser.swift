import Foundation
import LitmusDriverKit
import Yams

/// Reads a pyvisa-sim device file (``PyVISASimFile``) from its composed YAML. Every error is
/// `invalidArgument` with `file:line:column`, the key path and the fix. Keys pyvisa-sim
/// ignores are ignored; what pyvisa-sim would refuse (a spec newer than 1.1, a property value
/// its specs reject, `bases`) is refused here, at open.
struct PyVISASimFileParser {
    let source: String

    /// The newest spec version pyvisa-sim (and this reader) understands.
    static let specVersion = (major: 1, minor: 1)

    func parse(_ root: Node) throws -> PyVISASimFile {
        guard let top = root.mapping else { throw fail(root, [], "the file must be a mapping with spec, devices and resources") }
        guard let specNode = top["spec"] else { throw fail(root, [], "missing `spec:`; write spec: \"1.1\"") }
        let spec = try text(specNode, ["spec"])
        let parts = spec.split(separator: ".").map { Int($0) }
        guard parts.count == 2, let major = parts[0], let minor = parts[1] else {
            throw fail(specNode, ["spec"], "\"\(spec)\" is not a version X.Y; write spec: \"1.1\"")
        }
        guard (major, minor) <= (Self.specVersion.major, Self.specVersion.minor), major == Self.specVersion.major else {
            throw fail(specNode, ["spec"], "spec \(spec) is newer than 1.1, the pyvisa-sim format this driver reads; write spec: \"1.1\"")
        }
        var devices: [String: PyVISASimFile.Device] = [:]
        if let devicesNode = top["devices"] {
            guard let mapping = devicesNode.mapping else {
                throw fail(devicesNode, ["devices"], "`devices` must map device names to descriptions")
            }
            for (key, value) in mapping {
                let name = try text(key, ["devices"])
                devices[name] = try device(name, value, ["devices", name])
            }
        }
        var resources: [(resource: String, device: String)] = []
        if let resourcesNode = top["resources"] {
            guard let mapping = resourcesNode.mapping else {
                throw fail(resourcesNode, ["resources"], "`resources` must map resource names to {device: <name>}")
            }
            for (key, value) in mapping {
                let resource = try text(key, ["resources"])
                let path = ["resources", resource]
                guard let entry = value.mapping, let deviceNode = entry["device"] else {
                    throw fail(value, path, "a resource needs `device: <name of a device under devices>`")
                }
                if entry["filename"] != nil || entry["bundled"] != nil {
                    throw fail(value, path, "devices from other files (`filename`, `bundled`) are not supported; copy the device into this file")
                }
                let device = try text(deviceNode, path + ["device"])
                guard devices[device] != nil else {
                    throw fail(deviceNode, path + ["device"], "no device \"\(device)\" under `devices`; devices: \(devices.keys.sorted().joined(separator: ", "))")
                }
                resources.append((resource, device))
            }
        }
        guard !resources.isEmpty else {
            throw fail(root, [], "no `resources:`; map resource names to devices, e.g. ASRL1::INSTR: {device: device 1}")
        }
        return PyVISASimFile(devices: devices, resources: resources, source: source)
    }

    // MARK: - Devices

    private func device(_ name: String, _ node: Node, _ path: [String]) throws -> PyVISASimFile.Device {
        guard let mapping = node.mapping else { throw fail(node, path, "a device must be a mapping (eom, error, dialogues, properties, channels)") }
        if let bases = mapping["bases"] {
            throw fail(bases, path + ["bases"], "`bases` is not supported (pyvisa-sim does not implement it either); copy the base's entries into the device")
        }
        var eoms: [String: (query: String, response: String)] = [:]
        if let eomNode = mapping["eom"] {
            guard let entries = eomNode.mapping else {
                throw fail(eomNode, path + ["eom"], "`eom` must map interface types to terminations, e.g. ASRL INSTR: {q: \"\\r\\n\", r: \"\\n\"}")
            }
            for (key, value) in entries {
                let type = try text(key, path + ["eom"])
                let at = path + ["eom", type]
                guard type.split(separator: " ").count == 2 else {
                    throw fail(key, at, "an interface type is written \"<TYPE> <CLASS>\", e.g. \"ASRL INSTR\" or \"TCPIP SOCKET\"")
                }
                let (q, r) = try pair(value, at)
                guard let r else { throw fail(value, at, "an eom needs both `q` and `r`") }
                eoms[type.uppercased()] = (q, r)
            }
        }
        var errorReplies: [String: String] = [:]
        var registers: [PyVISASimFile.StatusRegister] = []
        var queues: [PyVISASimFile.ErrorQueue] = []
        if let errorNode = mapping["error"] {
            let at = path + ["error"]
            if errorNode.scalar != nil {
                let reply = Self.unescape(try text(errorNode, at))
                errorReplies = ["command_error": reply, "query_error": reply]
            } else if let error = errorNode.mapping {
                if let response = error["response"] {
                    guard let entries = response.mapping else {
                        throw fail(response, at + ["response"], "`response` must map error names to replies, e.g. command_error: INVALID_COMMAND")
                    }
                    for (key, value) in entries {
                        let name = try text(key, at + ["response"])
                        errorReplies[name] = Self.unescape(try text(value, at + ["response", name]))
                    }
                }
                for (i, item) in try list(error["status_register"], at + ["status_register"]).enumerated() {
                    let itemPath = at + ["status_register[\(i)]"]
                    guard let entries = item.mapping, let q = entries["q"] else {
                        throw fail(item, itemPath, "a status register is {q: \"*ESR?\", command_error: 32, query_error: 4}")
                    }
                    var bits: [String: Int64] = [:]
                    for (key, value) in entries {
                        let name = try text(key, itemPath)
                        guard name != "q" else { continue }
                        guard let v = Int64(try text(value, itemPath + [name])) else {
                            throw fail(value, itemPath + [name], "a register bit must be an integer, e.g. 32")
                        }
                        bits[name] = v
                    }
                    registers.append(.init(query: Self.unescape(try text(q, itemPath + ["q"])), bits: bits))
                }
                for (i, item) in try list(error["error_queue"], at + ["error_queue"]).enumerated() {
                    let itemPath = at + ["error_queue[\(i)]"]
                    guard let entries = item.mapping, let q = entries["q"], let empty = entries["default"] else {
                        throw fail(item, itemPath, "an error queue is {q: \":SYST:ERR?\", default: \"0, No Error\", command_error: \"1, Command error\"}")
                    }
                    var messages: [String: String] = [:]
                    for (key, value) in entries {
                        let name = try text(key, itemPath)
                        guard !["q", "default", "strict"].contains(name) else { continue }
                        messages[name] = Self.unescape(try text(value, itemPath + [name]))
                    }
                    queues.append(.init(query: Self.unescape(try text(q, itemPath + ["q"])), empty: Self.unescape(try text(empty, itemPath + ["default"])), messages: messages))
                }
            } else {
                throw fail(errorNode, at, "`error` is a reply (error: ERROR) or a mapping with response, status_register, error_queue")
            }
        }
        let component = try self.component(mapping, path)
        var channels: [PyVISASimFile.Channels] = []
        if let channelsNode = mapping["channels"] {
            guard let entries = channelsNode.mapping else {
                throw fail(channelsNode, path + ["channels"], "`channels` must map group names to {ids: [...], can_select: ..., properties: ...}")
            }
            for (key, value) in entries {
                let group = try text(key, path + ["channels"])
                let at = path + ["channels", group]
                guard let entry = value.mapping else { throw fail(value, at, "a channel group must be a mapping with ids and properties") }
                let ids = try list(entry["ids"], at + ["ids"]).enumerated().map { try text($1, at + ["ids[\($0)]"]) }
                // pyvisa-sim: only the text "False" turns selection off.
                let canSelect = try entry["can_select"].map { try text($0, at + ["can_select"]) } != "False"
                if !canSelect && component.properties["selected_channel"] == nil {
                    throw fail(value, at + ["can_select"], "a group with can_select: False is addressed through the device's `selected_channel` property; add it")
                }
                channels.append(.init(name: group, ids: ids, canSelect: canSelect, component: try self.component(entry, at)))
            }
        }
        let delimiter = try mapping["delimiter"].map { try text($0, path + ["delimiter"]) } ?? ";"
        return .init(
            name: name, delimiter: delimiter, eoms: eoms, errorReplies: errorReplies, statusRegisters: registers,
            errorQueues: queues, component: component, channels: channels)
    }

    /// The dialogues and properties of a device or channel group.
    private func component(_ mapping: Node.Mapping, _ path: [String]) throws -> PyVISASimFile.Component {
        var component = PyVISASimFile.Component()
        for (i, item) in try list(mapping["dialogues"], path + ["dialogues"]).enumerated() {
            let at = path + ["dialogues[\(i)]"]
            let (q, r) = try pair(item, at)
            component.dialogues[q] = .some(r)
        }
        if let propertiesNode = mapping["properties"] {
            guard let entries = propertiesNode.mapping else {
                throw fail(propertiesNode, path + ["properties"], "`properties` must map property names to {default, getter, setter, specs}")
            }
            for (key, value) in entries {
                let name = try text(key, path + ["properties"])
                try property(name, value, path + ["properties", name], into: &component)
            }
        }
        return component
    }

    private func property(_ name: String, _ node: Node, _ path: [String], into component: inout PyVISASimFile.Component) throws {
        guard let mapping = node.mapping else { throw fail(node, path, "a property must be a mapping with default, getter, setter and specs") }
        var specs: PyVISASimFile.Specs?
        if let specsNode = mapping["specs"], let entries = specsNode.mapping, !entries.isEmpty {
            let at = path + ["specs"]
            guard let typeNode = entries["type"] else { throw fail(specsNode, at, "specs need `type: float`, `int` or `str`") }
            let typeText = try text(typeNode, at + ["type"])
            guard let type = PythonType(rawValue: typeText) else {
                throw fail(typeNode, at + ["type"], "invalid type \"\(typeText)\"; use int, float or str")
            }
            func value(_ key: String, _ node: Node) throws -> PythonValue {
                let raw = try text(node, at + [key])
                guard let v = PythonValue.str(raw).converted(to: type) else {
                    throw fail(node, at + [key], "\"\(raw)\" is not a valid \(type.rawValue)")
                }
                return v
            }
            let valid = try list(entries["valid"], at + ["valid"]).enumerated().map { try value("valid[\($0)]", $1) }
            specs = .init(
                type: type, min: try entries["min"].map { try value("min", $0) }, max: try entries["max"].map { try value("max", $0) },
                valid: valid)
        }
        let defaultText = try mapping["default"].map { try text($0, path + ["default"]) } ?? ""
        var defaultValue = PythonValue.str(defaultText)
        if let specs {
            guard let valid = specs.validate(defaultValue) else {
                throw fail(mapping["default"] ?? node, path + ["default"], "the default \"\(defaultText)\" does not satisfy the property's specs (type, min, max, valid); give a default the specs allow")
            }
            defaultValue = valid
        }
        component.properties[name] = .init(name: name, defaultValue: defaultValue, specs: specs)
        if let getter = mapping["getter"] {
            let (q, r) = try pair(getter, path + ["getter"])
            guard let r else { throw fail(getter, path + ["getter"], "a getter needs `r:` (the reply template, e.g. \"{:.2f}\")") }
            component.getters[q] = (name, try format(r, getter, path + ["getter", "r"]))
        }
        if let setter = mapping["setter"] {
            let at = path + ["setter"]
            let (q, r) = try pair(setter, at)
            let template = try format(q, setter, at + ["q"])
            let parser: PythonFormatParser
            do { parser = try template.parser() } catch { throw fail(setter, at + ["q"], "\(error.message); write the value field as {:d}, {:.3f} or {:s}") }
            let e = try setter.mapping?["e"].map { Self.unescape(try text($0, at + ["e"]).trimmingCharacters(in: Self.spaces)) }
            component.setters.append(.init(property: name, parser: parser, reply: r, error: e))
        }
    }

    // MARK: - Scalars

    /// A `{q: ..., r: ...}` entry: the query and its reply, spaces trimmed and `\r`, `\n`
    /// written as two characters made control characters, as pyvisa-sim does.
    private func pair(_ node: Node, _ path: [String]) throws -> (String, String?) {
        guard let mapping = node.mapping, let q = mapping["q"] else { throw fail(node, path, "expected {q: ..., r: ...}") }
        let query = Self.unescape(try text(q, path + ["q"]).trimmingCharacters(in: Self.spaces))
        let reply = try mapping["r"].map { Self.unescape(try text($0, path + ["r"]).trimmingCharacters(in: Self.spaces)) }
        return (query, reply)
    }

    private func format(_ template: String, _ node: Node, _ path: [String]) throws -> PythonFormat {
        do { return try PythonFormat(template) } catch { throw fail(node, path, "\(error.message); write a Python format such as \"{:.2f}\" (double '{{' for a literal brace)") }
    }

    private func list(_ node: Node?, _ path: [String]) throws -> [Node] {
        guard let node else { return [] }
        guard let items = node.sequence else { throw fail(node, path, "expected a list") }
        return Array(items)
    }

    private func text(_ node: Node, _ path: [String]) throws -> String {
        guard let scalar = node.scalar else { throw fail(node, path, "expected a single value (text or number), not a list or mapping") }
        return scalar.string
    }

    /// pyvisa-sim trims spaces (only) around queries and replies.
    private static let spaces = CharacterSet(charactersIn: " ")

    /// pyvisa-sim's `to_bytes`: the two characters `\r` and `\n` become CR and LF.
    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\r", with: "\r").replacingOccurrences(of: "\\n", with: "\n")
    }

    private func fail(_ node: Node?, _ path: [String], _ problem: String) -> DriverFailure {
        let location = node?.mark.map { "\(source):\($0.line):\($0.column)" } ?? source
        let key = path.isEmpty ? "" : " \(path.joined(separator: ".")):"
        return .invalidArgument("\(location):\(key) \(problem)")
    }
}
