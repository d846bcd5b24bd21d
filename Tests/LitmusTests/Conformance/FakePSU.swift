import Foundation

/// A two-output SCPI power supply on a loopback TCP port (raw socket, one client at a time),
/// speaking what stations/profiles/generic_scpi_psu.yaml sends. It keeps its state (setpoints,
/// outputs) and a log of every message it received, so a test can prove what a check did to it.
final class FakePSU: @unchecked Sendable {
    struct State: Equatable {
        var volts: [Double] = [5, 12]
        var amps: [Double] = [1, 2]
        var outputs: [Bool] = [true, false]
    }

    let port: Int
    /// What `*IDN?` answers (an instrument that does not speak IEEE 488.2 answers "E03 SYNTAX").
    let idnReply: String
    /// What `ID?` (its own identify command) answers.
    let idReply = "ACME PSU-2 v1.4"
    private let listener: Int32
    private let lock = NSLock()
    private var _state: State
    private var _log: [String] = []
    private var selected = 1
    private var stopped = false

    var state: State { lock.withLock { _state } }
    /// Every message received, in order, without its newline.
    var log: [String] { lock.withLock { _log } }

    init(state: State = State(), idnReply: String = "Litmus,FakePSU,PSU0001,1.0") throws {
        _state = state
        self.idnReply = idnReply
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard s >= 0, bound == 0, listen(s, 4) == 0 else { throw FakeServerError(message: "FakePSU: cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
        }
        listener = s
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in serve() }
    }

    var resource: String { "TCPIP0::127.0.0.1::\(port)::SOCKET" }

    func stop() {
        lock.withLock { stopped = true }
    }

    deinit { close(listener) }

    private func serve() {
        while !lock.withLock({ stopped }) {
            var fds = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&fds, 1, 50) > 0 else { continue }
            let c = accept(listener, nil, nil)
            guard c >= 0 else { continue }
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !lock.withLock({ stopped }) {
                var cfd = pollfd(fd: c, events: Int16(POLLIN), revents: 0)
                guard poll(&cfd, 1, 50) > 0 else { continue }
                let n = recv(c, &buffer, buffer.count, 0)
                if n <= 0 { break }
                pending += buffer[0..<n]
                while let nl = pending.firstIndex(of: 0x0A) {
                    let message = String(decoding: pending[..<nl], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    pending.removeSubrange(...nl)
                    if let reply = handle(message) {
                        let bytes = Array((reply + "\n").utf8)
                        _ = bytes.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    }
                }
            }
            close(c)
        }
    }

    /// Runs one program message (commands separated by ';', a leading ':' ignored); returns
    /// the replies of its queries joined by ';', or nil when it holds none.
    private func handle(_ message: String) -> String? {
        lock.withLock {
            _log.append(message)
            var replies: [String] = []
            for raw in message.split(separator: ";") {
                let command = raw.trimmingCharacters(in: .whitespaces).drop { $0 == ":" }.uppercased()
                let parts = command.split(separator: " ", maxSplits: 1).map(String.init)
                let header = parts.first ?? ""
                let argument = parts.count > 1 ? parts[1] : ""
                let i = selected - 1
                switch header {
                case "*IDN?": replies.append(idnReply)
                case "ID?": replies.append(idReply)
                case "*CLS", "*RST": break
                case "SYST:ERR?": replies.append("0,\"No error\"")
                case "INST:NSEL": selected = min(2, max(1, Int(argument) ?? 1))
                case "VOLT": _state.volts[i] = Double(argument) ?? _state.volts[i]
                case "CURR": _state.amps[i] = Double(argument) ?? _state.amps[i]
                case "OUTP": _state.outputs[i] = argument == "ON" || argument == "1"
                case "OUTP?": replies.append(_state.outputs[i] ? "1" : "0")
                case "MEAS:VOLT?": replies.append(String(_state.outputs[i] ? _state.volts[i] : 0))
                case "MEAS:CURR?": replies.append(String(_state.outputs[i] ? 0.25 : 0))
                default: break
                }
            }
            return replies.isEmpty ? nil : replies.joined(separator: ";")
        }
    }
}
