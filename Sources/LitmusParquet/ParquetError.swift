/// An error of ``ParquetWriter``: what went wrong, and where (file, column, row).
///
/// Any error thrown by ``ParquetWriter/write(rowCount:columns:)`` or ``ParquetWriter/close()``
/// also aborts the writer: its partial file is removed and the target path is left untouched.
public struct ParquetError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The category of a ``ParquetError``.
    public enum Kind: Sendable, Hashable {
        /// The schema or the options cannot be written.
        case invalidConfiguration
        /// The number of columns passed to `write` differs from the schema's.
        case columnCountMismatch
        /// A column's values are not of its schema type.
        case typeMismatch
        /// A column's values or validity array does not have `rowCount` elements.
        case lengthMismatch
        /// A non-nullable column has a null row.
        case nullInRequiredColumn
        /// A negative row count, or a row count or value too large for Parquet.
        case invalidArgument
        /// The target file exists and `overwrite` is not set.
        case fileExists
        /// A system call failed (`open`, `write`, `fsync`, `rename`, ...).
        case io
        /// zstd failed.
        case compression
        /// The writer was closed, or aborted by an earlier error.
        case writerClosed
    }

    /// The category.
    public var kind: Kind
    /// What went wrong, without the location.
    public var message: String
    /// The target path of the file being written.
    public var path: String
    /// The column concerned, if any.
    public var column: String?
    /// The row concerned, if any: 0-based, counted from the first row of the file.
    public var row: Int?

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, path: String, column: String? = nil, row: Int? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
        self.column = column
        self.row = row
    }

    /// `"<path>: column \"<name>\", row <n>: <message>"`, leaving out what is unknown.
    public var description: String {
        var text = path
        if let column {
            text += ": column \"\(column)\""
            if let row { text += ", row \(row)" }
        } else if let row {
            text += ": row \(row)"
        }
        return text + ": " + message
    }
}
