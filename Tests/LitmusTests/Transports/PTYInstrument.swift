import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A simulated SCPI instrument on the master side of a ``PTYPair``, on its own thread.
///
/// Commands end with LF; replies end with LF unless said otherwise:
/// - `*IDN?` -> `Litmus,PTYInstrument,0001,1.0`
/// - `ECHO? <text>` -> the text
/// - `DATA? <n>` -> an IEEE 488.2 definite block of n bytes, byte i = i % 256 (0x0A inside)
/// - `NOREPLY?` -> nothing
/// - `SLOW? <ms>` -> `done` after ms milliseconds
/// - `SPLIT? <ms> <a> <b>` -> `a` at once, then `b` and LF after ms milliseconds
/// - `TWO?` -> `first` LF `second` LF in one write
/// - `RAW? <text>` -> the text with no terminator
/// - `DRIP? <ms>` -> one byte every ms milliseconds and no terminator, for ``endlessFor``
/// - `ENDLESS?` -> bytes without a terminator as fast as the pty takes them, for ``endlessFor``
/// - `ENDLESSBLOCK?` -> `#0` then block data, for ``endlessFor``
/// - anything else -> nothing (it is recorded in ``received``)
///
/// The three "endless" replies end with a terminator after ``endlessFor``: a host whose read
/// deadline is broken then gets a reply instead of its timeout, so its test fails rather than
/// hangs (a wall-clock time limit on the test would also count the time the test waits for a
/// thread of the shared pool, and fail on a busy machine).
///
/// ``stop()`` (or deinit) ends the thread through a pipe and waits for it; every wait of the
/// thread, including delays, also watches that pipe, so stopping never hangs.
final class PTYInstrument: @unchecked Sendable {
    /// How long an endless reply goes on before its terminator.
    static let endlessFor: Duration = .seconds(30)

    private let master: Int32
    private let stopPipe: [Int32]
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _received: [String] = []
    private var stopped = false

    /// Every command received, in order.
    var received: [String] { lock.withLock { _received } }

    /// Starts answering on `pair`'s master.
    init(_ pair: PTYPair) throws {
        master = pair.master
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw PTYError("pipe failed: \(String(cString: strerror(errno)))") }
        stopPipe = fds
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "pty-instrument"
        thread.start()
    }

    deinit { stop() }

    /// Ends the thread and waits for it. Safe to call twice.
    func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = Glibc.write(stopPipe[1], &byte, 1)
        done.wait()
        Glibc.close(stopPipe[0])
        Glibc.close(stopPipe[1])
    }

    // MARK: - The thread

    private enum Wake { case ready, stop, timeout }

    /// Waits for `events` on the master (none: only a delay), the stop pipe, or
    /// `milliseconds` (-1: forever).
    private func wait(_ events: Int16, milliseconds: Int32) -> Wake {
        var fds = [pollfd(fd: stopPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: master, events: events, revents: 0)]
        let count: nfds_t = events == 0 ? 1 : 2
        while true {
            let n = poll(&fds, count, milliseconds)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return n == 0 ? .timeout : .stop }
            if fds[0].revents != 0 { return .stop }
            if fds[1].revents & Int16(POLLNVAL) != 0 { return .stop }
            return .ready
        }
    }

    private func run() {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            switch wait(Int16(POLLIN), milliseconds: -1) {
            case .stop, .timeout: return
            case .ready: break
            }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            // EIO: every slave descriptor closed; wait for the next open or the stop.
            if n <= 0 {
                if wait(0, milliseconds: 20) == .stop { return }
                continue
            }
            pending += chunk[..<n]
            while let lf = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<lf], as: UTF8.self)
                pending.removeSubrange(...lf)
                if !answer(line.trimmingCharacters(in: .whitespaces)) { return }
            }
        }
    }

    /// Answers one command; false when stopped meanwhile.
    private func answer(_ command: String) -> Bool {
        lock.withLock { _received.append(command) }
        let space = command.firstIndex(of: " ")
        let header = String(command[..<(space ?? command.endIndex)]).uppercased()
        let argument = space.map { String(command[command.index(after: $0)...]) } ?? ""
        let lf: [UInt8] = [0x0A]
        switch header {
        case "*IDN?": return send(Array("Litmus,PTYInstrument,0001,1.0".utf8) + lf)
        case "ECHO?": return send(Array(argument.utf8) + lf)
        case "RAW?": return send(Array(argument.utf8))
        case "DRIP?":
            let end = ContinuousClock.now + Self.endlessFor
            while ContinuousClock.now < end {
                if wait(0, milliseconds: Int32(argument) ?? 100) == .stop { return false }
                if !send([UInt8(ascii: "x")]) { return false }
            }
            return send(lf)
        case "ENDLESS?", "ENDLESSBLOCK?":
            if header == "ENDLESSBLOCK?" && !send(Array("#0".utf8)) { return false }
            let chunk = [UInt8](repeating: UInt8(ascii: "y"), count: 4096)
            let end = ContinuousClock.now + Self.endlessFor
            while ContinuousClock.now < end {
                if wait(0, milliseconds: 1) == .stop { return false }
                if !send(chunk) { return false }
            }
            return send(lf)
        case "TWO?": return send(Array("first\nsecond\n".utf8))
        case "DATA?":
            let count = max(0, min(Int(argument) ?? 0, 16 << 20))
            var block = Array("#\(String(count).count)\(count)".utf8)
            block.reserveCapacity(block.count + count + 1)
            for i in 0..<count { block.append(UInt8(truncatingIfNeeded: i)) }
            return send(block + lf)
        case "SLOW?":
            if wait(0, milliseconds: Int32(argument) ?? 0) == .stop { return false }
            return send(Array("done".utf8) + lf)
        case "SPLIT?":
            let parts = argument.split(separator: " ").map(String.init)
            guard parts.count == 3 else { return true }
            if !send(Array(parts[1].utf8)) { return false }
            if wait(0, milliseconds: Int32(parts[0]) ?? 0) == .stop { return false }
            return send(Array(parts[2].utf8) + lf)
        default:
            return true
        }
    }

    /// Writes every byte (waiting while the slave's input is full); false when stopped.
    private func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(master, $0.baseAddress! + sent, $0.count - sent) }
            if n > 0 {
                sent += n
                continue
            }
            if n < 0 && errno != EAGAIN && errno != EINTR { return true }
            if wait(Int16(POLLOUT), milliseconds: -1) == .stop { return false }
        }
        return true
    }
}
