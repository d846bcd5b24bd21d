import Foundation

/// The instrument behind every fake server: a small SCPI device whose replies are known
/// exactly, so transport tests can check every byte. The servers add the transport's framing
/// (a newline for raw sockets, END for VXI-11, DataEnd for HiSLIP).
///
/// Commands (case-insensitive headers; several per message separated by `;`):
/// - `*IDN?` -> `Litmus,FakeInstrument,<serial>,1.0`; `*RST`, `*CLS`; `*OPC?` -> `1`
/// - `MEAS:VOLT?` -> `+5.00120000E+00`
/// - `ECHO? <text>` -> the text
/// - `DATA? <n>` -> an IEEE 488.2 definite block of n bytes, byte i = i % 256 (contains 0x0A)
/// - `SLOW? <ms>` -> `done` after ms milliseconds
/// - `NOREPLY?` -> nothing, ever (a query that times out)
/// - `*TRG` counts triggers; `TRG:COUN?` -> the count
/// - `*STB?` -> the status byte (bit 4 MAV is not modelled; bit 2 set while the error queue is
///   not empty); `*ESR?` -> 0
/// - `SYST:ERR?` -> the oldest error, or `0,"No error"`; an unknown header queues
///   `-113,"Undefined header"`
final class FakeInstrument: @unchecked Sendable {
    /// A reply and when to send it.
    enum Reply: Equatable {
        /// Send these bytes (without transport termination).
        case message([UInt8])
        /// Send after sleeping this many milliseconds.
        case delayed(milliseconds: Int, [UInt8])
        /// Never reply.
        case never
    }

    let serial: String
    private let lock = NSLock()
    private var errors: [String] = []
    private var triggers = 0
    /// Every command received, in order (for tests).
    private(set) var log: [String] = []

    init(serial: String = "0001") { self.serial = serial }

    /// Status byte: bit 2 (error queue not empty).
    var statusByte: UInt8 { lock.withLock { errors.isEmpty ? 0 : 0x04 } }

    /// Device clear: forget pending state (the fake has no output queue of its own).
    func clear() { lock.withLock { log.append("<clear>") } }

    func trigger() { lock.withLock { triggers += 1 } }

    /// Handles one program message (without termination); returns the replies of its queries
    /// joined with `;`, or nil when it holds no query.
    func handle(_ message: [UInt8]) -> Reply? {
        let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        lock.withLock { log.append(text) }
        var replies: [[UInt8]] = []
        var delay = 0
        for command in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !command.isEmpty {
            let (header, argument) = split(command)
            switch header {
            case "*IDN?": replies.append(Array("Litmus,FakeInstrument,\(serial),1.0".utf8))
            case "*RST", "*CLS": lock.withLock { errors.removeAll() }
            case "*OPC?": replies.append(Array("1".utf8))
            case "*TRG": trigger()
            case "TRG:COUN?": replies.append(Array(String(lock.withLock { triggers }).utf8))
            case "*STB?": replies.append(Array(String(statusByte).utf8))
            case "*ESR?": replies.append(Array("0".utf8))
            case "MEAS:VOLT?", "MEAS:VOLT:DC?": replies.append(Array("+5.00120000E+00".utf8))
            case "ECHO?": replies.append(Array(argument.utf8))
            case "DATA?":
                let n = max(0, min(Int(argument) ?? 0, 200_000_000))
                let header = Array("#\(String(n).count)\(n)".utf8)
                replies.append(
                    [UInt8](unsafeUninitializedCapacity: header.count + n) { buf, count in
                        for (i, b) in header.enumerated() { buf[i] = b }
                        for i in 0..<n { buf[header.count + i] = UInt8(truncatingIfNeeded: i) }
                        count = header.count + n
                    })
            case "SLOW?":
                delay += max(0, Int(argument) ?? 0)
                replies.append(Array("done".utf8))
            case "NOREPLY?": return .never
            case "SYST:ERR?", "SYSTEM:ERROR?", "SYST:ERR:NEXT?":
                let e = lock.withLock { errors.isEmpty ? "0,\"No error\"" : errors.removeFirst() }
                replies.append(Array(e.utf8))
            default:
                lock.withLock { errors.append("-113,\"Undefined header;\(header)\"") }
            }
        }
        guard !replies.isEmpty else { return nil }
        var joined: [UInt8] = []
        for (i, r) in replies.enumerated() {
            if i > 0 { joined.append(UInt8(ascii: ";")) }
            joined += r
        }
        return delay > 0 ? .delayed(milliseconds: delay, joined) : .message(joined)
    }

    private func split(_ command: String) -> (String, String) {
        guard let space = command.firstIndex(of: " ") else { return (command.uppercased(), "") }
        return (command[..<space].uppercased(), command[command.index(after: space)...].trimmingCharacters(in: .whitespaces))
    }
}
