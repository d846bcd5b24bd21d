import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// The lock directory and lock files are used only when they are safe: a planted symbolic
/// link, another user's file or directory, or a directory others can write is refused and
/// left untouched. (The tests run as root, so "another user" is a chown to another uid.)
extension ResourceLockTests {
    func mode(_ path: String) -> mode_t {
        var st = stat()
        #expect(lstat(path, &st) == 0, "\(path)")
        return st.st_mode & 0o7777
    }

    func owner(_ path: String) -> uid_t {
        var st = stat()
        #expect(lstat(path, &st) == 0, "\(path)")
        return st.st_uid
    }

    /// An existing lock directory of this user, mode 0700.
    func existingDirectory(_ dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(chmod(dir, 0o700) == 0)
    }

    @Test func aPlantedSymlinkIsRefusedAndItsTargetLeftUntouched() throws {
        try withLockDirectory { dir in
            try existingDirectory(dir)
            // A file of the user's, 0600, elsewhere; a link to it where a lock file will be.
            let victim = dir + "-victim"
            defer { try? FileManager.default.removeItem(atPath: victim) }
            try "private data\n".write(toFile: victim, atomically: false, encoding: .utf8)
            #expect(chmod(victim, 0o600) == 0)
            let resource = "TCPIP0::10.0.0.5::inst0::INSTR"
            let locks = ResourceLocks(directory: dir)
            let lockFile = locks.lockFilePath(resource: resource)
            #expect(symlink(victim, lockFile) == 0)

            let error = try #require(failure(locks, resource))
            #expect(error.kind == .untrusted)
            #expect(error.message.contains("refusing the lock file \(lockFile)"), "\(error)")
            #expect(error.message.contains("is a symbolic link"))
            #expect(error.message.contains("Fix: remove the link (rm \(lockFile))"))
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "private data\n")
            #expect(mode(victim) == 0o600)
            #expect(locks.leaseCount(resource: resource) == 0)

            // Another process is refused the same way.
            let (locked, errors) = try otherProcessCanLock(dir, resource)
            #expect(!locked)
            #expect(errors.contains("is a symbolic link"), "\(errors)")
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "private data\n")
        }
    }

    @Test func aLockFileThatIsNotAPlainFileOfTheUserIsRefusedUntouched() throws {
        try withLockDirectory { dir in
            try existingDirectory(dir)
            let locks = ResourceLocks(directory: dir)
            // Another user's file.
            let foreign = locks.lockFilePath(resource: "GPIB0::5::INSTR")
            try "theirs\n".write(toFile: foreign, atomically: false, encoding: .utf8)
            #expect(chmod(foreign, 0o666) == 0)
            #expect(chown(foreign, 4321, 4321) == 0)
            let error = try #require(failure(locks, "GPIB0::5::INSTR"))
            #expect(error.kind == .untrusted)
            #expect(error.message.contains("belongs to uid 4321"), "\(error)")
            #expect(try String(contentsOfFile: foreign, encoding: .utf8) == "theirs\n")
            #expect(mode(foreign) == 0o666)

            // A FIFO: refused at once (opened non-blocking), not waited on.
            let fifo = locks.lockFilePath(resource: "GPIB0::6::INSTR")
            #expect(mkfifo(fifo, 0o600) == 0)
            let notPlain = try #require(failure(locks, "GPIB0::6::INSTR"))
            #expect(notPlain.kind == .untrusted)
            #expect(notPlain.message.contains("is not a regular file"), "\(notPlain)")
        }
    }

    @Test func aLockDirectoryOthersCanWriteIsRefused() throws {
        try withLockDirectory { dir in
            try existingDirectory(dir)
            for (bits, who) in [(0o770, "its group"), (0o777, "every user"), (0o1777, "every user")] {
                #expect(chmod(dir, mode_t(bits)) == 0)
                let locks = ResourceLocks(directory: dir)
                let error = try #require(failure(locks, "SIM0::dmm::INSTR"))
                #expect(error.kind == .untrusted)
                #expect(
                    error.message.contains(
                        "refusing the lock directory \(dir): it is writable by \(who) (mode \(String(bits, radix: 8)))"),
                    "\(error)")
                #expect(error.message.contains("Fix: chmod 700 \(dir)"))
                #expect(error.message.contains("LITMUS_LOCK_DIR"))
                #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "a lock file was created")
            }
            #expect(chmod(dir, 0o755) == 0)  // others may read, not write: fine
            let lease = try ResourceLocks(directory: dir).acquire(resource: "SIM0::dmm::INSTR", station: "s", role: "r")
            lease.release()
        }
    }

    @Test func aLockDirectoryOfAnotherUserIsRefused() throws {
        try withLockDirectory { dir in
            try existingDirectory(dir)
            #expect(chown(dir, 4321, 4321) == 0)
            let error = try #require(failure(ResourceLocks(directory: dir), "SIM0::dmm::INSTR"))
            #expect(error.kind == .untrusted)
            #expect(error.message.contains("belongs to uid 4321, not to this user (uid \(geteuid()))"), "\(error)")
            #expect(error.message.contains("Fix: remove it (rm -r \(dir))"))
            #expect(error.message.contains("set LITMUS_LOCK_DIR to a directory of your own"))

            // A link planted where the directory should be, to a directory of another user.
            let link = dir + "-link"
            defer { unlink(link) }
            #expect(symlink(dir, link) == 0)
            let planted = try #require(failure(ResourceLocks(directory: link), "SIM0::dmm::INSTR"))
            #expect(planted.kind == .untrusted)
            #expect(planted.message.contains("belongs to uid 4321"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }

    @Test func aFreshDirectoryIs0700AndLockFiles0600() throws {
        try withLockDirectory { dir in
            let locks = ResourceLocks(directory: dir + "/locks")
            let lease = try locks.acquire(resource: "TCPIP0::10.0.0.5::inst0::INSTR", station: "s", role: "r")
            defer { lease.release() }
            #expect(mode(dir + "/locks") == 0o700)
            #expect(owner(dir + "/locks") == geteuid())
            #expect(mode(lease.path) == 0o600)
            #expect(try record(lease.path) == lease.holder)

            // A lock file of an earlier version (0666, this user's) is narrowed, then used.
            let old = locks.lockFilePath(resource: "GPIB0::7::INSTR")
            #expect(FileManager.default.createFile(atPath: old, contents: Data("{}\n".utf8)))
            #expect(chmod(old, 0o666) == 0)
            let second = try locks.acquire(resource: "GPIB0::7::INSTR", station: "s", role: "r")
            defer { second.release() }
            #expect(mode(old) == 0o600)
            #expect(try record(old) == second.holder)
        }
    }
}
