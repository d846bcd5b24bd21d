import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cleanup on the first SIGINT or SIGTERM (Ctrl-C at the bench, a CI job cancelled), then exit
/// with the conventional status, 128 + the signal (130, 143).
///
/// The signal handler itself only writes the signal number to a pipe (a self-pipe: `write`
/// is async-signal-safe); a thread of its own reads the pipe and does the work, in this order:
/// 1. interrupts every open ``Instrument``'s blocked call (``Instrument/interrupt()``: a USBTMC
///    transfer in flight is aborted on the device with INITIATE_ABORT_BULK_IN/OUT);
/// 2. runs the registered actions, newest first (end the run, close the event log, release
///    locks);
/// 3. closes every open instrument (a USBTMC session releases its interface and re-attaches
///    the kernel driver);
/// 4. exits with 128 + the signal.
///
/// A second signal while the cleanup runs exits at once (`_exit`), so a stuck cleanup never
/// traps the user.
public enum SignalCleanup {
    /// The signals handled.
    public static let signals: [Int32] = [SIGINT, SIGTERM]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var actions: [(id: Int, run: (Int32) -> Void)] = []
    nonisolated(unsafe) private static var nextID = 0
    nonisolated(unsafe) private static var installed = false

    /// Registers `action` to run on the first SIGINT/SIGTERM (installing the handlers on first
    /// use); returns a token for ``unregister(_:)``. The action runs on the cleanup thread,
    /// with the signal number.
    @discardableResult
    public static func register(_ action: @escaping (Int32) -> Void) -> Int {
        lock.withLock {
            installLocked()
            nextID += 1
            actions.append((nextID, action))
            return nextID
        }
    }

    /// Removes an action registered with ``register(_:)`` (the session it closes is gone).
    public static func unregister(_ id: Int) {
        lock.withLock { actions.removeAll { $0.id == id } }
    }

    /// Whether a signal arrived and the cleanup is under way.
    public static var isCleaningUp: Bool { signalCleanupStarted != 0 }

    /// Never returns while the cleanup is under way (it ends the process with 128 + the
    /// signal); returns at once otherwise. Call it where the program would otherwise exit on
    /// its own after an interrupted call failed, so the exit status stays 130/143.
    public static func parkIfCleaningUp() {
        while isCleaningUp { sleep(1) }
    }

    /// Installs the handlers without an action: open instruments are still interrupted and
    /// closed on a signal.
    public static func install() {
        lock.withLock { installLocked() }
    }

    private static func installLocked() {
        guard !installed else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        signalPipeWrite = fds[1]
        installed = true
        let readEnd = fds[0]
        let thread = Thread {
            var signo: UInt8 = 0
            while true {
                let n = read(readEnd, &signo, 1)
                if n == 1 { break }
                if n < 0 && errno == EINTR { continue }
                return
            }
            run(Int32(signo))
        }
        thread.name = "litmus.signal-cleanup"
        thread.start()
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for s in signals {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = signalCleanupHandler
            #else
            action.__sigaction_u.__sa_handler = signalCleanupHandler
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(s, &action, nil)
            sigaddset(&unblock, s)
        }
        // A parent may have started this process with the signals blocked (the mask is inherited).
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    private static func run(_ signo: Int32) {
        interruptCloseAndExit(signo) {
            let pending = lock.withLock { actions }
            for action in pending.reversed() { action.run(signo) }
        }
    }

    /// The cleanup of a signal, for a program that handles SIGINT/SIGTERM itself (a Swift
    /// Testing process under a Litmus station aborts its session gracefully on the first
    /// signal, so its teardown steps run, and calls this on the second): interrupts every open
    /// ``Instrument``'s blocked call, runs `work` (end the runs), closes every open instrument
    /// and exits with 128 + `signo`.
    public static func interruptCloseAndExit(_ signo: Int32, after work: () -> Void) -> Never {
        let open = OpenInstruments.shared.all
        for instrument in open { instrument.interrupt() }
        work()
        for instrument in open { instrument.close() }
        exit(128 + signo)
    }
}

/// The write end of the self-pipe; -1 until installed.
nonisolated(unsafe) private var signalPipeWrite: Int32 = -1
/// Set by the first signal: a second one exits at once.
nonisolated(unsafe) private var signalCleanupStarted: sig_atomic_t = 0

/// The raw handler: async-signal-safe calls only.
private func signalCleanupHandler(_ signo: Int32) {
    if signalCleanupStarted != 0 { _exit(128 + signo) }
    signalCleanupStarted = 1
    var byte = UInt8(truncatingIfNeeded: signo)
    _ = write(signalPipeWrite, &byte, 1)
}
