import Foundation
import Testing

@testable import Litmus

/// Runs for report tests, written through a real event log and a real channel store, and the
/// readers that check a report: the HTML parsed by Python's parser, the page loaded in headless
/// Chromium through Selenium.
enum ReportFixtures {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"
    /// Where screenshots go (kept after the tests: they are artifacts).
    static let artifacts = TestPlugins.packageRoot + "/.build/artifacts/report"

    /// A run with everything a report shows: a waveform channel (100k samples, one spike), a
    /// series channel, a vector that failed and passed on its retry, a measurement that fails
    /// in its final attempt, a mocked role and a mock patch, an instrument whose calibration
    /// was overdue, and names that need escaping.
    struct RichRun {
        let dataDir = "\(TestPlugins.scratch)/report-\(UUID().uuidString)"
        let session = UUID()
        let run = UUID()
        static let serial = "SN-<R&D>\"7"
        static let oddName = "<script>alert(1)</script>"
        static let spikeIndex = 71_234
        static let samples = 100_000

        /// Emits the run; returns the waveform's URI.
        @discardableResult
        func write() throws -> ChannelURI {
            let log = try EventStore(dataDir: dataDir).eventLog(sessionID: session)
            let store = ChannelStore(dataDir: dataDir, sessionID: session, events: log)
            func e(_ body: EventBody) throws { try log.emit(Event(sessionID: session, runID: run, body)) }
            try log.emit(Event(sessionID: session, .sessionStarted(SessionStarted(stationID: "bench-7", client: "tests", operatorID: "op9"))))
            try e(
                .runStarted(
                    RunStarted(
                        dutSerial: Self.serial, dutPartNumber: "PWR-100", partID: "PWR-100", partName: "Power board",
                        partRevision: "C", stationID: "bench-7", operatorID: "op9", operatorName: "Ada", testPhase: "validation",
                        gitCommit: "0123abcd", gitBranch: "main", metadata: ["lot_note": "first <lot>"])))
            try e(
                .instrumentConnected(
                    InstrumentConnected(
                        role: "dmm", driver: "lan", resource: "TCPIP::10.0.0.5::INSTR", mocked: false, manufacturer: "Acme",
                        model: "DMM6500", serial: "D-42", calibrationDue: "2020-01-01", calibrationLast: "2019-01-01")))
            try e(.instrumentConnected(InstrumentConnected(role: "scope", driver: "mock", resource: "MOCK::scope", mocked: true)))
            try e(.mockPatchApplied(MockPatchApplied(role: "dmm", operation: "measure_dc_voltage", behavior: "value 3.6", times: 1, scope: "vector")))

            // The waveform: a sine with one spike, on a mocked scope.
            let scope = try store.channel("scope.ch1", type: .waveform, unit: "V", instrumentRole: "scope")
            var trace = (0..<Self.samples).map { 0.05 * sin(Double($0) * 0.002) }
            trace[Self.spikeIndex] = 0.9
            let waveform = try scope.appendWaveform(t0: .now(), dt: 1e-7, samples: trace)
            let log1 = try store.channel("vout.log", type: .f64, unit: "V")
            let series = try log1.append(contentsOf: (0..<500).map { 3.3 + 0.001 * Double($0 % 17) })

            try e(.stepStarted(StepStarted(name: "rails", index: 0, description: "3V3 rail across vin", code: CodeLocation(file: "Rails.swift", function: "rails()", line: 12))))
            for v in 0..<4 {
                for retry in 0...(v == 2 ? 1 : 0) {
                    let value = v == 2 && retry == 0 ? 3.6 : v == 3 ? 3.52 : 3.30 + 0.01 * Double(v)
                    let verdict: Outcome = value > 3.465 ? .failed : .passed
                    try e(.vectorStarted(VectorStarted(stepIndex: 0, stepPath: "rails", index: Int64(v), retry: Int64(retry), params: [NamedValue("vin", .double(5 + Double(v)), unit: "V")])))
                    try e(
                        .measurement(
                            Measurement(
                                stepIndex: 0, stepPath: "rails", vectorIndex: Int64(v), retry: Int64(retry), name: "vout", value: value,
                                unit: "V", outcome: verdict, limitLow: 3.135, limitHigh: 3.465, limitNominal: 3.3, comparator: .GELE,
                                characteristicID: "VOUT_3V3", specRef: "DS-1 p4", dutPin: "J1.3", fixtureConnection: "vout_sense",
                                instrumentRole: "dmm", instrumentResource: "TCPIP::10.0.0.5::INSTR", instrumentChannel: "1")))
                    if v == 0 {
                        try e(.observation(Observation(stepIndex: 0, stepPath: "rails", vectorIndex: 0, retry: 0, NamedValue("ripple_trace", .string(waveform.description)))))
                    }
                    try e(.vectorEnded(VectorEnded(stepIndex: 0, stepPath: "rails", index: Int64(v), retry: Int64(retry), outcome: verdict)))
                }
            }
            try e(.stepEnded(StepEnded(name: "rails", index: 0, outcome: .failed)))
            try e(.stepStarted(StepStarted(name: "sense", index: 1)))
            try e(.measurement(Measurement(stepIndex: 1, stepPath: "sense", name: Self.oddName, value: 1, unit: "A&B", outcome: .passed, limitLow: 0, limitHigh: 2, comparator: .GELE)))
            try e(.observation(Observation(stepIndex: 1, stepPath: "sense", NamedValue("vout_log", .string(series.description)))))
            try e(.stepEnded(StepEnded(name: "sense", index: 1, outcome: .passed)))
            try e(.runEnded(RunEnded(outcome: .failed)))
            try store.close()
            try log.close()
            return waveform
        }
    }

    /// Runs litmus-example on the mock bench into `data`; returns the run id.
    static func exampleRun(data: String, serial: String) throws -> String {
        var env = ProcessInfo.processInfo.environment
        env["LITMUS_LOCK_DIR"] = data + "/locks"
        env.removeValue(forKey: "LITMUS_PROMPT")
        let result = try TestPlugins.run(
            TestPlugins.buildDirectory + "/litmus-example",
            ["--station", TestPlugins.packageRoot + "/stations/bench_mock.yaml", "--data", data, "--serial", serial], environment: env)
        #expect(result.status == 0, "\(result.output)")
        let list = try TestPlugins.run(litmus, ["runs", "list", "--json", "--data-dir", data])
        let line = list.output.split(separator: "\n").first { $0.contains(serial) } ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return try #require(object?["run_id"] as? String)
    }

    /// Parses a report with Python's HTML parser: the measurement cells, the charts and what
    /// is inside them, script elements, section ids, the page's text.
    static func parse(_ html: String) throws -> [String: Any] {
        let program = #"""
            import sys, json
            from html.parser import HTMLParser
            class P(HTMLParser):
                def __init__(self):
                    super().__init__(convert_charrefs=True)
                    self.measurements, self.charts, self.scripts, self.ids, self.external = [], [], 0, [], []
                    self.stack, self.cell, self.svg, self.h1, self.in_h1, self.text = [], None, None, "", False, []
                def handle_starttag(self, tag, attrs):
                    a = dict(attrs)
                    cls = (a.get("class") or "").split()
                    if tag == "script": self.scripts += 1
                    if a.get("id"): self.ids.append(a["id"])
                    for k in ("src", "href"):
                        v = a.get(k) or ""
                        if v.startswith("http") or v.startswith("//"): self.external.append(v)
                    if tag == "link": self.external.append(a.get("href", ""))
                    if tag == "h1": self.in_h1 = True
                    if tag == "td" and "measurement" in cls:
                        self.cell = {"classes": cls, "row": a.get("data-row"), "text": ""}
                    if tag == "svg" and "chart" in cls:
                        self.svg = {"classes": cls, "attrs": {k: v for k, v in a.items() if k.startswith("data-")},
                                    "width": a.get("width"), "height": a.get("height"), "marks": {}, "path_points": 0}
                    elif self.svg is not None:
                        for c in cls or [tag]:
                            self.svg["marks"][c] = self.svg["marks"].get(c, 0) + 1
                        if tag == "path" and "envelope" in cls:
                            d = a.get("d", "")
                            self.svg["path_points"] += sum(d.count(ch) for ch in "MLV")
                def handle_endtag(self, tag):
                    if tag == "td" and self.cell is not None:
                        self.measurements.append(self.cell); self.cell = None
                    if tag == "svg" and self.svg is not None:
                        self.charts.append(self.svg); self.svg = None
                    if tag == "h1": self.in_h1 = False
                def handle_data(self, data):
                    if self.cell is not None: self.cell["text"] += data
                    if self.in_h1: self.h1 += data
                    self.text.append(data)
            p = P()
            p.feed(open(sys.argv[1], encoding="utf-8").read())
            print(json.dumps({"measurements": p.measurements, "charts": p.charts, "scripts": p.scripts, "ids": p.ids,
                              "external": p.external, "h1": p.h1, "text": " ".join(p.text)}))
            """#
        let file = "\(TestPlugins.scratch)/parse-\(UUID().uuidString).html"
        try Data(html.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try #require(try TestPython.json(program, [file]) as? [String: Any])
    }

    /// Loads `file` in headless Chromium (Selenium, chromedriver from Debian), measures every
    /// chart as laid out, collects the console's messages and saves a full-page screenshot.
    static func browse(_ file: String, screenshot: String) throws -> [String: Any] {
        let program = #"""
            import sys, json, tempfile
            from selenium import webdriver
            from selenium.webdriver.chrome.options import Options
            from selenium.webdriver.chrome.service import Service
            path, shot = sys.argv[1], sys.argv[2]
            o = Options()
            o.binary_location = "/usr/bin/chromium"
            for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900",
                      "--user-data-dir=" + tempfile.mkdtemp(prefix="litmus-report-chrome-")):
                o.add_argument(a)
            o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
            d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
            try:
                d.get("file://" + path)
                charts = d.execute_script("""
                    return Array.from(document.querySelectorAll('svg.chart')).map(s => {
                      const r = s.getBoundingClientRect();
                      const marks = s.querySelectorAll('circle, path.envelope, path.trace, rect.bar, path.limit, line.limit');
                      let drawn = 0;
                      for (const m of marks) { const b = m.getBBox(); if (b.width > 0 || b.height > 0) drawn++; }
                      return {cls: s.getAttribute('class'), width: r.width, height: r.height, marks: marks.length, drawn: drawn,
                              measurement: s.getAttribute('data-measurement')};
                    });""")
                verdict = d.execute_script("return document.getElementById('verdict').innerText")
                banner = d.execute_script("return getComputedStyle(document.querySelector('header.banner')).backgroundColor")
                failed_bg = d.execute_script("const c = document.querySelector('td.measurement.v-failed'); return c ? getComputedStyle(c).backgroundColor : null")
                logs = [{"level": l["level"], "message": l["message"]} for l in d.get_log("browser")]
                height = d.execute_script("return document.documentElement.scrollHeight")
                d.set_window_size(1366, min(max(height, 900), 16000))
                d.save_screenshot(shot)
                print(json.dumps({"charts": charts, "verdict": verdict, "banner": banner, "failed_bg": failed_bg, "logs": logs, "height": height}))
            finally:
                d.quit()
            """#
        try FileManager.default.createDirectory(atPath: (screenshot as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try #require(try TestPython.json(program, [file, screenshot]) as? [String: Any])
    }
}
