import Foundation
import LitmusJSON
import Logging
import Testing

@testable import Litmus

/// A data directory and logger for one harness test.
struct HarnessRun {
    let data: String
    let logger: TestRunLogger

    init(serial: String = "SN1", phase: String = "validation") throws {
        data = TestPlugins.scratch + "/harness-\(UUID().uuidString)"
        logger = try TestRunLogger(RunIdentity(dutSerial: serial, stationID: "bench_t", testPhase: phase, git: false), dataDir: data)
    }

    /// The run's events, in order.
    func events() throws -> [Event] {
        try EventReader.events(dataDir: data, sessionID: logger.sessionID).events
    }

    func types() throws -> [String] { try events().map(\.type) }

    func measurements() throws -> [Litmus.Measurement] {
        try events().compactMap { if case .measurement(let m) = $0.body { m } else { nil } }
    }
}

@Suite struct HarnessTests {
    @Test func theEventStreamHasEveryScopeInOrder() throws {
        let run = try HarnessRun()
        let harness = try TestHarness(
            vectors: try Vectors.product([Axis("vin", [5, 12])]), logger: run.logger, stepName: "rails",
            limits: ["vout": try Limit.between(3.2, 3.4, unit: "V")])
        try harness.runAll { v in
            try harness.context.observe("temp", 24.8, unit: "C")
            try harness.measure("vout", 3.3)
        }
        #expect(try run.logger.finalize() == .passed)
        try run.logger.close()
        try run.logger.close()  // twice is fine
        #expect(
            try run.types() == [
                "session.started", "run.started", "step.started", "vector.started", "observation", "measurement", "vector.ended",
                "vector.started", "observation", "measurement", "vector.ended", "step.ended", "run.ended", "run.materialized",
                "session.ended",
            ])
        let ms = try run.measurements()
        #expect(ms.map { $0.vectorIndex } == [0, 1])
        for m in ms {
            #expect(m.stepPath == "rails")
            #expect(m.limitLow == 3.2)
            #expect(m.unit == "V")
            #expect(m.outcome == .passed)
        }
        let started = try run.events().compactMap { if case .vectorStarted(let v) = $0.body { v } else { nil } }
        #expect(started.map { $0.params.first?.value } == [.number(JSONNumber(5.0)), .number(JSONNumber(12.0))])
    }

    @Test func limitResolutionOrder() throws {
        let product = try ProductContext(part: try PartLoader.load(path: TestPlugins.packageRoot + "/stations/parts/buck_3v3.yaml").part)
        let vectorLimit = try Limit.between(0, 1)
        let v = try Vectors.list([[VectorParam("vin", 5)]], limits: [["a": vectorLimit]])
        let run = try HarnessRun()
        let harness = try TestHarness(
            config: HarnessConfig(limits: ["b": try Limit.between(10, 20), "c": try Limit.between(0, 1)]), vectors: v, logger: run.logger,
            limits: ["b": try Limit.between(100, 200)], product: product)
        try harness.runAll { _ in
            try harness.measure("a", 0.5, limit: try Limit.between(5, 6))  // explicit wins: failed
            try harness.measure("a", 0.5)  // the vector's: passed
            try harness.measure("b", 150)  // constructor limits replace the config's: passed
            try harness.measure("c", 0.5)  // the config's c is gone with it: unchecked
            try harness.measure("vout", 3.3)  // the product spec, vin=5 as the condition
            try harness.measure("unknown", 1)  // nothing: done
        }
        try run.logger.finalize()
        let ms = try run.measurements()
        #expect(ms.map { $0.outcome } == [Outcome.failed, .passed, .passed, .done, .passed, .done])
        #expect(ms[4].characteristicID == "vout")
        #expect(ms[4].specRef == "DS-1001 §4.2 @ vin=5")
        #expect(abs(ms[4].limitLow! - (3.3 - 0.076)) < 1e-12)  // 2 % of reading + 0.01
        #expect(ms[4].dutPin == nil)  // no station: no fixture to trace through
        try run.logger.close()
    }

    @Test func guardbandMovesBoundsInward() throws {
        var part = try PartLoader.load(path: TestPlugins.packageRoot + "/stations/parts/buck_3v3.yaml").part
        part.characteristics[0].bands[0] = SpecBand(when: [], nominal: 3.3, min: 3.135, max: 3.465)
        let product = try ProductContext(part: part, guardbandPct: 10)
        let l = try #require(try product.limit(for: "vout", conditions: [:]))
        #expect(abs(l.low! - 3.1515) < 1e-12 && abs(l.high! - 3.4485) < 1e-12)
        let iq = try #require(try product.limit(for: "iq", conditions: [:]))
        #expect(iq.comparator == .LE && abs(iq.high! - 0.0045) < 1e-15)  // one-sided: |bound| × 10 %
        #expect(throws: SpecLimitError.self) { try ProductContext(part: part, guardbandPct: 100) }
    }

    @Test func aSpecWithNoMatchingBandIsErroredNotUnchecked() throws {
        let product = try ProductContext(part: try PartLoader.load(path: TestPlugins.packageRoot + "/stations/parts/buck_3v3.yaml").part)
        let run = try HarnessRun()
        let harness = try TestHarness(vectors: try Vectors.product([Axis("vin", [30])]), logger: run.logger, product: product)
        try harness.runAll { _ in try harness.measure("vout", 3.3) }
        try run.logger.finalize()
        #expect(try run.measurements().first?.outcome == .errored)
        let diagnostics = try run.events().compactMap { if case .diagnostic(let d) = $0.body { d.message } else { nil } }
        #expect(diagnostics.first?.contains("no spec band of buck_3v3.vout matches vin=30") == true, "\(diagnostics)")
        try run.logger.close()
    }

    @Test func retryOnlyOnFailureAndTheFinalAttemptDecides() throws {
        let run = try HarnessRun()
        var calls = 0
        let harness = try TestHarness(
            vectors: try Vectors.product([Axis("n", [1])]), logger: run.logger, retry: try RetryConfig(maxRetries: 3),
            limits: ["x": try Limit.between(0, 1)])
        let step = try harness.runAll { _ in
            calls += 1
            try harness.measure("x", calls == 1 ? 5 : 0.5)  // fails once, then passes
        }
        #expect(calls == 2)
        #expect(step.outcome == .passed)
        #expect(step.vectors.first?.attempts == 2)
        #expect(try run.logger.finalize() == .passed)  // a failed first attempt does not fail the run
        let ended = try run.events().compactMap { if case .vectorEnded(let v) = $0.body { "\(v.retry):\(v.outcome.rawValue)" } else { nil } }
        #expect(ended == ["0:failed", "1:passed"])
        try run.logger.close()

        // done (no limit) and passed are never retried; errors are returned from the last attempt.
        var doneCalls = 0
        let h2 = try TestHarness(retry: try RetryConfig(maxRetries: 2))
        let r = try h2.runAll { _ in
            doneCalls += 1
            try h2.measure("free", 1)
        }
        #expect(doneCalls == 1 && r.outcome == .done)
        var throwing = 0
        let r3 = try h2.runAll { _ in
            throwing += 1
            throw HarnessError("boom \(throwing)")
        }
        #expect(throwing == 3)
        #expect(r3.outcome == .errored)
        #expect(r3.vectors.first?.error == "boom 3")
    }

    @Test func promptsAreRecordedAndBracesAreText() throws {
        let run = try HarnessRun()
        let harness = try TestHarness(logger: run.logger, promptHandler: ScriptedPromptHandler([.confirmed(true), .chose("B"), .timedOut]))
        #expect(try harness.prompt("Set {temperature} to 25 °C") == .confirmed(true))
        #expect(try harness.prompt("Pick", kind: .choice, choices: ["A", "B"]) == .chose("B"))
        #expect(try harness.prompt("Serial?", kind: .input, timeout: 0.1) == .timedOut)
        #expect(throws: PromptError.self) { try harness.prompt("One more") }
        #expect(throws: PromptError.self) { try harness.prompt("Pick", kind: .choice) }
        try run.logger.finalize()
        let events = try run.events()
        let opened = events.compactMap { if case .promptOpened(let p) = $0.body { p.message } else { nil } }
        let answered = events.compactMap { if case .promptAnswered(let p) = $0.body { "\(p.response):\(p.value ?? "-"):\(p.source)" } else { nil } }
        #expect(opened.first == "Set {temperature} to 25 °C")
        #expect(answered == ["answered:yes:script", "answered:B:script", "timed_out:-:script"])
        #expect(AutoPromptHandler().source == "auto")
        #expect(try AutoPromptHandler().answer(Prompt(message: "m", kind: .choice, choices: ["x", "y"])) == .chose("x"))
        try run.logger.close()
    }

    @Test func contextScopesParametersAndHistory() throws {
        let run = try HarnessRun()
        let harness = try TestHarness(vectors: try Vectors.product([Axis("vin", [5, 5, 12])]), logger: run.logger)
        harness.runContext.configure("operator_station", "A")
        var changed: [Bool] = []
        var last: [JSONValue?] = []
        try harness.runAll { _ in
            changed.append(harness.context.changed("vin"))
            last.append(harness.context.last("vin"))
            harness.context.configure("late", 1)
            #expect(harness.context.param("operator_station") == "A")
            try harness.context.observe("trace", .samples([1, 2, 3]), unit: "V")
        }
        #expect(changed == [true, false, true])
        #expect(last == [nil, .number(JSONNumber(5.0)), .number(JSONNumber(5.0))])
        try run.logger.finalize()
        let obs = try run.events().compactMap { if case .observation(let o) = $0.body { o.value.value.stringValue } else { nil } }
        #expect(obs.count == 3 && obs.allSatisfy { $0.hasPrefix("channel://trace?") })
        let ended = try run.events().compactMap { if case .vectorEnded(let v) = $0.body { v.params.map(\.name) } else { nil } }
        #expect(ended == [["late"], ["late"], ["late"]])
        let started = try run.events().compactMap { if case .vectorStarted(let v) = $0.body { v.params.map(\.name) } else { nil } }
        #expect(started.first == ["operator_station", "vin"])
        try run.logger.close()
    }

    @Test func aLooseMeasurementGetsItsOwnStep() throws {
        let run = try HarnessRun()
        let harness = try TestHarness(logger: run.logger)
        try harness.measure("lonely", 1)
        try harness.step("outer") {
            try harness.step("inner") { try harness.measure("nested", 2) }
        }
        try run.logger.finalize()
        let paths = try run.events().compactMap { if case .stepStarted(let s) = $0.body { s.path } else { nil } }
        #expect(paths == ["lonely", "outer", "outer/inner"])
        try run.logger.close()
    }

    @Test func withoutADataDirectoryNothingIsPersistedAndItSaysSo() throws {
        let capture = HostServicesTests.Capture()
        let logger = try TestRunLogger(
            RunIdentity(dutSerial: "X", git: false), dataDir: nil, logger: Logger(label: "test") { _ in capture })
        let harness = try TestHarness(logger: logger)
        #expect(try harness.measure("v", 1, limit: try Limit.atMost(2)) == .passed)
        #expect(try harness.measure("w", 1) == .done)
        #expect(!logger.isPersisting)
        #expect(try logger.finalize() == .passed)
        try logger.close()
        // Said once, as a warning naming the run and how to keep its events.
        let warnings = capture.lock.withLock { capture.lines.filter { $0.0 == .warning }.map(\.1) }
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.contains("NOT persisted") == true && warnings.first?.contains("\(logger.runID)") == true)
    }
}

@Suite struct HarnessConfigTests {
    @Test func aMappingIsAProductNeverOneVectorOfLists() throws {
        let c = try HarnessConfig.parse("vectors:\n  vin: \"0.1:0.3:0.1\"\n  mode: [CC, CV]\n  on: off\n")
        let v = try #require(c.vectors)
        #expect(v.count == 6)
        #expect(v.map { "\($0["vin"]!)/\($0["mode"]!)" } == ["0.1/CC", "0.1/CV", "0.2/CC", "0.2/CV", "0.3/CC", "0.3/CV"])
        #expect(v[0]["on"] == "off")  // text, not YAML 1.1's false
    }

    @Test func zipNestedExplicitLimitsMocksAndRetry() throws {
        let c = try HarnessConfig.parse("""
            vectors:
              expand: zip
              vin: [5, 12]
              load: [0.1, 0.5]
              vectors: {temp: [25, 85]}
            limits:
              vout: {low: 3.1, high: 3.5, unit: V}
              ripple: {high: 0.05, comparator: LE}
            mocks: {"dmm.measure_dc_voltage": 3.3}
            retry: {max_retries: 2, delay: 0.01, on: [failed]}
            """)
        #expect(c.vectors?.map { "\($0["vin"]!)/\($0["load"]!)/\($0["temp"]!)" } == ["5/0.1/25", "5/0.1/85", "12/0.5/25", "12/0.5/85"])
        #expect(c.limits["ripple"]?.comparator == .LE)
        #expect(c.mocks["dmm.measure_dc_voltage"] == .scalar("3.3", quoted: false))
        #expect(c.retry == (try RetryConfig(maxRetries: 2, delay: 0.01, retryOn: [.failed])))
        let list = try HarnessConfig.parse("vectors:\n  - {vin: 5, _limits: {vout: {low: 1, high: 2}}}\n  - {vin: 12}\n")
        #expect(list.vectors?.first?.limits["vout"] == (try Limit.between(1, 2)))
    }

    @Test func badConfigsAreLocated() {
        func error(_ text: String) -> String {
            do {
                _ = try HarnessConfig.parse(text, file: "t.yaml")
                return "no error"
            } catch {
                return error.errors.map(\.description).joined(separator: "\n")
            }
        }
        #expect(error("vectors: {vin: [5, 12], load: [1]}\n").hasPrefix("no error"))
        #expect(error("vectors: {expand: zip, vin: [5, 12], load: [1]}\n").contains("t.yaml:1:10: vectors: zip needs axes of equal length"))
        #expect(error("vectors: {vin: \"5:1:1\"}\n").contains("t.yaml:1:16: vectors.vin"))
        #expect(error("vectors: {vin: []}\n").contains("has no values"))
        #expect(error("limits: {vout: {nominal: 5}}\n").contains("t.yaml:1:16: limits.vout: a nominal alone with GELE would pass every value"))
        #expect(error("limits: {vout: {low: 1, comparator: LEQ}}\n").contains("\"LEQ\" is not a comparator"))
        #expect(error("retry: {max_retries: -1}\n").contains("max_retries must be 0 or more"))
        #expect(error("retry: {on: [passed]}\n").contains("would repeat a vector that did not fail"))
        #expect(error("vector: {}\n").contains("did you mean \"vectors\""))
    }
}

/// Footguns of the Python original that need a test of their own (the rest are covered above).
@Suite struct HarnessFootgunTests {
    @Test func metadataSetMidRunReachesTheRunFile() throws {  // F15
        let run = try HarnessRun()
        try run.logger.runContext.set("board_rev", "B2")
        let harness = try TestHarness(logger: run.logger)
        try harness.measure("v", 1)
        try run.logger.runContext.set("late_note", "after the first measurement")
        try run.logger.finalize()
        let file = try #require(run.logger.runFile)
        let meta = try TestPython.json(
            "import sys, json, pyarrow.parquet as pq; m = pq.read_metadata(sys.argv[1]).metadata; print(json.dumps({k.decode(): v.decode() for k, v in m.items()}))",
            [file]) as? [String: String] ?? [:]
        let custom = meta["litmus.run"] ?? ""
        #expect(custom.contains("B2") && custom.contains("after the first measurement"), "\(meta)")
        try run.logger.close()
    }

    @Test func aRunWithNothingJudgedIsDoneNotAborted() throws {  // F8
        let run = try HarnessRun()
        #expect(try run.logger.finalize() == .done)
        let file = try #require(run.logger.runFile)
        let outcome = try TestPython.json(
            "import sys, json, pyarrow.parquet as pq; print(json.dumps(pq.read_table(sys.argv[1]).column('run_outcome')[0].as_py()))", [file])
        #expect(outcome as? String == "done")
        try run.logger.close()
    }

    @Test func contextMeasureDelegatesToItsHarness() throws {  // F11
        let run = try HarnessRun()
        let harness = try TestHarness(logger: run.logger, limits: ["v": try Limit.atMost(2)])
        func helper(_ ctx: Context) throws -> Outcome { try ctx.measure("v", 1) }
        #expect(try harness.step("s") { try helper(harness.context) } == .passed)
        #expect(try run.measurements().first?.stepPath == "s")
        try run.logger.close()
    }

    @Test func aDUTSerialIsRequired() {  // F22
        #expect(throws: HarnessError.self) { try TestRunLogger(RunIdentity(dutSerial: " ", git: false), dataDir: nil) }
    }

    @Test func anUnclosedRunEndsTerminatedOnClose() throws {  // F16: close() does everything, in order
        let run = try HarnessRun()
        try run.logger.close()
        let types = try run.types()
        #expect(types.suffix(3) == ["run.ended", "run.materialized", "session.ended"])
        let ended = try run.events().compactMap { if case .runEnded(let e) = $0.body { e.outcome } else { nil } }
        #expect(ended == [.terminated])
    }
}

@Suite struct HarnessRetryAndMockTests {
    struct Flaky: Error {}
    struct Fatal: Error {}

    @Test func onlyTheConfiguredErrorTypesAreRetried() throws {
        let harness = try TestHarness(retry: try RetryConfig(maxRetries: 3, retryIf: { $0 is Flaky }))
        var flakyCalls = 0
        let flaky = try harness.runAll { _ in
            flakyCalls += 1
            if flakyCalls < 3 { throw Flaky() }
            try harness.measure("v", 1, limit: try Limit.atMost(2))
        }
        #expect(flakyCalls == 3 && flaky.outcome == .passed)
        var fatalCalls = 0
        let fatal = try harness.runAll { _ in
            fatalCalls += 1
            throw Fatal()
        }
        #expect(fatalCalls == 1 && fatal.outcome == .errored)
        // A failed limit (no error thrown) is still retried.
        var failing = 0
        _ = try harness.runAll { _ in
            failing += 1
            try harness.measure("v", 5, limit: try Limit.atMost(2))
        }
        #expect(failing == 4)
    }

    /// Issue 12 #16, end to end: a profile operation whose channel has a default (`"1"`),
    /// called without it on a mocked role, answers channel 1's lookup entry, not the lookup's
    /// `default` (0.0), so a 5.001 V reading fails its <= 0.27 V limit. Both ways a mock
    /// stands in: the station's `mock_config` and the harness's mocks (the `.litmusMocks`
    /// trait's path).
    @Test func lookupMocksApplyTheParameterDefaultBeforeTheVerdict() throws {
        let dir = TestPlugins.scratch + "/lookup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let station = dir + "/lookup_bench.yaml"
        try """
            id: lookup_bench
            name: Lookup bench
            profile_paths: ["\(TestPlugins.packageRoot)/stations/profiles"]
            instruments:
              psu:
                resource: "SIM::psu::INSTR"
                profile: generic_scpi_psu
                mock: true
                mock_config:
                  measure_voltage: {lookup: {"1": 5.001, "2": 0.1}, default: 0}
            """.write(toFile: station, atomically: true, encoding: .utf8)
        let (loaded, report) = StationConfiguration.load(station: station, registry: TestPlugins.registry, environment: [:])
        #expect(report.errors.isEmpty, "\(report)")
        let bench = try #require(loaded).open(.init(locks: nil))
        defer { bench.close() }
        let psu = try bench.instrument("psu")
        #expect(try psu.call("measure_voltage") == .f64(5.001))
        #expect(try psu.call("measure_voltage", "2") == .f64(0.1))

        let run = try HarnessRun()
        let harness = try TestHarness(
            logger: run.logger, stepName: "dropout", limits: ["dropout": try Limit.atMost(0.27, unit: "V")], station: bench)
        let fromConfig = try harness.runAll { _ in try harness.measure("dropout", try psu.call("measure_voltage").doubleValue) }
        #expect(fromConfig.outcome == .failed)

        // The harness's mocks patch the role with the same kind of lookup.
        let patched = try TestHarness(
            logger: run.logger, stepName: "dropout_patched", limits: ["dropout": try Limit.atMost(0.27, unit: "V")], station: bench,
            mocks: ["psu.measure_voltage": try ConfigValue(try ConfigReader().parse("{lookup: {'1': 4.5, '2': 0.2}, default: 0}", file: "<mocks>"))])
        let fromPatch = try patched.runAll { _ in try patched.measure("dropout", try psu.call("measure_voltage").doubleValue) }
        #expect(fromPatch.outcome == .failed)
        try run.logger.finalize()
        #expect(try run.measurements().map(\.value) == [5.001, 4.5])
        #expect(try run.measurements().map(\.outcome) == [.failed, .failed])
        try run.logger.close()
    }

    /// Issue 12 #23: asking for production on a bench with a mocked role records development,
    /// loudly: a warning in the log and in the run, and the requested phase in the run's
    /// metadata (kept in the run file). A run that claims production without the bench's
    /// rule is warned about too.
    @Test func phaseDemotionIsWarnedAndRecorded() throws {
        let (loaded, report) = StationConfiguration.load(
            station: OpenStationTests.benchMock, registry: TestPlugins.registry, environment: [:])
        #expect(report.errors.isEmpty, "\(report)")
        let mockBench = try #require(loaded).open(.init(locks: nil))
        defer { mockBench.close() }
        var identity = RunIdentity(dutSerial: "SN-PHASE", testPhase: "production", git: false)
        identity.apply(mockBench)
        #expect(identity.testPhase == "development")
        #expect(identity.metadata[RunIdentity.requestedPhaseKey] == "production")
        #expect(identity.metadata[RunIdentity.phaseDemotionKey] == "mocked roles: eload")

        let capture = HostServicesTests.Capture()
        let data = TestPlugins.scratch + "/phase-\(UUID().uuidString)"
        let logger = try TestRunLogger(identity, dataDir: data, logger: Logger(label: "test") { _ in capture })
        let warnings = capture.lock.withLock { capture.lines.filter { $0.0 == .warning }.map(\.1) }
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.contains("test phase production was requested, but the run records development") == true, "\(warnings)")
        #expect(warnings.first?.contains("eload") == true)
        try logger.finalize()
        let file = try #require(logger.runFile)
        let events = try EventReader.events(dataDir: data, sessionID: logger.sessionID).events
        try logger.close()
        let diagnostics = events.compactMap { if case .diagnostic(let d) = $0.body { d } else { nil } }
        #expect(diagnostics.map(\.source) == ["test_phase"])
        let kept = try #require(
            try TestPython.json(
                """
                import sys, json, pyarrow.parquet as pq
                meta = pq.read_schema(sys.argv[1]).metadata
                t = pq.read_table(sys.argv[1]).to_pydict()
                print(json.dumps({"phase": t["test_phase"][0], "run": json.loads(meta[b"litmus.run"]),
                                  "diagnostics": json.loads(meta[b"litmus.diagnostics"])}))
                """, [file]) as? [String: Any])
        #expect(kept["phase"] as? String == "development")
        let metadata = (kept["run"] as? [String: Any])?["metadata"] as? [String: String]
        #expect(metadata?[RunIdentity.requestedPhaseKey] == "production", "\(kept)")
        #expect((kept["diagnostics"] as? [[String: Any]])?.first?["source"] as? String == "test_phase", "\(kept)")

        // An identity that skipped the bench's rule and claims production: warned in the run.
        let unapplied = try HarnessRun(serial: "SN-CLAIM", phase: "production")
        _ = try TestHarness(logger: unapplied.logger, station: mockBench)
        try unapplied.logger.finalize()
        let claimed = try unapplied.events().compactMap { if case .diagnostic(let d) = $0.body { d } else { nil } }
        #expect(claimed.count == 1 && claimed[0].source == "test_phase", "\(claimed)")
        #expect(claimed.first?.message.contains("records test phase production") == true, "\(claimed)")
        try unapplied.logger.close()
    }

    @Test func mocksPatchMockedRolesForTheVectorAndAreRecorded() throws {
        let (loaded, report) = StationConfiguration.load(
            station: OpenStationTests.benchMock, registry: TestPlugins.registry, environment: [:])
        #expect(report.errors.isEmpty, "\(report)")
        let bench = try #require(loaded).open()
        defer { bench.close() }
        let run = try HarnessRun()
        let eload = try bench.instrument("eload")
        let vectors = try Vectors.list(
            [[VectorParam("n", 1)], [VectorParam("n", 2)]], mocks: [[:], ["eload.measure_current": .scalar("0.75", quoted: false)]])
        let harness = try TestHarness(
            vectors: vectors, logger: run.logger, station: bench, mocks: ["eload.measure_current": .scalar("0.25", quoted: false)])
        var readings: [Double] = []
        try harness.runAll { _ in readings.append(try eload.call("measure_current").doubleValue ?? .nan) }
        #expect(readings == [0.25, 0.75])  // the harness's mocks, then the vector's own
        #expect(try eload.call("measure_current") == .f64(0.5))  // unpatched after the vector: mock_config again
        try run.logger.finalize()
        let patches = try run.events().compactMap { if case .mockPatchApplied(let p) = $0.body { "\(p.role).\(p.operation)=\(p.behavior)@\(p.scope)" } else { nil } }
        #expect(patches == ["eload.measure_current=0.25@run", "eload.measure_current=0.75@vector"])
        try run.logger.close()

        // A real (non-mocked) role is not patched unless fault injection is asked for.
        let real = try TestHarness(station: bench, mocks: ["dmm.measure_dc_voltage": .scalar("1", quoted: false)])
        let refused = try real.runAll { _ in }
        #expect(refused.outcome == .errored)
        #expect(refused.vectors.first?.error?.contains("would fake a hardware reading") == true, "\(refused)")
    }
}
