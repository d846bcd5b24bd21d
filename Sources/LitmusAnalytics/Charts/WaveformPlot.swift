#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A waveform or sampled series drawn as its min/max envelope per pixel column
/// (``MinMaxDecimator``), with optional limit lines.
///
/// Up to two samples per pixel are drawn as a line through every sample; beyond that, one
/// filled band per pixel column from the column's minimum to its maximum, so the SVG stays
/// small (bounded by the width) and no spike is lost.
///
/// ```swift
/// let plot = WaveformPlot(title: "scope.ch1", samples: trace, dt: 1e-6, unit: "V")
/// var w = MarkupWriter()
/// plot.render(into: &w)      // <svg class="chart waveform" ...>
/// ```
public struct WaveformPlot: Sendable {
    public var title: String
    public var samples: [Double]
    /// Seconds between samples; nil to plot against the sample number.
    public var dt: Double?
    public var unit: String?
    /// Horizontal limit lines (a ripple ceiling, a rail window).
    public var low: Double?
    public var high: Double?
    public var width = 720.0
    public var height = 200.0

    public init(title: String, samples: [Double], dt: Double? = nil, unit: String? = nil, low: Double? = nil, high: Double? = nil) {
        self.title = title
        self.samples = samples
        self.dt = dt
        self.unit = unit
        self.low = low
        self.high = high
    }

    /// The time unit for the x axis of a waveform lasting `seconds`: (name, seconds per unit).
    static func timeUnit(_ seconds: Double) -> (String, Double) {
        let s = abs(seconds)
        if s >= 1 || s == 0 { return ("s", 1) }
        if s >= 1e-3 { return ("ms", 1e-3) }
        if s >= 1e-6 { return ("µs", 1e-6) }
        return ("ns", 1e-9)
    }

    /// Writes the chart.
    public func render(into w: inout MarkupWriter) {
        let frame = ChartFrame(width: width, height: height, title: title)
        let n = samples.count
        let span = Double(Swift.max(1, n - 1))
        let (timeName, timeScale) = dt.map { Self.timeUnit($0 * span) } ?? ("", 1)
        let xUnit = dt.map { $0 / timeScale } ?? 1
        let x = ChartScale(low: 0, high: span * xUnit, from: frame.plotLeft, to: frame.plotRight)
        var lo = Double.infinity, hi = -Double.infinity
        if let e = MinMaxDecimator.extremes(samples) {
            lo = e.min
            hi = e.max
        }
        for limit in [low, high] {
            if let l = limit, l.isFinite {
                lo = Swift.min(lo, l)
                hi = Swift.max(hi, l)
            }
        }
        if lo > hi { (lo, hi) = (0, 1) }
        let y = ChartScale(low: lo, high: hi, from: frame.plotBottom, to: frame.plotTop).padded(0.06)
        var attributes = [("data-samples", String(n))]
        if let dt { attributes.append(("data-dt", ChartNumber.plain(dt))) }
        frame.begin(
            &w, kind: "waveform", x: x, y: y, xLabel: dt == nil ? "sample" : "time (\(timeName))", yLabel: unit,
            attributes: attributes)
        let columns = frame.plotColumns
        var note = "\(n) samples"
        if n <= columns * 2 {
            // Every sample: a polyline, broken at non-finite samples.
            w.raw("<path class=\"trace\" fill=\"none\" stroke=\"\(ChartFrame.Color.neutral)\" stroke-width=\"1.2\" d=\"")
            var pen = false
            for i in 0..<n {
                let v = samples[i]
                guard v.isFinite else {
                    pen = false
                    continue
                }
                w.raw(pen ? "L" : "M")
                w.coordinate(x.pixel(Double(i) * xUnit))
                w.raw(",")
                w.coordinate(y.pixel(v))
                pen = true
            }
            w.raw("\"/>")
        } else {
            // Min/max per pixel column: a band, one closed shape per run of columns with data.
            let decimated = MinMaxDecimator.decimate(samples, columns: columns)
            note += ", min/max per pixel"
            w.raw("<path class=\"envelope\" fill=\"\(ChartFrame.Color.neutral)\" fill-opacity=\"0.55\" stroke=\"\(ChartFrame.Color.neutral)\" stroke-width=\"0.8\" d=\"")
            var c = 0
            let step = (frame.plotRight - frame.plotLeft) / Double(decimated.count)
            while c < decimated.count {
                guard decimated[c] != nil else {
                    c += 1
                    continue
                }
                var end = c
                while end < decimated.count, decimated[end] != nil { end += 1 }
                // top edge left to right, bottom edge back: a column is at least a pixel wide
                for k in c..<end {
                    w.raw(k == c ? "M" : "L")
                    w.coordinate(frame.plotLeft + Double(k) * step)
                    w.raw(",")
                    w.coordinate(y.pixel(decimated[k]!.max))
                    w.raw("L")
                    w.coordinate(frame.plotLeft + Double(k + 1) * step)
                    w.raw(",")
                    w.coordinate(y.pixel(decimated[k]!.max))
                }
                for k in stride(from: end - 1, through: c, by: -1) {
                    w.raw("L")
                    w.coordinate(frame.plotLeft + Double(k + 1) * step)
                    w.raw(",")
                    w.coordinate(y.pixel(decimated[k]!.min))
                    w.raw("L")
                    w.coordinate(frame.plotLeft + Double(k) * step)
                    w.raw(",")
                    w.coordinate(y.pixel(decimated[k]!.min))
                }
                w.raw("Z")
                c = end
            }
            w.raw("\"/>")
        }
        for (limit, name) in [(low, "low"), (high, "high")] {
            guard let l = limit, l.isFinite else { continue }
            LimitChart.horizontalLine(&w, frame: frame, y: y.pixel(l), kind: "limit-" + name, value: l)
        }
        let skipped = samples.lazy.filter { !$0.isFinite }.count
        if skipped > 0 { note += ", \(skipped) not finite" }
        frame.end(&w, note: note)
    }

    /// The chart as SVG text.
    public var svg: String {
        var w = MarkupWriter()
        render(into: &w)
        return w.string
    }
}
