import CLitmusDriverABI

/// One typed parameter of an operation, or one open option of a driver, as the plugin
/// declared it (`litmus_param_desc`).
public struct ParameterInfo: Sendable, Hashable {
    public var name: String
    public var type: ValueType
    public var unit: String?
    public var help: String?
    public var isOptional: Bool
    public var isChannel: Bool
    public var range: ClosedRange<Double>?
    public var choices: [String]?
    /// The value an omitted argument takes, when the host knows it (an instrument profile's
    /// `default:`). The host fills it in before the call reaches the driver or a mock standing
    /// in for it, so a mock answers exactly what the real table would be asked. Nil for a
    /// driver's native optional parameter: the ABI leaves its default to the driver.
    public var defaultValue: InstrumentValue?

    public init(
        name: String, type: ValueType, unit: String? = nil, help: String? = nil, isOptional: Bool = false,
        isChannel: Bool = false, range: ClosedRange<Double>? = nil, choices: [String]? = nil,
        defaultValue: InstrumentValue? = nil
    ) {
        self.name = name
        self.type = type
        self.unit = unit
        self.help = help
        self.isOptional = isOptional
        self.isChannel = isChannel
        self.range = range
        self.choices = choices
        self.defaultValue = defaultValue
    }

    /// `voltage: f64 [V] 0...30`
    public var signature: String {
        var text = "\(name)\(isOptional ? "?" : ""): \(type)"
        if let unit { text += " [\(unit)]" }
        if let range { text += " \(formatBound(range.lowerBound))...\(formatBound(range.upperBound))" }
        if let choices { text += " {\(choices.joined(separator: "|"))}" }
        if let defaultValue { text += " = \(defaultValue)" }
        return text
    }
}

/// One typed operation of a driver (`litmus_operation_desc`).
public struct OperationInfo: Sendable, Hashable {
    /// `LITMUS_OP_*`
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let reads = Flags(rawValue: UInt32(LITMUS_OP_READS))
        public static let writes = Flags(rawValue: UInt32(LITMUS_OP_WRITES))
        public static let slow = Flags(rawValue: UInt32(LITMUS_OP_SLOW))
    }

    public var name: String
    /// Position in the driver's table: the `op_index` passed to `invoke`.
    public var index: Int
    public var params: [ParameterInfo]
    public var result: ValueType
    public var resultUnit: String?
    public var flags: Flags
    public var help: String?

    public init(
        name: String, index: Int, params: [ParameterInfo] = [], result: ValueType = .void, resultUnit: String? = nil,
        flags: Flags = [], help: String? = nil
    ) {
        self.name = name
        self.index = index
        self.params = params
        self.result = result
        self.resultUnit = resultUnit
        self.flags = flags
        self.help = help
    }

    /// `set_voltage(voltage: f64 [V] 0...30) -> void`
    public var signature: String {
        var text = "\(name)(\(params.map(\.signature).joined(separator: ", "))) -> \(result)"
        if let resultUnit { text += " [\(resultUnit)]" }
        return text
    }
}

/// Everything the host learned about one driver of a loaded plugin.
public struct DriverInfo: Sendable {
    public var id: String
    public var displayName: String
    public var version: String
    public var vendor: String
    /// Resource schemes it opens: "TCPIP", "USB", "ASRL", "SIM"...
    public var schemes: [String]
    public var isMessageBased: Bool
    public var isSimulated: Bool
    public var openOptions: [ParameterInfo]
    public var operations: [OperationInfo]
    public var selfTestResource: String?
    public var readTermination: String?
    public var writeTermination: String?
    public var instrumentTypes: [String]
    /// The ABI minor negotiated with the plugin.
    public var abiMinor: Int
    /// Vtable entries that are present (everything else is unsupported).
    public var supports: Support
    /// The plugin file it came from.
    public var pluginPath: String
    public var pluginName: String

    /// The vtable entries a driver provides.
    public struct Support: OptionSet, Sendable, CustomStringConvertible {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let write = Support(rawValue: 1 << 0)
        public static let read = Support(rawValue: 1 << 1)
        public static let query = Support(rawValue: 1 << 2)
        public static let clear = Support(rawValue: 1 << 3)
        public static let readSTB = Support(rawValue: 1 << 4)
        public static let setTimeout = Support(rawValue: 1 << 5)
        public static let invoke = Support(rawValue: 1 << 6)
        public static let extensions = Support(rawValue: 1 << 7)
        public static let trigger = Support(rawValue: 1 << 8)
        public static let discover = Support(rawValue: 1 << 9)

        static let names: [(Support, String)] = [
            (.write, "write"), (.read, "read"), (.query, "query"), (.clear, "clear"), (.readSTB, "read_stb"),
            (.setTimeout, "set_timeout"), (.invoke, "invoke"), (.extensions, "get_extension"),
            (.trigger, "trigger"), (.discover, "discover"),
        ]
        public var description: String { Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") }
    }

    /// The operation called `name`, if the driver declares it.
    public func operation(named name: String) -> OperationInfo? { operationsByName[name].map { operations[$0] } }

    var operationsByName: [String: Int] = [:]
    /// The plugin's descriptor, valid until process exit.
    nonisolated(unsafe) let descriptor: UnsafePointer<litmus_driver_desc>
    nonisolated(unsafe) let vtable: UnsafePointer<litmus_driver_vtable>
    /// The services table handed to this driver's plugin (for the session's error/result slots).
    nonisolated(unsafe) let services: UnsafePointer<litmus_host_services>
}

func formatBound(_ x: Double) -> String {
    if x.isFinite, x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return "\(x)"
}
