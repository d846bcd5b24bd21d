/// The frame every chart shares: the `<svg>` element with its size, a title, the plot area,
/// grid lines, tick labels and axis names.
///
/// Charts are plain SVG with presentation attributes (no CSS or script needed), so they read
/// the same inline in a report, in a dashboard, or saved alone as a `.svg` file. Each chart
/// element carries a `class` (`chart` plus the chart's own) and `data-*` attributes for tests
/// and styling.
///
/// ```swift
/// let frame = ChartFrame(width: 720, height: 220, title: "vout (V)")
/// var w = MarkupWriter()
/// frame.begin(&w, kind: "limit-chart", x: x, y: y, xLabel: "vector")
/// // ... marks drawn with frame.plotLeft ... frame.plotBottom
/// frame.end(&w)
/// ```
public struct ChartFrame: Sendable {
    public var width: Double
    public var height: Double
    public var title: String
    /// Room for tick labels and names around the plot area, in pixels.
    public var marginLeft = 64.0, marginRight = 16.0, marginTop = 26.0, marginBottom = 36.0

    public init(width: Double, height: Double, title: String) {
        self.width = width
        self.height = height
        self.title = title
    }

    public var plotLeft: Double { marginLeft }
    public var plotRight: Double { width - marginRight }
    public var plotTop: Double { marginTop }
    public var plotBottom: Double { height - marginBottom }
    /// The plot area's width in whole pixels (the number of columns data is decimated to).
    public var plotColumns: Int { max(1, Int(plotRight - plotLeft)) }

    /// Colours shared by the charts (they match the report's verdict colours).
    public enum Color {
        public static let pass = "#1a7f37"
        public static let fail = "#cf222e"
        public static let error = "#8250df"
        public static let neutral = "#0969da"
        public static let limit = "#bc4c00"
        public static let nominal = "#6e7781"
        public static let grid = "#d0d7de"
        public static let text = "#24292f"
        public static let superseded = "#8c959f"
    }

    /// Opens the `<svg>`, draws the title, the grid with tick labels, and the axis names.
    ///
    /// - Parameters:
    ///   - kind: the chart's own class (`limit-chart`, `waveform`, `histogram`).
    ///   - attributes: extra `data-*` attributes of the `<svg>` element.
    ///   - xTicks: tick positions and labels on the x axis; nil for round numbers of `x`.
    public func begin(
        _ w: inout MarkupWriter, kind: String, x: ChartScale, y: ChartScale, xLabel: String, yLabel: String? = nil,
        xTicks: [(Double, String)]? = nil, attributes: [(String, String)] = []
    ) {
        w.raw("<svg xmlns=\"http://www.w3.org/2000/svg\"")
        w.attribute("class", "chart " + kind)
        w.attribute("width", String(Int(width)))
        w.attribute("height", String(Int(height)))
        w.raw(" viewBox=\"0 0 ")
        w.integer(Int(width))
        w.raw(" ")
        w.integer(Int(height))
        w.raw("\" role=\"img\"")
        w.attribute("aria-label", title)
        for (name, value) in attributes { w.attribute(name, value) }
        w.raw(" font-family=\"system-ui, sans-serif\" font-size=\"11\"><title>")
        w.text(title)
        w.raw("</title><rect class=\"plot-area\" x=\"")
        w.coordinate(plotLeft)
        w.raw("\" y=\"")
        w.coordinate(plotTop)
        w.raw("\" width=\"")
        w.coordinate(plotRight - plotLeft)
        w.raw("\" height=\"")
        w.coordinate(plotBottom - plotTop)
        w.raw("\" fill=\"#ffffff\" stroke=\"\(Color.grid)\"/>")
        w.raw("<text class=\"chart-title\" x=\"")
        w.coordinate(plotLeft)
        w.raw("\" y=\"16\" font-size=\"12\" font-weight=\"600\" fill=\"\(Color.text)\">")
        w.text(title)
        w.raw("</text>")

        // y grid and labels
        let yTicks = y.ticks(count: max(2, Int((plotBottom - plotTop) / 40)))
        for (value, label) in zip(yTicks, y.tickLabels(yTicks)) {
            let py = y.pixel(value)
            guard py >= plotTop - 0.5, py <= plotBottom + 0.5 else { continue }
            w.raw("<line x1=\"")
            w.coordinate(plotLeft)
            w.raw("\" x2=\"")
            w.coordinate(plotRight)
            w.raw("\" y1=\"")
            w.coordinate(py)
            w.raw("\" y2=\"")
            w.coordinate(py)
            w.raw("\" stroke=\"\(Color.grid)\" stroke-width=\"0.5\"/><text class=\"tick y\" x=\"")
            w.coordinate(plotLeft - 4)
            w.raw("\" y=\"")
            w.coordinate(py + 3.5)
            w.raw("\" text-anchor=\"end\" fill=\"\(Color.text)\">")
            w.text(label)
            w.raw("</text>")
        }
        // x ticks and labels
        let ticks: [(Double, String)] = xTicks ?? {
            let values = x.ticks(count: max(2, Int((plotRight - plotLeft) / 80)))
            return Array(zip(values, x.tickLabels(values)))
        }()
        for (value, label) in ticks {
            let px = x.pixel(value)
            guard px >= plotLeft - 0.5, px <= plotRight + 0.5 else { continue }
            w.raw("<line x1=\"")
            w.coordinate(px)
            w.raw("\" x2=\"")
            w.coordinate(px)
            w.raw("\" y1=\"")
            w.coordinate(plotBottom)
            w.raw("\" y2=\"")
            w.coordinate(plotBottom + 4)
            w.raw("\" stroke=\"\(Color.text)\" stroke-width=\"0.5\"/><text class=\"tick x\" x=\"")
            w.coordinate(px)
            w.raw("\" y=\"")
            w.coordinate(plotBottom + 15)
            w.raw("\" text-anchor=\"middle\" fill=\"\(Color.text)\">")
            w.text(label)
            w.raw("</text>")
        }
        w.raw("<text class=\"axis-label x\" x=\"")
        w.coordinate((plotLeft + plotRight) / 2)
        w.raw("\" y=\"")
        w.coordinate(height - 4)
        w.raw("\" text-anchor=\"middle\" fill=\"\(Color.nominal)\">")
        w.text(xLabel)
        w.raw("</text>")
        if let yLabel {
            w.raw("<text class=\"axis-label y\" transform=\"translate(12 ")
            w.coordinate((plotTop + plotBottom) / 2)
            w.raw(") rotate(-90)\" text-anchor=\"middle\" fill=\"\(Color.nominal)\">")
            w.text(yLabel)
            w.raw("</text>")
        }
        // The scales cover the data, so marks need no clipping.
        w.raw("<g class=\"marks\">")
    }

    /// Closes the marks group and the `<svg>`, after an optional note under the title (right).
    public func end(_ w: inout MarkupWriter, note: String? = nil) {
        w.raw("</g>")
        if let note, !note.isEmpty {
            w.raw("<text class=\"chart-note\" x=\"")
            w.coordinate(plotRight)
            w.raw("\" y=\"16\" text-anchor=\"end\" fill=\"\(Color.nominal)\">")
            w.text(note)
            w.raw("</text>")
        }
        w.raw("</svg>")
    }
}
