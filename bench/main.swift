// litmus-bench: speed of the driver ABI, as ratios against baselines measured in the same run
// (these machines are shared and noisy, so absolute numbers alone mean little).
//
//   swift run -c release litmus-bench [abi|events|materializer|parquet|channels|station|socket|vxi11|hislip|serial|harness|testing|production|coldstart|runner|sync ...]   (or: make bench)
//
// Plugins are found like the litmus tool finds them: LITMUS_PLUGIN_PATH, then next to this
// binary (a release build puts liblitmus-*.so beside it).
import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds from a monotonic clock.
@inline(__always)
func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The best (lowest) ns per call over `rounds` rounds of `n` calls: the least disturbed by
/// other load on the machine.
func measure(_ n: Int, rounds: Int = 7, _ body: () throws -> Double) rethrows -> (ns: Double, sink: Double) {
    var best = Double.infinity
    var sink = 0.0
    for _ in 0..<rounds {
        let start = now()
        for _ in 0..<n { sink += try body() }
        best = min(best, Double(now() - start) / Double(n))
    }
    return (best, sink)
}

/// The baseline: a call through a Swift closure the optimiser cannot see through.
final class DirectBaseline {
    var reading: () -> Double = { 5.0 }
    @inline(never) func call() -> Double { reading() }
}

func runABIBenchmark() {
    let registry = benchRegistry()
    for problem in registry.diagnostics { print("warning: \(problem)") }

    let n = 2_000_000
    print("Driver ABI call cost (\(n) calls per round, best of 7 rounds)")
    let baseline = DirectBaseline()
    let direct = measure(n) { baseline.call() }
    print(String(format: "  %-58@ %8.1f ns/call", "direct Swift closure call (baseline)" as NSString, direct.ns))

    func row(_ label: String, _ result: (ns: Double, sink: Double)) {
        print(String(format: "  %-58@ %8.1f ns/call  %7.1fx baseline", label as NSString, result.ns, result.ns / max(direct.ns, 0.1)))
    }

    do {
        let noTrace = try registry.open(
            "MOCK::bench", options: ["config": #"{"measure_dc_voltage": 5.0}"#, "trace_limit": .i64(0)])
        let traced = try registry.open("MOCK::bench-traced", options: ["config": #"{"measure_dc_voltage": 5.0}"#])
        let op = try noTrace.operation(named: "measure_dc_voltage")

        let byName = try measure(n) { try noTrace.call("measure_dc_voltage").doubleValue! }
        row("mock measure_dc_voltage() via call(name)", byName)
        row("mock measure_dc_voltage() via dispatch(resolved op)", try measure(n) { try noTrace.dispatch(op, []).doubleValue! })
        row("mock set_voltage(3.3) via call(name) (f64 argument)", try measure(n) {
            _ = try noTrace.call("set_voltage", .f64(3.3))
            return 0
        })
        row("mock measure_dc_voltage() with call trace on", try measure(n / 4) { try traced.call("measure_dc_voltage").doubleValue! })

        let example = try registry.open("EXAMPLE::dmm0::INSTR")
        row("example-c (C plugin) measure_dc_voltage() via call(name)", try measure(n) {
            try example.call("measure_dc_voltage").doubleValue!
        })
        row("example-c (C plugin) query(\"MEAS:VOLT:DC?\") write+read", try measure(n / 4) {
            Double(try example.query("MEAS:VOLT:DC?").utf8.count)
        })
        let sim = try registry.open("SIM::dmm::INSTR", options: ["trace_limit": .i64(0)])
        row("sim SCPI query(\"MEAS:VOLT:DC?\") write+read through the ABI", try measure(n / 20) {
            Double(try sim.query("MEAS:VOLT:DC?").utf8.count)
        })

        let goal = 200.0
        print(
            String(
                format: "Goal: <= %.0f ns per mock operation call through the ABI: %@ (%.1f ns)", goal,
                byName.ns <= goal ? "met" : "NOT met", byName.ns))
    } catch {
        print("error: \(error)")
        exit(1)
    }
}

/// Sections, in order; name some on the command line to run only those.
let sections: [(String, () -> Void)] = [
    ("abi", runABIBenchmark), ("events", runEventLogBenchmark), ("materializer", runMaterializerBenchmark),
    ("parquet", runParquetBenchmark), ("channels", runChannelBenchmark), ("station", runStationBenchmark),
    ("socket", runSocketBenchmark), ("vxi11", runVXI11Benchmark), ("hislip", runHiSLIPBenchmark),
    ("serial", runSerialBenchmark), ("harness", runHarnessBenchmark), ("testing", runTestingBenchmark),
    ("orphans", runOrphanBenchmark), ("production", runProductionBenchmark), ("coldstart", runColdStartBenchmark),
    ("runner", runRunnerBenchmark), ("hostio", runHostIOBenchmark), ("report", runReportBenchmark),
    ("serve", runServeBenchmark), ("analytics", runAnalyticsBenchmark), ("sync", runSyncBenchmark),
]
let benchUsage = "usage: litmus-bench [section...]   (no section: all)\nsections: \(sections.map(\.0).joined(separator: ", "))"
let chosen = Set(CommandLine.arguments.dropFirst())
if chosen.contains("--help") || chosen.contains("-h") {
    print(benchUsage)
    exit(0)
}
if let unknown = chosen.first(where: { name in !sections.contains { $0.0 == name } }) {
    FileHandle.standardError.write(Data("error: unknown argument '\(unknown)'\n\(benchUsage)\n".utf8))
    exit(2)
}
for (name, run) in sections where chosen.isEmpty || chosen.contains(name) {
    run()
    print("")
}
