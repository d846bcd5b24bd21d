/// Checks values against declared parameters before they reach a driver, and results against
/// the declared result type after, so drivers only ever see well-typed values.
enum ArgumentChecker {
    /// Checks (and where lossless, converts) the arguments of one call.
    ///
    /// An integer is accepted for an f64 parameter; an integral f64 for an i64 parameter.
    /// The driver always receives one value per declared parameter: omitted optional
    /// parameters arrive as `.void`.
    static func check(_ arguments: [InstrumentValue], for op: OperationInfo, context: String) throws -> [InstrumentValue] {
        if arguments.isEmpty && op.params.isEmpty { return arguments }
        guard arguments.count <= op.params.count else {
            throw DriverError(
                .invalidArgument,
                "'\(op.name)' takes \(op.params.count) argument\(op.params.count == 1 ? "" : "s"), got \(arguments.count). Signature: \(op.signature)",
                context: context)
        }
        var checked: [InstrumentValue] = []
        checked.reserveCapacity(op.params.count)
        for (i, param) in op.params.enumerated() {
            let value = i < arguments.count ? arguments[i] : .void
            if case .void = value {
                guard param.isOptional else {
                    throw DriverError(
                        .invalidArgument, "'\(op.name)' needs argument '\(param.name)'. Signature: \(op.signature)",
                        context: context)
                }
                checked.append(.void)
            } else {
                checked.append(try check(value, against: param, what: "argument of '\(op.name)'", context: context))
            }
        }
        return checked
    }

    /// Checks one value against one parameter: type, range, choices.
    static func check(_ value: InstrumentValue, against param: ParameterInfo, what: String, context: String) throws
        -> InstrumentValue
    {
        var converted = value
        switch (param.type, value) {
        case (.f64, .i64(let v)): converted = .f64(Double(v))
        case (.i64, .f64(let v)) where v.isFinite && v == v.rounded() && abs(v) < 9.2e18: converted = .i64(Int64(v))
        default:
            guard param.type == value.type else {
                throw DriverError(
                    .invalidArgument,
                    "\(what) '\(param.name)' must be \(param.type), got \(value.type) \(value)",
                    context: context)
            }
        }
        if let range = param.range, let x = converted.doubleValue {
            guard !x.isNaN, range.contains(x) else {
                throw DriverError(
                    .invalidArgument,
                    "\(what) '\(param.name)' = \(x)\(param.unit.map { " \($0)" } ?? "") is outside \(formatBound(range.lowerBound))...\(formatBound(range.upperBound))",
                    context: context)
            }
        }
        if let choices = param.choices, case .string(let s) = converted, !choices.contains(s) {
            let hint = Suggest.closest(to: s, in: choices).map { " Did you mean '\($0)'?" } ?? ""
            throw DriverError(
                .invalidArgument,
                "\(what) '\(param.name)' = \"\(s)\" is not one of \(choices.joined(separator: ", ")).\(hint)",
                context: context)
        }
        return converted
    }

    /// The typed result of a call, converted losslessly to the declared type.
    static func convertResult(_ slot: ResultSlot, for op: OperationInfo, context: String) throws -> InstrumentValue {
        if op.result == .void { return .void }
        if slot.type == op.result {
            return slot.type == .f64 ? .f64(slot.f64) : slot.value
        }
        switch (op.result, slot.type) {
        case (.f64, .i64): return .f64(Double(slot.i64))
        case (.i64, .f64) where slot.f64.isFinite && slot.f64 == slot.f64.rounded() && abs(slot.f64) < 9.2e18:
            return .i64(Int64(slot.f64))
        case (_, .void):
            throw DriverError(
                .protocolViolation, "'\(op.name)' returned no value; it is declared to return \(op.result)",
                context: context)
        default:
            throw DriverError(
                .protocolViolation,
                "'\(op.name)' returned \(slot.type) \(slot.value); it is declared to return \(op.result)",
                context: context)
        }
    }
}
