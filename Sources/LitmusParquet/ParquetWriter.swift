import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one Parquet file (format 2.x, readable by Arrow/pyarrow, DuckDB and polars) from
/// columnar batches.
///
/// ```swift
/// let schema = ParquetSchema(columns: [
///     ParquetColumn(name: "step", type: .string),
///     ParquetColumn(name: "value", type: .double, nullable: true),
/// ])
/// let writer = try ParquetWriter(path: "run.parquet", schema: schema)
/// try writer.write(rowCount: 2, columns: [
///     .string(["init", "measure"]),
///     .double([0, 1.5], validity: [false, true]),   // row 0 is null
/// ])
/// try writer.close()
/// ```
///
/// Rows accumulate into row groups of ``ParquetWriterOptions/rowGroupRows`` rows; each full
/// row group is encoded, compressed and written as soon as it is complete, and only the
/// current one is held in memory (as compressed pages).
///
/// Durability: data goes to `<path>.partial-<pid>` in the same directory. ``close()`` writes
/// the footer, fsyncs the file, renames it to `path` and fsyncs the directory. If any call
/// throws, or the writer is released without `close()`, the partial file is removed and `path`
/// is left untouched. An existing file at `path` is never replaced unless
/// ``ParquetWriterOptions/overwrite`` is set.
///
/// Not thread-safe: use a writer from one thread at a time.
public final class ParquetWriter {
    /// The target path.
    public let path: String
    /// The schema every batch must match.
    public let schema: ParquetSchema
    /// The options the writer was created with.
    public let options: ParquetWriterOptions
    /// Rows accepted so far.
    public private(set) var rowsWritten = 0

    private enum State {
        case open
        case closed
        case failed
    }

    private var state = State.open
    private let file: PartialFile
    private let columnWriters: [ColumnChunkWriter]
    /// One set of scratch buffers and compressor per thread.
    private let scratches: [PageScratch]
    private var rowGroups: [RowGroupMetadata] = []
    private var rowsInGroup = 0

    /// Removes the partial files (`<name>.partial-<pid>`) in `directory` that a writer killed
    /// mid-write left: those whose lock no process holds (a live writer holds its file's
    /// `flock` until it closes), and whose pid is not a live process or that were not
    /// modified for `minimumAge` seconds (so a reused pid does not keep them). Returns the
    /// paths removed.
    @discardableResult
    public static func removeStalePartialFiles(inDirectory directory: String, minimumAge: Double = 10) -> [String] {
        PartialFile.removeStale(inDirectory: directory, minimumAge: minimumAge)
    }

    /// Parquet files start and end with these 4 bytes.
    static let magic: [UInt8] = Array("PAR1".utf8)

    /// Creates the partial file and writes the file header.
    ///
    /// - Throws: ``ParquetError`` with kind `.invalidConfiguration` for an unwritable schema or
    ///   invalid options, `.fileExists` if `path` exists and `options.overwrite` is false, and
    ///   `.io` if the partial file cannot be created.
    public init(path: String, schema: ParquetSchema, options: ParquetWriterOptions = .init()) throws {
        if let problem = schema.problem() ?? options.problem() {
            throw ParquetError(.invalidConfiguration, problem, path: path)
        }
        self.path = path
        self.schema = schema
        self.options = options
        file = try PartialFile(targetPath: path, overwrite: options.overwrite)
        columnWriters = schema.columns.map { ColumnChunkWriter(column: $0, options: options) }
        scratches = (0..<min(options.threads, schema.columns.count)).map { _ in PageScratch(options.compression) }
        do {
            try file.write(Self.magic)
        } catch {
            file.discard()
            throw error
        }
    }

    deinit {
        if state == .open { file.discard() }
    }

    /// Appends `rowCount` rows, given as one ``ParquetColumnData`` per schema column, in schema
    /// order. Full row groups are written out; a call may fill several.
    ///
    /// Every array must have exactly `rowCount` elements. The whole batch is validated before
    /// anything is encoded.
    ///
    /// - Throws: ``ParquetError``: `.columnCountMismatch`, `.typeMismatch`, `.lengthMismatch`,
    ///   `.nullInRequiredColumn` (naming the column and the row, counted from the start of the
    ///   file), `.invalidArgument`, `.io`, `.compression`, or `.writerClosed` after `close()`
    ///   or an earlier error. Any error aborts the writer and removes the partial file.
    public func write(rowCount: Int, columns: [ParquetColumnData]) throws {
        try checkOpen()
        let firstRow = rowsWritten
        do {
            try validate(rowCount: rowCount, columns: columns)
            var start = 0
            while start < rowCount {
                let take = min(rowCount - start, options.rowGroupRows - rowsInGroup)
                let range = start..<(start + take)
                let path = path
                try forEachColumn(parallel: take >= Self.minimumParallelRows) { index, writer, scratch in
                    do {
                        try writer.append(columns[index], range: range, scratch: scratch)
                    } catch let failure as ValueFailure {
                        throw ParquetError(
                            .invalidArgument, failure.message, path: path, column: writer.column.name,
                            row: firstRow + failure.row)
                    }
                }
                rowsInGroup += take
                start += take
                if rowsInGroup == options.rowGroupRows { try flushRowGroup() }
            }
            rowsWritten += rowCount
        } catch {
            abort()
            throw error
        }
    }

    /// Writes the last row group and the footer, then publishes the file at ``path``
    /// (fsync, rename, fsync of the directory). A file with no rows is valid.
    ///
    /// - Throws: ``ParquetError``; on error the partial file is removed (unless the file was
    ///   already in place and only the directory fsync failed, which the message says).
    public func close() throws {
        try checkOpen()
        do {
            if rowsInGroup > 0 { try flushRowGroup() }
            let footer = ParquetMetadataEncoder.fileMetaData(
                schema: schema, numRows: Int64(rowsWritten), rowGroups: rowGroups,
                keyValueMetadata: options.keyValueMetadata, createdBy: options.createdBy)
            guard footer.count <= Int(UInt32.max) else {
                throw ParquetError(.invalidArgument, "the footer is too large (\(footer.count) bytes)", path: path)
            }
            try file.write(footer)
            var length: [UInt8] = []
            for shift in stride(from: 0, to: 32, by: 8) { length.append(UInt8(truncatingIfNeeded: footer.count >> shift)) }
            try file.write(length + Self.magic)
            state = .closed
            try file.commit(overwrite: options.overwrite)
        } catch {
            abort()
            throw error
        }
    }

    /// Abandons the file: removes the partial file and leaves ``path`` untouched. Later calls
    /// of `write` and `close` throw `.writerClosed`. Does nothing after `close()`.
    public func discard() {
        if state == .open { abort() }
    }

    // MARK: Internals

    private func abort() {
        if state != .failed {
            file.discard()
            state = .failed
        }
    }

    private func checkOpen() throws(ParquetError) {
        switch state {
        case .open: return
        case .closed: throw ParquetError(.writerClosed, "the writer is closed", path: path)
        case .failed: throw ParquetError(.writerClosed, "the writer was aborted by an earlier error or discard()", path: path)
        }
    }

    private func validate(rowCount: Int, columns: [ParquetColumnData]) throws(ParquetError) {
        if rowCount < 0 {
            throw ParquetError(.invalidArgument, "rowCount must not be negative, got \(rowCount)", path: path)
        }
        if columns.count != schema.columns.count {
            throw ParquetError(
                .columnCountMismatch,
                "expected \(schema.columns.count) columns (one per schema column), got \(columns.count)", path: path)
        }
        for (column, data) in zip(schema.columns, columns) {
            if data.values.type != column.type {
                throw ParquetError(
                    .typeMismatch, "expected \(column.type) values, got \(data.values.type) values",
                    path: path, column: column.name)
            }
            if data.values.count != rowCount {
                throw ParquetError(
                    .lengthMismatch, "\(data.values.count) values for \(rowCount) rows",
                    path: path, column: column.name)
            }
            if case .dictionaryString(let values, let indices) = data.values {
                if data.validity != nil {
                    throw ParquetError(
                        .invalidArgument, "dictionary-form strings mark nulls with index -1: pass no validity array",
                        path: path, column: column.name)
                }
                if let row = Self.firstInvalidIndex(indices, valueCount: values.count) {
                    throw ParquetError(
                        .invalidArgument, "index \(indices[row]) is outside -1..<\(values.count) (the values given)",
                        path: path, column: column.name, row: rowsWritten + row)
                }
                if !column.nullable, let row = indices.firstIndex(of: -1) {
                    throw ParquetError(
                        .nullInRequiredColumn, "null in a non-nullable column",
                        path: path, column: column.name, row: rowsWritten + row)
                }
                continue
            }
            guard let validity = data.validity else { continue }
            if validity.count != rowCount {
                throw ParquetError(
                    .lengthMismatch, "\(validity.count) validity flags for \(rowCount) rows",
                    path: path, column: column.name)
            }
            if !column.nullable, let row = validity.firstIndex(of: false) {
                throw ParquetError(
                    .nullInRequiredColumn, "null in a non-nullable column",
                    path: path, column: column.name, row: rowsWritten + row)
            }
        }
    }

    /// The first row whose dictionary index is neither -1 nor a valid index into `valueCount`
    /// values.
    private static func firstInvalidIndex(_ indices: [Int32], valueCount: Int) -> Int? {
        indices.withUnsafeBufferPointer { all in
            // Shifted by one, valid indices are 0...valueCount as unsigned numbers, and anything
            // below -1 is large: one branch-free maximum over all rows says whether one is bad.
            let bound = UInt32(truncatingIfNeeded: valueCount)
            var largest: UInt32 = 0
            for k in all { largest = max(largest, UInt32(bitPattern: k &+ 1)) }
            guard largest > bound else { return nil }
            return all.firstIndex { UInt32(bitPattern: $0 &+ 1) > bound }
        }
    }

    /// Batches smaller than this are encoded on the calling thread only: waking other threads
    /// costs more than they would save.
    static let minimumParallelRows = 2048

    /// Runs `body` for every column, on up to `options.threads` threads when `parallel`, and
    /// rethrows the error of the first failing column (in schema order) as a ``ParquetError``.
    private func forEachColumn(
        parallel: Bool, _ body: @escaping (Int, ColumnChunkWriter, PageScratch) throws -> Void
    ) throws {
        let path = path
        let threads = scratches.count
        if !parallel || threads < 2 {
            for index in columnWriters.indices {
                try Self.run(body, index, columnWriters[index], scratches[0], path: path)
            }
            return
        }
        // Each worker takes the next column until none is left. Columns are independent (own
        // buffers, own dictionary) and each worker has its own scratch, so the workers share
        // only the counter and write only their columns' failure slots.
        let job = ParallelJob(body: body, writers: columnWriters, scratches: scratches)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            while let index = job.nextColumn() {
                do {
                    try Self.run(job.body, index, job.writers[index], job.scratches[thread], path: path)
                } catch {
                    job.failures[index] = error
                }
            }
        }
        for index in columnWriters.indices {
            if let failure = job.failures[index] { throw failure }
        }
    }

    private static func run(
        _ body: (Int, ColumnChunkWriter, PageScratch) throws -> Void, _ index: Int, _ writer: ColumnChunkWriter,
        _ scratch: PageScratch, path: String
    ) throws {
        do {
            try body(index, writer, scratch)
        } catch let failure as CompressionFailure {
            throw ParquetError(.compression, failure.message, path: path, column: writer.column.name)
        }
    }

    private func flushRowGroup() throws {
        let groupStart = file.offset
        // One slot per column, each written by the worker finishing that column.
        let slots = UnsafeMutablePointer<ColumnChunkMetadata?>.allocate(capacity: columnWriters.count)
        slots.initialize(repeating: nil, count: columnWriters.count)
        defer {
            slots.deinitialize(count: columnWriters.count)
            slots.deallocate()
        }
        try forEachColumn(parallel: true) { index, writer, scratch in
            slots[index] = try writer.finishChunk(scratch: scratch)
        }
        let metadata = UnsafeBufferPointer(start: slots, count: columnWriters.count)
        var chunks: [ColumnChunkMetadata] = []
        chunks.reserveCapacity(columnWriters.count)
        // The chunks, one after the other, in as few system calls as the kernel allows.
        var pieces: [ByteBuffer] = []
        pieces.reserveCapacity(2 * columnWriters.count)
        var chunkStart = groupStart
        for (writer, finished) in zip(columnWriters, metadata) {
            guard var chunk = finished else { continue }
            chunk.dataPageOffset += chunkStart
            chunk.dictionaryPageOffset = chunk.dictionaryPageOffset.map { $0 + chunkStart }
            pieces.append(writer.chunkDictionaryPage)
            pieces.append(writer.chunkPages)
            chunkStart += Int64(writer.chunkDictionaryPage.count + writer.chunkPages.count)
            chunks.append(chunk)
        }
        try file.write(pieces)
        for writer in columnWriters { writer.reset() }
        rowGroups.append(
            RowGroupMetadata(columns: chunks, numRows: Int64(rowsInGroup), fileOffset: groupStart, ordinal: rowGroups.count))
        rowsInGroup = 0
    }
}

/// The shared state of one parallel `forEachColumn`: the work, a counter of handed-out
/// columns and one failure slot per column. `@unchecked Sendable` because the workers only
/// read `body`, `writers` and `scratches`, take columns under the mutex, touch only the
/// columns and scratch they hold, and write only their own columns' failure slots, all
/// before `concurrentPerform` returns.
private final class ParallelJob: @unchecked Sendable {
    let body: (Int, ColumnChunkWriter, PageScratch) throws -> Void
    let writers: [ColumnChunkWriter]
    let scratches: [PageScratch]
    let failures: UnsafeMutablePointer<(any Error)?>
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var next = 0

    init(body: @escaping (Int, ColumnChunkWriter, PageScratch) throws -> Void, writers: [ColumnChunkWriter], scratches: [PageScratch]) {
        self.body = body
        self.writers = writers
        self.scratches = scratches
        failures = .allocate(capacity: writers.count)
        failures.initialize(repeating: nil, count: writers.count)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        failures.deinitialize(count: writers.count)
        failures.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The next column to encode, or nil when all are taken.
    func nextColumn() -> Int? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard next < writers.count else { return nil }
        next += 1
        return next - 1
    }
}
