import CLitmusDriverABI

/// One typed parameter of an operation, or one open option (`litmus_param_desc`).
public struct ParameterDescription: Sendable {
    public var name: String
    public var type: ValueType
    public var unit: String?
    public var help: String?
    public var optional: Bool
    public var isChannel: Bool
    public var range: ClosedRange<Double>?
    public var choices: [String]?

    public init(
        _ name: String, _ type: ValueType, unit: String? = nil, help: String? = nil,
        optional: Bool = false, isChannel: Bool = false, range: ClosedRange<Double>? = nil,
        choices: [String]? = nil
    ) {
        self.name = name
        self.type = type
        self.unit = unit
        self.help = help
        self.optional = optional
        self.isChannel = isChannel
        self.range = range
        self.choices = choices
    }
}

/// One typed operation (`litmus_operation_desc`).
///
/// ```swift
/// OperationDescription("set_voltage", params: [.init("voltage", .f64, unit: "V", range: 0...30)],
///                      flags: .writes)
/// ```
public struct OperationDescription: Sendable {
    /// `LITMUS_OP_*`
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let reads = Flags(rawValue: UInt32(LITMUS_OP_READS))
        public static let writes = Flags(rawValue: UInt32(LITMUS_OP_WRITES))
        public static let slow = Flags(rawValue: UInt32(LITMUS_OP_SLOW))
    }

    public var name: String
    public var params: [ParameterDescription]
    public var result: ValueType
    public var resultUnit: String?
    public var flags: Flags
    public var help: String?

    public init(
        _ name: String, params: [ParameterDescription] = [], result: ValueType = .void,
        resultUnit: String? = nil, flags: Flags = [], help: String? = nil
    ) {
        self.name = name
        self.params = params
        self.result = result
        self.resultUnit = resultUnit
        self.flags = flags
        self.help = help
    }
}

/// What a driver supports besides open and close; each maps to a vtable entry.
public struct Capabilities: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// write and read (a message-based driver).
    public static let messages = Capabilities(rawValue: 1 << 0)
    /// A native query (otherwise the host composes write + read).
    public static let query = Capabilities(rawValue: 1 << 1)
    public static let clear = Capabilities(rawValue: 1 << 2)
    public static let readStatusByte = Capabilities(rawValue: 1 << 3)
    public static let timeout = Capabilities(rawValue: 1 << 4)
    public static let trigger = Capabilities(rawValue: 1 << 5)
}

/// Everything the host learns about one Swift driver, and how to open it.
public struct DriverDescription: @unchecked Sendable {
    /// A found resource, from ``discover``.
    public struct Found: Sendable {
        public var resource: String
        public var description: String
        public init(resource: String, description: String) {
            self.resource = resource
            self.description = description
        }
    }

    /// The request handed to ``open``.
    public struct OpenRequest {
        public let resource: String
        public let options: OpenOptions
        public let services: HostServices
    }

    public var id: String
    public var displayName: String
    public var version: String
    public var vendor: String
    public var schemes: [String]
    public var isSimulated: Bool
    public var openOptions: [ParameterDescription]
    public var operations: [OperationDescription]
    public var capabilities: Capabilities
    public var selfTestResource: String?
    public var readTermination: String?
    public var writeTermination: String?
    public var instrumentTypes: [String]
    /// Static extension tables by name (e.g. `LITMUS_MOCK_EXTENSION_V1`).
    public var extensions: [String: UnsafeRawPointer]
    /// Opens one session.
    public var open: (OpenRequest) throws -> any DriverSession
    /// Lists resources this driver can open now, or nil if it cannot discover.
    public var discover: (() throws -> [Found])?

    public init(
        id: String, displayName: String, version: String, vendor: String, schemes: [String],
        isSimulated: Bool = false, openOptions: [ParameterDescription] = [],
        operations: [OperationDescription] = [], capabilities: Capabilities = [],
        selfTestResource: String? = nil, readTermination: String? = nil,
        writeTermination: String? = nil, instrumentTypes: [String] = [],
        extensions: [String: UnsafeRawPointer] = [:],
        discover: (() throws -> [Found])? = nil,
        open: @escaping (OpenRequest) throws -> any DriverSession
    ) {
        self.id = id
        self.displayName = displayName
        self.version = version
        self.vendor = vendor
        self.schemes = schemes
        self.isSimulated = isSimulated
        self.openOptions = openOptions
        self.operations = operations
        self.capabilities = capabilities
        self.selfTestResource = selfTestResource
        self.readTermination = readTermination
        self.writeTermination = writeTermination
        self.instrumentTypes = instrumentTypes
        self.extensions = extensions
        self.discover = discover
        self.open = open
    }
}
