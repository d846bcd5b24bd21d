import Foundation

/// The run files of a data folder or of any Hive-partitioned lake of run files
/// (`runs/date=YYYY-MM-DD/station=<id>/*.parquet`, or any `key=value` folders).
///
/// ```swift
/// let lake = try RunLake(root: "data")          // data/runs/... is used when it exists
/// for file in lake.files { print(file.path, file.partitions["station"] ?? "-") }
/// ```
///
/// Partial files (`*.partial-<pid>`, a writer still at work or killed) and hidden files are
/// left out.
public struct RunLake: Sendable {
    /// One run file and the partition values of the folders above it.
    public struct File: Sendable, Hashable {
        public var path: String
        /// `key=value` folders between the lake's root and the file (`date`, `station`).
        public var partitions: [String: String]
    }

    /// The folder searched.
    public let root: String
    /// The run files, sorted by path.
    public let files: [File]

    /// Finds the run files under `root`: its `runs/` folder when there is one (a Litmus data
    /// folder), else `root` itself (a lake, or a folder of run files). A single `.parquet`
    /// file is a lake of one.
    ///
    /// - Throws: ``AnalyticsError`` when `root` does not exist.
    public init(root: String) throws(AnalyticsError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw AnalyticsError("\(root): no such file or folder", fix: "give a data folder (with runs/), a lake of run files, or a .parquet file")
        }
        if !isDirectory.boolValue {
            self.root = root
            files = [File(path: root, partitions: [:])]
            return
        }
        var base = root
        var runsIsDirectory: ObjCBool = false
        let runs = (root as NSString).appendingPathComponent("runs")
        if FileManager.default.fileExists(atPath: runs, isDirectory: &runsIsDirectory), runsIsDirectory.boolValue {
            base = runs
        }
        self.root = base
        var found: [File] = []
        Self.walk(base, partitions: [:], depth: 0, into: &found)
        files = found.sorted { $0.path < $1.path }
    }

    private static func walk(_ directory: String, partitions: [String: String], depth: Int, into found: inout [File]) {
        guard depth < 16, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                var inner = partitions
                if let eq = name.firstIndex(of: "=") {
                    let key = String(name[..<eq])
                    let value = String(name[name.index(after: eq)...])
                    inner[key] = value.removingPercentEncoding ?? value
                }
                walk(path, partitions: inner, depth: depth + 1, into: &found)
            } else if name.hasSuffix(".parquet") {
                found.append(File(path: path, partitions: partitions))
            }
        }
    }
}

/// An analytics error: what is wrong and what to do.
public struct AnalyticsError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public var fix: String

    public init(_ message: String, fix: String = "") {
        self.message = message
        self.fix = fix
    }

    public var description: String { fix.isEmpty ? message : "\(message). Fix: \(fix)" }
}
