import CLitmusDriverABI
import Foundation
import LitmusDriverKit
import LitmusLANProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Finds VXI-11 instruments on the LAN the way VISA does: one UDP datagram holding an ONC RPC
/// portmapper GETPORT call for the VXI-11 core program (0x0607AF version 1, TCP) goes to the
/// portmapper port (111) of a target address, usually a broadcast address; every host that
/// answers with a non-zero port within a short window is an instrument. Each one is then asked
/// `*IDN?` over VXI-11 for its description.
///
/// **Opt-in.** Broadcasting on someone's network is not something to do behind their back, so
/// nothing is sent unless the environment variable `LITMUS_LAN_DISCOVER` names the target(s):
///
/// - `LITMUS_LAN_DISCOVER` — IPv4 address(es), comma-separated: `255.255.255.255` (the local
///   network of the default route), a subnet broadcast such as `192.168.1.255` (reaches the
///   instruments on that interface's subnet), or one host's address. Unset or empty: discovery
///   returns no resources and sends nothing. `litmus discover --lan <address>` sets it.
/// - `LITMUS_LAN_DISCOVER_MS` — how long to collect answers, 1 to 60000 ms (default 1000).
/// - `LITMUS_LAN_DISCOVER_IDN` — `0`, `no`, `off` or `false` skips the `*IDN?` queries.
/// - `LITMUS_VXI11_PORTMAP_PORT` — the portmapper port instead of 111 (tests, see
///   ``VXI11Portmapper``).
///
/// Resources are returned as `TCPIP0::<ip>::inst0::INSTR`, sorted by address. Instruments that
/// speak only HiSLIP or raw sockets do not run a portmapper and are not found this way.
enum LANDiscovery {
    static let targetVariable = "LITMUS_LAN_DISCOVER"
    static let windowVariable = "LITMUS_LAN_DISCOVER_MS"
    static let identityVariable = "LITMUS_LAN_DISCOVER_IDN"
    static let defaultWindowMs = 1000
    /// Responders beyond this many are ignored (a /16 broadcast should not exhaust memory).
    static let maxResponders = 1024
    /// Datagrams read per discovery at most, so a flood cannot keep the loop busy.
    static let maxDatagrams = 65536
    /// Connect and `*IDN?` deadline for each responder.
    static let identityTimeoutMs: UInt32 = 1000
    /// `*IDN?` queries in flight at once.
    static let identityConcurrency = 16
    /// Longest description kept from an `*IDN?` answer.
    static let maxIdentityLength = 200

    /// What discovery does this time, from the environment.
    struct Settings: Equatable {
        /// Where the GETPORT datagram goes, as dotted IPv4 text.
        var targets: [String]
        /// The portmapper's UDP port.
        var port: Int
        var windowMs: Int
        var fetchIdentity: Bool
    }

    /// A host whose portmapper answered with a VXI-11 core port.
    struct Responder: Equatable {
        /// Dotted IPv4 text.
        var address: String
        /// The address in host byte order, for sorting.
        var numeric: UInt32
        /// The TCP port of its core channel, from GETPORT.
        var corePort: Int
    }

    // MARK: - Entry point

    /// The driver's `discover`: nothing (and no traffic) unless `LITMUS_LAN_DISCOVER` is set.
    ///
    /// - Throws: `invalidArgument` for an unusable setting, `access` when the system refuses
    ///   to broadcast, `io` when the datagram cannot be sent or received.
    static func discover() throws -> [DriverDescription.Found] {
        guard let settings = try settings() else { return [] }
        let responders = try broadcast(settings)
        let identities: [String?] =
            settings.fetchIdentity ? identities(of: responders) : Array(repeating: nil, count: responders.count)
        return zip(responders, identities).map { responder, identity in
            DriverDescription.Found(resource: resource(for: responder), description: describe(responder, identity: identity))
        }
    }

    static func resource(for responder: Responder) -> String { "TCPIP0::\(responder.address)::inst0::INSTR" }

    static func describe(_ responder: Responder, identity: String?) -> String {
        if let identity, !identity.isEmpty { return "\(identity) (VXI-11 at \(responder.address))" }
        return "VXI-11 instrument at \(responder.address)"
    }

    // MARK: - Settings

    /// The settings, or nil when discovery is off (`LITMUS_LAN_DISCOVER` unset or empty).
    static func settings() throws -> Settings? {
        guard let raw = environment(targetVariable) else { return nil }
        var targets: [String] = []
        for piece in raw.split(separator: ",") {
            let text = piece.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            guard let address = ipv4(text), address != 0 else {
                throw DriverFailure.invalidArgument(
                    "\(targetVariable)=\"\(raw)\": \"\(text)\" is not an IPv4 address to send the VXI-11 discovery datagram to; "
                        + "write a broadcast address such as 255.255.255.255 or 192.168.1.255 (comma-separate several), "
                        + "or unset \(targetVariable) to turn LAN discovery off")
            }
            if !targets.contains(text) { targets.append(text) }
        }
        guard !targets.isEmpty else { return nil }
        var windowMs = defaultWindowMs
        if let text = environment(windowVariable) {
            guard let ms = Int(text), (1...60_000).contains(ms) else {
                throw DriverFailure.invalidArgument(
                    "\(windowVariable)=\"\(text)\" is not a collection window in milliseconds (1 to 60000); unset it for \(defaultWindowMs) ms")
            }
            windowMs = ms
        }
        let fetchIdentity = !["0", "no", "off", "false"].contains(environment(identityVariable)?.lowercased() ?? "")
        return Settings(targets: targets, port: try VXI11Portmapper.portmapperPort(), windowMs: windowMs, fetchIdentity: fetchIdentity)
    }

    /// A variable's trimmed value; nil when unset or blank.
    private static func environment(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let text = String(cString: raw).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }

    /// A dotted-quad IPv4 address in host byte order; nil for anything else (names included:
    /// discovery never resolves names, so it never sends somewhere the user did not write).
    static func ipv4(_ text: String) -> UInt32? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return UInt32(bigEndian: address.s_addr)
    }

    // MARK: - Broadcast

    /// The GETPORT call datagram (UDP carries one whole RPC message: no record marking).
    static func getPortCall(xid: UInt32) -> [UInt8] {
        var w = XDRWriter(capacity: 64)
        ONCRPCCallHeader(
            xid: xid, program: ONCRPCPortmapper.program, version: ONCRPCPortmapper.version,
            procedure: ONCRPCPortmapper.Procedure.getPort.rawValue
        ).encode(into: &w)
        ONCRPCPortmapper.Mapping(program: VXI11Protocol.coreProgram, version: VXI11Protocol.version, transport: ONCRPC.protocolTCP)
            .encode(into: &w)
        return w.bytes
    }

    /// The core port a datagram announces, when it is a successful GETPORT reply to `xid`
    /// with a non-zero port; nil for anything else (other xids, errors, garbage).
    static func corePort(inReply datagram: [UInt8], xid: UInt32) -> Int? {
        guard ONCRPCReply.xid(of: datagram) == xid, let reply = try? ONCRPCReply.decode(datagram), reply.status == .success
        else { return nil }
        var r = XDRReader(datagram, from: reply.resultOffset)
        guard let port = try? ONCRPCPortmapper.decodePort(&r), port != 0 else { return nil }
        return port
    }

    /// Sends the call to every target (again halfway through the window, as UDP may lose
    /// it) and collects the distinct responders until the window closes.
    static func broadcast(_ settings: Settings) throws -> [Responder] {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw DriverFailure.io("LAN discovery: cannot create a UDP socket: \(String(cString: strerror(errno)))", vendorCode: errno)
        }
        defer { close(fd) }
        var on: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            let code = errno
            throw DriverFailure.access(
                "LAN discovery: the system refuses to let this process broadcast (SO_BROADCAST: \(String(cString: strerror(code)))); "
                    + "set \(targetVariable) to one instrument's address instead, or unset it", vendorCode: code)
        }
        let xid = UInt32.random(in: 1...UInt32.max)
        let call = getPortCall(xid: xid)
        let start = Deadline.now
        let end = Deadline(nanoseconds: start + UInt64(settings.windowMs) * 1_000_000)
        let resend = Deadline(nanoseconds: start + UInt64(settings.windowMs) * 500_000)
        try send(call, fd: fd, settings: settings)
        var resent = false

        var found: [UInt32: Responder] = [:]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var datagrams = 0
        while !end.hasPassed && datagrams < maxDatagrams {
            let wake = resent ? end : resend
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, wake.pollTimeout)
            if ready < 0 {
                if errno == EINTR { continue }
                throw DriverFailure.io("LAN discovery: poll on the UDP socket failed: \(String(cString: strerror(errno)))", vendorCode: errno)
            }
            if ready == 0 {
                if !resent {
                    resent = true
                    try send(call, fd: fd, settings: settings)
                }
                continue
            }
            var source = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &source) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &length)
                    }
                }
            }
            if n < 0 {
                // ICMP errors from an earlier send (port unreachable on a unicast target)
                // surface here: that host is simply not an instrument.
                if [EINTR, EAGAIN, EWOULDBLOCK, ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(errno) { continue }
                throw DriverFailure.io("LAN discovery: receiving answers failed: \(String(cString: strerror(errno)))", vendorCode: errno)
            }
            datagrams += 1
            guard Int32(source.sin_family) == AF_INET, let port = corePort(inReply: Array(buffer[0..<n]), xid: xid) else { continue }
            let numeric = UInt32(bigEndian: source.sin_addr.s_addr)
            if found[numeric] == nil && found.count < maxResponders {
                found[numeric] = Responder(address: dotted(numeric), numeric: numeric, corePort: port)
            }
        }
        return found.values.sorted { $0.numeric < $1.numeric }
    }

    /// Sends the call datagram to every target's portmapper port.
    private static func send(_ call: [UInt8], fd: Int32, settings: Settings) throws {
        for target in settings.targets {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(settings.port).bigEndian
            _ = inet_pton(AF_INET, target, &address.sin_addr)
            let n = call.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            if n == call.count { continue }
            let code = n < 0 ? errno : EIO
            let reason = String(cString: strerror(code))
            let what = "LAN discovery: sending the VXI-11 portmapper query to \(target) port \(settings.port) failed (\(reason))"
            switch code {
            case EACCES, EPERM:
                throw DriverFailure.access(
                    "\(what): the system or a firewall does not allow this broadcast; check the firewall's output rules, "
                        + "or set \(targetVariable) to one instrument's address", vendorCode: code)
            case ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL:
                throw DriverFailure.io(
                    "\(what): no network interface reaches that address; use the broadcast address of a connected "
                        + "subnet (see `ip -4 addr`, e.g. 192.168.1.255)", vendorCode: code)
            default:
                throw DriverFailure.io(what, vendorCode: code)
            }
        }
    }

    /// Dotted-quad text of an address in host byte order.
    static func dotted(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
    }

    // MARK: - Identity

    /// Each responder's `*IDN?` answer (nil where it failed), queried a few at a time.
    static func identities(of responders: [Responder]) -> [String?] {
        guard !responders.isEmpty else { return [] }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [String?]
            var next = 0
            init(_ count: Int) { values = Array(repeating: nil, count: count) }
        }
        let results = Results(responders.count)
        let group = DispatchGroup()
        for _ in 0..<min(identityConcurrency, responders.count) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while true {
                    let index: Int? = results.lock.withLock {
                        guard results.next < responders.count else { return nil }
                        results.next += 1
                        return results.next - 1
                    }
                    guard let index else { return }
                    let identity = identity(of: responders[index].address)
                    results.lock.withLock { results.values[index] = identity }
                }
            }
        }
        group.wait()
        return results.values
    }

    /// Opens `TCPIP0::<host>::inst0::INSTR` through the ordinary VXI-11 session, asks `*IDN?`
    /// and returns the answer made printable; nil when the instrument cannot be asked.
    static func identity(of host: String) -> String? {
        var options = LANOptions()
        options.connectTimeoutMs = identityTimeoutMs
        guard let session = try? VXI11Session(host: host, device: "inst0", options: options, services: silentServices) else {
            return nil
        }
        defer { session.close() }
        do {
            try session.setTimeout(milliseconds: identityTimeoutMs)
            _ = try Array("*IDN?\n".utf8).withUnsafeBytes { try session.write($0) }
            var buffer = [UInt8](repeating: 0, count: 1024)
            let outcome = try buffer.withUnsafeMutableBytes { try session.read(into: $0) }
            return printable(Array(buffer[0..<outcome.count]))
        } catch {
            return nil
        }
    }

    /// The answer as one line of printable text, at most ``maxIdentityLength`` characters.
    static func printable(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let cleaned = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        let result = cleaned.count > maxIdentityLength ? String(cleaned.prefix(maxIdentityLength)) + "..." : cleaned
        return result.isEmpty ? nil : result
    }

    /// Host services that drop log messages: the ABI's `discover` entry hands the driver no
    /// services, and the identity sessions only need them for logging.
    static let silentServices: HostServices = {
        let table = UnsafeMutablePointer<litmus_host_services>.allocate(capacity: 1)
        table.initialize(to: litmus_host_services())
        table.pointee.struct_size = UInt32(MemoryLayout<litmus_host_services>.size)
        return HostServices(UnsafePointer(table))
    }()
}
