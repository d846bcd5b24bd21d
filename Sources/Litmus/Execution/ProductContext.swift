/// The active product spec: limits derived from a part's characteristics, with the vector's
/// parameters as band conditions, and the pin a characteristic is measured on.
///
/// ```swift
/// let product = try ProductContext.fromFile("stations/parts/buck_3v3.yaml", guardbandPct: 10)
/// let limit = try product.limit(for: "vout", conditions: ["vin": 5])
/// // GELE [3.1515..., 3.4484...] V, spec_ref "DS-1001 §4.2 @ vin=5"
/// ```
///
/// Derivation: the first band whose `when` matches (ranges inclusive; text never matches a
/// numeric range); bounds from explicit `min`/`max`, else nominal ± accuracy
/// (pct of reading, pct of range, absolute); a band with only `max` (or `min`) is one-sided
/// (`LE`/`GE`). The guardband moves each bound inward: by (high − low) × pct / 200 on a range,
/// by |bound| × pct / 100 on a one-sided bound.
public struct ProductContext: Sendable {
    public let part: Part
    /// The default guardband, in percent (0 ≤ pct < 100).
    public let guardbandPct: Double

    public init(part: Part, guardbandPct: Double = 0) throws(SpecLimitError) {
        try Self.checkGuardband(guardbandPct)
        self.part = part
        self.guardbandPct = guardbandPct
    }

    /// Loads a part file (with its `base:` inheritance).
    ///
    /// - Throws: ``ConfigReport`` with located errors, or ``SpecLimitError`` for a bad guardband.
    public static func fromFile(_ path: String, guardbandPct: Double = 0) throws -> ProductContext {
        let (part, _) = try PartLoader.load(path: path)
        return try ProductContext(part: part, guardbandPct: guardbandPct)
    }

    /// Whether the part has a characteristic called `name`.
    public func hasCharacteristic(_ name: String) -> Bool { part.characteristic(name) != nil }

    /// The limit of characteristic `name` under `conditions`, or nil when the part has no such
    /// characteristic.
    ///
    /// - Throws: ``SpecLimitError`` when the characteristic exists but no band matches the
    ///   conditions (listing the bands' conditions), or the band gives no usable bound: a test
    ///   that asked for a spec limit must not be recorded as unchecked.
    public func limit(for name: String, conditions: [String: ParamValue], guardbandPct: Double? = nil) throws(SpecLimitError) -> Limit? {
        guard let characteristic = part.characteristic(name) else { return nil }
        let pct = guardbandPct ?? self.guardbandPct
        try Self.checkGuardband(pct)
        let conds = conditions.mapValues { value -> ConditionValue in
            switch value {
            case .number(let v): .number(v)
            case .text(let s): .text(s)
            case .bool(let b): .text(b ? "true" : "false")
            }
        }
        guard let band = characteristic.band(for: conds) else {
            let whens = characteristic.bands.map { band in
                band.when.isEmpty ? "{}" : "{" + band.when.map { "\($0.key): \(Self.text($0.condition))" }.joined(separator: ", ") + "}"
            }
            throw SpecLimitError(
                "no spec band of \(part.id).\(name) matches "
                    + (conditions.isEmpty ? "no conditions" : conditions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
                    + "; bands: \(whens.joined(separator: " | "))")
        }
        var (low, high) = band.bounds(defaultNominal: characteristic.nominal)
        guard low != nil || high != nil else {
            throw SpecLimitError("the matching band of \(part.id).\(name) gives no bound (add accuracy, min or max)")
        }
        if pct > 0 {
            if let l = low, let h = high {
                let shift = (h - l) * pct / 200
                low = l + shift
                high = h - shift
            } else if let l = low {
                low = l + abs(l) * pct / 100
            } else if let h = high {
                high = h - abs(h) * pct / 100
            }
        }
        let comparator: Comparator = low != nil && high != nil ? .GELE : (low != nil ? .GE : .LE)
        // The conditions the spec depends on (keys some band's `when` names), sorted by key.
        let used = Set(characteristic.bands.flatMap { $0.when.map(\.key) })
        let shown = conditions.filter { used.contains($0.key) }.sorted { $0.key < $1.key }
        let specRef = (characteristic.datasheetRef ?? part.datasheet ?? "spec")
            + (shown.isEmpty ? "" : " @ " + shown.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        do {
            return try Limit(
                low: low, high: high, nominal: characteristic.nominal(of: band), comparator: comparator,
                unit: band.unit ?? characteristic.unit, characteristicID: name, specRef: specRef)
        } catch {
            throw SpecLimitError("the spec of \(part.id).\(name) gives an unusable limit: \(error.message)")
        }
    }

    /// The pin key a characteristic is measured on: its first pin, else the one part pin on its
    /// `net:` (nil when several pins share the net: the fixture's connection decides then).
    public func pin(for name: String) -> String? {
        guard let c = part.characteristic(name) else { return nil }
        if let first = c.pins.first { return first }
        guard let net = c.net else { return nil }
        let onNet = part.pins(onNet: net)
        return onNet.count == 1 ? onNet[0].key : nil
    }

    /// A band condition as written: `4.5...12`, `[0.1, 0.5]`, `CC`.
    static func text(_ condition: BandCondition) -> String {
        switch condition {
        case .range(let min, let max, _): "\(min.map(RangeExpander.format) ?? "")...\(max.map(RangeExpander.format) ?? "")"
        case .values(let values, _): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .equals(let value, _): value.description
        }
    }

    static func checkGuardband(_ pct: Double) throws(SpecLimitError) {
        guard pct.isFinite, pct >= 0, pct < 100 else {
            throw SpecLimitError("guardband must be at least 0 % and below 100 %, got \(pct)")
        }
    }
}

/// A spec limit that cannot be derived.
public struct SpecLimitError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
