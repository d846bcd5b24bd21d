#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A linear map from data values to pixels, with "nice" tick values (1, 2, 5 × 10ⁿ).
///
/// ```swift
/// let y = ChartScale(domain: 3.1...3.5, pixels: 180...10)   // y grows downwards in SVG
/// y.pixel(3.3)          // 95
/// y.ticks(count: 5)     // [3.1, 3.2, 3.3, 3.4, 3.5]
/// ```
public struct ChartScale: Sendable {
    /// The data range, never empty (a single value is widened around itself).
    public let low: Double
    public let high: Double
    /// The pixel of `low` and of `high` (`to` may be smaller than `from`).
    public let from: Double
    public let to: Double

    /// A scale over `domain` (widened when it is one value or not finite) onto `pixels`.
    public init(domain: ClosedRange<Double>, pixels: ClosedRange<Double>) {
        self.init(low: domain.lowerBound, high: domain.upperBound, from: pixels.lowerBound, to: pixels.upperBound)
    }

    /// A scale from `low`...`high` onto `from`...`to` (`to < from` for a y axis).
    public init(low: Double, high: Double, from: Double, to: Double) {
        var lo = low.isFinite ? low : 0
        var hi = high.isFinite ? high : 1
        if hi < lo { swap(&lo, &hi) }
        if hi - lo <= Swift.max(abs(lo), abs(hi)) * 1e-12 {
            let pad = lo == 0 ? 1 : abs(lo) * 0.05
            lo -= pad
            hi += pad
        }
        self.low = lo
        self.high = hi
        self.from = from
        self.to = to
    }

    /// The pixel of `value` (values outside the domain map outside the pixel range).
    public func pixel(_ value: Double) -> Double {
        from + (value - low) / (high - low) * (to - from)
    }

    /// The domain widened by `fraction` of its width on each side (room around the data).
    public func padded(_ fraction: Double) -> ChartScale {
        let pad = (high - low) * fraction
        return ChartScale(low: low - pad, high: high + pad, from: from, to: to)
    }

    /// About `count` round values inside the domain (1, 2 or 5 × 10ⁿ apart), at least three
    /// when the domain allows.
    public func ticks(count: Int = 5) -> [Double] {
        let ticks = ticks(step: Self.niceStep((high - low) / Double(Swift.max(1, count))))
        guard ticks.count < 3 else { return ticks }
        return self.ticks(step: Self.niceStep((high - low) / Double(Swift.max(1, count) * 3)))
    }

    private func ticks(step: Double) -> [Double] {
        guard step > 0, step.isFinite else { return [low, high] }
        var out: [Double] = []
        // A tick a hair below `low` by rounding (3.1 / 0.1 = 31.000000000000004) is still `low`.
        var k = (low / step - 1e-9).rounded(.up)
        while k * step <= high + step * 1e-9, out.count < 50 {
            out.append(k * step == 0 ? 0 : k * step)
            k += 1
        }
        return out
    }

    /// The distance between ticks: `raw` rounded up to 1, 2 or 5 × 10ⁿ.
    public static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 0 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// Tick labels with as many decimals as the tick spacing needs, and none more.
    public func tickLabels(_ ticks: [Double]) -> [String] {
        let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : abs(high - low)
        return ticks.map { ChartNumber.label($0, step: step) }
    }
}

/// Numbers as charts and tables show them.
public enum ChartNumber {
    /// The shortest text that reads back as the same `Double` (`3.3012`, `1e-06`, `NaN`).
    public static func plain(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }

    /// A value as a table shows it: at most 12 significant digits, so the noise of binary
    /// floating point (`0.0045000000000000005`) does not show; ``plain(_:)`` is exact.
    public static func display(_ value: Double) -> String {
        let exact = plain(value)
        guard exact.utf8.count > 13, value.isFinite, value != 0 else { return exact }
        let exponent = log10(abs(value)).rounded(.down)
        let digits = 11 - exponent
        guard digits > -300, digits < 300 else { return exact }
        let rounded = digits >= 0 ? (value * pow(10, digits)).rounded() / pow(10, digits) : (value / pow(10, -digits)).rounded() * pow(10, -digits)
        return rounded.isFinite ? plain(rounded) : exact
    }

    /// `value` rounded to the decimals that `step` (the spacing of neighbouring labels) needs:
    /// `label(3.25, step: 0.05)` is `3.25`, `label(1200, step: 200)` is `1200`; very large or
    /// small values in engineering form (`1.5e-06`).
    public static func label(_ value: Double, step: Double) -> String {
        guard value.isFinite else { return plain(value) }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e7 || (magnitude < 1e-4) {
            return scientific(value, digits: 3)
        }
        let decimals = step > 0 && step.isFinite ? Swift.max(0, Swift.min(10, Int((-log10(step)).rounded(.up)) + 1)) : 3
        return fixed(value, decimals: decimals)
    }

    /// `value` with `decimals` decimals, trailing zeros removed.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        let scale = pow(10, Double(decimals))
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return plain(value) }
        let integer = Int64(scaled)
        let divisor = Int64(scale)
        var text = String(integer / divisor)
        let fraction = integer % divisor
        if decimals > 0 && fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: decimals - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return (value < 0 && integer != 0 ? "-" : "") + text
    }

    /// `value` as `m.mmme±x` with `digits` significant digits.
    public static func scientific(_ value: Double, digits: Int) -> String {
        guard value != 0, value.isFinite else { return plain(value) }
        var exponent = Int(log10(abs(value)).rounded(.down))
        var mantissa = value / pow(10, Double(exponent))
        if abs(mantissa) >= 10 - 0.5 * pow(10, Double(1 - digits)) {
            exponent += 1
            mantissa /= 10
        }
        return fixed(mantissa, decimals: digits - 1) + "e" + (exponent < 0 ? "-" : "") + String(abs(exponent))
    }
}
