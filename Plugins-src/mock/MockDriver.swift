import CLitmusDriverABI
import LitmusDriverKit

/// The `mock` driver: typed operations answered from configured behaviours (a station role's
/// `mock_config`), patches and built-in defaults. Resources are `MOCK::<name>[::INSTR]`.
enum MockDriver {
    static let description = DriverDescription(
        id: "mock",
        displayName: "Litmus mock instrument",
        version: "1.0.0",
        vendor: "Litmus",
        schemes: ["MOCK"],
        isSimulated: true,
        openOptions: [
            ParameterDescription(
                "config", .string,
                help: "JSON object from operation name to behaviour (the role's mock_config)", optional: true),
            ParameterDescription(
                "operations", .string,
                help: "JSON object from operation name to result type (f64, i64, bool, string, f64[], bytes, void) "
                    + "of the driver this mock stands in for: typed answers, and void operations answer without config",
                optional: true),
            ParameterDescription("seed", .i64, help: "base seed of noise behaviours", optional: true),
            ParameterDescription(
                "trace_limit", .i64, help: "calls kept in the trace (default 100000); later ones are counted as dropped",
                optional: true),
            ParameterDescription(
                "identity", .string, help: "\"Maker,Model,Serial,Firmware\" (default Litmus,Mock,<name>,1.0)",
                optional: true),
        ],
        operations: MockOperation.allCases.map(\.description),
        selfTestResource: "MOCK::selftest::INSTR",
        instrumentTypes: ["dmm", "psu", "eload", "scope", "switch"],
        extensions: [LITMUS_MOCK_EXTENSION_V1: UnsafeRawPointer(mockExtensionTable)],
        open: { try MockSession($0) }
    )
}
