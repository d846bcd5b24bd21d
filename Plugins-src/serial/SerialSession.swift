#if canImport(Glibc)
import Glibc
#endif
import LitmusDriverKit

/// One session on a serial instrument (`ASRL<device>::INSTR`).
///
/// A serial line is a byte stream with no end-of-message mark, so reads report
/// `LITMUS_OK_PARTIAL` and the host finds each reply's end with its read termination, keeping
/// any bytes after it for the next read (`end_input` `termchar`, the default). For instruments
/// whose replies carry no terminator, `end_input` `none` makes the driver report END once the
/// line has been silent for `char_timeout_ms`.
///
/// Reads are buffered: one `poll` and one `read` take everything the port holds, up to the
/// caller's buffer, never a byte per system call. Each host call has one deadline, the session
/// timeout (default 2000 ms). Writes send every byte before that deadline, then optionally wait
/// until the port has sent them (`drain`).
///
/// Serial has no device clear, status byte or trigger: ``clear()`` discards both queues of the
/// port (the instrument's own output queue is out of reach: send `*CLS` if it needs one), and
/// `readStatusByte` and `trigger` are unsupported (send `*STB?` or `*TRG` as commands).
final class SerialSession: DriverSession {
    let port: SerialPort
    let settings: SerialSettings
    private let services: HostServices
    private var timeoutMs: UInt32 = 2000
    /// Bytes read since the last write: tells "no reply at all" from "a reply that stopped".
    private var receivedSinceWrite = 0

    init(resource: SerialResource, settings: SerialSettings, services: HostServices) throws {
        self.settings = settings
        self.services = services
        port = try SerialPort(device: resource.device, settings: settings) { message in
            services.log(.debug, component: "serial", message)
        }
        services.log(
            .debug, component: "serial",
            "opened \(resource.device) at \(settings.summary), end_input \(settings.endInput.rawValue)"
                + (settings.charTimeoutMs > 0 ? ", char_timeout_ms \(settings.charTimeoutMs)" : ""))
    }

    // MARK: - Messages

    func write(_ data: UnsafeRawBufferPointer) throws -> Int {
        let deadline = Deadline.after(milliseconds: timeoutMs)
        receivedSinceWrite = 0
        var sent = 0
        while sent < data.count {
            let n = try port.writeAvailable(UnsafeRawBufferPointer(rebasing: data[sent...]))
            if n > 0 {
                sent += n
                continue
            }
            guard try port.waitWritable(until: deadline) else {
                throw DriverFailure.timeout(
                    "write to \(port.device) timed out after \(timeoutMs) ms with \(sent) of \(data.count) bytes sent: "
                        + "the port stopped accepting data\(stallHint)")
            }
        }
        if settings.drain {
            guard try port.drain(until: deadline, characterNanoseconds: settings.characterNanoseconds) else {
                throw DriverFailure.timeout(
                    "write to \(port.device): all \(data.count) bytes were queued but \(port.outputQueued() ?? 0) were still "
                        + "unsent after \(timeoutMs) ms (drain)\(stallHint)")
            }
        }
        return sent
    }

    /// Why output might stall, by flow control.
    private var stallHint: String {
        switch settings.flowControl {
        case .rtsCts: "; with rts_cts flow control the instrument holds CTS off (check the cable carries RTS/CTS)"
        case .xonXoff: "; with xon_xoff flow control the instrument sent XOFF and no XON (clear() resumes output)"
        case .none, .dtrDsr: ""
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadOutcome {
        guard buffer.count > 0 else { return ReadOutcome(count: 0, end: .partial) }
        let deadline = Deadline.after(milliseconds: timeoutMs)
        var have = 0
        // A reply under way usually has bytes waiting: try them before sleeping in poll.
        if receivedSinceWrite > 0 { have = try port.readAvailable(into: buffer) }
        while have == 0 {
            guard try port.waitReadable(until: deadline) else { throw readTimeout() }
            have = try port.readAvailable(into: buffer)
        }
        var silent = false
        if settings.charTimeoutMs > 0 {
            (have, silent) = collect(into: buffer, have: have, deadline: deadline)
        }
        receivedSinceWrite += have
        switch settings.endInput {
        case .termchar:
            return ReadOutcome(count: have, end: .partial)
        case .none:
            if silent { return ReadOutcome(count: have, end: .endOfMessage) }
            return ReadOutcome(count: have, end: have == buffer.count ? .bufferFull : .partial)
        }
    }

    /// After the first bytes: keeps reading until the buffer is full, the line stays silent
    /// for `char_timeout_ms` (`silent`), the session deadline passes, or (with `end_input`
    /// `termchar`) the bytes so far end with the termination character. An error after data
    /// ends the read with that data; the next call reports it.
    private func collect(
        into buffer: UnsafeMutableRawBufferPointer, have start: Int, deadline: Deadline
    ) -> (count: Int, silent: Bool) {
        var have = start
        while have < buffer.count {
            if settings.endInput == .termchar, let t = settings.termchar, buffer[have - 1] == t { break }
            let gap = Deadline.after(milliseconds: settings.charTimeoutMs)
            let wait = min(gap, deadline)
            do {
                let n = try port.readAvailable(into: UnsafeMutableRawBufferPointer(rebasing: buffer[have...]))
                if n > 0 {
                    have += n
                    continue
                }
                if try port.waitReadable(until: wait) { continue }
                // Silence when the gap ended the wait; the session deadline first is not.
                return (have, gap <= deadline)
            } catch {
                break
            }
        }
        return (have, false)
    }

    private func readTimeout() -> DriverFailure {
        if receivedSinceWrite > 0 {
            return DriverFailure.timeout(
                "read from \(port.device) timed out after \(timeoutMs) ms: \(receivedSinceWrite) bytes arrived since the "
                    + "last write, then nothing. If they hold the whole reply, it does not end with the read termination "
                    + "(set read_termination, or end_input \"none\" for replies without a terminator)")
        }
        return DriverFailure.timeout(
            "no reply from \(port.device) within \(timeoutMs) ms (\(settings.summary)): nothing arrived since the last "
                + "write. Check the baud rate and frame match the instrument, the cable (TX and RX crossed: a null-modem "
                + "cable for DTE-to-DTE), that the instrument's remote interface is RS-232, and that the command is a query")
    }

    // MARK: - Session control

    func clear() throws {
        port.flush(input: true, output: true)
        if settings.flowControl == .xonXoff { port.restartFlow() }
        receivedSinceWrite = 0
    }

    func setTimeout(milliseconds: UInt32) throws {
        timeoutMs = milliseconds
    }

    func close() {
        port.close()
    }

    // MARK: - Operations

    func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue {
        guard index >= 0, index < SerialOperation.allCases.count else {
            throw DriverFailure.notFound("the serial driver has no operation \(index)")
        }
        switch SerialOperation.allCases[index] {
        case .sendBreak:
            try sendBreak(milliseconds: arguments.int(0).map(Int.init) ?? settings.breakMs)
        case .setDTR:
            try port.setModemLine(Int32(TIOCM_DTR), on: arguments.bool(0) ?? true)
        case .setRTS:
            guard settings.flowControl != .rtsCts else {
                throw DriverFailure.invalidArgument(
                    "RTS is driven by the kernel under flow_control \"rts_cts\"; open without it to set RTS by hand")
            }
            try port.setModemLine(Int32(TIOCM_RTS), on: arguments.bool(0) ?? true)
        }
        return .void
    }

    /// Sends what is queued, then holds the line in break for `milliseconds`.
    private func sendBreak(milliseconds: Int) throws {
        guard (1...10_000).contains(milliseconds) else {
            throw DriverFailure.invalidArgument("a break of \(milliseconds) ms is out of range 1...10000")
        }
        let deadline = Deadline.after(milliseconds: timeoutMs)
        guard try port.drain(until: deadline, characterNanoseconds: settings.characterNanoseconds) else {
            throw DriverFailure.timeout(
                "send_break on \(port.device): earlier output was still unsent after \(timeoutMs) ms\(stallHint)")
        }
        try port.setBreak(true)
        var ts = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var left = timespec()
        while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
        try port.setBreak(false)
    }
}
