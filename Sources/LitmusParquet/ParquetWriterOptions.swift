import CZstd

/// How data and dictionary pages are compressed.
public enum ParquetCompression: Sendable, Hashable {
    /// No compression (codec `UNCOMPRESSED`).
    case uncompressed
    /// Zstandard at the given level (codec `ZSTD`); each page is one zstd frame.
    case zstd(level: Int32)
}

/// Tuning and metadata for a ``ParquetWriter``.
public struct ParquetWriterOptions: Sendable {
    /// The version of this writer, in ``defaultCreatedBy``.
    public static let writerVersion = "0.1.0"
    /// The default `created_by` string of the footer.
    public static let defaultCreatedBy = "litmus-swift parquet writer \(writerVersion)"

    /// Rows per row group (the last row group of a file may be shorter). Default 131,072.
    ///
    /// A row group is buffered in memory (as compressed pages) until it is complete, and it is
    /// the unit readers parallelize over and skip with statistics. 128 Ki rows keeps the buffer
    /// at a few MiB for a 30-column run table, gives DuckDB and polars several row groups to
    /// read in parallel from a million-row run (DuckDB itself writes 122,880-row groups), and
    /// is still large enough for dictionaries and zstd to work well and for the footer to stay
    /// small (one row group costs ~100 bytes of metadata per column).
    public var rowGroupRows: Int
    /// Target uncompressed size of a data page in bytes (levels plus values). Default 1 MiB,
    /// the default of parquet-mr and Arrow: large pages compress better; readers needing
    /// finer granularity use row groups.
    public var pageSizeBytes: Int
    /// Largest PLAIN-encoded dictionary of a column chunk, in bytes (4 bytes per entry plus its
    /// UTF-8). When a new distinct value would grow the dictionary past it, the chunk falls
    /// back to PLAIN data pages for the rest of the row group. Default 1 MiB.
    public var dictionaryPageLimitBytes: Int
    /// Page compression. Default `.zstd(level: 1)`: level 1 is the fastest standard level
    /// and already shrinks typical run tables several-fold; higher levels cost much more CPU
    /// for a few percent.
    public var compression: ParquetCompression
    /// Key/value metadata of the footer, written sorted by key (byte-wise UTF-8 order) so files
    /// are reproducible.
    public var keyValueMetadata: [String: String]
    /// The footer's `created_by` string.
    public var createdBy: String
    /// Threads that encode and compress columns, the calling thread included. Default 1.
    ///
    /// With more than one, each ``ParquetWriter/write(rowCount:columns:)`` call (and each row
    /// group's completion) spreads the columns over that many threads and returns when all are
    /// done; the file is the same. Worth it when the writer runs alone: on 2 cores, `threads: 2`
    /// roughly halves the time spent in zstd. The default leaves the other cores to the rest of
    /// the process (instrument I/O, the producer of the batches).
    public var threads: Int
    /// Whether ``ParquetWriter/close()`` may replace an existing file at the target path. When
    /// `false` (the default), ``ParquetWriter/init(path:schema:options:)`` fails if the path
    /// exists, and so does `close()` if it appeared meanwhile.
    public var overwrite: Bool

    /// Creates options; every parameter has the documented default.
    public init(
        rowGroupRows: Int = 128 * 1024,
        pageSizeBytes: Int = 1 << 20,
        dictionaryPageLimitBytes: Int = 1 << 20,
        compression: ParquetCompression = .zstd(level: 1),
        keyValueMetadata: [String: String] = [:],
        createdBy: String = ParquetWriterOptions.defaultCreatedBy,
        threads: Int = 1,
        overwrite: Bool = false
    ) {
        self.rowGroupRows = rowGroupRows
        self.pageSizeBytes = pageSizeBytes
        self.dictionaryPageLimitBytes = dictionaryPageLimitBytes
        self.compression = compression
        self.keyValueMetadata = keyValueMetadata
        self.createdBy = createdBy
        self.threads = threads
        self.overwrite = overwrite
    }

    /// Returns a description of the first invalid option, or `nil`.
    func problem() -> String? {
        if rowGroupRows < 1 { return "rowGroupRows must be at least 1, not \(rowGroupRows)" }
        if rowGroupRows > Int(Int32.max) { return "rowGroupRows must be below 2^31, not \(rowGroupRows)" }
        if pageSizeBytes < 1 { return "pageSizeBytes must be at least 1, not \(pageSizeBytes)" }
        if pageSizeBytes > Int(Int32.max) / 2 { return "pageSizeBytes must be below 1 GiB, not \(pageSizeBytes)" }
        if dictionaryPageLimitBytes < 0 {
            return "dictionaryPageLimitBytes must not be negative, not \(dictionaryPageLimitBytes)"
        }
        if dictionaryPageLimitBytes > Int(Int32.max) / 2 {
            return "dictionaryPageLimitBytes must be below 1 GiB, not \(dictionaryPageLimitBytes)"
        }
        if threads < 1 || threads > 256 { return "threads must be in 1...256, not \(threads)" }
        if case .zstd(let level) = compression {
            let lowest = ZSTD_minCLevel()
            let highest = ZSTD_maxCLevel()
            if level < lowest || level > highest {
                return "zstd level \(level) is outside \(lowest)...\(highest)"
            }
        }
        return nil
    }
}
