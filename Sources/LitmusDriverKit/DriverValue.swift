import CLitmusDriverABI

/// The value types that cross the ABI (`litmus_type`).
public enum ValueType: UInt32, Sendable, CaseIterable {
    case void = 0, f64 = 1, i64 = 2, bool = 3, string = 4, f64Array = 5, bytes = 6
}

/// A typed value a driver returns from an operation or reads from its options.
public enum DriverValue: Sendable, Equatable {
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

    /// Copies a borrowed C value into Swift storage.
    public init(_ value: litmus_value) {
        switch value.type {
        case ValueType.f64.rawValue: self = .f64(value.u.f64)
        case ValueType.i64.rawValue: self = .i64(value.u.i64)
        case ValueType.bool.rawValue: self = .bool(value.u.boolean != 0)
        case ValueType.string.rawValue:
            let view = value.u.str
            self = .string(
                view.ptr.map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: view.len), as: UTF8.self)
                } ?? "")
        case ValueType.f64Array.rawValue:
            let span = value.u.f64_array
            self = .f64Array(span.ptr.map { Array(UnsafeBufferPointer(start: $0, count: span.len)) } ?? [])
        case ValueType.bytes.rawValue:
            let view = value.u.bytes
            self = .bytes(view.ptr.map { Array(UnsafeBufferPointer(start: $0, count: view.len)) } ?? [])
        default: self = .void
        }
    }
}

/// A borrowed view of the arguments of one `invoke` call, already checked by the host against
/// the operation's parameter table. Valid only during the call.
public struct Arguments {
    public let base: UnsafePointer<litmus_value>?
    public let count: Int

    public init(_ base: UnsafePointer<litmus_value>?, count: Int) {
        self.base = base
        self.count = base == nil ? 0 : count
    }

    /// The raw C value at `index`, or a VOID value when absent (an omitted optional parameter).
    @inlinable
    public subscript(raw index: Int) -> litmus_value {
        guard index >= 0, index < count, let base else { return litmus_value() }
        return base[index]
    }

    /// The value at `index`, copied; `.void` when the optional parameter was left out.
    public subscript(index: Int) -> DriverValue { DriverValue(self[raw: index]) }

    /// The f64 at `index` (an i64 is widened), or nil.
    @inlinable
    public func double(_ index: Int) -> Double? {
        let v = self[raw: index]
        switch v.type {
        case ValueType.f64.rawValue: return v.u.f64
        case ValueType.i64.rawValue: return Double(v.u.i64)
        default: return nil
        }
    }

    /// The i64 at `index`, or nil.
    @inlinable
    public func int(_ index: Int) -> Int64? {
        let v = self[raw: index]
        return v.type == ValueType.i64.rawValue ? v.u.i64 : nil
    }

    /// The bool at `index`, or nil.
    @inlinable
    public func bool(_ index: Int) -> Bool? {
        let v = self[raw: index]
        return v.type == ValueType.bool.rawValue ? v.u.boolean != 0 : nil
    }

    /// The string at `index`, or nil.
    public func string(_ index: Int) -> String? {
        if case .string(let s) = self[index] { return s }
        return nil
    }

    /// Every argument, copied.
    public var values: [DriverValue] { (0..<count).map { self[$0] } }
}

/// The typed open options of one `open` call, by name. Valid only during the call.
public struct OpenOptions {
    public let values: [String: DriverValue]

    public init(_ base: UnsafePointer<litmus_kv>?, count: Int) {
        var values: [String: DriverValue] = [:]
        if let base {
            for i in 0..<count where base[i].key != nil {
                values[String(cString: base[i].key)] = DriverValue(base[i].value)
            }
        }
        self.values = values
    }

    public subscript(name: String) -> DriverValue? { values[name] }

    public func string(_ name: String) -> String? {
        if case .string(let s)? = values[name] { return s }
        return nil
    }
    public func int(_ name: String) -> Int64? {
        if case .i64(let v)? = values[name] { return v }
        return nil
    }
    public func double(_ name: String) -> Double? {
        switch values[name] {
        case .f64(let v)?: return v
        case .i64(let v)?: return Double(v)
        default: return nil
        }
    }
    public func bool(_ name: String) -> Bool? {
        if case .bool(let v)? = values[name] { return v }
        return nil
    }
}
