import Foundation
import Logging
import Testing

@testable import Litmus

/// The host services a plugin calls back: logging goes to the registry's logger.
@Suite struct HostServicesTests {
    final class Capture: LogHandler, @unchecked Sendable {
        let lock = NSLock()
        var lines: [(Logger.Level, String, Logger.Metadata?)] = []
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lock.withLock { lines.append((event.level, "\(event.message)", event.metadata)) }
        }
    }

    @Test func pluginLogLinesReachTheHostLoggerAtTheirLevel() throws {
        let capture = Capture()
        let registry = DriverRegistry(logger: Logger(label: "test") { _ in capture })
        // A copy under another name: this registry must load it itself.
        let copy = "\(TestPlugins.pluginScratch)/liblitmus-example-log-\(UUID().uuidString).so"
        try FileManager.default.copyItem(atPath: TestPlugins.path("example-c"), toPath: copy)
        try registry.loadPlugin(at: copy)
        let dmm = try registry.open("EXAMPLE::dmm0::INSTR", options: ["serial": "LOG-1"])
        _ = try dmm.query("*IDN?")  // logged at trace: filtered out at debug
        dmm.close()
        let lines = capture.lock.withLock { capture.lines }
        let connected = try #require(lines.first { $0.1.contains("connected to EXAMPLE::dmm0::INSTR") })
        #expect(connected.0 == .debug)
        #expect(connected.1.contains("serial LOG-1"))
        #expect(connected.2?["plugin"] == .string(System.realPath(copy)!))
        #expect(lines.contains { $0.1.contains("closing") })
        #expect(!lines.contains { $0.0 == .trace })
    }
}
