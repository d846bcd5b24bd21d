/// The values of one column for a batch of rows, one array element per row.
///
/// Arrays are dense: element `i` belongs to row `i` of the batch, and the array has exactly
/// `rowCount` elements. Elements at null rows (see ``ParquetColumnData/validity``) are ignored,
/// so any placeholder (0, `""`, `false`) will do there.
public enum ParquetValues: Sendable {
    /// Values of an ``ParquetType/int64`` column.
    case int64([Int64])
    /// Values of a ``ParquetType/double`` column; NaN, infinities and -0.0 are stored bit-exact.
    case double([Double])
    /// Values of a ``ParquetType/boolean`` column.
    case boolean([Bool])
    /// Values of a ``ParquetType/string`` column, stored as their UTF-8 bytes (no Unicode
    /// normalization: `"é"` and `"e\u{301}"` stay distinct).
    case string([String])
    /// Values of a ``ParquetType/string`` column in dictionary form: row `i` holds
    /// `values[indices[i]]`, or is null where `indices[i]` is -1.
    ///
    /// The writer takes each distinct value's UTF-8 bytes once per column chunk instead of
    /// hashing every row's string, so a column with few distinct values (a status, a unit, a
    /// name repeated on every row) costs an array lookup per row. `values` may hold values no
    /// row uses (they are not written); values with the same UTF-8 bytes share one dictionary
    /// entry in the file. Nulls come from the indices only: such a column has no `validity`.
    case dictionaryString(values: [String], indices: [Int32])
    /// Values of a ``ParquetType/timestampMicrosUTC`` column: microseconds since the Unix epoch
    /// (negative before 1970).
    case timestampMicros([Int64])

    /// The number of elements.
    public var count: Int {
        switch self {
        case .int64(let v): v.count
        case .double(let v): v.count
        case .boolean(let v): v.count
        case .string(let v): v.count
        case .dictionaryString(_, let indices): indices.count
        case .timestampMicros(let v): v.count
        }
    }

    /// The column type these values are for.
    public var type: ParquetType {
        switch self {
        case .int64: .int64
        case .double: .double
        case .boolean: .boolean
        case .string, .dictionaryString: .string
        case .timestampMicros: .timestampMicrosUTC
        }
    }
}

/// The data of one column for one ``ParquetWriter/write(rowCount:columns:)`` call.
public struct ParquetColumnData: Sendable {
    /// One value per row (ignored at null rows).
    public var values: ParquetValues
    /// Which rows hold a value: `validity[i] == false` makes row `i` null. `nil` means no row is
    /// null. When present it has one element per row. A non-nullable column may pass a validity
    /// array only if it is all `true`. Dictionary-form strings mark nulls with index -1 and take
    /// no validity array.
    public var validity: [Bool]?

    /// Creates column data from values and optional validity (`true` = value present).
    public init(_ values: ParquetValues, validity: [Bool]? = nil) {
        self.values = values
        self.validity = validity
    }

    /// Data for an ``ParquetType/int64`` column.
    public static func int64(_ values: [Int64], validity: [Bool]? = nil) -> ParquetColumnData {
        ParquetColumnData(.int64(values), validity: validity)
    }

    /// Data for a ``ParquetType/double`` column.
    public static func double(_ values: [Double], validity: [Bool]? = nil) -> ParquetColumnData {
        ParquetColumnData(.double(values), validity: validity)
    }

    /// Data for a ``ParquetType/boolean`` column.
    public static func boolean(_ values: [Bool], validity: [Bool]? = nil) -> ParquetColumnData {
        ParquetColumnData(.boolean(values), validity: validity)
    }

    /// Data for a ``ParquetType/string`` column.
    public static func string(_ values: [String], validity: [Bool]? = nil) -> ParquetColumnData {
        ParquetColumnData(.string(values), validity: validity)
    }

    /// Data for a ``ParquetType/string`` column in dictionary form (see
    /// ``ParquetValues/dictionaryString(values:indices:)``): row `i` is `values[indices[i]]`, or
    /// null where `indices[i]` is -1.
    public static func dictionaryString(_ values: [String], indices: [Int32]) -> ParquetColumnData {
        ParquetColumnData(.dictionaryString(values: values, indices: indices))
    }

    /// Data for a ``ParquetType/timestampMicrosUTC`` column (microseconds since the epoch).
    public static func timestampMicros(_ values: [Int64], validity: [Bool]? = nil) -> ParquetColumnData {
        ParquetColumnData(.timestampMicros(values), validity: validity)
    }
}
