/// An error of the USBTMC protocol layer. The plugin turns ``kind`` into the matching
/// driver status; the message says what happened, where, and what to do.
public struct USBTMCError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What class of failure this is.
    public enum Kind: Sendable, Equatable {
        /// The operation did not finish within its timeout.
        case timeout
        /// The device broke the protocol (garbage header, wrong bTag, impossible length).
        case protocolViolation
        /// A USB transfer failed (stall, I/O error).
        case io
        /// The device is gone (unplugged, reset).
        case disconnected
        /// The device or the interface does not do this.
        case unsupported
        /// The device answered a control request with a failure status.
        case instrument
        /// The device is busy with something else.
        case busy
        /// A bad argument or option.
        case invalidArgument
        /// The host interrupted the operation (SIGINT, SIGTERM); the transfer was aborted.
        case interrupted
    }

    public var kind: Kind
    public var message: String
    /// The device's status byte or the USB library's error code, or 0.
    public var vendorCode: Int32

    public init(_ kind: Kind, _ message: String, vendorCode: Int32 = 0) {
        self.kind = kind
        self.message = message
        self.vendorCode = vendorCode
    }

    public var description: String { message }
}
