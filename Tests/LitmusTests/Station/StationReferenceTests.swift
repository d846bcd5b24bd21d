import Foundation
import Testing

@testable import Litmus

/// Files a station names: `${station_dir}` and relative paths resolve against the station
/// file's absolute directory (issue 12 item 22); a part or fixture that fails to load shows its
/// own located error, not a hint to set `part:` (item 24); a missing file is reported at the
/// key that named it (item 27).
@Suite struct StationReferenceTests {
    /// Runs `litmus` in `directory` (a real child process with its own working directory).
    static func litmus(_ arguments: [String], in directory: String) throws -> (status: Int32, output: String) {
        try TestPlugins.run(TestPlugins.buildDirectory + "/litmus", arguments, in: directory)
    }

    @Test func stationNamedWithoutADirectoryOpensFromItsOwnDirectory() throws {
        // `cd stations && litmus station check bench_mock.yaml --open`: `${station_dir}` was
        // empty, so the simulated devices' `description` became /sim/bench_devices.yaml.
        let stations = TestPlugins.packageRoot + "/stations"
        let r = try Self.litmus(["station", "check", "bench_mock.yaml", "--open", "--no-locks"], in: stations)
        #expect(r.status == 0, "\(r.output)")
        #expect(!r.output.contains("description"), "\(r.output)")
        #expect(!r.output.contains("error"), "\(r.output)")

        // `./` and `..` spellings resolve to the same directory.
        let r2 = try Self.litmus(["station", "check", "./../bench_mock.yaml", "--open", "--no-locks"], in: stations + "/sim")
        #expect(r2.status == 0, "\(r2.output)")
    }

    @Test func stationDirectoryIsAbsoluteAndFixedWhenTheFileIsSet() throws {
        var station = Station(id: "s", name: "S")
        station.file = "bench.yaml"
        let cwd = FileManager.default.currentDirectoryPath
        #expect(station.directory == URL(fileURLWithPath: cwd).standardized.path)
        #expect(station.resolve("sim/x.yaml") == station.directory + "/sim/x.yaml")
        station.file = "/a/b/../c/bench.yaml"
        #expect(station.directory == "/a/c")
        #expect(station.resolve("/abs.yaml") == "/abs.yaml")
    }

    @Test func aPartThatFailsToParseShowsItsOwnError() throws {
        let s = try StationScratch()
        // The part named by `part:` has a YAML syntax error on line 3.
        try s.write("parts/broken.yaml", "id: broken\nname: Broken\npins: {VIN: {designator: \"1\"\n")
        try s.write("station.yaml", simStation(id: "station") + "fixture: fixtures/buck_fixture.yaml\npart: parts/broken.yaml\n")
        let (_, report) = s.load("station.yaml")
        let partErrors = report.errors.filter { $0.file == s.dir + "/parts/broken.yaml" }
        #expect(partErrors.count == 1, "\(report)")
        #expect(partErrors.first.map { $0.line > 0 && $0.problem.contains("YAML syntax") } == true, "\(report)")
        // Not the misleading hint that no part is set.
        #expect(!"\(report)".contains("no part is loaded"), "\(report)")
        #expect(!"\(report)".contains("set `part:`"), "\(report)")

        // The same through the fixture's `part:` (no `part:` in the station).
        let fixture = try String(contentsOfFile: s.dir + "/fixtures/buck_fixture.yaml", encoding: .utf8)
        try s.write("fixtures/other.yaml", fixture.replacingOccurrences(of: "id: buck_fixture", with: "id: other")
            .replacingOccurrences(of: "part: buck_3v3", with: "part: broken"))
        try s.write("station2.yaml", simStation(id: "station2") + "fixture: fixtures/other.yaml\n")
        let (_, report2) = s.load("station2.yaml")
        #expect(report2.errors.contains { $0.file == s.dir + "/parts/broken.yaml" && $0.line > 0 }, "\(report2)")
        #expect(!"\(report2)".contains("no part is loaded"), "\(report2)")

        // A fixture without any part named still gets the hint, located at a pin.
        try s.write("fixtures/nopart.yaml", fixture.replacingOccurrences(of: "id: buck_fixture", with: "id: nopart")
            .replacingOccurrences(of: "part: buck_3v3\n", with: ""))
        try s.write("station3.yaml", simStation(id: "station3") + "fixture: fixtures/nopart.yaml\n")
        let (_, report3) = s.load("station3.yaml")
        let hint = try #require(report3.warnings.first { $0.problem.contains("no part is loaded") }, "\(report3)")
        #expect(hint.file == s.dir + "/fixtures/nopart.yaml" && hint.line > 0, "\(hint)")
    }

    @Test func aFixtureThatFailsToParseShowsItsOwnError() throws {
        let s = try StationScratch()
        try s.write("fixtures/broken.yaml", "id: broken\nname: [unclosed\n")
        try s.write("station.yaml", simStation(id: "station") + "fixture: fixtures/broken.yaml\n")
        let (_, report) = s.load("station.yaml")
        #expect(report.errors.count == 1, "\(report)")
        #expect(report.errors.first.map { $0.file == s.dir + "/fixtures/broken.yaml" && $0.line > 0 } == true, "\(report)")
    }

    @Test func missingFilesAreReportedAtTheKeyThatNamesThem() throws {
        let s = try StationScratch()
        try s.write("station.yaml", simStation(id: "station") + "fixture: fixtures/none.yaml\npart: parts/none.yaml\n")
        let (_, report) = s.load("station.yaml")
        let station = s.dir + "/station.yaml"
        let fixture = try #require(report.errors.first { $0.problem.contains("fixtures/none.yaml") }, "\(report)")
        #expect(fixture.file == station && fixture.line == 8 && fixture.column == 10, "\(fixture)")
        #expect(fixture.problem.contains("no such file"), "\(fixture)")
        let part = try #require(report.errors.first { $0.problem.contains("parts/none.yaml") }, "\(report)")
        #expect(part.file == station && part.line == 9 && part.column == 7, "\(part)")

        // A part's missing base, and the fixture's part id, are located too.
        try s.write("parts/child.yaml", "id: child\nname: Child\nbase: nobase\n")
        let reader = ConfigReader(environment: [:])
        _ = PartLoader.load(path: s.dir + "/parts/child.yaml", reader: reader)
        #expect(reader.report.errors.count == 1)
        #expect(reader.report.errors.allSatisfy { $0.line == 3 && $0.column == 7 }, "\(reader.report)")
    }
}
