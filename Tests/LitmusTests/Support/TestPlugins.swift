import Foundation
import Testing

@testable import Litmus

/// Finds the built plugins and compiles C fixture plugins for tests.
///
/// Built plugins are looked up in `LITMUS_TEST_PLUGIN_DIR`, else next to the test binary
/// (SwiftPM puts every product of the package in one directory). The test target does not
/// depend on plugin targets: each exports the same entry symbol.
enum TestPlugins {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let headerDirectory = packageRoot + "/Sources/CLitmusDriverABI/include"
    static let fixtureDirectory = packageRoot + "/Tests/LitmusTests/Fixtures/plugins"

    static let buildDirectory: String = {
        if let dir = ProcessInfo.processInfo.environment["LITMUS_TEST_PLUGIN_DIR"] { return dir }
        let exe = System.executablePath() ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On macOS the test binary sits inside a .xctest bundle.
        while url.path.contains(".xctest") { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The path of a built plugin product, e.g. `path("mock")` -> `.../liblitmus-mock.so`.
    static func path(_ name: String) -> String { "\(buildDirectory)/liblitmus-\(name).so" }

    /// A registry with the in-tree plugins (mock, example-c, lan, serial, usbtmc), loaded once per process:
    /// plugins are never unloaded, so sharing one is what a real host does too.
    static let registry: DriverRegistry = {
        let registry = DriverRegistry()
        for name in ["mock", "example-c", "lan", "serial", "usbtmc"] {
            do { try registry.loadPlugin(at: path(name)) } catch { Issue.record("cannot load \(name): \(error)") }
        }
        return registry
    }()

    /// A temporary directory for this test process.
    static let scratch: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-tests-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// A directory for plugin files this test process builds or copies: in the build
    /// directory, because the loader refuses plugins under a directory others can write, such
    /// as the temporary directory (/tmp). Directories of test processes that are gone are
    /// removed when the first test asks for it.
    static let pluginScratch: String = {
        let parent = buildDirectory + "/test-plugins"
        for name in System.directoryEntries(parent) {
            if let pid = Int32(name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(atPath: parent + "/" + name)
            }
        }
        let dir = parent + "/\(getpid())"
        try? FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return dir
    }()

    private static let compileLock = NSLock()
    private nonisolated(unsafe) static var compiled: [String: String] = [:]

    /// Compiles a fixture with `cc -shared -fPIC` against the ABI header, into
    /// ``pluginScratch``; cached per process.
    static func compile(_ source: String, defines: [String] = [], name: String) throws -> String {
        try compile(sources: ["\(fixtureDirectory)/\(source)"], defines: defines, name: name)
    }

    /// Compiles C files (absolute paths) into one plugin, against the header in
    /// `includeDirectory` (the current ABI header by default; a frozen older one to build a
    /// plugin as a vendor did for that minor); cached per process.
    static func compile(
        sources: [String], includeDirectory: String = headerDirectory, defines: [String] = [], name: String
    ) throws -> String {
        let key = (sources + [includeDirectory, name] + defines).joined(separator: "|")
        // Held for the whole compile: tests running in parallel that need the same plugin must
        // not load (or copy) a file cc is still writing.
        compileLock.lock()
        defer { compileLock.unlock() }
        if let done = compiled[key] { return done }
        let output = "\(pluginScratch)/\(name).so"
        let partial = "\(pluginScratch)/.\(name).so.partial"
        let result = try run(
            "/usr/bin/env",
            ["cc", "-std=c11", "-shared", "-fPIC", "-I", includeDirectory]
                + defines.map { "-D\($0)" } + sources + ["-o", partial])
        guard result.status == 0 else {
            throw DriverError(.failed, "cc failed for \(sources) \(defines): \(result.output)")
        }
        guard rename(partial, output) == 0 else {
            throw DriverError(.failed, "cannot rename \(partial) to \(output): errno \(errno)")
        }
        compiled[key] = output
        return output
    }

    /// ``run(_:_:environment:in:)`` on a thread of its own, for children that take minutes (a
    /// SwiftPM build): the waiting test does not hold one of the pool's few threads, which every
    /// other test of the process shares (2 on a 2-core machine).
    static func runOffPool(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, in directory: String? = nil
    ) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try run(executable, arguments, environment: environment, in: directory) })
            }
            thread.name = "test-child \((executable as NSString).lastPathComponent)"
            thread.start()
        }
    }

    /// Runs a program and returns its exit status and combined output.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, in directory: String? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
