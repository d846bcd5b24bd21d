import Foundation
import Litmus

/// The Litmus session of one test process: the benches opened by station traits and the run of
/// each DUT tested on them.
///
/// One `swift test` process is one session. A bench (station, fixture, part, mock mode) is
/// opened once, the first time a test needs it, and shared by every suite that names it; each
/// DUT serial gets one run. Runs are finalized (their Parquet file written) and benches closed
/// when the process exits, whatever the tests did. A process that dies instead leaves its runs
/// to `litmus runs-daemon`, which writes them as `aborted`.
final class LitmusSession: @unchecked Sendable {
    static let shared = LitmusSession()

    private let lock = NSLock()
    private var benches: [BenchKey: Bench] = [:]
    private var runs: [RunKey: Run] = [:]
    private var benchOrder: [BenchKey] = []
    private var runOrder: [RunKey] = []
    private var finished = false
    /// One session id for every run of the process (the station runner's, under `litmus run`).
    let sessionID = TestRunLogger.runnerSessionID() ?? UUID()

    private init() {
        atexit { LitmusSession.shared.finish() }
    }

    struct BenchKey: Hashable {
        var station: String
        var fixture: String?
        var part: String?
        var mock: Bool
    }

    struct RunKey: Hashable {
        var bench: BenchKey
        var dutSerial: String
    }

    /// An open bench: its configuration, instruments and the gate that lets one test case at a
    /// time drive it.
    final class Bench: @unchecked Sendable {
        let configuration: StationConfiguration
        let station: OpenStation
        let gate = AsyncGate()
        init(configuration: StationConfiguration, station: OpenStation) {
            self.configuration = configuration
            self.station = station
        }
    }

    /// The run of one DUT on one bench.
    final class Run: @unchecked Sendable {
        let bench: Bench
        let logger: TestRunLogger
        let product: ProductContext?
        private let lock = NSLock()
        private var stopReason: String?
        init(bench: Bench, logger: TestRunLogger, product: ProductContext?) {
            self.bench = bench
            self.logger = logger
            self.product = product
        }

        /// Stops the run's later non-teardown steps (the first reason is kept).
        func stop(_ reason: String) {
            lock.withLock { if stopReason == nil { stopReason = reason } }
        }

        /// Why a non-teardown step must not run: the session was aborted or the run stopped.
        var skipReason: String? {
            LitmusSession.shared.abortReason ?? lock.withLock { stopReason }
        }
    }

    private var abortText: String?
    private var signalSources: [any DispatchSourceSignal] = []

    /// Why the session was aborted (SIGINT/SIGTERM), if it was.
    var abortReason: String? { lock.withLock { abortText } }

    /// Aborts the session: every run ends `aborted`; the steps still to come are recorded
    /// `skipped` with `reason` and do not run, except teardown steps, which still run.
    func abort(_ reason: String) {
        let runs = lock.withLock { () -> [Run] in
            if abortText == nil { abortText = reason }
            return runOrder.compactMap { self.runs[$0] }
        }
        for run in runs { run.logger.escalate(.aborted) }
    }

    /// SIGINT or SIGTERM (an operator's Ctrl-C, the station runner's abort) aborts the session
    /// and lets the teardown steps run; a second one ends the process at once: blocked
    /// instrument I/O is interrupted, the runs are closed (as aborted), the instruments closed
    /// (``SignalCleanup/interruptCloseAndExit(_:after:)``). Installed when the first run starts.
    private func handleSignals() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if self.abortReason != nil {
                    SignalCleanup.interruptCloseAndExit(sig) { self.finish() }
                }
                self.abort("aborted by the operator (\(sig == SIGINT ? "SIGINT" : "SIGTERM"))")
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// The run for `options`, opening its bench and starting its run the first time.
    ///
    /// - Throws: ``LitmusTestingError`` naming the file and what to fix (station errors are
    ///   located `file:line:column`).
    func run(for options: LitmusStationTrait.Resolved) throws -> Run {
        try lock.withLock {
            if finished { throw LitmusTestingError("the Litmus session has ended (the process is exiting)") }
            let benchKey = BenchKey(station: options.station, fixture: options.fixture, part: options.part, mock: options.mock)
            let runKey = RunKey(bench: benchKey, dutSerial: options.dutSerial)
            if let run = runs[runKey] { return run }
            let bench = try benches[benchKey] ?? openBench(benchKey)
            if benches[benchKey] == nil {
                benches[benchKey] = bench
                benchOrder.append(benchKey)
            }
            var identity = RunIdentity(
                dutSerial: options.dutSerial, dutPartNumber: options.dutPartNumber ?? bench.configuration.part?.partNumber,
                dutRevision: options.dutRevision, dutLot: options.dutLot, operatorID: options.operatorID,
                testPhase: options.phase, product: options.product ?? bench.configuration.part?.partNumber, project: options.project)
            identity.apply(bench.station)
            let logger = try TestRunLogger(identity, dataDir: options.dataDir, sessionID: sessionID)
            // Ctrl-C or a cancelled CI job: the session's own handler (``handleSignals``) aborts
            // the session so teardown steps run; a second signal interrupts blocked instrument
            // I/O (a USBTMC transfer is aborted on the device), ends the runs, closes the
            // instruments and exits 130/143 (``SignalCleanup``).
            try logger.eventLog?.flush()  // the run exists on disk even if the process dies next
            let product = try bench.configuration.part.map { try ProductContext(part: $0, guardbandPct: options.guardbandPct) }
            let run = Run(bench: bench, logger: logger, product: product)
            if runs.isEmpty { handleSignals() }
            if abortText != nil { logger.escalate(.aborted) }
            runs[runKey] = run
            runOrder.append(runKey)
            return run
        }
    }

    private func openBench(_ key: BenchKey) throws -> Bench {
        let registry = DriverRegistry()
        registry.loadSearchPath()
        let (loaded, report) = StationConfiguration.load(
            station: key.station, fixture: key.fixture, part: key.part, registry: registry,
            mock: StationConfiguration.MockSelection(all: key.mock))
        guard let configuration = loaded, report.errors.isEmpty else {
            let errors = report.errors.map { "  \($0)" }.joined(separator: "\n")
            throw LitmusTestingError(
                "station \(key.station) is not usable:\n\(errors)\nRun `litmus station check \(key.station)` for the whole report.")
        }
        do {
            let station = try configuration.open(.init(locks: ResourceLocks(directory: ResourceLocks.defaultDirectory())))
            return Bench(configuration: configuration, station: station)
        } catch {
            throw LitmusTestingError("station \(key.station) did not open: \(error)")
        }
    }

    /// Finalizes every run (writing its Parquet file) and closes every bench. Runs at process
    /// exit; later calls do nothing.
    func finish() {
        let (runs, benches) = lock.withLock { () -> ([Run], [Bench]) in
            if finished { return ([], []) }
            finished = true
            return (runOrder.compactMap { self.runs[$0] }, benchOrder.compactMap { self.benches[$0] })
        }
        for run in runs {
            do {
                try run.logger.finalize()
                try run.logger.close()
            } catch {
                FileHandle.standardError.write(Data("litmus: run \(run.logger.runID) of \(run.logger.identity.dutSerial) did not close: \(error)\n".utf8))
            }
        }
        for bench in benches { bench.station.close() }
    }
}

/// A first-in, first-out lock for async code: waiting suspends the task instead of blocking a
/// thread of the cooperative pool.
final class AsyncGate: @unchecked Sendable {
    private let lock = NSLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = lock.withLock { () -> Bool in
                if !held {
                    held = true
                    return true
                }
                waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if waiters.isEmpty {
                held = false
                return nil
            }
            return waiters.removeFirst()
        }
        next?.resume()
    }
}
