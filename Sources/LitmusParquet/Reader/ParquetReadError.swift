/// An error of ``ParquetFileReader``: what is wrong, where (file, row group, column) and what
/// to do about it.
///
/// ```
/// data/x.parquet: column "tags": nested or repeated columns (LIST, MAP, STRUCT) are not supported. Fix: read a flat table, e.g. write it with the nested column flattened or left out
/// ```
public struct ParquetReadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The category of a ``ParquetReadError``.
    public enum Kind: Sendable, Hashable {
        /// The file cannot be opened or read.
        case io
        /// The file is not a Parquet file (no `PAR1` magic, too short).
        case notParquet
        /// The file's bytes contradict themselves: a truncated or damaged file.
        case corrupt
        /// The file is valid Parquet but uses something this reader does not read (a codec,
        /// an encoding, a nested column, a physical type).
        case unsupported
        /// The file asks for more than ``ParquetReaderLimits`` allow (a page or a row group
        /// too large): refused rather than allocated.
        case limitExceeded
        /// A projected column is not in the file.
        case noSuchColumn
    }

    /// The category.
    public var kind: Kind
    /// What is wrong, without the location.
    public var message: String
    /// What to do about it (may be empty).
    public var fix: String
    /// The file.
    public var path: String
    /// The row group concerned, if any.
    public var rowGroup: Int?
    /// The column concerned, if any.
    public var column: String?

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, fix: String = "", path: String, rowGroup: Int? = nil, column: String? = nil) {
        self.kind = kind
        self.message = message
        self.fix = fix
        self.path = path
        self.rowGroup = rowGroup
        self.column = column
    }

    init(_ failure: DecodeFailure, path: String, rowGroup: Int? = nil, column: String? = nil) {
        self.init(failure.kind, failure.message, fix: failure.fix, path: path, rowGroup: rowGroup, column: column)
    }

    /// `<path>: row group <n>: column "<name>": <message>. Fix: <fix>`, leaving out what is
    /// unknown.
    public var description: String {
        var text = path
        if let rowGroup { text += ": row group \(rowGroup)" }
        if let column { text += ": column \"\(column)\"" }
        text += ": " + message
        if !fix.isEmpty { text += ". Fix: " + fix }
        return text
    }
}

/// Bounds on what a ``ParquetFileReader`` accepts from a file, so a hostile or damaged file
/// gives an error instead of exhausting memory.
public struct ParquetReaderLimits: Sendable {
    /// Largest footer (file metadata), in bytes. Default 64 MiB.
    public var maxFooterBytes: Int
    /// Largest uncompressed page, in bytes. Default 256 MiB.
    public var maxPageBytes: Int
    /// Most rows in one row group. Default 64 Mi.
    public var maxRowGroupRows: Int

    /// Creates limits; every parameter has the documented default.
    public init(maxFooterBytes: Int = 64 << 20, maxPageBytes: Int = 256 << 20, maxRowGroupRows: Int = 64 << 20) {
        self.maxFooterBytes = maxFooterBytes
        self.maxPageBytes = maxPageBytes
        self.maxRowGroupRows = maxRowGroupRows
    }
}
