// What the transport benchmarks share: the fake-instrument server child process, where the
// release binaries are, and interleaved best-of-rounds timing.
import CBenchFloor
import Foundation
import Litmus
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A benchmark that cannot run: what went wrong.
struct BenchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The plugins, found like the litmus tool finds them (LITMUS_PLUGIN_PATH, then beside this
/// binary), with only errors logged: what every transport and ABI section opens instruments with.
func benchRegistry() -> DriverRegistry {
    var logger = Logger(label: "litmus.bench")
    logger.logLevel = .error
    let registry = DriverRegistry(logger: logger)
    registry.loadSearchPath()
    return registry
}

/// The path of `litmus-fake-instruments` beside this executable, or nil after printing that
/// `section` is skipped and how to build it.
func benchFakeInstruments(_ section: String) -> String? {
    let executable = benchDirectory() + "/litmus-fake-instruments"
    guard FileManager.default.isExecutableFile(atPath: executable) else {
        print("\(section): skipped: no \(executable) (build it: swift build -c release)")
        return nil
    }
    return executable
}

/// A free TCP port on 127.0.0.1 (bound, read back, released).
func benchFreePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw BenchError(message: "no free port: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The directory of this executable (the release build puts the fake server beside it).
func benchDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path = n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    return URL(fileURLWithPath: path).deletingLastPathComponent().path
}

/// A `litmus-fake-instruments <kind>` child process, started from beside this executable; it
/// prints `port <n>` once it listens and ends when its standard input closes.
final class BenchServer {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    /// The port it listens on (the portmapper's for VXI-11).
    let port: Int

    init(_ kind: String, _ arguments: [String] = [], executable: String = benchDirectory() + "/litmus-fake-instruments") throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [kind] + arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = ""
        while !line.hasSuffix("\n") {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty { break }
            line += String(decoding: byte, as: UTF8.self)
        }
        guard line.hasPrefix("port "), let p = Int(line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            throw BenchError(message: "\(executable) \(kind) did not print its port (got \"\(line)\")")
        }
        port = p
    }

    /// Pins every thread of the server (its accept threads too, so the connection threads
    /// they start inherit the CPU).
    func pin(to cpu: Int32) -> Bool {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/task")) ?? []
        var ok = !tasks.isEmpty
        for task in tasks {
            if let tid = Int32(task), litmus_bench_pin(tid, cpu) != 0 { ok = false }
        }
        return ok
    }

    /// Pins the calling thread and every server thread to the last CPU this process may use,
    /// so client and server share one core. `cpu` is -1 when pinning failed.
    func pinWithCaller() -> (cpu: Int32, description: String) {
        let cpu = litmus_bench_last_allowed_cpu()
        guard cpu >= 0, litmus_bench_pin(0, cpu) == 0, pin(to: cpu) else { return (-1, "unpinned (could not pin)") }
        return (cpu, "client and server pinned to CPU \(cpu)")
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// Best (lowest) ns per operation over interleaved rounds of two contenders, so drift in the
/// machine's load hits both alike.
func interleaved(
    rounds: Int, _ a: () throws -> (ns: UInt64, ops: Int), _ b: () throws -> (ns: UInt64, ops: Int)
) rethrows -> (a: Double, b: Double) {
    var bestA = Double.infinity
    var bestB = Double.infinity
    for _ in 0..<rounds {
        let ra = try a()
        bestA = min(bestA, Double(ra.ns) / Double(ra.ops))
        let rb = try b()
        bestB = min(bestB, Double(rb.ns) / Double(rb.ops))
    }
    return (bestA, bestB)
}

/// The project's Python (LITMUS_PYTHON, else `.venv/bin/python` above the build directory).
func benchPython() -> String? {
    if let p = ProcessInfo.processInfo.environment["LITMUS_PYTHON"], FileManager.default.isExecutableFile(atPath: p) {
        return p
    }
    var url = URL(fileURLWithPath: benchDirectory())
    for _ in 0..<5 {
        let candidate = url.appendingPathComponent(".venv/bin/python").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        url.deleteLastPathComponent()
    }
    return nil
}
