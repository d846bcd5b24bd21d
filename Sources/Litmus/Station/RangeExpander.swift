import Foundation

/// A range string or generator that cannot be expanded. `message` says what is wrong, quotes the
/// offending text, and says how to fix it.
public struct RangeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Expands ranges written in configuration files into lists of numbers.
///
/// Two forms exist: SCPI-style range strings (``values(of:)``, also used for the `range`
/// generator) and list generators (``generate(_:_:)``: `linspace`, `arange`, `logspace`,
/// `geomspace`, `repeat`).
///
/// Deliberate differences from the Python original, which had these bugs:
/// - **No drift.** Points are never accumulated (`x += step`). When start, stop and step are
///   short decimals, the range is computed with integers scaled by a common power of ten, so
///   `"0:100:0.01"` has exactly 10001 points ending exactly at 100, and every point equals the
///   `Double` its decimal text reads as (`"0.1:0.3:0.1"` gives `[0.1, 0.2, 0.3]`, and the last is
///   `Double("0.3")`, not `0.30000000000000004`). Other input falls back to `start + i*step`
///   with a tolerance of `1e-9*|step|` at the stop.
/// - **No silent empty ranges.** A step of zero, a step pointing away from the stop, or an
///   `arange` with no values is an error, never an empty list.
/// - **Strict syntax.** Empty strings, empty parts (`"1,,2"`), empty fields (`"1::2"`), more
///   than three fields (`"1:2:3:4"`), non-numbers, NaN and infinity are errors.
/// - **Bounded size.** More than ``maximumCount`` values is an error, checked before any
///   allocation.
public enum RangeExpander {
    /// The single-key generator mappings a list may be written as.
    public static let generators: Set<String> = ["linspace", "arange", "logspace", "geomspace", "repeat", "range"]

    /// The most values one range string or generator may produce.
    static let maximumCount = 1_000_000

    // MARK: - Range strings

    /// Values of an SCPI-style range string such as `"0:1:0.25"` or `"-40:125:55, 150"`.
    ///
    /// Grammar: comma-separated parts, whitespace allowed around parts and colons. A part is
    /// - `a`: the single value `a`;
    /// - `a:b`: from `a` towards `b` in steps of 1 (or -1 when `b < a`); `b` is included when it
    ///   is on the grid (`"1:3"` is `[1, 2, 3]`, `"5:1"` is `[5, 4, 3, 2, 1]`, `"0.5:3"` is
    ///   `[0.5, 1.5, 2.5]`);
    /// - `a:b:s`: from `a` towards `b` in steps of `s`; `b` is included when it is on the grid
    ///   (`"-40:125:55"` is `[-40, 15, 70, 125]`, `"5:1:-2"` is `[5, 3, 1]`). `a:a:s` is `[a]`.
    ///
    /// Numbers are decimals (`1`, `-0.25`, `.5`, `1e-3`). Point `i` is `a + i*s` computed exactly
    /// in decimal when the three numbers are short decimals (up to 18 significant digits), so
    /// each point is the `Double` nearest to its exact decimal value; otherwise it is
    /// `a + i*s` in floating point, and a point within `1e-9*|s|` of `b` counts as `b` (and is
    /// returned as exactly `b`).
    ///
    /// Errors: an empty string, an empty part or field, a part with more than three fields, a
    /// field that is not a number, NaN or infinity, a zero step, a step pointing away from the
    /// stop (which would give no values), and more than 1,000,000 values in total.
    public static func values(of text: String) throws(RangeError) -> [Double] {
        let whole = trimmed(Substring(text))
        guard !whole.isEmpty else {
            throw RangeError(message: "empty range string; write values such as \"0:1:0.25\" or \"1, 2, 5\"")
        }
        var out: [Double] = []
        for rawPart in whole.split(separator: ",", omittingEmptySubsequences: false) {
            let part = trimmed(rawPart)
            guard !part.isEmpty else {
                throw RangeError(
                    message: "empty part in range \"\(text)\": remove the extra comma or put a value between the commas")
            }
            let budget = maximumCount - out.count
            do throws(RangeError) {
                out.append(contentsOf: try partValues(String(part), budget: budget))
            } catch {
                guard error.message == tooManyPrefix else { throw error }
                throw RangeError(
                    message: "range \"\(text)\" expands to \(tooManyPrefix) (at part \"\(part)\"); "
                        + "use a larger step or a shorter range")
            }
        }
        return out
    }

    private static let tooManyPrefix = "more than \(maximumCount) values"

    private static var tooMany: RangeError { RangeError(message: tooManyPrefix) }

    /// The values of one part: `a`, `a:b` or `a:b:s`, at most `budget` of them.
    private static func partValues(_ part: String, budget: Int) throws(RangeError) -> [Double] {
        let rawFields = part.split(separator: ":", omittingEmptySubsequences: false).map { trimmed($0) }
        guard rawFields.count <= 3 else {
            throw RangeError(
                message: "range part \"\(part)\" has \(rawFields.count) fields; write a value, start:stop or start:stop:step")
        }
        var fields: [Written] = []
        for raw in rawFields {
            guard !raw.isEmpty else {
                throw RangeError(message: "range part \"\(part)\" has an empty field; write a value, start:stop or start:stop:step")
            }
            guard let number = parseNumber(raw) else {
                throw RangeError(
                    message: "\"\(raw)\" in range part \"\(part)\" is not a number; write a decimal such as 5, -0.25 or 1e-3")
            }
            guard number.value.isFinite else {
                throw RangeError(
                    message: "\"\(raw)\" in range part \"\(part)\" is not a finite number; NaN and infinity are not allowed")
            }
            fields.append(number)
        }
        guard budget >= 1 else { throw tooMany }
        if fields.count == 1 { return [fields[0].value] }

        let start = fields[0], stop = fields[1], step = fields.count == 3 ? fields[2] : nil
        let stepText = fields.count == 3 ? String(rawFields[2]) : nil
        if let step, step.value == 0 {
            throw RangeError(message: "the step of range part \"\(part)\" is zero; use a non-zero step such as 0:1:0.25")
        }
        func away() -> RangeError {
            let flipped = stepText.map { $0.hasPrefix("-") ? String($0.dropFirst()) : "-" + $0.drop { $0 == "+" } } ?? ""
            return RangeError(
                message: "the step \(stepText ?? "") of range part \"\(part)\" points away from the stop, so the range "
                    + "would be empty; use the step \(flipped) or swap start and stop")
        }

        // Exact decimal arithmetic when all numbers are short decimals.
        if let exact = commonScale([start.decimal, stop.decimal] + (step.map { [$0.decimal] } ?? [])) {
            let a = exact.integers[0], b = exact.integers[1]
            let (diff, overflow) = b.subtractingReportingOverflow(a)
            if !overflow {
                if diff == 0 { return [start.value] }
                let s: Int64
                if exact.integers.count == 3 {
                    s = exact.integers[2]
                    if s == 0 {
                        throw RangeError(message: "the step of range part \"\(part)\" is zero; use a non-zero step such as 0:1:0.25")
                    }
                    if (diff > 0) != (s > 0) { throw away() }
                } else if exact.scale < exactTens.count {
                    s = diff > 0 ? exactTens[exact.scale] : -exactTens[exact.scale]
                } else {
                    s = 0  // a step of 1 does not fit at this scale: use floating point
                }
                if s != 0 {
                    let count = diff.magnitude / s.magnitude + 1
                    guard count <= UInt64(budget) else { throw tooMany }
                    return decimalSequence(start: a, step: s, count: Int(count), scale: exact.scale)
                }
            }
        }

        // Floating point, with a tolerance at the stop.
        let a = start.value, b = stop.value
        if a == b { return [a] }
        let s = step?.value ?? (b > a ? 1 : -1)
        if (b > a) != (s > 0) { throw away() }
        let diff = b - a
        let q = diff.isFinite ? diff / s : b / s - a / s
        guard q.isFinite, q + 1e-9 < Double(budget) else { throw tooMany }
        let count = Int((q + 1e-9).rounded(.down)) + 1
        var out = (0..<count).map { i in
            let v = a + Double(i) * s
            // i*s may overflow even when the point does not: halve, add, double.
            return v.isFinite ? v : (a / 2 + Double(i) * (s / 2)) * 2
        }
        if abs(out[count - 1] - b) <= 1e-9 * abs(s) { out[count - 1] = b }
        guard out.allSatisfy(\.isFinite) else {
            throw RangeError(message: "range part \"\(part)\" overflows the range of Double; use smaller numbers")
        }
        return out
    }

    // MARK: - Generators

    /// Values of a generator (`linspace`, `arange`, `logspace`, `geomspace`, `repeat`).
    ///
    /// - `linspace [start, stop, count]`: `count` evenly spaced values from `start` to `stop`
    ///   inclusive; the first is exactly `start`, the last exactly `stop`; `count` 1 gives
    ///   `[start]`.
    /// - `arange [start, stop, step]`: from `start` in steps of `step`, excluding `stop` (as in
    ///   numpy); an empty result is an error.
    /// - `logspace [startExponent, stopExponent, count]`: `10^x` for `x` in
    ///   `linspace [startExponent, stopExponent, count]`; integral exponents give exact powers of
    ///   ten.
    /// - `geomspace [start, stop, count]`: a geometric sequence from `start` to `stop` (both
    ///   non-zero and of the same sign), endpoints exact.
    /// - `repeat [value, count]`: `value`, `count` times.
    ///
    /// `linspace` and `arange` read their arguments as the shortest decimal text of each
    /// (`0.1` is 0.1, not 0.1000000000000000055) and compute exactly in decimal where possible,
    /// so `arange [0, 1, 0.1]` is `[0, 0.1, ..., 0.9]` with each value equal to its decimal text
    /// and `linspace [0, 1, 11]` ends in exactly 1 (no drift; the Python original accumulated).
    ///
    /// Counts must be whole numbers from 1 to 1,000,000. A wrong number of arguments, NaN or
    /// infinite arguments, and an unknown name are errors. `range` takes a string, not a list:
    /// call ``values(of:)`` for it; `generate("range", ...)` is an error saying so.
    public static func generate(_ name: String, _ arguments: [Double]) throws(RangeError) -> [Double] {
        func expect(_ n: Int, _ shape: String) throws(RangeError) {
            guard arguments.count == n else {
                throw RangeError(
                    message: "\(name) takes \(n) arguments \(shape), got \(arguments.count): \(list(arguments))")
            }
        }
        guard arguments.allSatisfy(\.isFinite) else {
            throw RangeError(message: "\(name) arguments must be finite numbers, got \(list(arguments)); NaN and infinity are not allowed")
        }
        switch name {
        case "linspace":
            try expect(3, "[start, stop, count]")
            return linspace(arguments[0], arguments[1], try count(arguments[2], of: name))
        case "arange":
            try expect(3, "[start, stop, step]")
            return try arange(arguments[0], arguments[1], arguments[2])
        case "logspace":
            try expect(3, "[startExponent, stopExponent, count]")
            return try logspace(arguments[0], arguments[1], try count(arguments[2], of: name))
        case "geomspace":
            try expect(3, "[start, stop, count]")
            return try geomspace(arguments[0], arguments[1], try count(arguments[2], of: name))
        case "repeat":
            try expect(2, "[value, count]")
            return Array(repeating: arguments[0], count: try count(arguments[1], of: name))
        case "range":
            throw RangeError(
                message: "range takes a range string, not a list of numbers: write it as {range: \"0:1:0.25\"}")
        default:
            throw RangeError(
                message: "unknown generator \"\(name)\"; known generators: \(generators.sorted().joined(separator: ", "))")
        }
    }

    /// A count argument: a whole number from 1 to ``maximumCount``.
    private static func count(_ v: Double, of name: String) throws(RangeError) -> Int {
        guard v == v.rounded() else {
            throw RangeError(message: "\(name): the count must be a whole number, got \(format(v))")
        }
        guard v >= 1 else { throw RangeError(message: "\(name): the count must be at least 1, got \(format(v))") }
        guard v <= Double(maximumCount) else {
            throw RangeError(message: "\(name): a count of \(format(v)) is \(tooManyPrefix); use a smaller count")
        }
        return Int(v)
    }

    private static func list(_ values: [Double]) -> String { "[" + values.map(format).joined(separator: ", ") + "]" }

    static func linspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
        if count == 1 { return [start] }
        let div = count - 1
        // Exact decimal: raise the scale until the span divides evenly into `div` steps.
        if let exact = commonScale([decimal(of: start), decimal(of: stop)]) {
            let a = exact.integers[0], b = exact.integers[1]
            let (span, overflow) = b.subtractingReportingOverflow(a)
            if !overflow {
                var extra = 0
                while exact.scale + extra <= maximumScale, extra < exactTens.count {
                    let p = exactTens[extra]
                    let (scaledSpan, o1) = span.multipliedReportingOverflow(by: p)
                    let (scaledStart, o2) = a.multipliedReportingOverflow(by: p)
                    if o1 || o2 { break }
                    if scaledSpan % Int64(div) == 0 {
                        return decimalSequence(
                            start: scaledStart, step: scaledSpan / Int64(div), count: count, scale: exact.scale + extra)
                    }
                    extra += 1
                }
            }
        }
        // Floating point: i*span/div (correctly rounded for start 0), endpoints exact.
        let span = stop - start
        let d = Double(div)
        var out = [Double]()
        out.reserveCapacity(count)
        for i in 0..<count {
            if i == 0 {
                out.append(start)
            } else if i == div {
                out.append(stop)
            } else if span.isFinite {
                let x = Double(i) * span
                out.append(x.isFinite ? start + x / d : start + span / d * Double(i))
            } else {
                let t = Double(i) / d
                out.append(start * (1 - t) + stop * t)
            }
        }
        return out
    }

    private static func arange(_ start: Double, _ stop: Double, _ step: Double) throws(RangeError) -> [Double] {
        let args = list([start, stop, step])
        guard step != 0 else { throw RangeError(message: "arange \(args): the step is zero; use a non-zero step") }
        let empty = RangeError(
            message: "arange \(args) is empty: the stop is excluded and the step must point from start towards stop; "
                + "use a step of the other sign, swap start and stop, or use linspace")
        if stop == start || (stop > start) != (step > 0) { throw empty }
        if let exact = commonScale([decimal(of: start), decimal(of: stop), decimal(of: step)]) {
            let a = exact.integers[0], b = exact.integers[1], s = exact.integers[2]
            let (diff, overflow) = b.subtractingReportingOverflow(a)
            if !overflow, s != 0 {
                if diff == 0 || (diff > 0) != (s > 0) { throw empty }
                let m = diff.magnitude, sm = s.magnitude
                let n = m / sm + (m % sm == 0 ? 0 : 1)
                guard n <= UInt64(maximumCount) else {
                    throw RangeError(message: "arange \(args) gives \(tooManyPrefix); use a larger step")
                }
                return decimalSequence(start: a, step: s, count: Int(n), scale: exact.scale)
            }
        }
        let diff = stop - start
        let q = diff.isFinite ? diff / step : stop / step - start / step
        guard q.isFinite, q - 1e-9 <= Double(maximumCount) else {
            throw RangeError(message: "arange \(args) gives \(tooManyPrefix); use a larger step")
        }
        let n = Int((q - 1e-9).rounded(.up))
        guard n >= 1 else { throw empty }
        let out = (0..<n).map { start + Double($0) * step }
        guard out.allSatisfy(\.isFinite) else {
            throw RangeError(message: "arange \(args) overflows the range of Double; use smaller numbers")
        }
        return out
    }

    private static func logspace(_ first: Double, _ last: Double, _ count: Int) throws(RangeError) -> [Double] {
        var out = [Double]()
        out.reserveCapacity(count)
        for x in linspace(first, last, count) {
            let v = tenToThe(x)
            guard v.isFinite, v != 0 else {
                throw RangeError(
                    message: "logspace [\(format(first)), \(format(last)), \(count)]: 10^\(format(x)) is outside the "
                        + "range of Double; use exponents between -307 and 308")
            }
            out.append(v)
        }
        return out
    }

    private static func geomspace(_ start: Double, _ stop: Double, _ count: Int) throws(RangeError) -> [Double] {
        let args = "[\(format(start)), \(format(stop)), \(count)]"
        guard start != 0, stop != 0 else {
            throw RangeError(
                message: "geomspace \(args): start and stop must be non-zero (a geometric sequence cannot reach 0); "
                    + "use linspace, or logspace for powers of ten")
        }
        guard (start > 0) == (stop > 0) else {
            throw RangeError(
                message: "geomspace \(args): start and stop must have the same sign; use linspace to cross zero")
        }
        if count == 1 { return [start] }
        let div = count - 1
        let ratio = stop / start
        var out = [Double]()
        out.reserveCapacity(count)
        let power = ratio.isNormal ? Int(log10(ratio).rounded()) : 0
        if ratio.isNormal, tenToThe(Double(power)) == ratio {
            // A ratio of exactly 10^power: integral exponents give start×10^k exactly in decimal.
            let digits = decimal(of: start)
            for i in 0..<count {
                let (e, r) = (power * i).quotientAndRemainder(dividingBy: div)
                if r == 0 {
                    out.append(Double(digits.text(timesTenToThe: e))!)
                } else {
                    out.append(start * pow(10, Double(power * i) / Double(div)))
                }
            }
        } else if ratio.isNormal {
            for i in 0..<count { out.append(start * pow(ratio, Double(i) / Double(div))) }
        } else {
            // The ratio over- or underflows: interpolate the logarithms.
            let l0 = log10(abs(start)), l1 = log10(abs(stop))
            let sign: Double = start < 0 ? -1 : 1
            for x in linspace(l0, l1, count) { out.append(sign * pow(10, x)) }
        }
        out[0] = start
        out[div] = stop
        guard out.allSatisfy({ $0.isFinite && $0 != 0 }) else {
            throw RangeError(message: "geomspace \(args) leaves the range of Double; use a smaller ratio")
        }
        return out
    }

    /// 10^x; exact (correctly rounded) for integral x.
    private static func tenToThe(_ x: Double) -> Double {
        guard x == x.rounded(), abs(x) <= 400 else { return pow(10, x) }
        let k = Int(x)
        if k >= 0, k < exactPowersOfTen.count { return exactPowersOfTen[k] }
        return Double("1e\(k)")!
    }

    // MARK: - Formatting

    /// The shortest text that reads back as `v` (`5`, `-40`, `0.1`, `-2.5e-07`, `1e+16`):
    /// Swift's shortest round-trip representation, without the `.0` of integral values, so
    /// `Double(format(v)) == v` for every finite `v`. NaN and infinity are never passed.
    public static func format(_ v: Double) -> String {
        var s = v.description
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    // MARK: - Decimal numbers

    /// A decimal number as written: `±digits × 10^exponent`, without leading or trailing zeros
    /// in `digits` (empty for zero).
    struct DecimalText {
        var negative: Bool
        var digits: [UInt8]
        var exponent: Int

        /// The text of this number times 10^k, e.g. `"-15e-3"`.
        func text(timesTenToThe k: Int) -> String {
            if digits.isEmpty { return "0" }
            return (negative ? "-" : "") + String(decoding: digits, as: UTF8.self) + "e\(exponent + k)"
        }

        /// `significand / 10^scale` with `scale >= 0`, when it fits in Int64 and `scale` is at
        /// most ``maximumScale``.
        var scaled: (significand: Int64, scale: Int)? {
            if digits.isEmpty { return (0, 0) }
            guard digits.count <= 18 else { return nil }
            var m: Int64 = 0
            for d in digits { m = m * 10 + Int64(d &- 48) }
            if negative { m = -m }
            if exponent >= 0 {
                guard exponent < exactTens.count else { return nil }
                let (v, overflow) = m.multipliedReportingOverflow(by: exactTens[exponent])
                return overflow ? nil : (v, 0)
            }
            return -exponent <= maximumScale ? (m, -exponent) : nil
        }
    }

    /// A number field: its value and its decimal text.
    struct Written {
        var value: Double
        var decimal: DecimalText
    }

    /// The largest number of fraction digits the exact decimal arithmetic handles.
    static let maximumScale = 40

    /// 10^0 ... 10^18 as Int64.
    static let exactTens: [Int64] = (0...18).map { (k: Int) -> Int64 in (0..<k).reduce(Int64(1)) { p, _ in p * 10 } }

    /// 10^0 ... 10^22, all exactly representable as Double.
    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses `[+-]digits[.digits][e[+-]digits]` (either digit run may be empty, not both);
    /// nil when the text does not have that form. The value may be infinite ("1e999").
    static func parseNumber(_ text: Substring) -> Written? {
        let bytes = Array(text.utf8)
        var i = 0
        func isDigit(_ j: Int) -> Bool { j < bytes.count && bytes[j] >= 48 && bytes[j] <= 57 }
        var negative = false
        if i < bytes.count, bytes[i] == 43 || bytes[i] == 45 {  // + -
            negative = bytes[i] == 45
            i += 1
        }
        var digits: [UInt8] = []
        var mantissaDigits = 0, fractionDigits = 0
        while isDigit(i) {
            digits.append(bytes[i])
            mantissaDigits += 1
            i += 1
        }
        if i < bytes.count, bytes[i] == 46 {  // .
            i += 1
            while isDigit(i) {
                digits.append(bytes[i])
                mantissaDigits += 1
                fractionDigits += 1
                i += 1
            }
        }
        guard mantissaDigits > 0 else { return nil }
        var exponent = 0
        if i < bytes.count, bytes[i] == 101 || bytes[i] == 69 {  // e E
            i += 1
            var exponentNegative = false
            if i < bytes.count, bytes[i] == 43 || bytes[i] == 45 {
                exponentNegative = bytes[i] == 45
                i += 1
            }
            guard isDigit(i) else { return nil }
            while isDigit(i) {
                exponent = min(exponent * 10 + Int(bytes[i] - 48), 100_000_000)  // saturates
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        guard i == bytes.count, let value = Double(String(text)) else { return nil }
        // Normalise: strip leading and trailing zeros.
        var scale = fractionDigits - exponent
        let firstNonZero = digits.firstIndex { $0 != 48 } ?? digits.count
        digits.removeFirst(firstNonZero)
        while let last = digits.last, last == 48 {
            digits.removeLast()
            scale -= 1
        }
        if digits.isEmpty { scale = 0 }
        return Written(value: value, decimal: DecimalText(negative: negative, digits: digits, exponent: -scale))
    }

    /// The decimal text of `v` (its shortest round-trip form).
    static func decimal(of v: Double) -> DecimalText {
        parseNumber(Substring(format(v)))!.decimal
    }

    /// The numbers as integers at one common scale, or nil when they do not fit.
    static func commonScale(_ numbers: [DecimalText]) -> (integers: [Int64], scale: Int)? {
        var parts: [(significand: Int64, scale: Int)] = []
        for n in numbers {
            guard let s = n.scaled else { return nil }
            parts.append(s)
        }
        let scale = parts.map(\.scale).max() ?? 0
        var integers: [Int64] = []
        for p in parts {
            let shift = scale - p.scale
            guard shift < exactTens.count else { return nil }
            let (v, overflow) = p.significand.multipliedReportingOverflow(by: exactTens[shift])
            if overflow { return nil }
            integers.append(v)
        }
        return (integers, scale)
    }

    /// `(start + i*step) / 10^scale` for `i` in `0..<count`, each the Double nearest to the exact
    /// decimal. All intermediate integers lie between the first and the last, so none overflows.
    static func decimalSequence(start: Int64, step: Int64, count: Int, scale: Int) -> [Double] {
        let last = start + Int64(count - 1) * step
        if scale < exactPowersOfTen.count, start.magnitude <= 1 << 53, last.magnitude <= 1 << 53 {
            // The fast path for every point (the integers lie between the first and the last).
            let p = exactPowersOfTen[scale]
            return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
                var n = start
                for i in 0..<count {
                    buffer[i] = Double(n) / p
                    n &+= step
                }
                initialized = count
            }
        }
        var out = [Double]()
        out.reserveCapacity(count)
        var n = start
        for i in 0..<count {
            if i > 0 { n += step }
            out.append(decimalValue(n, scale: scale))
        }
        return out
    }

    /// The Double nearest to `n / 10^scale`.
    static func decimalValue(_ n: Int64, scale: Int) -> Double {
        // Both operands exact, so one correctly rounded division gives the nearest Double.
        if scale < exactPowersOfTen.count, n.magnitude <= 1 << 53 { return Double(n) / exactPowersOfTen[scale] }
        if scale == 0 { return Double(n) }
        return Double("\(n)e-\(scale)")!
    }

    private static func trimmed(_ s: Substring) -> Substring {
        var t = s
        while let c = t.first, c.isWhitespace { t.removeFirst() }
        while let c = t.last, c.isWhitespace { t.removeLast() }
        return t
    }
}
