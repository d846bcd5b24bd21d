import CLitmusDriverABI
import LitmusDriverKit

/// The litmus-mock plugin: the `mock` driver (typed operations from configured behaviours) and
/// the `sim` driver (simulated SCPI instruments), both with the `litmus.mock.v1` extension.
let plugin = DriverPlugin(
    name: "litmus-mock", version: "1.0.0", drivers: [MockDriver.description, SimDriver.description])

@c @implementation
public func litmus_plugin_entry_v1(
    _ host: UnsafePointer<litmus_host_info>?, _ out: UnsafeMutablePointer<litmus_plugin_info>?,
    _ err: OpaquePointer?
) -> litmus_status {
    plugin.enter(host, out, err)
}
