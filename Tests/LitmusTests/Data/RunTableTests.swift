import Foundation
import LitmusJSON
import Testing

@testable import Litmus

/// The run table built from events, read directly (no Parquet): scopes without events of their
/// own, observations at every scope, and strings told apart by their bytes.
@Suite struct RunTableTests {
    let session = UUID()
    let run = UUID()

    func table(_ bodies: [EventBody]) -> RunTable {
        var accumulator = RunAccumulator(runID: run)
        accumulator.add(Event(sessionID: session, .sessionStarted(SessionStarted(stationID: "bench"))))
        for body in bodies { accumulator.add(Event(sessionID: session, runID: run, body)) }
        return RunTable(run: accumulator)
    }

    func column(_ table: RunTable, _ name: String) -> [JSONValue] {
        guard let column = table.column(name) else {
            Issue.record("no column \(name)")
            return []
        }
        return (0..<table.rowCount).map { column.json($0) }
    }

    @Test func scopesWithoutEventsGetRowsInOrderOfFirstReference() {
        let t = table([
            .runStarted(RunStarted(dutSerial: "SN1")),
            .measurement(Measurement(stepIndex: 0, stepPath: "a", vectorIndex: 0, name: "é", value: 1, outcome: .passed)),
            .measurement(Measurement(stepIndex: 1, stepPath: "b", retry: 1, name: "e\u{301}", value: 2, outcome: .failed)),
            .observation(Observation(NamedValue("ambient", .double(20), unit: "degC"))),
            .observation(Observation(stepIndex: 1, stepPath: "b", retry: 1, NamedValue("t", .double(1.5)))),
            .runEnded(RunEnded(outcome: .failed)),
        ])
        #expect(t.rowCount == 6)
        #expect(column(t, "record_type") == ["run", "step", "vector", "measurement", "step", "measurement"].map { .string($0) })
        #expect(column(t, "step_name") == [.null, .string("a"), .string("a"), .string("a"), .string("b"), .string("b")])
        #expect(column(t, "step_retry") == [.null, .int(0), .int(0), .int(0), .int(1), .int(1)])
        #expect(column(t, "step_outcome") == Array(repeating: .null, count: 6))
        #expect(column(t, "vector_index") == [.null, .null, .int(0), .int(0), .null, .null])
        #expect(column(t, "vector_outcome") == Array(repeating: .null, count: 6))
        // Canonically equivalent names stay two values (the file stores bytes).
        #expect(column(t, "measurement_name") == [.null, .null, .null, .string("é"), .null, .string("e\u{301}")])
        #expect(t.column("measurement_name")?.stringValues.count == 2)
        #expect(column(t, "measurement_outcome") == [.null, .null, .null, .string("passed"), .null, .string("failed")])
        // A run-scope observation is on the run row only; a step's on its rows.
        #expect(column(t, "out_ambient") == [.double(20), .null, .null, .null, .null, .null])
        #expect(column(t, "out_t") == [.null, .null, .null, .null, .double(1.5), .double(1.5)])
        #expect(column(t, "run_outcome") == Array(repeating: .string("failed"), count: 6))
        #expect(t.column("dut_serial")?.strings.map { $0 } == Array(repeating: "SN1", count: 6))
        #expect(t.column("dut_lot")?.valid.allSatisfy { !$0 } == true)
        #expect(t.metadata.first { $0.0 == "litmus.units" }?.1 == #"{"out_ambient":"degC"}"#)
    }

    @Test func vectorsGoWithTheirStepAttemptAndParametersWithTheirVector() {
        let t = table([
            .runStarted(RunStarted(dutSerial: "SN2")),
            .stepStarted(StepStarted(name: "s", index: 0)),
            .vectorStarted(VectorStarted(stepIndex: 0, stepPath: "s", index: 0, params: [NamedValue("vin", .int(5), unit: "V")])),
            .measurement(Measurement(stepIndex: 0, stepPath: "s", vectorIndex: 0, name: "v", value: 1, outcome: .passed)),
            .vectorEnded(VectorEnded(stepIndex: 0, stepPath: "s", index: 0, outcome: .passed, params: [NamedValue("mode", .string("CC"))])),
            .stepEnded(StepEnded(name: "s", index: 0, outcome: .failed)),
            .stepStarted(StepStarted(name: "s", index: 0, retry: 1)),
            .vectorStarted(VectorStarted(stepIndex: 0, stepPath: "s", index: 0, retry: 1, params: [NamedValue("vin", .double(5.5))])),
            .measurement(Measurement(stepIndex: 0, stepPath: "s", vectorIndex: 0, retry: 1, name: "v", value: 2, outcome: .passed)),
            .vectorEnded(VectorEnded(stepIndex: 0, stepPath: "s", index: 0, retry: 1, outcome: .passed)),
            .stepEnded(StepEnded(name: "s", index: 0, retry: 1, outcome: .passed)),
            .runEnded(RunEnded(outcome: .passed)),
        ])
        #expect(column(t, "record_type") == ["run", "step", "vector", "measurement", "step", "vector", "measurement"].map { .string($0) })
        #expect(column(t, "step_retry") == [.null, .int(0), .int(0), .int(0), .int(1), .int(1), .int(1)])
        #expect(column(t, "vector_retry") == [.null, .null, .int(0), .int(0), .null, .int(1), .int(1)])
        #expect(column(t, "step_outcome") == [.null, .string("failed"), .string("failed"), .string("failed"), .string("passed"), .string("passed"), .string("passed")])
        #expect(column(t, "in_vin") == [.null, .null, .double(5), .double(5), .null, .double(5.5), .double(5.5)])
        #expect(column(t, "in_mode") == [.null, .null, .string("CC"), .string("CC"), .null, .null, .null])
        #expect(column(t, "measurement_value") == [.null, .null, .null, .double(1), .null, .null, .double(2)])
    }
}
