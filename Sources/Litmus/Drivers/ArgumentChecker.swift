/// Checks a value against a declared parameter (an operation argument or an open option) before
/// it reaches a driver: type (an integer is accepted for an f64, an integral f64 for an i64),
/// range and choices. ``OperationTable`` calls it for every argument not on its fast path.
enum ArgumentChecker {
    /// Checks one value against one parameter: type, range, choices.
    static func check(
        _ value: InstrumentValue, against param: ParameterInfo, what: @autoclosure () -> String, context: String
    ) throws -> InstrumentValue {
        var converted = value
        switch (param.type, value) {
        case (.f64, .i64(let v)): converted = .f64(Double(v))
        case (.i64, .f64(let v)) where v.isFinite && v == v.rounded() && abs(v) < 9.2e18: converted = .i64(Int64(v))
        default:
            guard param.type == value.type else {
                throw DriverError(
                    .invalidArgument,
                    "\(what()) '\(param.name)' must be \(param.type), got \(value.type) \(value)",
                    context: context)
            }
        }
        if let range = param.range, let x = converted.doubleValue {
            guard !x.isNaN, range.contains(x) else {
                throw DriverError(
                    .invalidArgument,
                    "\(what()) '\(param.name)' = \(x)\(param.unit.map { " \($0)" } ?? "") is outside \(formatBound(range.lowerBound))...\(formatBound(range.upperBound))",
                    context: context)
            }
        }
        if let choices = param.choices, case .string(let s) = converted, !choices.contains(s) {
            let hint = Suggest.closest(to: s, in: choices).map { " Did you mean '\($0)'?" } ?? ""
            throw DriverError(
                .invalidArgument,
                "\(what()) '\(param.name)' = \"\(s)\" is not one of \(choices.joined(separator: ", ")).\(hint)",
                context: context)
        }
        return converted
    }
}
