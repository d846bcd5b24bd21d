import ArgumentParser
import Foundation
import LitmusAnalytics

/// `litmus metrics <data dir or lake>`
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Yield, failure Pareto, capability (Cp, Cpk, Ppk) and test time over run files.",
        discussion: """
            Reads the run files of a data folder (its runs/ lake) or of any Hive-partitioned lake of run \
            files. A unit is a DUT serial: first-pass yield counts units whose first run passed, final yield \
            units whose last run passed. Only each vector's final attempt counts (a retried failure is not a \
            failure). Capability groups final-attempt values by step, measurement and limit; Cp/Cpk use the \
            within sigma (average moving range / 1.128), Pp/Ppk the overall sigma.
            """)

    @Argument(help: "A data folder, a lake of run files, or one run file (default: $LITMUS_DATA_DIR or ./data).")
    var path: String?
    @Option(help: "Only runs of this part (part_id or dut_part_number).") var part: String?
    @Option(help: "Only runs of this station id.") var station: String?
    @Option(help: "Only runs of this test phase.") var phase: String?
    @Option(help: "Only runs started on or after this UTC date or time (2026-11-26 or 2026-11-26T15:00:00Z).") var from: String?
    @Option(help: "Only runs started before this UTC date or time (a date alone: the end of that day).") var to: String?
    @Option(help: "Only DUT serials matching this shell pattern (SN00*).") var serial: String?
    @Option(help: "Only this step (step path or name) in the Pareto, capability and test time tables.") var step: String?
    @Option(help: "Only this measurement in the Pareto and capability tables.") var measurement: String?
    @Flag(help: "Print JSON instead of tables.") var json = false
    @Option(help: "Also write a self-contained HTML page with charts to this file.") var html: String?

    func run() throws {
        let root = path ?? ProcessInfo.processInfo.environment["LITMUS_DATA_DIR"] ?? "data"
        var filter = MetricsFilter(part: part, station: station, phase: phase, serial: serial, step: step, measurement: measurement)
        if let from {
            guard let t = MetricsFilter.parseTime(from) else {
                throw ValidationError("--from '\(from)' is not a UTC date or time like 2026-11-26 or 2026-11-26T15:00:00Z")
            }
            filter.from = t
        }
        if let to {
            guard let t = MetricsFilter.parseTime(to) else {
                throw ValidationError("--to '\(to)' is not a UTC date or time like 2026-11-26 or 2026-11-26T15:00:00Z")
            }
            filter.to = to.count == 10 ? t + 86_400_000_000 : t
        }
        let lake: RunLake
        do {
            lake = try RunLake(root: root)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let metrics = RunMetrics.compute(lake: lake, filter: filter)
        if json {
            print(metrics.json())
        } else {
            if metrics.yield.runs == 0 { print("No runs in \(lake.root) match.") }
            print(metrics.text())
        }
        if let html {
            do {
                try Data(MetricsHTML.render(metrics, title: "Litmus metrics: \(lake.root)").utf8).write(to: URL(fileURLWithPath: html))
            } catch {
                printError("error: cannot write \(html): \(error.localizedDescription)")
                throw ExitCode.failure
            }
            if !json { print("HTML: \(html)") }
        }
    }
}
