import Foundation
import Litmus
import LitmusJSON

/// The charts of a report: each measurement against its limits, and the channel data plots.
extension RunReport.Page {
    // MARK: Charts

    mutating func charts() {
        struct Key: Hashable {
            var path: String
            var name: String
        }
        var series: [Key: [Int]] = [:]
        var order: [Key] = []
        var vectorOf: [Int: RunReport.VectorAttempt] = [:]
        for s in content.steps {
            for m in s.measurements {
                let key = Key(path: s.path, name: c.m.name[m] ?? "")
                if series[key] == nil { order.append(key) }
                series[key, default: []].append(m)
            }
            for v in s.vectors {
                for m in v.measurements {
                    let key = Key(path: s.path, name: c.m.name[m] ?? "")
                    if series[key] == nil { order.append(key) }
                    series[key, default: []].append(m)
                    vectorOf[m] = v
                }
            }
        }
        w.raw("<section id=\"charts\"><h2>Measurements against their limits</h2>")
        if order.isEmpty { w.raw("<p class=\"note\">No measurement to chart.</p>") }
        for key in order.prefix(options.maxCharts) {
            let rows = series[key] ?? []
            let unit = rows.first { c.m.unit[$0] != nil }.flatMap { c.m.unit[$0] }
            // Tooltips are drawn only for sweeps short enough to show every point.
            let withDetail = rows.count <= 300
            let points = rows.map { m -> LimitChart.Point in
                let v = vectorOf[m]
                let tick = v.map { $0.retry > 0 ? "\($0.index)r\($0.retry)" : String($0.index) } ?? "step"
                return LimitChart.Point(
                    value: c.m.value.double(m), low: c.m.low.double(m), high: c.m.high.double(m),
                    nominal: c.m.nominal.double(m), verdict: c.m.outcome[m] ?? "aborted", isFinal: c.final.bool(m) ?? true,
                    tick: tick, detail: withDetail ? v.map { stimulus($0.row) } : nil)
            }
            var chart = LimitChart(title: "\(key.name)\(unit.map { " (\($0))" } ?? "") — \(key.path)", points: points, unit: unit)
            chart.width = Double(options.chartWidth)
            chart.attributes = [("data-step", key.path), ("data-measurement", key.name)]
            w.raw("<figure class=\"chart-row\">")
            chart.render(into: &w)
            let finals = rows.filter { c.final.bool($0) ?? true }.compactMap { c.m.value.double($0) }
            if finals.count >= options.histogramMinimum {
                let lows = Set(rows.compactMap { c.m.low.double($0) }), highs = Set(rows.compactMap { c.m.high.double($0) })
                var histogram = HistogramChart(
                    title: "\(key.name) distribution", values: finals, low: lows.count == 1 ? lows.first : nil,
                    high: highs.count == 1 ? highs.first : nil, unit: unit)
                histogram.width = 360
                histogram.render(into: &w)
            }
            w.raw("</figure>")
        }
        if order.count > options.maxCharts {
            w.raw("<p class=\"note\">")
            w.integer(order.count - options.maxCharts)
            w.raw(" more measurement(s) not charted (at most ")
            w.integer(options.maxCharts)
            w.raw(" charts).</p>")
        }
        w.raw("</section>\n")
    }

    /// The stimulus of a vector row: `vin=5 V, load=0.1 A`.
    func stimulus(_ row: Int) -> String {
        c.inColumns.filter { $0.valid[row] }.map { col in
            "\(col.name.dropFirst(3))=\(Self.cell(col, row))\(content.units[col.name].map { " " + $0 } ?? "")"
        }.joined(separator: ", ")
    }

    // MARK: Channel data

    mutating func channelPlots() {
        let references = content.channelReferences
        guard !references.isEmpty else { return }
        w.raw("<section id=\"channels\"><h2>Channel data</h2>")
        if report.channels == nil {
            w.raw("<p class=\"note\">The report was made without the data directory: channel data is listed, not plotted.</p>")
        }
        var plotted = 0
        for ref in references {
            let place = [c.string("step_path", ref.row), c.int("vector_index", ref.row).map { "vector \($0)" }].compactMap { $0 }
            w.raw("<div class=\"channel\"><h3>")
            w.text(String(ref.column.dropFirst(4)))
            w.raw(" <span class=\"where\">")
            w.text(place.isEmpty ? "run" : place.joined(separator: ", "))
            w.raw("</span></h3><p class=\"uri\"><code>")
            w.text(ref.uri)
            w.raw("</code></p>")
            defer { w.raw("</div>") }
            guard let reader = report.channels else { continue }
            guard plotted < options.maxChannelPlots else {
                w.raw("<p class=\"note\">Not plotted: at most ")
                w.integer(options.maxChannelPlots)
                w.raw(" channel plots per report.</p>")
                continue
            }
            let data: ChannelData
            do {
                data = try reader(try ChannelURI(parsing: ref.uri))
            } catch {
                w.raw("<p class=\"error\">Cannot read this channel: ")
                w.text("\(error)")
                w.raw("</p>")
                continue
            }
            plotted += 1
            for issue in data.issues {
                w.raw("<p class=\"warning\">")
                w.text("\(issue)")
                w.raw("</p>")
            }
            let id = data.descriptor.id
            let unit = data.descriptor.unit
            var traces: [WaveformPlot] = []
            switch data.values {
            case .waveform(let waves):
                for (k, wave) in waves.prefix(options.maxTracesPerChannel).enumerated() {
                    let offset = k < data.sampleOffsets.count ? " #\(data.sampleOffsets[k])" : ""
                    traces.append(WaveformPlot(title: "\(id)\(offset) · t0 \(wave.t0.iso8601.dropFirst(11))", samples: wave.samples, dt: wave.dt, unit: unit))
                }
                if waves.count > options.maxTracesPerChannel { note("\(waves.count - options.maxTracesPerChannel) more waveform(s) in this channel not plotted") }
            case .f64Array(let arrays):
                for (k, a) in arrays.prefix(options.maxTracesPerChannel).enumerated() {
                    let offset = k < data.sampleOffsets.count ? " #\(data.sampleOffsets[k])" : ""
                    traces.append(WaveformPlot(title: "\(id)\(offset)", samples: a, unit: unit))
                }
                if arrays.count > options.maxTracesPerChannel { note("\(arrays.count - options.maxTracesPerChannel) more array(s) in this channel not plotted") }
            case .f64(let values):
                traces.append(WaveformPlot(title: id, samples: values, unit: unit))
            case .i64(let values):
                traces.append(WaveformPlot(title: id, samples: values.map(Double.init), unit: unit))
            case .bool(let values):
                note("\(values.count) boolean sample(s): not plotted")
            case .string(let values):
                note("\(values.count) text sample(s): not plotted")
            }
            for var trace in traces {
                trace.width = Double(options.chartWidth)
                w.raw("<figure>")
                trace.render(into: &w)
                w.raw("</figure>")
            }
        }
        w.raw("</section>\n")
    }

    mutating func note(_ text: String) {
        w.raw("<p class=\"note\">")
        w.text(text)
        w.raw("</p>")
    }
}
