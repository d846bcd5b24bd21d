import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A test process started by the runner: `posix_spawn`ed in its own process group (so a
/// signal to the group reaches the test and everything it started, and the terminal's Ctrl-C
/// reaches the runner only), reaped by `waitpid` on a thread of its own (no polling).
///
/// ```swift
/// let child = try ChildProcess.spawn(["/usr/bin/env", "true"], environment: env, output: "/tmp/run.log")
/// let end = await child.termination     // .exited(0)
/// ```
public final class ChildProcess: @unchecked Sendable {
    /// How a process ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signaled(let signal): "killed by signal \(signal)\(signal == SIGKILL ? " (SIGKILL)" : signal == SIGSEGV ? " (SIGSEGV)" : signal == SIGABRT ? " (SIGABRT)" : signal == SIGTRAP ? " (SIGTRAP, a Swift runtime trap)" : "")"
            }
        }

        /// Exited with status 0.
        public var succeeded: Bool { self == .exited(0) }
    }

    /// The process id (also its process group id).
    public let pid: pid_t
    private let lock = NSCondition()
    private var ended: Termination?
    private var waiters: [CheckedContinuation<Termination, Never>] = []

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// Starts `arguments[0]` (looked up on `PATH` when it has no slash) with `arguments` and
    /// exactly `environment`, standard input from /dev/null, standard output and error appended
    /// to `output` (or inherited when nil), in a process group of its own (the core's one
    /// spawner, `Litmus.ChildProcess`).
    ///
    /// - Throws: ``RunnerError`` when the program cannot be started (naming it and errno's text).
    public static func spawn(_ arguments: [String], environment: [String: String], output: String? = nil) throws -> ChildProcess {
        guard let program = arguments.first, !program.isEmpty else {
            throw RunnerError("no test command: give it after `--`, e.g. `litmus run --station s.yaml -- .build/debug/litmus-example`")
        }
        let pid: pid_t
        do {
            // posix_spawnp looks the program up on the PATH of the runner, not of `environment`.
            pid = try Litmus.ChildProcess.spawn(
                arguments, environment: environment, standardOutput: output.map { .file($0) } ?? .inherited, newProcessGroup: true)
        } catch {
            throw RunnerError(
                "cannot start the test command \(program): \(String(cString: strerror(error.errno))). Fix: give the path of a built executable (e.g. .build/debug/litmus-example)")
        }
        let child = ChildProcess(pid: pid)
        let reaper = Thread { child.reap() }
        reaper.name = "litmus-reaper-\(pid)"
        reaper.start()
        return child
    }

    /// Blocks in `waitpid` until the process ends (on the reaper thread).
    private func reap() {
        switch Litmus.ChildProcess.waitForExit(pid) {
        case .exited(let status): finish(.exited(status))
        case .signaled(let signal): finish(.signaled(signal))
        }
    }

    private func finish(_ termination: Termination) {
        let waiting = lock.withLock { () -> [CheckedContinuation<Termination, Never>] in
            ended = termination
            lock.broadcast()
            defer { waiters = [] }
            return waiters
        }
        for w in waiting { w.resume(returning: termination) }
    }

    /// How the process ended, once it has (nil while it runs).
    public var endedState: Termination? { lock.withLock { ended } }

    /// Blocks until the process ends or `timeout` seconds pass (nil: no limit); nil on timeout.
    /// The reaper thread wakes the caller as soon as the process is reaped.
    public func wait(timeout: Double? = nil) -> Termination? {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        lock.lock()
        defer { lock.unlock() }
        while ended == nil {
            if let deadline {
                if !lock.wait(until: deadline) { return ended }
            } else {
                lock.wait()
            }
        }
        return ended
    }

    /// Waits for the process to end.
    public var termination: Termination {
        get async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Termination, Never>) in
                let done = lock.withLock { () -> Termination? in
                    if let ended { return ended }
                    waiters.append(continuation)
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        }
    }

    /// Sends `signal` to the process's group (the test and whatever it started). Does nothing
    /// once the process has been reaped (its id may belong to another process by then).
    public func signalGroup(_ signal: Int32) {
        lock.withLock {
            guard ended == nil else { return }
            _ = kill(-pid, signal)
        }
    }
}

/// A problem of the station runner: what went wrong and what to do.
public struct RunnerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
