import Foundation
import Testing

@testable import Litmus

/// `litmus drivers check` on a real instrument connection: the lan driver over loopback TCP to
/// a fake two-output supply, with the shipped PSU profile. What the check did is read back from
/// the supply's own state and its log of received messages.
@Suite struct ConformanceSafetyTests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"
    static let psuProfile = TestPlugins.packageRoot + "/stations/profiles/generic_scpi_psu.yaml"

    /// Runs `litmus drivers check ... --json`, returns the exit status, the JSON text (stdout)
    /// and stderr.
    func check(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, json: String, output: String) {
        let out = TestPlugins.scratch + "/check-\(UUID().uuidString).json"
        let result = try TestPlugins.run(
            "/bin/sh", ["-c", "\"$0\" \"$@\" > \(out)", Self.litmus, "drivers", "check"] + arguments, environment: environment)
        let json = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        return (result.status, json, result.output)
    }

    /// The checks of a `--json` report, parsed back by Python's json module: name -> outcome.
    func parseOutcomes(_ json: String) throws -> [String: String] {
        let path = TestPlugins.scratch + "/report-\(UUID().uuidString).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let parsed = try TestPython.json(
            """
            import json, sys
            d = json.load(open(sys.argv[1]))
            print(json.dumps({c["name"]: c["outcome"] for r in d["reports"] for c in r["checks"]}))
            """, [path])
        return parsed as? [String: String] ?? [:]
    }

    /// A command of the supply's log that changes it: anything but a query or the output
    /// selection a profile query carries (`INST:NSEL 1;:MEAS:VOLT?`).
    static func writes(in log: [String]) -> [String] {
        log.flatMap { $0.split(separator: ";") }.map { $0.trimmingCharacters(in: .whitespaces).drop { $0 == ":" } }
            .filter { !$0.hasSuffix("?") && !$0.uppercased().hasPrefix("INST:NSEL") }.map(String.init)
    }

    @Test func readOnlyCheckOfTheShippedPSUProfileChangesNothing() throws {
        let psu = try FakePSU()
        defer { psu.stop() }
        let before = psu.state
        let r = try check(["lan", "--resource", psu.resource, "--profile", Self.psuProfile, "--read-only", "--json"])
        #expect(r.status == 0, "\(r.output)\n\(r.json)")
        #expect(psu.state == before, "the read-only check changed the supply: \(psu.log)")
        #expect(Self.writes(in: psu.log).isEmpty, "the read-only check wrote: \(psu.log)")
        #expect(psu.log.contains("INST:NSEL 1;:MEAS:VOLT?"), "\(psu.log)")  // it did talk to the supply
        let outcomes = try parseOutcomes(r.json)
        #expect(outcomes.first { $0.key.hasPrefix("operation set_voltage(") }?.value == "skipped", "\(outcomes)")
        #expect(outcomes.first { $0.key.hasPrefix("operation enable_output(") }?.value == "skipped", "\(outcomes)")
        #expect(outcomes.first { $0.key.hasPrefix("operation measure_voltage(") }?.value == "passed", "\(outcomes)")
        #expect(outcomes["profile init"] == "skipped", "\(outcomes)")
    }

    /// The same on the shipped simulated supply (the sim driver answering the shipped profile),
    /// proved by the host's I/O trace: only queries went to the instrument.
    @Test func readOnlyCheckOfTheSimulatedPSUWritesNothing() throws {
        let trace = TestPlugins.scratch + "/sim-trace-\(UUID().uuidString).log"
        var env = ProcessInfo.processInfo.environment
        env["LITMUS_IO_TRACE"] = trace
        let r = try check(
            ["sim", "--resource", "SIM::psu::INSTR", "-o", "description=\(TestPlugins.packageRoot)/stations/sim/bench_devices.yaml",
             "--profile", Self.psuProfile, "--read-only", "--json"], environment: env)
        #expect(r.status == 0, "\(r.output)\n\(r.json)")
        let sent = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
            .filter { $0.contains(" write ") }
            .compactMap { $0.split(separator: "\"").dropFirst().first.map { $0.replacingOccurrences(of: "\\n", with: "") } }
        #expect(sent.contains("*IDN?") && sent.contains("INST:NSEL 1;:MEAS:VOLT?"), "\(sent)")
        #expect(Self.writes(in: sent).isEmpty, "\(sent)")
    }

    @Test func writesRunOnlyWithTheFlagAndOutputsAreLeftOff() throws {
        // Without --allow-writes (and without --read-only): still no write.
        let untouched = try FakePSU()
        defer { untouched.stop() }
        let plain = try check(["lan", "--resource", untouched.resource, "--profile", Self.psuProfile, "--json"])
        #expect(plain.status == 0, "\(plain.output)\n\(plain.json)")
        #expect(Self.writes(in: untouched.log).filter { !$0.hasPrefix("*") }.isEmpty, "\(untouched.log)")
        #expect(untouched.state == FakePSU.State())

        let psu = try FakePSU(state: .init(volts: [5, 12], amps: [1, 2], outputs: [true, true]))
        defer { psu.stop() }
        let r = try check(["lan", "--resource", psu.resource, "--profile", Self.psuProfile, "--allow-writes", "--json"])
        #expect(r.status == 0, "\(r.output)\n\(r.json)")
        let written = Self.writes(in: psu.log)
        #expect(written.contains("OUTP ON"), "\(psu.log)")  // enable_output ran...
        #expect(psu.state.outputs == [false, false], "\(psu.log)")  // ...and every output is off after
        #expect(written.contains("VOLT 0"), "a writing operation gets the lowest allowed value: \(psu.log)")
        #expect(!psu.log.joined().contains("VOLT 15"), "the issue's mid-range 15 V: \(psu.log)")
        let outcomes = try parseOutcomes(r.json)
        #expect(outcomes["leave output off: disable_output channel 2"] == "passed", "\(outcomes)")
        #expect(outcomes["restore settings"] == "warned", "no getter: said out loud, \(outcomes)")
    }

    @Test func errorPathsAreReported() throws {
        let psu = try FakePSU()
        defer { psu.stop() }
        let r = try check(["lan", "--resource", psu.resource, "--profile", Self.psuProfile, "--read-only", "--json"])
        #expect(r.status == 0, "\(r.output)\n\(r.json)")
        let outcomes = try parseOutcomes(r.json)
        let paths = outcomes.filter { $0.key.hasPrefix("error path:") }
        #expect(paths.keys.contains { $0.hasPrefix("error path: a peer that closes") }, "\(outcomes)")
        #expect(paths.keys.contains { $0.hasPrefix("error path: timeout") }, "\(outcomes)")
        #expect(paths.keys.contains("error path: calls after close"), "\(outcomes)")
        #expect(paths.keys.contains("error path: unknown operation"), "\(outcomes)")
        #expect(paths.keys.contains("error path: output_enabled with channel not one of its choices"), "\(outcomes)")
        #expect(paths.keys.contains("error path: output_enabled with one argument too many"), "\(outcomes)")
        #expect(paths.keys.contains { $0.hasPrefix("error path: open TCPIP0::127.0.0.1::") }, "\(outcomes)")
        #expect(paths.values.allSatisfy { $0 == "passed" }, "\(paths)")
        // An operations-only driver gets its bad arguments refused, per parameter.
        let mock = try check([TestPlugins.path("mock"), "--json"])
        let mockOutcomes = try parseOutcomes(mock.json)
        #expect(mock.status == 0, "\(mock.output)\n\(mock.json)")
        #expect(mockOutcomes.keys.contains { $0.contains("with one argument too many") }, "\(mockOutcomes)")
        #expect(mockOutcomes.keys.contains { $0.contains("of the wrong type") }, "\(mockOutcomes)")
    }

    @Test func anErrorReplyToIdentifyFails() throws {
        let psu = try FakePSU(idnReply: "E03 SYNTAX")
        defer { psu.stop() }
        guard let lan = try? TestPlugins.registry.driver(id: "lan") else { Issue.record("no lan driver"); return }
        let report = ConformanceCheck.run(
            driver: lan, registry: TestPlugins.registry, options: .init(mode: .readOnly, resource: psu.resource))
        let identify = report.items.first { $0.name.hasPrefix("identify") }
        #expect(identify?.outcome == .failed, "\(report.rendered())")
        #expect(identify?.detail.contains("E03 SYNTAX") == true)
        #expect(identify?.detail.contains("declare an `identify` operation") == true)
        #expect(!report.passed)
    }

    @Test func theDeclaredIdentifyOperationIsUsedNotIDN() throws {
        let psu = try FakePSU(idnReply: "E03 SYNTAX")
        defer { psu.stop() }
        let dir = TestPlugins.scratch + "/identify-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let profile = dir + "/acme_psu.yaml"
        try (String(contentsOfFile: Self.psuProfile, encoding: .utf8).replacingOccurrences(of: "generic_scpi_psu", with: "acme_psu")
            + "  identify:\n    query: \"ID?\"\n    returns: string\n").write(toFile: profile, atomically: true, encoding: .utf8)
        let r = try check(["lan", "--resource", psu.resource, "--profile", profile, "--read-only", "--json"])
        #expect(r.status == 0, "\(r.output)\n\(r.json)")
        #expect(psu.log.contains("ID?"), "\(psu.log)")
        #expect(!psu.log.contains("*IDN?"), "no blind *IDN?: \(psu.log)")
        #expect(try parseOutcomes(r.json)["identify (the driver's identify operation)"] == "passed")
        // The mock driver declares identify too: its trace shows the call.
        let mock = ConformanceCheck.run(pluginAt: TestPlugins.path("mock"))
        #expect(mock.items.contains { $0.driver == "mock" && $0.name.hasPrefix("identify (the driver's") && $0.outcome == .passed },
                "\(mock.rendered())")
    }

    @Test func identityJudgement() {
        #expect(ConformanceCheck.identityProblem("E03 SYNTAX", ieee488: false) != nil)
        #expect(ConformanceCheck.identityProblem("-113,\"Undefined header\"", ieee488: true) != nil)
        #expect(ConformanceCheck.identityProblem("ACME PSU-2 v1.4", ieee488: false) == nil)
        #expect(ConformanceCheck.identityProblem("ACME PSU-2 v1.4", ieee488: true) != nil)
        #expect(ConformanceCheck.identityProblem("Keysight Technologies,E36312A,MY123,2.1.0", ieee488: true) == nil)
        #expect(ConformanceCheck.identityProblem("", ieee488: false) != nil)
    }

    @Test func readOnlyAndAllowWritesExcludeEachOther() throws {
        let r = try TestPlugins.run(Self.litmus, ["drivers", "check", "lan", "--read-only", "--allow-writes"])
        #expect(r.status != 0)
        #expect(r.output.contains("exclude each other"), "\(r.output)")
    }
}
