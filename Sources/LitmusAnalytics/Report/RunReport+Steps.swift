import Foundation
import Litmus
import LitmusJSON

/// The steps of a report: each step attempt with its vectors and measurements, and the retries.
extension RunReport.Page {
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

    mutating func step(_ k: Int, _ s: RunReport.StepAttempt) {
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
        let hiddenBefore = hiddenRows
        for m in s.measurements where shows(m) { measurementRow(m, leading: emptyVectorCells, vectorCells: nil) }
        for v in s.vectors {
            var first = true
            if v.measurements.isEmpty && shownRows < options.maxMeasurementRows {
                vectorCells(v, params: params)
                w.raw("<td colspan=\"13\" class=\"note\">no measurement</td></tr>")
            }
            for m in v.measurements where shows(m) {
                measurementRow(m, leading: 0, vectorCells: first ? (v, params) : nil, continuation: !first ? 2 + params.count : 0)
                first = false
            }
        }
        w.raw("</tbody></table></div>")
        if hiddenRows > hiddenBefore {
            w.raw("<p class=\"note hidden-rows\">")
            w.integer(hiddenRows - hiddenBefore)
            w.raw(" passed measurement row(s) of this step not listed (at most ")
            w.integer(options.maxMeasurementRows)
            w.raw(" rows per report, failures always): every value is in the charts below and in <code>litmus runs export</code>.</p>")
        }
        w.raw("</section>\n")
    }

    /// Whether measurement `m` gets a row: every row up to ``Options/maxMeasurementRows``,
    /// then failures only, up to twice that (the page stays a size a browser opens).
    mutating func shows(_ m: Int) -> Bool {
        let outcome = c.m.outcome[m]
        let passed = outcome == "passed" || outcome == "done" || outcome == "skipped"
        if shownRows < options.maxMeasurementRows || (!passed && shownRows < 2 * options.maxMeasurementRows) {
            shownRows += 1
            return true
        }
        hiddenRows += 1
        return false
    }

    /// Opens a row with the vector's cells (number, verdict, stimulus).
    mutating func vectorCells(_ v: RunReport.VectorAttempt, params: [RunTable.Column]) {
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
        _ m: Int, leading: Int, vectorCells vector: (RunReport.VectorAttempt, [RunTable.Column])?, continuation: Int = 0
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
        for key in retriedVectors.prefix(options.maxMeasurementRows) {
            w.raw("<tr class=\"retried\"><td>")
            w.text(key.path)
            w.raw("</td><td>")
            w.integer(Int(key.index))
            w.raw("</td><td>")
            attemptList((attempts[key] ?? []).map { ($0.retry, $0.outcome) })
            w.raw("</td></tr>")
        }
        w.raw("</tbody></table>")
        if retriedVectors.count > options.maxMeasurementRows {
            w.raw("<p class=\"note\">")
            w.integer(retriedVectors.count - options.maxMeasurementRows)
            w.raw(" more retried vector(s) not listed.</p>")
        }
        w.raw("<p class=\"note\">The final attempt counts; earlier attempts stay in the data (<code>is_final_attempt = false</code>).</p></section>\n")
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
}
