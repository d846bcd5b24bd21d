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

    /// One column: its values, with `valid[i] == false` for a null in row `i`. Only the array
    /// of its own type is used.
    public struct Column: Sendable {
        public let name: String
        public let type: ColumnType
        public internal(set) var strings: [String] = []
        public internal(set) var doubles: [Double] = []
        public internal(set) var ints: [Int64] = []
        public internal(set) var bools: [Bool] = []
        public internal(set) var valid: [Bool] = []

        init(_ name: String, _ type: ColumnType) {
            self.name = name
            self.type = type
        }

        /// The value of row `i` as JSON (for export and display).
        public func json(_ i: Int) -> JSONValue {
            guard valid[i] else { return .null }
            switch type {
            case .string: return .string(strings[i])
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
