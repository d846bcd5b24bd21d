#if canImport(Glibc)
import Glibc
#endif

/// The serial ports present on this machine, found without opening any of them.
///
/// Opening a port can reset the device behind it (asserting DTR restarts many USB boards), so
/// discovery only reads directories and sysfs:
///
/// 1. `/dev/serial/by-id/*`: udev's stable names for USB adapters, listed first because they
///    survive replugging (`/dev/ttyUSB0` may become `/dev/ttyUSB1`).
/// 2. `/dev/ttyUSB*` and `/dev/ttyACM*` that no by-id name points to (these exist only while
///    the hardware is there).
/// 3. `/dev/ttyS*` whose UART is real: sysfs `type` is not 0 (`PORT_UNKNOWN`). The kernel
///    creates ttyS0...ttyS3 (or more) whether or not a UART sits behind them.
enum SerialPortCatalog {
    /// One port found.
    struct Port: Equatable {
        /// The path to open: a by-id link or a kernel name.
        var path: String
        /// The kernel device it is (`/dev/ttyUSB0`).
        var kernelDevice: String
        /// USB details from sysfs, when the port is a USB adapter.
        var usb: String?
        /// For a built-in UART: its type and whether it is the system console.
        var uart: String?

        var resource: String { SerialResource.resource(for: path) }

        var description: String {
            var text = usb.map { "USB serial \($0)" } ?? uart.map { "serial port, \($0)" } ?? "serial port"
            if path != kernelDevice { text += " at \(kernelDevice)" }
            return text
        }
    }

    static let byIdDirectory = "/dev/serial/by-id"

    /// Common `PORT_*` codes of the kernel's serial core (sysfs `type`).
    static let uartTypes: [Int: String] = [1: "8250", 2: "16450", 3: "16550", 4: "16550A", 5: "Cirrus", 6: "16650", 7: "16650V2", 8: "16750"]

    /// Every port found, by-id names first.
    static func ports() -> [Port] {
        var found: [Port] = []
        var covered = Set<String>()
        for name in entries(of: byIdDirectory).sorted() {
            let path = "\(byIdDirectory)/\(name)"
            guard let target = realPath(path) else { continue }
            covered.insert(target)
            found.append(Port(path: path, kernelDevice: target, usb: usbDetails(kernelName: lastComponent(target)), uart: nil))
        }
        let dev = entries(of: "/dev")
        let consoles = Set((readLine("/sys/class/tty/console/active") ?? "").split(separator: " ").map(String.init))
        for prefix in ["ttyUSB", "ttyACM"] {
            for name in sortedNumerically(dev.filter { $0.hasPrefix(prefix) }, prefix: prefix) {
                let path = "/dev/\(name)"
                if covered.contains(path) { continue }
                found.append(Port(path: path, kernelDevice: path, usb: usbDetails(kernelName: name), uart: nil))
            }
        }
        for name in sortedNumerically(dev.filter { $0.hasPrefix("ttyS") }, prefix: "ttyS") {
            guard let type = readLine("/sys/class/tty/\(name)/type"), let code = Int(type), code != 0 else { continue }
            var uart = uartTypes[code].map { "\($0) UART" } ?? "UART type \(code)"
            if consoles.contains(name) { uart += ", the system console: opening it disturbs the console" }
            found.append(Port(path: "/dev/\(name)", kernelDevice: "/dev/\(name)", usb: nil, uart: uart))
        }
        return found
    }

    /// For error messages: the ports worth trying, or a sentence saying there are none.
    static func listing() -> String {
        let all = ports()
        guard !all.isEmpty else {
            return "no serial ports were found (\(byIdDirectory) is empty or missing, and there is no /dev/ttyUSB*, "
                + "/dev/ttyACM* or working /dev/ttyS*); check the cable and that the adapter's kernel driver is loaded (dmesg)"
        }
        return "ports present: " + all.map { "\($0.path) (\($0.description))" }.joined(separator: "; ")
    }

    // MARK: - File system helpers

    /// The names in a directory, without "." and "..".
    static func entries(of directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func lastComponent(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }

    private static func sortedNumerically(_ names: [String], prefix: String) -> [String] {
        names.sorted { a, b in
            let na = Int(a.dropFirst(prefix.count)) ?? Int.max
            let nb = Int(b.dropFirst(prefix.count)) ?? Int.max
            return na == nb ? a < b : na < nb
        }
    }

    /// The first line of a small text file (sysfs attributes), trimmed; nil if unreadable.
    static func readLine(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let line = buffer[..<n].prefix { $0 != 0x0A && $0 != 0 }
        return String(decoding: line, as: UTF8.self).trimmingSpaces()
    }

    /// "FTDI FT232R USB UART (0403:6001, serial A10KXYZ)" from the USB device above a tty in
    /// sysfs, or nil when the tty is not on USB.
    static func usbDetails(kernelName: String) -> String? {
        guard var dir = realPath("/sys/class/tty/\(kernelName)/device") else { return nil }
        // usb-serial: tty -> port -> interface -> device; cdc-acm: interface -> device.
        for _ in 0..<4 {
            if let vendor = readLine(dir + "/idVendor"), let product = readLine(dir + "/idProduct") {
                let names = [readLine(dir + "/manufacturer"), readLine(dir + "/product")].compactMap { $0 }
                var text = names.isEmpty ? "" : names.joined(separator: " ") + " "
                text += "(\(vendor):\(product)"
                if let serial = readLine(dir + "/serial") { text += ", serial \(serial)" }
                return text + ")"
            }
            guard let slash = dir.lastIndex(of: "/"), slash != dir.startIndex else { return nil }
            dir = String(dir[..<slash])
        }
        return nil
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line ends.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
