import Foundation
import LitmusAnalytics
import Testing

/// The SVG chart helpers: decimation, scales, numbers, and what each chart draws.
@Suite struct ChartTests {
    /// Every column holds the extremes of exactly its samples, whatever the count; the output
    /// is bounded by the width.
    @Test(arguments: [1, 7, 640, 641, 100_003])
    func decimationKeepsEachColumnsExtremes(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        var samples = (0..<count).map { _ in Double(rng.next() % 10_000) / 100 }
        if count > 10 { samples[count / 3] = .nan }
        let columns = MinMaxDecimator.decimate(samples, columns: 640)
        #expect(columns.count == min(640, count))
        var covered = 0
        for (c, column) in columns.enumerated() {
            let range = MinMaxDecimator.indices(ofColumn: c, columns: 640, count: count)
            #expect(range.lowerBound == covered)
            covered = range.upperBound
            let finite = samples[range].filter(\.isFinite)
            #expect(column?.min == finite.min() && column?.max == finite.max())
        }
        #expect(covered == count)
    }

    @Test func scalesGiveRoundTicksAndWidenASingleValue() {
        let y = ChartScale(low: 3.1, high: 3.5, from: 200, to: 0)
        #expect(y.ticks(count: 4).map { ($0 * 10).rounded() / 10 } == [3.1, 3.2, 3.3, 3.4, 3.5])
        #expect(y.pixel(3.1) == 200 && y.pixel(3.5) == 0)
        let flat = ChartScale(low: 5, high: 5, from: 0, to: 100)
        #expect(flat.low < 5 && flat.high > 5)
        #expect(ChartScale.niceStep(0.037) == 0.05)
        #expect(ChartNumber.label(3.25, step: 0.05) == "3.25")
        #expect(ChartNumber.label(1200, step: 200) == "1200")
        #expect(ChartNumber.label(0.0000015, step: 0.0000005) == "1.5e-6")
        #expect(ChartNumber.plain(3.3012) == "3.3012" && ChartNumber.plain(.nan) == "NaN" && ChartNumber.plain(-2) == "-2")
        // Tables show at most 12 significant digits: no binary floating-point noise.
        #expect(ChartNumber.display(0.0045000000000000005) == "0.0045" && ChartNumber.display(3.3099999999999996) == "3.31")
        #expect(ChartNumber.display(123456789.12345679) == "123456789.123" && ChartNumber.display(-1e-300) == "-1e-300")
        // At least three ticks, and not crowded.
        #expect(ChartScale(low: 3.22, high: 3.38, from: 0, to: 138).ticks(count: 3).count >= 3)
        #expect(ChartScale(low: 3.299, high: 3.317, from: 0, to: 138).ticks(count: 3).count == 4)
    }

    /// Past three points per pixel the chart decimates, yet every final failure is still a point.
    @Test func aLongSweepIsDecimatedButKeepsEveryFailure() {
        let points = (0..<20_000).map { i in
            LimitChart.Point(value: i % 4001 == 17 ? 9 : 5, low: 4, high: 6, verdict: i % 4001 == 17 ? "failed" : "passed", tick: "\(i)")
        }
        let svg = LimitChart(title: "v", points: points, unit: "V").svg
        #expect(svg.components(separatedBy: "class=\"pt v-failed\"").count - 1 == 5)
        #expect(svg.components(separatedBy: "class=\"pt v-passed").count == 1)
        #expect(svg.contains("20000 points, min/max per pixel"))
        #expect(svg.utf8.count < 60_000)
        #expect(svg.contains("data-limit-low=\"4\"") && svg.contains("data-limit-high=\"6\""))
    }

    /// Limits that change along the sweep (spec bands) are drawn as steps and said to vary.
    @Test func varyingLimitsAreSteps() {
        let points = (0..<4).map { i in
            LimitChart.Point(value: 1, low: Double(i) * 0.1, high: 2, verdict: "passed", tick: "\(i)")
        }
        let svg = LimitChart(title: "v", points: points).svg
        #expect(svg.contains("data-limit-low=\"varies\"") && svg.contains("data-limit-high=\"2\""))
        let low = svg.components(separatedBy: "class=\"limit limit-low\"")[1].components(separatedBy: "/>")[0]
        #expect(low.components(separatedBy: "H").count - 1 == 4)
    }

    @Test func histogramsMarkBarsOutsideTheLimits() {
        let values = (0..<100).map { Double($0) / 10 } + [.nan]
        let h = HistogramChart(title: "h", values: values, low: 2, high: 8, bins: 10)
        let (_, _, counts) = h.counts()
        #expect(counts.reduce(0, +) == 100)
        let svg = h.svg
        #expect(svg.contains("class=\"bar outside\""))
        #expect(svg.contains("100 values, 1 not finite"))
    }

    /// Bins counted elsewhere (the metrics over a lake) are drawn as given, with the mean.
    @Test func histogramsOfCountedBinsDrawThoseBins() {
        var h = HistogramChart(title: "vout", lower: 3.0, upper: 3.5, counts: [0, 4, 9, 0, 2], low: 3.1, high: 3.4, unit: "V")
        h.mean = 3.22
        let svg = h.svg
        #expect(svg.contains("data-bins=\"5\""))
        #expect(svg.components(separatedBy: "<rect class=\"bar").count - 1 == 3)
        #expect(svg.contains("class=\"bar outside\""))  // the last bin, 3.4 ... 3.5, is above the high limit
        #expect(svg.contains("15 values") && !svg.contains("not finite"))
        #expect(svg.contains("class=\"mean\"") && svg.contains("mean 3.22"))
    }

    @Test func markupIsEscaped() {
        var w = MarkupWriter()
        w.text("<a href=\"x\">&'</a>")
        w.attribute("title", "\"><script>")
        w.coordinate(-12.345)
        w.raw(" ")
        w.integer(-1234567)
        #expect(w.string == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; title=\"&quot;&gt;&lt;script&gt;\"-12.3 -1234567")
    }
}
