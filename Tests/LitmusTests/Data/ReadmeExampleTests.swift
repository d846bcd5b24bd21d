import Foundation
import Testing

@testable import Litmus

/// The README's data-path example, as written there, against a temporary data directory.
@Suite struct ReadmeExampleTests {
    @Test func theReadmeDataExampleRuns() throws {
        let data = "\(TestPlugins.scratch)/readme-\(UUID().uuidString)"
        let trace = (0..<1000).map { sin(Double($0) / 50) }
        let store = EventStore(dataDir: data)
        let session = UUID(), run = UUID()
        let log = try store.eventLog(sessionID: session)
        let materializer = InProcessMaterializer(log: log, dataDir: data)
        let channels = ChannelStore(dataDir: data, sessionID: session, events: log)

        try log.emit(Event(sessionID: session, .sessionStarted(SessionStarted(stationID: "bench1"))))
        try log.emit(Event(sessionID: session, runID: run, .runStarted(RunStarted(dutSerial: "SN1", stationID: "bench1"))))
        try log.emit(Event(sessionID: session, runID: run, .measurement(Measurement(
            stepIndex: 0, stepPath: "rails", name: "vout", value: 3.31, unit: "V", outcome: .passed,
            limitLow: 3.135, limitHigh: 3.465, comparator: .GELE, dutPin: "J1.3", instrumentRole: "dmm"))))
        let scope = try channels.channel("scope.ch1", type: .waveform, unit: "V")
        let uri = try scope.appendWaveform(t0: .now(), dt: 1e-6, samples: trace)
        try log.emit(Event(sessionID: session, runID: run, .observation(Observation(
            stepIndex: 0, stepPath: "rails", NamedValue("ripple_trace", .string(uri.description))))))
        try log.emit(Event(sessionID: session, runID: run, .runEnded(RunEnded(outcome: .passed))))
        let path = try #require(materializer.result(for: run)).get().path
        try channels.close()
        try log.close()

        #expect(path.contains("/runs/date=") && path.contains("/station=bench1/") && path.hasSuffix("_SN1.parquet"))
        #expect(uri.description.hasPrefix("channel://scope.ch1?session="))
        let read = try ChannelStore.read(dataDir: data, uri: uri)
        #expect(read.waveforms?.first?.samples == trace)
        let out = try TestPython.json(
            "import sys, json, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]).to_pydict(); print(json.dumps([t['out_ripple_trace'][1], t['measurement_value'][2]]))",
            [path])
        #expect((out as? [Any])?.first as? String == uri.description)
        #expect((out as? [Any])?.last as? Double == 3.31)
        let events = try EventReader.events(dataDir: data, sessionID: session).events.map(\.type)
        #expect(events.contains("channel.started") && events.contains("channel.ended") && events.contains("run.materialized"))
    }
}
