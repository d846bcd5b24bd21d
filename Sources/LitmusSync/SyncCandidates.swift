#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Litmus

/// A file of the data directory that is finished and can be uploaded.
struct SyncCandidate: Sendable {
    /// Path inside the data directory (`runs/date=…/station=…/x.parquet`): also the key's tail.
    var relativePath: String
    var size: Int64
    var mtimeNanoseconds: Int64
}

/// Finds what is finished in a data directory:
/// - run files `runs/date=*/station=*/*.parquet` (written whole by a rename; partial files
///   `*.partial-<pid>` are skipped);
/// - event-log files `events/date=*/session=*/*.jsonl` whose writer closed them (its `flock`
///   is free: a closed file never changes again);
/// - channel data `channels/date=*/session=*/<channel>/*` of sessions with no live writer
///   (segments are appended to while the session writes).
/// Anything else (locks, the sync cursor, files of other tools) is left alone.
enum SyncCandidates {
    static func scan(dataDir: String) throws -> [SyncCandidate] {
        var out: [SyncCandidate] = []
        var liveSessions = Set<String>()
        // Event logs first: they tell which sessions are still being written.
        for (datePart, sessionPart) in try partitions(dataDir + "/events") {
            let dir = "\(dataDir)/events/\(datePart)/\(sessionPart)"
            for name in try list(dir) where name.hasSuffix(".jsonl") {
                let path = dir + "/" + name
                if EventReader.isWriterAlive(path: path) {
                    liveSessions.insert(sessionPart)
                    continue
                }
                if let c = candidate(dataDir: dataDir, relative: "events/\(datePart)/\(sessionPart)/\(name)") { out.append(c) }
            }
        }
        for (datePart, stationPart) in try partitions(dataDir + "/runs") {
            let dir = "\(dataDir)/runs/\(datePart)/\(stationPart)"
            for name in try list(dir) where name.hasSuffix(".parquet") && !name.hasPrefix(".") {
                if let c = candidate(dataDir: dataDir, relative: "runs/\(datePart)/\(stationPart)/\(name)") { out.append(c) }
            }
        }
        for (datePart, sessionPart) in try partitions(dataDir + "/channels") where !liveSessions.contains(sessionPart) {
            let dir = "\(dataDir)/channels/\(datePart)/\(sessionPart)"
            for channel in try list(dir) where !channel.hasPrefix(".") {
                for name in try list(dir + "/" + channel) where !name.hasPrefix(".") && !name.contains(".partial-") {
                    if let c = candidate(dataDir: dataDir, relative: "channels/\(datePart)/\(sessionPart)/\(channel)/\(name)") { out.append(c) }
                }
            }
        }
        return out.sorted { $0.relativePath < $1.relativePath }
    }

    /// `(date=…, x=…)` folder pairs under `root` (none when `root` does not exist).
    static func partitions(_ root: String) throws -> [(String, String)] {
        var out: [(String, String)] = []
        for date in try list(root) where date.hasPrefix("date=") {
            for inner in try list(root + "/" + date) where inner.contains("=") && !inner.hasPrefix(".") {
                out.append((date, inner))
            }
        }
        return out
    }

    static func list(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw SyncError.local(path: dir, "cannot list: \(String(cString: strerror(errno)))")
        }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// A regular file (not a link) with its size and modification time.
    static func candidate(dataDir: String, relative: String) -> SyncCandidate? {
        var st = stat()
        guard lstat(dataDir + "/" + relative, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        return SyncCandidate(relativePath: relative, size: Int64(st.st_size), mtimeNanoseconds: mtime)
    }
}
