import CLibUSB
import LitmusDriverKit
import LitmusUSBTMCProtocol

/// The `usbtmc` driver. STUB: being written.
enum USBTMCDriver {
    static let description = DriverDescription(
        id: "usbtmc", displayName: "USBTMC / USB488 instruments (libusb)", version: "1.0.0", vendor: "Litmus",
        schemes: ["USB"], isSimulated: false, capabilities: [.messages],
        readTermination: "\n", writeTermination: "\n",
        open: { _ in throw DriverFailure.unsupported("USBTMC is not built yet") })
}
