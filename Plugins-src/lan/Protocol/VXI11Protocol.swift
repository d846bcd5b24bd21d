// VXI-11 (VXIbus Consortium, TCP/IP Instrument Protocol Specification): ONC RPC programs,
// procedures, flags, read reasons and error codes. The argument and result structures are in
// VXI11Messages.swift; the RPC layer is in ONCRPC*.swift, XDR in XDR.swift.

/// VXI-11 constants: program numbers, procedures, flags and read reasons.
public enum VXI11Protocol {
    /// DEVICE_CORE: the channel that carries links, I/O, locks and status.
    public static let coreProgram: UInt32 = 0x0607AF
    /// DEVICE_ASYNC: the abort channel (its port comes from create_link).
    public static let abortProgram: UInt32 = 0x0607B0
    /// DEVICE_INTR: the service-request channel the client serves.
    public static let interruptProgram: UInt32 = 0x0607B1
    /// The version of all three programs.
    public static let version: UInt32 = 1

    /// The procedures of DEVICE_CORE (and `deviceAbort` of DEVICE_ASYNC, `deviceInterruptSRQ`
    /// of DEVICE_INTR).
    public enum Procedure: UInt32, Sendable, CaseIterable {
        case deviceAbort = 1
        case createLink = 10
        case deviceWrite = 11
        case deviceRead = 12
        case deviceReadSTB = 13
        case deviceTrigger = 14
        case deviceClear = 15
        case deviceRemote = 16
        case deviceLocal = 17
        case deviceLock = 18
        case deviceUnlock = 19
        case deviceEnableSRQ = 20
        case deviceDoCommand = 22
        case destroyLink = 23
        case createInterruptChannel = 25
        case destroyInterruptChannel = 26
        case deviceInterruptSRQ = 30

        /// The name the specification uses, for messages.
        public var name: String {
            switch self {
            case .deviceAbort: "device_abort"
            case .createLink: "create_link"
            case .deviceWrite: "device_write"
            case .deviceRead: "device_read"
            case .deviceReadSTB: "device_readstb"
            case .deviceTrigger: "device_trigger"
            case .deviceClear: "device_clear"
            case .deviceRemote: "device_remote"
            case .deviceLocal: "device_local"
            case .deviceLock: "device_lock"
            case .deviceUnlock: "device_unlock"
            case .deviceEnableSRQ: "device_enable_srq"
            case .deviceDoCommand: "device_docmd"
            case .destroyLink: "destroy_link"
            case .createInterruptChannel: "create_intr_chan"
            case .destroyInterruptChannel: "destroy_intr_chan"
            case .deviceInterruptSRQ: "device_intr_srq"
            }
        }
    }

    /// `Device_Flags`.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// Wait up to lock_timeout for a lock another link holds, instead of failing at once.
        public static let waitLock = Flags(rawValue: 0x01)
        /// device_write: the last byte of this write ends the message (like GPIB EOI).
        public static let end = Flags(rawValue: 0x08)
        /// device_read: stop at `termChar`.
        public static let termCharSet = Flags(rawValue: 0x80)
    }

    /// Why a device_read returned (`reason`).
    public struct ReadReason: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// requestSize bytes were transferred.
        public static let requestCount = ReadReason(rawValue: 0x01)
        /// The termination character was transferred (only with ``Flags/termCharSet``).
        public static let character = ReadReason(rawValue: 0x02)
        /// The last byte transferred ends the message (END / EOI).
        public static let end = ReadReason(rawValue: 0x04)
    }
}

/// A VXI-11 `Device_ErrorCode`, with the specification's meaning of each value.
public struct VXI11Error: RawRepresentable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let none = VXI11Error(rawValue: 0)
    public static let syntaxError = VXI11Error(rawValue: 1)
    public static let deviceNotAccessible = VXI11Error(rawValue: 3)
    public static let invalidLinkIdentifier = VXI11Error(rawValue: 4)
    public static let parameterError = VXI11Error(rawValue: 5)
    public static let channelNotEstablished = VXI11Error(rawValue: 6)
    public static let operationNotSupported = VXI11Error(rawValue: 8)
    public static let outOfResources = VXI11Error(rawValue: 9)
    public static let deviceLockedByAnotherLink = VXI11Error(rawValue: 11)
    public static let noLockHeldByThisLink = VXI11Error(rawValue: 12)
    public static let ioTimeout = VXI11Error(rawValue: 15)
    public static let ioError = VXI11Error(rawValue: 17)
    public static let invalidAddress = VXI11Error(rawValue: 21)
    public static let abort = VXI11Error(rawValue: 23)
    public static let channelAlreadyEstablished = VXI11Error(rawValue: 29)

    /// The specification's name for the code.
    public var meaning: String {
        switch rawValue {
        case 0: "no error"
        case 1: "syntax error"
        case 3: "device not accessible"
        case 4: "invalid link identifier"
        case 5: "parameter error"
        case 6: "channel not established"
        case 8: "operation not supported"
        case 9: "out of resources"
        case 11: "device locked by another link"
        case 12: "no lock held by this link"
        case 15: "I/O timeout"
        case 17: "I/O error"
        case 21: "invalid address"
        case 23: "abort"
        case 29: "channel already established"
        default: "unknown VXI-11 error"
        }
    }

    /// What usually helps, for messages; empty when nothing specific does.
    public var advice: String {
        switch rawValue {
        case 1: "the instrument could not parse the request; check the LAN device name"
        case 3:
            "the instrument has no device by that name; use inst0, or gpib0,<address> behind a LAN/GPIB gateway, as its manual lists"
        case 4: "the instrument no longer knows this link (was it restarted?); close and reopen the session"
        case 5: "the instrument refused a parameter (size, timeout or flags) of the request"
        case 6: "the interrupt channel is not set up"
        case 8: "the instrument does not implement this VXI-11 operation"
        case 9:
            "the instrument has run out of links or memory; close other sessions to it (clients that dropped the connection without destroy_link leak links; some instruments need a restart)"
        case 11:
            "another client holds the instrument's lock; wait for it to release it, or raise lock_timeout_ms to wait for it"
        case 12: "unlock was requested but this session does not hold the lock"
        case 15: "the instrument did not complete the operation within the timeout; raise the timeout, or check that a query was sent before reading"
        case 17: "the instrument reported an I/O failure (on a gateway: the device behind it did not respond)"
        case 21: "the gateway has no device at that address; check the GPIB address in the resource"
        case 23: "the operation was aborted (device_abort)"
        case 29: "the interrupt channel is already set up"
        default: ""
        }
    }

    public var description: String { "VXI-11 error \(rawValue) (\(meaning))" }
}
