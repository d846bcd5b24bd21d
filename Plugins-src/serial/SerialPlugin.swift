import CLitmusDriverABI
import LitmusDriverKit

/// The litmus-serial plugin: the `serial` driver for `ASRL<device>::INSTR` resources.
let plugin = DriverPlugin(name: "litmus-serial", version: "1.0.0", drivers: [SerialDriver.description])

@c @implementation
public func litmus_plugin_entry_v1(
    _ host: UnsafePointer<litmus_host_info>?, _ out: UnsafeMutablePointer<litmus_plugin_info>?,
    _ err: OpaquePointer?
) -> litmus_status {
    plugin.enter(host, out, err)
}
