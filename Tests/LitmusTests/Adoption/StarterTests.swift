import Foundation
import Testing

@testable import Litmus

/// Issue 15 item 1, the fast part: what `litmus init` and `litmus new-test` write, that the bench
/// they write passes the real `litmus station check`, and that they never overwrite a file. The
/// package is built and tested by ``StarterEndToEndTests``.
@Suite struct StarterTests {
    static let litmus = TestPlugins.buildDirectory + "/litmus"

    /// The environment of a new user: nothing of Litmus set.
    static var cleanEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") }
    }

    /// Runs `litmus` with `arguments` in `directory`, with the clean environment.
    static func litmus(_ arguments: [String], in directory: String = TestPlugins.scratch) throws -> (status: Int32, output: String) {
        try TestPlugins.run(litmus, arguments, environment: cleanEnvironment, in: directory)
    }

    /// A directory that does not exist yet, in the scratch directory.
    static func newDirectory(_ name: String = #function) -> String {
        TestPlugins.scratch + "/starter-\(name.filter { $0.isLetter })-\(UInt32.random(in: 0...UInt32.max))/board"
    }

    @Test func initStarterWritesAPackageOnThisCheckoutWhoseBenchChecks() throws {
        let dir = Self.newDirectory()
        let r = try Self.litmus(["init", dir, "--starter"])
        #expect(r.status == 0, "\(r.output)")
        for file in [
            "Package.swift", ".gitignore", "README.md", "Plugins/mock/MockPlugin.swift", "stations/bench.yaml",
            "stations/fixtures/board_fixture.yaml", "stations/parts/board.yaml", "stations/sequences/board.yaml",
            "Tests/BoardTests/BoardTests.swift", "Tests/BoardTests/BoardTests.litmus.yaml", "Tests/BoardTests/BoardSequence.swift",
        ] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file) missing")
        }
        // By default the package depends on the checkout the litmus binary was built from.
        let manifest = try String(contentsOfFile: dir + "/Package.swift", encoding: .utf8)
        #expect(manifest.contains(".package(path: \"\(TestPlugins.packageRoot)\")"), "\(manifest)")
        let identity = (TestPlugins.packageRoot as NSString).lastPathComponent.lowercased()
        #expect(manifest.contains(".product(name: \"LitmusTesting\", package: \"\(identity)\")"), "\(manifest)")
        let ignore = try String(contentsOfFile: dir + "/.gitignore", encoding: .utf8)
        #expect(ignore.contains(".build/") && ignore.contains("Package.resolved"))

        // The bench, fixture and part pass the real check, opened, with the built-in profiles and
        // simulated devices named by name, and say where those came from.
        let check = try Self.litmus(["station", "check", "stations/bench.yaml", "--open", "--no-locks"], in: dir)
        #expect(check.status == 0, "\(check.output)")
        #expect(!check.output.contains("warning"), "\(check.output)")
        #expect(check.output.contains("fixture board_fixture: 1 site, 3 connections"), "\(check.output)")
        #expect(check.output.contains("profile generic_scpi_psu: built-in \(TestPlugins.packageRoot)/stations/profiles/generic_scpi_psu.yaml"), "\(check.output)")
        #expect(check.output.contains("sim bench_devices: built-in \(TestPlugins.packageRoot)/stations/sim/bench_devices.yaml"), "\(check.output)")
    }

    @Test func initWithoutStarterWritesOneTestOnTheBench() throws {
        let dir = Self.newDirectory()
        let r = try Self.litmus(["init", dir])
        #expect(r.status == 0, "\(r.output)")
        #expect(FileManager.default.fileExists(atPath: dir + "/Tests/BoardTests/FirstTests.swift"))
        #expect(FileManager.default.fileExists(atPath: dir + "/Tests/BoardTests/FirstTests.litmus.yaml"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/stations/parts"))
        let check = try Self.litmus(["station", "check", "stations/bench.yaml", "--open", "--no-locks"], in: dir)
        #expect(check.status == 0, "\(check.output)")
    }

    @Test func initRefusesToOverwriteAndWritesNothing() throws {
        let dir = Self.newDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/stations", withIntermediateDirectories: true)
        try "mine\n".write(toFile: dir + "/README.md", atomically: true, encoding: .utf8)
        try "mine\n".write(toFile: dir + "/stations/bench.yaml", atomically: true, encoding: .utf8)
        let r = try Self.litmus(["init", dir, "--starter"])
        #expect(r.status != 0)
        #expect(r.output.contains("would overwrite \(dir)/README.md, \(dir)/stations/bench.yaml; nothing was written"), "\(r.output)")
        #expect(r.output.contains("Fix: move those files away, or choose another directory"), "\(r.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/Package.swift"))
        #expect(try String(contentsOfFile: dir + "/README.md", encoding: .utf8) == "mine\n")

        // A directory that exists with other files (a fresh git repository) is fine.
        let other = Self.newDirectory()
        try FileManager.default.createDirectory(atPath: other + "/.git", withIntermediateDirectories: true)
        #expect(try Self.litmus(["init", other]).status == 0)
    }

    @Test func newTestAddsASuiteAndRefusesToOverwrite() throws {
        let dir = Self.newDirectory()
        #expect(try Self.litmus(["init", dir, "--starter"]).status == 0)
        let r = try Self.litmus(["new-test", "PowerTests"], in: dir)
        #expect(r.status == 0, "\(r.output)")
        let swift = try String(contentsOfFile: dir + "/Tests/BoardTests/PowerTests.swift", encoding: .utf8)
        #expect(swift.contains("struct PowerTests"))
        #expect(swift.contains(".litmusStation(\"stations/bench.yaml\""))
        #expect(FileManager.default.fileExists(atPath: dir + "/Tests/BoardTests/PowerTests.litmus.yaml"))

        let again = try Self.litmus(["new-test", "PowerTests"], in: dir)
        #expect(again.status != 0)
        #expect(again.output.contains("already declares PowerTests"), "\(again.output)")

        // Only the sidecar left: still refused, naming it.
        try FileManager.default.removeItem(atPath: dir + "/Tests/BoardTests/PowerTests.swift")
        let sidecar = try Self.litmus(["new-test", "PowerTests"], in: dir)
        #expect(sidecar.output.contains("would overwrite \(dir)/Tests/BoardTests/PowerTests.litmus.yaml; nothing was written"), "\(sidecar.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/Tests/BoardTests/PowerTests.swift"))

        // A type the target already has, a name that is no type name, no package.
        #expect(try Self.litmus(["new-test", "BoardTests"], in: dir).output.contains("BoardTests.swift already declares BoardTests"))
        let bad = try Self.litmus(["new-test", "power-tests"], in: dir)
        #expect(bad.status != 0 && bad.output.contains("\"power-tests\" is not a Swift type name"), "\(bad.output)")
        let outside = try Self.litmus(["new-test", "PowerTests"], in: (dir as NSString).deletingLastPathComponent)
        #expect(outside.status != 0 && outside.output.contains("has no Package.swift"), "\(outside.output)")
    }

    @Test func dependencyFlags() throws {
        let dir = Self.newDirectory()
        let r = try Self.litmus(["init", dir, "--litmus-url", "https://example.com/acme/litmus.git", "--litmus-version", "0.2.0"])
        #expect(r.status == 0, "\(r.output)")
        let manifest = try String(contentsOfFile: dir + "/Package.swift", encoding: .utf8)
        #expect(manifest.contains(".package(url: \"https://example.com/acme/litmus.git\", from: \"0.2.0\")"), "\(manifest)")
        #expect(manifest.contains("package: \"litmus\")"), "\(manifest)")

        let noVersion = try Self.litmus(["init", Self.newDirectory(), "--litmus-url", "https://example.com/litmus.git"])
        #expect(noVersion.status != 0 && noVersion.output.contains("--litmus-url needs --litmus-version"), "\(noVersion.output)")
        let notLitmus = try Self.litmus(["init", Self.newDirectory(), "--litmus-path", TestPlugins.scratch])
        #expect(notLitmus.status != 0 && notLitmus.output.contains("is not a Litmus checkout"), "\(notLitmus.output)")
        let both = try Self.litmus(["init", Self.newDirectory(), "--litmus-path", "/x", "--litmus-url", "u", "--litmus-version", "1.0.0"])
        #expect(both.status != 0 && both.output.contains("exclude each other"), "\(both.output)")
    }
}
