import CLitmusDriverABI

/// An error a Swift driver throws; DriverKit hands it to the host through `error_set`.
///
/// Throw one of the named constructors so the host can tell a timeout from an I/O failure:
///
/// ```swift
/// throw DriverFailure.timeout("no reply to MEAS:VOLT? within 2000 ms")
/// ```
///
/// Any other error thrown by a driver reaches the host as `LITMUS_E_FAILED` with its description.
public struct DriverFailure: Error, CustomStringConvertible, Sendable {
    /// The ABI status code (negative). The corresponding C values are `LITMUS_E_*`.
    public var status: Int32
    /// The instrument's or library's own code (errno, libusb code, SCPI error number), or 0.
    public var vendorCode: Int32
    /// What went wrong and, where possible, what to do about it.
    public var message: String

    public init(status: Int32, vendorCode: Int32 = 0, _ message: String) {
        self.status = status < 0 ? status : Int32(LITMUS_E_FAILED)
        self.vendorCode = vendorCode
        self.message = message
    }

    public var description: String { message }

    /// `LITMUS_E_FAILED`
    public static func failed(_ message: String, vendorCode: Int32 = 0) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_FAILED), vendorCode: vendorCode, message)
    }
    /// `LITMUS_E_INVALID_ARGUMENT`
    public static func invalidArgument(_ message: String) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_INVALID_ARGUMENT), message)
    }
    /// `LITMUS_E_UNSUPPORTED`
    public static func unsupported(_ message: String) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_UNSUPPORTED), message)
    }
    /// `LITMUS_E_TIMEOUT`
    public static func timeout(_ message: String) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_TIMEOUT), message)
    }
    /// `LITMUS_E_IO`
    public static func io(_ message: String, vendorCode: Int32 = 0) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_IO), vendorCode: vendorCode, message)
    }
    /// `LITMUS_E_NOT_FOUND`
    public static func notFound(_ message: String) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_NOT_FOUND), message)
    }
    /// `LITMUS_E_BUSY`
    public static func busy(_ message: String) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_BUSY), message)
    }
    /// `LITMUS_E_CLOSED`
    public static func closed(_ message: String) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_CLOSED), message)
    }
    /// `LITMUS_E_INSTRUMENT`: the instrument reported an error.
    public static func instrument(_ message: String, vendorCode: Int32 = 0) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_INSTRUMENT), vendorCode: vendorCode, message)
    }
    /// `LITMUS_E_ACCESS`
    public static func access(_ message: String, vendorCode: Int32 = 0) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_ACCESS), vendorCode: vendorCode, message)
    }
    /// `LITMUS_E_PROTOCOL`: the peer broke the protocol.
    public static func protocolViolation(_ message: String) -> DriverFailure {
        DriverFailure(status: Int32(LITMUS_E_PROTOCOL), message)
    }
}
