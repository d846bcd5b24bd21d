#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging

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
/// It is idempotent (a run's file is never written twice) and restartable (its state is the
/// event log and the files), and one daemon at a time holds `runs/.daemon.lock` per data dir.
public final class RunsDaemon: @unchecked Sendable {
    /// What one sweep did.
    public struct SweepReport: Sendable, CustomStringConvertible {
        public var materialized: [String] = []
        public var aborted: [UUID] = []
        public var alreadyMaterialized = 0
        public var running = 0
        public var problems: [String] = []

        public var description: String {
            "\(materialized.count) run(s) written, \(aborted.count) orphan(s) closed as aborted, "
                + "\(running) still running, \(alreadyMaterialized) already on disk"
                + (problems.isEmpty ? "" : ", \(problems.count) problem(s)")
        }
    }

    public let dataDir: String
    /// A run that ended this recently in a process that is still alive is left to that
    /// process's own materializer.
    static let handOffSeconds = 30.0
    /// A run silent for this long is taken as orphaned even if its writer looks alive.
    public let leaseSeconds: Double
    let logger: Logger
    private let store: EventStore
    private var lockFD: Int32 = -1

    public init(dataDir: String, leaseSeconds: Double = 900, logger: Logger = Logger(label: "litmus.runs-daemon")) {
        self.dataDir = dataDir
        self.leaseSeconds = leaseSeconds
        self.logger = logger
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
        let reader = EventReader(dataDir: dataDir)
        for found in reader.sessions() {
            let session = found.id
            // A session whose runs were all on disk at the last look, and whose files have
            // not changed since, needs no second read.
            let signature = Self.signature(of: found.files)
            if settled[session] == signature { continue }
            let read: EventReader.ReadResult
            do {
                read = try reader.events(sessionID: session)
            } catch {
                report.problems.append("session \(session): \(error)")
                continue
            }
            for problem in read.problems { logger.debug("\(problem)") }
            let writerAlive = read.files.contains(where: EventReader.isWriterAlive)
            var pending = false
            let runs = RunAccumulator.runs(of: read.events)
            for (id, var run) in runs.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
                guard run.started != nil else { continue }
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
                    let result = try RunMaterializer.materialize(run, dataDir: dataDir)
                    if result.written {
                        report.materialized.append(result.path)
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
            if !pending { settled[session] = signature }
        }
        return report
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

    /// Sweeps every `interval` until `shouldStop` returns true.
    public func run(interval: Double = 2, shouldStop: @escaping @Sendable () -> Bool = { false }, onSweep: (SweepReport) -> Void = { _ in }) throws {
        try acquire()
        while !shouldStop() {
            onSweep(try sweep())
            var remaining = interval
            while remaining > 0 && !shouldStop() {
                usleep(useconds_t(min(remaining, 0.2) * 1e6))
                remaining -= 0.2
            }
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

/// A runs-daemon failure, with what to do.
public struct RunsDaemonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
