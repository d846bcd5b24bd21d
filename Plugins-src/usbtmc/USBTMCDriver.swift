import CLitmusDriverABI
import LitmusDriverKit
import LitmusUSBTMCProtocol

/// The `usbtmc` driver: USBTMC and USB488 instruments over libusb, for resources
/// `USB0::<vendor id>::<product id>::<serial>::<interface>::INSTR`.
///
/// Messages go as USBTMC bulk transfers and END is the device's EOM; `clear` is USBTMC
/// INITIATE_CLEAR, `read_stb` USB488 READ_STATUS_BYTE (answered on interrupt-IN when the
/// interface has that endpoint), `trigger` the USB488 TRIGGER message. The typed operations
/// `remote`, `local` and `lockout` are USB488 REN_CONTROL, GO_TO_LOCAL and LOCAL_LOCKOUT.
enum USBTMCDriver {
    /// The I/O timeout of a new session.
    static let defaultTimeoutMs: UInt32 = 2000

    /// The typed operations, in table order.
    enum Operation: CaseIterable {
        case remote, local, lockout, indicatorPulse, capabilities

        var description: OperationDescription {
            switch self {
            case .remote:
                OperationDescription(
                    "remote", flags: .writes,
                    help: "USB488 REN_CONTROL: assert Remote Enable (the instrument goes remote on the next message)")
            case .local:
                OperationDescription("local", flags: .writes, help: "USB488 GO_TO_LOCAL: give the front panel back")
            case .lockout:
                OperationDescription(
                    "lockout", flags: .writes, help: "USB488 REN_CONTROL then LOCAL_LOCKOUT: lock the front panel's LOCAL key")
            case .indicatorPulse:
                OperationDescription(
                    "indicator_pulse", flags: .writes, help: "USBTMC INDICATOR_PULSE: blink the instrument's activity light to find it")
            case .capabilities:
                OperationDescription(
                    "capabilities", result: .string, flags: .reads,
                    help: "what GET_CAPABILITIES reported: USBTMC/USB488 versions, termchar, trigger, ren, sr1...")
            }
        }
    }

    static let description = DriverDescription(
        id: "usbtmc", displayName: "USBTMC / USB488 instruments (libusb)", version: "1.0.0", vendor: "Litmus",
        schemes: ["USB"], isSimulated: false,
        openOptions: [
            ParameterDescription(
                "quirks", .string,
                help: "departures from USBTMC to tolerate: none (default), or a comma list of header_once, trust_block_length, "
                    + "max_transfer=<bytes>, any_msgid, ignore_btag. Quirk table: \(USBTMCQuirkTable.summary)",
                optional: true),
            ParameterDescription(
                "termchar", .i64,
                help: "TermChar for read requests (e.g. 10), used only if the device supports it; reads then end at it (default: none)",
                optional: true, range: 0...255),
            ParameterDescription(
                "detach_kernel_driver", .bool,
                help: "detach the kernel usbtmc driver from the interface while open, re-attached on close (default true)",
                optional: true),
            ParameterDescription(
                "abort_budget_ms", .i64, unit: "ms",
                help: "time allowed for the abort sequence after a timeout (default 300)", optional: true, range: 10...10_000),
        ],
        operations: Operation.allCases.map(\.description),
        capabilities: [.messages, .clear, .readStatusByte, .timeout, .trigger],
        readTermination: "\n", writeTermination: "\n",
        extensions: [LITMUS_CANCEL_EXTENSION_V1: UnsafeRawPointer(usbtmcCancelTable)],
        discover: {
            try LibUSB.usbtmcDevices().flatMap { device in
                device.resources.map { DriverDescription.Found(resource: $0.canonical, description: device.label) }
            }
        },
        open: { try USBTMCSession($0) })
}
