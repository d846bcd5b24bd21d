import Foundation
import LitmusDriverKit
import LitmusLANProtocol

/// Finds the TCP port of an instrument's VXI-11 core channel by asking its portmapper
/// (GETPORT for program 0x0607AF version 1 over TCP).
///
/// The portmapper is on port 111. **Testing aid:** when the environment variable
/// `LITMUS_VXI11_PORTMAP_PORT` holds a port number, that port is asked instead, so tests and
/// benchmarks can run a VXI-11 server (the fake instruments) without root and without the
/// system's rpcbind. It is read at every open; real instruments never need it.
enum VXI11Portmapper {
    /// The environment variable that replaces port 111 (tests only).
    static let portOverrideVariable = "LITMUS_VXI11_PORTMAP_PORT"

    /// The portmapper port to use: 111, or the override.
    static func portmapperPort() throws -> Int {
        guard let raw = getenv(portOverrideVariable) else { return ONCRPCPortmapper.port }
        let text = String(cString: raw).trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return ONCRPCPortmapper.port }
        guard let port = Int(text), (1...65535).contains(port) else {
            throw DriverFailure.invalidArgument(
                "\(portOverrideVariable)=\"\(text)\" is not a port number (1 to 65535); unset it to use the portmapper on port 111")
        }
        return port
    }

    /// Asks the portmapper of `host` for the core channel's port before `deadline`.
    ///
    /// - Throws: `io`/`timeout`/`notFound` when the portmapper cannot be reached (with a hint
    ///   that the instrument may not speak VXI-11), `notFound` when no core channel is
    ///   registered, `protocolViolation` for a malformed answer.
    static func corePort(host: String, deadline: Deadline, services: HostServices) throws -> Int {
        let port = try portmapperPort()
        let hint =
            "the instrument may not support VXI-11 (try TCPIP::\(bracketed(host))::hislip0::INSTR or TCPIP::\(bracketed(host))::5025::SOCKET), "
            + "or a firewall blocks port \(port)"
        let connection: TCPConnection
        do {
            connection = try TCPConnection(host: host, port: port, deadline: deadline)
        } catch let failure as DriverFailure {
            if failure.status == DriverFailure.notFound("").status { throw failure }
            throw DriverFailure(
                status: failure.status, vendorCode: failure.vendorCode,
                "VXI-11: cannot reach the portmapper of \(host) on port \(port): \(failure.message); \(hint)")
        }
        defer { connection.close() }
        let client = ONCRPCClient(
            connection: connection, program: ONCRPCPortmapper.program, version: ONCRPCPortmapper.version,
            channelName: "portmapper connection", services: services)
        let what = "portmapper GETPORT for the VXI-11 core channel at \(connection.peer)"
        let result: ONCRPCResult
        do {
            result = try client.call(
                procedure: ONCRPCPortmapper.Procedure.getPort.rawValue, deadline: deadline, what: what
            ) { w in
                ONCRPCPortmapper.Mapping(program: VXI11Protocol.coreProgram, version: VXI11Protocol.version).encode(into: &w)
            }
        } catch let failure as DriverFailure {
            throw DriverFailure(status: failure.status, vendorCode: failure.vendorCode, "\(failure.message); \(hint)")
        }
        var r = result.reader
        let core: Int
        do {
            core = try ONCRPCPortmapper.decodePort(&r)
        } catch let error as XDRError {
            throw DriverFailure.protocolViolation("\(what): \(error.message)")
        }
        guard core != 0 else {
            throw DriverFailure.notFound(
                "the portmapper of \(host) (port \(port)) has no VXI-11 core service registered (program 0x0607AF version 1, TCP); \(hint)")
        }
        services.log(.debug, component: "lan.vxi11", "portmapper \(connection.peer): VXI-11 core channel on port \(core)")
        return core
    }

    static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
