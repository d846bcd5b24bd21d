import Foundation
import Testing

@testable import Litmus

/// A data folder with real runs for the analytics tests, made once per test process:
///
/// - the built `litmus-example` on the mock bench: SN-A passes; SN-B fails (a 99.5 %
///   guardband leaves no room around the nominal, every vector fails and is retried once) and
///   passes when tested again;
/// - harness runs in this process on the part's spec with readings that vary: SN-H1 and SN-H3
///   pass, SN-H2 fails once (a vout reading above the limit, retried and still failing) then
///   passes; in every harness run the `ripple` reading of vector 1 fails on its first attempt
///   and passes on the retry, a retried failure that must not count.
enum AnalyticsLake {
    struct Lake {
        var data: String
        var failedRipples: Int
    }

    static let shared: Result<Lake, any Error> = Result { try make() }

    static func get() throws -> Lake { try shared.get() }

    static func make() throws -> Lake {
        let data = TestPlugins.scratch + "/analytics-\(UUID().uuidString)"
        var env = ProcessInfo.processInfo.environment
        env["LITMUS_LOCK_DIR"] = data + "/locks"
        env.removeValue(forKey: "LITMUS_PROMPT")
        env.removeValue(forKey: "LITMUS_DATA_DIR")
        for (serial, guardband, status) in [("SN-A", "10", Int32(0)), ("SN-B", "99.5", 1), ("SN-B", "10", 0)] {
            let result = try TestPlugins.run(
                TestPlugins.buildDirectory + "/litmus-example",
                ["--station", TestPlugins.packageRoot + "/stations/bench_mock.yaml", "--data", data, "--serial", serial, "--guardband", guardband],
                environment: env)
            guard result.status == status else {
                throw TestPython.Failure(description: "litmus-example \(serial) --guardband \(guardband) exited \(result.status), not \(status): \(result.output)")
            }
        }
        let part = try PartLoader.load(path: TestPlugins.packageRoot + "/stations/parts/buck_3v3.yaml").part
        var failedRipples = 0
        var reading = 0
        for (serial, failing) in [("SN-H1", false), ("SN-H2", true), ("SN-H2", false), ("SN-H3", false)] {
            let logger = try TestRunLogger(
                RunIdentity(dutSerial: serial, partID: part.id, stationID: "bench_h", testPhase: "validation", git: false), dataDir: data)
            let harness = try TestHarness(
                vectors: try Vectors.product([Axis("vin", [5, 8.5, 12])]), logger: logger, stepName: "rails",
                retry: try RetryConfig(maxRetries: 1), limits: ["ripple": try Limit.atMost(0.05, unit: "V")],
                product: try ProductContext(part: part, guardbandPct: 10))
            var attempts: [Int: Int] = [:]
            try harness.runAll { v in
                attempts[v.index, default: 0] += 1
                reading += 1
                // Varying readings around 3.30 V inside the guardbanded limit [3.2316, 3.3684].
                let vout = failing && v.index == 2 ? 3.40 : 3.30 + Double((reading * 37) % 41 - 20) / 1000
                try harness.measure("vout", vout, dutPin: "VOUT")
                let firstTry = attempts[v.index] == 1 && v.index == 1
                if firstTry { failedRipples += 1 }
                try harness.measure("ripple", firstTry ? 0.08 : 0.01 + Double(reading % 5) / 1000, dutPin: "VOUT")
            }
            try harness.step("quiescent") {
                try harness.measure("iq", 0.001 + Double(reading % 7) / 10_000, dutPin: "VIN")
            }
            _ = try logger.finalize()
            try logger.close()
        }
        return Lake(data: data, failedRipples: failedRipples)
    }

    /// Every run file's path and bytes.
    static func snapshot(_ data: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: data + "/runs") where path.hasSuffix(".parquet") {
            out[path] = try Data(contentsOf: URL(fileURLWithPath: data + "/runs/" + path))
        }
        return out
    }

    /// Runs the built `litmus` with `arguments`.
    static func litmus(_ arguments: [String]) throws -> (status: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "LITMUS_DATA_DIR")
        return try TestPlugins.run(TestPlugins.buildDirectory + "/litmus", arguments, environment: env)
    }
}
