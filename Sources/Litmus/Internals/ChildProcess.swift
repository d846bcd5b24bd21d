import CLitmusSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a short-lived helper program and collects its standard output: started with
/// `posix_spawnp` and reaped with a blocking `waitpid`, so its cost is the program's own run
/// time (Foundation's `Process` on Linux adds tens of milliseconds of polling per child).
///
/// Standard input is `/dev/null`, standard error is discarded; no descriptor of this process
/// other than the output pipe reaches the child (everything the project opens is
/// close-on-exec). The child gets the default signal dispositions and an empty signal mask.
enum ChildProcess {
    /// What a finished child gave.
    struct Result: Sendable, Equatable {
        /// The exit status (0-255), or 128 + the signal number when a signal ended it.
        var status: Int32
        /// Everything it wrote to standard output.
        var output: [UInt8]
    }

    /// Runs `program` (looked up on `PATH` when it has no `/`) with `arguments` and waits
    /// for it. Output beyond `outputLimit` bytes is read and dropped (the child never blocks
    /// on a full pipe).
    ///
    /// - Throws: ``SystemCallError`` when the pipe cannot be made or the program cannot be
    ///   started (`ENOENT` when it is not found).
    static func run(_ program: String, _ arguments: [String], outputLimit: Int = 1 << 20) throws(SystemCallError) -> Result {
        var fds: [Int32] = [-1, -1]
        guard litmus_pipe_cloexec(&fds) == 0 else { throw SystemCallError(function: "pipe2", errno: errno, path: program) }
        let (readEnd, writeEnd) = (fds[0], fds[1])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, program, &actions, &attributes, argv, environ)
        close(writeEnd)
        guard rc == 0 else {
            close(readEnd)
            throw SystemCallError(function: "posix_spawnp", errno: rc, path: program)
        }

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

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return Result(status: 255, output: output) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as functions.
        let signal = status & 0x7F
        return Result(status: signal == 0 ? (status >> 8) & 0xFF : 128 + signal, output: output)
    }
}
