import Foundation
import LitmusDriverKit

/// The state of one device of a pyvisa-sim file during a session, and its answers: pyvisa-sim's
/// matching order and semantics (see ``PyVISASimFile``).
struct PyVISASimResponder {
    let device: PyVISASimFile.Device
    /// Property name -> value (device properties).
    private var values: [String: PythonValue]
    /// Channel group index -> property -> channel id -> value (a missing id holds the default).
    private var channelValues: [[String: [String: PythonValue]]]
    /// Channel group index -> the channel its setters address (pyvisa-sim's `_selected`).
    private var selected: [String?]
    private var registers: [Int64]
    private var queues: [[String]]
    private var random = SystemRandomNumberGenerator()

    init(_ device: PyVISASimFile.Device) {
        self.device = device
        values = device.component.properties.mapValues(\.defaultValue)
        channelValues = Array(repeating: [:], count: device.channels.count)
        selected = Array(repeating: nil, count: device.channels.count)
        registers = Array(repeating: 0, count: device.statusRegisters.count)
        queues = Array(repeating: [], count: device.errorQueues.count)
    }

    /// The replies to one message: each query split on the device's delimiter is answered on
    /// its own (nil entries: no reply). Throws where pyvisa-sim raises (a reply template that
    /// cannot format the value, a malformed RANDOM directive).
    mutating func respond(to message: String) throws -> [String] {
        let queries = device.delimiter.isEmpty ? [message] : message.components(separatedBy: device.delimiter)
        var replies: [String] = []
        for query in queries {
            if let reply = try match(query) {
                if let reply { replies.append(reply) }
            } else if let reply = error("command_error") {
                replies.append(reply)
            }
        }
        return replies
    }

    /// The answer of the first part that knows `query`: `.some(nil)` known, no reply; nil unknown.
    private mutating func match(_ query: String) throws -> String?? {
        let component = device.component
        if let entry = component.dialogues[query] { return .some(try entry.map { try dialogueReply($0) }) }
        if let getter = component.getters[query] {
            return .some(try reply(getter.reply, values[getter.property]))
        }
        if let i = device.statusRegisters.firstIndex(where: { $0.query == query }) {
            defer { registers[i] = 0 }
            return .some(String(registers[i]))
        }
        if let i = device.errorQueues.firstIndex(where: { $0.query == query }) {
            return .some(queues[i].isEmpty ? device.errorQueues[i].empty : queues[i].removeFirst())
        }
        for setter in component.setters {
            guard let parsed = setter.parser.parse(query), let value = parsed["0"] else { continue }
            if let property = component.properties[setter.property], let valid = property.validate(value) {
                values[setter.property] = valid
                return .some(setter.reply)
            }
            if let e = setter.error { return .some(e) }
        }
        for group in device.channels.indices {
            // pyvisa-sim moves on to the next group when a group answers an empty reply.
            if let answer = try matchChannel(group, query), answer != "" { return answer }
        }
        return nil
    }

    private mutating func matchChannel(_ g: Int, _ query: String) throws -> String?? {
        let group = device.channels[g]
        let component = group.component
        func lookup(_ id: String?) throws -> String?? {
            let named = id.map { ["ch_id": $0] } ?? [:]
            if let entry = component.dialogues.first(where: { PythonFormat.specialise($0.key, named) == query }) {
                return .some(try entry.value.map { try dialogueReply($0) })
            }
            if let getter = component.getters.first(where: { PythonFormat.specialise($0.key, named) == query }) {
                let value = channelValues[g][getter.value.property]?[selected[g] ?? ""] ?? component.properties[getter.value.property]?.defaultValue
                return .some(try reply(getter.value.reply, value))
            }
            return nil
        }
        if !group.canSelect {
            guard case .str(let id) = values["selected_channel"], group.ids.contains(id) else { return nil }
            selected[g] = id
            if let answer = try lookup(nil) { return answer }
        } else {
            for id in group.ids {
                selected[g] = id
                if let answer = try lookup(id) { return answer }
            }
        }
        for setter in component.setters {
            guard let parsed = setter.parser.parse(query) else { continue }
            let raw: PythonValue?
            if case .str(let id) = parsed["ch_id"] {
                selected[g] = id
                raw = parsed["0"]
            } else {
                raw = parsed["0"]
            }
            // pyvisa-sim stores str(value) and converts it again by the specs.
            if let raw, let property = component.properties[setter.property], let valid = property.validate(.str(raw.text)) {
                channelValues[g][setter.property, default: [:]][selected[g] ?? ""] = valid
                return .some(setter.reply)
            }
            return .some(setter.error ?? error("command_error"))
        }
        return nil
    }

    /// Records an error in the status registers and error queues; the reply the file gives for
    /// it, if any.
    private mutating func error(_ name: String) -> String? {
        for (i, register) in device.statusRegisters.enumerated() {
            if let bits = register.bits[name] { registers[i] |= bits }
        }
        for (i, queue) in device.errorQueues.enumerated() {
            if let message = queue.messages[name] { queues[i].append(message) }
        }
        return device.errorReplies[name]
    }

    /// A dialogue's reply: as written, or random values when it holds a RANDOM directive.
    private mutating func dialogueReply(_ text: String) throws -> String {
        text.contains("RANDOM") ? try randomReply(text) : text
    }

    /// A getter's reply template rendered: a RANDOM directive gives random values, any other
    /// template formats `value`.
    private mutating func reply(_ template: PythonFormat, _ value: PythonValue?) throws -> String {
        guard template.template.contains("RANDOM") else {
            do { return try template.render(value) } catch { throw DriverFailure.invalidArgument("the reply \"\(template.template)\": \(error.message)") }
        }
        return try randomReply(template.template)
    }

    /// `{RANDOM(min, max, count):fmt}`: `count` random values in min...max, each formatted with
    /// the reply without the directive, joined by ", ".
    private mutating func randomReply(_ text: String) throws -> String {
        guard let directive = RandomDirective(text) else {
            throw DriverFailure.invalidArgument(
                "the reply \"\(text)\" has a malformed RANDOM directive; write {RANDOM(min, max, count):format} with finite "
                    + "limits and a count up to \(RandomDirective.maximumCount), e.g. \"{RANDOM(0, 10.5, 1):.2f}\"")
        }
        var parts: [String] = []
        for _ in 0..<directive.count {
            let v = directive.min == directive.max ? directive.min : Double.random(in: directive.min...directive.max, using: &random)
            do { parts.append(try directive.format.render(.float(v))) } catch {
                throw DriverFailure.invalidArgument("the reply \"\(text)\": \(error.message)")
            }
        }
        return parts.joined(separator: ", ")
    }
}

/// `{RANDOM(min, max, count):fmt}` in a reply, read as pyvisa-sim reads it: the directive must
/// sit inside braces; the reply without it is the template each value is formatted with.
struct RandomDirective {
    let min: Double
    let max: Double
    let count: Int
    let format: PythonFormat

    /// The most values one reply may hold (bounds the reply's size).
    static let maximumCount = 10_000

    private static let inBraces = try! NSRegularExpression(pattern: #"\{RANDOM\((\d*.\d*), (\d*.\d*), (\d*)\).*\}"#)
    private static let directive = try! NSRegularExpression(pattern: #"RANDOM\((\d*.\d*), (\d*.\d*), (\d*)\)"#)

    init?(_ reply: String) {
        let ns = reply as NSString
        guard let match = Self.inBraces.firstMatch(in: reply, range: NSRange(location: 0, length: ns.length)),
            let low = Double(ns.substring(with: match.range(at: 1))), let high = Double(ns.substring(with: match.range(at: 2))),
            let count = Int(ns.substring(with: match.range(at: 3))),
            count <= Self.maximumCount, (high - low).isFinite
        else { return nil }
        let stripped = Self.directive.stringByReplacingMatches(in: reply, range: NSRange(location: 0, length: ns.length), withTemplate: "")
        guard let format = try? PythonFormat(stripped) else { return nil }
        (min, max, self.count, self.format) = (Swift.min(low, high), Swift.max(low, high), count, format)
    }
}
