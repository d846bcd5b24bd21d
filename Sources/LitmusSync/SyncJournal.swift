#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Litmus
import LitmusJSON

/// The durable cursor of one destination: an append-only JSON Lines file in
/// `<data>/sync/<destination id>.jsonl`, fsynced after every line.
///
/// A line is written only after the server confirmed a verified upload (`uploaded`), or when a
/// multipart upload is started or given up (`multipart`, `aborted`), so after a crash or a
/// kill at any point the cursor says exactly which files are in the bucket whole. A torn last
/// line (the process died while writing it) is ignored and cut off on the next open. The
/// syncer holds `flock(LOCK_EX)` on the file: one `litmus sync` per destination at a time.
final class SyncJournal {
    struct Uploaded: Equatable {
        var key: String
        var size: Int64
        var mtimeNanoseconds: Int64
        var sha256: String
        var etag: String
    }

    let path: String
    private let fd: Int32
    /// By relative path: the last verified upload of that file.
    private(set) var uploaded: [String: Uploaded] = [:]
    /// Multipart uploads started and neither completed nor aborted: key -> upload id.
    private(set) var openMultipart: [String: String] = [:]
    /// Damaged lines skipped when the cursor was read (`path:line: what`): the files they named
    /// are checked against the bucket again, so nothing is lost or sent twice.
    private(set) var warnings: [String] = []
    private let lock = NSLock()

    init(dataDir: String, destinationID: String) throws {
        let dir = dataDir + "/sync"
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw SyncError.local(path: dir, "cannot create the cursor's folder: \(String(cString: strerror(errno)))")
        }
        path = dir + "/" + destinationID + ".jsonl"
        let existed = access(path, F_OK) == 0
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw SyncError.local(path: path, "cannot open the sync cursor: \(String(cString: strerror(errno)))") }
        if !existed {
            // The new file's directory entry is made durable before anything is recorded in it.
            let dirFD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
        }
        // Every stored property is set by now, so a throw from here on runs deinit, which
        // closes `fd` (closing it here too would close whatever reused its number meanwhile).
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { throw SyncError.busy(path: path) }
        try load()
    }

    deinit { close(fd) }

    private func load() throws {
        var st = stat()
        fstat(fd, &st)
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, size - got, off_t(got)) }
            if n <= 0 { throw SyncError.local(path: path, "cannot read the sync cursor: \(String(cString: strerror(errno)))") }
            got += n
        }
        var lineStart = 0
        var lineNumber = 0
        for i in 0..<size where bytes[i] == UInt8(ascii: "\n") {
            lineNumber += 1
            defer { lineStart = i + 1 }
            guard let value = try? JSONValue.parse(bytes[lineStart..<i]), let op = value["op"]?.stringValue,
                let key = value["key"]?.stringValue
            else {
                warnings.append("\(path):\(lineNumber): a damaged line in the sync cursor, skipped (the file it named is checked against the bucket again)")
                continue
            }
            switch op {
            case "uploaded":
                guard let rel = value["path"]?.stringValue, let size = value["size"]?.intValue, let mtime = value["mtime_ns"]?.intValue,
                    let sha = value["sha256"]?.stringValue, let etag = value["etag"]?.stringValue
                else {
                    warnings.append("\(path):\(lineNumber): an `uploaded` line lacks a member, skipped (the file is checked against the bucket again)")
                    continue
                }
                uploaded[rel] = Uploaded(key: key, size: size, mtimeNanoseconds: mtime, sha256: sha, etag: etag)
                openMultipart[key] = nil
            case "multipart":
                openMultipart[key] = value["upload_id"]?.stringValue
            case "aborted":
                openMultipart[key] = nil
            default:
                continue  // a newer version's line: ignored
            }
        }
        if lineStart < size {
            // A torn last line: the writer died mid-line. Cut it off so the next line starts clean.
            if ftruncate(fd, off_t(lineStart)) != 0 || fsync(fd) != 0 {
                throw SyncError.local(path: path, "cannot cut off a torn last line: \(String(cString: strerror(errno)))")
            }
        }
    }

    func recordUploaded(relativePath: String, _ u: Uploaded) throws {
        let line = "{\"op\":\"uploaded\",\"path\":\(JSONText.quoted(relativePath)),\"key\":\(JSONText.quoted(u.key)),"
            + "\"size\":\(u.size),\"mtime_ns\":\(u.mtimeNanoseconds),\"sha256\":\"\(u.sha256)\",\"etag\":\(JSONText.quoted(u.etag)),"
            + "\"at\":\"\(Self.now())\"}\n"
        try lock.withLock {
            try append(line)
            uploaded[relativePath] = u
            openMultipart[u.key] = nil
        }
    }

    func recordMultipartStarted(key: String, uploadID: String) throws {
        try lock.withLock {
            try append("{\"op\":\"multipart\",\"key\":\(JSONText.quoted(key)),\"upload_id\":\(JSONText.quoted(uploadID)),\"at\":\"\(Self.now())\"}\n")
            openMultipart[key] = uploadID
        }
    }

    func recordAborted(key: String, uploadID: String) throws {
        try lock.withLock {
            try append("{\"op\":\"aborted\",\"key\":\(JSONText.quoted(key)),\"upload_id\":\(JSONText.quoted(uploadID)),\"at\":\"\(Self.now())\"}\n")
            openMultipart[key] = nil
        }
    }

    func lastUpload(of relativePath: String) -> Uploaded? { lock.withLock { uploaded[relativePath] } }

    private func append(_ line: String) throws {
        let bytes = Array(line.utf8)
        let total = bytes.count
        let end = lseek(fd, 0, SEEK_END)
        var done = 0
        while done < total {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, total - done, end + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SyncError.local(path: path, "cannot write the sync cursor: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        if fdatasync(fd) != 0 { throw SyncError.local(path: path, "cannot flush the sync cursor: \(String(cString: strerror(errno)))") }
    }

    /// UTC time of a line, from the same clock the event log uses.
    static func now() -> String { Timestamp.now().description }
}
