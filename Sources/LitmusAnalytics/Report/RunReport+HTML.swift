import Foundation
import Litmus
import LitmusJSON

extension RunReport {
    /// The report as one self-contained HTML document (inline CSS and SVG, no script, no
    /// external asset).
    ///
    /// Every measurement is a table row with class `measurement v-<outcome>` (and
    /// `superseded` when a retry replaced its attempt); each chart is an inline `<svg>` with
    /// class `chart` (see ``LimitChart``, ``HistogramChart``, ``WaveformPlot``).
    public func html(_ options: Options = Options()) -> String {
        var page = Page(report: self, options: options)
        page.render()
        return page.w.string
    }

    /// The state of one rendering.
    struct Page {
        let report: RunReport
        let options: Options
        var w = MarkupWriter(capacity: 1 << 20)
        let c: Columns

        init(report: RunReport, options: Options) {
            self.report = report
            self.options = options
            self.c = Columns(report.table)
            w = MarkupWriter(capacity: max(1 << 16, report.content.measurementRows * 420))
        }

        var content: Content { report.content }
        var run: [String: String] { report.content.run }
        var table: RunTable { report.table }

        // MARK: Page

        mutating func render() {
            let outcome = report.outcome
            let serial = run["dut_serial"] ?? ""
            let title = options.title ?? "Run \(serial.isEmpty ? String(report.runID.prefix(8)) : serial) \(outcome.uppercased())"
            w.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"generator\" content=\"litmus runs report\"><title>")
            w.text(title)
            w.raw("</title><style>")
            w.raw(RunReport.styleSheet)
            w.raw("</style></head><body>\n")
            header(title: title, outcome: outcome)
            identity()
            summary()
            diagnostics()
            steps()
            retries()
            charts()
            channelPlots()
            traceability()
            inventory()
            mocks()
            metadata()
            w.raw("<footer>Generated ")
            w.text((options.generatedAt ?? Timestamp.now()).iso8601)
            w.raw(" by <code>litmus runs report</code> from run <code>")
            w.text(report.runID)
            w.raw("</code>.</footer>\n</body></html>\n")
        }

        mutating func header(title: String, outcome: String) {
            w.raw("<header class=\"banner v-")
            w.text(outcome)
            w.raw("\"><div><h1>")
            w.text(title)
            w.raw("</h1><p class=\"sub\">")
            let bits = [run["dut_part_number"] ?? run["part_id"], run["station_id"], run["test_phase"]].compactMap { $0 }
            w.text(bits.joined(separator: " · "))
            if let t = c.timestamp("run_started_at", 0) {
                w.raw(bits.isEmpty ? "" : " · ")
                w.text(Self.time(t))
            }
            w.raw("</p>")
            if !options.links.isEmpty {
                w.raw("<nav class=\"links\">")
                for link in options.links {
                    w.raw("<a")
                    w.attribute("href", link.href)
                    w.raw(">")
                    w.text(link.label)
                    w.raw("</a>")
                }
                w.raw("</nav>")
            }
            w.raw("</div><div class=\"verdict\" id=\"verdict\">")
            w.text(outcome.uppercased())
            w.raw("</div></header>\n")
            if content.mocked {
                let roles = content.instruments.filter { $0["mocked"]?.boolValue == true }.compactMap { $0["role"]?.stringValue }
                w.raw("<p class=\"mocked-banner\" id=\"mocked\">Mocked data: ")
                var parts: [String] = []
                if !roles.isEmpty { parts.append("mocked role(s) " + roles.joined(separator: ", ")) }
                if !content.mockPatches.isEmpty { parts.append("\(content.mockPatches.count) mock patch(es)") }
                w.text(parts.joined(separator: "; "))
                w.raw(". These results do not come from real instruments throughout (see <a href=\"#mocks\">Mocks</a>).</p>\n")
            }
        }

        mutating func identity() {
            w.raw("<section id=\"identity\"><h2>Identity</h2><div class=\"cards\">")
            let groups: [(String, [(String, String)])] = [
                ("DUT", [("Serial", "dut_serial"), ("Part number", "dut_part_number"), ("Revision", "dut_revision"), ("Lot", "dut_lot")]),
                ("Part", [("Part", "part_id"), ("Name", "part_name"), ("Revision", "part_revision"), ("Product", "product"), ("Project", "project")]),
                ("Station", [("Station", "station_id"), ("Name", "station_name"), ("Type", "station_type"), ("Location", "station_location"), ("Host", "hostname"), ("Fixture", "fixture_id"), ("Site", "site_name")]),
                ("Operator", [("Operator", "operator_id"), ("Name", "operator_name"), ("Test phase", "test_phase")]),
                ("Code", [("Git commit", "git_commit"), ("Branch", "git_branch"), ("Remote", "git_remote")]),
                ("Run", [("Run id", "run_id"), ("Session", "session_id"), ("Outcome", "run_outcome"), ("End reason", "run_end_reason")]),
            ]
            for (name, fields) in groups {
                w.raw("<dl class=\"card\"><dt class=\"card-title\">")
                w.text(name)
                w.raw("</dt>")
                if name == "Run" {
                    if let t = c.timestamp("run_started_at", 0) { field("Started", Self.time(t)) }
                    if let t = c.timestamp("run_ended_at", 0) { field("Ended", Self.time(t)) }
                    if let a = c.timestamp("run_started_at", 0), let b = c.timestamp("run_ended_at", 0) {
                        field("Duration", Self.duration(a, b))
                    }
                }
                for (label, column) in fields {
                    guard let value = run[column], !value.isEmpty else { continue }
                    field(label, value, mono: column.hasSuffix("_id") || column.hasPrefix("git_"))
                }
                w.raw("</dl>")
            }
            w.raw("</div></section>\n")
        }

        mutating func field(_ label: String, _ value: String, mono: Bool = false) {
            w.raw("<dd><span class=\"k\">")
            w.text(label)
            w.raw(mono ? "</span> <code>" : "</span> ")
            w.text(value)
            w.raw(mono ? "</code></dd>" : "</dd>")
        }

        mutating func summary() {
            let vectors = content.steps.reduce(0) { $0 + $1.vectors.count }
            let finalVectors = content.steps.reduce(0) { $0 + $1.vectors.filter(\.isFinal).count }
            w.raw("<section id=\"summary\"><h2>Summary</h2><div class=\"stats\">")
            for (label, value, cls) in [
                ("steps", content.steps.count, ""), ("vectors", finalVectors, ""),
                ("attempts retried", content.retriedVectors, content.retriedVectors > 0 ? "warn" : ""),
                ("measurements", content.measurementRows, ""), ("passed", content.passedFinal, "v-passed"),
                ("failed or errored", content.failedFinal, content.failedFinal > 0 ? "v-failed" : ""),
            ] {
                w.raw("<div class=\"stat \(cls)\"><b>")
                w.integer(value)
                w.raw("</b>")
                w.text(label)
                w.raw("</div>")
            }
            w.raw("</div>")
            if vectors != finalVectors {
                w.raw("<p class=\"note\">Counts of passed and failed measurements are of each vector's final attempt; the ")
                w.integer(vectors - finalVectors)
                w.raw(" superseded attempt(s) are shown greyed out below.</p>")
            }
            w.raw("</section>\n")
        }

        mutating func diagnostics() {
            guard !content.diagnostics.isEmpty else { return }
            w.raw("<section id=\"diagnostics\"><h2>Diagnostics</h2><ul class=\"diagnostics\">")
            for d in content.diagnostics {
                let level = d["level"]?.stringValue ?? "warning"
                w.raw("<li class=\"")
                w.text(level)
                w.raw("\"><b>")
                w.text(d["kind"]?.stringValue ?? "?")
                w.raw("</b> ")
                w.text(d["message"]?.stringValue ?? "")
                if let path = d["path"]?.stringValue {
                    w.raw(" <code>")
                    w.text(path + (d["line"]?.intValue.map { ":\($0)" } ?? ""))
                    w.raw("</code>")
                }
                w.raw("</li>")
            }
            w.raw("</ul></section>\n")
        }

        // MARK: Steps, vectors, measurements

        mutating func steps() {
            w.raw("<section id=\"steps\"><h2>Steps</h2>")
            if content.steps.isEmpty { w.raw("<p class=\"note\">The run recorded no step.</p>") }
            w.raw("<ol class=\"toc\">")
            for (k, s) in content.steps.enumerated() {
                let o = c.string("step_outcome", s.row) ?? "aborted"
                w.raw("<li><a href=\"#step-")
                w.integer(k)
                w.raw("\">")
                w.text(c.string("step_name", s.row) ?? s.path)
                w.raw("</a> <span class=\"pill v-")
                w.text(o)
                w.raw("\">")
                w.text(o)
                w.raw("</span>")
                if s.retry > 0 {
                    w.raw(" <span class=\"retry\">retry ")
                    w.integer(Int(s.retry))
                    w.raw("</span>")
                }
                w.raw("</li>")
            }
            w.raw("</ol>")
            for (k, s) in content.steps.enumerated() { step(k, s) }
            w.raw("</section>\n")
        }

        mutating func step(_ k: Int, _ s: StepAttempt) {
            let o = c.string("step_outcome", s.row) ?? "aborted"
            w.raw("<section class=\"step v-")
            w.text(o)
            w.raw(s.isFinal ? "" : " superseded")
            w.raw("\" id=\"step-")
            w.integer(k)
            w.raw("\"")
            w.attribute("data-step", s.path)
            w.raw("><h3><span class=\"idx\">")
            w.text(c.int("step_index", s.row).map { String($0) } ?? "")
            w.raw("</span> ")
            w.text(c.string("step_name", s.row) ?? s.path)
            w.raw(" <span class=\"pill v-")
            w.text(o)
            w.raw("\">")
            w.text(o)
            w.raw("</span>")
            if s.retry > 0 {
                w.raw(" <span class=\"retry\">retry ")
                w.integer(Int(s.retry))
                w.raw("</span>")
            }
            if !s.isFinal { w.raw(" <span class=\"retry\">superseded by a retry</span>") }
            w.raw("</h3><p class=\"step-meta\">")
            var meta: [String] = []
            if s.path != c.string("step_name", s.row) { meta.append("path " + s.path) }
            if let d = c.string("step_description", s.row) { meta.append(d) }
            if let r = c.string("step_role", s.row) { meta.append("role " + r) }
            if let a = c.timestamp("step_started_at", s.row), let b = c.timestamp("step_ended_at", s.row) {
                meta.append(Self.duration(a, b))
            }
            if let f = c.string("code_file", s.row) {
                meta.append(f + (c.int("code_line", s.row).map { ":\($0)" } ?? "") + (c.string("code_function", s.row).map { " " + $0 } ?? ""))
            }
            w.text(meta.joined(separator: " · "))
            w.raw("</p>")
            if let e = c.string("step_error", s.row) {
                w.raw("<p class=\"error\">")
                w.text(e)
                w.raw("</p>")
            }
            // The stimulus columns with a value in this step.
            let params = c.inColumns.filter { col in
                s.vectors.contains { col.valid[$0.row] }
            }
            guard !s.measurements.isEmpty || !s.vectors.isEmpty else {
                w.raw("</section>\n")
                return
            }
            w.raw("<div class=\"scroll\"><table class=\"measurements\"><thead><tr>")
            if !s.vectors.isEmpty { w.raw("<th>vector</th><th>vector verdict</th>") }
            for p in params {
                w.raw("<th class=\"param\">")
                w.text(String(p.name.dropFirst(3)))
                if let u = content.units[p.name] {
                    w.raw(" <span class=\"unit\">(")
                    w.text(u)
                    w.raw(")</span>")
                }
                w.raw("</th>")
            }
            w.raw("<th>measurement</th><th class=\"num\">value</th><th>unit</th><th class=\"num\">low</th><th class=\"num\">nominal</th><th class=\"num\">high</th><th>comp.</th><th>verdict</th><th>pin</th><th>connection</th><th>instrument</th><th>channel</th><th>spec</th></tr></thead><tbody>")
            let emptyVectorCells = s.vectors.isEmpty ? 0 : 2 + params.count
            for m in s.measurements { measurementRow(m, leading: emptyVectorCells, vectorCells: nil) }
            for v in s.vectors {
                var first = true
                if v.measurements.isEmpty {
                    vectorCells(v, params: params)
                    w.raw("<td colspan=\"13\" class=\"note\">no measurement</td></tr>")
                }
                for m in v.measurements {
                    measurementRow(m, leading: 0, vectorCells: first ? (v, params) : nil, continuation: !first ? 2 + params.count : 0)
                    first = false
                }
            }
            w.raw("</tbody></table></div></section>\n")
        }

        /// Opens a row with the vector's cells (number, verdict, stimulus).
        mutating func vectorCells(_ v: VectorAttempt, params: [RunTable.Column]) {
            let o = c.string("vector_outcome", v.row) ?? "aborted"
            w.raw(v.isFinal ? "<tr class=\"vector-start\">" : "<tr class=\"vector-start superseded\">")
            w.raw("<td class=\"vec\">")
            w.integer(Int(v.index))
            if v.retry > 0 {
                w.raw(" <span class=\"retry\">retry ")
                w.integer(Int(v.retry))
                w.raw("</span>")
            }
            w.raw("</td><td class=\"verdict v-")
            w.text(o)
            w.raw("\">")
            w.text(o)
            if let e = c.string("vector_error", v.row) {
                w.raw("<div class=\"error\">")
                w.text(e)
                w.raw("</div>")
            }
            w.raw("</td>")
            for p in params {
                w.raw("<td class=\"param\">")
                w.text(Self.cell(p, v.row))
                w.raw("</td>")
            }
        }

        mutating func measurementRow(
            _ m: Int, leading: Int, vectorCells vector: (VectorAttempt, [RunTable.Column])?, continuation: Int = 0
        ) {
            let o = c.m.outcome[m] ?? "aborted"
            let isFinal = c.final.bool(m) ?? true
            if case let (v, params)? = vector {
                // The vector's first measurement shares its row.
                vectorCells(v, params: params)
            } else {
                w.raw(isFinal ? "<tr>" : "<tr class=\"superseded\">")
                if leading + continuation > 0 {
                    w.raw("<td colspan=\"")
                    w.integer(leading + continuation)
                    w.raw("\"></td>")
                }
            }
            // The measurement's own cells; its class is on the name cell's row marker.
            w.raw("<td class=\"measurement v-")
            w.text(o)
            w.raw(isFinal ? "\"" : " superseded\"")
            w.attribute("data-row", String(m))
            w.raw(">")
            w.text(c.m.name[m] ?? "")
            w.raw("</td><td class=\"num value\"")
            let value = c.m.value.double(m)
            let shown = value.map(ChartNumber.display) ?? "null"
            if let value, ChartNumber.plain(value) != shown { w.attribute("title", ChartNumber.plain(value)) }
            w.raw(">")
            w.text(shown)
            w.raw("</td><td>")
            w.text(c.m.unit[m] ?? "")
            w.raw("</td><td class=\"num\">")
            w.text(c.m.low.double(m).map(ChartNumber.display) ?? "")
            w.raw("</td><td class=\"num\">")
            if let n = c.m.nominal.double(m) {
                w.text(ChartNumber.display(n))
                if let t = c.m.tolerance.double(m), t > 0 {
                    w.raw(" ±")
                    w.text(ChartNumber.display(t))
                }
            }
            w.raw("</td><td class=\"num\">")
            w.text(c.m.high.double(m).map(ChartNumber.display) ?? "")
            w.raw("</td><td>")
            w.text(c.m.comparator[m] ?? "")
            w.raw("</td><td class=\"verdict v-")
            w.text(o)
            w.raw("\">")
            w.text(o)
            w.raw("</td><td>")
            w.text(c.m.pin[m] ?? "")
            w.raw("</td><td>")
            w.text(c.m.connection[m] ?? "")
            w.raw("</td><td>")
            if let role = c.m.role[m] {
                w.text(role)
                if let r = c.m.resource[m] {
                    w.raw(" <span class=\"res\">")
                    w.text(r)
                    w.raw("</span>")
                }
            }
            w.raw("</td><td>")
            w.text(c.m.channel[m] ?? "")
            w.raw("</td><td class=\"spec\">")
            let spec = [c.m.characteristic[m], c.m.specRef[m]].compactMap { $0 }
            w.text(spec.joined(separator: " · "))
            w.raw("</td></tr>")
        }

        // MARK: Retries

        mutating func retries() {
            // Vectors and steps with more than one attempt.
            struct Key: Hashable {
                var path: String
                var index: Int64
            }
            var attempts: [Key: [(retry: Int64, outcome: String)]] = [:]
            var order: [Key] = []
            var stepAttempts: [String: [(Int64, String)]] = [:]
            var stepOrder: [String] = []
            for s in content.steps {
                if stepAttempts[s.path] == nil { stepOrder.append(s.path) }
                stepAttempts[s.path, default: []].append((s.retry, c.string("step_outcome", s.row) ?? "aborted"))
                for v in s.vectors {
                    let key = Key(path: s.path, index: v.index)
                    if attempts[key] == nil { order.append(key) }
                    attempts[key, default: []].append((v.retry, c.string("vector_outcome", v.row) ?? "aborted"))
                }
            }
            let retriedVectors = order.filter { (attempts[$0]?.count ?? 0) > 1 }
            let retriedSteps = stepOrder.filter { (stepAttempts[$0]?.count ?? 0) > 1 }
            w.raw("<section id=\"retries\"><h2>Retries</h2>")
            if retriedVectors.isEmpty && retriedSteps.isEmpty {
                w.raw("<p class=\"note\">No step or vector was retried.</p></section>\n")
                return
            }
            w.raw("<table class=\"retries\"><thead><tr><th>step</th><th>vector</th><th>attempts</th></tr></thead><tbody>")
            for path in retriedSteps {
                w.raw("<tr><td>")
                w.text(path)
                w.raw("</td><td>(whole step)</td><td>")
                attemptList(stepAttempts[path] ?? [])
                w.raw("</td></tr>")
            }
            for key in retriedVectors {
                w.raw("<tr class=\"retried\"><td>")
                w.text(key.path)
                w.raw("</td><td>")
                w.integer(Int(key.index))
                w.raw("</td><td>")
                attemptList((attempts[key] ?? []).map { ($0.retry, $0.outcome) })
                w.raw("</td></tr>")
            }
            w.raw("</tbody></table><p class=\"note\">The final attempt counts; earlier attempts stay in the data (<code>is_final_attempt = false</code>).</p></section>\n")
        }

        mutating func attemptList(_ list: [(Int64, String)]) {
            for (k, (retry, outcome)) in list.enumerated() {
                if k > 0 { w.raw(" → ") }
                w.raw("<span class=\"pill v-")
                w.text(outcome)
                w.raw("\">")
                w.text("#\(retry) \(outcome)")
                w.raw("</span>")
            }
        }

        // MARK: Charts

        mutating func charts() {
            struct Key: Hashable {
                var path: String
                var name: String
            }
            var series: [Key: [Int]] = [:]
            var order: [Key] = []
            var vectorOf: [Int: VectorAttempt] = [:]
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

        // MARK: Traceability, inventory, mocks, metadata

        mutating func traceability() {
            struct Path: Hashable {
                var pin, connection, role, resource, channel: String?
            }
            var counts: [Path: (measured: Int, failed: Int)] = [:]
            var order: [Path] = []
            for s in content.steps {
                for m in s.measurements + s.vectors.flatMap(\.measurements) {
                    let p = Path(pin: c.m.pin[m], connection: c.m.connection[m], role: c.m.role[m], resource: c.m.resource[m], channel: c.m.channel[m])
                    if counts[p] == nil {
                        order.append(p)
                        counts[p] = (0, 0)
                    }
                    counts[p]!.measured += 1
                    if c.final.bool(m) ?? true, c.m.outcome[m] == "failed" || c.m.outcome[m] == "errored" { counts[p]!.failed += 1 }
                }
            }
            w.raw("<section id=\"traceability\"><h2>Traceability</h2>")
            guard !order.isEmpty else {
                w.raw("<p class=\"note\">No measurement.</p></section>\n")
                return
            }
            w.raw("<table class=\"trace\"><thead><tr><th>DUT pin</th><th>fixture connection</th><th>instrument</th><th>resource</th><th>channel</th><th>model / serial</th><th>calibration due</th><th>last calibrated</th><th>certificate</th><th class=\"num\">measurements</th><th class=\"num\">failed</th></tr></thead><tbody>")
            for p in order {
                let inst = p.role.flatMap { role in content.instruments.first { $0["role"]?.stringValue == role } }
                w.raw(p.pin == nil && p.connection == nil && p.role == nil ? "<tr class=\"untraced\">" : "<tr>")
                for v in [p.pin, p.connection] {
                    w.raw("<td>")
                    w.text(v ?? "—")
                    w.raw("</td>")
                }
                w.raw("<td>")
                w.text(p.role ?? "—")
                if inst?["mocked"]?.boolValue == true { w.raw(" <span class=\"pill mocked\">mocked</span>") }
                w.raw("</td><td>")
                w.text(p.resource ?? "")
                w.raw("</td><td>")
                w.text(p.channel ?? "")
                w.raw("</td><td>")
                w.text([inst?["model"]?.stringValue, inst?["serial"]?.stringValue].compactMap { $0 }.joined(separator: " / "))
                w.raw("</td>")
                calibrationCell(inst?["cal_due"]?.stringValue)
                w.raw("<td>")
                w.text(inst?["cal_last"]?.stringValue ?? "")
                w.raw("</td><td>")
                w.text(inst?["cal_certificate"]?.stringValue ?? "")
                w.raw("</td><td class=\"num\">")
                w.integer(counts[p]!.measured)
                w.raw("</td><td class=\"num\">")
                w.integer(counts[p]!.failed)
                w.raw("</td></tr>")
            }
            w.raw("</tbody></table></section>\n")
        }

        /// A calibration due date, coloured against the run's date: overdue, due within 30
        /// days, or fine.
        mutating func calibrationCell(_ due: String?) {
            guard let due, !due.isEmpty else {
                w.raw("<td class=\"cal-none\">—</td>")
                return
            }
            let runDate = c.timestamp("run_started_at", 0).map { $0.date } ?? Timestamp.now().date
            let soon = c.timestamp("run_started_at", 0).map { Timestamp(microseconds: $0.microseconds + 30 * 86_400_000_000).date } ?? runDate
            let cls = due < runDate ? "cal-overdue" : due <= soon ? "cal-soon" : "cal-ok"
            w.raw("<td class=\"\(cls)\">")
            w.text(due)
            if cls == "cal-overdue" { w.raw(" (overdue at the run)") }
            w.raw("</td>")
        }

        mutating func inventory() {
            w.raw("<section id=\"inventory\"><h2>Station inventory</h2>")
            guard !content.instruments.isEmpty else {
                w.raw("<p class=\"note\">No instrument was connected.</p></section>\n")
                return
            }
            w.raw("<table class=\"inventory\"><thead><tr><th>role</th><th>driver</th><th>resource</th><th>manufacturer</th><th>model</th><th>serial</th><th>firmware</th><th>calibration due</th><th>last calibrated</th><th>certificate</th><th>lab</th></tr></thead><tbody>")
            for i in content.instruments {
                let mocked = i["mocked"]?.boolValue == true
                w.raw(mocked ? "<tr class=\"mocked\"><td>" : "<tr><td>")
                w.text(i["role"]?.stringValue ?? "")
                if mocked { w.raw(" <span class=\"pill mocked\">mocked</span>") }
                w.raw("</td>")
                for key in ["driver", "resource", "manufacturer", "model", "serial", "firmware"] {
                    w.raw("<td>")
                    w.text(i[key]?.stringValue ?? "")
                    w.raw("</td>")
                }
                calibrationCell(i["cal_due"]?.stringValue)
                for key in ["cal_last", "cal_certificate", "cal_lab"] {
                    w.raw("<td>")
                    w.text(i[key]?.stringValue ?? "")
                    w.raw("</td>")
                }
                w.raw("</tr>")
            }
            w.raw("</tbody></table></section>\n")
        }

        mutating func mocks() {
            let roles = content.instruments.filter { $0["mocked"]?.boolValue == true }
            w.raw("<section id=\"mocks\"><h2>Mocks</h2>")
            if roles.isEmpty && content.mockPatches.isEmpty {
                w.raw("<p class=\"note\">Nothing was mocked: every instrument was real.</p></section>\n")
                return
            }
            if !roles.isEmpty {
                w.raw("<p>Mocked roles: ")
                w.text(roles.compactMap { $0["role"]?.stringValue }.joined(separator: ", "))
                w.raw("</p>")
            }
            if !content.mockPatches.isEmpty {
                w.raw("<table class=\"patches\"><thead><tr><th>role</th><th>operation</th><th>behaviour</th><th class=\"num\">times</th><th>scope</th></tr></thead><tbody>")
                for p in content.mockPatches {
                    w.raw("<tr>")
                    for key in ["role", "operation", "behavior"] {
                        w.raw("<td>")
                        w.text(p[key]?.stringValue ?? "")
                        w.raw("</td>")
                    }
                    w.raw("<td class=\"num\">")
                    w.text(p["times"]?.intValue.map { String($0) } ?? "always")
                    w.raw("</td><td>")
                    w.text(p["scope"]?.stringValue ?? "")
                    w.raw("</td></tr>")
                }
                w.raw("</tbody></table>")
            }
            w.raw("</section>\n")
        }

        mutating func metadata() {
            guard !content.custom.isEmpty else { return }
            w.raw("<section id=\"metadata\"><h2>Run metadata</h2><dl class=\"card wide\">")
            for (k, v) in content.custom { field(k, v) }
            w.raw("</dl></section>\n")
        }

        // MARK: Formatting

        /// A dynamic column's value at a row, as text.
        static func cell(_ col: RunTable.Column, _ row: Int) -> String {
            guard col.valid[row] else { return "" }
            switch col.type {
            case .double: return ChartNumber.display(col.doubles[row])
            case .bool: return col.bools[row] ? "true" : "false"
            case .string: return col.stringValues[Int(col.stringIndices[row])]
            case .int64: return String(col.ints[row])
            case .timestamp: return Timestamp(microseconds: col.ints[row]).iso8601
            }
        }

        /// `2026-11-26 15:27:44 UTC`
        static func time(_ t: Timestamp) -> String {
            let iso = t.iso8601
            return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(8)) + " UTC"
        }

        /// `1.234 s`, `2 min 3.4 s`
        static func duration(_ a: Timestamp, _ b: Timestamp) -> String {
            let s = a.seconds(to: b)
            if s < 1 { return ChartNumber.fixed(s * 1000, decimals: 1) + " ms" }
            if s < 60 { return ChartNumber.fixed(s, decimals: 3) + " s" }
            let minutes = Int(s / 60)
            return "\(minutes) min " + ChartNumber.fixed(s - Double(minutes) * 60, decimals: 1) + " s"
        }
    }

    /// The columns the report reads, looked up once.
    struct Columns {
        struct MeasurementColumns {
            let name, unit, outcome, comparator, characteristic, specRef, pin, connection, role, resource, channel: Strings
            let value, low, high, nominal, tolerance: Numbers
        }
        let table: RunTable
        let m: MeasurementColumns
        let final: Numbers
        let inColumns: [RunTable.Column]
        private var strings: [String: Strings] = [:]
        private var numbers: [String: Numbers] = [:]

        init(_ table: RunTable) {
            self.table = table
            func s(_ n: String) -> Strings { Strings(table.column(n)) }
            func d(_ n: String) -> Numbers { Numbers(table.column(n)) }
            m = MeasurementColumns(
                name: s("measurement_name"), unit: s("measurement_unit"), outcome: s("measurement_outcome"),
                comparator: s("limit_comparator"), characteristic: s("characteristic_id"), specRef: s("spec_ref"),
                pin: s("dut_pin"), connection: s("fixture_connection"), role: s("instrument_role"),
                resource: s("instrument_resource"), channel: s("instrument_channel"), value: d("measurement_value"),
                low: d("limit_low"), high: d("limit_high"), nominal: d("limit_nominal"), tolerance: d("limit_tolerance"))
            final = d("is_final_attempt")
            inColumns = table.columns.filter { $0.name.hasPrefix("in_") }
            for col in table.columns where !col.name.hasPrefix("in_") && !col.name.hasPrefix("out_") {
                if col.type == .string { strings[col.name] = Strings(col) } else { numbers[col.name] = Numbers(col) }
            }
        }

        func string(_ name: String, _ row: Int) -> String? { strings[name]?[row] }
        func int(_ name: String, _ row: Int) -> Int64? { numbers[name]?.int(row) }
        func timestamp(_ name: String, _ row: Int) -> Timestamp? { int(name, row).map { Timestamp(microseconds: $0) } }
    }
}
