import Foundation
import Testing

@testable import Litmus

/// The line-protocol supply (`litmus-fake-instruments line-psu`) on loopback, opened as a
/// station role through the LAN driver and a profile: the shipped `acme_line_psu`, or one
/// written by the test. Its log file holds every line the supply received.
final class LinePSUBench {
    let server: FakeServer
    let directory: String
    let logPath: String
    let bench: OpenStation

    static let shippedProfiles = TestPlugins.packageRoot + "/stations/profiles"

    /// Starts the supply and opens role `psu` with `profile` (from `profiles`, written into a
    /// directory of the test's own, or the shipped ones).
    init(profile: String = "acme_line_psu", profiles: [String: String] = [:], roleOptions: String = "") throws {
        directory = TestPlugins.scratch + "/line-psu-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/profiles", withIntermediateDirectories: true)
        logPath = directory + "/received.log"
        server = try FakeServer("line-psu", ["--log", logPath])
        for (name, text) in profiles {
            try text.write(toFile: "\(directory)/profiles/\(name).yaml", atomically: true, encoding: .utf8)
        }
        let station = """
            name: line psu bench
            profile_paths: [profiles, \(Self.shippedProfiles)]
            instruments:
              psu:
                resource: "TCPIP::127.0.0.1::\(server.port)::SOCKET"
                profile: \(profile)
                identity: {manufacturer: "ACME PS-2000"}
            \(roleOptions)
            """
        try station.write(toFile: directory + "/station.yaml", atomically: true, encoding: .utf8)
        let (config, report) = StationConfiguration.load(
            station: directory + "/station.yaml", registry: TestPlugins.registry, environment: [:])
        #expect(report.errors.isEmpty, "\(report)")
        bench = try #require(config).open(.init(locks: nil))
    }

    var psu: Instrument { get throws { try bench.instrument("psu") } }

    /// The lines the supply received, in order.
    var received: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    deinit {
        bench.close()
        server.stop()
    }
}
