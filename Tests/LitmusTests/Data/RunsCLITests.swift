import Foundation
import Testing

@testable import Litmus

/// `litmus runs …`, `litmus runs-daemon` and `litmus events …` on a real data directory.
@Suite struct RunsCLITests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"

    func populated() throws -> (dir: String, ended: SampleRun, open: SampleRun) {
        let dir = "\(TestPlugins.scratch)/cli-\(UUID().uuidString)"
        let ended = SampleRun()
        var open = SampleRun()
        open.serial = "SN-OPEN"
        for (sample, finish) in [(ended, true), (open, false)] {
            let log = try EventStore(dataDir: dir).eventLog(sessionID: sample.session)
            try sample.emit(into: log, ended: finish)
            try log.close()
        }
        return (dir, ended, open)
    }

    @Test func listShowExportAndDaemon() throws {
        let (dir, ended, open) = try populated()
        let list = try TestPlugins.run(Self.litmus, ["runs", "list", "--data-dir", dir])
        #expect(list.status == 0, "\(list.output)")
        #expect(list.output.contains("SN-0001") && list.output.contains("failed"))
        #expect(list.output.contains("SN-OPEN") && list.output.contains("running"))

        let daemon = try TestPlugins.run(Self.litmus, ["runs-daemon", "--once", "--data-dir", dir])
        #expect(daemon.status == 0, "\(daemon.output)")
        #expect(daemon.output.contains("2 run(s) written, 1 orphan(s) closed as aborted"))

        let failed = try TestPlugins.run(Self.litmus, ["runs", "list", "--data-dir", dir, "--failed", "--json"])
        let lines = failed.output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.contains("\"parquet\":") })
        let bySerial = try TestPlugins.run(Self.litmus, ["runs", "list", "--data-dir", dir, "--serial", "SN-OPEN"])
        #expect(bySerial.output.contains("aborted") && !bySerial.output.contains("SN-0001"))
        let future = try TestPlugins.run(Self.litmus, ["runs", "list", "--data-dir", dir, "--since", "2999-01-01"])
        #expect(future.output.contains("No runs"))
        let badSince = try TestPlugins.run(Self.litmus, ["runs", "list", "--data-dir", dir, "--since", "yesterday"])
        #expect(badSince.status != 0 && badSince.output.contains("not a UTC date"))

        let id = String(ended.run.uuidString.lowercased().prefix(8))
        let show = try TestPlugins.run(Self.litmus, ["runs", "show", id, "--data-dir", dir])
        #expect(show.status == 0, "\(show.output)")
        #expect(show.output.contains("vout = 3.6 V  [GELE low 3.135 high 3.465]  failed  pin J1.3 via dmm ch 1"))
        #expect(show.output.contains("vector 1 retry 1"))
        #expect(show.output.contains("instrument dmm: mock MOCK::dmm (mocked)"))

        let csv = try TestPlugins.run(Self.litmus, ["runs", "export", id, "--csv", "--data-dir", dir])
        let header = csv.output.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.hasPrefix("record_type,session_id,run_id,"))
        #expect(header.contains("in_vin") && header.contains("out_temp"))
        #expect(csv.output.split(separator: "\n").count == 10)
        let json = try TestPlugins.run(Self.litmus, ["runs", "export", id, "--json", "--data-dir", dir])
        let rows = json.output.split(separator: "\n")
        #expect(rows.count == 9)
        #expect(rows.contains { $0.contains("\"measurement_value\":\"NaN\"") })

        let unknown = try TestPlugins.run(Self.litmus, ["runs", "show", "ffffffff", "--data-dir", dir])
        #expect(unknown.status != 0 && unknown.output.contains("no run id starts with"))

        let tail = try TestPlugins.run(
            Self.litmus, ["events", "tail", String(open.session.uuidString.prefix(8)), "--data-dir", dir])
        #expect(tail.status == 0)
        let events = tail.output.split(separator: "\n")
        #expect(events.first?.contains("\"type\":\"session.started\"") == true)
        #expect(events.contains { $0.contains("\"type\":\"run.ended\"") && $0.contains("\"outcome\":\"aborted\"") })
        #expect(events.allSatisfy { $0.hasSuffix("\"}") })
    }
}
