// The Python original as a measured anchor: bench/anchor/characterization.py run with the
// venv that has litmus-test 0.3.1 and testerkit 0.6.0 (.venv-anchor, which `make bench`
// creates through `LITMUS_SETUP_ANCHOR=1 scripts/setup.sh`). Never a constant: when the venv
// is missing the comparison is skipped, with the reason printed.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The original's Python and the workload script.
struct BenchAnchor {
    let python: String
    let script: String

    struct Run {
        var name: String
        var version: String
        var measurements: Int
        /// From opening the event store to the run's Parquet file on disk.
        var seconds: Double
        /// Of which: waiting for the runs daemon to write the Parquet file after close.
        var parquetSeconds: Double
    }

    /// Runs the workload on `package` (`litmus` or `testerkit`) in `dataDir`.
    func run(_ package: String, dataDir: String) throws -> Run {
        let (status, output) = try benchCapture(python, [script, package, dataDir])
        let line = output.split(separator: "\n").last { $0.hasPrefix("anchor ") }
        guard status == 0, let line else {
            throw BenchError(message: "\(script) \(package) exited with \(status): \(output.suffix(400))")
        }
        var fields: [String: String] = [:]
        for field in line.split(separator: " ").dropFirst() {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard let measurements = fields["measurements"].flatMap({ Int($0) }), let seconds = fields["seconds"].flatMap({ Double($0) }),
            let waited = fields["parquet_seconds"].flatMap({ Double($0) })
        else { throw BenchError(message: "unexpected output of \(script): \(line)") }
        let name = package == "litmus" ? "litmus-test" : package
        return Run(name: name, version: fields["version"] ?? "?", measurements: measurements, seconds: seconds, parquetSeconds: waited)
    }
}

/// The anchor, or why it cannot run. LITMUS_BENCH_ANCHOR=0 skips it; LITMUS_ANCHOR_PYTHON
/// names another Python with the originals installed.
func benchAnchor() -> Result<BenchAnchor, BenchError> {
    let environment = ProcessInfo.processInfo.environment
    if environment["LITMUS_BENCH_ANCHOR"] == "0" { return .failure(BenchError(message: "LITMUS_BENCH_ANCHOR=0")) }
    var python = environment["LITMUS_ANCHOR_PYTHON"]
    var script: String?
    var url = URL(fileURLWithPath: benchDirectory())
    for _ in 0..<5 {
        let candidate = url.appendingPathComponent(".venv-anchor/bin/python").path
        if python == nil, FileManager.default.isExecutableFile(atPath: candidate) { python = candidate }
        let scriptCandidate = url.appendingPathComponent("bench/anchor/characterization.py").path
        if script == nil, FileManager.default.fileExists(atPath: scriptCandidate) { script = scriptCandidate }
        url.deleteLastPathComponent()
    }
    guard let script else { return .failure(BenchError(message: "bench/anchor/characterization.py not found above \(benchDirectory())")) }
    guard let python, FileManager.default.isExecutableFile(atPath: python) else {
        return .failure(BenchError(message: "its venv .venv-anchor is not installed: `make bench`, or `LITMUS_SETUP_ANCHOR=1 scripts/setup.sh`, installs litmus-test 0.3.1 and testerkit 0.6.0 into it"))
    }
    return .success(BenchAnchor(python: python, script: script))
}

/// Runs `path` with `arguments` (posix_spawn, standard error merged into standard output),
/// waits for it, and returns its exit status and output.
func benchCapture(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw BenchError(message: "pipe: \(String(cString: strerror(errno)))") }
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    close(fds[1])
    guard rc == 0 else {
        close(fds[0])
        throw BenchError(message: "cannot start \(path): \(String(cString: strerror(rc)))")
    }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n > 0 {
            output += chunk[0..<n]
        } else if n == 0 || errno != EINTR {
            break
        }
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return ((status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F), String(decoding: output, as: UTF8.self))
}
