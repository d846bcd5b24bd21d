import CLitmusDriverABI
import LitmusDriverKit

/// The `sim` driver: simulated message-based SCPI instruments described in YAML (or the
/// built-in `dmm` and `psu`), in the manner of pyvisa-sim. Resources are
/// `SIM::<device>[::INSTR]`; with a pyvisa-sim device file as `description`, `SIM::<a resource
/// of the file>` (e.g. `SIM::ASRL1::INSTR`), answering as pyvisa-sim does.
enum SimDriver {
    static let description = DriverDescription(
        id: "sim",
        displayName: "Litmus simulated SCPI instrument",
        version: "1.0.0",
        vendor: "Litmus",
        schemes: ["SIM"],
        isSimulated: true,
        openOptions: [
            ParameterDescription(
                "description", .string, help: "path of a YAML device-description file, or of a pyvisa-sim device file (then open SIM::<its resource>, e.g. SIM::ASRL1::INSTR); default: built-in dmm and psu",
                optional: true),
            ParameterDescription(
                "max_read_chunk", .i64, help: "at most this many bytes per read, to exercise reassembly",
                optional: true, range: 1...Double(Int64.max)),
            ParameterDescription(
                "stream", .bool, help: "behave like a byte stream: reads never mark the end of a message",
                optional: true),
            ParameterDescription(
                "trace_limit", .i64, help: "calls kept in the trace (default 100000); later ones are counted as dropped",
                optional: true),
        ],
        capabilities: [.messages, .clear, .readStatusByte, .timeout, .trigger],
        selfTestResource: "SIM::dmm::INSTR",
        readTermination: "\n",
        writeTermination: "\n",
        instrumentTypes: ["dmm", "psu", "eload", "switch"],
        extensions: [LITMUS_MOCK_EXTENSION_V1: UnsafeRawPointer(mockExtensionTable)],
        discover: {
            try BuiltinDevices.devices.get().map {
                DriverDescription.Found(resource: "SIM::\($0.name)::INSTR", description: "\($0.identity) (built-in simulated device)")
            }
        },
        open: { try SimSession($0) }
    )
}
