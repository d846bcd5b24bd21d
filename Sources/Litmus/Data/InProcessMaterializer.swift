import Foundation

/// Writes each run's Parquet file in the producing process, the moment its `run.ended` event
/// is emitted: when the emit of `run.ended` returns, the file is on disk (and the event before
/// it is fsynced). The runs daemon is then only needed for runs whose producer died.
///
/// It sees each event once, as the log accepts it (each with its own writer and sequence), so
/// it never sees a repeated line: duplicates are a matter of files, which ``EventReader``
/// drops. A run whose `run.started` was never emitted is written all the same, with a
/// `missingRunStarted` diagnostic (``RunAccumulator/diagnostics``), as the runs daemon does.
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
    private let lock = FastLock()
    /// One run's accumulator, held by reference so an event updates it in place (a dictionary
    /// of structs would copy the whole accumulator on every lookup). It lives in memory of its
    /// own: updating it takes no exclusivity check (the materializer's lock serialises access).
    private final class Open {
        let run: UnsafeMutablePointer<RunAccumulator>
        init(_ run: RunAccumulator) {
            self.run = .allocate(capacity: 1)
            self.run.initialize(to: run)
        }
        deinit {
            run.deinitialize(count: 1)
            run.deallocate()
        }
    }
    private var runs: [UUID: Open] = [:]
    /// The run of the previous event: nearly every event belongs to it (no hashing then).
    private var current: (id: UUID, open: Open)?
    private var session: Event?
    private var results: [UUID: Result<RunMaterializer.Result, any Error>] = [:]
    /// The observed log. Not a strong reference: the log keeps this materializer alive (a
    /// cycle otherwise), and the materializer only uses it while the log delivers an event.
    /// Not weak either: a weakly referenced object counts its references in a side table,
    /// which would make every retain of the log on the emit path slower.
    private unowned let log: EventLog

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
        let ends: Bool
        switch event.body {
        case .sessionStarted:
            lock.withLock { session = event }
            return
        case .runMaterialized:
            return
        case .runEnded:
            ends = true
        default:
            ends = false
        }
        guard let id = event.runID else { return }
        lock.lock()
        let open: Open
        if let current, current.id == id {
            open = current.open
        } else {
            if let known = runs[id] {
                open = known
            } else {
                var run = RunAccumulator(runID: id)
                if let session { run.add(session) }
                open = Open(run)
                runs[id] = open
            }
            current = (id, open)
        }
        open.run.pointee.add(event)
        guard ends else {
            lock.unlock()
            return
        }
        runs[id] = nil
        current = nil
        lock.unlock()

        // The run is now this thread's alone.
        let outcome = Result { try RunMaterializer.materialize(open.run.pointee, dataDir: dataDir) }
        // Freeing a run's accumulated data takes a while; the producer need not wait for it.
        let release = UncheckedSendable(open)
        DispatchQueue.global(qos: .utility).async { withExtendedLifetime(release) {} }
        lock.withLock { results[id] = outcome }
        switch outcome {
        case .success(let written):
            try? log.emit(
                Event(
                    sessionID: event.sessionID, runID: id,
                    .runMaterialized(RunMaterialized(path: written.path, rows: Int64(written.rows), materializer: "in-process"))))
        case .failure(let error):
            try? log.emit(
                Event(
                    sessionID: event.sessionID, runID: id,
                    .diagnostic(
                        Diagnostic(
                            level: .error, source: "materializer",
                            message: "run \(id) was not written: \(error). `litmus runs-daemon` will retry."))))
        }
    }
}
