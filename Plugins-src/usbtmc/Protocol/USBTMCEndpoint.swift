/// The USB pipes of one USBTMC interface, as ``USBTMCLink`` needs them. The plugin
/// implements it over libusb; tests implement it with a fake device.
///
/// Timeouts are in milliseconds; `UInt32.max` means wait forever. Every method throws a
/// ``USBTMCTransferError`` on failure (anything else is treated as an I/O failure).
public protocol USBTMCEndpoint: AnyObject {
    /// Sends `data` as one Bulk-OUT transfer.
    func bulkOut(_ data: [UInt8], timeoutMs: UInt32) throws
    /// Receives one Bulk-IN transfer of at most `maxLength` bytes: packets until a short
    /// packet, a zero-length packet (an empty result) or `maxLength` bytes.
    func bulkIn(maxLength: Int, timeoutMs: UInt32) throws -> [UInt8]
    /// A control transfer with a data stage IN; returns what the device sent (at most `length`).
    func controlIn(
        requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, length: Int, timeoutMs: UInt32
    ) throws -> [UInt8]
    /// A control transfer with no data stage or a data stage OUT.
    func controlOut(
        requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, data: [UInt8], timeoutMs: UInt32
    ) throws
    /// Receives one interrupt-IN transfer of at most `maxLength` bytes.
    func interruptIn(maxLength: Int, timeoutMs: UInt32) throws -> [UInt8]
    /// CLEAR_FEATURE(ENDPOINT_HALT) on a bulk pipe, resetting the host's data toggle as well.
    func clearHalt(_ pipe: USBTMCPipe) throws
}

/// A pipe of the interface.
public enum USBTMCPipe: Sendable, Equatable, CustomStringConvertible {
    case bulkOut, bulkIn, interruptIn

    public var description: String {
        switch self {
        case .bulkOut: "Bulk-OUT"
        case .bulkIn: "Bulk-IN"
        case .interruptIn: "interrupt-IN"
        }
    }
}

/// How one USB transfer failed.
public enum USBTMCTransferError: Error, Equatable, Sendable {
    /// The timeout passed; `data` holds what arrived before it (IN transfers), `transferred`
    /// how many bytes went out (OUT transfers).
    case timeout(transferred: Int, data: [UInt8])
    /// The endpoint is halted (STALL; libusb's PIPE error).
    case stall
    /// The device sent more than the buffer holds.
    case overflow
    /// The device is gone.
    case disconnected
    /// The host cancelled the transfer (``USBTMCLink`` was interrupted: SIGINT, SIGTERM);
    /// `data` holds what arrived before, `transferred` how many bytes went out.
    case cancelled(transferred: Int, data: [UInt8])
    /// Anything else, with the USB library's code and text.
    case failed(code: Int32, reason: String)

    /// A timeout with nothing transferred.
    public static let timedOut = USBTMCTransferError.timeout(transferred: 0, data: [])
}

/// The numbers of one USBTMC interface: its number and protocol, its endpoint addresses
/// and their maximum packet sizes.
public struct USBTMCInterfaceLayout: Equatable, Sendable {
    public var interfaceNumber: UInt8
    /// 0 for USBTMC, 1 for USB488.
    public var interfaceProtocol: UInt8
    public var bulkOutAddress: UInt8
    public var bulkInAddress: UInt8
    /// The interrupt-IN endpoint (USB488 notifications), if the interface has one.
    public var interruptInAddress: UInt8?
    public var bulkOutMaxPacket: Int
    public var bulkInMaxPacket: Int
    public var interruptInMaxPacket: Int

    public init(
        interfaceNumber: UInt8 = 0, interfaceProtocol: UInt8 = USBTMCProtocol.protocolUSB488,
        bulkOutAddress: UInt8 = 0x01, bulkInAddress: UInt8 = 0x82, interruptInAddress: UInt8? = 0x83,
        bulkOutMaxPacket: Int = 512, bulkInMaxPacket: Int = 512, interruptInMaxPacket: Int = 8
    ) {
        self.interfaceNumber = interfaceNumber
        self.interfaceProtocol = interfaceProtocol
        self.bulkOutAddress = bulkOutAddress
        self.bulkInAddress = bulkInAddress
        self.interruptInAddress = interruptInAddress
        self.bulkOutMaxPacket = max(1, bulkOutMaxPacket)
        self.bulkInMaxPacket = max(1, bulkInMaxPacket)
        self.interruptInMaxPacket = max(2, interruptInMaxPacket)
    }

    /// Whether the interface speaks USB488 (READ_STATUS_BYTE, TRIGGER, REN...).
    public var isUSB488: Bool { interfaceProtocol == USBTMCProtocol.protocolUSB488 }
}
