import LitmusParquet

/// Columns of one run file, read with the Parquet reader, with typed access by name.
///
/// Columns the file lacks (an `in_*` column of another run, `is_final_attempt` in files older
/// than it) read as all null, so code over many runs needs no per-file schema checks.
public struct RunFileTable: Sendable {
    /// The file.
    public let path: String
    /// The rows read.
    public let rowCount: Int
    /// The columns, by name.
    public let columns: [String: ParquetReadColumn]
    /// All column names of the file (read or not).
    public let fileColumns: [String]

    /// Reads `columns` (those the file has) of the run file at `path`.
    public static func read(path: String, columns: [String], reader given: ParquetFileReader? = nil) throws(ParquetReadError) -> RunFileTable {
        let reader: ParquetFileReader
        if let given { reader = given } else { reader = try ParquetFileReader(path: path) }
        let wanted = columns.filter { reader.metadata.column($0) != nil }
        let table = try reader.read(columns: wanted)
        var byName: [String: ParquetReadColumn] = [:]
        for column in table.columns { byName[column.descriptor.name] = column }
        return RunFileTable(path: path, rowCount: table.rowCount, columns: byName, fileColumns: reader.metadata.columns.map(\.name))
    }

    /// Whether the file has a column called `name`.
    public func has(_ name: String) -> Bool { columns[name] != nil }

    /// A text column (all null when missing or not text).
    public func strings(_ name: String) -> StringColumn {
        if case .strings(let dictionary, let indices)? = columns[name]?.values {
            return StringColumn(dictionary: dictionary, indices: indices)
        }
        return StringColumn(dictionary: [], indices: [Int32](repeating: -1, count: rowCount))
    }

    /// A numeric column as doubles, NaN at nulls (nil when missing or not numeric).
    public func doubles(_ name: String) -> [Double]? { columns[name]?.doubles() }

    /// A numeric column as doubles with its nulls (nil when missing or not numeric).
    public func optionalDoubles(_ name: String) -> OptionalColumn<Double>? {
        guard let column = columns[name], let values = column.doubles() else { return nil }
        return OptionalColumn(values: values, validity: column.validity)
    }

    /// An INT64 column with its nulls.
    public func ints(_ name: String) -> OptionalColumn<Int64>? {
        guard let column = columns[name] else { return nil }
        switch column.values {
        case .int64(let v): return OptionalColumn(values: v, validity: column.validity)
        case .int32(let v): return OptionalColumn(values: v.map(Int64.init), validity: column.validity)
        default: return nil
        }
    }

    /// A timestamp column in microseconds with its nulls.
    public func timestamps(_ name: String) -> OptionalColumn<Int64>? {
        guard let column = columns[name], let v = column.timestampMicros() else { return nil }
        return OptionalColumn(values: v, validity: column.validity)
    }

    /// A boolean column with its nulls.
    public func bools(_ name: String) -> OptionalColumn<Bool>? {
        guard let column = columns[name], case .boolean(let v) = column.values else { return nil }
        return OptionalColumn(values: v, validity: column.validity)
    }
}

/// A text column in dictionary form: row `i` is `dictionary[indices[i]]`, or null at -1.
public struct StringColumn: Sendable {
    public var dictionary: [String]
    public var indices: [Int32]

    /// The value of row `row`, or nil.
    @inline(__always) public subscript(row: Int) -> String? {
        let index = indices[row]
        return index < 0 ? nil : dictionary[Int(index)]
    }

    /// The dictionary index of `value` (the first, when it repeats), or nil.
    public func index(of value: String) -> Int32? {
        dictionary.firstIndex(of: value).map { Int32($0) }
    }

    /// Whether row `row` equals `value` (one string comparison per dictionary entry).
    public func matcher(_ value: String) -> (Int) -> Bool {
        let hits = dictionary.map { $0 == value }
        let indices = self.indices
        return { row in
            let index = indices[row]
            return index >= 0 && hits[Int(index)]
        }
    }
}

/// A column of values with nulls.
public struct OptionalColumn<Value: Sendable>: Sendable {
    public var values: [Value]
    /// nil: no nulls.
    public var validity: [Bool]?

    /// The value of row `row`, or nil.
    @inline(__always) public subscript(row: Int) -> Value? {
        if let validity, !validity[row] { return nil }
        return values[row]
    }
}
