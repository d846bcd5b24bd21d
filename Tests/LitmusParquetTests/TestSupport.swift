import Foundation
import LitmusParquet
import Testing

/// A fresh directory under the system temporary directory, removed on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("litmus-parquet-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String {
        path + "/" + name
    }

    /// The names of the files in the directory, sorted.
    var contents: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}

/// One `write` call's worth of data.
struct Batch {
    var rowCount: Int
    var columns: [ParquetColumnData]
}

/// Writes `batches` to a new file at `path` and closes it.
func writeParquet(
    _ path: String, schema: ParquetSchema, options: ParquetWriterOptions = .init(), batches: [Batch]
) throws {
    let writer = try ParquetWriter(path: path, schema: schema, options: options)
    for batch in batches {
        try writer.write(rowCount: batch.rowCount, columns: batch.columns)
    }
    try writer.close()
}

/// The expected textual values of every column (see ``PythonReaders``), batches concatenated.
func expectedColumns(_ schema: ParquetSchema, _ batches: [Batch]) -> [[String?]] {
    schema.columns.indices.map { column in
        batches.flatMap { PythonReaders.expected($0.columns[column]) }
    }
}

/// Checks that pyarrow, DuckDB and polars all read exactly the written values.
func expectSameValues(
    _ readBack: PythonReaders.ReadBack, _ schema: ParquetSchema, _ batches: [Batch],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let expected = expectedColumns(schema, batches)
    let names = schema.columns.map(\.name)
    let rows = batches.reduce(0) { $0 + $1.rowCount }
    for (reader, table) in [("pyarrow", readBack.pyarrow), ("duckdb", readBack.duckdb), ("polars", readBack.polars)] {
        #expect(table.numRows == rows, "\(reader) row count", sourceLocation: sourceLocation)
        #expect(table.names == names, "\(reader) column names", sourceLocation: sourceLocation)
        #expect(table.columns.count == names.count, "\(reader) column count", sourceLocation: sourceLocation)
        for (index, name) in names.enumerated() where index < table.columns.count {
            let got = table.columns[index]
            if got != expected[index] {
                let firstDifference = zip(got, expected[index]).enumerated().first { $0.element.0 != $0.element.1 }
                let detail = firstDifference.map { "row \($0.offset): got \($0.element.0 ?? "null"), expected \($0.element.1 ?? "null")" }
                    ?? "got \(got.count) values, expected \(expected[index].count)"
                Issue.record("\(reader) read column \(name) differently: \(detail)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// A deterministic pseudo-random generator (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
