import CLitmusDriverABI

/// The value types that cross the driver ABI (`litmus_type`).
public enum ValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case void = 0, f64 = 1, i64 = 2, bool = 3, string = 4, f64Array = 5, bytes = 6

    public var description: String {
        switch self {
        case .void: "void"
        case .f64: "f64"
        case .i64: "i64"
        case .bool: "bool"
        case .string: "string"
        case .f64Array: "f64[]"
        case .bytes: "bytes"
        }
    }
}

/// A typed value passed to or returned by an instrument operation.
public enum InstrumentValue: Sendable, Hashable, CustomStringConvertible {
    case void
    case f64(Double)
    case i64(Int64)
    case bool(Bool)
    case string(String)
    case f64Array([Double])
    case bytes([UInt8])

    public var type: ValueType {
        switch self {
        case .void: .void
        case .f64: .f64
        case .i64: .i64
        case .bool: .bool
        case .string: .string
        case .f64Array: .f64Array
        case .bytes: .bytes
        }
    }

    /// The number, for f64 and i64 values.
    public var doubleValue: Double? {
        switch self {
        case .f64(let v): v
        case .i64(let v): Double(v)
        default: nil
        }
    }
    public var intValue: Int64? { if case .i64(let v) = self { v } else { nil } }
    public var boolValue: Bool? { if case .bool(let v) = self { v } else { nil } }
    public var stringValue: String? { if case .string(let v) = self { v } else { nil } }
    public var arrayValue: [Double]? { if case .f64Array(let v) = self { v } else { nil } }
    public var bytesValue: [UInt8]? { if case .bytes(let v) = self { v } else { nil } }

    public var description: String {
        switch self {
        case .void: "void"
        case .f64(let v): "\(v)"
        case .i64(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .string(let v): "\"\(v)\""
        case .f64Array(let v): v.count <= 8 ? "\(v)" : "[\(v.count) values]"
        case .bytes(let v): "<\(v.count) bytes>"
        }
    }
}

extension InstrumentValue: ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByStringLiteral
{
    public init(floatLiteral value: Double) { self = .f64(value) }
    public init(integerLiteral value: Int64) { self = .i64(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}

extension InstrumentValue {
    /// Calls `body` with this value as a borrowed `litmus_value`.
    func withCValue<R>(_ body: (litmus_value) throws -> R) rethrows -> R {
        var v = litmus_value()
        v.type = type.rawValue
        switch self {
        case .void: return try body(v)
        case .f64(let x):
            v.u.f64 = x
            return try body(v)
        case .i64(let x):
            v.u.i64 = x
            return try body(v)
        case .bool(let x):
            v.u.boolean = x ? 1 : 0
            return try body(v)
        case .string(var s):
            return try s.withUTF8 { utf8 in
                v.u.str = litmus_str_view(
                    ptr: UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self), len: utf8.count)
                return try body(v)
            }
        case .f64Array(let a):
            return try a.withUnsafeBufferPointer { buf in
                v.u.f64_array = litmus_f64_span(ptr: buf.baseAddress, len: buf.count)
                return try body(v)
            }
        case .bytes(let b):
            return try b.withUnsafeBufferPointer { buf in
                v.u.bytes = litmus_bytes_view(ptr: buf.baseAddress, len: buf.count)
                return try body(v)
            }
        }
    }
}
