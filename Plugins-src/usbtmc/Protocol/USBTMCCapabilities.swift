/// What a USBTMC interface says it can do: the 24-byte GET_CAPABILITIES reply.
///
/// | byte | meaning |
/// |---|---|
/// | 0 | USBTMC_status |
/// | 2-3 | bcdUSBTMC |
/// | 4 | interface: bit 2 INDICATOR_PULSE, bit 1 talk-only, bit 0 listen-only |
/// | 5 | device: bit 0 TermChar supported |
/// | 12-13 | bcdUSB488 |
/// | 14 | USB488 interface: bit 2 488.2, bit 1 REN_CONTROL/GO_TO_LOCAL/LOCAL_LOCKOUT, bit 0 TRIGGER |
/// | 15 | USB488 device: bit 3 SCPI, bit 2 SR1, bit 1 RL1, bit 0 DT1 |
public struct USBTMCCapabilities: Equatable, Sendable {
    /// USBTMC version, BCD (0x0100 = 1.00).
    public var bcdUSBTMC: UInt16 = 0
    public var indicatorPulse = false
    public var talkOnly = false
    public var listenOnly = false
    /// The device can end a Bulk-IN transfer on a TermChar.
    public var termChar = false
    /// USB488 version, BCD; 0 for a plain USBTMC interface.
    public var bcdUSB488: UInt16 = 0
    /// IEEE 488.2 compliant interface.
    public var is488_2 = false
    /// REN_CONTROL, GO_TO_LOCAL and LOCAL_LOCKOUT are supported.
    public var remoteLocal = false
    /// The USB488 TRIGGER message is supported.
    public var trigger = false
    /// Understands all mandatory SCPI commands.
    public var scpi = false
    /// SR1: can request service (SRQ over interrupt-IN).
    public var serviceRequest = false
    /// RL1: full remote/local capability.
    public var remoteLocalFull = false
    /// DT1: device trigger capability.
    public var deviceTrigger = false
    /// Whether these came from the device (false: defaults after GET_CAPABILITIES failed).
    public var fromDevice = false

    /// No capability at all: what a session assumes when the device does not answer
    /// GET_CAPABILITIES.
    public init() {}

    /// Parses a GET_CAPABILITIES reply. Throws ``USBTMCError`` (protocol violation) when it
    /// is shorter than 16 bytes or its status is not SUCCESS.
    public init<C: Collection>(reply: C) throws where C.Element == UInt8 {
        let b = Array(reply)
        guard b.count >= 16 else {
            throw USBTMCError(
                .protocolViolation,
                "GET_CAPABILITIES returned \(b.count) bytes (\(hexDump(b))); at least 16 are needed")
        }
        guard b[0] == USBTMCProtocol.Status.success.rawValue else {
            throw USBTMCError(
                .instrument, "GET_CAPABILITIES answered \(USBTMCProtocol.Status.describe(b[0]))", vendorCode: Int32(b[0]))
        }
        bcdUSBTMC = UInt16(b[2]) | UInt16(b[3]) << 8
        indicatorPulse = b[4] & 0x04 != 0
        talkOnly = b[4] & 0x02 != 0
        listenOnly = b[4] & 0x01 != 0
        termChar = b[5] & 0x01 != 0
        bcdUSB488 = UInt16(b[12]) | UInt16(b[13]) << 8
        is488_2 = b[14] & 0x04 != 0
        remoteLocal = b[14] & 0x02 != 0
        trigger = b[14] & 0x01 != 0
        scpi = b[15] & 0x08 != 0
        serviceRequest = b[15] & 0x04 != 0
        remoteLocalFull = b[15] & 0x02 != 0
        deviceTrigger = b[15] & 0x01 != 0
        fromDevice = true
    }

    /// The 24-byte reply these capabilities encode to (a fake device answers with it).
    public var reply: [UInt8] {
        var b = [UInt8](repeating: 0, count: 24)
        b[0] = USBTMCProtocol.Status.success.rawValue
        b[2] = UInt8(bcdUSBTMC & 0xFF)
        b[3] = UInt8(bcdUSBTMC >> 8)
        b[4] = (indicatorPulse ? 4 : 0) | (talkOnly ? 2 : 0) | (listenOnly ? 1 : 0)
        b[5] = termChar ? 1 : 0
        b[12] = UInt8(bcdUSB488 & 0xFF)
        b[13] = UInt8(bcdUSB488 >> 8)
        b[14] = (is488_2 ? 4 : 0) | (remoteLocal ? 2 : 0) | (trigger ? 1 : 0)
        b[15] = (scpi ? 8 : 0) | (serviceRequest ? 4 : 0) | (remoteLocalFull ? 2 : 0) | (deviceTrigger ? 1 : 0)
        return b
    }

    /// A typical USB488 instrument: USBTMC 1.00, USB488 1.00, TermChar, TRIGGER, REN, SR1, SCPI.
    public static let typicalUSB488: USBTMCCapabilities = {
        var c = USBTMCCapabilities()
        c.bcdUSBTMC = 0x0100
        c.indicatorPulse = true
        c.termChar = true
        c.bcdUSB488 = 0x0100
        c.is488_2 = true
        c.remoteLocal = true
        c.trigger = true
        c.scpi = true
        c.serviceRequest = true
        c.remoteLocalFull = true
        c.deviceTrigger = true
        c.fromDevice = true
        return c
    }()

    /// One line for logs and the `capabilities` operation:
    /// `USBTMC 1.00, USB488 1.00; termchar, pulse, trigger, ren, 488.2, scpi, sr1, rl1, dt1`.
    public var summary: String {
        func bcd(_ v: UInt16) -> String { "\(v >> 8).\(hex(UInt8(v & 0xFF)))" }
        var flags: [String] = []
        if termChar { flags.append("termchar") }
        if indicatorPulse { flags.append("pulse") }
        if talkOnly { flags.append("talk-only") }
        if listenOnly { flags.append("listen-only") }
        if trigger { flags.append("trigger") }
        if remoteLocal { flags.append("ren") }
        if is488_2 { flags.append("488.2") }
        if scpi { flags.append("scpi") }
        if serviceRequest { flags.append("sr1") }
        if remoteLocalFull { flags.append("rl1") }
        if deviceTrigger { flags.append("dt1") }
        var text = fromDevice ? "USBTMC \(bcd(bcdUSBTMC))" : "USBTMC (GET_CAPABILITIES failed; assuming none)"
        if bcdUSB488 != 0 { text += ", USB488 \(bcd(bcdUSB488))" }
        return text + "; " + (flags.isEmpty ? "no optional features" : flags.joined(separator: ", "))
    }
}
