import Foundation
import Litmus
import LitmusJSON

/// Where a report's measurements came from: traceability, the station inventory, mocks and
/// the run's metadata.
extension RunReport.Page {
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
}
