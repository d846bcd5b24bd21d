import Foundation
import LitmusLANProtocol
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// LAN discovery (the lan driver's `discover`: a GETPORT datagram for the VXI-11 core program
/// to `LITMUS_LAN_DISCOVER`'s address). Loopback only: every test targets 127.0.0.1.
///
/// An extension of ``VXI11Tests`` so it runs in that serialized suite: both set the
/// process-wide `LITMUS_VXI11_PORTMAP_PORT`.
extension VXI11Tests {
    // MARK: - Helpers

    static let discoveryVariables = [
        "LITMUS_LAN_DISCOVER", "LITMUS_LAN_DISCOVER_MS", "LITMUS_LAN_DISCOVER_IDN", "LITMUS_VXI11_PORTMAP_PORT",
    ]

    /// Runs `body` with the discovery variables set to `values` (nil: unset), then restores them.
    static func withDiscoveryEnvironment<T>(_ values: [String: String?], _ body: () throws -> T) rethrows -> T {
        var saved: [String: String?] = [:]
        for name in discoveryVariables { saved[name] = getenv(name).map { String(cString: $0) } }
        defer {
            for (name, value) in saved {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
        }
        for name in discoveryVariables {
            guard let entry = values[name] else { continue }
            if let value = entry { setenv(name, value, 1) } else { unsetenv(name) }
        }
        return try body()
    }

    static func lanDriver() throws -> DriverInfo { try TestPlugins.registry.driver(id: "lan") }

    /// A UDP socket on 127.0.0.1 (ephemeral port) standing in for a portmapper.
    final class LoopbackUDP: @unchecked Sendable {
        let fd: Int32
        let port: Int

        init() throws {
            let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
            }
            guard s >= 0, bound else {
                if s >= 0 { close(s) }
                throw DriverError(.io, "cannot bind a UDP socket on 127.0.0.1")
            }
            fd = s
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(fd) }

        /// The next datagram and its sender, or nil when none arrives within `ms`.
        func receive(withinMs ms: Int32) -> ([UInt8], sockaddr_in)? {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, ms) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &length) }
                }
            }
            guard n >= 0 else { return nil }
            return (Array(buffer[0..<n]), peer)
        }

        func send(_ bytes: [UInt8], to peer: sockaddr_in) {
            var peer = peer
            _ = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
    }

    /// A portmapper reply datagram (no record marking).
    static func portmapperReply(xid: UInt32, status: ONCRPCReplyStatus = .success, port: UInt32) -> [UInt8] {
        var w = XDRWriter()
        ONCRPCReply.encode(xid: xid, status: status, into: &w)
        if status == .success { w.u32(port) }
        return w.bytes
    }

    // MARK: - Tests

    @Test func discoveryFindsTheFakeVXI11InstrumentOnLoopback() throws {
        let server = try FakeServer("vxi11", ["--serial", "DISC42"])
        defer { server.stop() }
        let found = try Self.withDiscoveryEnvironment([
            "LITMUS_LAN_DISCOVER": "127.0.0.1", "LITMUS_LAN_DISCOVER_MS": "300", "LITMUS_LAN_DISCOVER_IDN": nil,
            "LITMUS_VXI11_PORTMAP_PORT": String(server.port),
        ]) { try Self.lanDriver().discover() }
        #expect(found.count == 1, "\(found)")
        let entry = try #require(found.first)
        #expect(entry.driverID == "lan")
        #expect(entry.resource == "TCPIP0::127.0.0.1::inst0::INSTR")
        #expect(entry.description == "Litmus,FakeInstrument,DISC42,1.0 (VXI-11 at 127.0.0.1)", "\(entry.description)")

        // The resource opens as listed.
        let instrument = try Self.open(server)
        defer { instrument.close() }
        #expect(try instrument.query("*IDN?") == "Litmus,FakeInstrument,DISC42,1.0")
    }

    @Test func discoveryIsOffAndSilentUnlessAsked() throws {
        let listener = try LoopbackUDP()
        for off in [nil, "", "  "] as [String?] {
            let found = try Self.withDiscoveryEnvironment([
                "LITMUS_LAN_DISCOVER": off, "LITMUS_LAN_DISCOVER_MS": "100", "LITMUS_VXI11_PORTMAP_PORT": String(listener.port),
            ]) { try Self.lanDriver().discover() }
            #expect(found.isEmpty)
        }
        #expect(listener.receive(withinMs: 100) == nil, "nothing is sent while LITMUS_LAN_DISCOVER is unset")

        // Control: asked to, it sends the GETPORT call for the VXI-11 core program, as UDP (no record mark).
        let found = try Self.withDiscoveryEnvironment([
            "LITMUS_LAN_DISCOVER": "127.0.0.1", "LITMUS_LAN_DISCOVER_MS": "100", "LITMUS_LAN_DISCOVER_IDN": "0",
            "LITMUS_VXI11_PORTMAP_PORT": String(listener.port),
        ]) { try Self.lanDriver().discover() }
        #expect(found.isEmpty, "nobody answered")
        let (datagram, _) = try #require(listener.receive(withinMs: 500))
        var r = XDRReader(datagram)
        let call = try ONCRPCCallHeader.decode(&r)
        #expect(call.program == ONCRPCPortmapper.program && call.version == ONCRPCPortmapper.version)
        #expect(call.procedure == ONCRPCPortmapper.Procedure.getPort.rawValue)
        let mapping = try ONCRPCPortmapper.Mapping.decode(&r)
        #expect(mapping == ONCRPCPortmapper.Mapping(program: 0x0607AF, version: 1, transport: ONCRPC.protocolTCP, port: 0))
        #expect(r.remaining == 0)
    }

    @Test func discoveryIgnoresBadAnswersAndListsEachResponderOnce() throws {
        let portmapper = try LoopbackUDP()
        // Answers each call (the first and the retransmission) with junk, then twice with port 4242.
        let answering = Thread {
            for _ in 0..<2 {
                guard let (call, peer) = portmapper.receive(withinMs: 2000), let xid = ONCRPCReply.xid(of: call) else { return }
                portmapper.send([0xFF, 0x00, 0x13], to: peer)
                portmapper.send(Array(repeating: 0, count: 7), to: peer)
                portmapper.send(Self.portmapperReply(xid: xid &+ 1, port: 5000), to: peer)
                portmapper.send(Self.portmapperReply(xid: xid, port: 0), to: peer)
                portmapper.send(Self.portmapperReply(xid: xid, port: 70000), to: peer)
                portmapper.send(Self.portmapperReply(xid: xid, status: .programUnavailable, port: 0), to: peer)
                portmapper.send(Array(call), to: peer)  // a call, not a reply
                portmapper.send(Self.portmapperReply(xid: xid, port: 4242), to: peer)
                portmapper.send(Self.portmapperReply(xid: xid, port: 4242), to: peer)
            }
        }
        answering.start()
        let found = try Self.withDiscoveryEnvironment([
            "LITMUS_LAN_DISCOVER": "127.0.0.1", "LITMUS_LAN_DISCOVER_MS": "300", "LITMUS_LAN_DISCOVER_IDN": "off",
            "LITMUS_VXI11_PORTMAP_PORT": String(portmapper.port),
        ]) { try Self.lanDriver().discover() }
        #expect(found.map(\.resource) == ["TCPIP0::127.0.0.1::inst0::INSTR"])
        #expect(found.first?.description == "VXI-11 instrument at 127.0.0.1")
        // The thread ends by itself: after two calls, or 2 s without one.
    }

    @Test func discoveryWithoutAnIdentityStillListsTheInstrument() throws {
        // A responder whose VXI-11 channel cannot be reached (no TCP listener): described by address.
        let portmapper = try LoopbackUDP()
        let answering = Thread {
            while let (call, peer) = portmapper.receive(withinMs: 1000), let xid = ONCRPCReply.xid(of: call) {
                portmapper.send(Self.portmapperReply(xid: xid, port: 1), to: peer)
            }
        }
        answering.start()
        let found = try Self.withDiscoveryEnvironment([
            "LITMUS_LAN_DISCOVER": "127.0.0.1", "LITMUS_LAN_DISCOVER_MS": "200", "LITMUS_LAN_DISCOVER_IDN": nil,
            "LITMUS_VXI11_PORTMAP_PORT": String(portmapper.port),
        ]) { try Self.lanDriver().discover() }
        #expect(found.map(\.resource) == ["TCPIP0::127.0.0.1::inst0::INSTR"])
        #expect(found.first?.description == "VXI-11 instrument at 127.0.0.1")
    }

    @Test func badDiscoverySettingsFailWithAClearMessage() throws {
        let cases: [([String: String?], [String])] = [
            (["LITMUS_LAN_DISCOVER": "not-an-address"], ["LITMUS_LAN_DISCOVER", "\"not-an-address\" is not an IPv4 address", "255.255.255.255"]),
            (["LITMUS_LAN_DISCOVER": "300.1.1.1"], ["\"300.1.1.1\" is not an IPv4 address"]),
            (["LITMUS_LAN_DISCOVER": "0.0.0.0"], ["\"0.0.0.0\" is not an IPv4 address"]),
            (["LITMUS_LAN_DISCOVER": "::1"], ["\"::1\" is not an IPv4 address"]),
            (["LITMUS_LAN_DISCOVER": "127.0.0.1", "LITMUS_LAN_DISCOVER_MS": "soon"], ["LITMUS_LAN_DISCOVER_MS=\"soon\"", "1 to 60000"]),
            (["LITMUS_LAN_DISCOVER": "127.0.0.1", "LITMUS_LAN_DISCOVER_MS": "0"], ["LITMUS_LAN_DISCOVER_MS=\"0\""]),
            (["LITMUS_LAN_DISCOVER": "127.0.0.1", "LITMUS_VXI11_PORTMAP_PORT": "99999"], ["LITMUS_VXI11_PORTMAP_PORT=\"99999\""]),
        ]
        for (values, phrases) in cases {
            var all: [String: String?] = ["LITMUS_LAN_DISCOVER_MS": nil, "LITMUS_VXI11_PORTMAP_PORT": "1"]
            all.merge(values) { $1 }
            let error = Self.failure { _ = try Self.withDiscoveryEnvironment(all) { try Self.lanDriver().discover() } }
            #expect(error?.status == .invalidArgument, "\(values): \(String(describing: error))")
            for phrase in phrases {
                #expect(error?.message.contains(phrase) == true, "\(values): \(error?.message ?? "no error")")
            }
        }
    }

    @Test func discoverCommandLanOptionFindsTheFake() throws {
        let server = try FakeServer("vxi11")
        defer { server.stop() }
        var environment = ProcessInfo.processInfo.environment
        environment["LITMUS_LAN_DISCOVER"] = nil
        environment["LITMUS_LAN_DISCOVER_IDN"] = nil
        environment["LITMUS_LAN_DISCOVER_MS"] = "300"
        environment["LITMUS_VXI11_PORTMAP_PORT"] = String(server.port)
        let litmus = "\(TestPlugins.buildDirectory)/litmus"
        let r = try TestPlugins.run(litmus, ["discover", "--json", "--driver", "lan", "--lan", "127.0.0.1"], environment: environment)
        #expect(r.status == 0, "\(r.output)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [[String: String]], "\(r.output)")
        #expect(rows.count == 1, "\(rows)")
        #expect(rows.first?["resource"] == "TCPIP0::127.0.0.1::inst0::INSTR")
        #expect(rows.first?["description"]?.hasPrefix("Litmus,FakeInstrument,") == true, "\(rows)")

        // Without --lan the lan driver sends nothing and finds nothing.
        let quiet = try TestPlugins.run(litmus, ["discover", "--json", "--driver", "lan"], environment: environment)
        #expect(quiet.status == 0, "\(quiet.output)")
        #expect((try JSONSerialization.jsonObject(with: Data(quiet.output.utf8)) as? [Any])?.isEmpty == true, "\(quiet.output)")

        // A bad address is a warning naming the problem; the command still succeeds.
        let bad = try TestPlugins.run(litmus, ["discover", "--driver", "lan", "--lan", "my-lab"], environment: environment)
        #expect(bad.status == 0, "\(bad.output)")
        #expect(bad.output.contains("warning: driver lan could not discover resources"), "\(bad.output)")
        #expect(bad.output.contains("\"my-lab\" is not an IPv4 address"), "\(bad.output)")
    }
}
