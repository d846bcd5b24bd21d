import Foundation
import Testing

/// moto's standalone S3 server on a loopback port, from the sync venv (`.venv-sync`, made by
/// scripts/setup.sh), and the fault-injecting proxy in front of it; both stopped by `stop()`.
final class S3TestServer: @unchecked Sendable {
    static var venv: String { TestPlugins.packageRoot + "/.venv-sync" }
    static var python: String { venv + "/bin/python" }
    static var fixtures: String { TestPlugins.packageRoot + "/Tests/LitmusTests/Fixtures/sync" }

    let port: Int
    private let process: Process
    var endpoint: String { "http://127.0.0.1:\(port)" }

    init() throws {
        let moto = Self.venv + "/bin/moto_server"
        guard FileManager.default.isExecutableFile(atPath: moto) else {
            throw TestPython.Failure(description: "no \(moto): run `make test` (scripts/setup.sh installs moto into .venv-sync)")
        }
        port = try Self.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: moto)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try Self.waitForPort(port, what: "moto_server")
    }

    /// SIGKILL: moto's server does not always exit on SIGTERM while connections linger.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    /// Runs Tests/LitmusTests/Fixtures/sync/s3check.py with boto3 and DuckDB from the sync venv.
    static func check(_ arguments: [String]) throws -> Any {
        let script = try String(contentsOfFile: fixtures + "/s3check.py", encoding: .utf8)
        return try TestPython.json(script, arguments, python: python, environment: ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"])
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw TestPython.Failure(description: "no free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Waits until something accepts connections on the port (the server has started).
    static func waitForPort(_ port: Int, what: String) throws {
        for _ in 0..<600 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if connected { return }
            usleep(50_000)
        }
        throw TestPython.Failure(description: "\(what) did not listen on 127.0.0.1:\(port) within 30 s")
    }
}

/// The fault-injecting proxy (Fixtures/sync/fault_proxy.py) as a child process that can be
/// killed and started again on the same port: a server that dies mid-upload and comes back.
final class FaultProxy: @unchecked Sendable {
    let port: Int
    let upstreamPort: Int
    let log: String
    let rate: Double
    let maxDelay: Double
    private var process: Process?
    private var seed: Int

    init(upstreamPort: Int, seed: Int, rate: Double, maxDelay: Double, log: String) throws {
        self.port = try S3TestServer.freePort()
        self.upstreamPort = upstreamPort
        self.seed = seed
        self.rate = rate
        self.maxDelay = maxDelay
        self.log = log
        try start()
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: S3TestServer.python)
        p.arguments = [
            S3TestServer.fixtures + "/fault_proxy.py", "--port", String(port), "--upstream", "127.0.0.1:\(upstreamPort)",
            "--seed", String(seed), "--rate", String(rate), "--max-delay", String(maxDelay), "--log", log,
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        seed += 1
        try S3TestServer.waitForPort(port, what: "fault proxy")
    }

    /// SIGKILL, as a crashed server: connections in flight are cut.
    func kill() {
        guard let p = process, p.isRunning else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit { kill() }
}
