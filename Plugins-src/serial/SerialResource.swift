import LitmusDriverKit

/// An `ASRL` resource string and the device file it names.
///
/// The host passes the canonical form, `ASRL<port>::INSTR`. The port is one of:
///
/// | resource | device |
/// |---|---|
/// | `ASRL/dev/ttyUSB0::INSTR` | `/dev/ttyUSB0` (any absolute path, e.g. `/dev/serial/by-id/usb-FTDI_...`) |
/// | `ASRLttyACM0::INSTR` | `/dev/ttyACM0` (a name without a slash is looked up in `/dev`) |
/// | `ASRL3::INSTR` | `/dev/ttyS2`: numbered ports count from 1, like VISA's `COM3` on Windows |
/// | `ASRLCOM3::INSTR` | `/dev/ttyS2` as well |
///
/// `ASRL0` names no port. pyserial URLs (`loop://`, `socket://`) are not serial ports here.
struct SerialResource: Equatable {
    /// The resource as given.
    let resource: String
    /// The absolute path of the device file.
    let device: String

    /// The device of numbered port `n` (1-based): `/dev/ttyS<n-1>`.
    static func numberedDevice(_ n: Int) -> String { "/dev/ttyS\(n - 1)" }

    init(_ resource: String) throws {
        self.resource = resource
        func bad(_ why: String) -> DriverFailure {
            DriverFailure.invalidArgument(
                "\"\(resource)\" is not a serial resource: \(why). Write ASRL<device>::INSTR (ASRL/dev/ttyUSB0::INSTR, "
                    + "ASRL/dev/serial/by-id/<name>::INSTR) or ASRL<n>::INSTR for /dev/ttyS<n-1>")
        }
        var text = Substring(resource)
        guard text.count >= 4, text.prefix(4).uppercased() == "ASRL" else { throw bad("it does not start with ASRL") }
        text = text.dropFirst(4)
        if let separator = Self.lastSeparator(in: text) {
            let cls = text[text.index(separator, offsetBy: 2)...]
            guard cls.uppercased() == "INSTR" else { throw bad("only ::INSTR may follow the port") }
            text = text[..<separator]
        }
        let port = String(text)
        guard !port.isEmpty else { throw bad("no port is named") }
        if port.contains("::") { throw bad("only ::INSTR may follow the port") }
        if port.contains("://") {
            throw bad("\"\(port)\" is a pyserial URL; for an instrument on a TCP socket use TCPIP::<host>::<port>::SOCKET")
        }
        if let n = Self.portNumber(port) {
            guard n >= 1 else {
                throw bad("numbered ports start at 1 (ASRL1 is /dev/ttyS0, like COM1); name a device instead: ASRL/dev/ttyUSB0::INSTR")
            }
            device = Self.numberedDevice(n)
        } else if port.hasPrefix("/") {
            device = port
        } else {
            device = "/dev/" + port
        }
    }

    /// Where the last `::` starts, or nil.
    private static func lastSeparator(in text: Substring) -> Substring.Index? {
        var found: Substring.Index?
        var i = text.startIndex
        while i < text.endIndex {
            let next = text.index(after: i)
            if text[i] == ":" && next < text.endIndex && text[next] == ":" {
                found = i
                i = text.index(after: next)
            } else {
                i = next
            }
        }
        return found
    }

    /// `3` for "3" and "COM3" (any case); nil for anything else.
    private static func portNumber(_ port: String) -> Int? {
        var digits = Substring(port)
        if digits.count > 3, digits.prefix(3).uppercased() == "COM" { digits = digits.dropFirst(3) }
        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// The canonical resource string of a device path: `ASRL/dev/ttyUSB0::INSTR`.
    static func resource(for device: String) -> String { "ASRL\(device)::INSTR" }
}
