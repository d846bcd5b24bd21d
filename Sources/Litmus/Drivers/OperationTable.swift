import CLitmusDriverABI

/// The operations of one instrument, flattened for the call path: plain values only, so a
/// call reads its checks without touching reference-counted storage.
struct OperationTable {
    /// One operation's position in `params` and its result type.
    struct Shape {
        var paramStart: Int
        var paramCount: Int
        var result: ValueType
    }

    /// What the call path needs to know of one parameter to take the fast path; anything
    /// else is checked by ``ArgumentChecker`` against the full ``ParameterInfo``.
    struct Param {
        var type: ValueType
        var isOptional: Bool
        var hasChoices: Bool
        var hasRange: Bool
        var hasDefault: Bool
        var min: Double
        var max: Double
    }

    let operations: [OperationInfo]
    let shapes: [Shape]
    let params: [Param]
    let byName: [String: Int]

    init(_ operations: [OperationInfo]) {
        self.operations = operations
        var shapes: [Shape] = []
        var params: [Param] = []
        for op in operations {
            shapes.append(Shape(paramStart: params.count, paramCount: op.params.count, result: op.result))
            for p in op.params {
                params.append(
                    Param(
                        type: p.type, isOptional: p.isOptional, hasChoices: p.choices != nil, hasRange: p.range != nil,
                        hasDefault: p.defaultValue != nil, min: p.range?.lowerBound ?? 0, max: p.range?.upperBound ?? 0))
            }
        }
        self.shapes = shapes
        self.params = params
        self.byName = Dictionary(uniqueKeysWithValues: operations.enumerated().map { ($1.name, $0) })
    }

    /// Checks the arguments of operation `index`, converting losslessly where needed (an
    /// integer for an f64 parameter, an integral f64 for an i64 one), and fills every omitted
    /// argument whose parameter declares a default (``ParameterInfo/defaultValue``, e.g. a
    /// profile's `channel: {default: "1"}`): whatever answers the call (the driver, a profile, a
    /// mock standing in for either) sees the value the real table would use. Returns the
    /// arguments unchanged (no copy) when nothing needed converting or filling. Omitted
    /// optional parameters without a default are not added here:
    /// ``withCArguments(_:count:_:)`` passes them as VOID.
    func check(_ arguments: [InstrumentValue], index: Int, context: String) throws -> [InstrumentValue] {
        let shape = shapes[index]
        if arguments.isEmpty && shape.paramCount == 0 { return arguments }
        guard arguments.count <= shape.paramCount else {
            let op = operations[index]
            throw DriverError(
                .invalidArgument,
                "'\(op.name)' takes \(shape.paramCount) argument\(shape.paramCount == 1 ? "" : "s"), got \(arguments.count). Signature: \(op.signature)",
                context: context)
        }
        var out = arguments
        for i in 0..<shape.paramCount {
            let p = params[shape.paramStart + i]
            let value = i < arguments.count ? arguments[i] : .void
            if case .void = value {
                guard p.isOptional else { throw missing(index, i, context) }
                guard p.hasDefault, let fallback = operations[index].params[i].defaultValue else { continue }
                if out.count <= i { out += Array(repeating: .void, count: i + 1 - out.count) }
                out[i] = try ArgumentChecker.check(
                    fallback, against: operations[index].params[i], what: "default of '\(operations[index].name)'",
                    context: context)
                continue
            }
            // The common case: the declared type, inside its range if it has one. Anything else
            // (conversions, choices, out-of-range values and their messages) is ArgumentChecker's.
            if value.type == p.type && !p.hasChoices {
                if !p.hasRange { continue }
                if let x = value.doubleValue, x >= p.min && x <= p.max { continue }
            }
            out[i] = try ArgumentChecker.check(
                value, against: operations[index].params[i], what: "argument of '\(operations[index].name)'",
                context: context)
        }
        return out
    }

    private func missing(_ index: Int, _ i: Int, _ context: String) -> DriverError {
        let op = operations[index]
        return DriverError(
            .invalidArgument, "'\(op.name)' needs argument '\(op.params[i].name)'. Signature: \(op.signature)",
            context: context)
    }

    /// The typed result the driver set, converted losslessly to the declared type.
    func result(_ slot: UnsafeMutablePointer<ResultSlot>, index: Int, context: String) throws -> InstrumentValue {
        let declared = shapes[index].result
        let type = slot.pointee.type
        if declared == .void { return .void }
        if type == declared {
            switch type {
            case .f64: return .f64(slot.pointee.f64)
            case .i64: return .i64(slot.pointee.i64)
            case .bool: return .bool(slot.pointee.bool)
            default: return slot.pointee.value
            }
        }
        switch (declared, type) {
        case (.f64, .i64): return .f64(Double(slot.pointee.i64))
        case (.i64, .f64) where slot.pointee.f64.isFinite && slot.pointee.f64 == slot.pointee.f64.rounded()
            && abs(slot.pointee.f64) < 9.2e18:
            return .i64(Int64(slot.pointee.f64))
        case (_, .void):
            throw DriverError(
                .protocolViolation, "'\(operations[index].name)' returned no value; it is declared to return \(declared)",
                context: context)
        default:
            throw DriverError(
                .protocolViolation,
                "'\(operations[index].name)' returned \(type) \(slot.pointee.value); it is declared to return \(declared)",
                context: context)
        }
    }
}

/// Calls `body` with `values` as `count` borrowed `litmus_value`s, the missing trailing ones
/// VOID. Scalars are marshalled on the stack; strings and arrays are pinned for the call.
func withCArguments<R>(
    _ values: [InstrumentValue], count: Int, _ body: (UnsafePointer<litmus_value>?, Int) throws -> R
) rethrows -> R {
    if count == 0 { return try body(nil, 0) }
    let scalarsOnly = values.allSatisfy {
        switch $0 {
        case .void, .f64, .i64, .bool: true
        default: false
        }
    }
    if scalarsOnly {
        return try withUnsafeTemporaryAllocation(of: litmus_value.self, capacity: count) { buffer in
            for i in 0..<count {
                var v = litmus_value()
                if i < values.count {
                    switch values[i] {
                    case .f64(let x):
                        v.type = ValueType.f64.rawValue
                        v.u.f64 = x
                    case .i64(let x):
                        v.type = ValueType.i64.rawValue
                        v.u.i64 = x
                    case .bool(let x):
                        v.type = ValueType.bool.rawValue
                        v.u.boolean = x ? 1 : 0
                    default: break
                    }
                }
                buffer.initializeElement(at: i, to: v)
            }
            return try body(UnsafePointer(buffer.baseAddress), count)
        }
    }
    var collected: [litmus_value] = []
    collected.reserveCapacity(count)
    func nest(_ i: Int) throws -> R {
        if i == count { return try collected.withUnsafeBufferPointer { try body($0.baseAddress, count) } }
        let value = i < values.count ? values[i] : .void
        return try value.withCValue { v in
            collected.append(v)
            return try nest(i + 1)
        }
    }
    return try nest(0)
}
