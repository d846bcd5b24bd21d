import CLitmusDriverABI

/// A status code of the driver ABI (`litmus_status`): 0 is success, positive values are
/// success with a completion code, negative values are errors, and values at or below
/// ``vendorBase`` are the driver's own.
public struct DriverStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    init(_ value: Int) { self.rawValue = Int32(value) }

    /// The corresponding C value is `LITMUS_OK`.
    public static let ok = DriverStatus(LITMUS_OK)
    /// The buffer filled before the end of the message. C: `LITMUS_OK_MAX_COUNT`.
    public static let okMaxCount = DriverStatus(LITMUS_OK_MAX_COUNT)
    /// Bytes arrived on a transport with no end marks. C: `LITMUS_OK_PARTIAL`.
    public static let okPartial = DriverStatus(LITMUS_OK_PARTIAL)
    /// C: `LITMUS_E_FAILED`.
    public static let failed = DriverStatus(LITMUS_E_FAILED)
    /// C: `LITMUS_E_INVALID_ARGUMENT`.
    public static let invalidArgument = DriverStatus(LITMUS_E_INVALID_ARGUMENT)
    /// C: `LITMUS_E_UNSUPPORTED`.
    public static let unsupported = DriverStatus(LITMUS_E_UNSUPPORTED)
    /// C: `LITMUS_E_TIMEOUT`.
    public static let timeout = DriverStatus(LITMUS_E_TIMEOUT)
    /// C: `LITMUS_E_IO`.
    public static let io = DriverStatus(LITMUS_E_IO)
    /// C: `LITMUS_E_NOT_FOUND`.
    public static let notFound = DriverStatus(LITMUS_E_NOT_FOUND)
    /// C: `LITMUS_E_BUSY`.
    public static let busy = DriverStatus(LITMUS_E_BUSY)
    /// C: `LITMUS_E_CLOSED`.
    public static let closed = DriverStatus(LITMUS_E_CLOSED)
    /// The instrument reported an error. C: `LITMUS_E_INSTRUMENT`.
    public static let instrument = DriverStatus(LITMUS_E_INSTRUMENT)
    /// Version or struct-size mismatch. C: `LITMUS_E_ABI`.
    public static let abi = DriverStatus(LITMUS_E_ABI)
    /// Permission denied. C: `LITMUS_E_ACCESS`.
    public static let access = DriverStatus(LITMUS_E_ACCESS)
    /// C: `LITMUS_E_NO_MEMORY`.
    public static let noMemory = DriverStatus(LITMUS_E_NO_MEMORY)
    /// The peer broke the protocol. C: `LITMUS_E_PROTOCOL`.
    public static let protocolViolation = DriverStatus(LITMUS_E_PROTOCOL)
    /// Driver-specific codes are at or below this value. C: `LITMUS_E_VENDOR_BASE`.
    public static let vendorBase = DriverStatus(LITMUS_E_VENDOR_BASE)

    public var isError: Bool { rawValue < 0 }
    public var isVendorSpecific: Bool { rawValue <= Self.vendorBase.rawValue }

    public var description: String {
        switch self {
        case .ok: "ok"
        case .okMaxCount: "buffer full"
        case .okPartial: "partial"
        case .failed: "failed"
        case .invalidArgument: "invalid argument"
        case .unsupported: "unsupported"
        case .timeout: "timeout"
        case .io: "I/O error"
        case .notFound: "not found"
        case .busy: "busy"
        case .closed: "closed"
        case .instrument: "instrument error"
        case .abi: "ABI mismatch"
        case .access: "access denied"
        case .noMemory: "out of memory"
        case .protocolViolation: "protocol error"
        default: isVendorSpecific ? "vendor status \(rawValue)" : "status \(rawValue)"
        }
    }
}
