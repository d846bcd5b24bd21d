import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// `litmus serve` under load, the real binary on a loopback port:
///
/// - event-to-screen latency: a board logs 1,000 measurements per second for 5 s while 10
///   screens (server-sent event clients) are open; each measurement's latency is from its
///   event time to its arrival at a screen, p50/p99 over all screens. The baseline, measured in
///   the same run on the same board: the event log's own follower (`EventReader.tail` every
///   20 ms, the runner's interval) seeing the same events.
/// - memory: the server's resident memory after 100 and after 1,000 boards (each a small run
///   started through the API, its verdict awaited on the event stream).
func runServeBenchmark() {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-serve-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let dir = benchDirectory()
    let token = "bench-token-0123456789abcdef"
    print("Web screen (litmus serve): event-to-screen latency with 10 open screens at 1,000 measurements/s, memory over 1,000 boards")
    do {
        // Latency.
        let latencyData = root + "/latency"
        let server = try ServeBenchServer(
            litmus: dir + "/litmus", data: latencyData, token: token, command: [dir + "/litmus-test-producer", "board", "1000", "5000"])
        defer { server.stop() }
        let screens = (0..<10).map { _ in SSEScreen(port: server.port, token: token) }
        for s in screens { s.start() }
        for s in screens { s.waitConnected() }
        let follower = LogFollower(dataDir: latencyData)
        follower.start()
        let t0 = Timestamp.now().microseconds
        guard try server.post("/api/start", #"{"serial":"BENCH-LAT"}"#) == 200 else { throw BenchError(message: "the board did not start") }
        for s in screens { s.waitVerdict(count: 1) }
        follower.stop()
        let viaWeb = screens.flatMap { $0.latencies(after: t0) }.sorted()
        let viaLog = follower.latencies.sorted()
        guard viaWeb.count >= 10 * 4000, !viaLog.isEmpty else {
            throw BenchError(message: "too few measurements arrived: \(viaWeb.count) at the screens, \(viaLog.count) at the follower")
        }
        func pct(_ a: [Double], _ p: Double) -> Double { a[min(a.count - 1, Int(Double(a.count) * p))] }
        print(String(format: "  %-60@ p50 %7.1f ms  p99 %7.1f ms", "event log follower, EventReader.tail every 20 ms (baseline)" as NSString, pct(viaLog, 0.5), pct(viaLog, 0.99)))
        print(String(format: "  %-60@ p50 %7.1f ms  p99 %7.1f ms  (%.2fx / %.2fx baseline; %d arrivals)", "measurement at 10 screens (server-sent events)" as NSString,
                     pct(viaWeb, 0.5), pct(viaWeb, 0.99), pct(viaWeb, 0.5) / max(pct(viaLog, 0.5), 0.001), pct(viaWeb, 0.99) / max(pct(viaLog, 0.99), 0.001), viaWeb.count))
        // Durable is when the log's own follower can read it: the push adds what comes after.
        let added = screens.flatMap { $0.afterFollower(follower.seenTimes) }.sorted()
        guard !added.isEmpty else { throw BenchError(message: "no measurement matched between the screens and the follower") }
        print(String(format: "  %-60@ p50 %7.1f ms  p99 %7.1f ms", "a screen after the follower saw it (the push's own latency)" as NSString, pct(added, 0.5), pct(added, 0.99)))
        print(String(format: "Goal: a measurement on the screens within 100 ms of becoming durable (p99 after the follower): %@ (%.1f ms)", pct(added, 0.99) <= 100 ? "met" : "NOT met", pct(added, 0.99)))
        for s in screens { s.stop() }
        server.stop()

        // Memory over 1,000 boards.
        let memory = try ServeBenchServer(
            litmus: dir + "/litmus", data: root + "/memory", token: token, command: [dir + "/litmus-test-producer", "board", "0", "10"])
        defer { memory.stop() }
        let screen = SSEScreen(port: memory.port, token: token)
        screen.start()
        screen.waitConnected()
        var marks: [(Int, Int)] = [(0, memory.residentKiB())]
        for board in 1...1000 {
            guard try memory.post("/api/start", #"{"serial":"BENCH-M\#(board)"}"#) == 200 else { throw BenchError(message: "board \(board) did not start") }
            screen.waitVerdict(count: board)
            if [10, 100, 500, 1000].contains(board) { marks.append((board, memory.residentKiB())) }
        }
        screen.stop()
        for (boards, kib) in marks {
            print(String(format: "  %-60@ %8.1f MiB", "server resident memory after \(boards) boards" as NSString, Double(kib) / 1024))
        }
        let at100 = Double(marks.first { $0.0 == 100 }!.1), at1000 = Double(marks.last!.1)
        print(String(format: "Goal: memory flat from 100 to 1,000 boards (within 10%%): %@ (%.2fx)", at1000 <= at100 * 1.1 ? "met" : "NOT met", at1000 / at100))
    } catch {
        print("error: \(error)")
    }
}

/// A `litmus serve` child on a free loopback port, signed in with a token.
final class ServeBenchServer {
    let process = Process()
    let port: Int
    let token: String

    init(litmus: String, data: String, token: String, command: [String]) throws {
        self.token = token
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let output = data + "/serve.out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        environment["LITMUS_SERVE_TOKEN"] = token
        environment["LITMUS_LOCK_DIR"] = data + "/locks"
        process.executableURL = URL(fileURLWithPath: litmus)
        process.arguments = ["serve", "--station", "stations/bench_mock.yaml", "--data-dir", data, "--bind", "127.0.0.1:0", "--"] + command
        process.environment = environment
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        var found: Int?
        for _ in 0..<3000 where found == nil && process.isRunning {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if let m = text.firstMatch(of: /station screen at http:\/\/127\.0\.0\.1:(\d+)\//) { found = Int(m.1) } else { usleep(10_000) }
        }
        guard let found else { throw BenchError(message: "litmus serve did not start: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")") }
        port = found
    }

    func post(_ path: String, _ body: String) throws -> Int {
        let fd = try connectLoopback(port)
        defer { close(fd) }
        try sendAll(fd, "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        let head = String(decoding: buffer[0..<max(0, n)], as: UTF8.self)
        return Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// VmRSS of the server process.
    func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }
}

/// One open screen: reads `/api/events` and notes when each measurement arrived.
final class SSEScreen: @unchecked Sendable {
    let port: Int
    let token: String
    private let lock = NSLock()
    private var arrivals: [(at: Int64, arrived: Int64, value: Int)] = []
    private var verdicts = 0
    private var connected = false
    private var fd: Int32 = -1

    init(port: Int, token: String) {
        self.port = port
        self.token = token
        arrivals.reserveCapacity(6000)
    }

    func start() {
        let thread = Thread { [self] in read() }
        thread.start()
    }

    private func read() {
        guard let fd = try? connectLoopback(port) else { return }
        lock.withLock { self.fd = fd }
        try? sendAll(fd, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\nAccept: text/event-stream\r\n\r\n")
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var event = ""
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            let arrived = Timestamp.now().microseconds
            pending += buffer[0..<n]
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                if line.hasPrefix("event: ") {
                    event = String(line.dropFirst(7))
                    if event == "state" { lock.withLock { connected = true } }
                } else if line.hasPrefix("data: ") {
                    if event == "measurement", let r = line.range(of: "\"at\":"), let v = line.range(of: "\"value\":") {
                        let digits = line[r.upperBound...].prefix { $0.isNumber }
                        let value = Int(line[v.upperBound...].prefix { $0.isNumber }) ?? -1
                        if let at = Int64(digits) { lock.withLock { arrivals.append((at, arrived, value)) } }
                    } else if event == "verdict" {
                        lock.withLock { verdicts += 1 }
                    }
                }
            }
        }
    }

    func waitConnected() {
        for _ in 0..<3000 where !lock.withLock({ connected }) { usleep(5000) }
    }

    func waitVerdict(count: Int) {
        for _ in 0..<60000 where lock.withLock({ verdicts }) < count { usleep(1000) }
    }

    func latencies(after t0: Int64) -> [Double] {
        lock.withLock { arrivals.filter { $0.at >= t0 }.map { Double($0.arrived - $0.at) / 1000 } }
    }

    /// Per measurement (by its value, the producer's index): arrival here minus when the log's
    /// follower saw it (µs since the epoch), in ms.
    func afterFollower(_ seen: [Int: Int64]) -> [Double] {
        lock.withLock { arrivals.compactMap { a in seen[a.value].map { Double(a.arrived - $0) / 1000 } } }
    }

    func stop() {
        lock.withLock {
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }
}

/// The baseline: the event log's own follower on the session the board writes.
final class LogFollower: @unchecked Sendable {
    let dataDir: String
    private let lock = NSLock()
    private var seen: [Double] = []
    private var seenAt: [Int: Int64] = [:]
    private var stopped = false

    init(dataDir: String) { self.dataDir = dataDir }

    var latencies: [Double] { lock.withLock { seen } }
    /// When the follower saw each measurement (by value), µs since the epoch.
    var seenTimes: [Int: Int64] { lock.withLock { seenAt } }

    func start() {
        let thread = Thread { [self] in
            let reader = EventReader(dataDir: dataDir)
            var session: UUID?
            var position = EventReader.TailPosition.start
            while !lock.withLock({ stopped }) {
                if session == nil { session = reader.sessions().first?.id }
                if let session, let batch = try? reader.tail(sessionID: session, from: position) {
                    position = batch.position
                    let t = Timestamp.now().microseconds
                    var found: [Double] = []
                    var times: [(Int, Int64)] = []
                    for e in batch.events {
                        if case .measurement(let m) = e.body {
                            found.append(Double(t - e.occurredAt.microseconds) / 1000)
                            times.append((Int(m.value ?? -1), t))
                        }
                    }
                    lock.withLock {
                        seen += found
                        for (v, at) in times { seenAt[v] = at }
                    }
                }
                usleep(20_000)
            }
        }
        thread.start()
    }

    func stop() { lock.withLock { stopped = true } }
}

func connectLoopback(_ port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError(message: "socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard ok == 0 else {
        close(fd)
        throw BenchError(message: "connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
    }
    return fd
}

func sendAll(_ fd: Int32, _ text: String) throws {
    let bytes = Array(text.utf8)
    var sent = 0
    while sent < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
        guard n > 0 else { throw BenchError(message: "send: \(String(cString: strerror(errno)))") }
        sent += n
    }
}
