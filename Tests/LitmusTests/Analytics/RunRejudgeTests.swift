import Foundation
import LitmusAnalytics
import Testing

@testable import Litmus

/// `litmus runs rejudge` with a tightened part file over real runs.
@Suite struct RunRejudgeTests {
    /// buck_3v3 with vout's first band tightened to 3.3 V ± 0.5 mV: the mock bench's 3.3012 V
    /// now fails, and the harness runs' readings fail unless within 0.5 mV of 3.3 V.
    static func tightenedPart(_ directory: String) throws -> String {
        let original = try String(contentsOfFile: TestPlugins.packageRoot + "/stations/parts/buck_3v3.yaml", encoding: .utf8)
        let tightened = original.replacingOccurrences(
            of: "accuracy: {pct_reading: 2, absolute: 0.01}", with: "accuracy: {pct_reading: 0, absolute: 0.0005}")
        #expect(tightened != original)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/buck_3v3.yaml"
        try tightened.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aTightenedSpecFlagsTheBoardsThatWouldNowFailAndChangesNoFile() throws {
        let lake = try AnalyticsLake.get()
        let before = try AnalyticsLake.snapshot(lake.data)
        let partPath = try Self.tightenedPart(TestPlugins.scratch + "/rejudge-\(UUID().uuidString)")
        let part = try PartLoader.load(path: partPath).part
        let result = try RunRejudge.run(lake: try RunLake(root: lake.data), part: part)

        // Expected from the stored values: a board's last run fails when one of its final vout
        // readings (under vin 4.5...12) is outside 3.3 ± 0.0005.
        let rows = try #require(try TestPython.json(
            """
            import sys, json, duckdb
            q = '''SELECT dut_serial, run_id, run_started_at::VARCHAR, bool_or(abs(measurement_value - 3.3) > 0.0005) AS fails
                   FROM read_parquet(?) WHERE record_type = 'measurement' AND is_final_attempt AND characteristic_id = 'vout'
                   GROUP BY ALL ORDER BY 3'''
            print(json.dumps(duckdb.execute(q, [sys.argv[1] + '/runs/*/*/*.parquet']).fetchall()))
            """, [lake.data]) as? [[Any]])
        var lastRun: [String: (run: String, fails: Bool)] = [:]
        for row in rows { lastRun[row[0] as! String] = (row[1] as! String, row[3] as! Bool) }
        let expected = Set(lastRun.filter { $0.value.fails }.keys)
        #expect(expected.contains("SN-A"))
        #expect(Set(result.changedBoards.map(\.serial)) == expected)
        #expect(result.changedBoards.allSatisfy { $0.before == .passed && $0.after == .failed })
        #expect(result.yieldAfter.finalPassUnits < result.yieldBefore.finalPassUnits)
        let vout = result.changedMeasurements.filter { $0.measurement == "vout" }
        #expect(!vout.isEmpty && vout.allSatisfy { $0.newHigh.map { abs($0 - 3.3005) < 1e-12 } == true && $0.after == .failed })
        #expect(result.withoutSpec > 0)  // ripple's limit came from the test: kept

        // The stored files are untouched.
        #expect(try AnalyticsLake.snapshot(lake.data) == before)
    }

    @Test func theCommandPrintsWritesANewFileAndNeverReplacesOne() throws {
        let lake = try AnalyticsLake.get()
        let before = try AnalyticsLake.snapshot(lake.data)
        let directory = TestPlugins.scratch + "/rejudge-cli-\(UUID().uuidString)"
        let partPath = try Self.tightenedPart(directory)
        let text = try AnalyticsLake.litmus(["runs", "rejudge", "--data-dir", lake.data, "--part", partPath])
        #expect(text.status == 0, "\(text.output)")
        #expect(text.output.contains("Boards whose verdict would change"), "\(text.output)")
        #expect(text.output.contains("SN-A"))

        let out = directory + "/whatif.json"
        let json = try AnalyticsLake.litmus(["runs", "rejudge", "--data-dir", lake.data, "--part", partPath, "--out", out, "--json"])
        #expect(json.status == 0, "\(json.output)")
        let written = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let boards = try #require(written["changed_boards"] as? [[String: Any]])
        #expect(boards.contains { $0["serial"] as? String == "SN-A" && $0["after"] as? String == "failed" })

        let again = try AnalyticsLake.litmus(["runs", "rejudge", "--data-dir", lake.data, "--part", partPath, "--out", out])
        #expect(again.status != 0)
        #expect(again.output.contains("exists") && again.output.contains("Fix:"), "\(again.output)")

        // The spec and guardband the runs were judged with (SN-B's first run had 99.5 %): no change.
        let same = try AnalyticsLake.litmus([
            "runs", "rejudge", "--data-dir", lake.data, "--part", TestPlugins.packageRoot + "/stations/parts/buck_3v3.yaml", "--guardband", "10",
            "--serial", "SN-[AH]*", "--json",
        ])
        let sameObject = try #require(try JSONSerialization.jsonObject(with: Data(same.output.utf8)) as? [String: Any])
        #expect((sameObject["changed_measurements"] as? [Any])?.isEmpty == true, "\(same.output.prefix(2000))")

        let bad = try AnalyticsLake.litmus(["runs", "rejudge", "--data-dir", lake.data, "--part", partPath, "--guardband", "100"])
        #expect(bad.status != 0 && bad.output.contains("guardband"), "\(bad.output)")
        #expect(try AnalyticsLake.snapshot(lake.data) == before)
    }
}
