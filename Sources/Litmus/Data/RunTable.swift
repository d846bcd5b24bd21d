import Foundation
import LitmusJSON

/// The flat table of one run, column by column: the content of its Parquet file.
///
/// Rows: one `run` row, then per step (in the order steps started) a `step` row, its
/// step-scope `measurement` rows, then per vector attempt a `vector` row and its
/// `measurement` rows. Run-scope columns are on every row; step- and vector-scope columns
/// only on rows inside that scope. Stimulus parameters are `in_<name>` columns and
/// observations `out_<name>` columns; each column has one type for the whole run (numbers are
/// always doubles).
public struct RunTable: Sendable {
    /// The type of one column.
    public enum ColumnType: String, Sendable {
        case string, double, int64, bool, timestamp
    }

    /// One column: its values, with `valid[i] == false` for a null in row `i`. Only the storage
    /// of its own type is used.
    ///
    /// A string column is kept in dictionary form, as the Parquet writer takes it: its distinct
    /// values (``stringValues``) and, per row, the index of the row's value in them
    /// (``stringIndices``, -1 at nulls). ``strings`` reads it row by row.
    public struct Column: Sendable {
        public let name: String
        public let type: ColumnType
        /// A string column's distinct values (by UTF-8 bytes).
        public internal(set) var stringValues: [String] = []
        /// A string column's value per row, as an index into ``stringValues``; -1 for a null.
        public internal(set) var stringIndices: [Int32] = []
        public internal(set) var doubles: [Double] = []
        public internal(set) var ints: [Int64] = []
        public internal(set) var bools: [Bool] = []
        /// Which rows of a column of another type than string hold a value.
        var flags: [Bool] = []

        init(_ name: String, _ type: ColumnType) {
            self.name = name
            self.type = type
        }

        /// Whether each row holds a value (`false`: null).
        public var valid: Validity {
            Validity(storage: type == .string ? .indices(stringIndices) : .flags(flags))
        }

        /// A string column's values, one per row (`""` at nulls).
        public var strings: Strings { Strings(values: stringValues, rows: stringIndices) }

        /// Whether each row of a column holds a value, read from the column's own storage.
        public struct Validity: RandomAccessCollection, Sendable {
            enum Storage: Sendable {
                case flags([Bool])
                case indices([Int32])
            }
            let storage: Storage

            public var startIndex: Int { 0 }
            public var endIndex: Int {
                switch storage {
                case .flags(let flags): flags.count
                case .indices(let indices): indices.count
                }
            }

            public subscript(row: Int) -> Bool {
                switch storage {
                case .flags(let flags): flags[row]
                case .indices(let indices): indices[row] >= 0
                }
            }
        }

        /// The values of a string column, row by row, read from its dictionary form.
        public struct Strings: RandomAccessCollection, Sendable {
            let values: [String]
            let rows: [Int32]

            public var startIndex: Int { 0 }
            public var endIndex: Int { rows.count }

            public subscript(row: Int) -> String {
                let k = rows[row]
                return k >= 0 ? values[Int(k)] : ""
            }
        }

        /// The value of row `i` as JSON (for export and display).
        public func json(_ i: Int) -> JSONValue {
            guard valid[i] else { return .null }
            switch type {
            case .string: return .string(stringValues[Int(stringIndices[i])])
            case .double: return .double(doubles[i])
            case .int64: return .int(ints[i])
            case .bool: return .bool(bools[i])
            case .timestamp: return .string(Timestamp(microseconds: ints[i]).iso8601)
            }
        }
    }

    public internal(set) var columns: [Column] = []
    public internal(set) var rowCount = 0
    /// File-level key/value metadata.
    public internal(set) var metadata: [(String, String)] = []
    var index: [String: Int] = [:]

    /// The column called `name`.
    public func column(_ name: String) -> Column? { index[name].map { columns[$0] } }

    mutating func addColumn(_ name: String, _ type: ColumnType) -> Int {
        if let i = index[name] { return i }
        columns.append(Column(name, type))
        index[name] = columns.count - 1
        return columns.count - 1
    }

    /// A value as text: strings as themselves, anything else as compact JSON.
    public static func text(_ v: JSONValue) -> String? {
        switch v {
        case .null: return nil
        case .string(let s): return s
        default:
            var buffer = JSONBuffer(capacity: 32)
            buffer.value(v)
            return String(decoding: buffer.bytes, as: UTF8.self)
        }
    }

    /// The kinds of value seen in a dynamic column, which decide its type: double when every
    /// value is a number, bool when every value is a bool, string otherwise.
    struct ValueKinds {
        var number = false, bool = false, other = false

        mutating func add(_ v: JSONValue) {
            switch v {
            case .null: break
            case .number, .string("NaN"), .string("Infinity"), .string("-Infinity"): number = true
            case .bool: bool = true
            default: other = true
            }
        }

        var columnType: ColumnType {
            if other || (number && bool) { return .string }
            if bool { return .bool }
            return number ? .double : .string
        }
    }

    /// `Vin (V)` -> `in_Vin_V_`: letters, digits and `_` only.
    static func columnName(prefix: String, _ name: String) -> String {
        var out = prefix
        for scalar in name.unicodeScalars {
            if scalar.properties.isAlphabetic || (scalar.value >= 0x30 && scalar.value <= 0x39) || scalar == "_" {
                out.unicodeScalars.append(scalar)
            } else {
                out.append("_")
            }
        }
        return out
    }
}
