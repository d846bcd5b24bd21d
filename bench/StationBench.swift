import Foundation
import Litmus
import Yams

/// Station configuration and instrument-profile costs, against baselines from the same run:
/// - a profile operation (`measure_dc_voltage` -> `MEAS:VOLT:DC?` over the simulated transport)
///   against the raw `query` of the same command: the host's template, parse and dispatch cost;
/// - a mocked role's profile operation against a mock's native operation;
/// - loading and checking the whole mock bench (station, fixture, part, four profiles, plugin
///   tables, mock_config probes) against parsing the same files with Yams alone.
func runStationBenchmark() {
    let registry = benchRegistry()
    let root = ProcessInfo.processInfo.environment["LITMUS_STATIONS"] ?? "stations"
    let stationFile = "\(root)/bench_mock.yaml"
    print("Stations and instrument profiles (best of 7 rounds)")
    do {
        let (config, report) = StationConfiguration.load(station: stationFile, registry: registry)
        guard let config, report.errors.isEmpty else {
            print("error: \(report)")
            exit(1)
        }
        let bench = try config.open()
        defer { bench.close() }
        let dmm = try bench.instrument("dmm")
        let n = 20_000
        let raw = measure(n) { Double(((try? dmm.query("MEAS:VOLT:DC?")) ?? "").utf8.count) }
        print(String(format: "  %-62@ %9.2f µs/call", "raw query(\"MEAS:VOLT:DC?\") over sim (baseline)" as NSString, raw.ns / 1000))
        let profiled = try measure(n) { try dmm.call("measure_dc_voltage").doubleValue! }
        print(String(format: "  %-62@ %9.2f µs/call  %5.2fx baseline", "profile measure_dc_voltage() (template, parse, dispatch)" as NSString, profiled.ns / 1000, profiled.ns / raw.ns))

        let eload = try bench.instrument("eload")
        let native = try registry.open("MOCK::bench", options: ["config": #"{"measure_dc_voltage": 5.0}"#, "trace_limit": .i64(0)])
        let m = 1_000_000
        let nativeCall = try measure(m) { try native.call("measure_dc_voltage").doubleValue! }
        print(String(format: "  %-62@ %9.1f ns/call", "mock native operation (baseline)" as NSString, nativeCall.ns))
        let mocked = try measure(m / 4) { try eload.call("measure_current").doubleValue! }
        print(String(format: "  %-62@ %9.1f ns/call  %5.2fx baseline", "mocked role's profile operation (invoke_named, traced)" as NSString, mocked.ns, mocked.ns / nativeCall.ns))

        let files = [stationFile, "\(root)/fixtures/buck_fixture.yaml", "\(root)/parts/buck_3v3.yaml"]
            + ["dmm", "psu", "eload", "switch"].map { "\(root)/profiles/generic_scpi_\($0).yaml" }
        let texts = try files.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let yams = try measure(20) { Double(try texts.map { try Yams.compose(yaml: $0) }.count) }
        print(String(format: "  %-62@ %9.2f ms", "Yams compose of the 7 files (baseline)" as NSString, yams.ns / 1e6))
        let load = measure(20) { Double(StationConfiguration.load(station: stationFile, registry: registry).1.errors.count) }
        print(String(format: "  %-62@ %9.2f ms  %5.2fx baseline", "load + check the mock bench (7 files, 4 roles)" as NSString, load.ns / 1e6, load.ns / yams.ns))
    } catch {
        print("error: \(error)")
        exit(1)
    }
}
