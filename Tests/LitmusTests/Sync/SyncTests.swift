import Foundation
import Testing

/// `litmus sync` against a real S3 API server on loopback (moto), read back with boto3 and with
/// DuckDB's httpfs; faults injected by a proxy, by killing the server and by killing the sync.
/// Objects are compared in a versioned bucket, so a second upload of a key would show as a
/// second version: "duplicated" means exactly that.
@Suite(.serialized) struct SyncTests {
    static let bucket = "fleet"
    static let credentials = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret-never-printed", "AWS_REGION": "us-east-1"]

    /// A copy of stations/ with a second bench `bench_b` (the same instruments, another id).
    static func stations(in dir: String) throws -> String {
        let copy = dir + "/stations"
        _ = try TestPlugins.run("/bin/cp", ["-R", TestPlugins.packageRoot + "/stations", copy])
        let text = try String(contentsOfFile: copy + "/bench_mock.yaml", encoding: .utf8)
        try text.replacingOccurrences(of: "id: bench_mock ", with: "id: bench_b    ").write(toFile: copy + "/bench_b.yaml", atomically: true, encoding: .utf8)
        return copy
    }

    /// Real runs of the example on a bench, into `data`, with a lock directory of their own
    /// (other tests open the same simulated instruments at the same time).
    static func makeRuns(station: String, data: String, serials: [String]) throws {
        var env = ProcessInfo.processInfo.environment
        env["LITMUS_LOCK_DIR"] = data + "-locks"
        for serial in serials {
            let r = try TestPlugins.run(
                TestPlugins.buildDirectory + "/litmus-example", ["--station", station, "--serial", serial, "--data", data], environment: env)
            // The example's board may fail a limit by design; either way it must leave a run file.
            #expect((r.status == 0 || r.status == 1) && r.output.contains("run file:"), "litmus-example: \(r.output)")
        }
    }

    static func sync(_ arguments: [String], environment: [String: String] = credentials) throws -> (status: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        env.merge(environment) { $1 }
        return try TestPlugins.run(TestPlugins.buildDirectory + "/litmus", ["sync"] + arguments, environment: env)
    }

    static func scratch(_ name: String) throws -> String {
        let dir = TestPlugins.scratch + "/sync-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func twoStationsAreSyncedAndQueriedInOneDuckDBStatement() throws {
        let server = try S3TestServer()
        defer { server.stop() }
        _ = try S3TestServer.check(["create", server.endpoint, Self.bucket])
        let dir = try Self.scratch("two")
        let stations = try Self.stations(in: dir)
        try Self.makeRuns(station: stations + "/bench_mock.yaml", data: dir + "/a", serials: ["A1", "A2"])
        try Self.makeRuns(station: stations + "/bench_b.yaml", data: dir + "/b", serials: ["B1", "B2", "B3"])

        for data in [dir + "/a", dir + "/b"] {
            let r = try Self.sync(["--to", "s3://\(Self.bucket)/lake", "--endpoint", server.endpoint, "--data-dir", data, "--json"])
            #expect(r.status == 0, "\(r.output)")
            #expect(!r.output.contains("test-secret-never-printed"))
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.output.split(separator: "\n").last!.utf8)) as? [String: Any])
            #expect((report["uploaded"] as? [String])?.contains { $0.hasPrefix("runs/date=") && $0.hasSuffix(".parquet") } == true)
            #expect((report["uploaded"] as? [String])?.contains { $0.hasPrefix("events/date=") } == true)
        }
        let verdict = try #require(try S3TestServer.check(["verify", server.endpoint, Self.bucket, "lake", dir + "/a", dir + "/b"]) as? [String: Any])
        #expect(verdict["missing"] as? [String] == [] && verdict["extra"] as? [String] == [] && verdict["duplicated"] as? [String] == [])
        #expect(verdict["mismatched"] as? [String] == [] && verdict["open_multipart"] as? Int == 0)
        #expect((verdict["expected"] as? Int ?? 0) >= 10)   // five runs: a run file and an event log each, at least

        // A second pass sends nothing.
        let again = try Self.sync(["--to", "s3://\(Self.bucket)/lake", "--endpoint", server.endpoint, "--data-dir", dir + "/a", "--json"])
        let second = try #require(try JSONSerialization.jsonObject(with: Data(again.output.split(separator: "\n").last!.utf8)) as? [String: Any])
        #expect(second["uploaded"] as? [String] == [] && (second["up_to_date"] as? Int ?? 0) > 0)

        // One statement over both stations, through DuckDB's S3 reader.
        let rows = try #require(try S3TestServer.check(["duckdb", server.endpoint, Self.bucket, "lake"]) as? [[Any]])
        #expect(rows.map { $0[0] as? String } == ["bench_b", "bench_mock"])
        #expect(rows.map { $0[1] as? Int } == [3, 2])
        #expect(rows.allSatisfy { ($0[2] as? Int ?? 0) > 0 })
    }

    @Test func badCredentialsBucketsAndDestinationsSayWhatToDo() throws {
        let server = try S3TestServer()
        defer { server.stop() }
        let dir = try Self.scratch("errors")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let emptyHome = dir + "/home"
        try FileManager.default.createDirectory(atPath: emptyHome, withIntermediateDirectories: true)

        let noCredentials = try Self.sync(["--to", "s3://fleet", "--endpoint", server.endpoint, "--data-dir", dir + "/data"], environment: ["HOME": emptyHome])
        #expect(noCredentials.status == 2 && noCredentials.output.contains("no AWS credentials for profile `default`"), "\(noCredentials.output)")

        let noBucket = try Self.sync(["--to", "s3://no-such-bucket", "--endpoint", server.endpoint, "--data-dir", dir + "/data"])
        #expect(noBucket.status == 1 && noBucket.output.contains("NoSuchBucket") && noBucket.output.contains("create the bucket"), "\(noBucket.output)")

        let badURL = try Self.sync(["--to", "fleet/lake", "--endpoint", server.endpoint, "--data-dir", dir + "/data"])
        #expect(badURL.status == 2 && badURL.output.contains("does not start with s3://"), "\(badURL.output)")

        // A profile from a credentials file, named on the command line.
        _ = try S3TestServer.check(["create", server.endpoint, Self.bucket])
        try "[ci]\naws_access_key_id = CIKEY\naws_secret_access_key = ci-secret-never-printed\n".write(toFile: dir + "/credentials", atomically: true, encoding: .utf8)
        let profile = try Self.sync(
            ["--to", "s3://fleet", "--endpoint", server.endpoint, "--data-dir", dir + "/data", "--profile", "ci"],
            environment: ["HOME": emptyHome, "AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials"])
        #expect(profile.status == 0 && !profile.output.contains("ci-secret-never-printed"), "\(profile.output)")
    }

    /// 30 trials. Each adds runs (and every fifth a 11 MiB channel file sent in multipart
    /// uploads of 5 MiB), then syncs through a proxy that fails 35 % of requests (503 before or
    /// after the server saw them, connections dropped before or after, slow replies past the
    /// read timeout), while the sync may be killed with SIGKILL and the server (the proxy every
    /// request goes through) may be killed and restarted mid-upload; the sync is run again until
    /// it exits 0. After every trial the bucket must hold each finished file exactly once
    /// (one version), byte for byte, with no multipart upload left open.
    @Test func faultsAndKillsLoseAndDuplicateNothing() throws {
        let server = try S3TestServer()
        defer { server.stop() }
        _ = try S3TestServer.check(["create", server.endpoint, Self.bucket])
        let dir = try Self.scratch("faults")
        let stations = try Self.stations(in: dir)
        let data = dir + "/data"
        let proxy = try FaultProxy(upstreamPort: server.port, seed: 7, rate: 0.35, maxDelay: 1.5, log: dir + "/proxy.log")
        defer { proxy.kill() }
        var rng = SplitMix64(seed: 0x5EED)
        var syncKills = 0, serverKills = 0, passes = 0
        let trials = 30
        for trial in 0..<trials {
            try Self.makeRuns(station: stations + "/bench_mock.yaml", data: data, serials: ["T\(trial)"])
            if trial % 5 == 0 {
                let chan = "\(data)/channels/date=2026-12-07/session=\(UUID().uuidString.lowercased())/scope.ch1"
                try FileManager.default.createDirectory(atPath: chan, withIntermediateDirectories: true)
                var bytes = [UInt8](repeating: 0, count: 11 << 20)
                for i in stride(from: 0, to: bytes.count, by: 8) { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
                try Data(bytes).write(to: URL(fileURLWithPath: chan + "/seg-000001.bin"))
            }
            var done = false
            for attempt in 0..<12 where !done {
                passes += 1
                let p = Process()
                p.executableURL = URL(fileURLWithPath: TestPlugins.buildDirectory + "/litmus")
                p.arguments = [
                    "sync", "--to", "s3://\(Self.bucket)/lake", "--endpoint", proxy.endpoint, "--data-dir", data,
                    "--multipart-threshold", "5", "--part-size", "5", "--read-timeout", "1", "--attempts", "6", "--concurrency", "4",
                ]
                var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
                env.merge(Self.credentials) { $1 }
                p.environment = env
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                // Early passes of a trial are interrupted at a random moment; the last ones run to the end.
                let killSync = attempt < 3 && rng.next() % 2 == 0
                let killServer = attempt < 3 && rng.next() % 3 == 0
                let at = useconds_t(rng.next() % 1_500_000)
                if killSync || killServer {
                    usleep(at)
                    if killServer && p.isRunning {
                        proxy.kill()
                        serverKills += 1
                        usleep(useconds_t(200_000 + rng.next() % 600_000))
                        try proxy.start()
                    }
                    if killSync && p.isRunning {
                        kill(p.processIdentifier, SIGKILL)
                        syncKills += 1
                    }
                }
                p.waitUntilExit()
                done = p.terminationReason == .exit && p.terminationStatus == 0
            }
            #expect(done, "trial \(trial): the sync never finished through the faults")
            let verdict = try #require(try S3TestServer.check(["verify", server.endpoint, Self.bucket, "lake", data]) as? [String: Any])
            #expect(verdict["missing"] as? [String] == [], "trial \(trial): lost \(verdict["missing"] ?? "")")
            #expect(verdict["duplicated"] as? [String] == [], "trial \(trial): duplicated \(verdict["duplicated"] ?? "")")
            #expect(verdict["extra"] as? [String] == [] && verdict["mismatched"] as? [String] == [], "trial \(trial): \(verdict)")
            #expect(verdict["open_multipart"] as? Int == 0, "trial \(trial): multipart uploads left open")
        }
        let log = (try? String(contentsOfFile: dir + "/proxy.log", encoding: .utf8)) ?? ""
        var faults: [String: Int] = [:]
        for line in log.split(separator: "\n") { faults[String(line.split(separator: " ").last ?? ""), default: 0] += 1 }
        let final = try #require(try S3TestServer.check(["verify", server.endpoint, Self.bucket, "lake", data]) as? [String: Any])
        print(
            "sync fault injection: \(trials) trials, \(passes) sync passes, \(syncKills) sync SIGKILLs, \(serverKills) server kills, "
                + "requests \(faults.values.reduce(0, +)) with faults \(faults.filter { $0.key != "none" }.sorted { $0.key < $1.key }), "
                + "\(final["expected"] ?? 0) files: \((final["missing"] as? [String])?.count ?? -1) lost, \((final["duplicated"] as? [String])?.count ?? -1) duplicated")
        #expect(faults.filter { $0.key != "none" }.values.reduce(0, +) > 50, "the proxy injected too few faults to mean anything")
    }
}
