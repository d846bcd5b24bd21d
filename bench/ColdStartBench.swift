// Cold start: from spawning a process to one run's Parquet file on disk, with the default
// settings (git identity of the working directory, host name), outside git and inside a git
// repository. The process is `litmus-test-producer one-run <dataDir>` (one TestRunLogger, one
// step, one limited measurement, finalize, close), spawned with posix_spawn and reaped with
// waitpid. Baselines from the same run, interleaved: `/bin/true`, and the same Swift
// executable exiting at once on a usage error (the dynamic loader and Swift runtime alone).
import Foundation

#if canImport(Glibc)
import Glibc
#endif

func runColdStartBenchmark() {
    let producer = benchDirectory() + "/litmus-test-producer"
    print("Cold start: process start to one run's Parquet on disk (litmus-test-producer one-run, default settings)")
    guard FileManager.default.isExecutableFile(atPath: producer) else {
        print("  skipped: \(producer) is missing (swift build -c release builds it)")
        return
    }
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-cold-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let startDirectory = FileManager.default.currentDirectoryPath
    defer { _ = FileManager.default.changeCurrentDirectoryPath(startDirectory) }
    do {
        let plain = root + "/plain"
        let repository = root + "/repo"
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        try makeBenchGitRepository(at: repository)
        let n = 25
        var goalFigure = 0.0
        for (label, directory) in [("outside git", plain), ("inside a git repository", repository)] {
            _ = FileManager.default.changeCurrentDirectoryPath(directory)
            var trueTimes: [Double] = []
            var swiftTimes: [Double] = []
            var runTimes: [Double] = []
            for i in 0..<n {
                trueTimes.append(try benchSpawn("/bin/true", []).ns)
                swiftTimes.append(try benchSpawn(producer, []).ns)
                let data = "\(directory)/data-\(i)"
                let run = try benchSpawn(producer, ["one-run", data])
                guard run.status == 0 else { throw BenchError(message: "\(producer) one-run exited with \(run.status)") }
                runTimes.append(run.ns)
                try? FileManager.default.removeItem(atPath: data)
            }
            let t = benchSpread(trueTimes), s = benchSpread(swiftTimes), r = benchSpread(runTimes)
            print("  \(label) (\(n) spawns each, interleaved; median, min-max):")
            print(String(format: "    %@ %6.2f ms  (%.2f-%.2f)", benchPad("/bin/true (baseline)", 62) as NSString, t.median / 1e6, t.min / 1e6, t.max / 1e6))
            print(String(format: "    %@ %6.2f ms  (%.2f-%.2f)  %5.1fx baseline", benchPad("the same Swift executable, exiting on a usage error", 62) as NSString,
                         s.median / 1e6, s.min / 1e6, s.max / 1e6, s.median / t.median))
            print(String(format: "    %@ %6.2f ms  (%.2f-%.2f)  %5.1fx baseline", benchPad("one run to Parquet on disk, default settings", 62) as NSString,
                         r.median / 1e6, r.min / 1e6, r.max / 1e6, r.median / t.median))
            goalFigure = max(goalFigure, r.median)
        }
        print(String(format: "Goal: cold start <= 15 ms with defaults, in and out of git (median): %@ (%.1f ms at worst)",
                     goalFigure <= 15e6 ? "met" : "NOT met", goalFigure / 1e6))
    } catch {
        print("  error: \(error)")
    }
}

/// Median, minimum and maximum of some timings.
func benchSpread(_ values: [Double]) -> (median: Double, min: Double, max: Double) {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return (0, 0, 0) }
    return (sorted[sorted.count / 2], sorted.first!, sorted.last!)
}

/// Spawns `path` with `arguments` (posix_spawn; standard input, output and error on
/// /dev/null), waits for it with waitpid, and returns its exit status and the wall time.
func benchSpawn(_ path: String, _ arguments: [String]) throws -> (status: Int32, ns: Double) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let start = now()
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard rc == 0 else { throw BenchError(message: "cannot start \(path): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw BenchError(message: "waitpid \(path): \(String(cString: strerror(errno)))") }
    }
    let elapsed = Double(now() - start)
    return ((status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F), elapsed)
}

/// A git repository with one commit, a clean tree and an `origin` remote (for the benches
/// that read the git identity).
func makeBenchGitRepository(at path: String) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let git = ["/usr/bin/git", "/bin/git", "/usr/local/bin/git"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let git else { throw BenchError(message: "git is not installed (apt-get install git)") }
    try "bench\n".write(toFile: path + "/README", atomically: true, encoding: .utf8)
    for arguments in [
        ["init", "-q", "-b", "main"], ["add", "README"],
        ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", "bench"],
        ["remote", "add", "origin", "https://example.invalid/bench.git"],
    ] {
        let result = try benchSpawn(git, ["-C", path] + arguments)
        guard result.status == 0 else { throw BenchError(message: "git \(arguments.joined(separator: " ")) failed in \(path)") }
    }
}

/// `text` padded with spaces to `width` characters (String(format:) ignores widths on %@ here).
func benchPad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
