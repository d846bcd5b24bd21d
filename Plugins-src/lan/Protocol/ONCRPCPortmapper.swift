// The ONC RPC portmapper (program 100000, version 2, RFC 1833), which a VXI-11 instrument
// runs on port 111 to say on which TCP port its core channel listens.

/// Portmapper constants and the GETPORT codec.
public enum ONCRPCPortmapper {
    public static let program: UInt32 = 100_000
    public static let version: UInt32 = 2
    /// The well-known port of the portmapper.
    public static let port = 111

    /// Procedure numbers.
    public enum Procedure: UInt32, Sendable {
        case null = 0
        case set = 1
        case unset = 2
        case getPort = 3
        case dump = 4
    }

    /// The argument of GETPORT (and SET/UNSET): which program, version and transport.
    public struct Mapping: Equatable, Sendable {
        public var program: UInt32
        public var version: UInt32
        /// ``ONCRPC/protocolTCP`` or ``ONCRPC/protocolUDP``.
        public var transport: UInt32
        public var port: UInt32

        public init(program: UInt32, version: UInt32, transport: UInt32 = ONCRPC.protocolTCP, port: UInt32 = 0) {
            self.program = program
            self.version = version
            self.transport = transport
            self.port = port
        }

        public func encode(into w: inout XDRWriter) {
            w.u32(program)
            w.u32(version)
            w.u32(transport)
            w.u32(port)
        }

        public static func decode(_ r: inout XDRReader) throws -> Mapping {
            Mapping(
                program: try r.u32("the program"), version: try r.u32("the version"),
                transport: try r.u32("the transport"), port: try r.u32("the port"))
        }
    }

    /// Decodes GETPORT's result: the port, 0 when the program is not registered. Throws on a
    /// value no TCP port can have.
    public static func decodePort(_ r: inout XDRReader) throws -> Int {
        let port = try r.u32("the port")
        guard port <= 65535 else { throw XDRError("the portmapper answered port \(port), which is not a TCP port") }
        return Int(port)
    }
}
