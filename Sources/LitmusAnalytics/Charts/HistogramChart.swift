/// The distribution of a measurement against its limits: equal-width bins over the values
/// (and the limits, so both are in view), bars outside the limits in the failure colour, the
/// limits as vertical lines.
///
/// The bin count is `bins` when given, else the square root of the number of finite values,
/// between 5 and 60. NaN and infinite values are left out and counted in the note. Bins
/// counted elsewhere (``init(title:lower:upper:counts:low:high:unit:)``, e.g. the metrics'
/// capability rows over a whole lake) are drawn as given.
///
/// ```swift
/// let histogram = HistogramChart(title: "vout (V)", values: readings, low: 3.23, high: 3.37)
/// let svg = histogram.svg     // <svg class="chart histogram" data-bins="32" ...>
/// ```
public struct HistogramChart: Sendable {
    public var title: String
    public var values: [Double]
    public var low: Double?
    public var high: Double?
    public var unit: String?
    public var bins: Int?
    /// A dashed line at the mean (nil: none).
    public var mean: Double?
    public var width = 360.0
    public var height = 200.0
    /// Bins counted by the caller: their range and counts (nil: counted from ``values``).
    private var binned: (low: Double, high: Double, counts: [Int])?

    public init(title: String, values: [Double], low: Double? = nil, high: Double? = nil, unit: String? = nil, bins: Int? = nil) {
        self.title = title
        self.values = values
        self.low = low
        self.high = high
        self.unit = unit
        self.bins = bins
    }

    /// A histogram of bins already counted: equal-width bins from `lower` to `upper`.
    public init(title: String, lower: Double, upper: Double, counts: [Int], low: Double? = nil, high: Double? = nil, unit: String? = nil) {
        self.init(title: title, values: [], low: low, high: high, unit: unit)
        binned = (lower, upper > lower ? upper : lower + 1, counts.isEmpty ? [0] : counts)
    }

    /// The bin edges' range and the count per bin.
    public func counts() -> (low: Double, high: Double, counts: [Int]) {
        if let binned { return binned }
        let finite = values.filter(\.isFinite)
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        for l in [low, high] {
            if let l, l.isFinite {
                lo = Swift.min(lo, l)
                hi = Swift.max(hi, l)
            }
        }
        let scale = ChartScale(low: lo, high: hi, from: 0, to: 1)
        lo = scale.low
        hi = scale.high
        let k = bins ?? Swift.min(60, Swift.max(5, Int(Double(finite.count).squareRoot().rounded())))
        var counts = [Int](repeating: 0, count: Swift.max(1, k))
        let w = (hi - lo) / Double(counts.count)
        for v in finite {
            let b = Swift.min(counts.count - 1, Swift.max(0, Int((v - lo) / w)))
            counts[b] += 1
        }
        return (lo, hi, counts)
    }

    /// Writes the chart.
    public func render(into w: inout MarkupWriter) {
        let frame = ChartFrame(width: width, height: height, title: title)
        let (lo, hi, counts) = counts()
        let x = ChartScale(low: lo, high: hi, from: frame.plotLeft, to: frame.plotRight)
        let y = ChartScale(low: 0, high: Double(Swift.max(1, counts.max() ?? 1)) * 1.08, from: frame.plotBottom, to: frame.plotTop)
        var attributes = [("data-bins", String(counts.count))]
        if let low { attributes.append(("data-limit-low", ChartNumber.plain(low))) }
        if let high { attributes.append(("data-limit-high", ChartNumber.plain(high))) }
        frame.begin(&w, kind: "histogram", x: x, y: y, xLabel: unit.map { "value (\($0))" } ?? "value", yLabel: "count", attributes: attributes)
        let binWidth = (hi - lo) / Double(counts.count)
        for (b, count) in counts.enumerated() where count > 0 {
            let from = lo + Double(b) * binWidth, to = from + binWidth
            let outside = (low.map { to <= $0 } ?? false) || (high.map { from >= $0 } ?? false)
            w.raw("<rect class=\"bar\(outside ? " outside" : "")\" x=\"")
            w.coordinate(x.pixel(from) + 0.5)
            w.raw("\" y=\"")
            w.coordinate(y.pixel(Double(count)))
            w.raw("\" width=\"")
            w.coordinate(Swift.max(0.5, x.pixel(to) - x.pixel(from) - 1))
            w.raw("\" height=\"")
            w.coordinate(y.pixel(0) - y.pixel(Double(count)))
            w.raw("\" fill=\"")
            w.raw(outside ? ChartFrame.Color.fail : ChartFrame.Color.neutral)
            w.raw("\"><title>")
            w.text("\(ChartNumber.label(from, step: binWidth)) … \(ChartNumber.label(to, step: binWidth)): \(count)")
            w.raw("</title></rect>")
        }
        /// A full-height line at value `v` with a tooltip.
        func rule(at v: Double, class name: String, style: String, title: String) {
            w.raw("<line class=\"\(name)\" x1=\"")
            w.coordinate(x.pixel(v))
            w.raw("\" x2=\"")
            w.coordinate(x.pixel(v))
            w.raw("\" y1=\"")
            w.coordinate(frame.plotTop)
            w.raw("\" y2=\"")
            w.coordinate(frame.plotBottom)
            w.raw("\" \(style)><title>")
            w.text(title)
            w.raw("</title></line>")
        }
        for (limit, kind) in [(low, "limit-low"), (high, "limit-high")] {
            guard let l = limit, l.isFinite else { continue }
            rule(at: l, class: "limit " + kind, style: "stroke=\"\(ChartFrame.Color.limit)\" stroke-width=\"1.5\"", title: kind + " " + ChartNumber.plain(l))
        }
        if let mean, mean.isFinite, mean >= lo, mean <= hi {
            rule(at: mean, class: "mean", style: "stroke=\"\(ChartFrame.Color.nominal)\" stroke-dasharray=\"4 3\"", title: "mean " + ChartNumber.plain(mean))
        }
        let shown = counts.reduce(0, +)
        let skipped = binned == nil ? values.count - shown : 0
        frame.end(&w, note: "\(shown) values" + (skipped > 0 ? ", \(skipped) not finite" : ""))
    }

    /// The chart as SVG text.
    public var svg: String {
        var w = MarkupWriter()
        render(into: &w)
        return w.string
    }
}
