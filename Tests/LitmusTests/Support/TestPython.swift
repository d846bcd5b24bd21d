import Foundation
import Testing

/// Runs Python programs with the readers the tests check files with (pyarrow, DuckDB, polars).
///
/// Python is `$LITMUS_PYTHON`, else `<package root>/.venv/bin/python` (made by
/// scripts/setup.sh). If neither exists the calling test fails and says how to set it up.
enum TestPython {
    static var path: String {
        if let p = ProcessInfo.processInfo.environment["LITMUS_PYTHON"], !p.isEmpty { return p }
        return "\(TestPlugins.packageRoot)/.venv/bin/python"
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `program` with `arguments` and decodes its standard output as JSON.
    ///
    /// - Parameters:
    ///   - python: another interpreter (a venv of its own, e.g. the sync tests' `.venv-sync`).
    ///   - environment: variables added to this process's environment.
    static func json(_ program: String, _ arguments: [String] = [], python: String? = nil, environment: [String: String] = [:]) throws -> Any {
        let path = python ?? self.path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failure(description: "no Python at \(path): run `make test` or scripts/setup.sh, or set LITMUS_PYTHON")
        }
        let dir = "\(TestPlugins.scratch)/python-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/out", err = "\(dir)/err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-c", program] + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try process.run()
        process.waitUntilExit()
        let stdout = try Data(contentsOf: URL(fileURLWithPath: out))
        guard process.terminationStatus == 0 else {
            let stderr = String(decoding: try Data(contentsOf: URL(fileURLWithPath: err)), as: UTF8.self)
            throw Failure(description: "python exited \(process.terminationStatus): \(stderr)")
        }
        return try JSONSerialization.jsonObject(with: stdout, options: [.fragmentsAllowed])
    }
}
