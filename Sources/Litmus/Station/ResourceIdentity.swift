#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The instrument a resource string names, after resolution: what a resource lock is keyed
/// by, so that every spelling of one instrument shares one lock.
///
/// ```swift
/// ResourceIdentity(resource: "TCPIP::localhost::5025::SOCKET").keys   // ["tcpip:127.0.0.1:5025"]
/// ResourceIdentity(resource: "TCPIP0::127.0.0.1::5025::SOCKET").keys  // ["tcpip:127.0.0.1:5025"]
/// ResourceIdentity(resource: "USB::6833::1230::DS1Z::INSTR").keys     // ["usb:1ab1:04ce:DS1Z"]
/// ```
///
/// The rules, by interface:
/// - TCPIP and VICP: the host is resolved (`getaddrinfo`) and every address it resolves to is
///   a key, with the port (SOCKET, HiSLIP) or the LAN device name (VXI-11): `localhost` that
///   resolves to `::1` and `127.0.0.1` is locked on both, so it conflicts with either spelled
///   out. IPv4-mapped IPv6 addresses count as IPv4. A host that does not resolve is keyed by
///   its lower-cased name. The board number is not part of the identity.
/// - USB: vendor id, product id (lower-case hex, whatever form was written) and serial
///   number. The interface number, class (INSTR, RAW) and board are not: they reach the one
///   device.
/// - ASRL: the real path of the device file (symbolic links such as `/dev/serial/by-id/...`
///   resolved), numbered ports as the serial plugin maps them (`ASRL3`, `ASRLCOM3` ->
///   `/dev/ttyS2`), a bare name in `/dev`.
/// - Anything else: the canonical resource name (``ResourceName/canonical``), else the
///   trimmed string.
public struct ResourceIdentity: Sendable, Hashable {
    /// The lock keys, sorted and distinct; at least one.
    public let keys: [String]

    /// At most this many addresses of one host are locked.
    public static let maximumAddresses = 16

    /// Resolves `resource`. Looks host names up (which may take as long as a DNS query) and
    /// follows symbolic links of serial devices; never fails.
    public init(resource: String) {
        guard let name = try? ResourceName(parsing: resource) else {
            keys = [ResourceLocks.canonicalName(resource)]
            return
        }
        keys = Self.keys(name)
    }

    static func keys(_ name: ResourceName) -> [String] {
        switch name.interface {
        case .tcpip(let host, let endpoint):
            let suffix: String
            switch endpoint {
            case .socket(let port): suffix = String(port)
            case .vxi11(let device): suffix = device
            case .hislip(let device, let port): suffix = "\(device),\(port)"
            }
            return addresses(host).map { "tcpip:\($0):\(suffix)" }
        case .vicp(let host):
            return addresses(host).map { "vicp:\($0)" }
        case .usb(let vendor, let product, let serial, _):
            return ["usb:\(hex4(vendor)):\(hex4(product)):\(serial)"]
        case .asrl(let device):
            guard let path = serialDevice(device: device, board: name.board) else { return [name.canonical] }
            return ["asrl:" + (System.realPath(path) ?? path)]
        case .gpib, .other:
            return [name.canonical]
        }
    }

    /// The numeric addresses `host` resolves to, sorted; the lower-cased name when it does not
    /// resolve.
    static func addresses(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if os(Linux)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [host.lowercased()] }
        defer { freeaddrinfo(first) }
        var found: Set<String> = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node, found.count < maximumAddresses {
            node = current.pointee.ai_next
            guard let address = current.pointee.ai_addr else { continue }
            var buffer = [CChar](repeating: 0, count: 1025)  // NI_MAXHOST
            guard getnameinfo(address, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            var text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.lowercased().hasPrefix("::ffff:"), text.contains(".") { text = String(text.dropFirst(7)) }
            found.insert(text.lowercased())
        }
        return found.isEmpty ? [host.lowercased()] : found.sorted()
    }

    /// The device file of an ASRL resource, as the serial plugin maps it; nil for `ASRL0`.
    static func serialDevice(device: String?, board: Int) -> String? {
        guard let device else { return board >= 1 ? "/dev/ttyS\(board - 1)" : nil }
        if device.count > 3, device.prefix(3).uppercased() == "COM", let n = Int(device.dropFirst(3)), n >= 1 {
            return "/dev/ttyS\(n - 1)"
        }
        return device.hasPrefix("/") ? device : "/dev/" + device
    }

    /// Four lower-case hex digits.
    private static func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}
