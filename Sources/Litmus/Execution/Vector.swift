import LitmusJSON

/// One parameter value of a test vector: a number, text or a flag.
public enum ParamValue: Sendable, Hashable, CustomStringConvertible, ExpressibleByFloatLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral
{
    case number(Double)
    case text(String)
    case bool(Bool)

    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    public var doubleValue: Double? { if case .number(let v) = self { v } else { nil } }
    public var stringValue: String? { if case .text(let v) = self { v } else { nil } }

    public var description: String {
        switch self {
        case .number(let v): RangeExpander.format(v)
        case .text(let s): s
        case .bool(let b): b ? "true" : "false"
        }
    }

    /// As stored in events.
    public var json: JSONValue {
        switch self {
        case .number(let v): .number(JSONNumber(v))
        case .text(let s): .string(s)
        case .bool(let b): .bool(b)
        }
    }
}

/// One named parameter of a vector.
public struct VectorParam: Sendable, Hashable {
    public var name: String
    public var value: ParamValue
    public init(_ name: String, _ value: ParamValue) {
        self.name = name
        self.value = value
    }
}

/// One point of a sweep: its parameters in order, its position, and what changed since the
/// point before it.
///
/// ```swift
/// for v in harness.vectors {
///     if v.changed("temperature") { try harness.prompt("Set the chamber to \(v["temperature"]!) °C") }
///     try psu.call("set_voltage", .f64(v.double("vin")!))
/// }
/// ```
public struct Vector: Sendable, Equatable {
    /// 0-based position in the expanded list.
    public let index: Int
    /// The parameters, in the order the axes were written.
    public let params: [VectorParam]
    /// Limits that apply to this vector only (`_limits` in a vector list).
    public let limits: [String: Limit]
    /// Mocks that apply to this vector only (`_mocks` in a vector list): `role.operation` -> answer.
    public let mocks: [String: ConfigValue]
    /// The previous vector's parameters (nil for the first), for ``changed(_:)``.
    let previous: [VectorParam]?

    public init(index: Int, params: [VectorParam], limits: [String: Limit] = [:], mocks: [String: ConfigValue] = [:], previous: [VectorParam]? = nil) {
        self.index = index
        self.params = params
        self.limits = limits
        self.mocks = mocks
        self.previous = previous
    }

    /// The value of `name`.
    public subscript(name: String) -> ParamValue? { params.first { $0.name == name }?.value }

    /// The numeric value of `name`.
    public func double(_ name: String) -> Double? { self[name]?.doubleValue }

    /// Whether `name` differs from the previous vector in expansion order; true for the first
    /// vector. A key missing on one side counts as a change.
    public func changed(_ name: String) -> Bool {
        guard let previous else { return true }
        return previous.first { $0.name == name }?.value != self[name]
    }

    /// The parameters as `name -> value`, for limit conditions.
    public var conditions: [String: ParamValue] {
        Dictionary(params.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

/// A sweep axis: a parameter name and its values.
public struct Axis: Sendable, Equatable {
    public var name: String
    public var values: [ParamValue]

    public init(_ name: String, _ values: [ParamValue]) {
        self.name = name
        self.values = values
    }

    /// An axis from an SCPI-style range string (`"0:1:0.25"`, `"-40:125:55, 150"`; inclusive
    /// stop, exact decimal points).
    public init(_ name: String, range: String) throws(VectorError) {
        do {
            self.init(name, try RangeExpander.values(of: range).map { .number($0) })
        } catch {
            throw VectorError("axis '\(name)': \(error.message)")
        }
    }
}

/// Why a set of vectors cannot be built.
public struct VectorError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Builds the vectors of a sweep.
///
/// - ``product(_:)``: every combination; the first axis is the outermost loop, the last varies
///   fastest.
/// - ``zip(_:)``: axes in lock step; unequal lengths are an error naming each length.
/// - ``list(_:)``: explicit vectors, as written.
/// - ``nested(_:_:)``: outer × inner; inner values override outer ones of the same name.
///
/// An empty axis, or a sweep with no vector, is an error: a test that runs nothing must not pass.
public enum Vectors {
    /// Every combination of `axes`, the last axis varying fastest.
    public static func product(_ axes: [Axis]) throws(VectorError) -> [Vector] {
        try check(axes)
        var rows: [[VectorParam]] = [[]]
        for axis in axes {
            rows = rows.flatMap { row in axis.values.map { row + [VectorParam(axis.name, $0)] } }
        }
        return number(rows)
    }

    /// `axes` in lock step.
    public static func zip(_ axes: [Axis]) throws(VectorError) -> [Vector] {
        try check(axes)
        let lengths = Set(axes.map(\.values.count))
        guard lengths.count <= 1 else {
            throw VectorError(
                "zip needs axes of equal length: " + axes.map { "\($0.name) has \($0.values.count)" }.joined(separator: ", "))
        }
        let n = axes.first?.values.count ?? 0
        return number((0..<n).map { i in axes.map { VectorParam($0.name, $0.values[i]) } })
    }

    /// Explicit vectors, each a list of parameters, with optional per-vector limits and mocks.
    public static func list(_ rows: [[VectorParam]], limits: [[String: Limit]] = [], mocks: [[String: ConfigValue]] = []) throws(VectorError) -> [Vector] {
        guard !rows.isEmpty else { throw VectorError("the vector list is empty: the test would run nothing") }
        var out: [Vector] = []
        for (i, row) in rows.enumerated() {
            out.append(
                Vector(
                    index: i, params: row, limits: i < limits.count ? limits[i] : [:], mocks: i < mocks.count ? mocks[i] : [:],
                    previous: i == 0 ? nil : rows[i - 1]))
        }
        return out
    }

    /// Every outer vector combined with every inner one; an inner parameter replaces an outer
    /// one of the same name.
    public static func nested(_ outer: [Vector], _ inner: [Vector]) throws(VectorError) -> [Vector] {
        guard !outer.isEmpty, !inner.isEmpty else { throw VectorError("a nested sweep needs vectors on both levels") }
        var rows: [[VectorParam]] = []
        var limits: [[String: Limit]] = []
        var mocks: [[String: ConfigValue]] = []
        for o in outer {
            for i in inner {
                let innerNames = Set(i.params.map(\.name))
                rows.append(o.params.filter { !innerNames.contains($0.name) } + i.params)
                limits.append(o.limits.merging(i.limits) { _, inner in inner })
                mocks.append(o.mocks.merging(i.mocks) { _, inner in inner })
            }
        }
        return try list(rows, limits: limits, mocks: mocks)
    }

    /// One empty vector: a test with no sweep runs once.
    public static let single = [Vector(index: 0, params: [])]

    private static func check(_ axes: [Axis]) throws(VectorError) {
        guard !axes.isEmpty else { throw VectorError("a sweep needs at least one axis") }
        var seen = Set<String>()
        for axis in axes {
            guard !axis.values.isEmpty else { throw VectorError("axis '\(axis.name)' has no values: the test would run nothing") }
            guard seen.insert(axis.name).inserted else { throw VectorError("axis '\(axis.name)' is given twice") }
        }
    }

    private static func number(_ rows: [[VectorParam]]) -> [Vector] {
        rows.enumerated().map { i, row in Vector(index: i, params: row, previous: i == 0 ? nil : rows[i - 1]) }
    }
}
