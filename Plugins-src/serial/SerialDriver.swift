import LitmusDriverKit

/// The `serial` driver: SCPI and other line-based instruments on RS-232 ports and USB serial
/// adapters (FTDI, CP210x, CH340, USB-CDC ACM), through termios.
///
/// Resources (see ``SerialResource``): `ASRL/dev/ttyUSB0::INSTR`,
/// `ASRL/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K-if00-port0::INSTR` (stable across
/// replugging: prefer it), `ASRL3::INSTR` (= `/dev/ttyS2`, counting from 1 like `COM3`).
///
/// Open options (VISA's defaults):
///
/// | option | values | default |
/// |---|---|---|
/// | `baud` | a standard rate, 50 ... 4000000 | 9600 |
/// | `data_bits` | 5 ... 8 | 8 |
/// | `parity` | none, odd, even, mark, space | none |
/// | `stop_bits` | "1", "1.5" (only with 5 data bits), "2" | "1" |
/// | `flow_control` | none, xon_xoff, rts_cts (dtr_dsr is refused: Linux has no DTR/DSR handshake) | none |
/// | `end_input` | termchar (the host's read termination ends replies), none (silence ends them) | termchar |
/// | `char_timeout_ms` | inter-character timeout; 0 off | 0 (100 with end_input none) |
/// | `break_ms` | default length of `send_break` | 250 |
/// | `dtr`, `rts` | assert the line at open | true, true |
/// | `exclusive` | lock the port (flock + TIOCEXCL) | true |
/// | `drain` | wait after each write until the port has sent it | false |
/// | `read_termination` | the host's read termination; its last byte stops a collecting read early | "\n" |
///
/// With `xon_xoff`, bytes 0x11 and 0x13 are flow control, not data: binary blocks that contain
/// them need `rts_cts` or `none`.
///
/// Decisions, and where they differ from VISA:
///
/// - **Numbered ports.** `ASRL<n>` is `/dev/ttyS<n-1>`, as VISA's `ASRL<n>` is `COM<n>`;
///   `ASRLCOM<n>` means the same. `ASRL0` is refused. USB adapters have no stable number: name
///   them by path, preferably under `/dev/serial/by-id/`.
/// - **`end_input`.** The host applies the read termination itself (it keeps bytes after the
///   terminator for the next read, and reads binary blocks by exact length), so the driver
///   never stops at a termination character by itself: with `termchar` every read reports a
///   byte stream (`LITMUS_OK_PARTIAL`). Reporting END at a 0x0A would break binary blocks,
///   whose payload holds 0x0A. `none` is for instruments whose replies have no terminator: the
///   driver reports END once the line is silent for `char_timeout_ms` (default 100 ms); open
///   with `read_termination` "" as well, so the host does not also cut at LF. A pause longer
///   than `char_timeout_ms` inside a binary block then ends the block early (an error naming
///   the bytes received): raise `char_timeout_ms` for slow instruments.
/// - **`char_timeout_ms`.** After the first byte of a read, the driver keeps collecting until
///   the buffer is full or no byte came for this long, then returns what it has. With
///   `termchar` it also stops at once when the bytes end with the last byte of the read
///   termination (the `read_termination` open option, default LF), so a complete reply costs
///   no extra wait. Without it (default), a read returns as soon as any bytes are there.
/// - **Stop bits "1.5".** POSIX termios has one CSTOPB flag: with 5 data bits a 16550-type UART
///   sends 1.5 stop bits for it, otherwise 2. So "1.5" needs `data_bits` 5, and "1.5" and "2"
///   set the same flag.
/// - **`dtr_dsr`.** Linux termios has no DTR/DSR handshake; it is refused with
///   `LITMUS_E_UNSUPPORTED` rather than silently running without flow control.
/// - **Exclusive use.** `exclusive` (default) takes `flock(LOCK_EX)` and `TIOCEXCL`; a
///   non-exclusive session takes `flock(LOCK_SH)`, so it shares the port with other
///   non-exclusive sessions but never with an exclusive one. flock matters because root
///   bypasses TIOCEXCL. A busy error names the process holding the lock (from /proc/locks).
/// - **Settings are read back** after `tcsetattr`, and an adapter that silently kept another
///   value (a CP210x refusing 5 data bits, say) is an error. A pseudo-terminal is the exception:
///   Linux keeps it CS8 without parity, and ptys carry simulators and socat bridges.
/// - **No clear, status byte or trigger on the wire.** `clear()` discards both queues of the
///   port (and resumes output stopped by an XOFF); it cannot reach the instrument's output
///   queue. `read_stb` and `trigger` are unsupported: send `*STB?` or `*TRG` as commands.
/// - **Discovery** never opens a port (opening asserts DTR, which resets many USB boards).
enum SerialDriver {
    static let openOptions: [ParameterDescription] = [
        ParameterDescription(
            "baud", .i64, unit: "Bd",
            help: "line speed, a standard rate: 50, 75, 110, ... 9600, 19200, 38400, 57600, 115200, ... 4000000 (default 9600)",
            optional: true, range: 50...4_000_000),
        ParameterDescription("data_bits", .i64, help: "data bits per character (default 8)", optional: true, range: 5...8),
        ParameterDescription(
            "parity", .string, help: "parity bit (default none)", optional: true,
            choices: SerialSettings.Parity.allCases.map(\.rawValue)),
        ParameterDescription(
            "stop_bits", .string, help: "stop bits (default \"1\"; \"1.5\" only with 5 data bits)", optional: true,
            choices: SerialSettings.StopBits.allCases.map(\.rawValue)),
        ParameterDescription(
            "flow_control", .string,
            help: "handshake (default none); dtr_dsr is refused: Linux termios has no DTR/DSR handshake", optional: true,
            choices: SerialSettings.FlowControl.allCases.map(\.rawValue)),
        ParameterDescription(
            "end_input", .string,
            help: "how replies end: termchar (the read termination, found by the host; default) or none (the line goes "
                + "silent for char_timeout_ms)",
            optional: true, choices: SerialSettings.EndInput.allCases.map(\.rawValue)),
        ParameterDescription(
            "char_timeout_ms", .i64, unit: "ms",
            help: "inter-character timeout: after the first byte, a read returns what it has once no byte came for this "
                + "long (default 0 = off; 100 with end_input none)",
            optional: true, range: 0...60_000),
        ParameterDescription(
            "break_ms", .i64, unit: "ms", help: "length of a break sent by send_break (default 250)", optional: true,
            range: 1...10_000),
        ParameterDescription("dtr", .bool, help: "assert DTR when opening (default true)", optional: true),
        ParameterDescription(
            "rts", .bool, help: "assert RTS when opening (default true; the kernel drives it with rts_cts)", optional: true),
        ParameterDescription(
            "exclusive", .bool,
            help: "lock the port so no other session or program opens it (flock + TIOCEXCL; default true)", optional: true),
        ParameterDescription(
            "drain", .bool, help: "after each write, wait until the port has sent every byte (default false)",
            optional: true),
        ParameterDescription(
            "read_termination", .string,
            help: "bytes that end a reply (default \"\\n\"); the host strips them, the driver stops a char_timeout_ms read "
                + "at their last byte",
            optional: true),
    ]

    static let description = DriverDescription(
        id: "serial",
        displayName: "Serial instruments (RS-232, USB serial adapters)",
        version: "1.0.0",
        vendor: "Litmus",
        schemes: ["ASRL"],
        isSimulated: false,
        openOptions: openOptions,
        operations: SerialOperation.allCases.map(\.description),
        capabilities: [.messages, .clear, .timeout],
        readTermination: "\n",
        writeTermination: "\n",
        discover: {
            SerialPortCatalog.ports().map { DriverDescription.Found(resource: $0.resource, description: $0.description) }
        },
        open: { request in
            let resource = try SerialResource(request.resource)
            let settings = try SerialSettings(request.options)
            return try SerialSession(resource: resource, settings: settings, services: request.services)
        }
    )
}
