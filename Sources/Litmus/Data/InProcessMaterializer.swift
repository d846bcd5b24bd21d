import Foundation

/// Writes each run's Parquet file in the producing process, the moment its `run.ended` event
/// is emitted: when the emit of `run.ended` returns, the file is on disk (and the event before
/// it is fsynced). The runs daemon is then only needed for runs whose producer died.
///
/// ```swift
/// let log = try EventStore(dataDir: "data").eventLog(sessionID: session)
/// let materializer = InProcessMaterializer(log: log, dataDir: "data")
/// // ... emit run.started, steps, measurements ...
/// try log.emit(Event(sessionID: session, runID: run, .runEnded(RunEnded(outcome: .passed))))
/// print(materializer.result(for: run)!.path)     // written
/// ```
public final class InProcessMaterializer: @unchecked Sendable {
    public let dataDir: String
    private let lock = NSLock()
    private var runs: [UUID: RunAccumulator] = [:]
    private var session: Event?
    private var results: [UUID: Result<RunMaterializer.Result, any Error>] = [:]
    private weak var log: EventLog?

    /// Observes `log` from now on. The log keeps the materializer alive as long as it lives.
    public init(log: EventLog, dataDir: String) {
        self.dataDir = dataDir
        self.log = log
        log.addObserver { event in self.observe(event) }
    }

    /// What materializing `run` gave: its file, or the error (also recorded in the event log as
    /// a `diagnostic.error`, and left to the runs daemon to retry).
    public func result(for run: UUID) -> Result<RunMaterializer.Result, any Error>? {
        lock.withLock { results[run] }
    }

    private func observe(_ event: Event) {
        if case .sessionStarted = event.body {
            lock.withLock { session = event }
            return
        }
        guard let id = event.runID else { return }
        let finished: RunAccumulator? = lock.withLock {
            if case .runMaterialized = event.body { return nil }
            if runs[id] == nil {
                var run = RunAccumulator(runID: id)
                if let session { run.add(session) }
                runs[id] = run
            }
            runs[id]!.add(event)
            guard case .runEnded = event.body else { return nil }
            return runs.removeValue(forKey: id)
        }
        guard let run = finished else { return }
        let outcome = Result { try RunMaterializer.materialize(run, dataDir: dataDir) }
        lock.withLock { results[id] = outcome }
        switch outcome {
        case .success(let written):
            try? log?.emit(
                Event(
                    sessionID: event.sessionID, runID: id,
                    .runMaterialized(RunMaterialized(path: written.path, rows: Int64(written.rows), materializer: "in-process"))))
        case .failure(let error):
            try? log?.emit(
                Event(
                    sessionID: event.sessionID, runID: id,
                    .diagnostic(
                        Diagnostic(
                            level: .error, source: "materializer",
                            message: "run \(id) was not written: \(error). `litmus runs-daemon` will retry."))))
        }
    }
}
