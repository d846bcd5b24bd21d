import Foundation

/// The identity an instrument reports (`*IDN?`: manufacturer, model, serial, firmware).
public struct InstrumentIdentity: Sendable, Equatable, CustomStringConvertible {
    public var manufacturer: String?
    public var model: String?
    public var serial: String?
    public var firmware: String?

    public init(manufacturer: String? = nil, model: String? = nil, serial: String? = nil, firmware: String? = nil) {
        self.manufacturer = manufacturer
        self.model = model
        self.serial = serial
        self.firmware = firmware
    }

    /// Parses an `*IDN?` response: four comma-separated fields, trimmed; missing or empty
    /// fields are nil, extra fields are ignored.
    public init(idn response: String) {
        let fields = response.trimmingSCPIWhitespace().split(separator: ",", omittingEmptySubsequences: false).map {
            String($0).trimmingSCPIWhitespace()
        }
        func field(_ i: Int) -> String? { i < fields.count && !fields[i].isEmpty ? fields[i] : nil }
        self.init(manufacturer: field(0), model: field(1), serial: field(2), firmware: field(3))
    }

    public var description: String {
        [manufacturer, model, serial, firmware].map { $0 ?? "?" }.joined(separator: ", ")
    }
}

/// One entry of an instrument's error queue (`SYST:ERR?`): `-113,"Undefined header;detail"`.
public struct SCPIError: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    /// Text after a `;` inside the quoted message, if any.
    public var detail: String?

    public init(code: Int, message: String, detail: String? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
    }

    /// Parses one `SYST:ERR?` response. Returns nil when it is not of the `<code>,"<text>"` form.
    public init?(response: String) {
        let text = response.trimmingSCPIWhitespace()
        guard let comma = text.firstIndex(of: ","), let code = Int(text[..<comma].trimmingSCPIWhitespace()) else {
            return nil
        }
        var body = String(text[text.index(after: comma)...]).trimmingSCPIWhitespace()
        if body.count >= 2, body.first == "\"", body.last == "\"" {
            body = String(body.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        }
        if let semicolon = body.firstIndex(of: ";") {
            self.init(
                code: code, message: String(body[..<semicolon]), detail: String(body[body.index(after: semicolon)...]))
        } else {
            self.init(code: code, message: body)
        }
    }

    /// The IEEE 488.2 / SCPI class of the code.
    public var kind: String {
        switch code {
        case 0: "no error"
        case -199...(-100): "command error"
        case -299...(-200): "execution error"
        case -399...(-300): "device-specific error"
        case -499...(-400): "query error"
        case -599...(-500): "power-on event"
        case -799...(-600): "user request / operation complete"
        case 1...: "device-defined error"
        default: "error"
        }
    }

    public var description: String { "\(code), \"\(message)\(detail.map { ";\($0)" } ?? "")\" (\(kind))" }
}

/// The errors an instrument reported, thrown by ``Instrument/checkErrors(command:limit:)``.
public struct InstrumentErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [SCPIError]
    /// The instrument (driver and resource).
    public var context: String
    /// The queue still held errors after `limit` reads.
    public var truncated: Bool

    public var description: String {
        "\(context): the instrument reported \(errors.count) error\(errors.count == 1 ? "" : "s")\(truncated ? " (queue not drained)" : ""): "
            + errors.map(\.description).joined(separator: "; ")
    }
}

/// Helpers for SCPI responses.
public enum SCPIResponse {
    /// Splits a compound response (`*IDN?;*OPC?` answered as `A,B,C,D;1`) at `;` outside
    /// double-quoted strings.
    public static func split(_ response: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for ch in response {
            if ch == "\"" { quoted.toggle() }
            if ch == ";" && !quoted {
                parts.append(current.trimmingSCPIWhitespace())
                current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(current.trimmingSCPIWhitespace())
        return parts
    }

    /// Parses a comma-separated list of numbers (`1.5,2.5E-3,+9.9E37`).
    ///
    /// - Throws: ``DriverError`` with status `.protocolViolation` naming the field that is not
    ///   a number.
    public static func numbers(_ response: String) throws -> [Double] {
        let text = response.trimmingSCPIWhitespace()
        if text.isEmpty { return [] }
        return try text.split(separator: ",", omittingEmptySubsequences: false).enumerated().map { i, field in
            let trimmed = String(field).trimmingSCPIWhitespace()
            guard let value = Double(trimmed) else {
                throw DriverError(
                    .protocolViolation, "field \(i + 1) of the response is not a number: \"\(trimmed)\"",
                    context: "SCPI response")
            }
            return value
        }
    }
}

extension Instrument {
    /// Reads the instrument's identity: the driver's (or profile's) `identify` operation when
    /// it declares one (an instrument that does not speak IEEE 488.2 answers `*IDN?` with an
    /// error), else `*IDN?` on message-based sessions.
    public func identify() throws -> InstrumentIdentity {
        let declared = operations.contains(where: { $0.name == "identify" })
        if !declared && driver.isMessageBased && emulatedDriver == nil {
            return InstrumentIdentity(idn: try query("*IDN?"))
        }
        guard operations.contains(where: { $0.name == "identify" }) else {
            throw DriverError(
                .unsupported, "driver '\(driver.id)' is not message-based and has no 'identify' operation",
                context: context)
        }
        guard case .string(let text) = try call("identify") else {
            throw DriverError(.protocolViolation, "'identify' did not return a string", context: context)
        }
        return InstrumentIdentity(idn: text)
    }

    /// Sends `command` and parses a single number.
    public func queryNumber(_ command: String) throws -> Double {
        let values = try queryNumbers(command)
        guard values.count == 1 else {
            throw DriverError(
                .protocolViolation, "expected one number in reply to \(command), got \(values.count)", context: context)
        }
        return values[0]
    }

    /// Sends `command` and parses a comma-separated list of numbers.
    public func queryNumbers(_ command: String) throws -> [Double] {
        let reply = try query(command)
        do {
            return try SCPIResponse.numbers(reply)
        } catch var error as DriverError {
            error.context = "\(context) \(command)"
            throw error
        }
    }

    /// Reads the error queue until it is empty (`0,"No error"`) or `limit` entries were read.
    public func drainErrors(command: String = "SYST:ERR?", limit: Int = 32) throws -> (errors: [SCPIError], truncated: Bool) {
        var errors: [SCPIError] = []
        for _ in 0..<max(1, limit) {
            let reply = try query(command)
            guard let entry = SCPIError(response: reply) else {
                throw DriverError(
                    .protocolViolation, "\(command) answered \"\(reply)\", not <code>,\"<message>\"", context: context)
            }
            if entry.code == 0 { return (errors, false) }
            errors.append(entry)
        }
        return (errors, true)
    }

    /// Drains the error queue and throws ``InstrumentErrors`` if it held anything. Call it
    /// after a batch of configuration commands.
    public func checkErrors(command: String = "SYST:ERR?", limit: Int = 32) throws {
        let (errors, truncated) = try drainErrors(command: command, limit: limit)
        if !errors.isEmpty || truncated {
            throw InstrumentErrors(errors: errors, context: context, truncated: truncated)
        }
    }
}

extension StringProtocol {
    /// Trims spaces, tabs, CR and LF (what instruments pad responses with).
    func trimmingSCPIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
