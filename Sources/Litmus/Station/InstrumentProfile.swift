import Foundation
import Yams

/// Typed operations for any message-based instrument, written as data: each operation maps a
/// name to an SCPI command template and a reply parser. One profile works unchanged over every
/// transport that reads and writes text (LAN, USBTMC, serial, the simulator).
///
/// ```yaml
/// # profiles/generic_scpi_psu.yaml
/// id: generic_scpi_psu            # optional; must equal the file name's stem if written
/// name: Generic SCPI power supply
/// instrument_types: [psu]
/// identity: {manufacturer: "Keysight*", model: "E36*"}   # optional globs, for `station check`
/// channels: ["1", "2"]            # or a range: "1:2", "CH[1:4]"; the values of channel parameters
/// init: ["*CLS"]                  # optional: written after open (``initialize(_:)``)
/// error_query: "SYST:ERR?"        # optional: drained after each write operation
/// operations:
///   set_voltage:
///     write: "INST:NSEL {channel};:VOLT {voltage}"
///     params:                     # in call order
///       voltage: {type: f64, unit: V, min: 0, max: 30}
///       channel: {type: string, channel: true, default: "1"}
///   measure_voltage:
///     query: "INST:NSEL {channel};:MEAS:VOLT?"
///     params: {channel: {type: string, channel: true, default: "1"}}
///     returns: f64
///     unit: V
///   set_mode:
///     write: "FUNC {mode}"
///     params: {mode: {type: string, choices: {CC: CURR, CV: VOLT}}}   # or a list: [CURR, VOLT]
///   capture: {query_block: "CURV?", returns: bytes}      # IEEE 488.2 binary block
///   read_array: {query: "FETC:ARR?", returns: "f64[]"}   # comma-separated numbers
///   output_enabled: {query: "OUTP?", returns: bool}      # 1/0/ON/OFF
/// ```
///
/// Keys of an operation: exactly one of `write`, `query`, `query_block` (the command
/// template), `params`, `returns` (`f64`, `i64`, `bool`, `string`, `f64[]` for `query`;
/// `bytes` for `query_block`, its default; nothing for `write`), `unit` (numbers only) and
/// `help`. Keys of a parameter: `type` (`f64`, `i64`, `bool` or `string`), `unit`, `min`,
/// `max`, `choices`, `channel`, `default` (makes the parameter optional) and `help`.
///
/// Every `{placeholder}` of a template names a parameter and every parameter appears in the
/// template; `{{` and `}}` are literal braces. A template of a `write` sends no query; that of
/// a `query` or `query_block` sends exactly one, as its last command.
///
/// An instrument that speaks a plain line protocol instead of SCPI is described with
/// `protocol: line` (no `?` rules), `termination`, `acknowledge` (the reply each write reads
/// back), `error_reply` (a reply that fails the call with the instrument's text) and, per
/// operation, `reply` (a ``ReplyPattern`` whose typed capture is the result):
///
/// ```yaml
/// protocol: line
/// termination: "\r"
/// acknowledge: "OK"
/// error_reply: "E{code:integer} {message:string}"
/// operations:
///   measure_voltage:
///     query: "VOUT{channel}"
///     reply: "V{channel}={value:number V}"
///     params: {channel: {type: string, channel: true, default: "1"}}
///     returns: f64
/// ```
///
/// `classes: [dc_power_supply]` promises the operations of an ``InstrumentClass``; the profile
/// is checked against each class when it is read.
public struct InstrumentProfile: Sendable, Equatable {
    /// Glob patterns (`*` any run, `?` one character, case-insensitive) the instrument's
    /// `*IDN?` must match; a field left nil matches anything.
    public struct IdentityPattern: Sendable, Equatable {
        public var manufacturer: String?
        public var model: String?

        public init(manufacturer: String? = nil, model: String? = nil) {
            self.manufacturer = manufacturer
            self.model = model
        }

        /// Whether `identity` matches every pattern given. A pattern given for a field the
        /// identity lacks does not match.
        public func matches(_ identity: InstrumentIdentity) -> Bool {
            func check(_ pattern: String?, _ value: String?) -> Bool {
                guard let pattern else { return true }
                guard let value else { return false }
                return ProfileGlob.matches(pattern, value.trimmingSCPIWhitespace())
            }
            return check(manufacturer, identity.manufacturer) && check(model, identity.model)
        }
    }

    /// The profile's name: the file name without `.yaml`.
    public var id: String
    /// A display name.
    public var name: String?
    /// What the profile targets.
    public var description: String?
    /// The instrument types it serves (`dmm`, `psu`...).
    public var instrumentTypes: [String]
    /// What `*IDN?` should answer; nil: any instrument.
    public var identity: IdentityPattern?
    /// The valid values of channel parameters, in order; empty when the instrument has none.
    public var channels: [String]
    /// Commands written after open, in order (``initialize(_:)``).
    public var initCommands: [String]
    /// The error-queue query drained after each write operation; nil: none.
    public var errorQuery: String?
    /// The operations, in file order.
    public var operations: [ProfileOperation]
    /// How commands and replies are checked: SCPI (the default) or a plain line protocol.
    public var dialect: Dialect
    /// The instrument classes the profile promises to implement (canonical ids, e.g.
    /// `dc_power_supply`); checked when the profile is read (``InstrumentClass``).
    public var classes: [String]
    /// Bytes that end a reply, unless the station's role sets `read_termination`.
    public var readTermination: String?
    /// Bytes appended to each command, unless the role sets `write_termination`.
    public var writeTermination: String?
    /// The reply every `write` reads back (e.g. `OK`); nil: writes read nothing.
    public var acknowledge: ReplyPattern?
    /// A reply that reports an error (e.g. `E{code:integer} {message:string}`): any reply that
    /// matches fails the call with the instrument's text.
    public var errorReply: ReplyPattern?

    /// The command language of a profile.
    public enum Dialect: String, Sendable, Equatable, CaseIterable {
        /// SCPI: a query's header ends in `?`, a write's does not.
        case scpi
        /// A line protocol: one command per line, any text; which commands read a reply is
        /// what the profile says (`query`, or a `write` with an `acknowledge` or `reply`).
        case line
    }

    public init(
        id: String, name: String? = nil, description: String? = nil, instrumentTypes: [String] = [],
        identity: IdentityPattern? = nil, channels: [String] = [], initCommands: [String] = [],
        errorQuery: String? = nil, operations: [ProfileOperation] = [], dialect: Dialect = .scpi, classes: [String] = [],
        readTermination: String? = nil, writeTermination: String? = nil, acknowledge: ReplyPattern? = nil,
        errorReply: ReplyPattern? = nil
    ) {
        self.dialect = dialect
        self.classes = classes
        self.readTermination = readTermination
        self.writeTermination = writeTermination
        self.acknowledge = acknowledge
        self.errorReply = errorReply
        self.id = id
        self.name = name
        self.description = description
        self.instrumentTypes = instrumentTypes
        self.identity = identity
        self.channels = channels
        self.initCommands = initCommands
        self.errorQuery = errorQuery
        self.operations = operations
    }

    /// The operation called `name`.
    public func operation(named name: String) -> ProfileOperation? { operations.first { $0.name == name } }

    /// Whether an instrument with this identity is one the profile targets (true when the
    /// profile names no identity).
    public func matches(identity: InstrumentIdentity) -> Bool { self.identity?.matches(identity) ?? true }

    /// The operations as a driver would declare them, indexed in file order.
    public var operationInfos: [OperationInfo] { operations.enumerated().map { $1.info(index: $0) } }

    /// Writes the `init` commands, then drains the error queue when there is an `error_query`.
    public func initialize(_ instrument: Instrument) throws {
        for command in initCommands {
            try instrument.write(command)
            if let acknowledge {
                try conventions.readAcknowledgement(acknowledge, from: instrument, after: command, operation: "init", sent: [:])
            }
        }
        if let errorQuery, !initCommands.isEmpty {
            try ProfileOperation.checkErrors(
                instrument, query: errorQuery, after: initCommands.joined(separator: "; "), operation: "init")
        }
    }

    /// Runs operation `name` with positional arguments, checking errors with the profile's
    /// `error_query`.
    @discardableResult
    public func call(_ name: String, on instrument: Instrument, arguments: [InstrumentValue] = []) throws -> InstrumentValue {
        guard let op = operation(named: name) else {
            let names = operations.map(\.name)
            let hint = Suggest.closest(to: name, in: names).map { " Did you mean '\($0)'?" } ?? ""
            throw DriverError(
                .notFound, "'\(name)' is not an operation of profile '\(id)'.\(hint) Operations: \(names.joined(separator: ", "))",
                context: instrument.context)
        }
        return try op.run(on: instrument, arguments: arguments, conventions: conventions)
    }

    /// What every operation of the profile shares: its error query, acknowledgement and error
    /// replies.
    public var conventions: ProfileOperation.Conventions {
        .init(errorQuery: errorQuery, acknowledge: acknowledge, errorReply: errorReply)
    }

    /// The open options the profile implies (`read_termination`, `write_termination`), for a
    /// role that does not set them itself.
    public var openOptions: [String: InstrumentValue] {
        var options: [String: InstrumentValue] = [:]
        if let readTermination { options["read_termination"] = .string(readTermination) }
        if let writeTermination { options["write_termination"] = .string(writeTermination) }
        return options
    }
}

/// One operation of an ``InstrumentProfile``: a command template, its typed parameters and
/// how the reply is parsed.
public struct ProfileOperation: Sendable, Equatable {
    /// What the operation sends, with `{placeholders}` for its parameters.
    public enum Action: Sendable, Equatable {
        /// A command; nothing is read back.
        case write(String)
        /// A query whose text reply is parsed as the operation's result type.
        case query(String)
        /// A query answered with an IEEE 488.2 binary block, returned as bytes.
        case queryBlock(String)

        /// The command template.
        public var template: String {
            switch self {
            case .write(let t), .query(let t), .queryBlock(let t): t
            }
        }

        /// The YAML key: `write`, `query` or `query_block`.
        public var key: String {
            switch self {
            case .write: "write"
            case .query: "query"
            case .queryBlock: "query_block"
            }
        }
    }

    /// An identifier: `[a-z_][a-z0-9_]*`.
    public var name: String
    public var action: Action
    /// In call order.
    public var params: [ProfileParameter]
    /// `.void` for writes.
    public var result: ValueType
    /// The unit of a numeric result.
    public var unit: String?
    public var help: String?
    /// The profile's channels: the choices of a channel parameter.
    public var channels: [String]
    /// The shape of the reply (`reply:`): a query's typed result, or what a write reads back
    /// instead of the profile's `acknowledge`; nil: a query's reply is parsed as its result
    /// type, a write reads the acknowledgement if there is one.
    public var reply: ReplyPattern?

    /// What the operations of one profile share.
    public struct Conventions: Sendable, Equatable {
        /// The SCPI error-queue query drained after each write.
        public var errorQuery: String?
        /// The reply each write reads back.
        public var acknowledge: ReplyPattern?
        /// A reply that reports an error.
        public var errorReply: ReplyPattern?

        public init(errorQuery: String? = nil, acknowledge: ReplyPattern? = nil, errorReply: ReplyPattern? = nil) {
            self.errorQuery = errorQuery
            self.acknowledge = acknowledge
            self.errorReply = errorReply
        }

        /// Fails with the instrument's text when `text` is an error reply.
        func checkError(_ text: String, command: String, operation: String, context: String) throws {
            guard let errorReply, case .success(let captures) = errorReply.match(text) else { return }
            var code: Int32 = 0
            if case .i64(let c)? = captures["code"] { code = Int32(clamping: c) }
            throw DriverError(
                .instrument,
                "'\(operation)': the instrument answered \"\(ProfileText.shown(text.trimmingSCPIWhitespace()))\" to \"\(ProfileText.shown(command))\"",
                vendorCode: code, context: context)
        }

        /// Reads the reply a write gets back and checks it against `pattern` (after the error
        /// reply).
        func readAcknowledgement(
            _ pattern: ReplyPattern, from instrument: Instrument, after command: String, operation: String,
            sent: [String: String]
        ) throws {
            let context = "\(instrument.context) \(operation)"
            let text = String(decoding: try instrument.readMessage(), as: UTF8.self)
            try checkError(text, command: command, operation: operation, context: context)
            if case .failure(let mismatch) = pattern.match(text, sent: sent) {
                throw DriverError(
                    .protocolViolation,
                    "'\(operation)': the reply \"\(ProfileText.shown(text.trimmingSCPIWhitespace()))\" to \"\(ProfileText.shown(command))\" "
                        + "does not match \"\(pattern.text)\": \(mismatch)",
                    context: context)
            }
        }
    }

    public init(
        name: String, action: Action, params: [ProfileParameter] = [], result: ValueType = .void, unit: String? = nil,
        help: String? = nil, channels: [String] = [], reply: ReplyPattern? = nil
    ) {
        self.reply = reply
        self.name = name
        self.action = action
        self.params = params
        self.result = result
        self.unit = unit
        self.help = help
        self.channels = channels
    }

    /// The parameters as a driver declares them: type, unit, range and choices; a channel
    /// parameter has the profile's channels as choices; one with a default is optional.
    public var parameterInfos: [ParameterInfo] {
        params.map { p in
            var range: ClosedRange<Double>?
            if p.min != nil || p.max != nil { range = (p.min ?? -.infinity)...(p.max ?? .infinity) }
            return ParameterInfo(
                name: p.name, type: p.type, unit: p.unit, help: p.help, isOptional: p.defaultValue != nil,
                isChannel: p.isChannel, range: range, choices: p.isChannel ? channels : p.choices?.map(\.value),
                defaultValue: p.defaultValue)
        }
    }

    /// The operation as a driver would declare it at `index`: queries read, writes write.
    public func info(index: Int) -> OperationInfo {
        let flags: OperationInfo.Flags
        switch action {
        case .write: flags = .writes
        case .query, .queryBlock: flags = .reads
        }
        return OperationInfo(
            name: name, index: index, params: parameterInfos, result: result, resultUnit: unit, flags: flags, help: help)
    }

    // MARK: - Rendering

    /// The command to send for `arguments` (positional; missing trailing ones and `.void` take
    /// the parameter's default). Each argument is checked against its parameter (type, range,
    /// choices) and formatted: an f64 in its shortest exact form (`5`, `0.1`, `2.5e-07`), an
    /// i64 in decimal, a bool as `1` or `0`, a string verbatim, a choice as the SCPI text it
    /// maps to.
    ///
    /// - Throws: ``DriverError`` with status `.invalidArgument`.
    public func render(_ arguments: [InstrumentValue]) throws -> String {
        try render(arguments, context: "")
    }

    func render(_ arguments: [InstrumentValue], context: String) throws -> String {
        try renderSent(arguments, context: context).command
    }

    /// The command and the text sent for each parameter.
    func renderSent(_ arguments: [InstrumentValue], context: String) throws -> (command: String, sent: [String: String]) {
        guard arguments.count <= params.count else {
            throw DriverError(
                .invalidArgument,
                "'\(name)' takes \(params.count) argument\(params.count == 1 ? "" : "s"), got \(arguments.count)",
                context: context)
        }
        let infos = parameterInfos
        var texts: [String: String] = [:]
        for (i, param) in params.enumerated() {
            var argument = i < arguments.count ? arguments[i] : .void
            if argument == .void {
                guard let fallback = param.defaultValue else {
                    throw DriverError(
                        .invalidArgument, "'\(name)' needs an argument for '\(param.name)' (\(infos[i].signature))",
                        context: context)
                }
                argument = fallback
            }
            let checked = try ArgumentChecker.check(argument, against: infos[i], what: "'\(name)' argument", context: context)
            texts[param.name] = try format(checked, param, context: context)
        }
        guard case .success(let parts) = ProfileTemplate.parts(action.template) else {
            throw DriverError(.invalidArgument, "'\(name)' has an invalid template \"\(action.template)\"", context: context)
        }
        var command = ""
        for part in parts {
            switch part {
            case .text(let t): command += t
            case .placeholder(let p):
                guard let text = texts[p] else {
                    throw DriverError(.invalidArgument, "'\(name)': the template names {\(p)}, which is not a parameter", context: context)
                }
                command += text
            }
        }
        return (command, texts)
    }

    private func format(_ value: InstrumentValue, _ param: ProfileParameter, context: String) throws -> String {
        switch value {
        case .f64(let v):
            guard v.isFinite else {
                throw DriverError(.invalidArgument, "'\(name)' argument '\(param.name)' must be finite, got \(v)", context: context)
            }
            return RangeExpander.format(v == 0 ? 0 : v)  // never "-0"
        case .i64(let v): return String(v)
        case .bool(let v): return v ? "1" : "0"
        case .string(let s):
            guard !s.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
                throw DriverError(
                    .invalidArgument, "'\(name)' argument '\(param.name)' must not contain a line break (it would end the message)",
                    context: context)
            }
            if let choice = param.choices?.first(where: { $0.value == s }) { return choice.scpi }
            return s
        default:
            throw DriverError(
                .invalidArgument, "'\(name)' argument '\(param.name)' must be \(param.type), got \(value.type)", context: context)
        }
    }

    // MARK: - Reply parsing

    /// Parses a reply as the result type.
    ///
    /// - f64: an SCPI number (`5`, `+5.0012E+00`, `-.5`), whitespace trimmed. The SCPI
    ///   overload codes are mapped deliberately, for the harness to judge later: `9.9E37` is
    ///   +infinity, `-9.9E37` -infinity, `9.91E37` (either sign) NaN ("not a number", e.g. no
    ///   reading). A unit suffix (`5.0V`) is an error.
    /// - i64: an integer with an optional sign; `5.0` is an error.
    /// - bool: `1`, `0`, `ON`, `OFF`, in any case.
    /// - string: whitespace trimmed; one pair of surrounding double quotes removed, and the
    ///   doubled quotes inside them (`""`, IEEE 488.2 string data) read as one.
    /// - f64[]: comma-separated numbers, each as an f64; an empty reply is an empty array.
    /// - bytes: the reply as it is (a `query_block` payload).
    ///
    /// - Throws: ``DriverError`` with status `.protocolViolation` quoting the reply.
    public func parse(_ reply: [UInt8]) throws -> InstrumentValue {
        try parse(reply, command: nil, context: "")
    }

    func parse(_ reply: [UInt8], command: String?, context: String) throws -> InstrumentValue {
        if result == .bytes { return .bytes(reply) }
        let text = String(decoding: reply, as: UTF8.self).trimmingSCPIWhitespace()
        func failure(_ what: String, _ detail: String = "") -> DriverError {
            let sent = command.map { " to \"\(ProfileText.shown($0))\"" } ?? ""
            return DriverError(
                .protocolViolation, "'\(name)': the reply \"\(ProfileText.shown(text))\"\(sent) is not \(what)\(detail)",
                context: context)
        }
        switch result {
        case .f64:
            guard let v = ProfileNumber.parseReal(text) else {
                throw failure("a number (f64)", ProfileNumber.hasUnitSuffix(text) ? "; a unit suffix is not accepted" : "")
            }
            return .f64(v)
        case .i64:
            guard let v = ProfileNumber.parseInteger(text) else { throw failure("an integer (i64)") }
            return .i64(v)
        case .bool:
            switch text.uppercased() {
            case "1", "ON": return .bool(true)
            case "0", "OFF": return .bool(false)
            default: throw failure("a boolean (1, 0, ON or OFF)")
            }
        case .string:
            var s = Substring(text)
            if s.count >= 2, s.first == "\"", s.last == "\"" {
                s = s.dropFirst().dropLast()
                return .string(s.replacingOccurrences(of: "\"\"", with: "\""))
            }
            return .string(String(s))
        case .f64Array:
            if text.isEmpty { return .f64Array([]) }
            var values: [Double] = []
            for (i, field) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                let trimmed = field.trimmingSCPIWhitespace()
                guard let v = ProfileNumber.parseReal(trimmed) else {
                    throw failure("a list of numbers (f64[])", ": field \(i + 1) is \"\(ProfileText.shown(trimmed))\"")
                }
                values.append(v)
            }
            return .f64Array(values)
        case .void, .bytes:
            return .void
        }
    }

    // MARK: - Running

    /// Renders the command, sends it and returns the parsed result.
    ///
    /// A `write` returns `.void`; when `errorQuery` is given, the error queue is then drained
    /// and any entry fails the call (status `.instrument`, vendor code the first error's
    /// code). A `query` reads one reply message and parses it (``parse(_:)``); a `query_block`
    /// reads an IEEE 488.2 binary block and returns its payload.
    ///
    /// A write and its error query are separate instrument calls: callers that share one
    /// instrument between threads serialise whole operations themselves.
    ///
    /// - Throws: ``DriverError``: `.invalidArgument` for arguments the parameters refuse (before
    ///   anything is sent), `.protocolViolation` for a reply that does not parse (quoting it and
    ///   the command), `.instrument` for entries of the error queue, or the transport's error.
    public func run(on instrument: Instrument, arguments: [InstrumentValue], errorQuery: String?) throws -> InstrumentValue {
        try run(on: instrument, arguments: arguments, conventions: Conventions(errorQuery: errorQuery))
    }

    /// Renders the command, sends it and returns the parsed result, with the profile's
    /// conventions: a write reads back its `reply` or the profile's `acknowledge` when there is
    /// one, then drains the `error_query`; every reply read is first compared with the
    /// `error_reply` (a match fails the call, status `.instrument`, quoting the instrument's
    /// text, vendor code its `{code}`); a query's reply is read by its `reply` pattern when it
    /// has one (the typed capture is the result), else parsed as its result type.
    ///
    /// - Throws: ``DriverError`` as ``run(on:arguments:errorQuery:)``, and `.protocolViolation`
    ///   for a reply that does not match its pattern (saying where).
    public func run(on instrument: Instrument, arguments: [InstrumentValue], conventions: Conventions) throws -> InstrumentValue {
        let context = "\(instrument.context) \(name)"
        let (command, sent) = try renderSent(arguments, context: context)
        switch action {
        case .write:
            try instrument.write(command)
            if let pattern = reply ?? conventions.acknowledge {
                try conventions.readAcknowledgement(pattern, from: instrument, after: command, operation: name, sent: sent)
            }
            if let errorQuery = conventions.errorQuery {
                try Self.checkErrors(instrument, query: errorQuery, after: command, operation: name)
            }
            return .void
        case .query:
            let bytes = try instrument.queryMessage(command)
            guard conventions.errorReply != nil || reply != nil else { return try parse(bytes, command: command, context: context) }
            let text = String(decoding: bytes, as: UTF8.self)
            try conventions.checkError(text, command: command, operation: name, context: context)
            guard let reply else { return try parse(bytes, command: command, context: context) }
            switch reply.match(text, sent: sent) {
            case .failure(let mismatch):
                throw DriverError(
                    .protocolViolation,
                    "'\(name)': the reply \"\(ProfileText.shown(text.trimmingSCPIWhitespace()))\" to \"\(ProfileText.shown(command))\" "
                        + "does not match \"\(reply.text)\": \(mismatch)",
                    context: context)
            case .success(let captures):
                guard let capture = Self.resultCapture(of: reply), let value = captures[capture] else { return .void }
                switch (result, value) {
                case (.f64, .i64(let v)): return .f64(Double(v))
                default: return value
                }
            }
        case .queryBlock:
            return .bytes(try instrument.queryBinaryBlock(command))
        }
    }

    /// The capture of a reply pattern that is the operation's result: the only typed one, or
    /// the one named `value`.
    static func resultCapture(of pattern: ReplyPattern) -> String? {
        let captures = pattern.captures
        if captures.count == 1 { return captures[0].name }
        return captures.first { $0.name == "value" }?.name
    }

    /// Drains the error queue; throws when it held anything.
    static func checkErrors(_ instrument: Instrument, query: String, after command: String, operation: String) throws {
        let (errors, truncated) = try instrument.drainErrors(command: query, limit: 32)
        guard !errors.isEmpty || truncated else { return }
        throw DriverError(
            .instrument,
            "'\(operation)': the instrument reported \(errors.map(\.description).joined(separator: "; "))"
                + "\(truncated ? " (queue not drained)" : "") after \"\(ProfileText.shown(command))\"",
            vendorCode: Int32(clamping: errors.first?.code ?? 0), context: "\(instrument.context) \(operation)")
    }
}

/// One typed parameter of a ``ProfileOperation``.
public struct ProfileParameter: Sendable, Equatable {
    /// An allowed value of a string parameter and the text sent for it (the same unless the
    /// profile maps it, e.g. `CC` sends `CURR`).
    public struct Choice: Sendable, Equatable {
        /// What callers pass.
        public var value: String
        /// What the command carries.
        public var scpi: String

        public init(_ value: String, scpi: String? = nil) {
            self.value = value
            self.scpi = scpi ?? value
        }
    }

    /// An identifier: `[a-z_][a-z0-9_]*`; the template's `{name}`.
    public var name: String
    /// f64, i64, bool or string.
    public var type: ValueType
    public var unit: String?
    public var help: String?
    public var min: Double?
    public var max: Double?
    /// The allowed values of a string parameter; nil: any.
    public var choices: [Choice]?
    /// The value is one of the profile's `channels`.
    public var isChannel: Bool
    /// Used when the argument is omitted; a parameter with a default is optional.
    public var defaultValue: InstrumentValue?

    public init(
        name: String, type: ValueType, unit: String? = nil, help: String? = nil, min: Double? = nil, max: Double? = nil,
        choices: [Choice]? = nil, isChannel: Bool = false, defaultValue: InstrumentValue? = nil
    ) {
        self.name = name
        self.type = type
        self.unit = unit
        self.help = help
        self.min = min
        self.max = max
        self.choices = choices
        self.isChannel = isChannel
        self.defaultValue = defaultValue
    }
}

// MARK: - Loading

extension InstrumentProfile {
    static let keys = [
        "id", "name", "description", "instrument_types", "classes", "protocol", "termination", "identity", "channels",
        "init", "error_query", "acknowledge", "error_reply", "operations",
    ]
    static let operationKeys = ["write", "query", "query_block", "params", "returns", "unit", "reply", "help"]
    static let parameterKeys = ["type", "unit", "min", "max", "choices", "channel", "default", "help"]

    /// Instrument types and their aliases (design §4.5); others are warned about, not refused.
    static let knownTypes = [
        "dmm", "oscilloscope", "function_generator", "psu", "ac_power_supply", "switch", "power_meter",
        "spectrum_analyzer", "rf_signal_generator", "upconverter", "downconverter", "digitizer", "counter", "smu",
        "electronic_load", "daq", "lcr_meter", "vna", "temperature_controller", "electrometer", "lock_in_amplifier",
        "current_source", "pulse_generator", "gaussmeter", "eload", "scope", "fgen", "chamber", "digital_multimeter",
        "power_supply", "dc_power_supply", "rf_siggen", "signal_generator", "picoammeter", "optical_power_meter",
    ]

    /// Reads the profile file at `path`; its id is the file name without the extension. Every
    /// problem is recorded in `reader`; nil when there were errors. `reference` is where another
    /// file named it (an unreadable file is reported there).
    public static func load(path: String, reader: ConfigReader, from reference: ConfigLocation? = nil) -> InstrumentProfile? {
        guard let node = reader.collect({ try reader.load(path, from: reference) }) else { return nil }
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return parse(node, id: stem, reader: reader)
    }

    /// Reads a profile from a parsed file. Independent problems are all recorded in `reader`
    /// (located: file, line, column, key path); nil when there were errors.
    public static func parse(_ node: ConfigNode, id: String, reader: ConfigReader) -> InstrumentProfile? {
        let before = reader.report.errors.count
        guard let top = reader.collect({ try node.mapping("an instrument profile (a mapping with `operations`)", allowed: keys) })
        else { return nil }
        var profile = InstrumentProfile(id: id)

        reader.collect { _ = try top.checkID(id, what: "profile") }
        if let n = top["name"] { profile.name = reader.collect { try n.string("a display name") } }
        if let n = top["description"] { profile.description = reader.collect { try n.string("a description") } }
        if let n = top["instrument_types"] {
            profile.instrumentTypes = reader.collect {
                try n.listOrSingle().map { (item) throws(ConfigError) -> String in
                    let type = try item.string("an instrument type such as dmm or psu")
                    if !knownTypes.contains(type) {
                        let hint = Suggest.closest(to: type, in: knownTypes).map { "did you mean \"\($0)\"? " } ?? ""
                        reader.warn(item.warning("unknown instrument type \"\(type)\"", fix: "\(hint)Known types: \(knownTypes.joined(separator: ", "))"))
                    }
                    return type
                }
            } ?? []
        }
        if let n = top["protocol"] {
            reader.collect { () throws -> Void in
                let text = try n.string("scpi or line")
                guard let dialect = Dialect(rawValue: text) else {
                    throw n.error("unknown protocol \"\(text)\"", fix: "write `protocol: scpi` (the default) or `protocol: line` for a plain line protocol")
                }
                profile.dialect = dialect
            }
        }
        let line = profile.dialect == .line
        if let n = top["termination"] {
            reader.collect { () throws -> Void in
                if n.isMapping {
                    let m = try n.mapping("{read: \"\\r\", write: \"\\r\"}", allowed: ["read", "write"])
                    profile.readTermination = try m["read"]?.text("the bytes that end a reply, e.g. \"\\r\"")
                    profile.writeTermination = try m["write"]?.text("the bytes appended to a command, e.g. \"\\r\"")
                } else {
                    let both = try n.text("the bytes that end commands and replies, e.g. \"\\r\\n\", or {read: ..., write: ...}")
                    profile.readTermination = both
                    profile.writeTermination = both
                }
                for t in [profile.readTermination, profile.writeTermination].compactMap({ $0 }) where t.isEmpty {
                    throw n.error("an empty termination", fix: "write the bytes, e.g. \"\\n\", or leave `termination` out")
                }
            }
        }
        if let n = top["acknowledge"] {
            profile.acknowledge = reader.collect { () throws -> ReplyPattern in
                let pattern = try parsePattern(n, what: "the reply every write reads back, e.g. \"OK\"")
                if let echo = pattern.echoes.first {
                    throw n.error("{\(echo)} names a parameter, but `acknowledge` is shared by every write", fix: "give the operation its own `reply:` to echo a parameter")
                }
                return pattern
            }
        }
        if let n = top["error_reply"] {
            profile.errorReply = reader.collect { () throws -> ReplyPattern in
                let pattern = try parsePattern(n, what: "the shape of an error reply, e.g. \"E{code:integer} {message:string}\"")
                if let echo = pattern.echoes.first {
                    throw n.error("{\(echo)} names a parameter, but `error_reply` is shared by every operation", fix: "capture it instead, e.g. {\(echo):string}")
                }
                for capture in pattern.captures where capture.name == "code" && capture.type != .integer {
                    throw n.error("the capture {code} is the instrument's error number", fix: "write {code:integer}")
                }
                return pattern
            }
        }
        if let n = top["identity"] { profile.identity = reader.collect { try parseIdentity(n) } }
        var channelsKnown = true
        if let n = top["channels"] {
            if let channels = reader.collect({ try parseChannels(n) }) {
                profile.channels = channels
            } else {
                channelsKnown = false
            }
        }
        if let n = top["init"] {
            profile.initCommands = reader.collect {
                try n.listOrSingle().map { (item) throws(ConfigError) -> String in
                    let command = try item.string("an SCPI command")
                    if !line, ProfileTemplate.commands(command).contains(where: ProfileTemplate.isQuery) {
                        throw item.error(
                            "\"\(command)\" is a query; init commands are written and nothing reads a reply",
                            fix: "leave queries out of `init`")
                    }
                    return command
                }
            } ?? []
        }
        if let n = top["error_query"] {
            profile.errorQuery = reader.collect {
                let query = try n.string("an error-queue query such as \"SYST:ERR?\"")
                if line {
                    throw n.error(
                        "`error_query` drains an SCPI error queue, and this profile speaks a line protocol",
                        fix: "describe the instrument's error replies with `error_reply`, e.g. \"E{code:integer} {message:string}\"")
                }
                let commands = ProfileTemplate.commands(query)
                guard commands.count == 1, ProfileTemplate.isQuery(commands[0]) else {
                    throw n.error("expected one query ending in '?', found \(n.found)", fix: "write e.g. `error_query: \"SYST:ERR?\"`")
                }
                return query
            }
        }

        if let entries = reader.collect({ () throws -> [(key: String, keyNode: ConfigNode, value: ConfigNode)] in
            let node = try top.required("operations", "the profile's operations", example: "{measure_voltage: {query: \"MEAS:VOLT?\", returns: f64}}")
            let entries = try node.entries("operations (a mapping of operation names to {write: ...} or {query: ...})")
            guard !entries.isEmpty else {
                throw node.error("a profile needs at least one operation", fix: "add e.g. `measure_voltage: {query: \"MEAS:VOLT?\", returns: f64}`")
            }
            return entries
        }) {
            for entry in entries {
                if let op = parseOperation(
                    name: entry.key, keyNode: entry.keyNode, node: entry.value,
                    channels: channelsKnown ? profile.channels : nil, dialect: profile.dialect, reader: reader)
                {
                    profile.operations.append(op)
                }
            }
            if let n = top["classes"], reader.report.errors.count == before {
                profile.classes = checkClasses(n, profile: profile, operations: entries, reader: reader)
            }
        }

        return reader.report.errors.count > before ? nil : profile
    }

    /// The classes the profile declares (canonical ids), each checked against the profile's
    /// operations; every problem is recorded where it lies: at the operation or parameter, or at
    /// the class's entry for a missing operation.
    private static func checkClasses(
        _ node: ConfigNode, profile: InstrumentProfile, operations: [(key: String, keyNode: ConfigNode, value: ConfigNode)],
        reader: ConfigReader
    ) -> [String] {
        guard let items = reader.collect({ try node.listOrSingle() }) else { return [] }
        var ids: [String] = []
        let infos = profile.operationInfos
        for item in items {
            guard let name = reader.collect({ try item.string("an instrument class such as dc_power_supply") }) else { continue }
            guard let cls = InstrumentClass.named(name) else {
                let names = InstrumentClass.all.map(\.id)
                let hint = Suggest.closest(to: name, in: names + InstrumentClass.all.flatMap(\.aliases)).map { "did you mean \"\($0)\"? " } ?? ""
                reader.fail(item.error("unknown instrument class \"\(name)\"", fix: "\(hint)classes: \(names.joined(separator: ", ")) (docs/instrument-classes.md)"))
                continue
            }
            if ids.contains(cls.id) {
                reader.fail(item.error("the class \(cls.id) is declared twice", fix: "declare each class once"))
                continue
            }
            ids.append(cls.id)
            for problem in cls.check(infos) {
                var at = item
                if !problem.isMissing, let entry = operations.first(where: { $0.key == problem.operation }) {
                    at = entry.value
                    if let param = problem.parameter, let m = try? entry.value.mapping(allowed: operationKeys) {
                        if param == "->" {
                            at = m["returns"] ?? m["unit"] ?? entry.value
                        } else if let params = m["params"], let found = (try? params.entries())?.first(where: { $0.key == param }) {
                            at = found.value
                        }
                    }
                }
                reader.fail(at.error("profile \(profile.id) declares class \(cls.id): \(problem.message)", fix: problem.fix))
            }
        }
        return ids
    }

    private static func parsePattern(_ node: ConfigNode, what: String) throws(ConfigError) -> ReplyPattern {
        let text = try node.string(what)
        do throws(ReplyPatternError) {
            return try ReplyPattern(text)
        } catch {
            throw node.error(
                "invalid reply pattern \"\(text)\": \(error.message)",
                fix: "write literal text and {name:number}, {name:number V}, {name:integer}, {name:bool}, {name:string} or {parameter}")
        }
    }

    private static func parseIdentity(_ node: ConfigNode) throws(ConfigError) -> IdentityPattern {
        let m = try node.mapping("an identity pattern such as {manufacturer: \"Keysight*\", model: \"E36*\"}", allowed: ["manufacturer", "model"])
        let pattern = IdentityPattern(
            manufacturer: try m["manufacturer"]?.string("a glob pattern such as \"Keysight*\""),
            model: try m["model"]?.string("a glob pattern such as \"E36*\""))
        guard pattern.manufacturer != nil || pattern.model != nil else {
            throw node.error("an identity needs `manufacturer`, `model` or both", fix: "add e.g. `model: \"E36*\"`, or remove `identity`")
        }
        return pattern
    }

    /// A list of channel names or ranges (`"1:2"`, `"CH[1:4]"`), or one of them alone.
    private static func parseChannels(_ node: ConfigNode) throws(ConfigError) -> [String] {
        var channels: [String] = []
        for item in try node.listOrSingle() {
            let text = try item.string("a channel name or a range such as \"CH[1:4]\"")
            let expanded: [String]
            do throws(NameRange.Failure) {
                expanded = try NameRange.expand(text) ?? [text]
            } catch {
                throw item.error("\"\(text)\": \(error.message)", fix: "write e.g. \"1:4\" or \"CH[1:4]\", or list the names")
            }
            for name in expanded {
                guard !channels.contains(name) else {
                    throw item.error("channel \"\(name)\" is listed twice", fix: "list each channel once")
                }
                channels.append(name)
            }
        }
        return channels
    }

    /// One operation; its independent problems are recorded separately.
    private static func parseOperation(
        name: String, keyNode: ConfigNode, node: ConfigNode, channels: [String]?, dialect: Dialect, reader: ConfigReader
    ) -> ProfileOperation? {
        let line = dialect == .line
        let before = reader.report.errors.count
        if !ProfileText.isIdentifier(name) {
            reader.fail(
                keyNode.error(
                    "the operation name \"\(name)\" is not an identifier",
                    fix: "use lower-case letters, digits and '_', starting with a letter or '_', e.g. \(ProfileText.identifierHint(name))"))
        }
        guard let m = reader.collect({ try node.mapping("an operation such as {query: \"MEAS:VOLT?\", returns: f64}", allowed: operationKeys) })
        else { return nil }

        // The command: which kind, then its template (independent of the result's checks).
        var kind: String?
        var action: ProfileOperation.Action?
        var parts: [ProfileTemplate.Part]?
        reader.collect { () throws -> Void in
            let given = ["write", "query", "query_block"].filter { m.has($0) }
            guard given.count <= 1 else {
                throw m.keyNode(given[1])!.error(
                    "both `\(given[0])` and `\(given[1])` are given", fix: "an operation sends one command: keep one of write, query and query_block")
            }
            guard let key = given.first else {
                throw m.node.error(
                    "missing the command: `write`, `query` or `query_block`",
                    fix: "add e.g. `query: \"MEAS:VOLT?\"` (a reply is read) or `write: \"VOLT {voltage}\"` (none is)")
            }
            kind = key
            let templateNode = try m.required(key, "the SCPI command", example: key == "write" ? "\"VOLT {voltage}\"" : "\"MEAS:VOLT?\"")
            let template = try templateNode.string("an SCPI command")
            switch ProfileTemplate.parts(template) {
            case .success(let p): parts = p
            case .failure(let message):
                throw templateNode.error("invalid template \"\(template)\": \(message.text)", fix: "write {name} for a parameter, {{ and }} for literal braces")
            }
            let commands = ProfileTemplate.commands(template)
            let queries = commands.filter(ProfileTemplate.isQuery)
            switch key {
            case "write" where line:
                action = .write(template)
            case "query" where line:
                action = .query(template)
            case "query_block" where line:
                action = .queryBlock(template)
            case "write":
                if let query = queries.first {
                    throw templateNode.error(
                        "\"\(query)\" is a query, but a `write` reads no reply", fix: "use `query:` and give what it `returns`")
                }
                action = .write(template)
            default:
                guard queries.count == 1, let last = commands.last, ProfileTemplate.isQuery(last) else {
                    throw templateNode.error(
                        queries.isEmpty
                            ? "\"\(template)\" sends no query (a header ending in '?'), so there is no reply to read"
                            : "a `\(key)` sends exactly one query, as its last command; found \(queries.count == 1 ? "it before the end" : "\(queries.count) queries")",
                        fix: queries.isEmpty ? "use `write:` for a command" : "split it into separate operations")
                }
                action = key == "query" ? .query(template) : .queryBlock(template)
            }
        }

        // The parameters.
        var params: [ProfileParameter] = []
        var paramsOK = true
        if let paramsNode = m["params"] {
            if let entries = reader.collect({ try paramsNode.entries("parameters (a mapping of names to {type: ...})") }) {
                var channelParam: String?
                for entry in entries {
                    let param = reader.collect { () throws -> ProfileParameter in
                        guard ProfileText.isIdentifier(entry.key) else {
                            throw entry.keyNode.error(
                                "the parameter name \"\(entry.key)\" is not an identifier",
                                fix: "use lower-case letters, digits and '_', e.g. \(ProfileText.identifierHint(entry.key))")
                        }
                        let param = try parseParameter(entry.key, entry.value, channels: channels)
                        if param.isChannel {
                            if let first = channelParam {
                                let flag = (try? entry.value.mapping(allowed: parameterKeys))?["channel"] ?? entry.value
                                throw flag.error(
                                    "a second channel parameter; \"\(first)\" is already the channel of this operation",
                                    fix: "an operation addresses one channel: remove `channel: true` here")
                            }
                            channelParam = entry.key
                        }
                        return param
                    }
                    if let param { params.append(param) } else { paramsOK = false }
                }
            } else {
                paramsOK = false
            }
        }

        // Placeholders against parameters, when both are known.
        if let parts, paramsOK, let action {
            let templateNode = m[action.key]!
            let used = parts.compactMap { if case .placeholder(let p) = $0 { p } else { nil } }
            let declared = params.map(\.name)
            for placeholder in Set(used).sorted() where !declared.contains(placeholder) {
                let hint = Suggest.closest(to: placeholder, in: declared).map { "did you mean {\($0)}? " } ?? ""
                reader.fail(
                    templateNode.error(
                        "the placeholder {\(placeholder)} is not a parameter",
                        fix: "\(hint)declare it under `params`\(declared.isEmpty ? "" : " (parameters: \(declared.joined(separator: ", ")))")"))
            }
            if let paramsNode = m["params"], let entries = try? paramsNode.entries() {
                for entry in entries where !used.contains(entry.key) {
                    reader.fail(
                        entry.value.error(
                            "the parameter \"\(entry.key)\" does not appear in the command \"\(action.template)\"",
                            fix: "write {\(entry.key)} where its value goes, or remove the parameter"))
                }
            }
        }

        // The result.
        var result = ValueType.void
        var unit: String?
        let resultKnown: Void? = reader.collect { () throws -> Void in
            let returnsNode = m["returns"]
            let written = try returnsNode.map { (n) throws(ConfigError) -> ValueType in
                try parseType(n, expected: "a result type: f64, i64, bool, string, f64[] or bytes", allowed: ValueType.allCases)
            }
            switch kind {
            case "write":
                if let written, written != .void, let returnsNode {
                    throw returnsNode.error(
                        "a `write` returns nothing, found returns: \(written)", fix: "use `query:` to read a reply, or remove `returns`")
                }
            case "query":
                guard let returnsNode, let written else {
                    throw m.node.error("missing `returns` (the type of the reply)", fix: "add e.g. `returns: f64`")
                }
                switch written {
                case .void:
                    throw returnsNode.error(
                        "a query's reply must be read as a type", fix: "give f64, i64, bool, string or f64[], or use `write:` when nothing is read")
                case .bytes:
                    throw returnsNode.error(
                        "bytes come from a binary block", fix: "use `query_block:` for an IEEE 488.2 block reply, or returns: string")
                default: result = written
                }
            case "query_block":
                if let written, written != .bytes, let returnsNode {
                    throw returnsNode.error(
                        "a `query_block` returns the block's bytes; \(written) is not supported",
                        fix: "write `returns: bytes` (or leave it out), or use `query:` for a text reply")
                }
                result = .bytes
            default:
                break  // no command: its error is reported above
            }
        }
        if let unitNode = m["unit"] {
            reader.collect { () throws -> Void in
                let text = try unitNode.string("a unit such as V")
                if resultKnown != nil, kind != nil, ![.f64, .f64Array, .i64].contains(result) {
                    throw unitNode.error(
                        "a unit applies to a numeric result (f64, f64[] or i64), not to \(result)", fix: "remove `unit`")
                }
                unit = text
            }
        }
        let help = m["help"].flatMap { n in reader.collect { try n.string("help text") } }

        // The reply pattern, against the command kind, the parameters and the result.
        var reply: ReplyPattern?
        if let replyNode = m["reply"] {
            reply = reader.collect { () throws -> ReplyPattern in
                let pattern = try parsePattern(replyNode, what: "the shape of the reply, e.g. \"V{channel}={value:number V}\"")
                if kind == "query_block" {
                    throw replyNode.error("a `query_block` reply is a binary block, not text", fix: "remove `reply`, or use `query:`")
                }
                if paramsOK, let echo = pattern.echoes.first(where: { e in !params.contains { $0.name == e } }) {
                    throw replyNode.error(
                        "{\(echo)} is not a parameter of '\(name)'",
                        fix: "echo a parameter (\(params.map(\.name).joined(separator: ", "))), or capture the text: {\(echo):string}")
                }
                if kind == "query", resultKnown != nil {
                    guard let capture = ProfileOperation.resultCapture(of: pattern),
                        let typed = pattern.captures.first(where: { $0.name == capture })
                    else {
                        throw replyNode.error(
                            pattern.captures.isEmpty
                                ? "the reply pattern captures no value for the result (\(result))"
                                : "the reply pattern has several captures and none is named {value}",
                            fix: "capture the result, e.g. {value:\(result == .bool ? "bool" : result == .i64 ? "integer" : result == .string ? "string" : "number")}")
                    }
                    let compatible: Bool
                    switch (typed.type, result) {
                    case (.number, .f64), (.integer, .i64), (.integer, .f64), (.bool, .bool), (.string, .string): compatible = true
                    default: compatible = false
                    }
                    guard compatible else {
                        throw replyNode.error(
                            "the capture {\(typed.name):\(typed.type.rawValue)} cannot give the result type \(result)",
                            fix: "capture a \(result == .f64 ? "number" : result == .i64 ? "integer" : result == .bool ? "bool" : result == .string ? "string" : "value of the result type"), or change `returns`")
                    }
                    if let captured = typed.unit {
                        if let unit, unit != captured {
                            throw replyNode.error(
                                "the capture reads \(captured), but the operation's unit is \(unit)", fix: "use one unit in both places")
                        }
                        unit = captured
                    }
                }
                return pattern
            }
        }

        guard reader.report.errors.count == before, let action else { return nil }
        return ProfileOperation(
            name: name, action: action, params: params, result: result, unit: unit, help: help, channels: channels ?? [],
            reply: reply)
    }

    private static func parseType(_ node: ConfigNode, expected: String, allowed: [ValueType]) throws(ConfigError) -> ValueType {
        let text = try node.string(expected)
        let names = allowed.filter { $0 != .void }.map(\.description)
        if let type = ValueType.allCases.first(where: { $0.description == text }), allowed.contains(type) || type == .void {
            return type
        }
        let aliases = [
            "float": "f64", "double": "f64", "number": "f64", "real": "f64", "int": "i64", "integer": "i64",
            "boolean": "bool", "str": "string", "text": "string", "array": "f64[]", "list": "f64[]",
        ]
        let hint = (aliases[text.lowercased()].flatMap { names.contains($0) ? $0 : nil } ?? Suggest.closest(to: text, in: names))
            .map { "did you mean \"\($0)\"? " } ?? ""
        if let type = ValueType.allCases.first(where: { $0.description == text }) {
            throw node.error("\(type) is not allowed here", fix: "use \(names.joined(separator: ", "))")
        }
        throw node.error("unknown type \"\(text)\"", fix: "\(hint)use \(names.joined(separator: ", "))")
    }

    private static func parseParameter(_ name: String, _ node: ConfigNode, channels: [String]?) throws(ConfigError) -> ProfileParameter {
        let m = try node.mapping("a parameter such as {type: f64, unit: V, min: 0, max: 30}", allowed: parameterKeys)
        let typeNode = try m.required("type", "the parameter's type: f64, i64, bool or string", example: "f64")
        let type = try parseType(typeNode, expected: "a parameter type: f64, i64, bool or string", allowed: [.f64, .i64, .bool, .string])
        guard type != .void else { throw typeNode.error("a parameter has a value", fix: "use f64, i64, bool or string") }
        let numeric = type == .f64 || type == .i64
        var param = ProfileParameter(name: name, type: type)

        if let n = m["unit"] {
            guard numeric else { throw n.error("a unit applies to numbers (f64 or i64), not to \(type)", fix: "remove `unit`") }
            param.unit = try n.string("a unit such as V")
        }
        for key in ["min", "max"] {
            guard let n = m[key] else { continue }
            guard numeric else {
                throw n.error("`\(key)` applies to numbers (f64 or i64), not to \(type)", fix: type == .string ? "list the allowed values in `choices`" : "remove `\(key)`")
            }
            let v = type == .i64 ? Double(try n.int()) : try n.double()
            if key == "min" { param.min = v } else { param.max = v }
        }
        if let low = param.min, let high = param.max, low > high, let n = m["max"] {
            throw n.error("max (\(RangeExpander.format(high))) is less than min (\(RangeExpander.format(low)))", fix: "swap them")
        }
        if let n = m["channel"], try n.bool() {
            guard type == .string else {
                throw typeNode.error("a channel parameter is text: its values are the profile's `channels`", fix: "write `type: string`")
            }
            // Unknown channels (their own error is reported) are not checked again here.
            if let channels, channels.isEmpty {
                throw n.error(
                    "a channel parameter needs the profile's `channels`, and there are none",
                    fix: "list them at the top of the profile, e.g. `channels: [\"1\", \"2\"]` or `channels: \"CH[1:4]\"`")
            }
            param.isChannel = true
        }
        if let n = m["choices"] {
            guard type == .string else {
                throw n.error("`choices` applies to string parameters, not to \(type)", fix: numeric ? "limit numbers with min and max" : "remove `choices`")
            }
            guard !param.isChannel else {
                throw n.error("a channel parameter takes its values from the profile's `channels`", fix: "remove `choices` or `channel: true`")
            }
            param.choices = try parseChoices(n)
        }
        if let n = m["default"] {
            let value: InstrumentValue
            switch type {
            case .f64: value = .f64(try n.double())
            case .i64: value = .i64(Int64(try n.int()))
            case .bool: value = .bool(try n.bool())
            default: value = .string(try n.text("text"))
            }
            if let x = value.doubleValue, (param.min.map { x < $0 } ?? false) || (param.max.map { x > $0 } ?? false) {
                throw n.error(
                    "the default \(RangeExpander.format(x)) is outside \(param.min.map(RangeExpander.format) ?? "-inf")...\(param.max.map(RangeExpander.format) ?? "inf")",
                    fix: "give a default within min and max")
            }
            if case .string(let s) = value {
                if param.isChannel, let channels, !channels.contains(s) {
                    throw n.error("the default \"\(s)\" is not one of the channels \(channels.joined(separator: ", "))", fix: "give one of the profile's `channels`")
                }
                if let choices = param.choices, !choices.contains(where: { $0.value == s }) {
                    let names = choices.map(\.value)
                    let hint = Suggest.closest(to: s, in: names).map { "did you mean \"\($0)\"? " } ?? ""
                    throw n.error("the default \"\(s)\" is not one of the choices \(names.joined(separator: ", "))", fix: "\(hint)give one of `choices`")
                }
            }
            param.defaultValue = value
        }
        if let n = m["help"] { param.help = try n.string("help text") }
        return param
    }

    /// `[CURR, VOLT]`, or `{CC: CURR, CV: VOLT}` (the value callers pass: the text sent).
    private static func parseChoices(_ node: ConfigNode) throws(ConfigError) -> [ProfileParameter.Choice] {
        var choices: [ProfileParameter.Choice] = []
        func add(_ value: String, _ scpi: String, at item: ConfigNode) throws(ConfigError) {
            guard !choices.contains(where: { $0.value == value }) else {
                throw item.error("the choice \"\(value)\" is listed twice", fix: "list each choice once")
            }
            choices.append(.init(value, scpi: scpi))
        }
        if node.isMapping {
            for entry in try node.entries() {
                try add(entry.key, try entry.value.string("the SCPI text sent for \"\(entry.key)\""), at: entry.keyNode)
            }
        } else {
            for item in try node.list("a list of allowed values, or a mapping of values to the SCPI text sent") {
                let value = try item.string("an allowed value")
                try add(value, value, at: item)
            }
        }
        guard !choices.isEmpty else {
            throw node.error("`choices` is empty", fix: "list the allowed values, e.g. [CURR, VOLT], or remove `choices`")
        }
        return choices
    }
}

// MARK: - Writing

extension InstrumentProfile {
    /// The profile as YAML, in the format ``parse(_:id:reader:)`` reads: reading it back gives
    /// an equal profile (channel ranges are written expanded).
    public func yaml() -> Node {
        ConfigEncoding.map([
            ("id", ConfigEncoding.text(id)),
            ("name", ConfigEncoding.text(name)),
            ("description", ConfigEncoding.text(description)),
            ("instrument_types", ConfigEncoding.nonEmptyList(instrumentTypes.map { ConfigEncoding.text($0) })),
            ("classes", ConfigEncoding.nonEmptyList(classes.map { ConfigEncoding.text($0) })),
            ("protocol", dialect == .scpi ? nil : ConfigEncoding.text(dialect.rawValue)),
            ("termination", terminationYAML),
            ("identity", identity.map {
                ConfigEncoding.map([("manufacturer", ConfigEncoding.text($0.manufacturer)), ("model", ConfigEncoding.text($0.model))])
            }),
            ("channels", ConfigEncoding.nonEmptyList(channels.map { ConfigEncoding.text($0) })),
            ("init", ConfigEncoding.nonEmptyList(initCommands.map { ConfigEncoding.text($0) })),
            ("error_query", ConfigEncoding.text(errorQuery)),
            ("acknowledge", ConfigEncoding.text(acknowledge?.text)),
            ("error_reply", ConfigEncoding.text(errorReply?.text)),
            ("operations", ConfigEncoding.map(operations.map { ($0.name, $0.yaml()) })),
        ])
    }
}

extension InstrumentProfile {
    private var terminationYAML: Node? {
        if readTermination == nil && writeTermination == nil { return nil }
        if readTermination == writeTermination { return ConfigEncoding.text(readTermination) }
        return ConfigEncoding.map([("read", ConfigEncoding.text(readTermination)), ("write", ConfigEncoding.text(writeTermination))])
    }
}

extension ProfileOperation {
    /// The operation's YAML mapping (without its name).
    public func yaml() -> Node {
        ConfigEncoding.map([
            (action.key, ConfigEncoding.text(action.template)),
            ("params", params.isEmpty ? nil : ConfigEncoding.map(params.map { ($0.name, $0.yaml()) })),
            ("returns", result == .void ? nil : ConfigEncoding.text(result.description)),
            ("unit", ConfigEncoding.text(unit)),
            ("reply", ConfigEncoding.text(reply?.text)),
            ("help", ConfigEncoding.text(help)),
        ])
    }
}

extension ProfileParameter {
    /// The parameter's YAML mapping (without its name).
    public func yaml() -> Node {
        var choicesNode: Node?
        if let choices {
            choicesNode = choices.allSatisfy { $0.value == $0.scpi }
                ? ConfigEncoding.list(choices.map { ConfigEncoding.text($0.value) })
                : ConfigEncoding.map(choices.map { ($0.value, ConfigEncoding.text($0.scpi)) })
        }
        var defaultNode: Node?
        switch defaultValue {
        case .f64(let v)?: defaultNode = ConfigEncoding.number(v)
        case .i64(let v)?: defaultNode = Node(String(v))
        case .bool(let v)?: defaultNode = ConfigEncoding.bool(v)
        case .string(let s)?: defaultNode = ConfigEncoding.text(s)
        default: defaultNode = nil
        }
        return ConfigEncoding.map([
            ("type", ConfigEncoding.text(type.description) as Node),
            ("unit", ConfigEncoding.text(unit)),
            ("min", min.map { ConfigEncoding.number($0) }),
            ("max", max.map { ConfigEncoding.number($0) }),
            ("choices", choicesNode),
            ("channel", ConfigEncoding.flag(isChannel)),
            ("default", defaultNode),
            ("help", ConfigEncoding.text(help)),
        ])
    }
}

// MARK: - Helpers

/// A message for a `Result` failure.
struct ProfileMessage: Error, Equatable {
    let text: String
    init(_ text: String) { self.text = text }
}

/// Command templates: `INST:NSEL {channel};:VOLT {voltage}`.
enum ProfileTemplate {
    enum Part: Equatable {
        case text(String)
        case placeholder(String)
    }

    /// The literal text and placeholders of a template; `{{` and `}}` are literal braces.
    static func parts(_ template: String) -> Result<[Part], ProfileMessage> {
        var parts: [Part] = []
        var text = ""
        var i = template.startIndex
        while i < template.endIndex {
            let c = template[i]
            let next = template.index(after: i)
            if c == "{" {
                if next < template.endIndex, template[next] == "{" {
                    text.append("{")
                    i = template.index(after: next)
                    continue
                }
                guard let close = template[next...].firstIndex(of: "}") else {
                    return .failure(ProfileMessage("'{' without a closing '}'"))
                }
                let name = String(template[next..<close])
                guard ProfileText.isIdentifier(name) else {
                    return .failure(ProfileMessage("{\(name)} is not a parameter name (lower-case letters, digits and '_')"))
                }
                if !text.isEmpty { parts.append(.text(text)) }
                text = ""
                parts.append(.placeholder(name))
                i = template.index(after: close)
            } else if c == "}" {
                guard next < template.endIndex, template[next] == "}" else {
                    return .failure(ProfileMessage("'}' without an opening '{' (write }} for a literal brace)"))
                }
                text.append("}")
                i = template.index(after: next)
            } else {
                text.append(c)
                i = next
            }
        }
        if !text.isEmpty { parts.append(.text(text)) }
        return .success(parts)
    }

    /// The commands of a program message: split on `;` outside double quotes, trimmed, empty
    /// ones left out.
    static func commands(_ message: String) -> [String] {
        SCPIResponse.split(message).filter { !$0.isEmpty }
    }

    /// Whether a command's header (the text before its first space) ends in `?`.
    static func isQuery(_ command: String) -> Bool {
        let header = command.prefix { $0 != " " && $0 != "\t" }
        return header.hasSuffix("?")
    }
}

/// Numbers in commands and replies.
enum ProfileNumber {

    /// An SCPI decimal number (NR1, NR2, NR3: optional sign, digits with an optional point,
    /// optional exponent), with the overload codes mapped: 9.9E37 → +inf, -9.9E37 → -inf,
    /// ±9.91E37 → NaN.
    static func parseReal(_ text: Substring) -> Double? {
        guard isDecimal(text), let v = Double(String(text)) else { return nil }
        if v == 9.9e37 { return .infinity }
        if v == -9.9e37 { return -.infinity }
        if abs(v) == 9.91e37 { return .nan }
        return v
    }

    static func parseReal(_ text: String) -> Double? { parseReal(Substring(text)) }

    /// An integer with an optional sign.
    static func parseInteger(_ text: String) -> Int64? {
        var digits = Substring(text)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text)
    }

    /// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`
    static func isDecimal(_ text: Substring) -> Bool {
        var chars = text.utf8[...]
        func digits() -> Int {
            var n = 0
            while let c = chars.first, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                chars = chars.dropFirst()
                n += 1
            }
            return n
        }
        if let c = chars.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { chars = chars.dropFirst() }
        var mantissa = digits()
        if chars.first == UInt8(ascii: ".") {
            chars = chars.dropFirst()
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if let c = chars.first, c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            chars = chars.dropFirst()
            if let s = chars.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { chars = chars.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return chars.isEmpty
    }

    /// A number followed by a unit: letters only (`5.0V`, `1.2 mA`, `+1.0E+03OHM`).
    static func hasUnitSuffix(_ text: String) -> Bool {
        guard let start = text.lastIndex(where: { !$0.isLetter }).map(text.index(after:)), start < text.endIndex else {
            return false
        }
        guard text[start...].uppercased() != "E" else { return false }  // a cut exponent
        return isDecimal(text[..<start].trimmingSCPIWhitespace()[...])
    }
}

/// Names and quoting.
enum ProfileText {
    /// `[a-z_][a-z0-9_]*`
    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// A suggestion for a name that is not an identifier: `Set-Voltage` → `set_voltage`.
    static func identifierHint(_ s: String) -> String {
        var out = String(s.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        if let first = out.first, first.isNumber { out = "_" + out }
        return out.isEmpty ? "my_operation" : out
    }

    /// Text for a message: control characters escaped, at most 80 characters.
    static func shown(_ s: some StringProtocol) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + String(scalar.value, radix: 16, uppercase: true).leftPadded(2)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out.count > 80 ? String(out.prefix(80)) + "..." : out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}

/// Glob matching for identity patterns: `*` any run, `?` one character, case-insensitive.
enum ProfileGlob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.lowercased()), t = Array(text.lowercased())
        var pi = 0, ti = 0
        var star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
