import Foundation
import LitmusJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Per-resource locks across processes, so that two test processes never drive one instrument
// at once.
//
// Each instrument has a lock file, `<directory>/<sanitised identity key>-<hash>.lock`, and
// holding the resource means holding an exclusive `flock` on that file. The key is the
// instrument's identity after resolution (``ResourceIdentity``): `tcpip:127.0.0.1:5025` for
// both `TCPIP::localhost::5025::SOCKET` and `TCPIP0::127.0.0.1::5025::SOCKET`, the real path
// of a serial device, vendor:product:serial of a USB device. A host with several addresses
// is locked on each of them, in sorted order. While held, the file contains one line of JSON
// naming the holder and the spelling it used, which a process that finds the resource busy
// reads to say who has it:
//
//     {"pid":4242,"station":"bench3","role":"dmm","resource":"TCPIP0::10.0.0.5::inst0::INSTR","acquired_at":"2026-11-26T18:00:01Z","hostname":"bench3"}
//
// - Stale locks need no handling: the kernel drops a `flock` when the last descriptor of the
//   open file goes, so a holder that dies (even by SIGKILL) frees the resource at once. Its
//   JSON may stay in the file until the next holder overwrites it. The descriptor is opened
//   with `O_CLOEXEC`, so a child process never inherits (and never prolongs) the lock.
// - Lock files are never deleted: deleting one while another process waits on it would let
//   two processes each lock a different file for the same resource.
// - Within one process the lock is re-entrant: `flock` on two descriptors of one process
//   conflicts like two processes do, so a process-wide table, keyed by the lock file's path,
//   counts the leases and keeps one descriptor per lock file.
// - Mocked roles take no lock: a mock drives no instrument. Whether to lock a role is the
//   caller's business; this type locks whatever resource it is given.
// - Trust: the lock directory must belong to the user and be writable by no one else (it is
//   created 0700); lock files are opened relative to the opened directory with `O_NOFOLLOW`,
//   created 0600, and used only when they are regular files of the user. Nothing is
//   truncated or written before the `flock` is held and the file's owner checked on the
//   descriptor, so a planted symbolic link or another user's file is refused untouched.
// - The default directory is per user (`$XDG_RUNTIME_DIR/litmus/locks`,
//   `/tmp/litmus-locks-<uid>`). Locks exclude the processes of one user: a directory shared
//   between users would let one plant or hold the others' lock files. Run the test processes
//   of a shared bench under one account. `flock` is local to a host: on a network file
//   system it may not exclude other hosts.

/// Who holds a resource lock, as recorded in the lock file.
public struct LockHolder: Sendable, Equatable, CustomStringConvertible {
    /// The holding process.
    public var pid: Int32
    /// The station the holder runs.
    public var station: String
    /// The role the holder locked the resource for.
    public var role: String
    /// The canonical resource name (``ResourceName/canonical``, else the trimmed string).
    public var resource: String
    /// When the lock was taken: ISO 8601 UTC, `2026-11-26T18:00:01Z`.
    public var acquiredAt: String
    /// The host the holder runs on.
    public var hostname: String

    public init(pid: Int32, station: String, role: String, resource: String, acquiredAt: String, hostname: String) {
        self.pid = pid
        self.station = station
        self.role = role
        self.resource = resource
        self.acquiredAt = acquiredAt
        self.hostname = hostname
    }

    /// `pid 4242 on bench3 (station bench3, role dmm) since 2026-11-26T18:00:01Z`; unknown
    /// fields are left out.
    public var description: String { who(localHost: nil) }

    /// The holder for a message; the host is named only when it is not `localHost`, the
    /// resource only when the holder spelled it otherwise than `spelling`.
    func who(localHost: String?, spelling: String? = nil) -> String {
        var text = pid > 0 ? "pid \(pid)" : "an unknown process"
        if !hostname.isEmpty && hostname != localHost { text += " on \(hostname)" }
        var details: [String] = []
        if !station.isEmpty { details.append("station \(station)") }
        if !role.isEmpty { details.append("role \(role)") }
        if let spelling, !resource.isEmpty, resource != spelling { details.append("opened as \(resource)") }
        if !details.isEmpty { text += " (\(details.joined(separator: ", ")))" }
        if !acquiredAt.isEmpty { text += " since \(acquiredAt)" }
        return text
    }

    /// One line of JSON, with its newline.
    var json: String {
        "{\"pid\":\(pid),\"station\":\(JSONText.quoted(station)),\"role\":\(JSONText.quoted(role)),"
            + "\"resource\":\(JSONText.quoted(resource)),\"acquired_at\":\(JSONText.quoted(acquiredAt)),"
            + "\"hostname\":\(JSONText.quoted(hostname))}\n"
    }

    /// The holder a lock file names; missing fields are empty (pid 0). Nil when the text is not
    /// a JSON object or names nothing at all (an empty file, a record half written).
    init?(json bytes: [UInt8]) {
        guard let value = try? JSONValue.parse(bytes), value.objectValue != nil else { return nil }
        let pid = value["pid"]?.intValue.flatMap { Int32(exactly: $0) } ?? 0
        self.init(
            pid: pid, station: value["station"]?.stringValue ?? "", role: value["role"]?.stringValue ?? "",
            resource: value["resource"]?.stringValue ?? "", acquiredAt: value["acquired_at"]?.stringValue ?? "",
            hostname: value["hostname"]?.stringValue ?? "")
        if pid == 0 && station.isEmpty && role.isEmpty && resource.isEmpty && acquiredAt.isEmpty && hostname.isEmpty {
            return nil
        }
    }
}

/// Why a resource lock was not taken.
///
/// ```
/// TCPIP0::10.0.0.5::inst0::INSTR is in use by pid 4242 (station bench3, role dmm) since 2026-11-26T18:00:01Z; wait for it to finish or stop that process
/// TCPIP0::localhost::5025::SOCKET is in use by pid 4242 (station bench3, role dmm, opened as TCPIP0::127.0.0.1::5025::SOCKET) since 2026-11-26T18:00:01Z; both name instrument tcpip:127.0.0.1:5025; wait for it to finish or stop that process
/// cannot create the lock directory /run/user/1000/litmus/locks: Permission denied; set LITMUS_LOCK_DIR to a directory you can write
/// ```
public struct ResourceLockError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Another process holds the resource.
        case busy
        /// The lock directory does not exist and cannot be created.
        case lockDirectory
        /// The lock file cannot be opened or locked.
        case lockFile
        /// The lock directory or a lock file is not safe to use: another user's, writable by
        /// others, a symbolic link or not a regular file. Nothing was changed in it.
        case untrusted
    }

    public var kind: Kind
    /// The canonical resource name.
    public var resource: String
    /// The holder named in the lock file, when busy; nil when it could not be read, and some
    /// fields may be empty when the record was partial.
    public var holder: LockHolder?
    /// What happened and what to do about it.
    public var message: String

    public init(_ kind: Kind, resource: String, holder: LockHolder? = nil, message: String) {
        self.kind = kind
        self.resource = resource
        self.holder = holder
        self.message = message
    }

    public var description: String { message }
}

/// One hold on a resource lock. The lock is released when the last lease of the process on
/// that resource is released, by ``release()`` or when the lease is deinitialised.
public final class ResourceLease: @unchecked Sendable {
    /// The record in the lock file: the process and the first station and role that took the
    /// lock (later re-entrant leases share it).
    public let holder: LockHolder
    /// The lock file (the first of ``paths``).
    public var path: String { paths[0] }
    /// Every lock file held: one per identity key (``ResourceIdentity/keys``).
    public let paths: [String]
    private let entries: [ResourceLockTable.Entry]
    // Guarded by ResourceLockTable.shared.mutex.
    private var released = false

    fileprivate init(held: [(path: String, entry: ResourceLockTable.Entry)]) {
        precondition(!held.isEmpty)
        self.holder = held[0].entry.holder
        self.paths = held.map(\.path)
        self.entries = held.map(\.entry)
    }

    /// The canonical resource name.
    public var resource: String { holder.resource }

    /// Whether this lease was released.
    public var isReleased: Bool { ResourceLockTable.shared.mutex.withLock { released } }

    /// Gives up this lease; the last lease of the process unlocks the file. Idempotent.
    public func release() {
        ResourceLockTable.shared.mutex.withLock {
            guard !released else { return }
            released = true
            for (entry, path) in zip(entries, paths).reversed() { ResourceLockTable.shared.drop(entry, path: path) }
        }
    }

    deinit { release() }
}

/// The process-wide table of held lock files: one descriptor per file, with a lease count.
final class ResourceLockTable: @unchecked Sendable {
    static let shared = ResourceLockTable()

    final class Entry {
        let fd: Int32
        let holder: LockHolder
        var leases = 1
        init(fd: Int32, holder: LockHolder) {
            self.fd = fd
            self.holder = holder
        }
    }

    let mutex = PosixLock()
    // Guarded by mutex.
    private var entries: [String: Entry] = [:]

    /// The entry held for `path` (the mutex held).
    func entry(_ path: String) -> Entry? { entries[path] }

    func insert(_ entry: Entry, path: String) { entries[path] = entry }

    /// The number of leases held on `path`, for tests.
    func leaseCount(_ path: String) -> Int { mutex.withLock { entries[path]?.leases ?? 0 } }

    /// One lease fewer (the mutex held); the last one clears the record, unlocks and closes.
    func drop(_ entry: Entry, path: String) {
        entry.leases -= 1
        guard entry.leases == 0 else { return }
        if entries[path] === entry { entries[path] = nil }
        _ = ftruncate(entry.fd, 0)
        _ = flock(entry.fd, LOCK_UN)
        System.closeFile(entry.fd)
    }
}

/// Per-resource locks across processes, in one lock directory.
///
/// ```swift
/// let locks = ResourceLocks(directory: ResourceLocks.defaultDirectory())
/// let lease = try locks.acquire(resource: "TCPIP::10.0.0.5::INSTR", station: "bench3", role: "dmm")
/// defer { lease.release() }
/// ```
///
/// One object per process is typical, but any number may exist: every object of the process
/// that uses the same directory shares the process-wide lease counts. See the notes at the top
/// of this file for stale locks, mocked roles and sharing between users.
public final class ResourceLocks: @unchecked Sendable {
    /// The lock directory, as given.
    public let directory: String

    /// How often a waiting ``acquire(resource:station:role:timeout:)`` tries again.
    public static let pollInterval: Double = 0.020

    /// Uses `directory`. Nothing is created or checked until ``acquire(resource:station:role:timeout:)``:
    /// it creates the directory 0700 when missing and refuses one that is not safe.
    public init(directory: String) {
        self.directory = directory
    }

    /// `$LITMUS_LOCK_DIR`, else `$XDG_RUNTIME_DIR/litmus/locks`, else `/tmp/litmus-locks-<uid>`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["LITMUS_LOCK_DIR"], !dir.isEmpty { return dir }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return (runtime.hasSuffix("/") ? String(runtime.dropLast()) : runtime) + "/litmus/locks"
        }
        return "/tmp/litmus-locks-\(getuid())"
    }

    /// The canonical form of a resource string, else the string trimmed: what messages and
    /// lock records name. The lock itself is keyed by ``ResourceIdentity``.
    public static func canonicalName(_ resource: String) -> String {
        if let name = try? ResourceName(parsing: resource) { return name.canonical }
        let scalars = Array(resource.unicodeScalars)
        var start = 0
        var end = scalars.count
        while start < end, scalars[start].properties.isWhitespace { start += 1 }
        while end > start, scalars[end - 1].properties.isWhitespace { end -= 1 }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[start..<end])
        return text
    }

    /// The lock file's name: the key with everything but `A-Z a-z 0-9 . _ -` as `_` (at most
    /// 100 characters), a hash of the key (distinct keys that sanitise alike get distinct
    /// files), and `.lock`.
    static func lockFileName(canonical: String) -> String {
        var name = ""
        for scalar in canonical.unicodeScalars.prefix(100) {
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": name.unicodeScalars.append(scalar)
            default: name += "_"
            }
        }
        // FNV-1a, 64 bits: stable across processes and releases (unlike Hasher).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in canonical.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return name + "-" + String(repeating: "0", count: 16 - hex.count) + hex + ".lock"
    }

    /// The (first) lock file of a resource.
    public func lockFilePath(resource: String) -> String { lockFilePaths(resource: resource)[0] }

    /// Every lock file of a resource: one per key of its ``ResourceIdentity``.
    public func lockFilePaths(resource: String) -> [String] {
        let dir = lockDirectoryPath()
        return ResourceIdentity(resource: resource).keys.map { dir + "/" + Self.lockFileName(canonical: $0) }
    }

    /// The directory without a trailing slash, resolved when it exists (so that two spellings
    /// of one directory share the process-wide table).
    private func lockDirectoryPath() -> String {
        if let real = System.realPath(directory) { return real }
        var dir = directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        return dir
    }

    /// Takes the lock of `resource` for `station` and `role`.
    ///
    /// - Parameters:
    ///   - resource: a VISA resource string (locked by the instrument's identity,
    ///     ``ResourceIdentity``, so every spelling of one instrument shares the lock) or any
    ///     other name (locked as trimmed).
    ///   - timeout: seconds to wait for another process to let go, trying every 20 ms: 0 tries
    ///     once, a negative value waits forever.
    /// - Returns: a lease; keep it while using the resource. A second acquire of the same
    ///   resource in this process succeeds at once with another lease.
    /// - Throws: ``ResourceLockError``: busy (naming the holder and the spelling it used), the
    ///   lock directory or a lock file not safe to use (untrusted), or one that cannot be used.
    public func acquire(resource: String, station: String, role: String, timeout: Double = 0)
        throws(ResourceLockError) -> ResourceLease
    {
        let canonical = Self.canonicalName(resource)
        let keys = ResourceIdentity(resource: resource).keys
        let directoryFD = try openLockDirectory(resource: canonical)
        defer { System.closeFile(directoryFD) }
        let directoryPath = lockDirectoryPath()
        let deadline: UInt64? =
            timeout < 0 ? nil : System.monotonicNanoseconds() + UInt64(min(timeout, 1e9) * 1e9)
        var held: [(path: String, entry: ResourceLockTable.Entry)] = []
        do {
            for key in keys {
                let name = Self.lockFileName(canonical: key)
                let entry = try acquireFile(
                    name, in: directoryFD, path: directoryPath + "/" + name, key: key, canonical: canonical,
                    station: station, role: role, deadline: deadline, timeout: timeout, holder: held.first?.entry.holder)
                held.append((directoryPath + "/" + name, entry))
            }
        } catch {
            ResourceLockTable.shared.mutex.withLock {
                for (path, entry) in held.reversed() { ResourceLockTable.shared.drop(entry, path: path) }
            }
            throw error
        }
        return ResourceLease(held: held)
    }

    /// Takes one lock file (re-entrant within the process), waiting until `deadline`.
    private func acquireFile(
        _ name: String, in directoryFD: Int32, path: String, key: String, canonical: String, station: String,
        role: String, deadline: UInt64?, timeout: Double, holder earlier: LockHolder?
    ) throws(ResourceLockError) -> ResourceLockTable.Entry {
        let table = ResourceLockTable.shared
        var fd: Int32 = -1
        defer { if fd >= 0 { System.closeFile(fd) } }
        while true {
            // Every flock of this process happens with the table's mutex held, so a lock file is
            // either in the table or not locked by this process.
            table.mutex.lock()
            if let entry = table.entry(path) {
                entry.leases += 1
                table.mutex.unlock()
                return entry
            }
            if fd < 0 {
                do {
                    fd = try Self.openLockFile(name, in: directoryFD, path: path, canonical: canonical)
                } catch {
                    table.mutex.unlock()
                    throw error
                }
            }
            let locked: Bool
            do {
                locked = try System.tryLockExclusive(fd, path: path)
            } catch {
                table.mutex.unlock()
                throw ResourceLockError(
                    .lockFile, resource: canonical,
                    message: "cannot lock \(path) for \(canonical): \(Self.reason(error)); "
                        + "set LITMUS_LOCK_DIR to a directory on a local file system")
            }
            if locked {
                // The lock is held and openLockFile checked that the file is a regular file of
                // this user, on this descriptor: replacing its content harms no one.
                let holder =
                    earlier
                    ?? LockHolder(
                        pid: getpid(), station: station, role: role, resource: canonical, acquiredAt: Self.now(),
                        hostname: System.hostName())
                Self.write(holder, to: fd)
                let entry = ResourceLockTable.Entry(fd: fd, holder: holder)
                table.insert(entry, path: path)
                table.mutex.unlock()
                fd = -1  // the table owns it now
                return entry
            }
            table.mutex.unlock()
            if let deadline, System.monotonicNanoseconds() >= deadline { break }
            usleep(UInt32(Self.pollInterval * 1e6))
        }
        let holder = Self.readHolder(fd)
        var message = "\(canonical) is in use by "
        message +=
            holder?.who(localHost: System.hostName(), spelling: canonical)
            ?? "another process (its lock file \(path) names none)"
        if let holder, !holder.resource.isEmpty, holder.resource != canonical {
            message += "; both name instrument \(key)"
        }
        if timeout > 0 { message += "; waited \(Self.seconds(timeout))" }
        message += "; wait for it to finish or stop that process"
        throw ResourceLockError(.busy, resource: canonical, holder: holder, message: message)
    }

    /// Opens the lock directory, creating it 0700 (its parents 0755) when missing, and checks
    /// on the open descriptor that it belongs to this user and that no one else can write it.
    private func openLockDirectory(resource canonical: String) throws(ResourceLockError) -> Int32 {
        let fix = "set LITMUS_LOCK_DIR to a directory you can write"
        if System.fileKind(directory) == .missing {
            var parent = directory
            while parent.count > 1 && parent.hasSuffix("/") { parent.removeLast() }
            parent = (parent as NSString).deletingLastPathComponent
            do {
                if !parent.isEmpty { try System.makeDirectories(parent) }
                _ = try System.makeDirectory(directory, mode: 0o700)
            } catch {
                throw ResourceLockError(
                    .lockDirectory, resource: canonical,
                    message: "cannot create the lock directory \(directory): \(Self.reason(error)); \(fix)")
            }
        }
        let fd: Int32
        do {
            fd = try System.openFile(directory, flags: O_RDONLY | O_DIRECTORY | O_NOCTTY)
        } catch {
            throw ResourceLockError(
                .lockDirectory, resource: canonical,
                message: "cannot open the lock directory \(directory): \(Self.reason(error)); \(fix)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let error = SystemCallError(function: "fstat", errno: errno, path: directory)
            System.closeFile(fd)
            throw ResourceLockError(
                .lockDirectory, resource: canonical,
                message: "cannot examine the lock directory \(directory): \(Self.reason(error)); \(fix)")
        }
        let me = geteuid()
        var problem: String?
        if st.st_uid != me {
            problem =
                "belongs to uid \(st.st_uid), not to this user (uid \(me)): its owner can plant or hold the lock "
                + "files in it. Fix: remove it (rm -r \(directory)) if you do not know who made it, or set "
                + "LITMUS_LOCK_DIR to a directory of your own"
        } else if st.st_mode & 0o022 != 0 {
            let mode = String(st.st_mode & 0o7777, radix: 8)
            problem =
                "is writable by \(st.st_mode & 0o002 != 0 ? "every user" : "its group") (mode \(mode)): others could "
                + "plant or replace lock files in it. Fix: chmod 700 \(directory), or remove it (rm -r \(directory)) "
                + "and let litmus create it again, or set LITMUS_LOCK_DIR to a directory only you can write"
        }
        if let problem {
            System.closeFile(fd)
            throw ResourceLockError(
                .untrusted, resource: canonical, message: "refusing the lock directory \(directory): it \(problem)")
        }
        return fd
    }

    /// Opens (creating it 0600 when missing) a lock file in the opened directory without
    /// following a symbolic link, and checks on the descriptor that it is a regular file of
    /// this user. A file of an earlier version of litmus (mode 0666) is narrowed to 0600.
    private static func openLockFile(_ name: String, in directoryFD: Int32, path: String, canonical: String)
        throws(ResourceLockError) -> Int32
    {
        let flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY
        var fd: Int32 = -1
        var code: Int32 = 0
        for _ in 0..<10 {
            fd = openat(directoryFD, name, flags | O_CREAT | O_EXCL, 0o600)
            if fd >= 0 { break }
            code = errno
            if code == EINTR { continue }
            guard code == EEXIST else { break }
            fd = openat(directoryFD, name, flags)
            if fd >= 0 { break }
            code = errno
            // Removed in between: create it again. Anything else is final.
            if code != ENOENT && code != EINTR { break }
        }
        if fd < 0 {
            if code == ELOOP {
                throw ResourceLockError(
                    .untrusted, resource: canonical,
                    message: "refusing the lock file \(path) of \(canonical): it is a symbolic link, which litmus "
                        + "never follows (someone may have planted it to make litmus write elsewhere); nothing was "
                        + "changed. Fix: remove the link (rm \(path)) after checking where it points")
            }
            throw ResourceLockError(
                .lockFile, resource: canonical,
                message: "cannot open the lock file \(path) of \(canonical): \(String(cString: strerror(code))); "
                    + "set LITMUS_LOCK_DIR to a directory you can write")
        }
        var st = stat()
        var problem: String?
        if fstat(fd, &st) != 0 {
            problem = "cannot be examined (\(String(cString: strerror(errno))))"
        } else if st.st_mode & S_IFMT != S_IFREG {
            problem = "is not a regular file"
        } else if st.st_uid != geteuid() {
            problem = "belongs to uid \(st.st_uid), not to this user (uid \(geteuid()))"
        }
        if let problem {
            System.closeFile(fd)
            throw ResourceLockError(
                .untrusted, resource: canonical,
                message: "refusing the lock file \(path) of \(canonical): it \(problem); nothing was changed. "
                    + "Fix: remove it (rm \(path)) after checking what it is")
        }
        if st.st_mode & 0o077 != 0 { _ = fchmod(fd, 0o600) }  // this user's own file, checked on the descriptor
        return fd
    }

    /// The number of leases this process holds on `resource` (0 when unlocked here).
    public func leaseCount(resource: String) -> Int {
        ResourceLockTable.shared.leaseCount(lockFilePath(resource: resource))
    }

    // MARK: Helpers

    /// Replaces the file's content with the holder's record. Best effort: a record that cannot
    /// be written only makes a busy message less helpful.
    private static func write(_ holder: LockHolder, to fd: Int32) {
        _ = ftruncate(fd, 0)
        let bytes = Array(holder.json.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(done)) }
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    /// The holder a lock file names. The record is written just after the lock is taken, so a
    /// contender may read an empty file, a half-written one, or the record of a holder that
    /// died (left until overwritten): those are read again a few times, then reported as
    /// unknown.
    private static func readHolder(_ fd: Int32) -> LockHolder? {
        let localHost = System.hostName()
        var last: LockHolder?
        for attempt in 0..<5 {
            if attempt > 0 { usleep(10_000) }
            guard let bytes = try? System.readAt(fd, offset: 0, count: 4096, path: ""),
                let holder = LockHolder(json: bytes)
            else { continue }
            // A record of a process on this host that no longer exists is stale.
            if holder.hostname == localHost && holder.pid > 0 && kill(holder.pid, 0) != 0 && errno == ESRCH {
                continue
            }
            last = holder
            if holder.pid > 0 && !holder.station.isEmpty && !holder.role.isEmpty && !holder.acquiredAt.isEmpty {
                return holder
            }
        }
        return last
    }

    /// Now, ISO 8601 UTC to the second: `2026-11-26T18:00:01Z`.
    static func now() -> String { String(Timestamp.now().iso8601.prefix(19)) + "Z" }

    private static func reason(_ error: SystemCallError) -> String { String(cString: strerror(error.errno)) }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() && value < 1e15 ? "\(Int64(value)) s" : "\(value) s"
    }
}
