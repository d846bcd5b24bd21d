import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// Plugins load only from places no one else can write, never from relative search entries,
/// and from a station file's plugin_paths only with an opt-in; every check happens before
/// `dlopen`, which would run the plugin's constructors. The fixture plugin (out_of_tree.c
/// with CONSTRUCTOR_MARKER) creates a marker file from its constructor: a refused plugin
/// must leave no marker.
@Suite struct PluginTrustTests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"

    /// A fresh directory in the trusted plugin scratch, mode 0755.
    func trustedDirectory(_ label: String) throws -> String {
        let dir = "\(TestPlugins.pluginScratch)/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(chmod(dir, 0o755) == 0)
        return dir
    }

    /// The marker plugin (driver oot-counter) copied to `directory/liblitmus-marker.so`, and
    /// the marker file its constructor creates.
    func markerPlugin(in directory: String, label: String) throws -> (plugin: String, marker: String) {
        let marker = "\(TestPlugins.pluginScratch)/marker-\(label)-\(UUID().uuidString.prefix(8))"
        let built = try TestPlugins.compile(
            "out_of_tree.c", defines: ["CONSTRUCTOR_MARKER=\"\(marker)\""], name: "liblitmus-marker-\(label)")
        let plugin = "\(directory)/liblitmus-marker.so"
        try FileManager.default.copyItem(atPath: built, toPath: plugin)
        #expect(chmod(plugin, 0o755) == 0)
        return (plugin, marker)
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    @Test func aPluginInAWorldWritableDirectoryIsRefusedBeforeItsConstructorRuns() throws {
        let dir = try trustedDirectory("open")
        let (plugin, marker) = try markerPlugin(in: dir, label: "open")
        #expect(chmod(dir, 0o777) == 0)

        // Scanning the directory: refused as a whole, nothing of it ran.
        let registry = DriverRegistry()
        registry.loadSearchPath([dir])
        let problem = try #require(registry.diagnostics.first)
        #expect(problem.code == .untrusted)
        #expect(problem.path == System.realPath(dir))
        #expect(problem.problem.contains("writable by every user (mode 777)"), "\(problem)")
        #expect(problem.fix.contains("chmod go-w \(System.realPath(dir)!)"), "\(problem)")
        #expect(registry.drivers.isEmpty)
        // Naming the file itself: refused too, for its directory.
        let error = try #require(throws: PluginLoadError.self) { try DriverRegistry().loadPlugin(at: plugin) }
        #expect(error.code == .untrusted)
        #expect(error.description.contains("the directory \(System.realPath(dir)!) above it is writable by every user"))
        #expect(!exists(marker), "the plugin's constructor ran although the plugin was refused")

        // The same file once the directory is safe: the constructor runs (the marker is real).
        #expect(chmod(dir, 0o755) == 0)
        let loaded = DriverRegistry()
        try loaded.loadPlugin(at: plugin)
        #expect(loaded.drivers.map(\.id) == ["oot-counter"])
        #expect(exists(marker))
    }

    @Test func aGroupWritableOrForeignPluginFileIsRefused() throws {
        let dir = try trustedDirectory("file")
        let (plugin, marker) = try markerPlugin(in: dir, label: "file")
        // Group 4321 is no one's private group.
        #expect(chown(plugin, geteuid(), 4321) == 0)
        #expect(chmod(plugin, 0o775) == 0)
        let writable = try #require(throws: PluginLoadError.self) { try DriverRegistry().loadPlugin(at: plugin) }
        #expect(writable.code == .untrusted)
        #expect(writable.problem.contains("the file is writable by its group (mode 775)"), "\(writable)")
        #expect(writable.fix.contains("chmod go-w \(System.realPath(plugin)!)"))

        // Owned by someone who is neither root nor this user.
        #expect(chmod(plugin, 0o755) == 0)
        #expect(chown(plugin, 4321, 4321) == 0)
        let foreign = try #require(throws: PluginLoadError.self) { try DriverRegistry().loadPlugin(at: plugin) }
        #expect(foreign.code == .untrusted)
        #expect(foreign.problem.contains("belongs to uid 4321, neither root nor this user"), "\(foreign)")
        #expect(!exists(marker))
    }

    @Test func groupWriteIsAcceptedOnlyForTheOwnersPrivateGroup() throws {
        // A group whose one member is the owner (umask 002 with per-user groups) writes
        // nothing another user could; a group with no member, or with others, is not private.
        let me = geteuid()
        let primary = try #require(getpwuid(me)).pointee.pw_gid
        var sharers: [uid_t] = []
        setpwent()
        while let entry = getpwent() { if entry.pointee.pw_gid == primary { sharers.append(entry.pointee.pw_uid) } }
        endpwent()
        let listed = getgrgid(primary)?.pointee.gr_mem?[0] != nil
        #expect(PluginTrust.isPrivateGroup(primary, of: me) == (sharers == [me] && !listed))
        #expect(!PluginTrust.isPrivateGroup(4321, of: me))  // no such group / no member
        if sharers == [me] && !listed {
            let dir = try trustedDirectory("private-group")
            let (plugin, marker) = try markerPlugin(in: dir, label: "private-group")
            #expect(chown(plugin, me, primary) == 0 && chmod(plugin, 0o775) == 0)
            #expect(chown(dir, me, primary) == 0 && chmod(dir, 0o775) == 0)
            try DriverRegistry().loadPlugin(at: plugin)
            #expect(exists(marker))
        }
    }

    @Test func aPrivateFolderInsideTheStickyTemporaryDirectoryIsSafeButTheDirectoryItselfIsNot() throws {
        // /tmp is sticky and world-writable: no one else can replace an entry of ours in it (so a
        // private folder inside it is safe, as a clone under /tmp must be), but anyone can add a
        // plugin to /tmp itself, so /tmp as a search directory is refused.
        let dir = "/tmp/litmus-plugin-trust-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(chmod(dir, 0o700) == 0)
        let (plugin, marker) = try markerPlugin(in: dir, label: "tmp")
        try DriverRegistry().loadPlugin(at: plugin)
        #expect(exists(marker))

        let registry = DriverRegistry()
        registry.loadSearchPath(["/tmp"])
        let refusal = try #require(registry.diagnostics.first { $0.code == .untrusted }, "\(registry.diagnostics)")
        #expect(refusal.problem.contains("is writable by every user (mode 1777)"), "\(refusal)")
        #expect(refusal.fix.hasPrefix("name a directory of your own inside /tmp"), "\(refusal)")
    }

    @Test func aWorldWritableFolderInsideTheTemporaryDirectoryIsRefused() throws {
        let dir = "/tmp/litmus-plugin-trust-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (plugin, marker) = try markerPlugin(in: dir, label: "tmp-open")
        #expect(chmod(dir, 0o777) == 0)
        let error = try #require(throws: PluginLoadError.self) { try DriverRegistry().loadPlugin(at: plugin) }
        #expect(error.code == .untrusted)
        #expect(error.problem.contains("is writable by every user (mode 777)"), "\(error)")
        #expect(!exists(marker))
    }

    @Test func aRelativeSearchEntryIsRefused() throws {
        let registry = DriverRegistry()
        registry.loadSearchPath(DriverRegistry.searchPath(environment: ["LITMUS_PLUGIN_PATH": ".:plugins"]))
        let relative = registry.diagnostics.filter { $0.code == .relativeSearchPath }
        #expect(relative.map(\.path) == [".", "plugins"])
        #expect(relative.first?.problem.contains("is relative") == true)
        #expect(relative.first?.fix.contains("LITMUS_PLUGIN_PATH=$PWD/") == true)
        #expect(DriverRegistry.absolutePaths(["a/b", "/c"], relativeTo: "/x") == ["/x/a/b", "/c"])
    }

    @Test func litmusWithPluginPathDotLoadsNothingFromTheCurrentDirectory() throws {
        // A directory that is itself safe: only the relative entry is refused.
        let dir = try trustedDirectory("cwd")
        let (_, marker) = try markerPlugin(in: dir, label: "cwd")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.litmus)
        process.arguments = ["drivers", "list"]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        var environment = ProcessInfo.processInfo.environment
        environment["LITMUS_PLUGIN_PATH"] = "."
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(output.contains("plugin search path entry '.' is relative"), "\(output)")
        #expect(!output.contains("oot-counter"), "\(output)")
        #expect(!exists(marker), "litmus ran a plugin of the current directory")
    }

    // MARK: Station plugin_paths

    /// A station whose plugin_paths names a directory holding the marker plugin.
    func stationWithPlugins(_ label: String) throws -> (station: String, marker: String) {
        let dir = try trustedDirectory("station-\(label)")
        try FileManager.default.createDirectory(atPath: dir + "/plugins", withIntermediateDirectories: true)
        #expect(chmod(dir + "/plugins", 0o755) == 0)
        let (_, marker) = try markerPlugin(in: dir + "/plugins", label: "station-\(label)")
        let station = dir + "/plugin_station.yaml"
        try """
            id: plugin_station
            name: "A station that names its own plugins"
            plugin_paths: [plugins]
            instruments:
              counter:
                resource: "OOT::counter::INSTR"
            """.write(toFile: station, atomically: true, encoding: .utf8)
        return (station, marker)
    }

    @Test func stationPluginPathsNeedAnOptIn() throws {
        let (station, marker) = try stationWithPlugins("api")
        let registry = DriverRegistry()
        let (_, report) = StationConfiguration.load(station: station, registry: registry, environment: [:])
        let warning = try #require(report.warnings.first { $0.keyPath == "plugin_paths" })
        #expect(warning.line == 3)
        #expect(warning.description.contains("not loaded without an opt-in"), "\(warning)")
        #expect(warning.description.contains("--allow-station-plugins"))
        #expect(warning.description.contains("LITMUS_ALLOW_STATION_PLUGINS=1"))
        #expect(!registry.drivers.contains { $0.id == "oot-counter" })
        #expect(!exists(marker))

        // Allowed by the environment variable.
        let allowed = DriverRegistry()
        let (config, second) = StationConfiguration.load(
            station: station, registry: allowed, environment: ["LITMUS_ALLOW_STATION_PLUGINS": "1"])
        #expect(!second.warnings.contains { $0.keyPath == "plugin_paths" }, "\(second)")
        #expect(config?.role("counter")?.driver?.id == "oot-counter", "\(second)")
        #expect(exists(marker))
    }

    @Test func stationCheckRunsNoPluginOfTheStationFileWithoutTheFlag() throws {
        let (station, marker) = try stationWithPlugins("cli")
        var environment = ProcessInfo.processInfo.environment
        environment["LITMUS_ALLOW_STATION_PLUGINS"] = nil
        let refused = try TestPlugins.run(Self.litmus, ["station", "check", station], environment: environment)
        #expect(refused.output.contains("plugin_paths: plugins named by a station file are not loaded"), "\(refused.output)")
        #expect(refused.output.contains("Fix: if you trust this station file, pass --allow-station-plugins"))
        #expect(!exists(marker), "station check ran a plugin the station file pointed at")

        let allowed = try TestPlugins.run(
            Self.litmus, ["station", "check", station, "--allow-station-plugins"], environment: environment)
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect(allowed.output.contains("oot-counter"), "\(allowed.output)")
        #expect(exists(marker))
    }
}
