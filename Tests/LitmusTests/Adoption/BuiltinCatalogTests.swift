import Foundation
import Testing

@testable import Litmus

/// Issue 15 item 2: the shipped instrument profiles and simulated-device files are referenced by
/// name from any project (no path into the Litmus checkout), the project's own files taking
/// precedence, and `litmus station check` says where each came from.
@Suite struct BuiltinCatalogTests {
    /// A project folder in the scratch directory: a station and nothing else unless written.
    struct Project {
        let dir: String

        init(_ name: String = #function) throws {
            dir = TestPlugins.scratch + "/catalog-\(name.filter { $0.isLetter })-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }

        @discardableResult
        func write(_ name: String, _ text: String) throws -> String {
            let path = dir + "/" + name
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func load(_ station: String = "bench.yaml") -> (StationConfiguration?, ConfigReport) {
            StationConfiguration.load(station: dir + "/" + station, registry: TestPlugins.registry, environment: [:])
        }
    }

    /// A station whose dmm names its profile and its device file by name only.
    static let station = """
        name: Bench by names
        instruments:
          dmm:
            resource: "SIM::dmm::INSTR"
            profile: generic_scpi_dmm
            options: {description: bench_devices}

        """

    static let shipped = TestPlugins.packageRoot + "/stations"

    @Test func namesResolveToTheShippedFilesFromAnEmptyProject() throws {
        // Before: "no instrument profile "generic_scpi_dmm" in <project>/profiles", and the sim
        // driver was handed the relative path "bench_devices".
        let p = try Project()
        try p.write("bench.yaml", Self.station)
        let (config, report) = p.load()
        #expect(report.errors.isEmpty, "\(report)")
        let entries = try #require(config?.catalogEntries)
        #expect(entries.map(\.kind) == [.profile, .simulatedDevices])
        #expect(entries.allSatisfy { $0.origin == .builtin })
        #expect(entries.first?.path == Self.shipped + "/profiles/generic_scpi_dmm.yaml")
        #expect(entries.last?.path == Self.shipped + "/sim/bench_devices.yaml")
        #expect(config?.role("dmm")?.options["description"] == .string(Self.shipped + "/sim/bench_devices.yaml"))

        // The role opens on the shipped device through the shipped profile.
        let bench = try config!.open(.init(locks: nil))
        defer { bench.close() }
        let volts = try bench.instrument("dmm").call("measure_dc_voltage").doubleValue
        #expect(volts == 3.3012)
    }

    @Test func theProjectsOwnFilesWin() throws {
        let p = try Project()
        try p.write("bench.yaml", Self.station)
        // The project's dmm profile: the shipped one under another display name; its device file
        // answers another reading.
        let profile = try String(contentsOfFile: Self.shipped + "/profiles/generic_scpi_dmm.yaml", encoding: .utf8)
        try p.write("profiles/generic_scpi_dmm.yaml", profile.replacingOccurrences(
            of: "name: Generic SCPI digital multimeter", with: "name: Our own DMM profile"))
        let devices = try String(contentsOfFile: Self.shipped + "/sim/bench_devices.yaml", encoding: .utf8)
        try p.write("sim/bench_devices.yaml", devices.replacingOccurrences(of: "+3.30120000E+00", with: "+1.25000000E+00"))

        let (config, report) = p.load()
        #expect(report.errors.isEmpty, "\(report)")
        #expect(config?.profiles["generic_scpi_dmm"]?.name == "Our own DMM profile")
        #expect(config?.catalogEntries.map(\.origin) == [.project, .project])
        #expect(config?.catalogEntries.map(\.path) == [p.dir + "/profiles/generic_scpi_dmm.yaml", p.dir + "/sim/bench_devices.yaml"])
        let bench = try config!.open(.init(locks: nil))
        defer { bench.close() }
        #expect(try bench.instrument("dmm").call("measure_dc_voltage").doubleValue == 1.25)
    }

    @Test func unknownNamesAreLocatedWithTheNamesThereAre() throws {
        let p = try Project()
        try p.write(
            "bench.yaml",
            Self.station.replacingOccurrences(of: "profile: generic_scpi_dmm", with: "profile: generic_scpi_dm")
                .replacingOccurrences(of: "{description: bench_devices}", with: "{description: bench_device}"))
        let (_, report) = p.load()
        let profile = try #require(report.errors.first { $0.keyPath == "instruments.dmm.profile" }, "\(report)")
        #expect(profile.line == 5)
        #expect(profile.problem.contains("no instrument profile \"generic_scpi_dm\""))
        #expect(profile.problem.contains(Self.shipped + "/profiles"), "the search names the built-in directory: \(profile)")
        #expect(profile.fix.contains("did you mean \"generic_scpi_dmm\""), "\(profile)")

        // The profile failed, so the role is not resolved; name only the device file wrong.
        try p.write("bench2.yaml", Self.station.replacingOccurrences(of: "{description: bench_devices}", with: "{description: bench_device}"))
        let (_, report2) = p.load("bench2.yaml")
        let sim = try #require(report2.errors.first { $0.keyPath == "instruments.dmm.options.description" }, "\(report2)")
        #expect(sim.line == 6)
        #expect(sim.problem.contains("no simulated-device file \"bench_device\""), "\(sim)")
        #expect(sim.fix.contains("did you mean \"bench_devices\""), "\(sim)")
    }

    @Test func pathsAreStillPaths() throws {
        // A value with a slash or an extension is a path as before, not a name.
        #expect(!BuiltinCatalog.isName("sim/bench_devices.yaml"))
        #expect(!BuiltinCatalog.isName("bench_devices.yaml"))
        #expect(!BuiltinCatalog.isName(""))
        #expect(BuiltinCatalog.isName("bench_devices"))
        let p = try Project()
        try p.write("bench.yaml", Self.station.replacingOccurrences(
            of: "{description: bench_devices}", with: "{description: \"\(Self.shipped)/sim/bench_devices.yaml\"}"))
        let (config, report) = p.load()
        #expect(report.errors.isEmpty, "\(report)")
        #expect(config?.catalogEntries.map(\.kind) == [.profile], "only names are looked up")
    }

    @Test func stationCheckPrintsWhereEachFileCameFrom() throws {
        let p = try Project()
        try p.write("bench.yaml", Self.station)
        try p.write("sim/bench_devices.yaml", try String(contentsOfFile: Self.shipped + "/sim/bench_devices.yaml", encoding: .utf8))
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") }
        let r = try TestPlugins.run(
            TestPlugins.buildDirectory + "/litmus", ["station", "check", "bench.yaml", "--open", "--no-locks"],
            environment: environment, in: p.dir)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("profile generic_scpi_dmm: built-in \(Self.shipped)/profiles/generic_scpi_dmm.yaml"), "\(r.output)")
        #expect(r.output.contains("sim bench_devices: project \(p.dir)/sim/bench_devices.yaml"), "\(r.output)")
    }

    @Test func anInstalledCopyOfTheBuiltinsReplacesTheCheckouts() throws {
        // Binaries moved away from their sources: LITMUS_BUILTIN_DIR holds profiles/ and sim/.
        let p = try Project()
        try p.write("installed/profiles/generic_scpi_dmm.yaml", "name: Installed\noperations: {}\n")
        let found = BuiltinCatalog.find(.profile, name: "generic_scpi_dmm", projectDirectories: [p.dir + "/profiles"],
            environment: [BuiltinCatalog.directoryVariable: p.dir + "/installed"])
        #expect(found == BuiltinCatalog.Entry(kind: .profile, name: "generic_scpi_dmm", path: p.dir + "/installed/profiles/generic_scpi_dmm.yaml", origin: .builtin))
        #expect(BuiltinCatalog.find(.profile, name: "generic_scpi_psu", projectDirectories: [],
            environment: [BuiltinCatalog.directoryVariable: p.dir + "/installed"]) == nil)
        #expect(BuiltinCatalog.checkoutRoot == TestPlugins.packageRoot)
    }

    @Test func aTestBundleFindsPluginsBesideTheBundle() {
        #expect(DriverRegistry.buildDirectory(ofImage: "/p/.build/debug/XPackageTests.xctest/Contents/MacOS/XPackageTests") == "/p/.build/debug")
        #expect(DriverRegistry.buildDirectory(ofImage: "/p/.build/debug/XPackageTests.xctest") == "/p/.build/debug")
        #expect(DriverRegistry.buildDirectory(ofImage: "/usr/lib/libLitmus.so") == "/usr/lib")
        // Here the Litmus code is linked into the test binary itself: the same directory.
        #expect(System.imagePath() == System.executablePath())
    }
}
