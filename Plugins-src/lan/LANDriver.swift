import CLitmusDriverABI
import LitmusDriverKit

/// The `lan` driver: one driver for the three LAN protocols, chosen by the resource.
enum LANDriver {
    static let description = DriverDescription(
        id: "lan",
        displayName: "LAN instruments: raw SCPI socket, VXI-11, HiSLIP",
        version: "1.0.0",
        vendor: "Litmus",
        schemes: ["TCPIP"],
        isSimulated: false,
        openOptions: [
            ParameterDescription(
                "connect_timeout_ms", .i64, unit: "ms", help: "deadline for connecting (and the protocol's handshake); default 5000",
                optional: true, range: 1...600_000),
            ParameterDescription(
                "lock", .bool, help: "VXI-11 and HiSLIP: take the instrument's exclusive lock when opening (default false)",
                optional: true),
            ParameterDescription(
                "lock_timeout_ms", .i64, unit: "ms", help: "VXI-11 and HiSLIP: how long to wait for a lock another client holds (default 0)",
                optional: true, range: 0...3_600_000),
        ],
        operations: LANOperation.descriptions,
        capabilities: [.messages, .clear, .readStatusByte, .timeout, .trigger],
        readTermination: "\n",
        writeTermination: "\n",
        instrumentTypes: [],
        extensions: [LITMUS_CANCEL_EXTENSION_V1: UnsafeRawPointer(lanCancelTable)],
        discover: { try LANDiscovery.discover() },
        open: { request in
            let address = try LANAddress(request.resource)
            let options = LANOptions(request.options)
            switch address.endpoint {
            case .socket(let port):
                return try SocketSession(host: address.host, port: port, options: options, services: request.services)
            case .vxi11(let device):
                return try VXI11Session(host: address.host, device: device, options: options, services: request.services)
            case .hislip(let subaddress, let port):
                return try HiSLIPSession(host: address.host, subaddress: subaddress, port: port, options: options, services: request.services)
            }
        }
    )
}

/// The open options every LAN session understands.
struct LANOptions {
    /// Deadline for connect and handshake, in milliseconds.
    var connectTimeoutMs: UInt32 = 5000
    /// Take the device's exclusive lock at open (VXI-11, HiSLIP).
    var lock = false
    /// How long to wait for a lock held by another client, in milliseconds.
    var lockTimeoutMs: UInt32 = 0

    init() {}

    init(_ options: OpenOptions) {
        if let v = options.int("connect_timeout_ms") { connectTimeoutMs = UInt32(clamping: v) }
        if let v = options.bool("lock") { lock = v }
        if let v = options.int("lock_timeout_ms") { lockTimeoutMs = UInt32(clamping: v) }
    }
}

/// A LAN resource string, as the host passes it (canonical VISA form):
/// `TCPIP0::10.0.0.5::5025::SOCKET`, `TCPIP0::[fe80::1%eth0]::inst0::INSTR`,
/// `TCPIP0::host::hislip0,4880::INSTR`.
struct LANAddress: Equatable {
    enum Endpoint: Equatable {
        case socket(port: Int)
        /// VXI-11: the LAN device name (`inst0`, or a gateway name such as `gpib0,5`).
        case vxi11(device: String)
        case hislip(subaddress: String, port: Int)
    }

    /// A host name or address; IPv6 without brackets.
    var host: String
    var endpoint: Endpoint

    init(host: String, endpoint: Endpoint) {
        self.host = host
        self.endpoint = endpoint
    }

    init(_ resource: String) throws {
        func bad(_ why: String) -> DriverFailure {
            DriverFailure.invalidArgument(
                "\"\(resource)\" is not a LAN resource (\(why)); write TCPIP::host::port::SOCKET, TCPIP::host::INSTR (VXI-11) "
                    + "or TCPIP::host::hislip0::INSTR")
        }
        // Split on "::" outside brackets (IPv6 addresses contain "::").
        var parts: [String] = []
        var current = ""
        var depth = 0
        var chars = Array(resource)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "[" { depth += 1 }
            if c == "]" { depth = max(0, depth - 1) }
            if depth == 0 && c == ":" && i + 1 < chars.count && chars[i + 1] == ":" {
                parts.append(current)
                current = ""
                i += 2
                continue
            }
            current.append(c)
            i += 1
        }
        parts.append(current)
        chars = []
        guard parts.count >= 2, parts[0].uppercased().hasPrefix("TCPIP") else { throw bad("it does not start with TCPIP") }
        var host = parts[1]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw bad("no host") }
        self.host = host
        let rest = Array(parts.dropFirst(2))
        let cls = rest.last?.uppercased()
        switch (cls, rest.count) {
        case ("SOCKET", 2):
            guard let port = Int(rest[0]), (1...65535).contains(port) else { throw bad("the port must be 1 to 65535") }
            endpoint = .socket(port: port)
        case ("INSTR", 1), (nil, 0):
            endpoint = .vxi11(device: "inst0")
        case ("INSTR", 2):
            let device = rest[0]
            if device.lowercased().hasPrefix("hislip") {
                let pieces = device.split(separator: ",", omittingEmptySubsequences: false)
                var port = 4880
                if pieces.count == 2 {
                    guard let p = Int(pieces[1]), (1...65535).contains(p) else { throw bad("the HiSLIP port must be 1 to 65535") }
                    port = p
                } else if pieces.count > 2 {
                    throw bad("a HiSLIP device is hislip<n>[,port]")
                }
                endpoint = .hislip(subaddress: String(pieces[0]), port: port)
            } else {
                guard !device.isEmpty else { throw bad("empty LAN device name") }
                endpoint = .vxi11(device: device)
            }
        default:
            throw bad("unexpected parts")
        }
    }
}
