#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLitmusSupport

/// Thin wrappers over the system calls the loader uses; one place to read them.
package enum System {
    /// `dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)`; the text of `dlerror()` on failure.
    /// NODELETE: Swift code is never unloaded, also from a plugin linked without `-z nodelete`
    /// (SwiftPM forbids that unsafe flag in a package used by URL).
    static func dlopenLocal(_ path: String) -> Result<UnsafeMutableRawPointer, DynamicLoaderMessage> {
        _ = dlerror()
        if let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) { return .success(handle) }
        return .failure(DynamicLoaderMessage(text: dlerror().map { String(cString: $0) } ?? "dlopen failed"))
    }

    /// `dlsym(handle, name)`.
    static func symbol(_ handle: UnsafeMutableRawPointer, _ name: String) -> UnsafeMutableRawPointer? {
        dlsym(handle, name)
    }

    /// The canonical absolute path, or nil when the file does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The path of the running executable.
    static func executablePath() -> String? {
        #if os(Linux)
        return realPath("/proc/self/exe")
        #else
        return CommandLine.arguments.first.flatMap(realPath)
        #endif
    }

    /// The path of the loaded image (executable or shared library) that holds the Litmus code,
    /// by `dladdr`; nil when unknown.
    static func imagePath() -> String? {
        litmus_image_path().flatMap { realPath(String(cString: $0)) }
    }

    enum FileKind { case missing, directory, file }

    static func fileKind(_ path: String) -> FileKind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        return (st.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }

    static func isReadable(_ path: String) -> Bool { access(path, R_OK) == 0 }

    /// The names in a directory, sorted; empty when it cannot be read.
    static func directoryEntries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The first bytes of a file (to tell an ELF file from anything else).
    static func fileHeader(_ path: String, count: Int) -> [UInt8] {
        guard let f = fopen(path, "rb") else { return [] }
        defer { fclose(f) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = fread(&bytes, 1, count, f)
        return Array(bytes.prefix(n))
    }
}

struct DynamicLoaderMessage: Error {
    var text: String
}

// MARK: - Files (channel store)

/// A failed system call: which function, on what path, and `errno`.
package struct SystemCallError: Error, CustomStringConvertible, Sendable {
    package var function: String
    package var errno: Int32
    package var path: String

    package var description: String {
        let text = String(cString: strerror(errno))
        return path.isEmpty ? "\(function): \(text)" : "\(function)(\(path)): \(text)"
    }
}

extension System {
    /// `open(path, flags | O_CLOEXEC, mode)`, retried on `EINTR`.
    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(SystemCallError) -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw SystemCallError(function: "open", errno: errno, path: path) }
        }
    }

    /// Opens a directory for `fsync` and `flock`.
    static func openDirectory(_ path: String) throws(SystemCallError) -> Int32 {
        try openFile(path, flags: O_RDONLY | O_DIRECTORY)
    }

    /// `close(fd)`. Not retried: on Linux the descriptor is gone even when it reports `EINTR`.
    static func closeFile(_ fd: Int32) {
        _ = close(fd)
    }

    /// Writes every byte of `bytes` (looping over short writes and `EINTR`).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw SystemCallError(function: "write", errno: n < 0 ? errno : EIO, path: path)
            }
        }
    }

    /// Writes every byte of `parts`, in order, with `writev` (looping over short writes).
    static func writeAll(_ fd: Int32, _ parts: [UnsafeRawBufferPointer], path: String) throws(SystemCallError) {
        var vectors = parts.filter { $0.count > 0 }.map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        var first = 0
        while first < vectors.count {
            let n = vectors.withUnsafeBufferPointer {
                writev(fd, $0.baseAddress! + first, Int32(min(vectors.count - first, 1024)))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(function: "writev", errno: errno, path: path)
            }
            if n == 0 { throw SystemCallError(function: "writev", errno: EIO, path: path) }
            var left = n
            while left > 0 && first < vectors.count {
                if left >= vectors[first].iov_len {
                    left -= vectors[first].iov_len
                    first += 1
                } else {
                    vectors[first].iov_base += left
                    vectors[first].iov_len -= left
                    left = 0
                }
            }
        }
    }

    /// Reads up to `count` bytes at `offset` (fewer only at the end of the file).
    static func readAt(_ fd: Int32, offset: Int64, count: Int, path: String) throws(SystemCallError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw SystemCallError(function: "pread", errno: errno, path: path)
            }
        }
        if done < count { bytes.removeSubrange(done...) }
        return bytes
    }

    /// The whole content of a file.
    static func readWholeFile(_ path: String) throws(SystemCallError) -> [UInt8] {
        let fd = try openFile(path, flags: O_RDONLY)
        defer { closeFile(fd) }
        let size = try fileSize(fd, path: path)
        var bytes = try readAt(fd, offset: 0, count: Int(size), path: path)
        // The file may have grown since fstat (a writer appending): read the rest too.
        while true {
            let more = try readAt(fd, offset: Int64(bytes.count), count: 1 << 20, path: path)
            if more.isEmpty { break }
            bytes += more
        }
        return bytes
    }

    /// The size of an open file.
    static func fileSize(_ fd: Int32, path: String) throws(SystemCallError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError(function: "fstat", errno: errno, path: path) }
        return Int64(st.st_size)
    }

    /// Makes the file's data (and the metadata needed to read it back, like its size)
    /// durable: `fdatasync` on Linux, `fsync` elsewhere.
    static func syncData(_ fd: Int32, path: String) throws(SystemCallError) {
        while true {
            #if os(Linux)
            let rc = fdatasync(fd)
            #else
            let rc = fsync(fd)
            #endif
            if rc == 0 { return }
            if errno != EINTR { throw SystemCallError(function: "fdatasync", errno: errno, path: path) }
        }
    }

    /// `fsync` of an open directory: makes created, renamed and removed entries durable.
    static func syncDirectory(_ fd: Int32, path: String) throws(SystemCallError) {
        while true {
            if fsync(fd) == 0 { return }
            if errno == EINVAL { return }  // file systems that cannot sync directories
            if errno != EINTR { throw SystemCallError(function: "fsync", errno: errno, path: path) }
        }
    }

    /// `fsync` of a directory by path.
    static func syncDirectory(_ path: String) throws(SystemCallError) {
        let fd = try openDirectory(path)
        defer { closeFile(fd) }
        try syncDirectory(fd, path: path)
    }

    /// `ftruncate(fd, length)`.
    static func truncateFile(_ fd: Int32, length: Int64, path: String) throws(SystemCallError) {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno != EINTR { throw SystemCallError(function: "ftruncate", errno: errno, path: path) }
        }
    }

    /// `flock(fd, LOCK_EX | LOCK_NB)`: false when another open file holds the lock.
    static func tryLockExclusive(_ fd: Int32, path: String) throws(SystemCallError) -> Bool {
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK { return false }
            if errno != EINTR { throw SystemCallError(function: "flock", errno: errno, path: path) }
        }
        return true
    }

    /// `mkdir -p`: creates the directory and its missing parents.
    static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
        if fileKind(path) == .directory { return }
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty && parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw SystemCallError(function: "mkdir", errno: errno, path: path)
        }
    }

    /// `rename(from, to)`: atomically replaces `to`.
    static func renameFile(_ from: String, to: String) throws(SystemCallError) {
        guard rename(from, to) == 0 else { throw SystemCallError(function: "rename", errno: errno, path: to) }
    }

    /// `unlink(path)`; a missing file is not an error.
    static func removeFile(_ path: String) throws(SystemCallError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SystemCallError(function: "unlink", errno: errno, path: path)
        }
    }

    /// `rmdir(path)`: false when the directory is not empty (or is gone).
    @discardableResult
    static func removeEmptyDirectory(_ path: String) -> Bool { rmdir(path) == 0 }

    /// Nanoseconds from `CLOCK_MONOTONIC`.
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

// MARK: - Files, locks and directories (the event log)

extension System {
    /// One `write(fd, bytes)`, retried on `EINTR`: the number of bytes written, which may be
    /// fewer than asked (the caller keeps what is left, so an error loses nothing).
    static func writeSome(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        while true {
            let n = write(fd, base, bytes.count)
            if n >= 0 { return n }
            let code = errno
            if code != EINTR { throw SystemCallError(function: "write", errno: code, path: path) }
        }
    }

    /// One `pread(fd, buffer, offset)`, retried on `EINTR`, into caller-owned memory: the
    /// number of bytes read, 0 at the end of the file.
    static func readSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String)
        throws(SystemCallError) -> Int
    {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        while true {
            let n = pread(fd, base, buffer.count, off_t(offset))
            if n >= 0 { return n }
            let code = errno
            if code != EINTR { throw SystemCallError(function: "pread", errno: code, path: path) }
        }
    }

    /// `flock(fd, LOCK_SH | LOCK_NB)`: false when another open file holds an exclusive lock.
    static func tryLockShared(_ fd: Int32, path: String) throws(SystemCallError) -> Bool {
        while flock(fd, LOCK_SH | LOCK_NB) != 0 {
            let code = errno
            if code == EWOULDBLOCK { return false }
            if code != EINTR { throw SystemCallError(function: "flock", errno: code, path: path) }
        }
        return true
    }

    /// `flock(fd, LOCK_UN)`.
    static func unlockFile(_ fd: Int32, path: String) throws(SystemCallError) {
        while flock(fd, LOCK_UN) != 0 {
            let code = errno
            if code != EINTR { throw SystemCallError(function: "flock", errno: code, path: path) }
        }
    }

    /// `mkdir(path, mode)`: true when it created the directory, false when something already
    /// exists at `path`.
    static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) -> Bool {
        while mkdir(path, mode) != 0 {
            let code = errno
            if code == EEXIST { return false }
            if code != EINTR { throw SystemCallError(function: "mkdir", errno: code, path: path) }
        }
        return true
    }

    /// `gethostname()`, or `localhost` when it fails.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension System {
    /// `path` as a Unix-domain socket address (the prompt channel's, on both its ends); nil
    /// when the path is longer than a socket address holds (``unixSocketPathLimit`` bytes).
    package static func unixSocketAddress(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count <= unixSocketPathLimit else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return address
    }

    /// The longest socket path, in bytes (the address's room less its final NUL).
    package static var unixSocketPathLimit: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1 }
}
