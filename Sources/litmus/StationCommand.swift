import ArgumentParser
import Foundation
import Litmus

/// `litmus station check`
struct StationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "station",
        abstract: "Check station, fixture, part and instrument-profile files; open a bench.",
        subcommands: [Check.self, Init.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a station and its fixture, part and profiles; with --open, open every role.",
            discussion: """
                Every problem is printed as file:line:column: key.path: what is wrong. Fix: what to do.
                Exit status: 0 when the bench is usable, 1 when any error was found.
                Mock every role with --mock or LITMUS_MOCK=1.
                The station's plugin_paths are loaded only with --allow-station-plugins (or
                LITMUS_ALLOW_STATION_PLUGINS=1): a plugin runs code as soon as it is loaded.
                """)

        @Argument(help: "The station file, e.g. stations/bench_mock.yaml.") var station: String
        @Option(help: "A fixture file (default: the station's `fixture:`).") var fixture: String?
        @Option(help: "A part (product spec) file (default: the station's `part:`, else the fixture's part).") var part: String?
        @Flag(help: "Open every role: identify it, judge its calibration, print the roles.") var open = false
        @Flag(help: "Fail on identity mismatches and on calibration expired or due within 30 days.") var strict = false
        @Flag(help: "Mock every role.") var mock = false
        @Flag(help: "Take no cross-process resource locks when opening.") var noLocks = false
        @Option(name: .customLong("plugin-path"), help: "Extra plugin files or directories (repeatable).") var pluginPaths: [String] = []
        @Flag(help: "Load the plugin directories the station file names (plugin_paths): only for a station file you trust.")
        var allowStationPlugins = false

        func run() throws {
            let registry = DriverRegistry()
            registry.loadSearchPath(DriverRegistry.searchPath(extra: DriverRegistry.absolutePaths(pluginPaths)))
            let (config, report) = StationConfiguration.load(
                station: station, fixture: fixture, part: part, registry: registry,
                mock: .from(flag: mock), allowStationPlugins: allowStationPlugins)
            for e in report.errors { printError("error: \(e)") }
            for w in report.warnings { printError("warning: \(w)") }
            guard let config, report.errors.isEmpty else {
                printError("station check failed: \(report.errors.count) error\(report.errors.count == 1 ? "" : "s")")
                throw ExitCode.failure
            }
            let s = config.station
            print("station \(s.id): \(s.name)\(s.location.map { " (\($0))" } ?? "")")
            if let f = config.fixture {
                print("fixture \(f.id): \(f.sites.count) site\(f.sites.count == 1 ? "" : "s"), \(f.sites.map(\.connections.count).reduce(0, +)) connections")
            }
            if let p = config.part { print("part \(p.id): \(p.name), \(p.pins.count) pins, \(p.characteristics.count) characteristics") }
            // Where each file named by name came from: the project, LITMUS_PROFILE_PATH, or built in.
            for e in config.catalogEntries {
                print("\(e.kind.rawValue) \(e.name): \(e.origin == .builtin ? "built-in" : e.origin.rawValue) \(e.path)")
            }

            guard open else {
                print(TextTable.render(
                    header: ["ROLE", "DRIVER", "RESOURCE", "PROFILE", "MOCK", "OPS", "CHANNELS"],
                    rows: config.roles.map { r in
                        [r.role, r.driver?.id ?? "-", r.canonicalResource, r.profile?.id ?? "-", r.mocked ? "yes" : "no",
                         "\(r.operations.count)", channelText(r.channels, connections: config, role: r.role)]
                    }))
                print("ok: \(config.roles.count) role\(config.roles.count == 1 ? "" : "s") valid (not opened; add --open to open them)")
                return
            }
            let locks: ResourceLocks? = noLocks ? nil : ResourceLocks(directory: ResourceLocks.defaultDirectory())
            let bench: OpenStation
            SignalCleanup.install()  // Ctrl-C while opening: instruments interrupted and closed, exit 130
            do {
                bench = try config.open(.init(strict: strict, locks: locks))
            } catch {
                for w in error.report.warnings { printError("warning: \(w)") }
                printError("error: \(error)")
                throw ExitCode.failure
            }
            defer { bench.close() }
            for w in bench.report.warnings { printError("warning: \(w)") }
            print(TextTable.render(
                header: ["ROLE", "DRIVER", "RESOURCE", "IDENTITY", "CALIBRATION", "CHANNELS"],
                rows: bench.roles.map { r in
                    [r.role, r.resolved.mocked ? "mock (\(r.resolved.driver?.id ?? "profile"))" : (r.resolved.driver?.id ?? "-"),
                     r.resolved.canonicalResource, r.identity.map { "\($0)" } ?? "-", calibrationText(r.calibration),
                     channelText(r.resolved.channels, connections: config, role: r.role)]
                }))
            if bench.anyMocked {
                print(
                    "note: mocked roles: \(bench.mockedRoles.joined(separator: ", ")); a run on this bench that asks for test "
                        + "phase production records development instead (with a warning, and the requested phase in its "
                        + "metadata as \(RunIdentity.requestedPhaseKey)); every other phase is recorded as asked")
            }
            print("ok: \(bench.roles.count) role\(bench.roles.count == 1 ? "" : "s") opened and closed")
        }

        private func calibrationText(_ status: Calibration.Status) -> String {
            switch status {
            case .valid(let d): "ok (\(d) days left)"
            case .dueSoon(let d): "DUE in \(d) days"
            case .expired(let d): "EXPIRED \(d) days ago"
            case .unknown: "-"
            }
        }

        /// The channels the fixture wires on this role, else the valid ones.
        private func channelText(_ valid: [String]?, connections config: StationConfiguration, role: String) -> String {
            let used = (config.fixture?.sites ?? []).flatMap(\.connections).filter { $0.role == role }.compactMap(\.channel)
            if !used.isEmpty { return Array(Set(used)).sorted().joined(separator: ",") }
            return valid.map { $0.count > 6 ? "\($0.count) channels" : $0.joined(separator: ",") } ?? "-"
        }
    }
}
