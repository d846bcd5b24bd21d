import LitmusDriverKit

/// A HiSLIP session (`TCPIP::host::hislip0[,port]::INSTR`). STUB: being written.
final class HiSLIPSession: DriverSession {
    init(host: String, subaddress: String, port: Int, options: LANOptions, services: HostServices) throws {
        throw DriverFailure.unsupported("HiSLIP is not built yet")
    }
}
