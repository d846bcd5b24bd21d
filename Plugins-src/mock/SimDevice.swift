import Foundation

/// One simulated SCPI instrument, as described by a device-description file (see
/// ``SimDeviceParser`` for the format): its identity, dialogues and properties.
struct SimDevice: Sendable {
    /// The bytes a query answers.
    enum Reply: Sendable {
        /// A response message; the device's `eom` is appended.
        case message([UInt8])
        /// Exact bytes, nothing appended (to simulate truncated or malformed responses).
        case raw([UInt8])
    }

    /// A fixed query and its reply, or a command that answers nothing (`reply` nil).
    struct Dialogue: Sendable {
        let pattern: SCPIPattern
        let reply: Reply?
    }

    /// A property's type in the description file.
    enum PropertyType: String, Sendable {
        case float, int, string
    }

    /// The value of a property.
    enum PropertyValue: Sendable {
        case float(Double)
        case int(Int64)
        case string(String)

        /// The value as a getter answers it: floats with up to 6 significant digits and no
        /// trailing zeros ("5", "0.1234", "1e-07"), integers in decimal, strings as they are.
        var text: String {
            switch self {
            case .float(let v): String(format: "%.6g", v)
            case .int(let v): String(v)
            case .string(let s): s
            }
        }
    }

    /// A command that stores a fixed value in a property (`ROUTe:CLOSe {channels}` stores 1).
    struct Action: Sendable {
        /// The command; its parameter is nothing or `{channels}` (a channel list).
        let pattern: SCPIPattern
        let value: PropertyValue
    }

    /// A settable and/or readable value (`VOLTage {value}` / `VOLTage?`).
    ///
    /// A property holds one value, or one value per key: per value of a selector property
    /// (`selector`, e.g. the output `INSTrument:NSELect 2` selects), or per channel of the SCPI
    /// channel list a command carries (`perChannel`, e.g. `ROUTe:CLOSe (@101,102)`). A key never
    /// written reads as the property's base value: the default, or what an action without a
    /// channel list last stored on every channel.
    struct Property: Sendable {
        let type: PropertyType
        let defaultValue: PropertyValue
        /// Inclusive limits of a float or int property.
        let range: ClosedRange<Double>?
        /// Allowed values of a string property (canonical spelling); nil: any.
        let values: [String]?
        /// The queries that answer the value (`VOLTage?`, and e.g. `MEASure:VOLTage?`).
        let getters: [SCPIPattern]
        /// The header of the setter; the value follows it after whitespace.
        let setter: SCPIPattern?
        /// Commands that store a fixed value.
        let actions: [Action]
        /// The index of the property whose value selects which value commands address; nil:
        /// not selected.
        var selector: Int?
        /// Getters and actions carry a channel list and address one value per channel.
        let perChannel: Bool

        /// Parses the value text of a setter, as a real instrument would: a value of the wrong
        /// type or not among `values` is -224 "Illegal parameter value", a number outside
        /// `range` is -222 "Data out of range". String values may be quoted; allowed values
        /// match in any case and are stored in their canonical spelling.
        func parse(_ text: Substring) -> Result<PropertyValue, SCPIError> {
            Self.parse(text, type: type, range: range, values: values)
        }

        /// ``parse(_:)`` for a property being built (its default value is checked with it).
        static func parse(
            _ text: Substring, type: PropertyType, range: ClosedRange<Double>?, values: [String]?
        ) -> Result<PropertyValue, SCPIError> {
            switch type {
            case .float:
                guard let v = Double(text), v.isFinite else { return .failure(.illegalParameterValue) }
                if let range, !range.contains(v) { return .failure(.dataOutOfRange) }
                return .success(.float(v))
            case .int:
                let parsed = Int64(text) ?? Double(text).flatMap(Int64.init(exactly:))
                guard let v = parsed else { return .failure(.illegalParameterValue) }
                if let range, !range.contains(Double(v)) { return .failure(.dataOutOfRange) }
                return .success(.int(v))
            case .string:
                var value = text
                if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                    value = value.dropFirst().dropLast()
                }
                guard let values else { return .success(.string(String(value))) }
                let wanted = value.uppercased()
                guard let canonical = values.first(where: { $0.uppercased() == wanted }) else {
                    return .failure(.illegalParameterValue)
                }
                return .success(.string(canonical))
            }
        }
    }

    let name: String
    /// The answer to `*IDN?`.
    let identity: String
    /// Appended to every response message.
    let eom: [UInt8]
    let dialogues: [Dialogue]
    let properties: [Property]
}

/// An entry of a simulated instrument's error queue (`SYSTem:ERRor?`).
struct SCPIError: Error, Equatable {
    let code: Int32
    let message: String

    static let noError = SCPIError(code: 0, message: "No error")
    static let missingParameter = SCPIError(code: -109, message: "Missing parameter")
    static let undefinedHeader = SCPIError(code: -113, message: "Undefined header")
    static let dataOutOfRange = SCPIError(code: -222, message: "Data out of range")
    static let illegalParameterValue = SCPIError(code: -224, message: "Illegal parameter value")
    static let queueOverflow = SCPIError(code: -350, message: "Queue overflow")
    static let inputBufferOverrun = SCPIError(code: -363, message: "Input buffer overrun")
    static let queryInterrupted = SCPIError(code: -410, message: "Query INTERRUPTED")

    /// `-113,"Undefined header"`, as `SYSTem:ERRor?` answers it.
    var text: String { "\(code),\"\(message)\"" }

    /// The standard event status register bit this error sets (IEEE 488.2): command errors
    /// CME, execution errors EXE, device-specific errors DDE, query errors QYE.
    var eventStatusBit: UInt8 {
        switch code {
        case -199 ... -100: 0x20
        case -299 ... -200: 0x10
        case -399 ... -300: 0x08
        case -499 ... -400: 0x04
        default: 0
        }
    }
}
