/// A measurement limit: bounds, the comparator that judges a value against them, and where the
/// limit came from (a characteristic of the product spec).
///
/// A limit is checked when it is built, so a limit that would pass or fail everything is an
/// error at that point, not a wrong verdict later:
///
/// | Comparator | Passes when | Needs |
/// |---|---|---|
/// | `GELE` (default) | low ≤ v ≤ high | low or high (a missing bound is satisfied) |
/// | `GELT`, `GTLE`, `GTLT` | as named (`GT` = strictly greater) | low or high |
/// | `GE`, `GT` | v ≥ low, v > low | low only |
/// | `LE`, `LT` | v ≤ high, v < high | high only |
/// | `EQ`, `NE` | \|v − nominal\| ≤ tolerance, or not | nominal only (tolerance: see below) |
///
/// `EQ` and `NE` never compare floats exactly unless asked to: a reading computed as
/// `0.1 + 0.2` equals a nominal of `0.3`. The default tolerance is
/// ``defaultRelativeTolerance`` × |nominal| + ``defaultAbsoluteTolerance`` (1e-9 relative, so a
/// few rounding steps of a double's 2.2e-16 are absorbed at any scale, plus 1e-12 absolute for a
/// nominal of 0); give `tolerance:` to choose it (0 compares exactly). The tolerance in force
/// is recorded with each measurement (`limit_tolerance`), so a re-judge from the data gives
/// the same verdict.
///
/// ```swift
/// let rail = try Limit(low: 3.135, high: 3.465, unit: "V")
/// rail.judge(3.3)           // .passed
/// rail.judge(nil)           // .errored: no value
/// let ripple = try Limit.atMost(0.05, unit: "V")
/// let id = try Limit.equal(to: 42, tolerance: 0)          // exact
/// let sum = try Limit.equal(to: 0.3)                       // passes 0.1 + 0.2
/// ```
///
/// NaN never passes (not even `NE`); infinities compare as numbers (a DMM overload mapped to
/// +∞ fails any finite upper bound).
public struct Limit: Sendable, Equatable, CustomStringConvertible {
    public let low: Double?
    public let high: Double?
    public let nominal: Double?
    public let comparator: Comparator
    public let unit: String?
    /// For `EQ` and `NE`: the largest |value − nominal| still counted as equal, in the value's
    /// unit (the default, or the one given); 0 for the other comparators.
    public let tolerance: Double
    /// The relative part of the default `EQ`/`NE` tolerance: 1e-9 × |nominal|.
    public static let defaultRelativeTolerance = 1e-9
    /// The absolute part of the default `EQ`/`NE` tolerance, for a nominal at or near 0: 1e-12.
    /// Quantities measured on that scale (picoamps) need an explicit `tolerance`.
    public static let defaultAbsoluteTolerance = 1e-12
    /// The product-spec characteristic this limit was derived from.
    public var characteristicID: String?
    /// Where in the spec it came from: `DS-1001 §4.2 @ vin=5`.
    public var specRef: String?

    /// Builds and checks a limit.
    ///
    /// - Parameter tolerance: for `EQ` and `NE`, the largest |value − nominal| counted as
    ///   equal; nil for the default (``defaultRelativeTolerance`` × |nominal| +
    ///   ``defaultAbsoluteTolerance``), 0 for an exact comparison.
    /// - Throws: ``LimitError`` when the comparator and the fields disagree (a nominal alone
    ///   with `GELE`, `LT` without `high`, `EQ` without `nominal`, low > high), a bound is not
    ///   finite, or no value could pass.
    public init(
        low: Double? = nil, high: Double? = nil, nominal: Double? = nil, comparator: Comparator = .GELE,
        unit: String? = nil, tolerance: Double? = nil, characteristicID: String? = nil, specRef: String? = nil
    ) throws(LimitError) {
        for (name, v) in [("low", low), ("high", high), ("nominal", nominal)] {
            if let v, !v.isFinite { throw LimitError("\(name) must be a finite number, got \(v)") }
        }
        if let tolerance {
            guard tolerance.isFinite, tolerance >= 0 else {
                throw LimitError("tolerance must be a finite number >= 0, got \(tolerance)")
            }
        }
        switch comparator {
        case .GELE, .GELT, .GTLE, .GTLT:
            guard low != nil || high != nil else {
                throw LimitError(
                    nominal != nil
                        ? "a nominal alone with \(comparator.rawValue) would pass every value; give low/high, or use EQ with a tolerance"
                        : "\(comparator.rawValue) needs low, high or both")
            }
            if let low, let high {
                guard low <= high else { throw LimitError("low (\(low)) is greater than high (\(high))") }
                if low == high && comparator != .GELE {
                    throw LimitError("\(comparator.rawValue) with low == high (\(low)) passes no value; use GELE or EQ")
                }
            }
        case .GE, .GT:
            guard low != nil, high == nil else {
                throw LimitError("\(comparator.rawValue) judges against low only; give low and no high (or use GELE for a range)")
            }
        case .LE, .LT:
            guard high != nil, low == nil else {
                throw LimitError("\(comparator.rawValue) judges against high only; give high and no low (or use GELE for a range)")
            }
        case .EQ, .NE:
            guard nominal != nil, low == nil, high == nil else {
                throw LimitError("\(comparator.rawValue) judges against nominal only (with a tolerance); give nominal and no low/high")
            }
        }
        let isEquality = comparator == .EQ || comparator == .NE
        if !isEquality, let tolerance, tolerance != 0 {
            throw LimitError("tolerance applies to EQ and NE only; widen low/high instead")
        }
        self.low = low
        self.high = high
        self.nominal = nominal
        self.comparator = comparator
        self.unit = unit
        self.tolerance =
            isEquality ? tolerance ?? (Self.defaultRelativeTolerance * abs(nominal!) + Self.defaultAbsoluteTolerance) : 0
        self.characteristicID = characteristicID
        self.specRef = specRef
    }

    /// `low ≤ v ≤ high`.
    public static func between(_ low: Double, _ high: Double, unit: String? = nil, nominal: Double? = nil) throws(LimitError) -> Limit {
        try Limit(low: low, high: high, nominal: nominal, unit: unit)
    }

    /// `v ≤ high` (a one-sided maximum).
    public static func atMost(_ high: Double, unit: String? = nil) throws(LimitError) -> Limit {
        try Limit(high: high, comparator: .LE, unit: unit)
    }

    /// `v ≥ low` (a one-sided minimum).
    public static func atLeast(_ low: Double, unit: String? = nil) throws(LimitError) -> Limit {
        try Limit(low: low, comparator: .GE, unit: unit)
    }

    /// `|v − nominal| ≤ tolerance` (nil: the default tolerance; 0: exact).
    public static func equal(to nominal: Double, tolerance: Double? = nil, unit: String? = nil) throws(LimitError) -> Limit {
        try Limit(nominal: nominal, comparator: .EQ, unit: unit, tolerance: tolerance)
    }

    /// The verdict for `value`: `errored` for no value, else `passed` or `failed`.
    public func judge(_ value: Double?) -> Outcome {
        guard let v = value else { return .errored }
        if v.isNaN { return .failed }
        let pass: Bool
        switch comparator {
        case .GELE: pass = (low.map { v >= $0 } ?? true) && (high.map { v <= $0 } ?? true)
        case .GELT: pass = (low.map { v >= $0 } ?? true) && (high.map { v < $0 } ?? true)
        case .GTLE: pass = (low.map { v > $0 } ?? true) && (high.map { v <= $0 } ?? true)
        case .GTLT: pass = (low.map { v > $0 } ?? true) && (high.map { v < $0 } ?? true)
        case .GE: pass = v >= low!
        case .GT: pass = v > low!
        case .LE: pass = v <= high!
        case .LT: pass = v < high!
        case .EQ: pass = abs(v - nominal!) <= tolerance
        case .NE: pass = !(abs(v - nominal!) <= tolerance)
        }
        return pass ? .passed : .failed
    }

    public var description: String {
        let u = unit.map { " \($0)" } ?? ""
        switch comparator {
        case .EQ, .NE:
            return "\(comparator.rawValue) \(nominal!)\(tolerance > 0 ? " ± \(tolerance)" : " (exact)")\(u)"
        default:
            return "\(comparator.rawValue) [\(low.map { "\($0)" } ?? "-∞"), \(high.map { "\($0)" } ?? "+∞")]\(u)"
        }
    }
}

/// A limit whose fields contradict its comparator, or that no value could pass.
public struct LimitError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
