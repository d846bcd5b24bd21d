/// The values of one column as read from a file, one element per row.
///
/// Arrays are dense like the writer's ``ParquetValues``: element `i` belongs to row `i`, and
/// elements at null rows (see ``ParquetReadColumn/validity``) hold a placeholder (0, `false`).
/// Logical types (string, timestamp, date, decimal) keep their physical storage; the
/// descriptor says how to read them, and ``ParquetReadColumn/doubles()`` and
/// ``ParquetReadColumn/timestampMicros()`` convert.
public enum ParquetColumnValues: Sendable {
    case boolean([Bool])
    case int32([Int32])
    case int64([Int64])
    case float([Float])
    case double([Double])
    /// Text (BYTE_ARRAY with a STRING, ENUM or JSON type, or none): row `i` is
    /// `dictionary[indices[i]]`, or null where `indices[i]` is -1. Invalid UTF-8 is repaired
    /// (U+FFFD). The dictionary is the file's when the writer used one (values may repeat
    /// when a chunk fell back to PLAIN).
    case strings(dictionary: [String], indices: [Int32])
    /// Binary values (FIXED_LEN_BYTE_ARRAY, or BYTE_ARRAY with a non-text logical type);
    /// empty at nulls.
    case bytes([[UInt8]])

    /// The number of rows.
    public var count: Int {
        switch self {
        case .boolean(let v): v.count
        case .int32(let v): v.count
        case .int64(let v): v.count
        case .float(let v): v.count
        case .double(let v): v.count
        case .strings(_, let indices): indices.count
        case .bytes(let v): v.count
        }
    }
}

/// One column read from a file (all the row groups asked for, concatenated).
public struct ParquetReadColumn: Sendable {
    /// What the schema says of the column.
    public var descriptor: ParquetColumnDescriptor
    /// One value per row.
    public var values: ParquetColumnValues
    /// `validity[i] == false` when row `i` is null; nil when no row is null.
    public var validity: [Bool]?

    /// The number of rows.
    public var count: Int { values.count }

    /// Whether row `row` holds a value.
    public func isValid(_ row: Int) -> Bool {
        if case .strings(_, let indices) = values { return indices[row] >= 0 }
        return validity?[row] ?? true
    }

    /// The values as doubles (nil for non-numeric columns): integers converted, decimals
    /// scaled by 10^-scale (FIXED_LEN_BYTE_ARRAY decimals too). Null rows hold NaN.
    public func doubles() -> [Double]? {
        var out: [Double]
        var scale = 1.0
        if case .decimal(_, let s)? = descriptor.logicalType {
            var p = 1.0
            for _ in 0..<Int(abs(s)) { p *= 10 }
            scale = s >= 0 ? 1 / p : p
        }
        switch values {
        case .double(let v): out = v
        case .float(let v): out = v.map(Double.init)
        case .int32(let v):
            if case .integer(_, false)? = descriptor.logicalType {
                out = v.map { Double(UInt32(bitPattern: $0)) * scale }
            } else {
                out = v.map { Double($0) * scale }
            }
        case .int64(let v):
            if case .integer(_, false)? = descriptor.logicalType {
                out = v.map { Double(UInt64(bitPattern: $0)) * scale }
            } else {
                out = v.map { Double($0) * scale }
            }
        case .bytes(let v):
            guard case .decimal? = descriptor.logicalType else { return nil }
            // Big-endian two's complement.
            out = v.map { bytes in
                var unsigned = 0.0
                var range = 1.0
                for b in bytes {
                    unsigned = unsigned * 256 + Double(b)
                    range *= 256
                }
                let negative = (bytes.first ?? 0) >= 0x80
                return (negative ? unsigned - range : unsigned) * scale
            }
        case .boolean, .strings:
            return nil
        }
        if let validity {
            for i in out.indices where !validity[i] { out[i] = .nan }
        }
        return out
    }

    /// Timestamps as microseconds since the Unix epoch (nil unless the column is a timestamp
    /// or a date stored as INT32 days / INT64 time). Null rows hold 0.
    public func timestampMicros() -> [Int64]? {
        switch (descriptor.logicalType, values) {
        case (.timestamp(let unit, _)?, .int64(let v)):
            switch unit {
            case .micros: return v
            case .millis: return v.map { $0 &* 1000 }
            case .nanos: return v.map { $0 / 1000 - ($0 % 1000 < 0 ? 1 : 0) }
            }
        case (.date?, .int32(let v)):
            return v.map { Int64($0) &* 86_400_000_000 }
        default:
            return nil
        }
    }
}
