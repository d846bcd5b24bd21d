import LitmusDriverKit

/// A VXI-11 session (`TCPIP::host[::inst0]::INSTR`). STUB: being written.
final class VXI11Session: DriverSession {
    init(host: String, device: String, options: LANOptions, services: HostServices) throws {
        throw DriverFailure.unsupported("VXI-11 is not built yet")
    }
}
