import LitmusDriverKit

/// The `serial` driver. STUB: being written.
enum SerialDriver {
    static let description = DriverDescription(
        id: "serial", displayName: "Serial instruments (RS-232, USB serial adapters)", version: "1.0.0", vendor: "Litmus",
        schemes: ["ASRL"], isSimulated: false, capabilities: [.messages],
        readTermination: "\n", writeTermination: "\n",
        open: { _ in throw DriverFailure.unsupported("serial is not built yet") })
}
