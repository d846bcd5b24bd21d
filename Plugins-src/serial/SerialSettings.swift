#if canImport(Glibc)
import Glibc
#endif
import LitmusDriverKit

/// The line settings and behaviour of one serial session, from the typed open options.
///
/// Defaults are VISA's: 9600 baud, 8 data bits, no parity, 1 stop bit, no flow control, reads
/// ended by the termination character, DTR and RTS asserted. The host has already checked each
/// option's type, range and choices against ``SerialDriver/openOptions``; this type checks the
/// combinations (a baud rate termios can set, 1.5 stop bits only with 5 data bits, no DTR/DSR
/// handshake on Linux) and explains what to write instead.
struct SerialSettings: Equatable {
    enum Parity: String, CaseIterable {
        case none, odd, even, mark, space
    }

    enum StopBits: String, CaseIterable {
        case one = "1"
        case oneAndHalf = "1.5"
        case two = "2"
    }

    enum FlowControl: String, CaseIterable {
        case none
        case xonXoff = "xon_xoff"
        case rtsCts = "rts_cts"
        case dtrDsr = "dtr_dsr"
    }

    /// How a read ends (VISA's `VI_ATTR_ASRL_END_IN`, adapted to a host that applies the read
    /// termination itself).
    enum EndInput: String, CaseIterable {
        /// Replies end with the read termination, which the host finds: every read reports a
        /// byte stream (`LITMUS_OK_PARTIAL`), never END.
        case termchar
        /// Replies have no terminator: the driver reports END (`LITMUS_OK`) when the line has
        /// been silent for the inter-character timeout after the last byte.
        case none
    }

    /// The rates termios sets with a `B<rate>` constant (Linux), with that constant.
    static let standardRates: [(rate: Int, speed: speed_t)] = [
        (50, speed_t(B50)), (75, speed_t(B75)), (110, speed_t(B110)), (134, speed_t(B134)), (150, speed_t(B150)),
        (200, speed_t(B200)), (300, speed_t(B300)), (600, speed_t(B600)), (1200, speed_t(B1200)),
        (1800, speed_t(B1800)), (2400, speed_t(B2400)), (4800, speed_t(B4800)), (9600, speed_t(B9600)),
        (19200, speed_t(B19200)), (38400, speed_t(B38400)), (57600, speed_t(B57600)), (115200, speed_t(B115200)),
        (230400, speed_t(B230400)), (460800, speed_t(B460800)), (500000, speed_t(B500000)),
        (576000, speed_t(B576000)), (921600, speed_t(B921600)), (1000000, speed_t(B1000000)),
        (1152000, speed_t(B1152000)), (1500000, speed_t(B1500000)), (2000000, speed_t(B2000000)),
        (2500000, speed_t(B2500000)), (3000000, speed_t(B3000000)), (3500000, speed_t(B3500000)),
        (4000000, speed_t(B4000000)),
    ]

    /// The default inter-character timeout when `end_input` is `none` and none is given.
    static let defaultSilenceMs: UInt32 = 100

    var baud = 9600
    var dataBits = 8
    var parity = Parity.none
    var stopBits = StopBits.one
    var flowControl = FlowControl.none
    var endInput = EndInput.termchar
    /// Inter-character timeout in milliseconds; 0 is off.
    var charTimeoutMs: UInt32 = 0
    /// Default length of `send_break`.
    var breakMs = 250
    var dtr = true
    var rts = true
    var exclusive = true
    /// Wait for the output queue to empty after each write.
    var drain = false
    /// The last byte of the read termination (the termination character), or nil for none.
    var termchar: UInt8? = 0x0A

    init() {}

    /// Reads and checks the open options.
    ///
    /// - Throws: `invalidArgument` for a value or combination the port cannot take (the
    ///   message lists what it can), `unsupported` for DTR/DSR flow control.
    init(_ options: OpenOptions) throws {
        if let v = options.int("baud") {
            guard Self.speed(for: Int(v)) != nil else {
                throw DriverFailure.invalidArgument(
                    "baud \(v) is not a standard rate; the serial driver sets the rate with a termios constant, one of "
                        + Self.standardRates.map { String($0.rate) }.joined(separator: ", ")
                        + " (non-standard rates need the adapter's own tools)")
            }
            baud = Int(v)
        }
        if let v = options.int("data_bits") {
            guard (5...8).contains(v) else {
                throw DriverFailure.invalidArgument("data_bits \(v) is out of range; write 5, 6, 7 or 8")
            }
            dataBits = Int(v)
        }
        if let v = options.string("parity") {
            guard let p = Parity(rawValue: v) else { throw Self.badChoice("parity", v, Parity.allCases.map(\.rawValue)) }
            parity = p
        }
        if let v = options.string("stop_bits") {
            guard let s = StopBits(rawValue: v) else {
                throw Self.badChoice("stop_bits", v, StopBits.allCases.map(\.rawValue))
            }
            stopBits = s
        }
        if stopBits == .oneAndHalf && dataBits != 5 {
            throw DriverFailure.invalidArgument(
                "stop_bits \"1.5\" needs data_bits 5 (POSIX termios has one CSTOPB flag: with 5 data bits a UART sends "
                    + "1.5 stop bits, otherwise 2); use stop_bits \"1\" or \"2\" with \(dataBits) data bits")
        }
        if let v = options.string("flow_control") {
            guard let f = FlowControl(rawValue: v) else {
                throw Self.badChoice("flow_control", v, FlowControl.allCases.map(\.rawValue))
            }
            flowControl = f
        }
        if flowControl == .dtrDsr {
            throw DriverFailure.unsupported(
                "flow_control \"dtr_dsr\" is not available: Linux termios has no DTR/DSR hardware handshake. Use "
                    + "\"rts_cts\" with a cable that wires the instrument's DTR/DSR to CTS/RTS, or \"xon_xoff\" or \"none\" "
                    + "if the instrument allows it")
        }
        if let v = options.string("end_input") {
            guard let e = EndInput(rawValue: v) else {
                throw Self.badChoice("end_input", v, EndInput.allCases.map(\.rawValue))
            }
            endInput = e
        }
        if let v = options.int("char_timeout_ms") {
            guard v >= 0 else { throw DriverFailure.invalidArgument("char_timeout_ms \(v) is negative; 0 turns it off") }
            charTimeoutMs = UInt32(clamping: v)
        }
        if endInput == .none && charTimeoutMs == 0 { charTimeoutMs = Self.defaultSilenceMs }
        if let v = options.int("break_ms") {
            guard (1...10_000).contains(v) else {
                throw DriverFailure.invalidArgument("break_ms \(v) is out of range 1...10000")
            }
            breakMs = Int(v)
        }
        if let v = options.bool("dtr") { dtr = v }
        if let v = options.bool("rts") { rts = v }
        if let v = options.bool("exclusive") { exclusive = v }
        if let v = options.bool("drain") { drain = v }
        if let v = options.string("read_termination") { termchar = v.utf8.last }
    }

    /// The termios constant of `rate`, or nil when it is not a standard rate.
    static func speed(for rate: Int) -> speed_t? {
        standardRates.first { $0.rate == rate }?.speed
    }

    /// The rate of a termios speed constant, or nil.
    static func rate(of speed: speed_t) -> Int? {
        standardRates.first { $0.speed == speed }?.rate
    }

    private static func badChoice(_ name: String, _ value: String, _ choices: [String]) -> DriverFailure {
        DriverFailure.invalidArgument(
            "\(name) \"\(value)\" is not one of \(choices.map { "\"\($0)\"" }.joined(separator: ", "))")
    }

    /// The frame in the usual short form with the flow control: `9600 8N1, flow none`.
    var summary: String {
        let p: String
        switch parity {
        case .none: p = "N"
        case .odd: p = "O"
        case .even: p = "E"
        case .mark: p = "M"
        case .space: p = "S"
        }
        return "\(baud) \(dataBits)\(p)\(stopBits.rawValue), flow \(flowControl.rawValue)"
    }

    /// How long one character takes on the line, in nanoseconds (start + data + parity + stop).
    var characterNanoseconds: UInt64 {
        let bits = 1 + dataBits + (parity == .none ? 0 : 1) + (stopBits == .one ? 1 : 2)
        return UInt64(bits) * 1_000_000_000 / UInt64(max(baud, 1))
    }

    /// termios flags as `tcflag_t` (Glibc imports them with mixed integer types).
    private enum Flag {
        static func of<T: BinaryInteger>(_ values: T...) -> tcflag_t {
            values.reduce(0) { $0 | tcflag_t(truncatingIfNeeded: $1) }
        }
        static let rawInputOff = of(IGNBRK, BRKINT, PARMRK, ISTRIP, INLCR, IGNCR, ICRNL, IXON, IXOFF, IXANY, INPCK, IGNPAR)
        static let rawLocalOff = of(ECHO, ECHOE, ECHOK, ECHONL, ICANON, ISIG, IEXTEN)
        static let size = of(CSIZE)
        static let cs5 = of(CS5), cs6 = of(CS6), cs7 = of(CS7), cs8 = of(CS8)
        static let parenb = of(PARENB), parodd = of(PARODD), cmspar = of(CMSPAR)
        static let parity = parenb | parodd | cmspar
        static let cstopb = of(CSTOPB)
        static let crtscts = of(CRTSCTS)
        static let frameOff = size | parity | cstopb | crtscts
        static let readLocal = of(CREAD, CLOCAL)
        static let opost = of(OPOST)
        static let inpck = of(INPCK)
        static let xonXoff = of(IXON, IXOFF)
    }

    /// Applies the settings to `t`: raw mode (what `cfmakeraw` does), the frame, the speed and
    /// the flow control. VMIN 1 and VTIME 0: on the non-blocking descriptor a read returns what
    /// is there or EAGAIN, and 0 only at a hangup (with VMIN 0 it would return 0 when empty).
    func apply(to t: inout termios) {
        t.c_iflag &= ~Flag.rawInputOff
        t.c_oflag &= ~Flag.opost
        t.c_lflag &= ~Flag.rawLocalOff
        t.c_cflag &= ~Flag.frameOff
        t.c_cflag |= Flag.readLocal
        switch dataBits {
        case 5: t.c_cflag |= Flag.cs5
        case 6: t.c_cflag |= Flag.cs6
        case 7: t.c_cflag |= Flag.cs7
        default: t.c_cflag |= Flag.cs8
        }
        switch parity {
        case .none: break
        case .odd: t.c_cflag |= Flag.parenb | Flag.parodd
        case .even: t.c_cflag |= Flag.parenb
        case .mark: t.c_cflag |= Flag.parenb | Flag.parodd | Flag.cmspar
        case .space: t.c_cflag |= Flag.parenb | Flag.cmspar
        }
        // A byte with a parity error reads as 0x00 (neither dropped nor marked).
        if parity != .none { t.c_iflag |= Flag.inpck }
        if stopBits != .one { t.c_cflag |= Flag.cstopb }
        switch flowControl {
        case .xonXoff: t.c_iflag |= Flag.xonXoff
        case .rtsCts: t.c_cflag |= Flag.crtscts
        case .none, .dtrDsr: break
        }
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
            cc[Int(VSTART)] = 0x11
            cc[Int(VSTOP)] = 0x13
        }
        if let speed = Self.speed(for: baud) { cfsetspeed(&t, speed) }
    }

    /// What of the settings `t` (read back from the port) lacks, in words; empty when every
    /// setting took. Drivers may accept `tcsetattr` and silently keep another value.
    func differences(from t: termios) -> [String] {
        var expected = termios()
        apply(to: &expected)
        var problems: [String] = []
        var actual = t
        let got = cfgetospeed(&actual)
        if got != cfgetospeed(&expected) {
            problems.append("baud \(Self.rate(of: got).map(String.init) ?? "code \(got)") instead of \(baud)")
        }
        if t.c_cflag & Flag.size != expected.c_cflag & Flag.size {
            let bits: [tcflag_t: Int] = [Flag.cs5: 5, Flag.cs6: 6, Flag.cs7: 7, Flag.cs8: 8]
            problems.append("\(bits[t.c_cflag & Flag.size] ?? 0) data bits instead of \(dataBits)")
        }
        if t.c_cflag & Flag.parity != expected.c_cflag & Flag.parity {
            problems.append("another parity than \(parity.rawValue)")
        }
        if t.c_cflag & Flag.cstopb != expected.c_cflag & Flag.cstopb {
            problems.append("another number of stop bits than \(stopBits.rawValue)")
        }
        if t.c_cflag & Flag.crtscts != expected.c_cflag & Flag.crtscts {
            problems.append("RTS/CTS flow control \(flowControl == .rtsCts ? "off" : "on")")
        }
        return problems
    }
}
