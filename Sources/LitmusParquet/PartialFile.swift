#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written under a temporary name next to its target and published atomically.
///
/// The data goes to `<target>.partial-<pid>`; ``commit(overwrite:)`` fsyncs it, renames it to
/// the target (without replacing an existing file unless asked) and fsyncs the directory, so
/// the target path either does not exist or holds the complete file, even after a crash.
/// ``discard()`` (also run by `deinit` if not committed) removes the partial file.
///
/// The writer holds `flock(LOCK_EX)` on the partial file while it writes: the kernel releases
/// it when the writer's process dies, whatever the way, so ``removeStale(inDirectory:)`` tells
/// a partial file left by a dead writer from one being written (a reused pid cannot fool it).
final class PartialFile {
    let targetPath: String
    let partialPath: String
    private var descriptor: Int32
    /// Committed or discarded: nothing left to clean up.
    private var finished = false
    /// Bytes written so far: the offset of the next byte.
    private(set) var offset: Int64 = 0

    /// Creates the partial file. Fails if the target exists and `overwrite` is false, or if
    /// the partial file exists (another writer of this process is writing the same target).
    init(targetPath: String, overwrite: Bool) throws(ParquetError) {
        self.targetPath = targetPath
        partialPath = "\(targetPath).partial-\(getpid())"
        if !overwrite && Self.exists(targetPath) {
            throw ParquetError(
                .fileExists, "the file already exists (set ParquetWriterOptions.overwrite to replace it)",
                path: targetPath)
        }
        descriptor = open(partialPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor < 0 && errno == EEXIST && Self.removeIfStale(partialPath, minimumAge: 0) {
            // Left by a dead process that had this pid.
            descriptor = open(partialPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        if descriptor < 0 {
            let reason = Self.lastError()
            throw ParquetError(.io, "cannot create \(partialPath): \(reason)", path: targetPath)
        }
        // A new file nobody else has opened for writing: the lock is free (a sweeper probing it
        // holds it for a moment at most).
        var attempts = 0
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 && attempts < 1000 {
            attempts += 1
            usleep(1000)
        }
    }

    /// The suffix of partial files: `<target>.partial-<pid>`.
    static let marker = ".partial-"

    /// Removes the partial files in `directory` whose writer is gone: no process holds their
    /// lock, and their pid is not a live process or they were not modified for `minimumAge`
    /// seconds (a writer takes the lock microseconds after creating the file). Returns the
    /// paths removed.
    static func removeStale(inDirectory directory: String, minimumAge: Double) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if pid(inName: name) != nil { names.append(name) }
        }
        closedir(dir)
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return names.sorted().map { base + $0 }.filter { removeIfStale($0, minimumAge: minimumAge) }
    }

    /// The pid of a partial file's name (`….partial-<digits>`), nil for any other name.
    static func pid(inName name: String) -> Int32? {
        let bytes = Array(name.utf8)
        let m = Array(marker.utf8)
        var i = bytes.count - m.count - 1
        while i >= 0 {
            if bytes[i..<(i + m.count)].elementsEqual(m) {
                let digits = bytes[(i + m.count)...]
                guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
                return Int32(String(decoding: digits, as: UTF8.self))
            }
            i -= 1
        }
        return nil
    }

    /// Removes the partial file `path` if its writer is gone (see ``removeStale(inDirectory:minimumAge:)``).
    static func removeIfStale(_ path: String, minimumAge: Double) -> Bool {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        // Held: a live writer is at work.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        let pidAlive = pid(inName: path).map { pid in pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) } ?? false
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let age = Double(now.tv_sec - info.st_mtim.tv_sec) + Double(now.tv_nsec - info.st_mtim.tv_nsec) / 1e9
        guard !pidAlive || age >= minimumAge else { return false }
        return unlink(path) == 0
    }

    deinit {
        if !finished { discard() }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }

    /// Appends `count` bytes at `bytes`.
    func write(_ bytes: UnsafeRawPointer, count: Int) throws(ParquetError) {
        var done = 0
        while done < count {
            let n = posixWrite(descriptor, bytes + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = Self.lastError()
                throw ParquetError(.io, "cannot write to \(partialPath): \(reason)", path: targetPath)
            }
            done += n
        }
        offset += Int64(count)
    }

    func write(_ buffer: ByteBuffer) throws(ParquetError) {
        try write(buffer.base, count: buffer.count)
    }

    /// Appends the contents of `buffers`, one after the other (with `writev`, up to 1024
    /// buffers per call).
    func write(_ buffers: [ByteBuffer]) throws(ParquetError) {
        var pieces = buffers.filter { $0.count > 0 }.map { iovec(iov_base: $0.base, iov_len: $0.count) }
        var next = 0
        while next < pieces.count {
            let n = pieces.withUnsafeMutableBufferPointer {
                writev(descriptor, $0.baseAddress! + next, Int32(min($0.count - next, 1024)))
            }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = Self.lastError()
                throw ParquetError(.io, "cannot write to \(partialPath): \(reason)", path: targetPath)
            }
            offset += Int64(n)
            // Skip what was written; a piece written in part continues where it stopped.
            var left = n
            while left > 0 {
                if left >= pieces[next].iov_len {
                    left -= pieces[next].iov_len
                    next += 1
                } else {
                    pieces[next].iov_base += left
                    pieces[next].iov_len -= left
                    left = 0
                }
            }
        }
    }

    func write(_ bytes: [UInt8]) throws(ParquetError) {
        let buffer = ByteBuffer(capacity: bytes.count)
        buffer.append(bytes)
        try write(buffer)
    }

    /// Flushes the file to disk, moves it to the target path and flushes the directory.
    func commit(overwrite: Bool) throws(ParquetError) {
        if fsync(descriptor) != 0 {
            let reason = Self.lastError()
            throw ParquetError(.io, "cannot fsync \(partialPath): \(reason)", path: targetPath)
        }
        let closed = close(descriptor)
        descriptor = -1
        if closed != 0 {
            let reason = Self.lastError()
            throw ParquetError(.io, "cannot close \(partialPath): \(reason)", path: targetPath)
        }
        try publish(overwrite: overwrite)
        finished = true
        try syncDirectory()
    }

    private func publish(overwrite: Bool) throws(ParquetError) {
        if overwrite {
            if rename(partialPath, targetPath) != 0 {
                let reason = Self.lastError()
                throw ParquetError(.io, "cannot rename \(partialPath) to the target: \(reason)", path: targetPath)
            }
            return
        }
        // link(2) never replaces an existing file: the atomic "rename unless it exists".
        if link(partialPath, targetPath) == 0 {
            unlink(partialPath)
            return
        }
        let linkError = errno
        if linkError == EEXIST {
            throw ParquetError(
                .fileExists,
                "the file appeared while it was being written (set ParquetWriterOptions.overwrite to replace it)",
                path: targetPath)
        }
        // File systems without hard links: check, then rename (not atomic against a file
        // created in between, the best such a file system allows).
        if [EPERM, ENOTSUP, EOPNOTSUPP, EXDEV, EMLINK, ENOSYS].contains(linkError) {
            if Self.exists(targetPath) {
                throw ParquetError(
                    .fileExists,
                    "the file appeared while it was being written (set ParquetWriterOptions.overwrite to replace it)",
                    path: targetPath)
            }
            if rename(partialPath, targetPath) == 0 { return }
        }
        let reason = Self.lastError()
        throw ParquetError(.io, "cannot move \(partialPath) to the target: \(reason)", path: targetPath)
    }

    private func syncDirectory() throws(ParquetError) {
        let directory = Self.directory(of: targetPath)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            let reason = Self.lastError()
            throw ParquetError(.io, "the file is complete, but its directory \(directory) cannot be opened to fsync it: \(reason)", path: targetPath)
        }
        defer { close(fd) }
        // Some file systems cannot fsync a directory (EINVAL): nothing more can be done there.
        if fsync(fd) != 0 && errno != EINVAL {
            let reason = Self.lastError()
            throw ParquetError(.io, "the file is complete, but fsync of its directory \(directory) failed: \(reason)", path: targetPath)
        }
    }

    /// The directory part of `path` ("." for a bare file name).
    static func directory(of path: String) -> String {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == 0 { return "/" }
        return String(decoding: bytes[..<slash], as: UTF8.self)
    }

    /// Closes and removes the partial file (idempotent; does nothing once committed).
    func discard() {
        guard !finished else { return }
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        unlink(partialPath)
        finished = true
    }
}

/// write(2), out of reach of the `write` methods' names.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
