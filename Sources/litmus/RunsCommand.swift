import ArgumentParser
import Foundation
import Litmus
import LitmusJSON
import LitmusSync

/// Where results live: `--data-dir`, else `LITMUS_DATA_DIR`, else `./data`.
struct DataDirOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory (default: $LITMUS_DATA_DIR or ./data).")
    var dataDir: String?

    var path: String { dataDir ?? ProcessInfo.processInfo.environment["LITMUS_DATA_DIR"] ?? "data" }
}

/// `litmus runs list | show | export`
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List, show, export, report and re-judge test runs.",
        subcommands: [List.self, Show.self, Export.self, RunsReportCommand.self, RejudgeCommand.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, newest first.")
        @OptionGroup var data: DataDirOption
        @Option(help: "Only runs started on or after this UTC date or time (2026-11-26 or 2026-11-26T15:00:00Z).")
        var since: String?
        @Option(help: "Only runs of this DUT serial.") var serial: String?
        @Flag(help: "Only runs that did not pass.") var failed = false
        @Flag(help: "Print JSON Lines instead of a table.") var json = false

        func run() throws {
            let catalog = try RunCatalog(dataDir: data.path)
            var since: Timestamp?
            if let text = self.since {
                guard let t = Timestamp(iso8601: text.count == 10 ? text + "T00:00:00Z" : text) else {
                    throw ValidationError("--since '\(text)' is not a UTC date or time like 2026-11-26 or 2026-11-26T15:00:00Z")
                }
                since = t
            }
            let rows = catalog.summaries.filter { s in
                (since == nil || (s.startedAt ?? Timestamp(microseconds: 0)) >= since!)
                    && (serial == nil || s.dutSerial == serial) && (!failed || (s.outcome != .passed && s.outcome != .done))
            }
            if json {
                for s in rows {
                    var j = JSONBuffer()
                    j.beginObject()
                    j.field("run_id", s.runID.uuidString.lowercased())
                    j.field("session_id", s.sessionID.uuidString.lowercased())
                    j.field("dut_serial", s.dutSerial)
                    j.field("station_id", s.stationID)
                    j.field("test_phase", s.testPhase)
                    j.field("started_at", s.startedAt?.iso8601)
                    j.field("ended_at", s.endedAt?.iso8601)
                    j.field("outcome", s.outcome?.rawValue ?? "running")
                    j.field("measurements", s.measurements)
                    j.field("failed_measurements", s.failedMeasurements)
                    j.field("parquet", s.parquetPath)
                    j.key("diagnostics")
                    j.beginArray()
                    for d in s.diagnostics { j.value(d.description) }
                    j.endArray()
                    j.endObject()
                    print(String(decoding: j.bytes, as: UTF8.self))
                }
                return
            }
            if rows.isEmpty {
                print("No runs in \(data.path).")
                return
            }
            let color = isatty(STDOUT_FILENO) != 0
            print(
                TextTable.render(
                    header: ["RUN", "STARTED (UTC)", "SERIAL", "STATION", "PHASE", "OUTCOME", "MEAS", "FAIL", "DIAG", "PARQUET"],
                    rows: rows.map { s in
                        [
                            String(s.runID.uuidString.lowercased().prefix(8)), s.startedAt.map { String($0.iso8601.prefix(19)) } ?? "",
                            s.dutSerial, s.stationID ?? "", s.testPhase ?? "",
                            paint(s.outcome?.rawValue ?? "running", s.outcome, color), "\(s.measurements)", "\(s.failedMeasurements)",
                            s.diagnostics.isEmpty ? "-" : Set(s.diagnostics.map(\.kind)).sorted().joined(separator: ","),
                            s.parquetPath.map { ($0 as NSString).lastPathComponent } ?? "-",
                        ]
                    }))
            for problem in catalog.problems { printError("warning: \(problem)") }
            if rows.contains(where: { !$0.diagnostics.isEmpty }) {
                printError("DIAG: what is wrong with a run's data; `litmus runs show <run>` says where")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run: steps, vectors, measurements with limits and outcomes.")
        @OptionGroup var data: DataDirOption
        @Argument(help: "The run id, or its first characters (at least 4).") var runID: String

        func run() throws {
            let catalog = try RunCatalog(dataDir: data.path)
            let acc: RunAccumulator
            do { acc = try catalog.run(matching: runID) } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            let table = RunTable(run: acc)
            let color = isatty(STDOUT_FILENO) != 0
            let r = acc.started
            let outcome = acc.ended?.outcome
            print("Run \(acc.runID.uuidString.lowercased())  \(paint(outcome?.rawValue ?? "running", outcome, color))")
            print("  DUT \(r?.dutSerial ?? "?")\(r?.dutPartNumber.map { " (\($0))" } ?? "")  station \(r?.stationID ?? "?")  phase \(r?.testPhase ?? "-")")
            print("  started \(acc.startedAt?.iso8601 ?? acc.firstEventAt.map { "? (first event \($0.iso8601))" } ?? "?")  ended \(acc.endedAt?.iso8601 ?? "-")")
            if let path = acc.materialized?.path { print("  parquet \(path)") }
            for d in acc.diagnostics { print("  diagnostic \(d)") }
            if !acc.metadata.isEmpty {
                print("  metadata " + acc.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            }
            for i in acc.instruments {
                print("  instrument \(i.role): \(i.driver) \(i.resource)\(i.mocked ? " (mocked)" : "")")
            }
            func col(_ name: String) -> RunTable.Column? { table.column(name) }
            let type = col("record_type")!
            for row in 0..<table.rowCount {
                func text(_ name: String) -> String? {
                    guard let c = col(name), c.valid[row] else { return nil }
                    if case .string(let s) = c.json(row) { return s }
                    return RunTable.text(c.json(row))
                }
                switch type.strings[row] {
                case "step":
                    let o = text("step_outcome").flatMap(Outcome.init)
                    print("step \(text("step_index") ?? "?") \(text("step_path") ?? "")\(text("step_retry") == "0" ? "" : " (retry \(text("step_retry") ?? ""))")  \(paint(o?.rawValue ?? "-", o, color))")
                case "vector":
                    let o = text("vector_outcome").flatMap(Outcome.init)
                    let params = table.columns.filter { $0.name.hasPrefix("in_") && $0.valid[row] }
                        .map { "\($0.name.dropFirst(3))=\(RunTable.text($0.json(row)) ?? "")" }.joined(separator: " ")
                    print("  vector \(text("vector_index") ?? "?")\(text("vector_retry") == "0" ? "" : " retry \(text("vector_retry") ?? "")")  \(params)  \(paint(o?.rawValue ?? "-", o, color))")
                case "measurement":
                    let o = text("measurement_outcome").flatMap(Outcome.init)
                    let limit = [text("limit_low").map { "low \($0)" }, text("limit_nominal").map { "nom \($0)" }, text("limit_high").map { "high \($0)" }]
                        .compactMap { $0 }.joined(separator: " ")
                    let trace = [text("dut_pin").map { "pin \($0)" }, text("instrument_role").map { "via \($0)" }, text("instrument_channel").map { "ch \($0)" }]
                        .compactMap { $0 }.joined(separator: " ")
                    print("    \(text("measurement_name") ?? "?") = \(text("measurement_value") ?? "null") \(text("measurement_unit") ?? "")  [\(text("limit_comparator") ?? "-") \(limit)]  \(paint(o?.rawValue ?? "-", o, color))\(trace.isEmpty ? "" : "  \(trace)")")
                default:
                    break
                }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export a run's table as CSV or JSON Lines (every row and column of its Parquet file).")
        @OptionGroup var data: DataDirOption
        @Argument(help: "The run id, or its first characters (at least 4).") var runID: String
        @Flag(name: .customLong("csv"), help: "CSV (the default).") var csv = false
        @Flag(name: .customLong("json"), help: "JSON Lines, one object per row.") var json = false
        @Option(name: [.short, .long], help: "Write to this file instead of standard output.") var output: String?

        func run() throws {
            if csv && json { throw ValidationError("choose one of --csv and --json") }
            let catalog = try RunCatalog(dataDir: data.path)
            let table = RunTable(run: try catalog.run(matching: runID))
            let out = json ? table.jsonLines() : table.csv()
            if let output {
                try Data(out.utf8).write(to: URL(fileURLWithPath: output))
            } else {
                print(out, terminator: "")
            }
        }
    }
}

/// `litmus runs-daemon`
struct RunsDaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs-daemon",
        abstract: "Materialize runs written by other processes, and close orphaned runs as aborted.",
        discussion: """
            Idempotent and restartable; one daemon per data directory. Use --once in scripts and CI: it exits \
            non-zero when something could not be written whole (damaged or missing events, a run that could \
            not be written); problems in the event log are printed as warnings with file, line and byte offset.
            """)
    @OptionGroup var data: DataDirOption
    @Flag(help: "Sweep once and exit.") var once = false
    @Option(help: "Seconds between sweeps.") var interval: Double = 2
    @Option(help: "Seconds of silence after which an open run counts as orphaned.") var lease: Double = 900
    @Option(name: .customLong("sync-to"), help: "Also upload finished files to s3://bucket[/prefix] after each sweep (as `litmus sync`).")
    var syncTo: String?
    @OptionGroup var syncTarget: SyncTargetOptions

    func run() throws {
        let sync: LakeSync?
        do {
            sync = try syncTo.map { try syncTarget.makeSync(url: $0, dataDir: data.path) }
        } catch let e as SyncError {
            printError("error: \(e)")
            throw ExitCode(2)
        }
        /// Uploads what the sweep finished; a failed pass is retried at the next sweep.
        func syncPass() -> Bool {
            guard let sync else { return true }
            do {
                let report = try sync.syncOnce()
                SyncCommand.show(report, json: false, verbose: once)
                return report.succeeded
            } catch {
                printError("sync: \(error)")
                return false
            }
        }
        if once {
            // What the sweep found is printed from its report, once, plainly.
            let daemon = RunsDaemon(dataDir: data.path, leaseSeconds: lease)
            daemon.logsProgress = false
            let report = try daemon.sweep()
            print(report)
            for p in report.materialized { print("  wrote \(p)") }
            for id in report.aborted { print("  closed \(id.uuidString.lowercased()) as aborted (its producer is gone or silent)") }
            for p in report.removedPartials { print("  removed \(p) (a partial file whose writer is gone)") }
            for w in report.warnings { printError("warning: \(w)") }
            for id in report.incomplete {
                printError("incomplete: run \(id.uuidString.lowercased()) was written with events lost; `litmus runs show \(id.uuidString.lowercased().prefix(8))` says which")
            }
            for p in report.problems { printError("problem: \(p)") }
            let synced = syncPass()
            if !report.succeeded || !synced { throw ExitCode.failure }
            return
        }
        let daemon = RunsDaemon(dataDir: data.path, leaseSeconds: lease)
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let stop = StopFlag()
        let sources = [SIGINT, SIGTERM].map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { stop.set() }
            source.resume()
            return source
        }
        print("runs-daemon watching \(data.path) every \(interval) s (Ctrl-C to stop)")
        try daemon.run(interval: interval, shouldStop: { stop.isSet }) { report in
            if !report.materialized.isEmpty || !report.aborted.isEmpty || !report.problems.isEmpty || !report.warnings.isEmpty {
                print(report)
            }
            // Warnings are logged by the daemon as it finds them; failures are not.
            for p in report.problems { printError("problem: \(p)") }
            _ = syncPass()
        }
        _ = sources
    }

    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }
}

/// An outcome word, colored for a terminal.
func paint(_ text: String, _ outcome: Outcome?, _ color: Bool) -> String {
    guard color, let outcome else { return text }
    let code: String
    switch outcome {
    case .passed: code = "32"
    case .done, .skipped: code = "36"
    case .failed: code = "31"
    case .errored, .terminated, .aborted: code = "35"
    }
    return "\u{1B}[\(code)m\(text)\u{1B}[0m"
}
