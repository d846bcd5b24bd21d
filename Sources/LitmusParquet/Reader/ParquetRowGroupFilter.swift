/// A value compared with column statistics.
public enum ParquetScalar: Sendable, Hashable {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
}

/// Conditions on columns (all must hold) used to skip row groups whose statistics prove that
/// no row matches.
///
/// Skipping is conservative: a row group is read unless its min/max statistics exclude every
/// row, so rows of the groups read still need checking. Statistics are used only where their
/// order is well defined: signed integers (INT32, INT64, timestamps and dates as their stored
/// integers), floating point (unless a bound is NaN), booleans, and strings (unsigned byte
/// order). A column without usable statistics never causes a skip; a group whose column is all
/// null is skipped, since no condition matches a null.
///
/// ```swift
/// let filter = ParquetRowGroupFilter([
///     .equals("record_type", .string("measurement")),
///     .range("measured_at", min: .int(start), max: .int(end)),
/// ])
/// ```
public struct ParquetRowGroupFilter: Sendable {
    /// One condition.
    public enum Condition: Sendable, Hashable {
        /// The column equals the value.
        case equals(String, ParquetScalar)
        /// The column equals one of the values.
        case oneOf(String, [ParquetScalar])
        /// `min <= column <= max` (a nil bound is open).
        case range(String, min: ParquetScalar?, max: ParquetScalar?)
    }

    public var conditions: [Condition]

    public init(_ conditions: [Condition]) {
        self.conditions = conditions
    }

    /// Whether the row group may hold a matching row.
    public func mayMatch(rowGroup: ParquetRowGroupInfo, metadata: ParquetFileMetadata) -> Bool {
        for condition in conditions {
            let name: String
            switch condition {
            case .equals(let n, _), .oneOf(let n, _), .range(let n, _, _): name = n
            }
            guard let column = metadata.column(name), column.unsupportedReason == nil,
                let stats = rowGroup.columns[column.leafIndex].statistics
            else { continue }
            if let nulls = stats.nullCount, nulls == Int64(rowGroup.numRows), rowGroup.numRows > 0 { return false }
            guard let bounds = Self.bounds(stats, column) else { continue }
            switch condition {
            case .equals(_, let v):
                if !Self.within(v, bounds) { return false }
            case .oneOf(_, let values):
                if !values.contains(where: { Self.within($0, bounds) }) { return false }
            case .range(_, let low, let high):
                if let low, let c = Self.compare(bounds.max, low), c < 0 { return false }
                if let high, let c = Self.compare(bounds.min, high), c > 0 { return false }
            }
        }
        return true
    }

    /// Whether `v` may lie within `[min, max]` (true when the comparison is undefined).
    private static func within(_ v: ParquetScalar, _ b: (min: ParquetScalar, max: ParquetScalar)) -> Bool {
        if let c = compare(b.min, v), c > 0 { return false }
        if let c = compare(b.max, v), c < 0 { return false }
        return true
    }

    /// The sign of `a - b`, or nil when the two cannot be compared.
    static func compare(_ a: ParquetScalar, _ b: ParquetScalar) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.string(let x), .string(let y)):
            if x == y { return 0 }
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        default:
            guard let x = number(a), let y = number(b), !x.isNaN, !y.isNaN else { return nil }
            return x < y ? -1 : (x > y ? 1 : 0)
        }
    }

    private static func number(_ v: ParquetScalar) -> Double? {
        switch v {
        case .int(let x): Double(x)
        case .double(let x): x
        default: nil
        }
    }

    /// The statistics' min and max as scalars, when their order can be trusted.
    static func bounds(_ stats: ParquetStatistics, _ column: ParquetColumnDescriptor) -> (min: ParquetScalar, max: ParquetScalar)? {
        var minBytes = stats.min
        var maxBytes = stats.max
        let signedNumber: Bool
        switch column.physicalType {
        case .int32, .int64:
            if case .integer(_, false)? = column.logicalType { return nil }
            if case .decimal? = column.logicalType { return nil }
            signedNumber = true
        case .float, .double:
            signedNumber = true
        default:
            signedNumber = false
        }
        if minBytes == nil || maxBytes == nil, signedNumber {
            minBytes = stats.legacyMin
            maxBytes = stats.legacyMax
        }
        guard let minBytes, let maxBytes else { return nil }
        func scalar(_ b: [UInt8]) -> ParquetScalar? {
            func le<T: FixedWidthInteger>(_: T.Type) -> T? {
                guard b.count == MemoryLayout<T>.size else { return nil }
                var v: T = 0
                for (i, byte) in b.enumerated() { v |= T(truncatingIfNeeded: byte) << (8 * i) }
                return v
            }
            switch column.physicalType {
            case .boolean: return b.count == 1 ? .bool(b[0] != 0) : nil
            case .int32: return le(Int32.self).map { .int(Int64($0)) }
            case .int64: return le(Int64.self).map { .int($0) }
            case .float: return le(UInt32.self).map { .double(Double(Float(bitPattern: $0))) }
            case .double: return le(UInt64.self).map { .double(Double(bitPattern: $0)) }
            case .byteArray:
                guard ParquetFileReader.isText(column) else { return nil }
                return .string(String(decoding: b, as: UTF8.self))
            default: return nil
            }
        }
        guard let lo = scalar(minBytes), let hi = scalar(maxBytes) else { return nil }
        if case .double(let x) = lo, x.isNaN { return nil }
        if case .double(let x) = hi, x.isNaN { return nil }
        return (lo, hi)
    }
}
