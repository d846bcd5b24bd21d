/// The value type of a Parquet column, with the physical and logical types it is stored as.
public enum ParquetType: Sendable, Hashable, CustomStringConvertible {
    /// A signed 64-bit integer: physical `INT64`, no logical type.
    case int64
    /// An IEEE 754 double: physical `DOUBLE`.
    case double
    /// A boolean: physical `BOOLEAN` (PLAIN-encoded as bits, least significant bit first).
    case boolean
    /// A UTF-8 string: physical `BYTE_ARRAY`, logical type `STRING` (converted type `UTF8`).
    case string
    /// Microseconds since 1970-01-01T00:00:00Z: physical `INT64`, logical type
    /// `TIMESTAMP(isAdjustedToUTC = true, unit = MICROS)` (converted type `TIMESTAMP_MICROS`).
    case timestampMicrosUTC

    public var description: String {
        switch self {
        case .int64: "int64"
        case .double: "double"
        case .boolean: "boolean"
        case .string: "string"
        case .timestampMicrosUTC: "timestampMicrosUTC"
        }
    }
}

/// One leaf column of a flat Parquet schema.
public struct ParquetColumn: Sendable, Hashable {
    /// The column name (non-empty, unique within the schema).
    public var name: String
    /// The value type.
    public var type: ParquetType
    /// Whether the column may hold nulls (`OPTIONAL`, max definition level 1) or not
    /// (`REQUIRED`).
    public var nullable: Bool
    /// Whether to dictionary-encode the column (only supported for `.string` columns).
    ///
    /// A dictionary-encoded column chunk falls back to PLAIN for the rest of the chunk when its
    /// dictionary would grow past ``ParquetWriterOptions/dictionaryPageLimitBytes``.
    public var dictionary: Bool

    /// Creates a column.
    ///
    /// - Parameters:
    ///   - name: The column name.
    ///   - type: The value type.
    ///   - nullable: Whether nulls are allowed; `false` by default, so that a null passed by
    ///     mistake is reported rather than stored.
    ///   - dictionary: Whether to dictionary-encode; by default `true` for strings and `false`
    ///     otherwise.
    public init(name: String, type: ParquetType, nullable: Bool = false, dictionary: Bool? = nil) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.dictionary = dictionary ?? (type == .string)
    }
}

/// A flat Parquet schema: leaf columns directly under the root, in file order.
public struct ParquetSchema: Sendable, Hashable {
    /// The columns, in the order their data is passed to ``ParquetWriter/write(rowCount:columns:)``.
    public var columns: [ParquetColumn]

    /// Creates a schema from its columns.
    public init(columns: [ParquetColumn]) {
        self.columns = columns
    }

    /// Checks that the schema can be written: at least one column, non-empty unique names, and
    /// dictionary encoding only on string columns. Returns a description of the first problem.
    func problem() -> String? {
        if columns.isEmpty { return "the schema has no columns" }
        // Names are compared byte-wise (Parquet readers do not normalize Unicode; Swift's
        // String equality would).
        var seen = Set<[UInt8]>()
        for (index, column) in columns.enumerated() {
            if column.name.isEmpty { return "column \(index) has an empty name" }
            if !seen.insert(Array(column.name.utf8)).inserted {
                return "duplicate column name \"\(column.name)\""
            }
            if column.dictionary && column.type != .string {
                return "column \"\(column.name)\": dictionary encoding is only supported for string columns, not \(column.type)"
            }
        }
        return nil
    }
}
