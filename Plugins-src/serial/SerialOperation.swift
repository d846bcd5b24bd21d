import LitmusDriverKit

/// The typed operations of the serial driver, in table order (the index is the ABI's
/// `op_index`).
enum SerialOperation: CaseIterable {
    /// `send_break(duration_ms?: i64 [ms])`: sends what is queued, then holds TX low.
    case sendBreak
    /// `set_dtr(asserted: bool)`
    case setDTR
    /// `set_rts(asserted: bool)`
    case setRTS

    var description: OperationDescription {
        switch self {
        case .sendBreak:
            OperationDescription(
                "send_break",
                params: [
                    ParameterDescription(
                        "duration_ms", .i64, unit: "ms", help: "length of the break (default: the break_ms open option, 250)",
                        optional: true, range: 1...10_000)
                ],
                flags: [.writes, .slow],
                help: "send a break: output drains, then TX is held low for the duration (resets or wakes some instruments)")
        case .setDTR:
            OperationDescription(
                "set_dtr", params: [ParameterDescription("asserted", .bool, help: "true asserts DTR, false clears it")],
                flags: .writes, help: "set the DTR modem line (unsupported on ports without modem lines, e.g. a pty)")
        case .setRTS:
            OperationDescription(
                "set_rts", params: [ParameterDescription("asserted", .bool, help: "true asserts RTS, false clears it")],
                flags: .writes,
                help: "set the RTS modem line (not with flow_control rts_cts, where the kernel drives it)")
        }
    }
}
