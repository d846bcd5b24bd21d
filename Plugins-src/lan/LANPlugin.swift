import CLitmusDriverABI
import LitmusDriverKit

/// The litmus-lan plugin: LAN instruments through one driver, `lan`, that opens raw SCPI
/// sockets (`TCPIP::host::port::SOCKET`), VXI-11 (`TCPIP::host[::inst0]::INSTR`) and HiSLIP
/// (`TCPIP::host::hislip0[,port]::INSTR`).
let plugin = DriverPlugin(name: "litmus-lan", version: "1.0.0", drivers: [LANDriver.description])

@c @implementation
public func litmus_plugin_entry_v1(
    _ host: UnsafePointer<litmus_host_info>?, _ out: UnsafeMutablePointer<litmus_plugin_info>?,
    _ err: OpaquePointer?
) -> litmus_status {
    plugin.enter(host, out, err)
}
