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
    /// One run's accumulator, held by reference so an event updates it in place (a dictionary
    /// of structs would copy the whole accumulator on every lookup).
    private final class Open {
        var run: RunAccumulator
        init(_ run: RunAccumulator) { self.run = run }
    }
    private var runs: [UUID: Open] = [:]
    /// The run of the previous event: nearly every event belongs to it (no hashing then).
    private var current: (id: UUID, open: Open)?
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
        if case .runMaterialized = event.body { return }
        let finished: RunAccumulator? = lock.withLock {
            let open: Open
            if let current, current.id == id {
                open = current.open
            } else if let known = runs[id] {
                open = known
            } else {
                var run = RunAccumulator(runID: id)
                if let session { run.add(session) }
                open = Open(run)
                runs[id] = open
            }
            open.run.add(event)
            guard case .runEnded = event.body else {
                current = (id, open)
                return nil
            }
            runs[id] = nil
            current = nil
            return open.run
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
