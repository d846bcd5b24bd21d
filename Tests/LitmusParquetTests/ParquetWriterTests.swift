import Foundation
@testable import LitmusParquet
import Testing

/// ParquetWriter's validation, errors and file handling (no Python needed).
@Suite("ParquetWriter errors and durability")
struct ParquetWriterTests {
    static let schema = ParquetSchema(columns: [
        ParquetColumn(name: "id", type: .int64),
        ParquetColumn(name: "name", type: .string, nullable: true),
        ParquetColumn(name: "value", type: .double, nullable: true),
    ])

    static func goodBatch(_ n: Int = 3) -> [ParquetColumnData] {
        [
            .int64((0..<n).map(Int64.init)),
            .string((0..<n).map { "n\($0)" }, validity: (0..<n).map { $0 != 1 }),
            .double((0..<n).map(Double.init)),
        ]
    }

    /// Runs `body` on a new writer, expects it to throw exactly `expected`, and checks that
    /// the writer is aborted: no partial file, no target file, later calls refused.
    func expectAbort(
        _ expected: String, kind: ParquetError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (ParquetWriter) throws -> Void
    ) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        let writer = try ParquetWriter(path: path, schema: Self.schema)
        try writer.write(rowCount: 3, columns: Self.goodBatch())
        #expect(directory.contents == ["run.parquet.partial-\(getpid())"], sourceLocation: sourceLocation)
        do {
            try body(writer)
            Issue.record("expected an error: \(expected)", sourceLocation: sourceLocation)
        } catch let error as ParquetError {
            #expect(error.description == expected.replacingOccurrences(of: "$PATH", with: path), sourceLocation: sourceLocation)
            #expect(error.kind == kind, sourceLocation: sourceLocation)
        }
        #expect(directory.contents == [], "the partial file is removed", sourceLocation: sourceLocation)
        #expect(throws: ParquetError(.writerClosed, "the writer was aborted by an earlier error or discard()", path: path)) {
            try writer.write(rowCount: 3, columns: Self.goodBatch())
        }
        #expect(throws: ParquetError(.writerClosed, "the writer was aborted by an earlier error or discard()", path: path)) {
            try writer.close()
        }
        #expect(directory.contents == [], sourceLocation: sourceLocation)
    }

    // MARK: Validation of batches

    @Test func nullInRequiredColumn() throws {
        try expectAbort(#"$PATH: column "id", row 5: null in a non-nullable column"#, kind: .nullInRequiredColumn) { writer in
            var batch = Self.goodBatch()
            batch[0].validity = [true, true, false]
            try writer.write(rowCount: 3, columns: batch)
        }
    }

    @Test func allTrueValidityIsAcceptedInRequiredColumn() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("ok.parquet")
        let writer = try ParquetWriter(path: path, schema: Self.schema)
        var batch = Self.goodBatch()
        batch[0].validity = [true, true, true]
        try writer.write(rowCount: 3, columns: batch)
        try writer.close()
        #expect(directory.contents == ["ok.parquet"])
    }

    @Test func wrongType() throws {
        try expectAbort(#"$PATH: column "value": expected double values, got int64 values"#, kind: .typeMismatch) { writer in
            var batch = Self.goodBatch()
            batch[2] = .int64([1, 2, 3])
            try writer.write(rowCount: 3, columns: batch)
        }
    }

    @Test func timestampsAreNotInt64() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("t.parquet")
        let writer = try ParquetWriter(
            path: path, schema: ParquetSchema(columns: [ParquetColumn(name: "at", type: .timestampMicrosUTC)]))
        #expect(throws: ParquetError(.typeMismatch, "expected timestampMicrosUTC values, got int64 values", path: path, column: "at")) {
            try writer.write(rowCount: 1, columns: [.int64([1])])
        }
    }

    @Test func wrongValueCount() throws {
        try expectAbort(#"$PATH: column "name": 2 values for 3 rows"#, kind: .lengthMismatch) { writer in
            var batch = Self.goodBatch()
            batch[1] = .string(["a", "b"])
            try writer.write(rowCount: 3, columns: batch)
        }
    }

    @Test func dictionaryIndexOutOfRange() throws {
        try expectAbort(#"$PATH: column "name", row 5: index 2 is outside -1..<2 (the values given)"#, kind: .invalidArgument) { writer in
            var batch = Self.goodBatch()
            batch[1] = .dictionaryString(["a", "b"], indices: [0, -1, 2])
            try writer.write(rowCount: 3, columns: batch)
        }
        try expectAbort(#"$PATH: column "name", row 3: index -2 is outside -1..<2 (the values given)"#, kind: .invalidArgument) { writer in
            var batch = Self.goodBatch()
            batch[1] = .dictionaryString(["a", "b"], indices: [-2, 0, 1])
            try writer.write(rowCount: 3, columns: batch)
        }
    }

    @Test func dictionaryFormTakesNoValidity() throws {
        try expectAbort(
            #"$PATH: column "name": dictionary-form strings mark nulls with index -1: pass no validity array"#, kind: .invalidArgument
        ) { writer in
            var batch = Self.goodBatch()
            batch[1] = ParquetColumnData(.dictionaryString(values: ["a"], indices: [0, 0, 0]), validity: [true, true, true])
            try writer.write(rowCount: 3, columns: batch)
        }
    }

    @Test func dictionaryNullInRequiredColumn() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("d.parquet")
        let writer = try ParquetWriter(path: path, schema: ParquetSchema(columns: [ParquetColumn(name: "s", type: .string)]))
        #expect(throws: ParquetError(.nullInRequiredColumn, "null in a non-nullable column", path: path, column: "s", row: 1)) {
            try writer.write(rowCount: 3, columns: [.dictionaryString(["a"], indices: [0, -1, 0])])
        }
        #expect(directory.contents == [])
    }

    @Test func wrongValidityCount() throws {
        try expectAbort(#"$PATH: column "value": 4 validity flags for 3 rows"#, kind: .lengthMismatch) { writer in
            var batch = Self.goodBatch()
            batch[2].validity = [true, true, true, true]
            try writer.write(rowCount: 3, columns: batch)
        }
    }

    @Test func wrongColumnCount() throws {
        try expectAbort("$PATH: expected 3 columns (one per schema column), got 2", kind: .columnCountMismatch) { writer in
            try writer.write(rowCount: 3, columns: Array(Self.goodBatch().prefix(2)))
        }
    }

    @Test func negativeRowCount() throws {
        try expectAbort("$PATH: rowCount must not be negative, got -1", kind: .invalidArgument) { writer in
            try writer.write(rowCount: -1, columns: Self.goodBatch())
        }
    }

    @Test func errorDescriptionFormat() {
        #expect(ParquetError(.io, "boom", path: "/x").description == "/x: boom")
        #expect(ParquetError(.io, "boom", path: "/x", column: "c").description == #"/x: column "c": boom"#)
        #expect(ParquetError(.io, "boom", path: "/x", column: "c", row: 3).description == #"/x: column "c", row 3: boom"#)
        #expect(ParquetError(.io, "boom", path: "/x", row: 3).description == "/x: row 3: boom")
    }

    // MARK: Schema and options

    @Test func invalidSchemas() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bad.parquet")
        let cases: [(ParquetSchema, String)] = [
            (ParquetSchema(columns: []), "the schema has no columns"),
            (ParquetSchema(columns: [ParquetColumn(name: "", type: .int64)]), "column 0 has an empty name"),
            (ParquetSchema(columns: [ParquetColumn(name: "a", type: .int64), ParquetColumn(name: "a", type: .double)]),
             #"duplicate column name "a""#),
            (ParquetSchema(columns: [ParquetColumn(name: "n", type: .int64, dictionary: true)]),
             #"column "n": dictionary encoding is only supported for string columns, not int64"#),
        ]
        for (schema, message) in cases {
            #expect(throws: ParquetError(.invalidConfiguration, message, path: path)) {
                _ = try ParquetWriter(path: path, schema: schema)
            }
        }
        // Canonically equivalent but different names are different columns.
        let distinct = ParquetSchema(columns: [ParquetColumn(name: "é", type: .int64), ParquetColumn(name: "e\u{301}", type: .int64)])
        try ParquetWriter(path: path, schema: distinct).discard()
        #expect(directory.contents == [])
    }

    @Test func invalidOptions() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bad.parquet")
        let cases: [(ParquetWriterOptions, String)] = [
            (ParquetWriterOptions(rowGroupRows: 0), "rowGroupRows must be at least 1, not 0"),
            (ParquetWriterOptions(pageSizeBytes: 0), "pageSizeBytes must be at least 1, not 0"),
            (ParquetWriterOptions(dictionaryPageLimitBytes: -1), "dictionaryPageLimitBytes must not be negative, not -1"),
            (ParquetWriterOptions(compression: .zstd(level: 99)), "zstd level 99 is outside -131072...22"),
            (ParquetWriterOptions(threads: 0), "threads must be in 1...256, not 0"),
            (ParquetWriterOptions(rowGroupRows: 1 << 31), "rowGroupRows must be below 2^31, not 2147483648"),
        ]
        for (options, message) in cases {
            #expect(throws: ParquetError(.invalidConfiguration, message, path: path)) {
                _ = try ParquetWriter(path: path, schema: Self.schema, options: options)
            }
        }
        #expect(directory.contents == [])
    }

    @Test func defaults() {
        let options = ParquetWriterOptions()
        #expect(options.rowGroupRows == 131_072)
        #expect(options.pageSizeBytes == 1_048_576)
        #expect(options.dictionaryPageLimitBytes == 1_048_576)
        #expect(options.compression == .zstd(level: 1))
        #expect(options.createdBy == "litmus-swift parquet writer 0.1.0")
        #expect(!options.overwrite)
        #expect(options.threads == 1)
        #expect(options.keyValueMetadata.isEmpty)
        #expect(ParquetColumn(name: "s", type: .string).dictionary)
        #expect(!ParquetColumn(name: "s", type: .string).nullable)
        for type in [ParquetType.int64, .double, .boolean, .timestampMicrosUTC] {
            #expect(!ParquetColumn(name: "x", type: type).dictionary)
        }
    }

    // MARK: Files

    @Test func existingFileIsNotOverwritten() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ParquetError(
            .fileExists, "the file already exists (set ParquetWriterOptions.overwrite to replace it)", path: path)
        ) {
            _ = try ParquetWriter(path: path, schema: Self.schema)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("precious".utf8))
        #expect(directory.contents == ["run.parquet"])
    }

    @Test func fileAppearingDuringTheWriteIsNotOverwritten() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        let writer = try ParquetWriter(path: path, schema: Self.schema)
        try writer.write(rowCount: 3, columns: Self.goodBatch())
        try Data("precious".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ParquetError(
            .fileExists,
            "the file appeared while it was being written (set ParquetWriterOptions.overwrite to replace it)",
            path: path)
        ) {
            try writer.close()
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("precious".utf8))
        #expect(directory.contents == ["run.parquet"])
    }

    @Test func missingDirectory() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("missing/run.parquet")
        #expect(throws: ParquetError(
            .io, "cannot create \(path).partial-\(getpid()): No such file or directory", path: path)
        ) {
            _ = try ParquetWriter(path: path, schema: Self.schema)
        }
    }

    /// A partial file left by a dead process that had this process's pid (pids are reused)
    /// does not stop a new write of the same target.
    @Test func aStalePartialFileWithThisPidIsReplaced() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        try Data("PAR1 torn".utf8).write(to: URL(fileURLWithPath: "\(path).partial-\(getpid())"))
        try writeParquet(path, schema: Self.schema, batches: [Batch(rowCount: 3, columns: Self.goodBatch())])
        #expect(directory.contents == ["run.parquet"])
    }

    /// A writer holds its partial file's lock: the sweep keeps it while it writes, and removes
    /// the files of writers that are gone (dead pid, or a reused pid and no lock for a while).
    @Test func staleSweepRemovesOnlyPartialFilesWithoutAWriter() throws {
        let directory = try TemporaryDirectory()
        let writer = try ParquetWriter(path: directory.file("live.parquet"), schema: Self.schema)
        try writer.write(rowCount: 3, columns: Self.goodBatch())
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = directory.file("dead.parquet.partial-\(gone.processIdentifier)")
        try Data("x".utf8).write(to: URL(fileURLWithPath: dead))
        let fresh = directory.file("fresh.parquet.partial-1")  // a live pid, just written: left for now
        try Data("x".utf8).write(to: URL(fileURLWithPath: fresh))
        let removed = ParquetWriter.removeStalePartialFiles(inDirectory: directory.path)
        #expect(removed == [dead])
        #expect(directory.contents == ["fresh.parquet.partial-1", "live.parquet.partial-\(getpid())"])
        #expect(ParquetWriter.removeStalePartialFiles(inDirectory: directory.path, minimumAge: 0) == [fresh])
        try writer.close()
        #expect(directory.contents == ["live.parquet"])
    }

    @Test func droppedWriterLeavesNoFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        do {
            let writer = try ParquetWriter(path: path, schema: Self.schema)
            try writer.write(rowCount: 3, columns: Self.goodBatch())
            #expect(directory.contents == ["run.parquet.partial-\(getpid())"])
        }
        #expect(directory.contents == [])
    }

    @Test func discardLeavesNoFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        let writer = try ParquetWriter(path: path, schema: Self.schema)
        try writer.write(rowCount: 3, columns: Self.goodBatch())
        writer.discard()
        #expect(directory.contents == [])
        #expect(throws: ParquetError(.writerClosed, "the writer was aborted by an earlier error or discard()", path: path)) {
            try writer.close()
        }
    }

    @Test func closeTwice() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        let writer = try ParquetWriter(path: path, schema: Self.schema)
        try writer.write(rowCount: 3, columns: Self.goodBatch())
        try writer.close()
        #expect(writer.rowsWritten == 3)
        #expect(throws: ParquetError(.writerClosed, "the writer is closed", path: path)) { try writer.close() }
        #expect(throws: ParquetError(.writerClosed, "the writer is closed", path: path)) {
            try writer.write(rowCount: 3, columns: Self.goodBatch())
        }
        writer.discard()  // no effect once closed
        #expect(directory.contents == ["run.parquet"])
    }

    @Test func fileFraming() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        try writeParquet(path, schema: Self.schema, batches: [Batch(rowCount: 3, columns: Self.goodBatch())])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.prefix(4) == Array("PAR1".utf8)[...])
        #expect(bytes.suffix(4) == Array("PAR1".utf8)[...])
        let footerLength = bytes[bytes.count - 8..<bytes.count - 4].reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(footerLength > 0 && footerLength < bytes.count - 12)
        // FileMetaData starts with field 1 (version, i32 = 2): header 0x15, zigzag(2) = 4.
        #expect(bytes[bytes.count - 8 - footerLength] == 0x15)
        #expect(bytes[bytes.count - 8 - footerLength + 1] == 0x04)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o600 } == 0o600)
    }

    @Test func partialFileDirectory() {
        #expect(PartialFile.directory(of: "run.parquet") == ".")
        #expect(PartialFile.directory(of: "/run.parquet") == "/")
        #expect(PartialFile.directory(of: "/data/runs/run.parquet") == "/data/runs")
        #expect(PartialFile.directory(of: "runs/ü/run.parquet") == "runs/ü")
    }
}
