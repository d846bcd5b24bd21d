import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A two-output DC supply that speaks a plain line protocol, not SCPI: the kind of instrument
/// a line-protocol profile (`stations/profiles/acme_line_psu.yaml`) drives with no driver code.
/// Commands and replies end in `"\r"` (a `"\n"` after it is ignored); each command gets one
/// reply line.
///
/// ```
/// ID            -> ACME PS-2000,SN1234,FW1.2
/// VSET<n> <v>   -> OK        (0...30 V)          VSET<n>  -> VSET1=15.000
/// ISET<n> <a>   -> OK        (0...5 A)           ISET<n>  -> ISET1=1.000
/// OUT<n> <0|1>  -> OK                            STAT<n>  -> OUT1=ON | OUT1=OFF
/// VOUT<n>       -> V1=15.002   (setpoint + 2 mV while on, 0 while off)
/// IOUT<n>       -> I1=15.002mA (a 1 kOhm load, at most the limit, in mA)
/// anything else -> E03 SYNTAX; a channel other than 1 or 2 -> E04 CHANNEL;
/// a value out of range or not a number -> E05 RANGE
/// ```
///
/// It keeps its state across connections and appends every line it receives to the file given
/// by `--log`, so tests can check what was sent.
///
/// ```
/// litmus-fake-instruments line-psu [--port N] [--log FILE]
/// ```
enum LinePSUServer {
    /// The supply's state, shared by every connection.
    final class Supply: @unchecked Sendable {
        private let lock = NSLock()
        private var voltage = [0.0, 0.0]
        private var limit = [1.0, 1.0]
        private var on = [false, false]
        private let log: FileHandle?

        init(log: FileHandle?) { self.log = log }

        /// The reply to one command line.
        func handle(_ line: String) -> String {
            lock.withLock {
                if let log {
                    log.write(Data((line + "\n").utf8))
                }
                let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard let head = parts.first, parts.count <= 2 else { return "E03 SYNTAX" }
                if head == "ID", parts.count == 1 { return "ACME PS-2000,SN1234,FW1.2" }
                for (name, arity) in [("VSET", [1, 2]), ("ISET", [1, 2]), ("OUT", [2]), ("STAT", [1]), ("VOUT", [1]), ("IOUT", [1])]
                where head.hasPrefix(name) {
                    guard arity.contains(parts.count) else { return "E03 SYNTAX" }
                    let suffix = head.dropFirst(name.count)
                    guard let n = Int(suffix) else { return "E03 SYNTAX" }
                    guard (1...2).contains(n) else { return "E04 CHANNEL" }
                    let i = n - 1
                    let argument = parts.count == 2 ? parts[1] : nil
                    switch (name, argument) {
                    case ("VSET", let text?):
                        guard let v = Double(text), v.isFinite, (0...30).contains(v) else { return "E05 RANGE" }
                        voltage[i] = v
                        return "OK"
                    case ("VSET", nil): return "VSET\(n)=\(Self.fixed(voltage[i]))"
                    case ("ISET", let text?):
                        guard let a = Double(text), a.isFinite, (0...5).contains(a) else { return "E05 RANGE" }
                        limit[i] = a
                        return "OK"
                    case ("ISET", nil): return "ISET\(n)=\(Self.fixed(limit[i]))"
                    case ("OUT", let text?):
                        guard text == "0" || text == "1" else { return "E05 RANGE" }
                        on[i] = text == "1"
                        return "OK"
                    case ("STAT", _): return "OUT\(n)=\(on[i] ? "ON" : "OFF")"
                    case ("VOUT", _): return "V\(n)=\(Self.fixed(on[i] ? voltage[i] + 0.002 : 0))"
                    case ("IOUT", _):
                        let amps = on[i] ? min((voltage[i] + 0.002) / 1000, limit[i]) : 0
                        return "I\(n)=\(Self.fixed(amps * 1000))mA"
                    default: return "E03 SYNTAX"
                    }
                }
                return "E03 SYNTAX"
            }
        }

        /// Three decimals, as the supply's display shows them.
        static func fixed(_ v: Double) -> String { String(format: "%.3f", v) }
    }

    static func main(_ arguments: [String]) -> Never {
        var port: UInt16 = 0
        var logPath: String?
        var i = 0
        func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data("line-psu: \(message)\nusage: litmus-fake-instruments line-psu [--port N] [--log FILE]\n".utf8))
            exit(2)
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--port":
                i += 1
                guard i < arguments.count, let p = UInt16(arguments[i]) else { fail("--port takes 0 to 65535") }
                port = p
            case "--log":
                i += 1
                guard i < arguments.count else { fail("--log needs a file") }
                logPath = arguments[i]
            default: fail("unknown option '\(arguments[i])'")
            }
            i += 1
        }
        signal(SIGPIPE, SIG_IGN)
        var log: FileHandle?
        if let logPath {
            guard FileManager.default.createFile(atPath: logPath, contents: nil), let handle = FileHandle(forWritingAtPath: logPath) else {
                fail("cannot write \(logPath)")
            }
            log = handle
        }
        let supply = Supply(log: log)
        let listener: (fd: Int32, port: UInt16)
        do {
            listener = try Loopback.listen(port: port)
        } catch {
            FileHandle.standardError.write(Data("line-psu: \(error)\n".utf8))
            exit(1)
        }
        exitWhenStdinCloses()
        FileHandle.standardOutput.write(Data("port \(listener.port)\n".utf8))
        while true {
            let fd = accept(listener.fd, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                FileHandle.standardError.write(Data("line-psu: accept failed: \(String(cString: strerror(errno)))\n".utf8))
                exit(1)
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            Thread.detachNewThread { serve(fd, supply) }
        }
    }

    /// Answers one client's lines until it disconnects. A line longer than 4 KiB closes the
    /// connection (a real supply's buffer is smaller still).
    static func serve(_ fd: Int32, _ supply: Supply) {
        defer { close(fd) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            pending += buffer[..<n]
            while let cr = pending.firstIndex(of: 0x0D) {
                let line = String(decoding: pending[..<cr], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                pending.removeSubrange(...cr)
                let reply = Array((supply.handle(line) + "\r").utf8)
                guard reply.withUnsafeBytes({ Loopback.sendAll(fd, $0) }) else { return }
            }
            if pending.count > 4096 { return }
        }
    }
}
