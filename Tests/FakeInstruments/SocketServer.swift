import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The raw SCPI socket fake: a ``FakeInstrument`` behind a TCP port, one thread per client.
///
/// Input is split on `"\n"`; each message goes to the instrument and each reply goes back
/// followed by `"\n"` in one send. Replies of stateless queries (`*IDN?`, `MEAS:VOLT?`,
/// `DATA? <n>`, `*OPC?`) are kept ready per connection, so a benchmark measures the transport
/// and not the fake (a `DATA? 1048576` reply is built once, then sent straight from memory).
///
/// ```
/// litmus-fake-instruments socket [--port N] [--serial S] [--ipv6] [--fault MODE]
/// ```
/// - `--ipv6`: also listen on `[::1]`, on the same port as `127.0.0.1`.
/// - `--fault MODE`, for failure tests:
///   - `reset-mid-block`: send half of a `DATA?` reply, then reset the connection (RST);
///   - `garbage`: answer every query with random bytes and no newline;
///   - `trickle`: send replies one byte every 5 ms;
///   - `endless`: answer a query with bytes and no newline;
///   - `drip`: answer a query with one byte every 100 ms and no newline;
///   - `endless-block`: answer a query with an indefinite-length block (`#0`) of data;
///   - `refuse-after-accept`: close every connection as soon as it is accepted.
///
/// The three endless replies stop when the client goes away, else end with a newline after
/// `endlessFor`: a client whose read deadline is broken gets a reply, so its test fails
/// rather than hangs.
///
/// Prints `port <n>` once listening; exits when its standard input closes.
enum SocketServer {
    /// How long an endless reply goes on before its newline.
    static let endlessFor: Duration = .seconds(30)

    /// A misbehaviour to show clients.
    enum Fault: String, CaseIterable {
        case resetMidBlock = "reset-mid-block"
        case garbage
        case trickle
        case endless
        case drip
        case endlessBlock = "endless-block"
        case refuseAfterAccept = "refuse-after-accept"
    }

    struct Options {
        var port: UInt16 = 0
        var serial = "0001"
        var ipv6 = false
        var fault: Fault?
    }

    static func main(_ arguments: [String]) -> Never {
        let options: Options
        do {
            options = try parse(arguments)
        } catch {
            FileHandle.standardError.write(
                Data(
                    ("socket: \(error)\nusage: litmus-fake-instruments socket [--port N] [--serial S] [--ipv6] "
                        + "[--fault \(Fault.allCases.map(\.rawValue).joined(separator: "|"))]\n").utf8))
            exit(2)
        }
        signal(SIGPIPE, SIG_IGN)
        let instrument = FakeInstrument(serial: options.serial)
        var listeners: [Int32] = []
        var port = options.port
        do {
            // With --ipv6, [::1] needs the port 127.0.0.1 got; when another program holds it
            // there, try another port (unless one was asked for).
            var attempt = 0
            while true {
                attempt += 1
                let v4 = try listenSocket(ipv6: false, port: options.port)
                port = boundPort(v4)
                guard options.ipv6 else {
                    listeners = [v4]
                    break
                }
                do {
                    listeners = [v4, try listenSocket(ipv6: true, port: port)]
                    break
                } catch {
                    close(v4)
                    if options.port != 0 || attempt >= 10 { throw error }
                }
            }
        } catch {
            FileHandle.standardError.write(Data("socket: \(error)\n".utf8))
            exit(1)
        }
        exitWhenStdinCloses()
        FileHandle.standardOutput.write(Data("port \(port)\n".utf8))
        for listener in listeners.dropFirst() {
            Thread.detachNewThread { acceptLoop(listener, instrument, options.fault) }
        }
        acceptLoop(listeners[0], instrument, options.fault)
    }

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var i = 0
        func value(_ name: String) throws -> String {
            i += 1
            guard i < arguments.count else { throw UsageError(description: "\(name) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--port":
                guard let p = UInt16(try value("--port")) else { throw UsageError(description: "--port takes 0 to 65535") }
                options.port = p
            case "--serial": options.serial = try value("--serial")
            case "--ipv6": options.ipv6 = true
            case "--fault":
                let name = try value("--fault")
                guard let f = Fault(rawValue: name) else { throw UsageError(description: "unknown fault '\(name)'") }
                options.fault = f
            default: throw UsageError(description: "unknown option '\(arguments[i])'")
            }
            i += 1
        }
        return options
    }

    private static func listenSocket(ipv6: Bool, port: UInt16) throws -> Int32 {
        try Loopback.listen(port: port, ipv6: ipv6).fd
    }

    private static func boundPort(_ s: Int32) -> UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    private static func acceptLoop(_ listener: Int32, _ instrument: FakeInstrument, _ fault: Fault?) -> Never {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                    if errno != EINTR && errno != ECONNABORTED { usleep(10_000) }
                    continue
                }
                FileHandle.standardError.write(Data("socket: accept failed: \(String(cString: strerror(errno)))\n".utf8))
                exit(1)
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if fault == .refuseAfterAccept {
                close(fd)
                continue
            }
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            let client = Client(fd: fd, instrument: instrument, fault: fault)
            Thread.detachNewThread { client.serve() }
        }
    }

    /// One connected client: its input buffer, its ready replies, and its fault.
    final class Client: @unchecked Sendable {
        let fd: Int32
        let instrument: FakeInstrument
        let fault: Fault?
        /// Input not yet split into messages: `storage[head..<tail]`.
        private var storage: UnsafeMutableRawPointer
        private var capacity = 64 * 1024
        private var head = 0
        private var tail = 0
        /// A message longer than this closes the connection.
        static let maxMessage = 64 << 20
        /// Ready replies (newline included) of stateless queries, by exact message bytes.
        private var ready: [(message: [UInt8], reply: [UInt8], isBlock: Bool)] = []
        private var readyBytes = 0
        /// The fault already closed (reset) the socket.
        private var closed = false

        init(fd: Int32, instrument: FakeInstrument, fault: Fault?) {
            self.fd = fd
            self.instrument = instrument
            self.fault = fault
            storage = .allocate(byteCount: capacity, alignment: 8)
        }

        deinit { storage.deallocate() }

        /// Serves until the client disconnects or a fault ends the connection.
        func serve() {
            defer { if !closed { close(fd) } }
            while true {
                while let newline = memchr(storage + head, 0x0A, tail - head) {
                    let length = UnsafeMutableRawPointer(newline) - (storage + head)
                    let message = UnsafeRawBufferPointer(start: storage + head, count: length)
                    head += length + 1
                    if !respond(to: message) { return }
                }
                if head == tail {
                    head = 0
                    tail = 0
                } else if tail == capacity {
                    if head > 0 {
                        (storage).copyMemory(from: storage + head, byteCount: tail - head)
                        tail -= head
                        head = 0
                    } else {
                        guard capacity < Self.maxMessage else { return }
                        let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 8)
                        bigger.copyMemory(from: storage, byteCount: tail)
                        storage.deallocate()
                        storage = bigger
                        capacity *= 2
                    }
                }
                let n = recv(fd, storage + tail, capacity - tail, 0)
                if n > 0 {
                    tail += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }

        /// Answers one message; false when the connection must end (fault, or the peer left).
        private func respond(to message: UnsafeRawBufferPointer) -> Bool {
            if let index = ready.firstIndex(where: { $0.message.elementsEqual(message) }) {
                return deliver(ready[index].reply, isBlock: ready[index].isBlock)
            }
            let bytes = [UInt8](message)
            switch instrument.handle(bytes) {
            case nil, .never?:
                return true
            case .message(let reply)?:
                var framed = reply
                framed.append(0x0A)
                let header = Self.header(of: bytes)
                if let header, Self.stateless.contains(header) { remember(bytes, framed, isBlock: header == "DATA?") }
                return deliver(framed, isBlock: header == "DATA?")
            case .delayed(let milliseconds, let reply)?:
                usleep(UInt32(clamping: milliseconds * 1000))
                var framed = reply
                framed.append(0x0A)
                return deliver(framed, isBlock: false)
            }
        }

        /// The upper-cased header of a message without `;` (nil for compound messages).
        private static func header(of message: [UInt8]) -> String? {
            guard !message.contains(UInt8(ascii: ";")) else { return nil }
            let end = message.firstIndex(of: UInt8(ascii: " ")) ?? message.count
            return String(decoding: message[..<end], as: UTF8.self).uppercased()
        }

        private static let stateless: Set<String> = ["*IDN?", "MEAS:VOLT?", "MEAS:VOLT:DC?", "DATA?", "*OPC?"]

        /// Keeps the reply of a stateless query ready for the next time it is asked.
        private func remember(_ message: [UInt8], _ reply: [UInt8], isBlock: Bool) {
            if ready.count >= 8 || readyBytes + reply.count > 256 << 20 {
                ready.removeAll()
                readyBytes = 0
            }
            ready.append((message, reply, isBlock))
            readyBytes += reply.count
        }

        /// Sends a framed reply the way the fault mode says.
        private func deliver(_ reply: [UInt8], isBlock: Bool) -> Bool {
            switch fault {
            case nil, .refuseAfterAccept?:
                return sendAll(reply)
            case .resetMidBlock?:
                guard isBlock else { return sendAll(reply) }
                _ = sendAll(Array(reply[..<(reply.count / 2)]))
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                close(fd)
                closed = true
                return false
            case .garbage?:
                let count = Int.random(in: 64...1024)
                let junk = (0..<count).map { _ in
                    var b = UInt8.random(in: 0...255)
                    if b == 0x0A { b = 0x0B }
                    return b
                }
                return sendAll(junk)
            case .trickle?:
                for byte in reply {
                    guard sendAll([byte]) else { return false }
                    usleep(5000)
                }
                return true
            case .endless?:
                return sendEndless([UInt8]((0..<65536).map { UInt8(ascii: "A") + UInt8($0 % 26) }))
            case .drip?:
                return sendEndless([UInt8(ascii: "x")], pauseMicroseconds: 100_000)
            case .endlessBlock?:
                guard sendAll(Array("#0".utf8)) else { return false }
                return sendEndless([UInt8]((0..<65536).map { UInt8(truncatingIfNeeded: $0 * 7) & 0x7F | 0x20 }))
            }
        }

        /// Sends `chunk` again and again (pausing between sends) for `endlessFor`, then a
        /// newline; false when the client went away.
        private func sendEndless(_ chunk: [UInt8], pauseMicroseconds: UInt32 = 0) -> Bool {
            let end = ContinuousClock.now + SocketServer.endlessFor
            while ContinuousClock.now < end {
                guard sendAll(chunk) else { return false }
                if pauseMicroseconds > 0 { usleep(pauseMicroseconds) }
            }
            return sendAll([0x0A])
        }

        private func sendAll(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { Loopback.sendAll(fd, $0) }
        }
    }
}
