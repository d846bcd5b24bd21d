import Foundation
import LitmusAnalytics
import Testing

@testable import Litmus

/// `litmus runs report` and ``RunReport``: real runs (the example on the mock bench; a run
/// written through a real event log and channel store), the HTML read back by Python's HTML
/// parser and by headless Chromium, the PDF printed by Chromium.
@Suite(.serialized) struct RunReportTests {
    /// The example's run: every measurement of its Parquet file (read by pyarrow) is in the
    /// report with its verdict class, each measurement has a chart with the file's limits, and
    /// the page uses nothing outside itself.
    @Test func theExampleRunGivesASelfContainedReport() throws {
        let data = TestPlugins.scratch + "/report-example-\(UUID().uuidString)"
        let id = try ReportFixtures.exampleRun(data: data, serial: "SN-REPORT")
        let html = data + "/report.html"
        let result = try TestPlugins.run(ReportFixtures.litmus, ["runs", "report", String(id.prefix(8)), "--html", html, "--data-dir", data])
        #expect(result.status == 0, "\(result.output)")
        let parsed = try ReportFixtures.parse(try String(contentsOfFile: html, encoding: .utf8))

        let files = try FileManager.default.subpathsOfDirectory(atPath: data + "/runs").filter { $0.hasSuffix(".parquet") }
        let rows = try #require(
            try TestPython.json(
                """
                import sys, json, pyarrow.parquet as pq
                t = pq.read_table(sys.argv[1]).to_pylist()
                print(json.dumps([{k: r[k] for k in ("measurement_name", "measurement_outcome", "limit_low", "limit_high", "step_path")}
                                  for r in t if r["record_type"] == "measurement"]))
                """, [data + "/runs/" + (files.first ?? "")]) as? [[String: Any]])
        let cells = parsed["measurements"] as? [[String: Any]] ?? []
        #expect(rows.count == 7 && cells.count == rows.count, "\(cells.count) cells for \(rows.count) measurements")
        for (row, cell) in zip(rows, cells) {
            #expect(cell["text"] as? String == row["measurement_name"] as? String)
            #expect((cell["classes"] as? [String])?.contains("v-\(row["measurement_outcome"] as? String ?? "?")") == true, "\(cell)")
        }
        let charts = parsed["charts"] as? [[String: Any]] ?? []
        let limitCharts = charts.filter { ($0["classes"] as? [String])?.contains("limit-chart") == true }
        #expect(limitCharts.count == Set(rows.map { "\($0["step_path"] ?? "")/\($0["measurement_name"] ?? "")" }).count)
        let vout = try #require(limitCharts.first { ($0["attrs"] as? [String: String])?["data-measurement"] == "vout" })
        let attrs = vout["attrs"] as? [String: String] ?? [:]
        let low = rows.first { $0["measurement_name"] as? String == "vout" }?["limit_low"] as? Double
        #expect(attrs["data-limit-low"].flatMap(Double.init) == low && low != nil)
        #expect(attrs["data-points"] == "6")
        #expect((vout["marks"] as? [String: Int])?["v-passed"] == 6)
        #expect((vout["marks"] as? [String: Int])?["limit-low"] == 1)
        #expect(parsed["scripts"] as? Int == 0)
        #expect((parsed["external"] as? [String])?.isEmpty == true, "\(parsed["external"] ?? "")")
        let ids = parsed["ids"] as? [String] ?? []
        for section in ["identity", "summary", "steps", "retries", "charts", "traceability", "inventory", "mocks", "mocked"] {
            #expect(ids.contains(section), "no #\(section)")
        }
        let text = parsed["text"] as? String ?? ""
        #expect(text.contains("SN-REPORT") && text.contains("bench_mock") && text.contains("SIM0::dmm::INSTR") && text.contains("vout_sense"))
        #expect((parsed["h1"] as? String)?.contains("PASSED") == true)
    }

    /// A run with channel data, a retry, a failure and mocks: every one of them in the
    /// report; the waveform decimated per pixel with its spike kept; data escaped.
    @Test func aRichRunShowsRetriesFailuresMocksAndWaveforms() throws {
        let sample = ReportFixtures.RichRun()
        try sample.write()
        let report = try RunReport.load(dataDir: sample.dataDir, runID: sample.run.uuidString)
        #expect(report.outcome == "failed")
        #expect(report.measurementCount == 6)
        let parsed = try ReportFixtures.parse(report.html())

        let cells = parsed["measurements"] as? [[String: Any]] ?? []
        #expect(cells.count == 6)
        let classes = cells.map { Set($0["classes"] as? [String] ?? []) }
        // vector 2's first attempt failed and was superseded; vector 3 failed for good.
        #expect(classes.filter { $0.contains("v-failed") }.count == 2)
        #expect(classes.filter { $0.contains("v-failed") && $0.contains("superseded") }.count == 1)
        #expect(classes.filter { $0.contains("superseded") }.count == 1)
        // The odd name is text, not markup.
        #expect(parsed["scripts"] as? Int == 0)
        #expect(cells.contains { $0["text"] as? String == ReportFixtures.RichRun.oddName })
        #expect((parsed["h1"] as? String)?.contains(ReportFixtures.RichRun.serial) == true)

        let charts = parsed["charts"] as? [[String: Any]] ?? []
        let waveform = try #require(charts.first { ($0["attrs"] as? [String: String])?["data-samples"] == "\(ReportFixtures.RichRun.samples)" })
        #expect((waveform["classes"] as? [String])?.contains("waveform") == true)
        // 100k samples drawn as at most a few points per pixel column (width 720).
        let points = waveform["path_points"] as? Int ?? 0
        #expect(points > 100 && points <= 4 * 720, "\(points) path points")
        #expect(charts.contains { ($0["attrs"] as? [String: String])?["data-samples"] == "500" })
        let vout = try #require(charts.first { ($0["attrs"] as? [String: String])?["data-measurement"] == "vout" })
        let marks = vout["marks"] as? [String: Int] ?? [:]
        #expect(marks["superseded"] == 1 && marks["v-failed"] == 2 && marks["v-passed"] == 3)
        #expect((vout["attrs"] as? [String: String])?["data-limit-high"] == "3.465")

        let ids = parsed["ids"] as? [String] ?? []
        #expect(ids.contains("mocked") && ids.contains("channels") && ids.contains("diagnostics") == false)
        let text = parsed["text"] as? String ?? ""
        #expect(text.contains("measure_dc_voltage") && text.contains("value 3.6"))  // the mock patch
        #expect(text.contains("2020-01-01 (overdue at the run)"))  // calibration, traced to the measurement
        #expect(text.contains("#0 failed") && text.contains("#1 passed"))  // the retry
        #expect(text.contains("first <lot>"))  // custom metadata
    }

    /// Past `maxMeasurementRows` only failures get rows (the page of a huge run stays one a
    /// browser opens), and the page says how many were left out; the charts keep every value.
    @Test func pastTheRowLimitOnlyFailuresAreListed() throws {
        let sample = ReportFixtures.RichRun()
        try sample.write()
        let report = try RunReport.load(dataDir: sample.dataDir, runID: String(sample.run.uuidString.prefix(6)))
        let parsed = try ReportFixtures.parse(report.html(.init(maxMeasurementRows: 2)))
        let cells = parsed["measurements"] as? [[String: Any]] ?? []
        let classes = cells.map { Set($0["classes"] as? [String] ?? []) }
        #expect(cells.count == 4, "\(cells)")
        #expect(classes.filter { $0.contains("v-failed") }.count == 2)
        let text = parsed["text"] as? String ?? ""
        #expect(text.contains("1 passed measurement row(s) of this step not listed"))
        let vout = (parsed["charts"] as? [[String: Any]] ?? []).first { ($0["attrs"] as? [String: String])?["data-measurement"] == "vout" }
        #expect((vout?["attrs"] as? [String: String])?["data-points"] == "5")
    }

    /// The spike in the middle of 100k samples survives decimation: the waveform's envelope
    /// reaches it.
    @Test func theWaveformEnvelopeKeepsTheSpike() throws {
        let sample = ReportFixtures.RichRun()
        let uri = try sample.write()
        let data = try ChannelStore.read(dataDir: sample.dataDir, uri: uri)
        let wave = try #require(data.waveforms?.first)
        let plot = WaveformPlot(title: "t", samples: wave.samples, dt: wave.dt, unit: "V")
        let columns = MinMaxDecimator.decimate(wave.samples, columns: 656)
        #expect(columns.compactMap { $0?.max }.max() == 0.9)
        let spike = columns.firstIndex { $0?.max == 0.9 }
        #expect(spike == ReportFixtures.RichRun.spikeIndex * 656 / ReportFixtures.RichRun.samples)
        #expect(plot.svg.contains("min/max per pixel"))
    }

    /// Headless Chromium shows the charts at their size, with marks drawn, no console error,
    /// the verdict banner in the failure colour; the screenshot is kept.
    @Test func theReportRendersInHeadlessChromium() throws {
        let sample = ReportFixtures.RichRun()
        try sample.write()
        let file = sample.dataDir + "/report.html"
        let result = try TestPlugins.run(
            ReportFixtures.litmus, ["runs", "report", String(sample.run.uuidString.prefix(8)), "--html", file, "--data-dir", sample.dataDir])
        #expect(result.status == 0, "\(result.output)")
        let shot = ReportFixtures.artifacts + "/rich-run.png"
        let page = try ReportFixtures.browse(file, screenshot: shot)
        let charts = page["charts"] as? [[String: Any]] ?? []
        #expect(charts.count >= 4)
        for chart in charts {
            #expect((chart["width"] as? Double ?? 0) > 100 && (chart["height"] as? Double ?? 0) > 100, "\(chart)")
            #expect((chart["drawn"] as? Int ?? 0) > 0, "nothing drawn in \(chart)")
        }
        #expect(page["verdict"] as? String == "FAILED")
        #expect(page["banner"] as? String == "rgb(207, 34, 46)")
        #expect(page["failed_bg"] as? String == "rgb(255, 235, 233)")
        let logs = page["logs"] as? [[String: Any]] ?? []
        #expect(logs.isEmpty, "console: \(logs)")
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000)

        // The example's run too, as a new user would see it.
        let data = TestPlugins.scratch + "/report-browse-\(UUID().uuidString)"
        let id = try ReportFixtures.exampleRun(data: data, serial: "SN-BROWSE")
        let example = data + "/example.html"
        _ = try TestPlugins.run(ReportFixtures.litmus, ["runs", "report", id, "--html", example, "--data-dir", data])
        let examplePage = try ReportFixtures.browse(example, screenshot: ReportFixtures.artifacts + "/example-run.png")
        #expect((examplePage["charts"] as? [[String: Any]] ?? []).count == 2)
        #expect(examplePage["verdict"] as? String == "PASSED")
        #expect((examplePage["logs"] as? [[String: Any]] ?? []).isEmpty)
    }

    /// `--pdf` prints the report with headless Chromium: a PDF with pages.
    @Test func pdfIsPrintedWithChromium() throws {
        let sample = ReportFixtures.RichRun()
        try sample.write()
        let pdf = sample.dataDir + "/report.pdf"
        let result = try TestPlugins.run(
            ReportFixtures.litmus, ["runs", "report", String(sample.run.uuidString.prefix(8)), "--pdf", pdf, "--data-dir", sample.dataDir])
        #expect(result.status == 0, "\(result.output)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pdf))
        #expect(bytes.starts(with: Array("%PDF-".utf8)))
        // Page objects: "/Type /Page" not followed by "s" (that is the page tree).
        let text = String(decoding: bytes, as: UTF8.self)
        let pages = text.components(separatedBy: "/Type /Page").dropFirst().filter { !$0.hasPrefix("s") }.count
        #expect(pages > 0, "no page in the PDF")
        #expect(!FileManager.default.fileExists(atPath: "run-\(sample.run.uuidString.lowercased().prefix(8)).html"))
        // Neither --html nor --pdf: run-<id>.html in the working directory.
        let plain = try TestPlugins.run(
            ReportFixtures.litmus, ["runs", "report", String(sample.run.uuidString.prefix(8)), "--data-dir", sample.dataDir],
            in: sample.dataDir)
        #expect(plain.status == 0 && plain.output.contains("wrote run-"), "\(plain.output)")
        #expect(FileManager.default.fileExists(atPath: sample.dataDir + "/run-\(sample.run.uuidString.lowercased().prefix(8)).html"))
    }

    /// Bad run ids, a data directory without runs, a missing browser: clear errors that say
    /// what to do, and a non-zero exit.
    @Test func badInputIsAClearError() throws {
        let sample = ReportFixtures.RichRun()
        try sample.write()
        let unknown = try TestPlugins.run(ReportFixtures.litmus, ["runs", "report", "ffffffff", "--data-dir", sample.dataDir])
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("no run id starts with 'ffffffff'") && unknown.output.contains("Fix: `litmus runs list"), "\(unknown.output)")
        let short = try TestPlugins.run(ReportFixtures.litmus, ["runs", "report", "ab", "--data-dir", sample.dataDir])
        #expect(short.status != 0 && short.output.contains("at least 4 characters"), "\(short.output)")
        let empty = try TestPlugins.run(ReportFixtures.litmus, ["runs", "report", "abcd", "--data-dir", sample.dataDir + "/nowhere"])
        #expect(empty.status != 0 && empty.output.contains("no event log here") && empty.output.contains("Fix:"), "\(empty.output)")

        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/nonexistent"
        env.removeValue(forKey: "LITMUS_CHROMIUM")
        let id = String(sample.run.uuidString.prefix(8))
        let noBrowser = try TestPlugins.run(
            ReportFixtures.litmus, ["runs", "report", id, "--pdf", sample.dataDir + "/r.pdf", "--data-dir", sample.dataDir], environment: env)
        #expect(noBrowser.status != 0)
        #expect(noBrowser.output.contains("needs headless Chromium") && noBrowser.output.contains("apt-get install chromium"), "\(noBrowser.output)")
        env["LITMUS_CHROMIUM"] = "/nonexistent/chromium"
        let badBrowser = try TestPlugins.run(
            ReportFixtures.litmus, ["runs", "report", id, "--pdf", sample.dataDir + "/r.pdf", "--data-dir", sample.dataDir], environment: env)
        #expect(badBrowser.status != 0 && badBrowser.output.contains("LITMUS_CHROMIUM is /nonexistent/chromium"), "\(badBrowser.output)")
        #expect(!FileManager.default.fileExists(atPath: sample.dataDir + "/r.pdf"))
    }
}
