import Foundation
import Testing

@testable import Litmus

/// Every executable parses its arguments strictly (issue 12 item 26): `litmus-example --help`
/// ran a full test and wrote data. `--help` prints the usage and exits 0 with no side effect;
/// an unknown argument prints an error and the usage and exits non-zero, also with no side
/// effect. The built binaries run as child processes, standard input closed.
@Suite struct ExecutableArgumentsTests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ name: String, _ arguments: [String], in directory: String = TestPlugins.packageRoot, environment extra: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPlugins.buildDirectory + "/" + name)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read stderr on another thread so neither pipe can fill up and block the child.
        let errData = UncheckedBox<Data>(Data())
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            errData.value = err.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.value, as: UTF8.self))
    }

    final class UncheckedBox<T>: @unchecked Sendable {
        var value: T
        init(_ value: T) { self.value = value }
    }

    /// A data directory that must stay absent.
    static func absentDirectory() -> String { "\(TestPlugins.scratch)/must-not-exist-\(UUID().uuidString)" }

    @Test func litmusExampleHelpRunsNothing() throws {
        let data = Self.absentDirectory()
        let help = try Self.run("litmus-example", ["--help"], environment: ["LITMUS_DATA_DIR": data])
        #expect(help.status == 0, "\(help)")
        #expect(help.stdout.contains("usage: litmus-example"), "\(help)")
        #expect(help.stdout.contains("--guardband"), "\(help)")
        #expect(!help.stdout.contains("run "), "\(help)")
        #expect(!FileManager.default.fileExists(atPath: data))

        for arguments in [["--bogus"], ["--serial", "SN1", "extra"], ["--station"], ["-x"]] {
            let bad = try Self.run("litmus-example", arguments, environment: ["LITMUS_DATA_DIR": data])
            #expect(bad.status == 2, "\(arguments): \(bad)")
            #expect(bad.stderr.contains("error: "), "\(arguments): \(bad)")
            #expect(bad.stderr.contains("usage: litmus-example"), "\(arguments): \(bad)")
            #expect(!FileManager.default.fileExists(atPath: data), "\(arguments) wrote data")
        }
    }

    @Test func litmusBenchHelpAndUnknownArguments() throws {
        let help = try Self.run("litmus-bench", ["--help"])
        #expect(help.status == 0, "\(help)")
        #expect(help.stdout.contains("usage: litmus-bench"), "\(help)")
        #expect(help.stdout.contains("harness"), "\(help)")
        let bad = try Self.run("litmus-bench", ["--bogus"])
        #expect(bad.status == 2, "\(bad)")
        #expect(bad.stderr.contains("unknown argument '--bogus'") && bad.stderr.contains("usage: litmus-bench"), "\(bad)")
    }

    @Test func testProducerHelpAndExtraArguments() throws {
        let help = try Self.run("litmus-test-producer", ["--help"])
        #expect(help.status == 0, "\(help)")
        #expect(help.stdout.contains("usage: litmus-test-producer"), "\(help)")

        let data = Self.absentDirectory()
        for arguments in [
            ["flush", data, UUID().uuidString, "10", "extra"], ["flush", data, UUID().uuidString], ["bogus", data, UUID().uuidString],
            ["flush", data, "not-a-uuid", "10"],
        ] {
            let bad = try Self.run("litmus-test-producer", arguments)
            #expect(bad.status != 0, "\(arguments): \(bad)")
            #expect(bad.stderr.contains("usage: litmus-test-producer"), "\(arguments): \(bad)")
            #expect(!FileManager.default.fileExists(atPath: data), "\(arguments) wrote data")
        }
    }

    @Test func fakeInstrumentsHelpAndUnknownArguments() throws {
        for arguments in [["--help"], ["socket", "--help"], ["-h"]] {
            let help = try Self.run("litmus-fake-instruments", arguments)
            #expect(help.status == 0, "\(arguments): \(help)")
            #expect(help.stdout.contains("usage: litmus-fake-instruments"), "\(arguments): \(help)")
            // No server started (a server's first line is `port <n>`).
            #expect(!help.stdout.split(separator: "\n").contains { $0.hasPrefix("port ") }, "\(arguments): \(help)")
        }
        for arguments in [["bogus"], ["socket", "--bogus"], []] {
            let bad = try Self.run("litmus-fake-instruments", arguments)
            #expect(bad.status == 2, "\(arguments): \(bad)")
            #expect(!bad.stderr.isEmpty, "\(arguments): \(bad)")
        }
    }

    @Test func litmusCLIHelpAndUnknownArguments() throws {
        let help = try Self.run("litmus", ["--help"])
        #expect(help.status == 0, "\(help)")
        #expect(help.stdout.contains("USAGE: litmus"), "\(help)")
        for arguments in [["bogus"], ["station", "check", "stations/bench_mock.yaml", "--bogus"], ["--bogus"]] {
            let bad = try Self.run("litmus", arguments)
            #expect(bad.status != 0, "\(arguments): \(bad)")
            #expect(bad.stderr.contains("Usage: litmus") || bad.stderr.contains("USAGE: litmus"), "\(arguments): \(bad)")
        }
    }
}
