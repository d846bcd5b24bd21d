import LitmusDriverKit

/// A raw SCPI socket session (`TCPIP::host::port::SOCKET`). STUB: being written.
final class SocketSession: DriverSession {
    init(host: String, port: Int, options: LANOptions, services: HostServices) throws {
        throw DriverFailure.unsupported("raw sockets are not built yet")
    }
}
