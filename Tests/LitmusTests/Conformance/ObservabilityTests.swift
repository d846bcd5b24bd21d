import Foundation
import Testing

@testable import Litmus

/// Per-driver log levels and the I/O trace, through the `litmus` tool against a real loopback
/// instrument (`litmus-fake-instruments socket`).
@Suite struct ObservabilityTests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"
    /// What the lan driver logs at DEBUG when its raw socket connects.
    static let debugLine = "raw socket connected to"

    func scpi(_ server: FakeServer, _ extra: [String] = [], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment
        env["LITMUS_LOG"] = nil
        env["LITMUS_IO_TRACE"] = nil
        for (k, v) in environment { env[k] = v }
        return try TestPlugins.run(
            Self.litmus, ["scpi", "TCPIP0::127.0.0.1::\(server.port)::SOCKET", "--no-lock", "-c", "*IDN?"] + extra, environment: env)
    }

    @Test func driverDebugLinesShowOnlyWhenAskedFor() throws {
        let server = try FakeServer("socket", ["--serial", "LOG1"])
        defer { server.stop() }
        let plain = try scpi(server)
        #expect(plain.status == 0, "\(plain.output)")
        #expect(plain.output.contains("LOG1"))
        #expect(!plain.output.contains(Self.debugLine), "\(plain.output)")

        let byEnvironment = try scpi(server, environment: ["LITMUS_LOG": "lan=debug"])
        #expect(byEnvironment.output.contains(Self.debugLine), "\(byEnvironment.output)")

        let byOption = try scpi(server, ["--log-level", "info,lan=debug"])
        #expect(byOption.status == 0, "\(byOption.output)")
        #expect(byOption.output.contains(Self.debugLine), "\(byOption.output)")

        // Another driver's level does not open the lan driver's debug lines.
        let other = try scpi(server, environment: ["LITMUS_LOG": "usbtmc=trace"])
        #expect(!other.output.contains(Self.debugLine), "\(other.output)")

        let bad = try scpi(server, ["--log-level", "lan=loud"])
        #expect(bad.status != 0)
        #expect(bad.output.contains("'loud' is not a log level"), "\(bad.output)")
    }

    @Test func ioTraceFileHoldsEveryWriteAndRead() throws {
        let server = try FakeServer("socket", ["--serial", "TRACE1"])
        defer { server.stop() }
        let dir = TestPlugins.scratch + "/trace-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (args, env) in [(["--trace-file", dir + "/a.log"], [:]), ([], ["LITMUS_IO_TRACE": dir + "/b.log"])] {
            let r = try scpi(server, args, environment: env)
            #expect(r.status == 0, "\(r.output)")
        }
        for name in ["a.log", "b.log"] {
            let lines = try String(contentsOfFile: dir + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init)
            let write = lines.first { $0.contains(" write ") }
            let read = lines.first { $0.contains(" read ") }
            #expect(write?.contains("lan TCPIP0::127.0.0.1::\(server.port)::SOCKET write 6 \"*IDN?\\n\" 2a 49 44 4e 3f 0a") == true, "\(lines)")
            #expect(read?.contains("TRACE1") == true, "\(lines)")
            // The hex of the read is its text's bytes.
            if let read, let text = read.split(separator: "\"").dropFirst().first {
                let hex = text.replacingOccurrences(of: "\\n", with: "\n").utf8.map { String(format: "%02x", $0) }.joined(separator: " ")
                #expect(read.hasSuffix(hex), "\(read)")
            }
            // Each line starts with an ISO 8601 UTC time.
            #expect(lines.allSatisfy { Timestamp(iso8601: String($0.prefix { $0 != " " })) != nil }, "\(lines)")
        }
        // --trace: the same lines on standard error.
        let r = try scpi(server, ["--trace"])
        #expect(r.output.contains("write 6 \"*IDN?\\n\""), "\(r.output)")
    }

    @Test func logLevelsParse() throws {
        let levels = try LogLevels(parsing: "warning,lan=debug,usbtmc=trace")
        #expect(levels.defaultLevel == .warning)
        #expect(levels.level(for: ["lan"]) == .debug)
        #expect(levels.level(for: ["lan.vxi11"]) == .debug)
        #expect(levels.level(for: ["serial"]) == .warning)
        #expect(throws: LogLevelsError.self) { try LogLevels(parsing: "=debug") }
    }
}
