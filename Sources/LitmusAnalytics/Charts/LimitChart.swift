/// One measurement against its limits across a sweep: a point per measurement, in sweep
/// order, coloured by verdict, over the low / high (and nominal) limit lines, which step with
/// the sweep when the limit changes from vector to vector (spec bands by stimulus).
///
/// Attempts that a retry superseded are drawn hollow and grey. Past one point per three
/// pixels the points are decimated per pixel column (``MinMaxDecimator``) into a min/max bar,
/// the limits into the column's tightest limit, and failing points are still drawn one by
/// one, so a long sweep stays a small SVG and no failure disappears.
///
/// ```swift
/// let chart = LimitChart(title: "vout (V)", points: [
///     .init(value: 3.30, low: 3.23, high: 3.37, verdict: "passed", tick: "0"),
///     .init(value: 3.41, low: 3.23, high: 3.37, verdict: "failed", tick: "1"),
/// ])
/// let svg = chart.svg     // <svg class="chart limit-chart" data-limit-low="3.23" ...>
/// ```
public struct LimitChart: Sendable {
    /// One measurement.
    public struct Point: Sendable {
        public var value: Double?
        public var low: Double?
        public var high: Double?
        public var nominal: Double?
        /// The measurement's outcome (`passed`, `failed`, `errored`...), its colour and class.
        public var verdict: String
        /// False for an attempt that a retry superseded.
        public var isFinal: Bool
        /// The x-axis label of the point (a vector number).
        public var tick: String
        /// A tooltip (the stimulus, the limit).
        public var detail: String?

        public init(
            value: Double?, low: Double? = nil, high: Double? = nil, nominal: Double? = nil, verdict: String,
            isFinal: Bool = true, tick: String, detail: String? = nil
        ) {
            self.value = value
            self.low = low
            self.high = high
            self.nominal = nominal
            self.verdict = verdict
            self.isFinal = isFinal
            self.tick = tick
            self.detail = detail
        }
    }

    public var title: String
    public var points: [Point]
    public var unit: String?
    /// The x axis's name.
    public var xLabel = "vector, in sweep order"
    public var width = 720.0
    public var height = 200.0
    /// Extra `data-*` attributes of the `<svg>` (the report puts the step and the name there).
    public var attributes: [(String, String)] = []

    public init(title: String, points: [Point], unit: String? = nil) {
        self.title = title
        self.points = points
        self.unit = unit
    }

    /// The colour of a verdict.
    public static func color(_ verdict: String) -> String {
        switch verdict {
        case "passed": ChartFrame.Color.pass
        case "failed": ChartFrame.Color.fail
        case "done", "skipped": ChartFrame.Color.neutral
        default: ChartFrame.Color.error
        }
    }

    /// The constant value of a limit over the points, nil when it varies or is absent.
    static func constant(_ values: [Double?]) -> Double?? {
        guard let first = values.first else { return .some(nil) }
        for v in values where v != first { return nil }
        return .some(first)
    }

    /// Writes the chart.
    public func render(into w: inout MarkupWriter) {
        let frame = ChartFrame(width: width, height: height, title: title)
        let n = points.count
        var lo = Double.infinity, hi = -Double.infinity
        var notPlotted = 0
        for p in points {
            if let v = p.value, v.isFinite {
                lo = Swift.min(lo, v)
                hi = Swift.max(hi, v)
            } else {
                notPlotted += 1
            }
            for l in [p.low, p.high, p.nominal] {
                if let l, l.isFinite {
                    lo = Swift.min(lo, l)
                    hi = Swift.max(hi, l)
                }
            }
        }
        if lo > hi { (lo, hi) = (0, 1) }
        let y = ChartScale(low: lo, high: hi, from: frame.plotBottom, to: frame.plotTop).padded(0.08)
        let x = ChartScale(low: -0.5, high: Double(n) - 0.5, from: frame.plotLeft, to: frame.plotRight)

        // Limits: constant ones are stated on the element, varying ones per point.
        var attributes = attributes
        attributes.append(("data-points", String(n)))
        let lows = points.map(\.low), highs = points.map(\.high)
        var limitText: [String] = []
        if case .some(let low) = Self.constant(lows) {
            if let low {
                attributes.append(("data-limit-low", ChartNumber.plain(low)))
                limitText.append("low \(ChartNumber.display(low))")
            }
        } else {
            attributes.append(("data-limit-low", "varies"))
            limitText.append("low varies")
        }
        if case .some(let high) = Self.constant(highs) {
            if let high {
                attributes.append(("data-limit-high", ChartNumber.plain(high)))
                limitText.append("high \(ChartNumber.display(high))")
            }
        } else {
            attributes.append(("data-limit-high", "varies"))
            limitText.append("high varies")
        }

        // x ticks: at most one label per 40 pixels.
        let every = Swift.max(1, Int((Double(n) * 40 / (frame.plotRight - frame.plotLeft)).rounded(.up)))
        let ticks = stride(from: 0, to: n, by: every).map { (Double($0), points[$0].tick) }
        frame.begin(&w, kind: "limit-chart", x: x, y: y, xLabel: xLabel, yLabel: unit, xTicks: ticks, attributes: attributes)

        let columns = frame.plotColumns
        let decimate = n * 3 > columns
        let groups = decimate ? columns : n
        func range(_ c: Int) -> Range<Int> { decimate ? MinMaxDecimator.indices(ofColumn: c, columns: columns, count: n) : c..<(c + 1) }
        func left(_ c: Int) -> Double { decimate ? frame.plotLeft + Double(c) * (frame.plotRight - frame.plotLeft) / Double(groups) : x.pixel(Double(c) - 0.5) }
        func right(_ c: Int) -> Double { decimate ? frame.plotLeft + Double(c + 1) * (frame.plotRight - frame.plotLeft) / Double(groups) : x.pixel(Double(c) + 0.5) }

        // Limit lines: per group the tightest limit, as steps.
        for (kind, pick, tighter, dashed) in [
            ("limit-low", \Point.low, { (a: Double, b: Double) in Swift.max(a, b) }, false),
            ("limit-high", \Point.high, { (a: Double, b: Double) in Swift.min(a, b) }, false),
            ("limit-nominal", \Point.nominal, { (a: Double, _: Double) in a }, true),
        ] as [(String, KeyPath<Point, Double?>, (Double, Double) -> Double, Bool)] {
            var path = MarkupWriter(capacity: 256)
            var pen = false
            var any = false
            for c in 0..<groups {
                var value: Double?
                for i in range(c) {
                    if let l = points[i][keyPath: pick], l.isFinite { value = value.map { tighter($0, l) } ?? l }
                }
                guard let value else {
                    pen = false
                    continue
                }
                any = true
                path.raw(pen ? "L" : "M")
                path.coordinate(left(c))
                path.raw(",")
                path.coordinate(y.pixel(value))
                path.raw("H")
                path.coordinate(right(c))
                pen = true
            }
            guard any else { continue }
            w.raw("<path class=\"limit \(kind)\" fill=\"none\" stroke=\"")
            w.raw(dashed ? ChartFrame.Color.nominal : ChartFrame.Color.limit)
            w.raw(dashed ? "\" stroke-dasharray=\"4 3\" stroke-width=\"1\" d=\"" : "\" stroke-width=\"1.5\" d=\"")
            w.append(path)
            w.raw("\"/>")
        }

        if !decimate {
            for (i, p) in points.enumerated() {
                guard let v = p.value, v.isFinite else { continue }
                let color = Self.color(p.verdict)
                w.raw("<circle class=\"pt v-")
                w.text(p.verdict)
                w.raw(p.isFinal ? "\"" : " superseded\"")
                w.raw(" cx=\"")
                w.coordinate(x.pixel(Double(i)))
                w.raw("\" cy=\"")
                w.coordinate(y.pixel(v))
                w.raw(p.isFinal ? "\" r=\"3.5\" fill=\"" : "\" r=\"3.5\" fill=\"#ffffff\" stroke=\"")
                w.raw(p.isFinal ? color : ChartFrame.Color.superseded)
                w.raw("\"><title>")
                w.text(p.tick + ": " + ChartNumber.display(v) + (unit.map { " " + $0 } ?? "") + " " + p.verdict + (p.isFinal ? "" : " (superseded by a retry)") + (p.detail.map { "\n" + $0 } ?? ""))
                w.raw("</title></circle>")
            }
        } else {
            // A bar per column from its smallest to its largest value, then every failure.
            w.raw("<path class=\"envelope\" stroke=\"\(ChartFrame.Color.neutral)\" stroke-width=\"1\" d=\"")
            var failures: [Int] = []
            for c in 0..<groups {
                var cmin = Double.infinity, cmax = -Double.infinity
                for i in range(c) {
                    let p = points[i]
                    if p.verdict != "passed" && p.verdict != "done" && p.isFinal { failures.append(i) }
                    if let v = p.value, v.isFinite {
                        cmin = Swift.min(cmin, v)
                        cmax = Swift.max(cmax, v)
                    }
                }
                guard cmin <= cmax else { continue }
                let px = (left(c) + right(c)) / 2
                w.raw("M")
                w.coordinate(px)
                w.raw(",")
                w.coordinate(y.pixel(cmax) - 0.5)
                w.raw("V")
                w.coordinate(y.pixel(cmin) + 0.5)
            }
            w.raw("\"/>")
            for i in failures.prefix(2000) {
                guard let v = points[i].value, v.isFinite else { continue }
                w.raw("<circle class=\"pt v-")
                w.text(points[i].verdict)
                w.raw("\" cx=\"")
                w.coordinate(x.pixel(Double(i)))
                w.raw("\" cy=\"")
                w.coordinate(y.pixel(v))
                w.raw("\" r=\"2.5\" fill=\"")
                w.raw(Self.color(points[i].verdict))
                w.raw("\"/>")
            }
        }
        var note = limitText.isEmpty ? "no limits" : "limits: " + limitText.joined(separator: ", ")
        if decimate { note += "; \(n) points, min/max per pixel" }
        if notPlotted > 0 { note += "; \(notPlotted) without a finite value" }
        frame.end(&w, note: note)
    }

    /// The chart as SVG text.
    public var svg: String {
        var w = MarkupWriter()
        render(into: &w)
        return w.string
    }

    /// A horizontal line across the plot area (a limit), with its value as a tooltip.
    static func horizontalLine(_ w: inout MarkupWriter, frame: ChartFrame, y: Double, kind: String, value: Double) {
        w.raw("<line class=\"limit \(kind)\" x1=\"")
        w.coordinate(frame.plotLeft)
        w.raw("\" x2=\"")
        w.coordinate(frame.plotRight)
        w.raw("\" y1=\"")
        w.coordinate(y)
        w.raw("\" y2=\"")
        w.coordinate(y)
        w.raw("\" stroke=\"\(ChartFrame.Color.limit)\" stroke-width=\"1.5\"><title>")
        w.text(kind + " " + ChartNumber.plain(value))
        w.raw("</title></line>")
    }
}
