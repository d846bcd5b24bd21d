import Foundation
import Litmus
import LitmusJSON

extension RunMetrics.Yield {
    /// The yield as one JSON object (undefined rates as null): the `yield` member of `litmus
    /// metrics --json` and the `yield_before` / `yield_after` members of `litmus runs rejudge --json`.
    func write(to j: inout JSONBuffer) {
        j.beginObject()
        j.key("runs"); j.value(runs)
        j.key("passed_runs"); j.value(passedRuns)
        j.key("failed_runs"); j.value(failedRuns)
        j.key("other_runs"); j.value(otherRuns)
        j.key("units"); j.value(units)
        j.key("first_pass_units"); j.value(firstPassUnits)
        j.key("final_pass_units"); j.value(finalPassUnits)
        j.key("retested_units"); j.value(retestedUnits)
        j.key("first_pass"); j.finiteOrNull(firstPass)
        j.key("final"); j.finiteOrNull(final)
        j.key("retest_rate"); j.finiteOrNull(retestRate)
        j.endObject()
    }
}

extension RunMetrics {
    /// The metrics as one JSON object (numbers as numbers, undefined indices as null).
    ///
    /// ```json
    /// {"files":3,"yield":{"runs":3,"units":2,"first_pass":0.5,"final":1.0,"retest_rate":0.5,...},
    ///  "measurements":24,"failed_measurements":2,"pareto":{"measurement":[{"key":"vout","failures":2,...}],...},
    ///  "capability":[{"step":"output_voltage","measurement":"vout","cpk":1.8,...,"histogram":{...}}],
    ///  "step_times":[...],"problems":[]}
    /// ```
    public func json() -> String {
        var j = JSONBuffer()
        j.beginObject()
        j.key("files"); j.value(filesRead)
        j.key("yield"); yield.write(to: &j)
        j.key("measurements"); j.value(measurements)
        j.key("failed_measurements"); j.value(failedMeasurements)
        j.key("pareto")
        j.beginObject()
        for (name, entries) in [("measurement", paretoByMeasurement), ("step", paretoByStep), ("pin", paretoByPin), ("station", paretoByStation)] {
            j.key(name)
            j.beginArray()
            for e in entries {
                j.beginObject()
                j.key("key"); j.value(e.key)
                j.key("failures"); j.value(e.failures)
                j.key("share"); j.finiteOrNull(e.share)
                j.key("cumulative"); j.finiteOrNull(e.cumulative)
                j.endObject()
            }
            j.endArray()
        }
        j.endObject()
        j.key("capability")
        j.beginArray()
        for c in capability {
            j.beginObject()
            j.key("step"); j.value(c.step)
            j.key("measurement"); j.value(c.measurement)
            j.key("unit"); if let u = c.unit { j.value(u) } else { j.null() }
            j.key("low"); j.finiteOrNull(c.low)
            j.key("high"); j.finiteOrNull(c.high)
            j.key("n"); j.value(c.count)
            j.key("failures"); j.value(c.failures)
            j.key("mean"); j.finiteOrNull(c.mean)
            j.key("sigma"); j.finiteOrNull(c.sigma)
            j.key("sigma_within"); j.finiteOrNull(c.sigmaWithin)
            j.key("min"); j.finiteOrNull(c.min)
            j.key("max"); j.finiteOrNull(c.max)
            j.key("cp"); j.finiteOrNull(c.cp)
            j.key("cpk"); j.finiteOrNull(c.cpk)
            j.key("pp"); j.finiteOrNull(c.pp)
            j.key("ppk"); j.finiteOrNull(c.ppk)
            j.key("histogram")
            j.beginObject()
            j.key("lower"); j.finiteOrNull(c.histogram.lower)
            j.key("upper"); j.finiteOrNull(c.histogram.upper)
            j.key("counts")
            j.beginArray()
            for k in c.histogram.counts { j.value(k) }
            j.endArray()
            j.endObject()
            j.endObject()
        }
        j.endArray()
        j.key("step_times")
        j.beginArray()
        for s in stepTimes {
            j.beginObject()
            j.key("step"); j.value(s.step)
            j.key("attempts"); j.value(s.attempts)
            j.key("total_s"); j.finiteOrNull(s.totalSeconds)
            j.key("mean_s"); j.finiteOrNull(s.meanSeconds)
            j.key("min_s"); j.finiteOrNull(s.minSeconds)
            j.key("max_s"); j.finiteOrNull(s.maxSeconds)
            j.endObject()
        }
        j.endArray()
        j.key("problems")
        j.beginArray()
        for p in problems { j.value(p) }
        j.endArray()
        j.endObject()
        return String(decoding: j.bytes, as: UTF8.self)
    }

    /// The metrics as plain-text tables for a terminal.
    public func text(top: Int = 10) -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f %%", x * 100) }
        func num(_ x: Double?) -> String {
            guard let x, x.isFinite else { return "-" }
            return String(format: "%.4g", x)
        }
        var out: [String] = []
        let y = yield
        out.append("Runs: \(y.runs) (\(y.passedRuns) passed, \(y.failedRuns) failed, \(y.otherRuns) other) of \(y.units) units, from \(filesRead) files")
        out.append("First-pass yield: \(pct(y.firstPass)) (\(y.firstPassUnits)/\(y.units))   Final yield: \(pct(y.final)) (\(y.finalPassUnits)/\(y.units))   Retest rate: \(pct(y.retestRate)) (\(y.retestedUnits)/\(y.units))")
        out.append("Measurements (final attempts): \(measurements), failed: \(failedMeasurements)")
        for (title, entries) in [
            ("measurement", paretoByMeasurement), ("step", paretoByStep), ("pin", paretoByPin), ("station", paretoByStation),
        ] where !entries.isEmpty {
            out.append("")
            out.append("Failure Pareto by \(title):")
            out.append(TextTable.render(
                header: [title.uppercased(), "FAILURES", "SHARE", "CUMULATIVE"],
                rows: entries.prefix(top).map { [$0.key, "\($0.failures)", pct($0.share), pct($0.cumulative)] }))
        }
        if !capability.isEmpty {
            out.append("")
            out.append("Capability (worst Cpk first):")
            out.append(TextTable.render(
                header: ["STEP", "MEASUREMENT", "LSL", "USL", "UNIT", "N", "FAIL", "MEAN", "SIGMA", "CP", "CPK", "PPK"],
                rows: capability.prefix(top * 3).map { c in
                    [c.step, c.measurement, num(c.low), num(c.high), c.unit ?? "", "\(c.count)", "\(c.failures)", num(c.mean), num(c.sigma),
                     num(c.cp), num(c.cpk), num(c.ppk)]
                }))
        }
        if !stepTimes.isEmpty {
            out.append("")
            out.append("Test time per step (every attempt):")
            out.append(TextTable.render(
                header: ["STEP", "ATTEMPTS", "TOTAL s", "MEAN s", "MIN s", "MAX s"],
                rows: stepTimes.prefix(top * 3).map { s in
                    [s.step, "\(s.attempts)", num(s.totalSeconds), num(s.meanSeconds), num(s.minSeconds), num(s.maxSeconds)]
                }))
        }
        for p in problems { out.append("warning: \(p)") }
        return out.joined(separator: "\n")
    }
}

