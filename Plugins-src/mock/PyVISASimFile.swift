import LitmusDriverKit
import Yams

/// A pyvisa-sim device file (`spec: "1.1"`, `devices`, `resources`), read as it is, with
/// pyvisa-sim's meaning:
///
/// - `resources` names the devices: the `sim` driver opens `SIM::<resource>`, e.g.
///   `SIM::ASRL1::INSTR` or `SIM::USB::0x1111::0x2222::0x1234::INSTR`, and each session is a
///   fresh copy of the device.
/// - Queries match exactly (no SCPI abbreviation), in pyvisa-sim's order: dialogues, property
///   getters, status registers, error queues, property setters, channels.
/// - There are no built-in commands: the file describes the whole instrument, as in
///   pyvisa-sim (its `*IDN?` is whatever the file answers).
/// - Replies are Python format templates (`"{:+.8E}"`), or `{RANDOM(min, max, count):fmt}`.
///
/// Scalars are read as text, like pyvisa-sim's YAML BaseLoader; numbers are converted by the
/// property's `specs.type` as Python converts them.
struct PyVISASimFile: Sendable {
    /// Dialogues, properties and setters: the part of a device or of a channel group that
    /// answers queries.
    struct Component: Sendable {
        /// Query -> reply as written (nil: none, pyvisa-sim's NoResponse); of equal queries the
        /// last wins, as in pyvisa-sim.
        var dialogues: [String: String?] = [:]
        var properties: [String: Property] = [:]
        /// Query -> (property, reply template).
        var getters: [String: (property: String, reply: PythonFormat)] = [:]
        var setters: [Setter] = []
    }

    struct Setter: Sendable {
        let property: String
        /// Reads the command (`"!FREQ {:.2f}"`): its value field is "0", `{ch_id}` "ch_id".
        let parser: PythonFormatParser
        /// The reply when the value is accepted (nil: none).
        let reply: String?
        /// The reply when the value is refused (nil: the device's command error).
        let error: String?
    }

    /// `specs`: the type a value is converted to, and what it must satisfy.
    struct Specs: Sendable {
        let type: PythonType
        let min: PythonValue?
        let max: PythonValue?
        let valid: [PythonValue]

        /// pyvisa-sim's `validate_value`: nil where it raises ValueError.
        func validate(_ value: PythonValue) -> PythonValue? {
            guard let v = value.converted(to: type) else { return nil }
            if let min, v.less(than: min) ?? true { return nil }
            if let max, max.less(than: v) ?? true { return nil }
            if !valid.isEmpty && !valid.contains(where: { $0.same(as: v) }) { return nil }
            return v
        }
    }

    struct Property: Sendable {
        let name: String
        /// The default, validated (a text when the property has no specs).
        let defaultValue: PythonValue
        let specs: Specs?

        func validate(_ value: PythonValue) -> PythonValue? {
            guard let specs else { return value }
            return specs.validate(value)
        }
    }

    /// A `channels` group: its commands are the group's component, specialised per channel id.
    struct Channels: Sendable {
        let name: String
        let ids: [String]
        /// False: the device's `selected_channel` property picks the channel the commands
        /// address; true: each command names its channel through `{ch_id}`.
        let canSelect: Bool
        let component: Component
    }

    /// `error.status_register` entries: a query answering a register that errors set bits in.
    struct StatusRegister: Sendable {
        let query: String
        /// Error name (`command_error`, `query_error`) -> bits.
        let bits: [String: Int64]
    }

    /// `error.error_queue` entries.
    struct ErrorQueue: Sendable {
        let query: String
        /// The answer when the queue is empty.
        let empty: String
        /// Error name -> the entry it queues.
        let messages: [String: String]
    }

    struct Device: Sendable {
        let name: String
        /// `delimiter` (default ";"): splits a message into queries, each answered on its own.
        let delimiter: String
        /// "ASRL INSTR" -> (query, response) terminations.
        let eoms: [String: (query: String, response: String)]
        /// `error.response`: error name -> reply (absent: none).
        let errorReplies: [String: String]
        let statusRegisters: [StatusRegister]
        let errorQueues: [ErrorQueue]
        let component: Component
        let channels: [Channels]
    }

    /// The devices, by name.
    let devices: [String: Device]
    /// Resource name as written in `resources` -> device name, in file order.
    let resources: [(resource: String, device: String)]
    let source: String

    /// The device `resource` names, with the response
    /// termination of its interface type and class ("\n" when the file gives none, as
    /// pyvisa-sim does).
    func device(for resource: String) throws -> (device: Device, responseEOM: String) {
        let wanted = Self.canonical(resource)
        guard let entry = resources.first(where: { Self.canonical($0.resource) == wanted }) else {
            let known = resources.map { "SIM::\($0.resource)" }.joined(separator: ", ")
            throw DriverFailure.notFound(
                "no resource \"\(resource)\" in \(source); open one of its resources: \(known)")
        }
        guard let device = devices[entry.device] else {
            throw DriverFailure.notFound("\(source): resource \(entry.resource) names the device \"\(entry.device)\", which is not under `devices`")
        }
        let parts = entry.resource.split(separator: "::")
        let interface = String(parts.first?.prefix(while: \.isLetter) ?? "").uppercased()
        let resourceClass = String(parts.last ?? "").uppercased()
        let eom = device.eoms["\(interface) \(resourceClass)"]?.response ?? "\n"
        return (device, eom)
    }

    /// A resource name in one spelling, so that the names pyvisa lists match the file's keys as
    /// pyvisa matches them: any case, board 0 when none is written (`GPIB::8::INSTR` is
    /// `GPIB0::8::INSTR`), the default LAN device `inst0` of a TCPIP instrument and the default
    /// USB interface number 0.
    static func canonical(_ resource: String) -> [String] {
        var parts = resource.uppercased().split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard var first = parts.first, !first.isEmpty else { return parts }
        if first.allSatisfy(\.isLetter) { first += "0" }
        parts[0] = first
        let interface = first.prefix(while: \.isLetter)
        if interface == "TCPIP" && parts.count == 3 && parts[2] == "INSTR" { parts.insert("INST0", at: 2) }
        if interface == "USB" && parts.count == 5 && parts[4] == "INSTR" { parts.insert("0", at: 4) }
        return parts
    }
}
