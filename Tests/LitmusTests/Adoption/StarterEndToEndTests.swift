import Foundation
import Testing

@testable import Litmus

/// Issue 15 "Done when": `litmus init <tmp> --starter && cd <tmp> && swift test` passes with no
/// Litmus environment set (the dependency by path to this checkout), then `litmus new-test`
/// adds a test that runs. A real SwiftPM build of a new package (minutes on a cold cache): the
/// plugin the bench needs is built by the package itself and found beside its test binary, the
/// profiles and simulated devices come from Litmus by name, and the run's Parquet file is read
/// back with pyarrow.
@Suite struct StarterEndToEndTests {
    /// Removes `dir` and the lock files SwiftPM leaves in the temporary directory for it.
    static func remove(_ dir: String) {
        try? FileManager.default.removeItem(atPath: dir)
        let tmp = FileManager.default.temporaryDirectory.path
        let tag = (dir as NSString).lastPathComponent
        for name in System.directoryEntries(tmp) where name.hasPrefix("_") && name.contains(tag) && name.hasSuffix(".lock") {
            try? FileManager.default.removeItem(atPath: tmp + "/" + name)
        }
    }

    @Test func initStarterThenSwiftTestPassesWithNoEnvironment() async throws {
        let parent = FileManager.default.temporaryDirectory
            .appendingPathComponent("litmus-starter-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let dir = parent + "/board"
        defer { Self.remove(parent) }
        // No Litmus setting at all, except a lock directory of its own: resource locks are
        // machine-wide, and other tests may hold the simulated bench's resources meanwhile.
        var environment = StarterTests.cleanEnvironment
        environment["LITMUS_LOCK_DIR"] = parent + "/locks"

        #expect(try StarterTests.litmus(["init", dir, "--starter"]).status == 0)
        let added = try StarterTests.litmus(["new-test", "PowerTests"], in: dir)
        #expect(added.status == 0, "\(added.output)")

        let test = try await TestPlugins.runOffPool("/usr/bin/env", ["swift", "test"], environment: environment, in: dir)
        #expect(test.status == 0, "\(test.output)")
        #expect(test.output.contains("Suite BoardTests passed"), "\(test.output)")
        #expect(test.output.contains("Suite PowerTests passed"), "\(test.output)")
        #expect(!test.output.contains("no driver"), "\(test.output)")
        // The plugin is the package's own product, beside the test binary; not linked into it.
        let binDir = try TestPlugins.run("/usr/bin/env", ["swift", "build", "--show-bin-path"], environment: environment, in: dir).output
            .split(separator: "\n").last.map(String.init) ?? ""
        #expect(FileManager.default.fileExists(atPath: binDir + "/liblitmus-mock.so"), "\(binDir)")
        let needed = try TestPlugins.run("/usr/bin/env", ["readelf", "-d", binDir + "/boardPackageTests.xctest"]).output
        #expect(needed.contains("NEEDED") && !needed.contains("liblitmus"), "\(needed)")

        // The run's file, read back with pyarrow: every step, the measurements judged.
        let program = """
            import glob, json, sys, pyarrow.parquet as pq
            files = glob.glob(sys.argv[1] + "/data/runs/**/*.parquet", recursive=True)
            assert len(files) == 1, files
            t = pq.read_table(files[0]).to_pylist()
            steps = sorted(r["step_name"] for r in t if r["record_type"] == "step")
            ms = [[r["measurement_name"], r["measurement_outcome"], r["limit_low"], r["limit_high"]] for r in t if r["record_type"] == "measurement"]
            runs = [[r["run_outcome"], r["dut_serial"]] for r in t if r["record_type"] == "run"]
            print(json.dumps({"steps": steps, "measurements": ms, "runs": runs}))
            """
        let data = try #require(try TestPython.json(program, [dir]) as? [String: Any])
        #expect(data["steps"] as? [String] == ["dmmReading", "outputVoltage", "powerOff", "powerOn", "quiescentCurrent"], "\(data)")
        let measurements = try #require(data["measurements"] as? [[Any]])
        #expect(measurements.count == 5, "vin, vout at 5 and 12 V, iq, the new test's reading: \(measurements)")
        #expect(measurements.allSatisfy { $0[1] as? String == "passed" }, "\(measurements)")
        let vout = measurements.filter { $0[0] as? String == "vout" }
        // The part's band: 3.3 V ± 2 %.
        #expect(vout.count == 2 && vout.allSatisfy { abs(($0[2] as! Double) - 3.234) < 1e-9 && abs(($0[3] as! Double) - 3.366) < 1e-9 }, "\(vout)")
        #expect((data["runs"] as? [[Any]])?.first?.first as? String == "passed", "\(data)")

        // The sequence file drives the sequenced suite of the same test binary.
        var sequenced = environment
        sequenced["LITMUS_SEQUENCE"] = "stations/sequences/board.yaml"
        sequenced["SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH"] = "64"
        let sequence = try TestPlugins.run(
            binDir + "/boardPackageTests.xctest", ["--testing-library", "swift-testing", "--filter", "BoardSequence"],
            environment: sequenced, in: dir)
        #expect(sequence.status == 0, "\(sequence.output)")
        #expect(sequence.output.contains("Suite BoardSequence passed"), "\(sequence.output)")
    }

    /// `--litmus-url`: SwiftPM refuses unsafe flags in a package used by URL ("the target
    /// 'LitmusMockDriver' in product 'LitmusMockDriver' contains unsafe build flags"), which the
    /// plugin targets had (`-z nodelete`). A tagged git copy of this checkout, used by file URL,
    /// must load as a dependency graph.
    @Test func aStarterDependingOnLitmusByURLLoads() throws {
        let parent = FileManager.default.temporaryDirectory
            .appendingPathComponent("litmus-url-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { Self.remove(parent) }
        let repo = parent + "/litmus"
        // The checkout's files as they are now (committed or not), in a repository of their own.
        let listed = try TestPlugins.run(
            "/usr/bin/env", ["git", "-C", TestPlugins.packageRoot, "ls-files", "--cached", "--others", "--exclude-standard"])
        #expect(listed.status == 0, "\(listed.output)")
        for file in listed.output.split(separator: "\n").map(String.init) where FileManager.default.fileExists(atPath: TestPlugins.packageRoot + "/" + file) {
            let target = repo + "/" + file
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: TestPlugins.packageRoot + "/" + file, toPath: target)
        }
        let git = ["-c", "user.name=t", "-c", "user.email=t@t", "-C", repo]
        for args in [["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"], ["tag", "0.1.0"]] {
            let r = try TestPlugins.run("/usr/bin/env", ["git"] + git + args)
            #expect(r.status == 0, "git \(args): \(r.output)")
        }
        let dir = parent + "/board"
        let made = try StarterTests.litmus(["init", dir, "--starter", "--litmus-url", "file://" + repo, "--litmus-version", "0.1.0"])
        #expect(made.status == 0, "\(made.output)")
        let graph = try TestPlugins.run(
            "/usr/bin/env", ["swift", "package", "show-dependencies"], environment: StarterTests.cleanEnvironment, in: dir)
        #expect(graph.status == 0 && !graph.output.contains("error"), "\(graph.output)")
        #expect(graph.output.contains("@0.1.0"), "\(graph.output)")
    }
}
