import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal pair standing in for a serial cable: the serial plugin opens the slave
/// (`ASRL/dev/pts/N::INSTR`) and a simulated instrument talks on the master.
///
/// The pair also keeps its own descriptor on the slave, in raw mode, for the whole test:
/// the slave's settings persist across the plugin's opens and closes (so bytes written to the
/// master before an open are not echoed or translated), reading the master never fails with
/// EIO between sessions, and the test can read back the termios the plugin applied.
final class PTYPair: @unchecked Sendable {
    /// The master side (non-blocking), where the simulated instrument reads and writes.
    private(set) var master: Int32
    /// The slave device path, `/dev/pts/N`.
    let slavePath: String
    /// The test's own descriptor on the slave.
    private(set) var keeper: Int32

    /// The resource that opens the slave through the serial plugin.
    var resource: String { "ASRL\(slavePath)::INSTR" }

    /// Creates the pair (posix_openpt, unlockpt, ptsname_r; looked up at run time because
    /// Swift's Glibc module leaves them out).
    init() throws {
        typealias FDFunction = @convention(c) (Int32) -> Int32
        typealias NameFunction = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
        let libc = dlopen(nil, RTLD_NOW)
        guard let openSymbol = dlsym(libc, "posix_openpt"), let unlockSymbol = dlsym(libc, "unlockpt"),
            let nameSymbol = dlsym(libc, "ptsname_r")
        else { throw PTYError("posix_openpt, unlockpt or ptsname_r is missing from libc") }
        let openpt = unsafeBitCast(openSymbol, to: FDFunction.self)
        let unlockpt = unsafeBitCast(unlockSymbol, to: FDFunction.self)
        let ptsname = unsafeBitCast(nameSymbol, to: NameFunction.self)

        master = openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0 else { throw PTYError("posix_openpt failed: \(String(cString: strerror(errno)))") }
        var name = [CChar](repeating: 0, count: 128)
        guard unlockpt(master) == 0, ptsname(master, &name, name.count) == 0 else {
            Glibc.close(master)
            throw PTYError("unlockpt or ptsname_r failed: \(String(cString: strerror(errno)))")
        }
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        keeper = open(slavePath, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard keeper >= 0 else {
            Glibc.close(master)
            throw PTYError("opening \(slavePath) failed: \(String(cString: strerror(errno)))")
        }
        for fd in [master, keeper] {
            var t = termios()
            tcgetattr(fd, &t)
            cfmakeraw(&t)
            tcsetattr(fd, TCSANOW, &t)
        }
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    /// The slave's current settings, as the plugin left them.
    func slaveSettings() -> termios {
        var t = termios()
        tcgetattr(keeper, &t)
        return t
    }

    /// Writes bytes to the master (they arrive on the slave) without waiting.
    func writeToMaster(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
    }

    /// Closes the master: the slave sees a hangup.
    func closeMaster() {
        if master >= 0 {
            Glibc.close(master)
            master = -1
        }
    }

    /// Closes both sides. Safe to call twice.
    func close() {
        closeMaster()
        if keeper >= 0 {
            Glibc.close(keeper)
            keeper = -1
        }
    }
}

struct PTYError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
