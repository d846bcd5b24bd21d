import Foundation
import LitmusParquet

/// Writes a run's Parquet file from its events: one file per run at
/// `<data>/runs/date=YYYY-MM-DD/station=<id>/<YYYYMMDDTHHMMSSZ>_<run8>_<serial>.parquet`
/// (Hive-style partitions, so DuckDB, Spark and pandas read a whole fleet at once).
///
/// The file is written to a temporary name, fsynced and renamed into place: it is complete or
/// absent. A run is never written twice: when its file exists, materializing it again is a
/// no-op that returns the existing path.
public enum RunMaterializer {
    /// What materializing a run produced.
    public struct Result: Sendable {
        public var path: String
        public var rows: Int
        /// False when the file already existed (nothing was written).
        public var written: Bool
    }

    /// The file of a run, relative to the data directory.
    public static func relativePath(for run: RunAccumulator) -> String {
        let start = run.startedAt ?? run.firstEventAt ?? Timestamp(microseconds: 0)
        let station = run.started?.stationID ?? run.session?.stationID ?? "unknown"
        var name = "\(start.compact)_\(run.runID.uuidString.lowercased().prefix(8))"
        let serial = sanitize(run.started?.dutSerial ?? "")
        if !serial.isEmpty { name += "_\(serial)" }
        return "runs/date=\(start.date)/station=\(sanitize(station).isEmpty ? "unknown" : sanitize(station))/\(name).parquet"
    }

    /// Makes a user-provided string safe as one path component: letters, digits, `-`, `_`
    /// and `.` are kept (not a leading `.`), anything else becomes `_`, at most 64 bytes.
    public static func sanitize(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let keep = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x2D
                || v == 0x5F || (v == 0x2E && !out.isEmpty)
            out.append(keep ? Character(scalar) : "_")
            if out.utf8.count >= 64 { break }
        }
        return out
    }

    /// Writes the run's file unless it exists.
    ///
    /// - Throws: ``ParquetError`` or a file-system error naming the path.
    @discardableResult
    public static func materialize(_ run: RunAccumulator, dataDir: String) throws -> Result {
        let path = (dataDir as NSString).appendingPathComponent(relativePath(for: run))
        if FileManager.default.fileExists(atPath: path) {
            return Result(path: path, rows: 0, written: false)
        }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let table = RunTable(run: run)
        do {
            try write(table, to: path)
        } catch let error as ParquetError where error.kind == .fileExists {
            // Another materializer (the runs daemon, or this process) finished first.
            return Result(path: path, rows: table.rowCount, written: false)
        }
        let rows = table.rowCount
        // Freeing a large table takes a while; the caller need not wait for it. (Only the
        // closure touches the table from here on.)
        let release = UncheckedSendable(table)
        DispatchQueue.global(qos: .utility).async { withExtendedLifetime(release) {} }
        return Result(path: path, rows: rows, written: true)
    }

    /// Writes a table as a Parquet file (atomically).
    public static func write(_ table: RunTable, to path: String) throws {
        let schema = ParquetSchema(
            columns: table.columns.map { column in
                ParquetColumn(name: column.name, type: parquetType(column.type), nullable: column.name != "record_type")
            })
        var options = ParquetWriterOptions()
        options.keyValueMetadata = Dictionary(table.metadata, uniquingKeysWith: { _, last in last })
        // The run is written while its producer waits for it (`run.ended`): use every core.
        options.threads = writerThreads
        let writer = try ParquetWriter(path: path, schema: schema, options: options)
        let data: [ParquetColumnData] = table.columns.map { column in
            var validity: [Bool]? { column.flags.allSatisfy { $0 } ? nil : column.flags }
            switch column.type {
            case .string: return .dictionaryString(column.stringValues, indices: column.stringIndices)
            case .double: return .double(column.doubles, validity: validity)
            case .int64: return .int64(column.ints, validity: validity)
            case .bool: return .boolean(column.bools, validity: validity)
            case .timestamp: return .timestampMicros(column.ints, validity: validity)
            }
        }
        try writer.write(rowCount: table.rowCount, columns: data)
        try writer.close()
    }

    /// Threads that encode a run's file: the cores this process may use (read once: finding
    /// out reads cgroup files), at most 8.
    private static let writerThreads = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 8)

    static func parquetType(_ type: RunTable.ColumnType) -> ParquetType {
        switch type {
        case .string: .string
        case .double: .double
        case .int64: .int64
        case .bool: .boolean
        case .timestamp: .timestampMicrosUTC
        }
    }
}
