import Foundation

/// The runs of a data directory, rebuilt from its event log (the source of truth).
public struct RunCatalog: Sendable {
    /// One run, summarised.
    public struct Summary: Sendable {
        public var runID: UUID
        public var sessionID: UUID
        public var dutSerial: String
        public var stationID: String?
        public var testPhase: String?
        /// The `run.started` time, else (that event lost) the run's first event's.
        public var startedAt: Timestamp?
        public var endedAt: Timestamp?
        /// nil while the run is still open.
        public var outcome: Outcome?
        public var measurements: Int
        public var failedMeasurements: Int
        /// The Parquet file, once materialized.
        public var parquetPath: String?
        /// What is wrong with the run's data (empty when it is whole).
        public var diagnostics: [RunDiagnostic]
    }

    public private(set) var runs: [UUID: RunAccumulator] = [:]
    /// Problems met while reading the event log (torn tails, corruption).
    public private(set) var problems: [String] = []

    /// Reads every session of `dataDir`.
    public init(dataDir: String) throws {
        for session in EventReader.sessions(dataDir: dataDir) {
            let read = try EventReader.events(dataDir: dataDir, sessionID: session)
            problems += read.problems.map { "\($0)" }
            runs.merge(RunAccumulator.runs(of: read).runs) { _, new in new }
        }
    }

    /// Summaries, newest first.
    public var summaries: [Summary] {
        runs.values.map { run in
            Summary(
                runID: run.runID, sessionID: run.sessionID ?? run.runID, dutSerial: run.started?.dutSerial ?? "",
                stationID: run.started?.stationID ?? run.session?.stationID, testPhase: run.started?.testPhase,
                startedAt: run.startedAt ?? run.firstEventAt, endedAt: run.endedAt, outcome: run.ended?.outcome,
                measurements: run.measurementCount, failedMeasurements: run.failedMeasurementCount,
                parquetPath: run.materialized?.path, diagnostics: run.diagnostics)
        }.sorted { ($0.startedAt ?? Timestamp(microseconds: 0)) > ($1.startedAt ?? Timestamp(microseconds: 0)) }
    }

    /// The run whose id is or starts with `prefix` (at least 4 characters).
    ///
    /// - Throws: ``RunsDaemonError`` when none or several match.
    public func run(matching prefix: String) throws -> RunAccumulator {
        let p = prefix.lowercased()
        guard p.count >= 4 else { throw RunsDaemonError("give at least 4 characters of the run id") }
        let matches = runs.values.filter { $0.runID.uuidString.lowercased().hasPrefix(p) }
        guard let first = matches.first else {
            throw RunsDaemonError("no run id starts with '\(prefix)'; `litmus runs list` shows the runs")
        }
        guard matches.count == 1 else {
            throw RunsDaemonError("'\(prefix)' matches \(matches.count) runs; give more of the id")
        }
        return first
    }
}
