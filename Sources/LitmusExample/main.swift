// litmus-example: the harness recipe on a bench (the mock bench by default): station, fixture,
// part, vectors, limits from the product spec with a guardband, retries, an operator prompt
// answered automatically, observations, records; then a results table and where the data went.
//
//   litmus-example [--station stations/bench_mock.yaml] [--serial SN0001] [--data data]
//                  [--phase validation] [--guardband 10]
//   litmus-example --help      (any other argument is an error)
import Foundation
import Litmus

let usage = """
    usage: litmus-example [--station FILE] [--serial SN] [--data DIR] [--phase PHASE] [--guardband PCT]

    Runs the harness recipe on a bench (the mock bench by default) and writes its data.
      --station FILE    the station file (default stations/bench_mock.yaml)
      --serial SN       the DUT serial number (default SN0001)
      --data DIR        the data directory (default $LITMUS_DATA_DIR, else data)
      --phase PHASE     the test phase recorded (default validation)
      --guardband PCT   the guardband on the product spec's limits, in percent (default 10)
      -h, --help        print this help and exit
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}

/// The options, parsed strictly: `--help` prints the usage and exits 0 before anything runs;
/// an unknown argument or a missing value prints the error and the usage and exits 2.
func parseOptions(_ arguments: [String]) -> [String: String] {
    let known = ["--station", "--serial", "--data", "--phase", "--guardband"]
    var options: [String: String] = [:]
    var i = 0
    func usageError(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n\n\(usage)\n".utf8))
        exit(2)
    }
    while i < arguments.count {
        let argument = arguments[i]
        if argument == "-h" || argument == "--help" {
            print(usage)
            exit(0)
        }
        var name = argument
        var value: String?
        if let eq = argument.firstIndex(of: "="), argument.hasPrefix("--") {
            name = String(argument[..<eq])
            value = String(argument[argument.index(after: eq)...])
        }
        guard known.contains(name) else { usageError("unknown argument '\(argument)'") }
        if value == nil {
            i += 1
            guard i < arguments.count else { usageError("\(name) needs a value") }
            value = arguments[i]
        }
        options[name] = value
        i += 1
    }
    return options
}

let options = parseOptions(Array(CommandLine.arguments.dropFirst()))
func option(_ name: String, _ fallback: String) -> String { options[name] ?? fallback }

let stationFile = option("--station", "stations/bench_mock.yaml")
let serial = option("--serial", "SN0001")
let dataDir = option("--data", ProcessInfo.processInfo.environment["LITMUS_DATA_DIR"] ?? "data")
let phase = option("--phase", "validation")
guard let guardband = Double(option("--guardband", "10")) else { fail("--guardband takes a percentage") }

// 1. The bench: station, fixture and part, checked, then opened.
let registry = DriverRegistry()
registry.loadSearchPath()
let (loaded, report) = StationConfiguration.load(station: stationFile, registry: registry)
for w in report.warnings { print("warning: \(w)") }
guard let config = loaded, report.errors.isEmpty else {
    for e in report.errors { print("error: \(e)") }
    fail("\(stationFile) is not usable; run `litmus station check \(stationFile)`")
}
guard let part = config.part else { fail("\(stationFile) names no part: the limits come from the product spec") }
let bench: OpenStation
do {
    bench = try config.open(.init(locks: ResourceLocks(directory: ResourceLocks.defaultDirectory())))
} catch {
    fail("\(error)")
}
defer { bench.close() }
for w in bench.report.warnings { print("warning: \(w)") }

do {
    let dmm = try bench.instrument("dmm")
    let psu = try bench.instrument("psu")
    let eload = try bench.instrument("eload")

    // 2. The run: identity from one model (the bench sets station, fixture, part and the
    //    phase rule: a bench with mocked roles never records production).
    var identity = RunIdentity(dutSerial: serial, testPhase: phase, product: part.partNumber, project: "litmus-example")
    identity.apply(bench)
    let logger = try TestRunLogger(identity, dataDir: dataDir)

    // 3. The harness: a sweep of input voltage and load, limits from the spec with a
    //    guardband, one retry for a failed vector, prompts answered automatically.
    let harness = try TestHarness(
        vectors: try Vectors.product([Axis("vin", range: "5:12:3.5"), Axis("load", [0.1, 0.5])]),
        logger: logger, stepName: "output_voltage", retry: try RetryConfig(maxRetries: 1),
        product: try ProductContext(part: part, guardbandPct: guardband), station: bench,
        promptHandler: ProcessInfo.processInfo.environment["LITMUS_PROMPT"] == nil ? AutoPromptHandler() : nil)

    try harness.prompt("Insert DUT \(serial) and close the fixture lid", kind: .confirm)
    harness.runContext.configure("fixture_lid", "closed")

    try harness.step("power_on", description: "Bring the input rail up") {
        try psu.call("set_current_limit", .f64(1.0))
        try psu.call("set_voltage", .f64(5.0))
        try psu.call("enable_output")
        try harness.record("dmm_identity", .string(bench.roles[0].identity?.description ?? "unknown"))
    }

    let rails = try harness.runAll(stepName: "output_voltage", description: "vout across input voltage and load") { v in
        if v.changed("vin") { try psu.call("set_voltage", .f64(v.double("vin")!)) }
        try eload.call("set_current", .f64(v.double("load")!))
        try harness.context.observe("vin_measured", .number(try psu.call("measure_voltage").doubleValue ?? .nan), unit: "V")
        try harness.measure("vout", try dmm.call("measure_dc_voltage").doubleValue)
    }

    try harness.step("quiescent", description: "Input current with the load off") {
        try harness.measure("iq", try psu.call("measure_current").doubleValue)
    }
    try psu.call("disable_output")

    let outcome = try logger.finalize()
    try logger.close()

    // 4. What happened, and where the data went.
    print("")
    print("run \(logger.runID) of \(serial) on \(config.station.id): \(outcome.rawValue.uppercased())")
    print("  step output_voltage: \(rails.outcome.rawValue), \(rails.vectors.count) vectors")
    for r in rails.vectors {
        let params = r.vector.params.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
        print("    \(params): \(r.outcome.rawValue)\(r.attempts > 1 ? " after \(r.attempts) attempts" : "")\(r.error.map { " (\($0))" } ?? "")")
    }
    if let file = logger.runFile {
        print("run file: \(file)")
        print("read it:  duckdb -c \"SELECT record_type, step_name, in_vin, in_load, measurement_name, measurement_value, limit_low, limit_high, measurement_outcome, dut_pin, instrument_role FROM '\(file)'\"")
    }
    print("events:   \(dataDir)/events (litmus events tail --data-dir \(dataDir))")
    exit(outcome == .passed || outcome == .done ? 0 : 1)
} catch {
    fail("\(error)")
}
