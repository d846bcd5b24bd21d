import Foundation
import Testing

@testable import Litmus

/// `litmus drivers new` and the SDK, as a vendor uses them: generate a project with the real
/// `litmus` binary, build it out of tree (make + cc against the header installed by
/// `make install-sdk`, found with pkg-config; swift build against LitmusDriverKit by path),
/// load the plugin with the real loader and run `litmus drivers check` on it, against the fake
/// instrument on loopback.
@Suite(.timeLimit(.minutes(30)))
struct ScaffoldTests {
    static var litmus: String { TestPlugins.buildDirectory + "/litmus" }

    static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: DriverRegistry.pluginPathVariable)
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// A fresh directory the loader trusts (under the build directory, not /tmp).
    static func projectDirectory(_ name: String) -> String {
        "\(TestPlugins.pluginScratch)/\(name)-\(UUID().uuidString.prefix(8))"
    }

    /// Loads the built plugin with the real loader and calls its two operations over the host's transport.
    static func expectWorks(_ library: String, id: String, port: Int) throws {
        let registry = DriverRegistry()
        let plugin = try registry.loadPlugin(at: library)
        #expect(plugin.abiMinor == 2)
        let driver = try registry.driver(id: id)
        #expect(driver.selfTestResource == "\(id.uppercased())::TCPIP0::127.0.0.1::\(port)::SOCKET")
        let unit = try registry.open(driver.selfTestResource!, driver: id)
        defer { unit.close() }
        #expect(try unit.call("identify") == .string("Litmus,FakeInstrument,SCAF1,1.0"))
        #expect(try unit.call("measure_voltage") == .f64(5.0012))
    }

    /// `litmus drivers check <library>` in a child process: it passes, saying so.
    static func expectCheckPasses(_ library: String) throws {
        let check = try TestPlugins.run(Self.litmus, ["drivers", "check", library], environment: environment([:]))
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("Verdict: PASS"), "\(check.output)")
        #expect(check.output.contains("PASS  identify (the driver's identify operation)"), "\(check.output)")
    }

    @Test func aGeneratedCDriverBuildsOutOfTreeWithTheInstalledSDKAndPassesTheCheck() throws {
        let server = try FakeServer("socket", ["--serial", "SCAF1"])
        defer { server.stop() }
        let sdk = "\(TestPlugins.scratch)/sdk-\(UUID().uuidString.prefix(8))"
        let install = try TestPlugins.run(
            "/usr/bin/env", ["make", "-s", "-C", TestPlugins.packageRoot, "install-sdk", "PREFIX=\(sdk)"])
        #expect(install.status == 0, "\(install.output)")
        #expect(FileManager.default.fileExists(atPath: "\(sdk)/include/litmus/litmus_driver.h"))
        let pc = try String(contentsOfFile: "\(sdk)/lib/pkgconfig/litmus-driver.pc", encoding: .utf8)
        #expect(pc.contains("Version: 1.2.0"), "\(pc)")

        let dir = Self.projectDirectory("acme-psu")
        let resource = "TCPIP0::127.0.0.1::\(server.port)::SOCKET"
        let generated = try TestPlugins.run(
            Self.litmus, ["drivers", "new", "acme-psu", "--lang", "c", "--dir", dir, "--resource", resource])
        #expect(generated.status == 0, "\(generated.output)")

        // Without the SDK on the pkg-config path, make says what to do.
        let missing = try TestPlugins.run(
            "/usr/bin/env", ["make", "-C", dir], environment: Self.environment(["PKG_CONFIG_PATH": "/nonexistent"]))
        #expect(missing.status != 0)
        #expect(missing.output.contains("litmus-driver.pc not found"), "\(missing.output)")

        let built = try TestPlugins.run(
            "/usr/bin/env", ["make", "-C", dir], environment: Self.environment(["PKG_CONFIG_PATH": "\(sdk)/lib/pkgconfig"]))
        #expect(built.status == 0, "\(built.output)")
        #expect(!built.output.contains("warning"), "\(built.output)")
        let library = "\(dir)/liblitmus-acme-psu.so"
        try Self.expectWorks(library, id: "acme-psu", port: server.port)
        try Self.expectCheckPasses(library)
    }

    @Test func aGeneratedSwiftDriverBuildsAgainstLitmusDriverKitByPathAndPassesTheCheck() async throws {
        let server = try FakeServer("socket", ["--serial", "SCAF1"])
        defer { server.stop() }
        let dir = Self.projectDirectory("acme-meter")
        let resource = "TCPIP0::127.0.0.1::\(server.port)::SOCKET"
        let generated = try TestPlugins.run(
            Self.litmus,
            ["drivers", "new", "acme-meter", "--lang", "swift", "--dir", dir, "--resource", resource, "--litmus-path", TestPlugins.packageRoot])
        #expect(generated.status == 0, "\(generated.output)")
        let manifest = try String(contentsOfFile: "\(dir)/Package.swift", encoding: .utf8)
        #expect(manifest.contains(".package(path: \"\(TestPlugins.packageRoot)\")"), "\(manifest)")

        // An outside package: its own .build, LitmusDriverKit compiled from the checkout by path.
        let built = try await TestPlugins.runOffPool("/usr/bin/env", ["swift", "build"], environment: Self.environment([:]), in: dir)
        #expect(built.status == 0, "\(built.output)")
        let library = "\(dir)/.build/debug/liblitmus-acme-meter.so"
        try Self.expectWorks(library, id: "acme-meter", port: server.port)
        try Self.expectCheckPasses(library)
    }

    @Test func driversNewRefusesABadIdAndAProjectDirectoryInUse() throws {
        let bad = try TestPlugins.run(Self.litmus, ["drivers", "new", "Acme_PSU", "--dir", Self.projectDirectory("bad")])
        #expect(bad.status != 0)
        #expect(bad.output.contains("'Acme_PSU' is not a driver id. Fix:"), "\(bad.output)")

        let dir = Self.projectDirectory("used")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/notes.txt"))
        let used = try TestPlugins.run(Self.litmus, ["drivers", "new", "acme-psu", "--dir", dir])
        #expect(used.status != 0)
        #expect(used.output.contains("exists and is not empty. Fix:"), "\(used.output)")
        #expect(try String(contentsOfFile: "\(dir)/notes.txt", encoding: .utf8) == "keep me\n")
    }
}
