/// Process capability of a series of values (in time order) against optional limits.
///
/// ```swift
/// let s = CapabilityStatistics(values: [3.29, 3.31, 3.30, 3.32], low: 3.2, high: 3.4)
/// s.cpk   // min(USL − mean, mean − LSL) / (3 × MR̄ / 1.128)
/// ```
///
/// - `sigma`: the overall sample standard deviation (n − 1), used by Pp and Ppk.
/// - `sigmaWithin`: the average moving range of consecutive values / d2 (1.128 for ranges of
///   two), the short-term sigma of an individuals chart, used by Cp and Cpk.
/// - Cp and Pp need both limits; Cpk and Ppk use the limits there are (one-sided with one).
///   All are nil with fewer than two values or a zero sigma (a sigma below 1e-12 of the mean,
///   the rounding noise of equal values, counts as zero).
public struct CapabilityStatistics: Sendable, Equatable {
    /// d2 for subgroups of two (moving ranges of consecutive values).
    public static let d2 = 1.128

    public var count: Int
    public var mean: Double
    public var sigma: Double
    public var sigmaWithin: Double?
    public var cp: Double?
    public var cpk: Double?
    public var pp: Double?
    public var ppk: Double?

    public init(values: [Double], low: Double?, high: Double?) {
        count = values.count
        let n = Double(values.count)
        mean = values.isEmpty ? .nan : values.reduce(0, +) / n
        if values.count >= 2 {
            var squares = 0.0
            for v in values { squares += (v - mean) * (v - mean) }
            sigma = (squares / (n - 1)).squareRoot()
            var ranges = 0.0
            for i in 1..<values.count { ranges += abs(values[i] - values[i - 1]) }
            sigmaWithin = ranges / (n - 1) / Self.d2
            // Equal values give a sigma of rounding noise (1e-16 of the mean), which would make
            // the indices astronomically large: below 1e-12 of the mean it is zero.
            let noise = 1e-12 * abs(mean)
            if sigma <= noise { sigma = 0 }
            if let within = sigmaWithin, within <= noise { sigmaWithin = 0 }
        } else {
            sigma = .nan
            sigmaWithin = nil
        }
        func indices(_ s: Double?) -> (spread: Double?, k: Double?) {
            guard values.count >= 2, let s, s > 0 else { return (nil, nil) }
            let spread = low.flatMap { l in high.map { h in (h - l) / (6 * s) } }
            var k: Double?
            if let high { k = (high - mean) / (3 * s) }
            if let low { k = Swift.min(k ?? .infinity, (mean - low) / (3 * s)) }
            return (spread, k)
        }
        (cp, cpk) = indices(sigmaWithin)
        (pp, ppk) = indices(sigma)
    }

    /// Counts of `values` in `bins` equal bins spanning the values and the limits.
    public static func histogram(_ values: [Double], low: Double?, high: Double?, bins: Int) -> RunMetrics.Histogram {
        var lower = ([values.min(), low].compactMap { $0 }).min() ?? 0
        var upper = ([values.max(), high].compactMap { $0 }).max() ?? 1
        if !(upper > lower) {
            lower -= 0.5
            upper += 0.5
        }
        var counts = [Int](repeating: 0, count: bins)
        let width = (upper - lower) / Double(bins)
        for v in values {
            let bin = Int(((v - lower) / width).rounded(.down))
            counts[Swift.min(Swift.max(bin, 0), bins - 1)] += 1
        }
        return RunMetrics.Histogram(lower: lower, upper: upper, counts: counts)
    }
}
