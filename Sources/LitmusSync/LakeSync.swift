#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

/// Store-and-forward of one data directory to S3-compatible object storage: the core of
/// `litmus sync` and of `litmus runs-daemon --sync-to`.
///
/// Each ``syncOnce()`` uploads the finished files (``SyncCandidates``) that the cursor does not
/// hold yet, each at the deterministic key `<prefix>/<path in the data directory>`, so the
/// bucket keeps the Hive layout and a file is never stored under two names:
/// - files up to `multipartThreshold` in one PutObject with Content-MD5 (the server refuses a
///   body that does not match), larger ones in parts of `partSize`, each with Content-MD5;
/// - the returned ETag is checked against the MD5 computed here (single) or the MD5 of the
///   parts' MD5s (multipart), and every object carries its SHA-256 as `x-amz-meta-sha256`;
/// - only then is the file recorded in the cursor (``SyncJournal``, fsynced).
///
/// After a crash or a kill at any point: a file uploaded but not yet recorded is found by a
/// HeadObject (same size and SHA-256) and recorded without a second upload; multipart uploads
/// left open are aborted (those recorded in the cursor, and those under the prefix for keys of
/// this data directory) before anything else. Nothing local is ever deleted.
public final class LakeSync: @unchecked Sendable {
    public struct Options: Sendable {
        /// Files larger than this go in a multipart upload.
        public var multipartThreshold: Int64 = 16 << 20
        /// Part size of multipart uploads (S3's minimum is 5 MiB, except the last part).
        public var partSize: Int64 = 8 << 20
        /// Files uploaded at once.
        public var concurrency = 8
        public init() {}
    }

    /// What one pass did.
    public struct Report: Sendable, CustomStringConvertible {
        public var uploaded: [String] = []
        public var bytesUploaded: Int64 = 0
        /// Found in the bucket whole (uploaded before a crash, not yet in the cursor): recorded, not sent again.
        public var foundInBucket: [String] = []
        /// Already in the cursor and unchanged.
        public var upToDate = 0
        /// Multipart uploads left open by an earlier, interrupted sync, aborted.
        public var abortedMultipart = 0
        public var retries = 0
        public var failures: [String] = []
        public var warnings: [String] = []
        public var seconds = 0.0

        public var succeeded: Bool { failures.isEmpty }

        public var description: String {
            let mib = Double(bytesUploaded) / 1_048_576
            return "\(uploaded.count) file(s) uploaded (\(String(format: "%.1f", mib)) MiB in \(String(format: "%.2f", seconds)) s), "
                + "\(upToDate) already synced"
                + (foundInBucket.isEmpty ? "" : ", \(foundInBucket.count) found in the bucket and recorded")
                + (abortedMultipart == 0 ? "" : ", \(abortedMultipart) interrupted multipart upload(s) aborted")
                + (retries == 0 ? "" : ", \(retries) retried request(s)")
                + (failures.isEmpty ? "" : ", \(failures.count) failure(s)")
        }
    }

    public let dataDir: String
    public let destination: S3Destination
    let client: S3Client
    let options: Options
    let journal: SyncJournal
    private let retryCount = Counter()

    /// Opens (or creates) the cursor for this destination in `<dataDir>/sync/` and takes its lock.
    public init(dataDir: String, destination: S3Destination, client: S3Client, options: Options = Options()) throws {
        guard options.partSize >= 5 << 20 || options.partSize >= options.multipartThreshold else {
            throw SyncError.badDestination("--part-size", "parts must be at least 5 MiB (S3's minimum). Fix: raise --part-size")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDir), isDir.boolValue else {
            throw SyncError.local(path: dataDir, "no such data directory. Fix: pass --data-dir (or set LITMUS_DATA_DIR)")
        }
        self.dataDir = dataDir
        self.destination = destination
        self.client = client
        self.options = options
        self.journal = try SyncJournal(dataDir: dataDir, destinationID: Self.destinationID(destination))
        let counter = retryCount
        client.onRetry = { _, _, _, _ in counter.add(1) }
    }

    /// The cursor file's name for a destination: readable, and unique per endpoint, bucket and prefix.
    static func destinationID(_ d: S3Destination) -> String {
        let readable = "\(d.endpoint.host ?? "s3")-\(d.bucket)-\(d.prefix)".map { c -> Character in
            c.isLetter || c.isNumber || c == "-" || c == "." || c == "_" ? c : "_"
        }
        let digest = SigV4Signer.sha256Hex(Data("\(d.endpoint.absoluteString)|\(d.bucket)|\(d.prefix)".utf8)).prefix(8)
        return String(String(readable).prefix(80)) + "-" + digest
    }

    /// The cursor's path (for messages and tests).
    public var cursorPath: String { journal.path }

    /// One pass: scan, upload what is missing, record it.
    public func syncOnce() throws -> Report {
        let started = Date()
        var report = Report()
        report.warnings = journal.warnings
        let before = retryCount.value
        try client.headBucket()
        let candidates = try SyncCandidates.scan(dataDir: dataDir)
        // Every pass: one syncer per destination holds the cursor, so any upload still open for
        // one of our keys was left by an interrupted pass (or by a retried create whose first
        // reply was lost).
        report.abortedMultipart = try abortInterrupted(candidates: candidates)
        var todo: [SyncCandidate] = []
        for c in candidates {
            if let last = journal.lastUpload(of: c.relativePath), last.size == c.size, last.mtimeNanoseconds == c.mtimeNanoseconds {
                report.upToDate += 1
            } else {
                todo.append(c)
            }
        }

        let work = todo
        let state = PassState()
        let next = Counter()
        let workers = max(1, min(options.concurrency, work.count))
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                while !state.stopped {
                    let i = next.add(1) - 1
                    guard i < work.count else { return }
                    let c = work[i]
                    do {
                        switch try upload(c) {
                        case .uploaded: state.record { $0.uploaded.append(c.relativePath); $0.bytesUploaded += c.size }
                        case .foundInBucket: state.record { $0.foundInBucket.append(c.relativePath) }
                        case .unchanged: state.record { $0.upToDate += 1 }
                        }
                    } catch let e as SyncError {
                        state.record { $0.failures.append("\(c.relativePath): \(e)") }
                        if case .rejected = e { state.stop() }  // credentials, bucket, policy: the same for every file
                    } catch {
                        state.record { $0.failures.append("\(c.relativePath): \(error)") }
                    }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        let pass = state.report
        report.uploaded = pass.uploaded.sorted()
        report.bytesUploaded = pass.bytesUploaded
        report.foundInBucket = pass.foundInBucket.sorted()
        report.upToDate += pass.upToDate
        report.failures = pass.failures.sorted()
        report.retries = retryCount.value - before
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    enum Outcome { case uploaded, foundInBucket, unchanged }

    /// Uploads one file, verified, then records it.
    func upload(_ c: SyncCandidate) throws -> Outcome {
        let key = destination.key(for: c.relativePath)
        let path = dataDir + "/" + c.relativePath
        let file = try LocalFile(path: path)
        defer { file.close() }
        let sha256 = try file.sha256()
        let previous = journal.lastUpload(of: c.relativePath)
        if let previous, previous.sha256 == sha256, previous.size == c.size {
            // Touched but not changed: nothing to send.
            try journal.recordUploaded(relativePath: c.relativePath, .init(key: key, size: c.size, mtimeNanoseconds: c.mtimeNanoseconds, sha256: sha256, etag: previous.etag))
            return .unchanged
        }
        if previous == nil, let head = try client.headObject(key: key), head.size == c.size, head.metadata["sha256"] == sha256 {
            // Uploaded by an interrupted sync that died before recording it.
            try journal.recordUploaded(relativePath: c.relativePath, .init(key: key, size: c.size, mtimeNanoseconds: c.mtimeNanoseconds, sha256: sha256, etag: head.etag))
            return .foundInBucket
        }
        let metadata = ["sha256": sha256]
        // Asked before a retry: did the last attempt land after all?
        let landed: () throws -> String? = { [client] in
            guard let head = try client.headObject(key: key), head.size == c.size, head.metadata["sha256"] == sha256 else { return nil }
            return head.etag
        }
        let etag: String
        if c.size <= options.multipartThreshold {
            let body = try file.read(offset: 0, count: Int(c.size))
            let md5 = Insecure.MD5.hash(data: body)
            etag = try client.putObject(
                key: key, body: body, md5Base64: Data(md5).base64EncodedString(), sha256: SigV4Signer.sha256Hex(body), metadata: metadata, landed: landed)
            let expected = SigV4Signer.hex(md5)
            if etag != expected && Self.isMD5ETag(etag) {
                throw SyncError.verificationFailed(key: key, "ETag \(etag), MD5 of the file \(expected)")
            }
        } else {
            etag = try multipart(file: file, key: key, size: c.size, metadata: metadata, landed: landed)
        }
        if !Self.isMD5ETag(etag.split(separator: "-").first.map(String.init) ?? "") {
            // An ETag that is not an MD5 (some server-side encryption): check what the server holds.
            guard let head = try client.headObject(key: key), head.size == c.size, head.metadata["sha256"] == sha256 else {
                throw SyncError.verificationFailed(key: key, "the stored object's size or SHA-256 differs from the file")
            }
        }
        try journal.recordUploaded(relativePath: c.relativePath, .init(key: key, size: c.size, mtimeNanoseconds: c.mtimeNanoseconds, sha256: sha256, etag: etag))
        return .uploaded
    }

    private func multipart(file: LocalFile, key: String, size: Int64, metadata: [String: String], landed: @escaping () throws -> String?) throws -> String {
        let uploadID = try client.createMultipartUpload(key: key, metadata: metadata)
        try journal.recordMultipartStarted(key: key, uploadID: uploadID)
        var parts: [(Int, String)] = []
        var md5s: [UInt8] = []
        var offset: Int64 = 0
        var number = 1
        do {
            while offset < size {
                let count = Int(min(options.partSize, size - offset))
                let body = try file.read(offset: offset, count: count)
                let md5 = Insecure.MD5.hash(data: body)
                let etag = try client.uploadPart(
                    key: key, uploadID: uploadID, number: number, body: body, md5Base64: Data(md5).base64EncodedString(),
                    sha256: SigV4Signer.sha256Hex(body))
                let expected = SigV4Signer.hex(md5)
                if etag != expected && Self.isMD5ETag(etag) {
                    throw SyncError.verificationFailed(key: key, "part \(number): ETag \(etag), MD5 of the bytes \(expected)")
                }
                parts.append((number, etag))
                md5s += Array(md5)
                offset += Int64(count)
                number += 1
            }
            let etag: String
            do {
                etag = try client.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts, landed: landed)
            } catch SyncError.rejected(_, _, _, "NoSuchUpload", _) {
                // A retried Complete whose first attempt finished: the upload is gone, the object is there.
                guard let stored = try landed() else { throw SyncError.verificationFailed(key: key, "the multipart upload vanished and no object took its place") }
                etag = stored
            }
            let expected = SigV4Signer.hex(Insecure.MD5.hash(data: md5s)) + "-\(parts.count)"
            if etag != expected && etag.contains("-") {
                throw SyncError.verificationFailed(key: key, "ETag \(etag), expected \(expected) from the parts' MD5s")
            }
            // A CreateMultipartUpload retried after a lost reply leaves the first upload open on
            // the server: give back every other upload of this key now that the object is whole.
            for (k, id) in try client.listMultipartUploads(prefix: key) where k == key && id != uploadID {
                try client.abortMultipartUpload(key: k, uploadID: id)
            }
            return etag
        } catch {
            // Give the parts back; a failure here is retried at the next pass's recovery.
            if (try? client.abortMultipartUpload(key: key, uploadID: uploadID)) != nil {
                try? journal.recordAborted(key: key, uploadID: uploadID)
            }
            throw error
        }
    }

    /// Aborts multipart uploads an interrupted sync left open: those in the cursor, and those
    /// the server lists under the prefix for keys of this data directory (a kill between the
    /// server's reply and the cursor's line). Returns how many.
    private func abortInterrupted(candidates: [SyncCandidate]) throws -> Int {
        var aborted = 0
        for (key, id) in journal.openMultipart {
            try client.abortMultipartUpload(key: key, uploadID: id)
            try journal.recordAborted(key: key, uploadID: id)
            aborted += 1
        }
        let ours = Set(candidates.map { destination.key(for: $0.relativePath) })
        let listPrefix = destination.prefix.isEmpty ? "" : destination.prefix + "/"
        for (key, id) in try client.listMultipartUploads(prefix: listPrefix) where ours.contains(key) {
            try client.abortMultipartUpload(key: key, uploadID: id)
            try journal.recordAborted(key: key, uploadID: id)
            aborted += 1
        }
        return aborted
    }

    static func isMD5ETag(_ s: String) -> Bool {
        s.count == 32 && s.allSatisfy { $0.isHexDigit }
    }
}

/// A file read with pread (no Foundation buffering), closed by the owner.
final class LocalFile {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw SyncError.local(path: path, "cannot open: \(String(cString: strerror(errno)))") }
    }

    func close() { _ = Glibc.close(fd) }

    func read(offset: Int64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw SyncError.local(path: path, n == 0 ? "the file shrank while it was read" : "cannot read: \(String(cString: strerror(errno)))") }
            done += n
        }
        return out
    }

    func sha256() throws -> String {
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SyncError.local(path: path, "cannot read: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
            offset += off_t(n)
        }
        return SigV4Signer.hex(hasher.finalize())
    }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    @discardableResult func add(_ k: Int) -> Int { lock.withLock { n += k; return n } }
    var value: Int { lock.withLock { n } }
}

/// What the workers of one pass found, under a lock.
final class PassState: @unchecked Sendable {
    private let lock = NSLock()
    private var _report = LakeSync.Report()
    private var _stopped = false
    func record(_ body: (inout LakeSync.Report) -> Void) { lock.withLock { body(&_report) } }
    func stop() { lock.withLock { _stopped = true } }
    var stopped: Bool { lock.withLock { _stopped } }
    var report: LakeSync.Report { lock.withLock { _report } }
}
