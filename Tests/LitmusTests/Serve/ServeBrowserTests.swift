import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `litmus serve` as a user meets it: the real binary on a free loopback port, boards run by
/// this test binary (ServeFixture) as the station's test command, driven in headless Chromium
/// (serve_browser.py, Selenium) and with raw HTTP requests (serve_http.py). Screenshots of each
/// screen go to `.build/artifacts/serve/`.
@Suite(.serialized) struct ServeBrowserTests {
    static let artifacts = "\(TestPlugins.packageRoot)/.build/artifacts/serve"

    /// A running `litmus serve`.
    final class Server {
        let process = Process()
        let dataDir: String
        var url = ""
        var port = 0
        private let outputFile: String

        /// Starts `litmus serve --station stations/bench_mock.yaml --bind <bind> <arguments> --
        /// <this test binary> --filter ServeFixture` and waits for its URL.
        init(dataDir: String? = nil, bind: String = "127.0.0.1:0", arguments: [String] = [], environment extra: [String: String] = [:]) throws {
            self.dataDir = dataDir ?? "\(TestPlugins.scratch)/serve-\(UUID().uuidString)"
            outputFile = "\(TestPlugins.scratch)/serve-out-\(UUID().uuidString).txt"
            _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
            environment["LITMUS_LOCK_DIR"] = self.dataDir + "/locks"
            environment["LITMUS_TESTING_FIXTURE"] = "serve"
            environment.merge(extra) { _, new in new }
            let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            process.executableURL = URL(fileURLWithPath: RunsCLITests.litmus)
            process.arguments = ["serve", "--station", "stations/bench_mock.yaml", "--data-dir", self.dataDir, "--bind", bind] + arguments
                + ["--", binary, "--testing-library", "swift-testing", "--filter", "ServeFixture"]
            process.environment = environment
            process.currentDirectoryURL = URL(fileURLWithPath: TestPlugins.packageRoot)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            // Its first line names the URL (the port it got); a guard against a hang, not a timing assert.
            for _ in 0..<6000 {
                if let match = output.firstMatch(of: /station screen at (http:\/\/[^\s]+\/)/) {
                    url = String(match.1)
                    port = Int(url.split(separator: ":").last!.dropLast())!
                    return
                }
                if !process.isRunning { break }
                usleep(20_000)
            }
            throw TestPython.Failure(description: "litmus serve did not start:\n\(output)")
        }

        var output: String { (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "" }

        /// The URL with 127.0.0.1 (the server may listen on every address).
        var loopbackURL: String { "http://127.0.0.1:\(port)/" }

        func stop(signal sig: Int32 = SIGTERM) {
            if process.isRunning { kill(process.processIdentifier, sig) }
            process.waitUntilExit()
        }

        deinit { stop(signal: SIGKILL) }
    }

    static func script(_ name: String) throws -> String {
        try String(contentsOfFile: "\(TestPlugins.packageRoot)/Tests/LitmusTests/Serve/\(name)", encoding: .utf8)
    }

    /// Sends raw requests (serve_http.py) and returns each answer's status, headers and body.
    static func http(_ port: Int, _ requests: [[String: Any]]) throws -> [[String: Any]] {
        let spec: [String: Any] = ["port": port, "requests": requests]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        return try TestPython.json(try script("serve_http.py"), [text]) as! [[String: Any]]
    }

    /// The JSON body of an answer.
    static func body(_ answer: [String: Any]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data((answer["body"] as? String ?? "").utf8)) as? [String: Any]) ?? [:]
    }

    /// Every prompt answer the session's event log recorded (`prompt.answered` sources).
    static func promptSources(_ dataDir: String) throws -> [String] {
        let sessions = try TestPlugins.run(RunsCLITests.litmus, ["events", "sessions", "--data-dir", dataDir])
        var sources: [String] = []
        for line in sessions.output.split(separator: "\n") {
            guard let id = line.split(separator: " ").first, id.count == 36 else { continue }
            let events = try TestPlugins.run(RunsCLITests.litmus, ["events", "tail", String(id), "--data-dir", dataDir])
            for match in events.output.matches(of: /"source":"([^"]*)"/) { sources.append(String(match.1)) }
        }
        return sources
    }

    @Test func anOperatorRunsBoardsFromTheBrowser() throws {
        let server = try Server()
        defer { server.stop() }
        let shots = Self.artifacts
        let spec = String(decoding: try JSONSerialization.data(withJSONObject: ["url": server.url, "shots": shots]), as: UTF8.self)
        let seen = try TestPython.json(try Self.script("serve_browser.py"), [spec]) as! [String: Any]
        print("serve screenshots: \(shots)")
        try #require(seen["failed"] is NSNull || seen["failed"] == nil, "\(seen)\nserver output:\n\(server.output)")

        #expect(seen["roles"] as? [String] == ["dmm", "psu", "eload", "matrix"], "\(seen)")
        #expect(seen["mocked"] as? [String] == ["eload"], "the mocked role is flagged: \(seen)")
        #expect((seen["calibration_classes"] as? [String])?.contains("cal-valid") == true, "\(seen)")
        #expect(seen["focus_at_load"] as? String == "serial")
        #expect(seen["focus_after_verdict"] as? String == "serial", "ready for the next serial: \(seen)")

        #expect(seen["prompt_text"] as? String == "Close the fixture lid")
        #expect((seen["prompt_image_width"] as? Int ?? 0) > 0, "the picture from the station folder loaded: \(seen)")
        #expect(seen["same_prompt_in_second_tab"] as? Bool == true)
        #expect((seen["second_tab_message"] as? String ?? "").contains("answered yes by operator:alice@web"), "\(seen)")
        #expect((seen["progress_states"] as? [String] ?? []).count >= 3, "the steps progressed on the screen: \(seen["progress_states"] ?? "")")
        #expect((seen["verdict_class"] as? String ?? "").contains("passed"), "\(seen)")
        #expect((seen["verdict_text"] as? String ?? "").hasPrefix("PASS"), "\(seen)")
        let steps = seen["steps"] as? [String] ?? []
        #expect(steps.count == 4 && steps.allSatisfy { $0 == "passed" || $0 == "done" }, "powerOn, lid, rail, outputOff: \(seen)")
        #expect((seen["second_tab_verdict"] as? String ?? "").contains("passed"))

        let fail = seen["fail_verdict_text"] as? String ?? ""
        #expect(fail.hasPrefix("FAIL"), "\(fail)")
        #expect(fail.contains("rail vout = 3.6 V, limit [3.2, 3.4] failed"), "the failing measurement is in the banner: \(fail)")
        #expect((seen["yield_after_first"] as? String ?? "").contains("1 tested · 1 passed · 0 failed"), "\(seen)")
        #expect((seen["yield_after_second"] as? String ?? "").contains("2 tested · 1 passed · 1 failed · yield 50.0%"), "\(seen)")
        #expect((seen["empty_serial_message"] as? String ?? "").contains("empty serial"), "\(seen)")

        #expect((seen["reloaded_verdict_text"] as? String ?? "") == fail, "a reloaded tab shows the same verdict")
        #expect((seen["reloaded_rows"] as? Int ?? 0) == 6, "powered, 4 x vout, output_off: \(seen)")
        let reloaded = seen["reloaded_steps"] as? [String] ?? []
        #expect(reloaded.count == 4 && reloaded[2] == "failed" && !reloaded[3].contains("fail"), "rail failed, teardown ran: \(seen)")

        #expect((seen["charts"] as? Int ?? 0) >= 1, "\(seen)")
        #expect((seen["chart_points"] as? Int ?? 0) >= 4, "a point per vin: \(seen)")
        #expect(seen["chart_failed_points"] as? Int == 1, "vin 9 V failed: \(seen)")
        #expect((seen["downloads"] as? [String] ?? []).map { $0.split(separator: "/").last.map(String.init) ?? "" } == ["parquet", "csv", "json"])
        #expect(seen["history_failed"] as? [String] == ["SN-FAIL-2"], "\(seen)")
        #expect((seen["history_bad_filter"] as? String ?? "").contains("from yesterday is not a date"), "\(seen)")
        #expect(seen["tablet_overflow"] as? Bool == false, "no sideways scrolling on a tablet")
        for name in ["01-station.png", "02-prompt.png", "05-verdict-pass.png", "08-run-page.png", "09-history.png"] {
            #expect(FileManager.default.fileExists(atPath: "\(shots)/\(name)"), "\(name)")
        }

        // The answer is recorded with who gave it, from which face.
        #expect(try Self.promptSources(server.dataDir).contains("operator:alice@web"))
    }

    @Test func downloadsAreTheRunsDataReadBackByDuckDB() throws {
        let server = try Server()
        defer { server.stop() }
        let started = try Self.http(server.port, [["method": "POST", "path": "/api/start", "csrf": true, "headers": ["Content-Type": "application/json"], "body": #"{"serial":"SN-DL-1","operator":"bob"}"#]])
        #expect(started[0]["status"] as? Int == 200, "\(started)")
        let runID = try Self.waitForVerdict(server.port)
        let dir = "\(TestPlugins.scratch)/serve-dl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let program = """
            import duckdb, json, sys, urllib.request
            base, run, d = sys.argv[1], sys.argv[2], sys.argv[3]
            for f in ["parquet", "csv", "json"]:
                urllib.request.urlretrieve(base + "runs/" + run + "/download/" + f, d + "/run." + f)
            q = "SELECT count(*), count(measurement_name), max(operator_id) FROM "
            print(json.dumps({
                "parquet": list(duckdb.sql(q + f"read_parquet('{d}/run.parquet')").fetchall()[0]),
                "csv": list(duckdb.sql(q + f"read_csv('{d}/run.csv')").fetchall()[0]),
                "json": list(duckdb.sql(q + f"read_json('{d}/run.json', format='newline_delimited')").fetchall()[0]),
            }))
            """
        let read = try TestPython.json(program, [server.url, runID, dir]) as! [String: [Any]]
        let parquet = read["parquet"]!
        #expect(parquet[1] as? Int == 6, "\(read)")
        #expect(parquet[2] as? String == "bob", "the operator typed at the screen is recorded: \(read)")
        #expect((read["csv"]![0] as? Int) == (parquet[0] as? Int) && (read["json"]![0] as? Int) == (parquet[0] as? Int), "\(read)")
    }

    /// Polls `/api/state` until the board has a verdict; returns its run id.
    static func waitForVerdict(_ port: Int, serial: String? = nil) throws -> String {
        for _ in 0..<1200 {  // a guard against a hang, not a timing assert
            let state = body(try http(port, [["path": "/api/state"]])[0])
            if let board = state["board"] as? [String: Any], serial == nil || board["serial"] as? String == serial,
                let verdict = board["verdict"] as? [String: Any], let run = verdict["run_id"] as? String
            {
                return run
            }
            usleep(100_000)
        }
        throw TestPython.Failure(description: "no verdict")
    }

    @Test func pathTraversalAndCrossSiteRequestsAreRefused() throws {
        let server = try Server()
        defer { server.stop() }
        let json = ["Content-Type": "application/json"]
        let start = #"{"serial":"SN-X1"}"#
        let answers = try Self.http(server.port, [
            ["path": "/station-files/images/fixture_lid.svg"],
            ["path": "/station-files/../bench_mock.yaml"],
            ["path": "/station-files/..%2fbench_mock.yaml"],
            ["path": "/station-files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"],
            ["path": "/station-files/images/../../../../etc/hostname"],
            ["path": "/station-files//etc/passwd"],
            ["path": "/runs/..%2f..%2fetc%2fpasswd/download/csv"],
            ["method": "POST", "path": "/api/start", "headers": json, "body": start],
            ["method": "POST", "path": "/api/start", "csrf": "cookie-only", "headers": json, "body": start],
            ["method": "POST", "path": "/api/start", "csrf": true, "headers": json.merging(["Origin": "http://evil.example"]) { a, _ in a }, "body": start],
            ["method": "POST", "path": "/api/start", "csrf": true, "headers": json.merging(["Sec-Fetch-Site": "cross-site"]) { a, _ in a }, "body": start],
            ["method": "POST", "path": "/api/start", "csrf": true, "headers": ["Content-Type": "application/x-www-form-urlencoded"], "body": "serial=SN-X1"],
            ["path": "/api/state", "headers": ["Host": "evil.example:\(server.port)"]],
            ["method": "POST", "path": "/api/start", "csrf": true, "headers": json, "body": #"{"serial":"two words"}"#],
            ["method": "POST", "path": "/api/start", "csrf": true, "headers": json, "body": #"{"serial":"SN-OK-1","operator":"a b"}"#],
            ["method": "POST", "path": "/api/prompts/nope", "csrf": true, "headers": json, "body": #"{"value":"yes"}"#],
            ["method": "POST", "path": "/api/start", "csrf": true, "headers": json, "body": "[not json"],
            ["path": "/api/history?outcome=maybe"],
        ])
        let status = answers.map { $0["status"] as? Int ?? 0 }
        #expect(status[0] == 200, "the station folder's picture is served")
        for i in 1...6 { #expect(status[i] == 404 || status[i] == 400, "traversal \(i) refused: \(answers[i])") }
        #expect(!answers[1...6].contains { ($0["body"] as? String ?? "").contains("root:") || ($0["body"] as? String ?? "").contains("instruments:") })
        #expect(status[7] == 403, "no session, no CSRF token: \(answers[7])")
        #expect(status[8] == 403, "a cookie without the CSRF token: \(answers[8])")
        #expect(status[9] == 403 && (answers[9]["body"] as? String ?? "").contains("another origin"), "\(answers[9])")
        #expect(status[10] == 403, "\(answers[10])")
        #expect(status[11] == 400 && (answers[11]["body"] as? String ?? "").contains("application/json"), "a form post: \(answers[11])")
        #expect(status[12] == 403 && (answers[12]["body"] as? String ?? "").contains("loopback only"), "DNS rebinding: \(answers[12])")
        #expect(status[13] == 400 && (Self.body(answers[13])["error"] as? String ?? "").contains("spaces or control characters"), "\(answers[13])")
        #expect(status[14] == 400 && (Self.body(answers[14])["error"] as? String ?? "").contains("operator"), "\(answers[14])")
        #expect(status[15] == 404, "\(answers[15])")
        #expect(status[16] == 400 && (Self.body(answers[16])["error"] as? String ?? "").contains("not a JSON object"), "\(answers[16])")
        #expect(status[17] == 400 && (Self.body(answers[17])["error"] as? String ?? "").contains("outcome maybe is not one of"), "\(answers[17])")
        // Nothing refused started a board.
        #expect(Self.body(try Self.http(server.port, [["path": "/api/state"]])[0])["board"] == nil)
        for answer in answers {
            let headers = answer["headers"] as? [String: String] ?? [:]
            #expect(headers["content-security-policy"]?.contains("default-src 'self'") == true, "\(answer)")
        }
    }

    @Test func anotherAddressRequiresSigningInWithRoles() throws {
        let users = "\(TestPlugins.scratch)/serve-users-\(UUID().uuidString).txt"
        try "# name role token\nolga operator operator-token-0123456789\nerik engineer engineer-token-0123456789\n".write(toFile: users, atomically: true, encoding: .utf8)
        chmod(users, 0o644)
        // A users file others can read is refused, saying how to fix it.
        let refused = try TestPlugins.run(
            RunsCLITests.litmus, ["serve", "--station", "stations/bench_mock.yaml", "--bind", "0.0.0.0:0", "--users", users, "--", "true"],
            in: TestPlugins.packageRoot)
        #expect(refused.status == 3 && refused.output.contains("chmod 600"), "\(refused.output)")
        chmod(users, 0o600)

        // Every address: the generated token is printed once, and nothing works without it.
        let open = try Server(bind: "0.0.0.0:0")
        let token = try #require(open.output.firstMatch(of: /engineer token \(shown once\): ([0-9a-f]{48})/)).1
        let answers = try Self.http(open.port, [
            ["path": "/api/state"],
            ["path": "/"],
            ["method": "POST", "path": "/login", "headers": ["Content-Type": "application/x-www-form-urlencoded"], "body": "token=wrong"],
            ["method": "POST", "path": "/login", "headers": ["Content-Type": "application/x-www-form-urlencoded"], "body": "token=\(token)"],
            ["path": "/api/state", "headers": ["Authorization": "Bearer \(token)"]],
        ])
        open.stop()
        #expect(answers[0]["status"] as? Int == 401, "\(answers[0])")
        #expect(answers[1]["status"] as? Int == 303 && (answers[1]["headers"] as? [String: String])?["location"] == "/login", "\(answers[1])")
        #expect(answers[2]["status"] as? Int == 401)
        #expect(answers[3]["status"] as? Int == 303 && ((answers[3]["headers"] as? [String: String])?["set-cookie"] ?? "").contains("HttpOnly"), "\(answers[3])")
        #expect(answers[4]["status"] as? Int == 200)
        #expect(open.output.components(separatedBy: String(token)).count == 2, "the token is printed once")

        // Users with roles: an operator starts boards but does not download; an engineer does.
        let server = try Server(bind: "0.0.0.0:0", arguments: ["--users", users])
        defer { server.stop() }
        #expect(!server.output.contains("shown once"), "no token is made when users are configured")
        let op = ["Authorization": "Bearer operator-token-0123456789", "Content-Type": "application/json"]
        let started = try Self.http(server.port, [["method": "POST", "path": "/api/start", "headers": op, "body": #"{"serial":"SN-R1"}"#]])
        #expect(started[0]["status"] as? Int == 200, "\(started)")
        let run = try Self.waitForVerdict(server.port, serial: "SN-R1", token: "operator-token-0123456789")
        let downloads = try Self.http(server.port, [
            ["path": "/runs/\(run)/download/csv", "headers": ["Authorization": "Bearer operator-token-0123456789"]],
            ["path": "/runs/\(run)/download/csv", "headers": ["Authorization": "Bearer engineer-token-0123456789"]],
        ])
        #expect(downloads[0]["status"] as? Int == 403, "\(downloads[0])")
        #expect(downloads[1]["status"] as? Int == 200 && (downloads[1]["body"] as? String ?? "").contains("SN-R1"), "\(downloads[1])")
        #expect(!(try Self.promptSources(server.dataDir)).contains { $0.hasPrefix("operator:") }, "the board asked nothing")
    }

    /// Polls `/api/state` with a bearer token until the board `serial` has a verdict.
    static func waitForVerdict(_ port: Int, serial: String, token: String) throws -> String {
        for _ in 0..<1200 {  // a guard against a hang, not a timing assert
            let state = body(try http(port, [["path": "/api/state", "headers": ["Authorization": "Bearer \(token)"]]])[0])
            if let board = state["board"] as? [String: Any], board["serial"] as? String == serial,
                let verdict = board["verdict"] as? [String: Any], let run = verdict["run_id"] as? String
            {
                return run
            }
            usleep(100_000)
        }
        throw TestPython.Failure(description: "no verdict for \(serial)")
    }

    @Test func aRestartedServerShowsTheRunAsTheLogTellsIt() throws {
        let first = try Server()
        let started = try Self.http(first.port, [["method": "POST", "path": "/api/start", "csrf": true, "headers": ["Content-Type": "application/json"], "body": #"{"serial":"SN-SLOW-R1"}"#]])
        #expect(started[0]["status"] as? Int == 200, "\(started)")
        // Kill the server while the board runs (its test process goes on by itself).
        var measured = 0
        for _ in 0..<600 where measured < 2 {  // a guard against a hang, not a timing assert
            let board = Self.body(try Self.http(first.port, [["path": "/api/state"]])[0])["board"] as? [String: Any]
            measured = board?["measurement_total"] as? Int ?? 0
            usleep(20_000)
        }
        first.stop(signal: SIGKILL)
        #expect(measured >= 2)

        let second = try Server(dataDir: first.dataDir)
        defer { second.stop() }
        let state = Self.body(try Self.http(second.port, [["path": "/api/state"]])[0])
        let board = try #require(state["board"] as? [String: Any], "\(state)")
        #expect(board["serial"] as? String == "SN-SLOW-R1")
        #expect(board["started_here"] as? Bool == false)
        #expect((board["measurement_total"] as? Int ?? 0) >= 2, "what the log had: \(board)")
        _ = try Self.waitForVerdict(second.port, serial: "SN-SLOW-R1")
        let ended = Self.body(try Self.http(second.port, [["path": "/api/state"]])[0])
        let verdict = (ended["board"] as? [String: Any])?["verdict"] as? [String: Any]
        #expect(verdict?["outcome"] as? String == "passed", "followed to its end: \(ended)")
        #expect((ended["yield"] as? [String: Any])?["tested"] as? Int == 1, "\(ended)")
    }
}
