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
        /// Measurement rows listed so far, and left out (``Options/maxMeasurementRows``).
        var shownRows = 0
        var hiddenRows = 0

        init(report: RunReport, options: Options) {
            self.report = report
            self.options = options
            self.c = Columns(report.table)
            w = MarkupWriter(capacity: max(1 << 16, min(report.content.measurementRows, 2 * options.maxMeasurementRows) * 420))
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
