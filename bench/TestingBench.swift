import Foundation
import Litmus
import LitmusTesting
import Synchronization
import Testing

/// `Litmus.verify` inside a Litmus test case against `TestHarness.measure` called directly, on
/// the same bench (stations/bench_mock.yaml), with the event log attached: the overhead of the
/// Swift Testing integration per verify (task-local lookup, case bookkeeping, failure record).
/// Swift Testing's own runner is not in the loop (it costs the same with or without Litmus).
func runTestingBenchmark() {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-testing-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    setenv("LITMUS_LOCK_DIR", root + "/locks", 1)
    let n = 10_000
    let names = (0..<10).map { "m\($0)" }
    print("Swift Testing integration: \(n) limited measurements per round, best of 5 rounds")
    do {
        let limit = try Limit.between(0, 100, unit: "V")
        let limits = Dictionary(uniqueKeysWithValues: names.map { ($0, limit) })

        // The harness, directly: the same station, part and limits.
        let registry = DriverRegistry()
        registry.loadSearchPath()
        let (loaded, report) = StationConfiguration.load(station: "stations/bench_mock.yaml", registry: registry)
        guard let config = loaded, report.errors.isEmpty else {
            print("error: stations/bench_mock.yaml: \(report.errors)")
            exit(1)
        }
        let station = try config.open(.init(locks: ResourceLocks(directory: root + "/locks-direct")))
        defer { station.close() }
        let logger = try TestRunLogger(RunIdentity(dutSerial: "BENCH-DIRECT", git: false), dataDir: root + "/direct")
        let harness = try TestHarness(
            logger: logger, stepName: "direct", limits: limits, product: try config.part.map { try ProductContext(part: $0) }, station: station)
        var direct = Double.infinity
        for _ in 0..<5 {
            let t0 = now()
            try harness.runVector(Vector(index: 0, params: [])) { _ in
                for i in 0..<n { try harness.measure(names[i % 10], Double(i % 50)) }
            }
            direct = min(direct, Double(now() - t0) / Double(n))
        }

        // The same calls as Litmus.verify in a Litmus test case.
        let best = Mutex(Double.infinity)
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        Task {
            do {
                for _ in 0..<5 {
                    try await LitmusBenchmarkSupport.runCase(
                        station: "stations/bench_mock.yaml", dutSerial: "BENCH-TESTING", dataDir: root + "/testing", limits: limits
                    ) {
                        let t0 = now()
                        for i in 0..<n { try Litmus.verify(names[i % 10], Double(i % 50)) }
                        let ns = Double(now() - t0) / Double(n)
                        best.withLock { $0 = min($0, ns) }
                    }
                }
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
        LitmusBenchmarkSupport.finish()
        try logger.finalize()
        try logger.close()
        let verify = best.withLock { $0 }
        print(String(format: "  %-58@ %8.2f µs/call", "TestHarness.measure, direct (baseline)" as NSString, direct / 1000))
        print(String(format: "  %-58@ %8.2f µs/call  %5.2fx baseline", "Litmus.verify in a Litmus test case" as NSString, verify / 1000, verify / direct))
        print(String(format: "Goal: Litmus.verify within 2x of TestHarness.measure: %@", verify / direct <= 2 ? "met" : "NOT met"))
    } catch {
        print("error: \(error)")
        exit(1)
    }
}
