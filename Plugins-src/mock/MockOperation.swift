import LitmusDriverKit

/// The operations of the mock driver's own table: the recommended vocabulary of instrument
/// operations, covering every value type. The raw value is the operation's index in the table.
enum MockOperation: Int, CaseIterable {
    case measureDCVoltage
    case measureDCCurrent
    case measureResistance
    case measureVoltage
    case measureCurrent
    case setVoltage
    case setCurrentLimit
    case enableOutput
    case disableOutput
    case outputEnabled
    case setFunction
    case readCount
    case identify
    case capture
    case readRaw
    case closeChannels
    case openChannels
    case openAll

    /// The operation's entry in the driver's operation table.
    var description: OperationDescription {
        let channel = ParameterDescription(
            "channel", .i64, help: "channel number; omitted: the instrument's default channel", optional: true,
            isChannel: true)
        switch self {
        case .measureDCVoltage:
            return .init("measure_dc_voltage", result: .f64, resultUnit: "V", flags: .reads, help: "DC voltage")
        case .measureDCCurrent:
            return .init("measure_dc_current", result: .f64, resultUnit: "A", flags: .reads, help: "DC current")
        case .measureResistance:
            return .init("measure_resistance", result: .f64, resultUnit: "Ohm", flags: .reads, help: "resistance")
        case .measureVoltage:
            return .init(
                "measure_voltage", params: [channel], result: .f64, resultUnit: "V", flags: .reads,
                help: "voltage of a channel")
        case .measureCurrent:
            return .init(
                "measure_current", params: [channel], result: .f64, resultUnit: "A", flags: .reads,
                help: "current of a channel")
        case .setVoltage:
            return .init(
                "set_voltage",
                params: [.init("voltage", .f64, unit: "V", help: "output voltage setpoint", range: 0...60), channel],
                flags: .writes, help: "sets the output voltage")
        case .setCurrentLimit:
            return .init(
                "set_current_limit",
                params: [.init("current", .f64, unit: "A", help: "current limit", range: 0...20), channel],
                flags: .writes, help: "sets the current limit")
        case .enableOutput:
            return .init("enable_output", params: [channel], flags: .writes, help: "switches an output on")
        case .disableOutput:
            return .init("disable_output", params: [channel], flags: .writes, help: "switches an output off")
        case .outputEnabled:
            return .init(
                "output_enabled", params: [channel], result: .bool, flags: .reads,
                help: "whether an output is on (as last set by enable_output / disable_output)")
        case .setFunction:
            return .init(
                "set_function",
                params: [.init("function", .string, help: "measurement function", choices: ["DCV", "ACV", "DCI", "ACI", "RES"])],
                flags: .writes, help: "selects the measurement function")
        case .readCount:
            return .init("read_count", result: .i64, flags: .reads, help: "a counter reading")
        case .identify:
            return .init(
                "identify", result: .string, flags: .reads, help: "the identity string \"Maker,Model,Serial,Firmware\"")
        case .capture:
            return .init(
                "capture",
                params: [.init("points", .i64, help: "number of points", optional: true, range: 1...10_000_000)],
                result: .f64Array, resultUnit: "V", flags: [.reads, .slow], help: "captures a waveform")
        case .readRaw:
            return .init("read_raw", result: .bytes, flags: .reads, help: "raw bytes from the instrument")
        case .closeChannels:
            return .init(
                "close_channels", params: [.init("channels", .string, help: "channel list, e.g. \"101,102\"")],
                flags: .writes, help: "closes switch channels")
        case .openChannels:
            return .init(
                "open_channels", params: [.init("channels", .string, help: "channel list, e.g. \"101,102\"")],
                flags: .writes, help: "opens switch channels")
        case .openAll:
            return .init("open_all", flags: .writes, help: "opens every switch channel")
        }
    }
}
