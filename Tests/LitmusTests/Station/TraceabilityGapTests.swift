import Foundation
import Testing

@testable import Litmus

/// Traceability gaps are never silent (issue 12 #17, #18): a pin with several fixture
/// connections that nothing picks between, and characteristics tied to a net, at
/// `station check` and in the run's data.
@Suite struct TraceabilityGapTests {
    /// A bench with one DMM, a part whose `vout` pin has two connections and no function to
    /// pick one, a `vref` characteristic given by net only, and a `gnd_offset` on a net that
    /// two pins share, wired by a net-only connection.
    static func writeBench(_ scratch: StationScratch) throws {
        try scratch.write(
            "parts/trace_part.yaml",
            """
            name: Trace part
            pins:
              VOUT: {designator: J1.3, net: VOUT_3V3}
              VREF: {designator: J1.5, net: VREF_1V2}
              GNDA: {designator: J1.2, net: GND}
              GNDB: {designator: J1.6, net: GND}
            characteristics:
              vout:
                pin: VOUT
                bands: [{min: 3.2, max: 3.4}]
              vref:
                net: VREF_1V2
                bands: [{min: 1.1, max: 1.3}]
              gnd_offset:
                net: GND
                bands: [{max: 0.01}]
            """)
        try scratch.write(
            "fixtures/trace_fixture.yaml",
            """
            part: trace_part
            connections:
              vout_a: {instrument: dmm, pin: VOUT}
              vout_b: {instrument: dmm, pin: VOUT}
              vref_sense: {instrument: dmm, pin: VREF}
              gnd_sense: {instrument: dmm, net: GND}
            """)
        try scratch.write(
            "trace_bench.yaml",
            simStation(id: "trace_bench") + "fixture: fixtures/trace_fixture.yaml\npart: parts/trace_part.yaml\n")
    }

    @Test func stationCheckWarnsAboutAPinWithTwoConnectionsAndSaysHowToNameOne() throws {
        let scratch = try StationScratch()
        try Self.writeBench(scratch)
        let (config, report) = scratch.load("trace_bench.yaml")
        #expect(report.errors.isEmpty, "\(report)")
        #expect(config != nil)
        let vout = report.warnings.filter { $0.problem.contains("characteristic vout") }
        #expect(vout.count == 1, "\(report)")
        if let w = vout.first {
            #expect(w.file.hasSuffix("trace_fixture.yaml") && w.line == 3, "\(w)")  // at the first connection
            for fragment in ["pin VOUT", "vout_a", "vout_b", "records no instrument", "connection: \"vout_a\"", ".litmusConnections", "function:"] {
                #expect(w.description.contains(fragment), "\(fragment) in \(w)")
            }
        }
        // A net-only connection on a net two pins share: the pin is named as unknown, with the fix.
        let gnd = report.warnings.filter { $0.problem.contains("characteristic gnd_offset") }
        #expect(gnd.count == 1, "\(report)")
        #expect(gnd.first?.description.contains("GNDA, GNDB") == true, "\(gnd)")
        // The net-defined vref resolves cleanly: no warning.
        #expect(!report.warnings.contains { $0.problem.contains("characteristic vref") }, "\(report)")
    }

    @Test func aNetDefinedCharacteristicResolvesToThePartPinOnItsNet() throws {
        let scratch = try StationScratch()
        try Self.writeBench(scratch)
        let config = try #require(scratch.load("trace_bench.yaml").0)
        let part = try #require(config.part)
        let characteristic = try #require(part.characteristic("vref"))
        let vref = try #require(try config.trace(characteristic))
        #expect(vref.dutPin == "VREF" && vref.pinDesignator == "J1.5" && vref.net == "VREF_1V2")
        #expect(vref.connection == "vref_sense" && vref.role == "dmm")
        #expect(try ProductContext(part: part).pin(for: "vref") == "VREF")
        // The net shared by two pins: traced to its connection, the pin left empty with a note.
        let gnd = try config.trace(net: "GND")
        #expect(gnd.connection == "gnd_sense" && gnd.dutPin == nil)
        #expect(gnd.notes.count == 1 && gnd.notes[0].contains("GNDA, GNDB"), "\(gnd.notes)")
        let missing = try #require(throws: TraceError.self) { try config.trace(net: "VIN") }
        #expect(missing.message.contains("no fixture connection reaches net 'VIN'"), "\(missing)")
    }

    /// The run records what it could trace (vref: pin and instrument) and, for what it could
    /// not, a warning the run file keeps (`litmus.diagnostics`), read back with pyarrow.
    @Test func theRunRecordsTheNetPinAndADiagnosticForTheAmbiguousPin() throws {
        let scratch = try StationScratch()
        try Self.writeBench(scratch)
        let config = try #require(scratch.load("trace_bench.yaml").0)
        let bench = try config.open(.init(locks: nil))
        defer { bench.close() }
        let run = try HarnessRun()
        let harness = try TestHarness(
            logger: run.logger, stepName: "trace", product: try ProductContext(part: try #require(config.part)), station: bench)
        try harness.runAll { _ in
            try harness.measure("vout", 3.3)
            try harness.measure("vout", 3.31)  // the same gap is recorded once
            try harness.measure("vref", 1.2)
            try harness.measure("vout", 3.3, connection: "vout_b")  // named: traced, no warning
        }
        try run.logger.finalize()
        let ms = try run.measurements()
        #expect(ms.map(\.instrumentRole) == [nil, nil, "dmm", "dmm"])
        #expect(ms.map(\.dutPin) == ["VOUT", "VOUT", "VREF", "VOUT"])
        #expect(ms.map(\.fixtureConnection) == [nil, nil, "vref_sense", "vout_b"])
        let diagnostics = try run.events().compactMap { if case .diagnostic(let d) = $0.body { d } else { nil } }
        #expect(diagnostics.count == 1, "\(diagnostics)")
        #expect(diagnostics.first?.source == "traceability" && diagnostics.first?.level == .warning)
        #expect(diagnostics.first?.message.contains("vout_a [no function], vout_b [no function]") == true, "\(diagnostics)")
        let file = try #require(run.logger.runFile)
        try run.logger.close()
        let kept = try #require(
            try TestPython.json(
                """
                import sys, json, pyarrow.parquet as pq
                meta = pq.read_schema(sys.argv[1]).metadata
                t = pq.read_table(sys.argv[1]).to_pydict()
                rows = [i for i, k in enumerate(t["record_type"]) if k == "measurement"]
                print(json.dumps({"diagnostics": json.loads(meta[b"litmus.diagnostics"]),
                                  "pins": [t["dut_pin"][i] for i in rows], "roles": [t["instrument_role"][i] for i in rows]}))
                """, [file]) as? [String: Any])
        let kept_ = try #require(kept["diagnostics"] as? [[String: Any]])
        #expect(kept_.count == 1)
        #expect(kept_.first?["level"] as? String == "warning")
        #expect((kept_.first?["message"] as? String)?.contains("pin 'VOUT' has 2 connections") == true, "\(kept_)")
        #expect(kept["pins"] as? [String] == ["VOUT", "VOUT", "VREF", "VOUT"])
        #expect((kept["roles"] as? [Any])?.map { $0 as? String } == [nil, nil, "dmm", "dmm"])
    }
}
