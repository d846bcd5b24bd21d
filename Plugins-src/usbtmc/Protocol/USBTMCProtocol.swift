/// Numbers of the USBTMC 1.0 class and its USB488 subclass: interface codes, bulk message
/// ids, class control requests and their status codes.
///
/// Everything in `LitmusUSBTMCProtocol` is pure protocol code: no libusb and no I/O of its own.
/// The state machines (``USBTMCLink``) run against a ``USBTMCEndpoint``, which the plugin
/// implements over libusb and the tests implement with a fake device.
public enum USBTMCProtocol {
    /// Interface class of a test-and-measurement interface (application specific).
    public static let interfaceClass: UInt8 = 0xFE
    /// Interface subclass of USBTMC.
    public static let interfaceSubclass: UInt8 = 0x03
    /// Interface protocol of a plain USBTMC interface.
    public static let protocolUSBTMC: UInt8 = 0
    /// Interface protocol of a USB488 interface (IEEE 488.2 over USBTMC).
    public static let protocolUSB488: UInt8 = 1

    /// Size of every bulk message header.
    public static let headerSize = 12

    /// The MsgID of a bulk header.
    public enum MessageID: UInt8, Sendable {
        /// Host to device: a (part of a) command message.
        case devDepMsgOut = 1
        /// Host to device: asks for a response; device to host: the response.
        case devDepMsgIn = 2
        case vendorSpecificOut = 126
        case vendorSpecificIn = 127
        /// USB488: a bus trigger (header only, no payload).
        case trigger = 128
    }

    /// The bRequest of a USBTMC or USB488 class control request.
    public enum Request: UInt8, Sendable {
        case initiateAbortBulkOut = 1
        case checkAbortBulkOutStatus = 2
        case initiateAbortBulkIn = 3
        case checkAbortBulkInStatus = 4
        case initiateClear = 5
        case checkClearStatus = 6
        case getCapabilities = 7
        case indicatorPulse = 64
        /// USB488.
        case readStatusByte = 128
        case renControl = 160
        case goToLocal = 161
        case localLockout = 162

        /// The name the specifications use, for messages.
        public var name: String {
            switch self {
            case .initiateAbortBulkOut: "INITIATE_ABORT_BULK_OUT"
            case .checkAbortBulkOutStatus: "CHECK_ABORT_BULK_OUT_STATUS"
            case .initiateAbortBulkIn: "INITIATE_ABORT_BULK_IN"
            case .checkAbortBulkInStatus: "CHECK_ABORT_BULK_IN_STATUS"
            case .initiateClear: "INITIATE_CLEAR"
            case .checkClearStatus: "CHECK_CLEAR_STATUS"
            case .getCapabilities: "GET_CAPABILITIES"
            case .indicatorPulse: "INDICATOR_PULSE"
            case .readStatusByte: "READ_STATUS_BYTE"
            case .renControl: "REN_CONTROL"
            case .goToLocal: "GO_TO_LOCAL"
            case .localLockout: "LOCAL_LOCKOUT"
            }
        }
    }

    /// The USBTMC_status byte that starts every class control reply.
    public enum Status: UInt8, Sendable {
        case success = 0x01
        case pending = 0x02
        /// USB488: READ_STATUS_BYTE while the interrupt-IN endpoint is still busy.
        case interruptInBusy = 0x20
        case failed = 0x80
        case transferNotInProgress = 0x81
        case splitNotInProgress = 0x82
        case splitInProgress = 0x83

        /// A readable name of a raw status byte, known or not.
        public static func describe(_ raw: UInt8) -> String {
            switch Status(rawValue: raw) {
            case .success: "SUCCESS"
            case .pending: "PENDING"
            case .interruptInBusy: "INTERRUPT_IN_BUSY"
            case .failed: "FAILED"
            case .transferNotInProgress: "TRANSFER_NOT_IN_PROGRESS"
            case .splitNotInProgress: "SPLIT_NOT_IN_PROGRESS"
            case .splitInProgress: "SPLIT_IN_PROGRESS"
            case nil: "status 0x" + hex(raw)
            }
        }
    }

    /// bmRequestType of a class request to the interface, data stage IN.
    public static let requestTypeInterfaceIn: UInt8 = 0xA1
    /// bmRequestType of a class request to an endpoint, data stage IN.
    public static let requestTypeEndpointIn: UInt8 = 0xA2

    /// Bit 0 of bmTransferAttributes: the last byte of this transfer ends the message.
    public static let attributeEOM: UInt8 = 0x01
    /// Bit 1 of bmTransferAttributes: (request) TermChar is enabled; (reply) the transfer
    /// ended on TermChar.
    public static let attributeTermChar: UInt8 = 0x02

    /// bNotify1 of an interrupt-IN SRQ notification (USB488); bNotify2 is the status byte.
    public static let notifySRQ: UInt8 = 0x81
}

/// Two upper-case hex digits.
@inline(__always)
func hex(_ byte: UInt8) -> String {
    let digits: [Character] = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}

/// Four upper-case hex digits.
func hex4(_ value: UInt16) -> String { hex(UInt8(value >> 8)) + hex(UInt8(value & 0xFF)) }

/// Bytes as spaced hex, cut after `limit` bytes: "02 07 F8 00 ... (40 bytes)".
func hexDump<C: Collection>(_ bytes: C, limit: Int = 16) -> String where C.Element == UInt8 {
    var parts = bytes.prefix(limit).map(hex)
    if bytes.count > limit { parts.append("... (\(bytes.count) bytes)") }
    return parts.isEmpty ? "(none)" : parts.joined(separator: " ")
}
