#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import LitmusParquet

/// Materializes runs written by other processes and closes orphaned runs: the core of
/// `litmus runs-daemon`.
///
/// Each ``sweep()`` reads the event log, and for every run without a `run.materialized` event:
/// - a run that ended is written to Parquet;
/// - a run that did not end is an orphan when no writer of its session holds its file lock
///   (the producer process is gone) or when nothing was heard from it for `leaseSeconds`: it is
///   closed with a `run.ended` event (`aborted`, with the reason) and written with every event
///   that reached disk.
///
/// A run whose `run.started` event is lost is written all the same (with what the session and
/// its other events tell); problems in the event log (damaged lines, sequence gaps, repeated
/// lines) are logged as warnings with file, line and byte offset, and recorded with the run
/// they concern (``RunDiagnostic``). Partial Parquet files left by a writer killed mid-write
/// are removed.
///
/// While ``run(interval:shouldStop:onSweep:)`` runs, a thread per live writer waits on the
/// writer's file lock (a blocking `flock`): the kernel releases the lock the moment the
/// producer dies or closes its log, which wakes the daemon at once (no waiting for the next
/// sweep).
///
/// It is idempotent (a run's file is never written twice) and restartable (its state is the
/// event log and the files), and one daemon at a time holds `runs/.daemon.lock` per data dir.
public final class RunsDaemon: @unchecked Sendable {
    /// What one sweep did.
    public struct SweepReport: Sendable, CustomStringConvertible {
        public var materialized: [String] = []
        public var aborted: [UUID] = []
        public var alreadyMaterialized = 0
        public var running = 0
        /// Failures: runs that could not be written, events lost where no run could be told.
        public var problems: [String] = []
        /// Problems found in the event log (`path:line (byte offset): kind: message`), each
        /// reported once per daemon.
        public var warnings: [String] = []
        /// Runs written this sweep whose events were partly lost (their diagnostics say how).
        public var incomplete: [UUID] = []
        /// Partial Parquet files of dead writers, removed.
        public var removedPartials: [String] = []

        /// Everything found was written whole: no failure, no run with lost events.
        public var succeeded: Bool { problems.isEmpty && incomplete.isEmpty }

        public var description: String {
            "\(materialized.count) run(s) written, \(aborted.count) orphan(s) closed as aborted, "
                + "\(running) still running, \(alreadyMaterialized) already on disk"
                + (incomplete.isEmpty ? "" : ", \(incomplete.count) written with events lost")
                + (warnings.isEmpty ? "" : ", \(warnings.count) warning(s)")
                + (removedPartials.isEmpty ? "" : ", \(removedPartials.count) stale partial file(s) removed")
                + (problems.isEmpty ? "" : ", \(problems.count) problem(s)")
        }
    }

    public let dataDir: String
    /// A run that ended this recently in a process that is still alive is left to that
    /// process's own materializer.
    static let handOffSeconds = 30.0
    /// How often the whole `runs/` tree is searched for stale partial files (the directory a
    /// run is written to is searched before each write).
    static let partialSweepSeconds = 300.0
    /// A run silent for this long is taken as orphaned even if its writer looks alive.
    public let leaseSeconds: Double
    private(set) var logger: Logger
    /// Whether warnings and progress (orphans closed, partial files removed) are logged as the
    /// daemon finds them; off, the sweep reports are the only output (`runs-daemon --once`
    /// prints them). Errors are logged either way.
    public var logsProgress = true {
        didSet { logger.logLevel = logsProgress ? initialLogLevel : max(initialLogLevel, .error) }
    }
    private let initialLogLevel: Logger.Level
    private let store: EventStore
    private var lockFD: Int32 = -1
    /// Wakes ``run(interval:shouldStop:onSweep:)`` before its interval is over.
    private let wake = Wake()
    /// Whether to watch live writers' locks (set by ``run(interval:shouldStop:onSweep:)``).
    private var watching = false
    /// Log files a watcher thread waits on.
    private let watched = LockedSet()
    /// Problems already reported (path, offset, kind).
    private var reported: Set<String> = []
    private var lastPartialSweep: Timestamp?

    public init(dataDir: String, leaseSeconds: Double = 900, logger: Logger = Logger(label: "litmus.runs-daemon")) {
        self.dataDir = dataDir
        self.leaseSeconds = leaseSeconds
        self.logger = logger
        self.initialLogLevel = logger.logLevel
        self.store = EventStore(dataDir: dataDir)
    }

    deinit {
        if lockFD >= 0 { close(lockFD) }
    }

    /// Takes the one-daemon-per-data-dir lock.
    ///
    /// - Throws: ``RunsDaemonError`` when another daemon holds it.
    public func acquire() throws {
        guard lockFD < 0 else { return }
        let runs = (dataDir as NSString).appendingPathComponent("runs")
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        let path = (runs as NSString).appendingPathComponent(".daemon.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunsDaemonError("cannot open \(path): \(String(cString: strerror(errno)))") }
        // A lock just released can stay held for a moment by a process forked meanwhile
        // (its copy of the descriptor lives until it execs): retry briefly before refusing.
        var attempts = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            attempts += 1
            guard attempts < 50 else {
                close(fd)
                throw RunsDaemonError("another runs daemon is already working on \(dataDir) (it holds \(path))")
            }
            usleep(10_000)
        }
        lockFD = fd
    }

    /// One pass over the event log.
    @discardableResult
    public func sweep(now: Timestamp = .now()) throws -> SweepReport {
        try acquire()
        defer { closeLogs() }
        var report = SweepReport()
        if lastPartialSweep.map({ $0.seconds(to: now) >= Self.partialSweepSeconds }) ?? true {
            lastPartialSweep = now
            removeStalePartials(&report)
        }
        let reader = EventReader(dataDir: dataDir)
        for found in reader.sessions() {
            let session = found.id
            // A session whose runs were all on disk at the last look, and whose files have
            // not changed since, needs no second read.
            let signature = Self.signature(of: found.files)
            if settled[session] == signature { continue }
            var read: EventReader.ReadResult
            do {
                read = try reader.events(sessionID: session)
            } catch {
                report.problems.append("session \(session): \(error)")
                continue
            }
            let liveFiles = Set(read.files.filter(EventReader.isWriterAlive))
            // A live writer's file may end mid-line: it is being written, not torn.
            read.problems.removeAll { $0.kind == .tornTail && liveFiles.contains($0.path) }
            for problem in read.problems where reported.insert("\(problem.path)\u{0}\(problem.offset)\u{0}\(problem.kind)").inserted {
                logger.warning("\(problem)")
                report.warnings.append("\(problem)")
            }
            if watching { watch(liveFiles) }
            let writerAlive = !liveFiles.isEmpty
            var pending = false
            let (runs, unattributed) = RunAccumulator.runs(of: read)
            for (id, var run) in runs.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
                if run.materialized != nil {
                    report.alreadyMaterialized += 1
                    continue
                }
                pending = true
                if run.isEnded, let ended = run.endedAt, ended.seconds(to: now) < Self.handOffSeconds, writerAlive {
                    // Just ended in a live process, whose own materializer is writing it now.
                    report.running += 1
                    continue
                }
                if !run.isEnded {
                    guard let reason = orphanReason(run, session: session, writerAlive: writerAlive, now: now) else {
                        report.running += 1
                        continue
                    }
                    let ended = Event(sessionID: session, runID: id, .runEnded(RunEnded(outcome: .aborted, reason: reason)))
                    try emit(ended, session: session)
                    run.add(ended)
                    report.aborted.append(id)
                    logger.notice("closed orphaned run \(id) as aborted: \(reason)")
                }
                do {
                    let directory = (dataDir as NSString).appendingPathComponent(
                        (RunMaterializer.relativePath(for: run) as NSString).deletingLastPathComponent)
                    removeStalePartials(in: directory, &report)
                    let result = try RunMaterializer.materialize(run, dataDir: dataDir)
                    if result.written {
                        report.materialized.append(result.path)
                        let diagnostics = run.diagnostics
                        if !diagnostics.isEmpty {
                            let text = diagnostics.map(\.description).joined(separator: "; ")
                            logger.warning("run \(id) written with \(diagnostics.count) diagnostic(s) to \(result.path): \(text)")
                        }
                        if diagnostics.contains(where: \.losesEvents) { report.incomplete.append(id) }
                    } else {
                        report.alreadyMaterialized += 1
                    }
                    try emit(
                        Event(
                            sessionID: session, runID: id,
                            .runMaterialized(
                                RunMaterialized(path: result.path, rows: Int64(result.rows), materializer: "runs-daemon"))),
                        session: session)
                } catch {
                    report.problems.append("run \(id): \(error)")
                }
            }
            if pending {
                // Events lost where no run of the session can be told: nothing could carry them.
                for problem in unattributed where problem.losesEvents {
                    report.problems.append("\(problem) (no run of session \(session) could be told from it)")
                }
            } else {
                settled[session] = signature
            }
        }
        return report
    }

    /// Removes stale partial Parquet files under `runs/` (each `date=`/`station=` directory).
    private func removeStalePartials(_ report: inout SweepReport) {
        let runs = (dataDir as NSString).appendingPathComponent("runs")
        for date in System.directoryEntries(runs) where date.hasPrefix("date=") {
            let dateDirectory = "\(runs)/\(date)"
            for station in System.directoryEntries(dateDirectory) where station.hasPrefix("station=") {
                removeStalePartials(in: "\(dateDirectory)/\(station)", &report)
            }
        }
    }

    /// Removes the stale partial files of one directory, saying so.
    private func removeStalePartials(in directory: String, _ report: inout SweepReport) {
        for path in ParquetWriter.removeStalePartialFiles(inDirectory: directory) {
            logger.notice("removed \(path): a partial run file whose writer is gone")
            report.removedPartials.append(path)
        }
    }

    /// Sessions whose runs were all materialized, with their files' sizes and times then.
    private var settled: [UUID: [String: [Int64]]] = [:]

    /// Size and modification time of each file: changes when a writer appends.
    private static func signature(of files: [String]) -> [String: [Int64]] {
        var result: [String: [Int64]] = [:]
        for path in files {
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            result[path] = [Int64(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)]
        }
        return result
    }

    /// Sweeps every `interval` until `shouldStop` returns true, and at once when a live
    /// writer's lock is released (its producer died or closed its log).
    public func run(interval: Double = 2, shouldStop: @escaping @Sendable () -> Bool = { false }, onSweep: (SweepReport) -> Void = { _ in }) throws {
        try acquire()
        watching = true
        defer { watching = false }
        while !shouldStop() {
            onSweep(try sweep())
            let deadline = System.monotonicNanoseconds() + UInt64(max(interval, 0) * 1e9)
            // Wakes within 0.2 s of a stop request (checked by polling: `shouldStop` is a closure).
            while !shouldStop() && !wake.wait(untilMonotonic: min(deadline, System.monotonicNanoseconds() + 200_000_000)) {
                if System.monotonicNanoseconds() >= deadline { break }
            }
        }
    }

    /// Starts a watcher thread for each live log file not yet watched: it waits for the
    /// writer's exclusive lock to be released (a blocking shared `flock`, which the kernel
    /// grants the moment the writer closes the file or dies), then wakes the daemon.
    private func watch(_ files: Set<String>) {
        for path in files where watched.insert(path) {
            let wake = self.wake, watched = self.watched
            let thread = Thread {
                defer {
                    watched.remove(path)
                    wake.signal()
                }
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return }
                defer { close(fd) }
                while flock(fd, LOCK_SH) != 0 && errno == EINTR {}
                // Taken: the writer is gone. Let go at once (probes take it too).
                flock(fd, LOCK_UN)
            }
            thread.name = "litmus-runs-watch"
            thread.stackSize = 64 << 10
            thread.start()
        }
    }

    /// Why a run that has not ended is an orphan, or nil while its producer lives.
    func orphanReason(_ run: RunAccumulator, session: UUID, writerAlive: Bool, now: Timestamp) -> String? {
        let lease = run.session?.leaseSeconds ?? leaseSeconds
        if !writerAlive {
            let who = run.session.map { "pid \($0.pid) on \($0.hostname)" } ?? "the producer"
            return "\(who) is gone: no writer of session \(session) holds its event log"
        }
        if let last = run.lastEventAt, last.seconds(to: now) > lease {
            return "no event for \(Int(last.seconds(to: now))) s (lease \(Int(lease)) s)"
        }
        return nil
    }

    private var logs: [UUID: EventLog] = [:]

    /// Emits a derived event into the session's log (the daemon's own writer file).
    private func emit(_ event: Event, session: UUID) throws {
        if logs[session] == nil { logs[session] = try store.eventLog(sessionID: session) }
        try logs[session]!.emit(event)
        try logs[session]!.flush()
    }

    /// Closes the daemon's writers (releasing their locks).
    public func closeLogs() {
        for log in logs.values { try? log.close() }
        logs.removeAll()
    }
}

/// A wake-up flag with a condition to wait on.
private final class Wake: @unchecked Sendable {
    private let lock = PosixLock()
    private let condition: PosixLock.Condition
    private var raised = false

    init() { condition = PosixLock.Condition(lock) }

    func signal() {
        lock.withLock {
            raised = true
            condition.signal()
        }
    }

    /// Waits until signalled (true, and lowers the flag) or until the monotonic deadline
    /// (false).
    func wait(untilMonotonic deadline: UInt64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while !raised && System.monotonicNanoseconds() < deadline { condition.wait(untilMonotonic: deadline) }
        let was = raised
        raised = false
        return was
    }
}

/// A set of strings shared with watcher threads.
private final class LockedSet: @unchecked Sendable {
    private let lock = NSLock()
    private var members: Set<String> = []
    /// Adds `member`; false if it was there.
    func insert(_ member: String) -> Bool { lock.withLock { members.insert(member).inserted } }
    func remove(_ member: String) { _ = lock.withLock { members.remove(member) } }
}

/// A runs-daemon failure, with what to do.
public struct RunsDaemonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
