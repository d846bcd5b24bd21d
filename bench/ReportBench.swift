// Run report: one run of 10k measurements -> its self-contained HTML report, against
// `litmus runs export --json` of the same run (every row and column as JSON Lines).
import Foundation
import Litmus
import LitmusAnalytics
import LitmusJSON

/// Time of the best of `rounds` runs of `body`, in seconds.
private func best(_ rounds: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = now()
        try body()
        best = min(best, Double(now() - start) / 1e9)
    }
    return best
}

/// A characterization run: one step, 1,000 vectors of 10 measurements each (three stimulus
/// parameters), every 97th vector failing once and passing on a retry, an observation per
/// vector, two instruments (one mocked).
private func reportRun(measurements: Int) -> RunAccumulator {
    let session = UUID(), runID = UUID()
    var run = RunAccumulator(runID: runID)
    func add(_ body: EventBody) { run.add(Event(sessionID: session, runID: runID, body)) }
    add(.sessionStarted(SessionStarted(stationID: "bench", operatorID: "op1")))
    add(
        .runStarted(
            RunStarted(
                dutSerial: "BENCH-1", dutPartNumber: "PWR-100", partID: "PWR-100", stationID: "bench", operatorID: "op1",
                testPhase: "characterization", gitCommit: "0123456789abcdef")))
    add(.instrumentConnected(InstrumentConnected(role: "dmm", driver: "lan", resource: "TCPIP::10.0.0.5::INSTR", mocked: false, model: "DMM6500", calibrationDue: "2027-06-01")))
    add(.instrumentConnected(InstrumentConnected(role: "eload", driver: "mock", resource: "MOCK::eload", mocked: true)))
    add(.stepStarted(StepStarted(name: "sweep", index: 0)))
    for v in 0..<(measurements / 10) {
        for retry in 0...(v % 97 == 5 ? 1 : 0) {
            let failing = v % 97 == 5 && retry == 0
            add(
                .vectorStarted(
                    VectorStarted(
                        stepIndex: 0, stepPath: "sweep", index: Int64(v), retry: Int64(retry),
                        params: [
                            NamedValue("vin", .double(Double(v % 10)), unit: "V"), NamedValue("load", .double(Double(v / 10 % 10) * 0.1), unit: "A"),
                            NamedValue("temp", .int(Int64(v / 100)), unit: "degC"),
                        ])))
            for m in 0..<10 {
                let value = Double(m) + 0.001 * Double(v % 50) + (failing && m == 3 ? 200 : 0)
                add(
                    .measurement(
                        Measurement(
                            stepIndex: 0, stepPath: "sweep", vectorIndex: Int64(v), retry: Int64(retry), name: "m\(m)", value: value,
                            unit: "V", outcome: value > 100 ? .failed : .passed, limitLow: -1, limitHigh: 100, comparator: .GELE,
                            dutPin: "J1.\(m)", fixtureConnection: "k\(m)", instrumentRole: "dmm", instrumentResource: "TCPIP::10.0.0.5::INSTR",
                            instrumentChannel: "1")))
            }
            add(.observation(Observation(stepIndex: 0, stepPath: "sweep", vectorIndex: Int64(v), retry: Int64(retry), NamedValue("temp_case", .double(25 + Double(v % 7)), unit: "degC"))))
            add(.vectorEnded(VectorEnded(stepIndex: 0, stepPath: "sweep", index: Int64(v), retry: Int64(retry), outcome: failing ? .failed : .passed)))
        }
    }
    add(.stepEnded(StepEnded(name: "sweep", index: 0, outcome: .passed)))
    add(.runEnded(RunEnded(outcome: .passed)))
    return run
}

/// What `litmus runs export --json` writes: one JSON object per row with every non-null column.
private func exportJSONLines(_ table: RunTable) -> Int {
    var out = ""
    for row in 0..<table.rowCount {
        var j = JSONBuffer()
        j.beginObject()
        for c in table.columns where c.valid[row] {
            j.key(c.name)
            j.value(c.json(row))
        }
        j.endObject()
        out += String(decoding: j.bytes, as: UTF8.self) + "\n"
    }
    return out.utf8.count
}

func runReportBenchmark() {
    let n = 10_000
    print("Run report (RunReport.html: one self-contained HTML file with charts), best of 5")
    let run = reportRun(measurements: n)
    let table = RunTable(run: run)
    var htmlBytes = 0, jsonBytes = 0
    let report = best(5) { htmlBytes = RunReport(table: table).html().utf8.count }
    let export = best(5) { jsonBytes = exportJSONLines(table) }
    let tableTime = best(3) { _ = RunTable(run: run) }
    print(
        String(
            format: "  %6d measurements (%d rows): report %6.1f ms (%.1f MB of HTML); export --json of the same run %6.1f ms (%.1f MB) = baseline; report %.2fx baseline; building the run's table %.1f ms",
            run.measurementCount, table.rowCount, report * 1e3, Double(htmlBytes) / 1e6, export * 1e3, Double(jsonBytes) / 1e6,
            report / export, tableTime * 1e3))
    let goal = 0.200
    print(String(format: "Goal: report of a 10k-measurement run <= %.0f ms: %@ (%.1f ms)", goal * 1e3, report <= goal ? "met" : "NOT met", report * 1e3))
}
