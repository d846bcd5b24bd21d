import CLitmusDriverABI
import LitmusDriverKit

let plugin = DriverPlugin(name: "litmus-mock", version: "1.0.0", drivers: [])

@c @implementation
public func litmus_plugin_entry_v1(
    _ host: UnsafePointer<litmus_host_info>?, _ out: UnsafeMutablePointer<litmus_plugin_info>?,
    _ err: OpaquePointer?
) -> litmus_status {
    plugin.enter(host, out, err)
}
