import Foundation

/// The metrics as one self-contained HTML page (inline CSS and SVG, no external assets):
/// yield cards, a Pareto chart per dimension, a histogram against the limits per capability
/// row, and the tables.
public enum MetricsHTML {
    public static func render(_ m: RunMetrics, title: String = "Litmus metrics") -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f %%", x * 100) }
        func num(_ x: Double?) -> String {
            guard let x, x.isFinite else { return "–" }
            return String(format: "%.4g", x)
        }
        var body = ""
        let y = m.yield
        body += "<h1>\(MarkupWriter.escaped(title))</h1>\n<div class=cards>"
        for (label, value, detail) in [
            ("First-pass yield", pct(y.firstPass), "\(y.firstPassUnits)/\(y.units) units"),
            ("Final yield", pct(y.final), "\(y.finalPassUnits)/\(y.units) units"),
            ("Retest rate", pct(y.retestRate), "\(y.retestedUnits)/\(y.units) units"),
            ("Runs", "\(y.runs)", "\(y.passedRuns) passed, \(y.failedRuns) failed, \(y.otherRuns) other"),
            ("Measurements", "\(m.measurements)", "\(m.failedMeasurements) failed (final attempts)"),
        ] {
            body += "<div class=card><div class=label>\(label)</div><div class=value>\(value)</div><div class=detail>\(MarkupWriter.escaped(detail))</div></div>"
        }
        body += "</div>\n"
        for (dimension, entries) in [
            ("measurement", m.paretoByMeasurement), ("step", m.paretoByStep), ("pin", m.paretoByPin), ("station", m.paretoByStation),
        ] {
            body += "<h2>Failure Pareto by \(dimension)</h2>\n"
            if entries.isEmpty {
                body += "<p class=none>No failures.</p>\n"
                continue
            }
            body += MetricsSVG.pareto(Array(entries.prefix(15)))
        }
        body += "<h2>Capability</h2>\n"
        if m.capability.isEmpty { body += "<p class=none>No measurement with a limit and a value.</p>\n" }
        body += "<table><tr><th>Step</th><th>Measurement</th><th>LSL</th><th>USL</th><th>Unit</th><th>n</th><th>Fail</th><th>Mean</th><th>σ</th><th>Cp</th><th>Cpk</th><th>Ppk</th><th>Histogram</th></tr>\n"
        for c in m.capability {
            let cls = (c.cpk ?? 0) >= 1.33 ? "good" : ((c.cpk ?? 0) >= 1 ? "fair" : "poor")
            body += "<tr><td>\(MarkupWriter.escaped(c.step))</td><td>\(MarkupWriter.escaped(c.measurement))</td><td>\(num(c.low))</td><td>\(num(c.high))</td><td>\(MarkupWriter.escaped(c.unit ?? ""))</td><td>\(c.count)</td><td>\(c.failures)</td><td>\(num(c.mean))</td><td>\(num(c.sigma))</td><td>\(num(c.cp))</td><td class=\(cls)>\(num(c.cpk))</td><td>\(num(c.ppk))</td><td>\(MetricsSVG.histogram(c))</td></tr>\n"
        }
        body += "</table>\n<h2>Test time per step</h2>\n<table><tr><th>Step</th><th>Attempts</th><th>Total s</th><th>Mean s</th><th>Min s</th><th>Max s</th></tr>\n"
        for s in m.stepTimes {
            body += "<tr><td>\(MarkupWriter.escaped(s.step))</td><td>\(s.attempts)</td><td>\(num(s.totalSeconds))</td><td>\(num(s.meanSeconds))</td><td>\(num(s.minSeconds))</td><td>\(num(s.maxSeconds))</td></tr>\n"
        }
        body += "</table>\n"
        if !m.problems.isEmpty {
            body += "<h2>Files not read</h2><ul>" + m.problems.map { "<li>\(MarkupWriter.escaped($0))</li>" }.joined() + "</ul>\n"
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(MarkupWriter.escaped(title))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:24px;color:#222}
            .cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ccc;border-radius:6px;padding:10px 14px;min-width:150px}
            .label{font-size:12px;color:#666}.value{font-size:26px;font-weight:600}.detail{font-size:12px;color:#666}
            table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
            .good{color:#1a7f37}.fair{color:#b26b00}.poor{color:#c62828;font-weight:600}.none{color:#666}
            </style></head><body>
            \(body)</body></html>

            """
    }
}

/// The metrics page's charts: the failure Pareto, and each capability row's histogram (the
/// report's ``HistogramChart`` over the bins the metrics counted).
enum MetricsSVG {
    /// Bars of failures, largest first, with the cumulative share as a line.
    static func pareto(_ entries: [RunMetrics.ParetoEntry]) -> String {
        let width = 640.0, height = 220.0, left = 40.0, bottom = 70.0, top = 10.0
        let plotHeight = height - bottom - top
        let maxCount = Double(entries.map(\.failures).max() ?? 1)
        let slot = (width - left - 10) / Double(max(entries.count, 1))
        var svg = "<svg class=pareto xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - 10)\" y2=\"\(top + plotHeight)\" stroke=\"#888\"/>"
        var points: [String] = []
        for (i, e) in entries.enumerated() {
            let h = plotHeight * Double(e.failures) / maxCount
            let x = left + Double(i) * slot + slot * 0.15
            svg += "<rect x=\"\(f(x))\" y=\"\(f(top + plotHeight - h))\" width=\"\(f(slot * 0.7))\" height=\"\(f(h))\" fill=\"#c62828\"><title>\(MarkupWriter.escaped(e.key)): \(e.failures)</title></rect>"
            svg += "<text x=\"\(f(x + slot * 0.35))\" y=\"\(f(top + plotHeight - h - 2))\" font-size=\"10\" text-anchor=\"middle\">\(e.failures)</text>"
            let label = e.key.count > 14 ? String(e.key.prefix(13)) + "…" : e.key
            svg += "<text x=\"\(f(x + slot * 0.35))\" y=\"\(f(top + plotHeight + 12))\" font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-35 \(f(x + slot * 0.35)) \(f(top + plotHeight + 12)))\">\(MarkupWriter.escaped(label))</text>"
            points.append("\(f(x + slot * 0.35)),\(f(top + plotHeight * (1 - e.cumulative)))")
        }
        svg += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.5\"/>"
        svg += "<text x=\"4\" y=\"\(f(top + 10))\" font-size=\"10\">\(Int(maxCount))</text></svg>\n"
        return svg
    }

    /// A capability row's histogram (bins counted over the lake) with its limits and mean.
    static func histogram(_ c: RunMetrics.Capability) -> String {
        var chart = HistogramChart(
            title: c.measurement, lower: c.histogram.lower, upper: c.histogram.upper, counts: c.histogram.counts, low: c.low, high: c.high,
            unit: c.unit)
        chart.mean = c.mean
        chart.width = 300
        chart.height = 150
        return chart.svg
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
