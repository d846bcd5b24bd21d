import CLitmusSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Child processes, started with `posix_spawnp` and reaped with a blocking `waitpid`, so a
/// child costs its own run time (Foundation's `Process` on Linux adds tens of milliseconds of
/// polling per child). The one place the project starts programs: the git identity's helper
/// (``run(_:_:outputLimit:)``) and the station runner's test processes (`LitmusRunner`'s
/// `ChildProcess`, on ``spawn(_:environment:standardOutput:newProcessGroup:)`` and
/// ``waitForExit(_:)``).
///
/// The child gets the default signal dispositions and an empty signal mask; standard input is
/// `/dev/null`; no descriptor of this process reaches it but those named here (everything the
/// project opens is close-on-exec).
package enum ChildProcess {
    /// What a finished child gave.
    struct Result: Sendable, Equatable {
        /// The exit status (0-255), or 128 + the signal number when a signal ended it.
        var status: Int32
        /// Everything it wrote to standard output.
        var output: [UInt8]
    }

    /// Where a spawned child's standard output and error go.
    package enum Output {
        /// Standard output to this descriptor (it must not be close-on-exec-only: it is
        /// duplicated onto 1), standard error to `/dev/null`.
        case descriptor(Int32)
        /// Standard output and error appended to this file (created 0644).
        case file(String)
        /// Inherited from this process.
        case inherited
    }

    /// How a child ended.
    package enum Exit: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    /// Starts `arguments[0]` (looked up on this process's `PATH` when it has no `/`) with
    /// `arguments` and `environment` (nil: this process's), standard input from `/dev/null`.
    /// With `newProcessGroup` the child leads a process group of its own, so a signal to the
    /// group reaches it and everything it starts, and the terminal's Ctrl-C does not.
    ///
    /// - Returns: the child's process id; reap it with ``waitForExit(_:)``.
    /// - Throws: ``SystemCallError`` (`posix_spawnp`, with the program) when it cannot start.
    package static func spawn(
        _ arguments: [String], environment: [String: String]? = nil, standardOutput: Output, newProcessGroup: Bool = false
    ) throws(SystemCallError) -> pid_t {
        let program = arguments.first ?? ""
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch standardOutput {
        case .descriptor(let fd):
            posix_spawn_file_actions_adddup2(&actions, fd, 1)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .file(let path):
            // Opened by the child for itself: no close-on-exec, it survives the exec.
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .inherited:
            break
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map {
            $0.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer {
            for p in argv { free(p) }
            for p in envp ?? [] { free(p) }
        }
        var pid: pid_t = 0
        let rc = envp.map { posix_spawnp(&pid, program, &actions, &attributes, argv, $0) }
            ?? posix_spawnp(&pid, program, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw SystemCallError(function: "posix_spawnp", errno: rc, path: program) }
        return pid
    }

    /// Blocks in `waitpid` until child `pid` ends (retrying `EINTR`).
    package static func waitForExit(_ pid: pid_t) -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return .exited(-1) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as functions.
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    /// Runs `program` (looked up on `PATH` when it has no `/`) with `arguments`, waits for it
    /// and collects its standard output; standard error is discarded. Output beyond
    /// `outputLimit` bytes is read and dropped (the child never blocks on a full pipe).
    ///
    /// - Throws: ``SystemCallError`` when the pipe cannot be made or the program cannot be
    ///   started (`ENOENT` when it is not found).
    static func run(_ program: String, _ arguments: [String], outputLimit: Int = 1 << 20) throws(SystemCallError) -> Result {
        var fds: [Int32] = [-1, -1]
        guard litmus_pipe_cloexec(&fds) == 0 else { throw SystemCallError(function: "pipe2", errno: errno, path: program) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let pid: pid_t
        do {
            pid = try spawn([program] + arguments, standardOutput: .descriptor(writeEnd))
        } catch {
            close(writeEnd)
            close(readEnd)
            throw error
        }
        close(writeEnd)

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n > 0 {
                if output.count < outputLimit { output += chunk[0..<min(n, outputLimit - output.count)] }
            } else if n == 0 || errno != EINTR {
                break
            }
        }
        close(readEnd)

        switch waitForExit(pid) {
        case .exited(let status): return Result(status: status < 0 ? 255 : status, output: output)
        case .signaled(let signal): return Result(status: 128 + signal, output: output)
        }
    }
}
