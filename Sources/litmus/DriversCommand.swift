import ArgumentParser
import Foundation
import Litmus

/// `litmus drivers list | info | check`
struct DriversCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drivers",
        abstract: "List, describe and check instrument driver plugins.",
        subcommands: [List.self, Info.self, Check.self, DriversNewCommand.self])

    /// Where to look for plugins, shared by list and info.
    struct SearchOptions: ParsableArguments {
        @Option(
            name: .customLong("plugin-path"),
            help: "Extra plugin files or directories, searched after LITMUS_PLUGIN_PATH (repeatable).")
        var pluginPaths: [String] = []

        func loadRegistry() -> DriverRegistry {
            let registry = DriverRegistry()
            registry.loadSearchPath(DriverRegistry.searchPath(extra: DriverRegistry.absolutePaths(pluginPaths)))
            return registry
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the drivers found on the plugin search path.")
        @OptionGroup var search: SearchOptions
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() throws {
            let registry = search.loadRegistry()
            let drivers = registry.drivers
            if json {
                let rows: [[String: Any]] = drivers.map {
                    [
                        "id": $0.id, "name": $0.displayName, "version": $0.version, "vendor": $0.vendor,
                        "schemes": $0.schemes, "operations": $0.operations.map(\.name), "file": $0.pluginPath,
                        "abi_minor": $0.abiMinor,
                    ]
                }
                let problems = registry.diagnostics.map(\.description)
                let data = try JSONSerialization.data(
                    withJSONObject: ["drivers": rows, "problems": problems], options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            if drivers.isEmpty {
                print("No driver plugins found. Searched: \(DriverRegistry.searchPath(extra: search.pluginPaths).joined(separator: ":"))")
            } else {
                let rows = drivers.map {
                    [$0.id, $0.version, $0.vendor, $0.schemes.joined(separator: ","), "\($0.operations.count)", $0.pluginPath]
                }
                print(Table.render(header: ["DRIVER", "VERSION", "VENDOR", "SCHEMES", "OPS", "FILE"], rows: rows))
            }
            for problem in registry.diagnostics {
                printError("warning: \(problem)")
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe one driver: options and operations.")
        @OptionGroup var search: SearchOptions
        @Argument(help: "The driver id, e.g. mock.") var id: String

        func run() throws {
            let registry = search.loadRegistry()
            let d: DriverInfo
            do {
                d = try registry.driver(id: id)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            print("\(d.id) \(d.version): \(d.displayName)")
            print("  vendor:       \(d.vendor)")
            print("  file:         \(d.pluginPath) (plugin \(d.pluginName), ABI 1.\(d.abiMinor))")
            print("  schemes:      \(d.schemes.joined(separator: ", "))")
            print("  kind:         \(d.isMessageBased ? "message-based" : "operations only")\(d.isSimulated ? ", simulated" : "")")
            if !d.instrumentTypes.isEmpty { print("  types:        \(d.instrumentTypes.joined(separator: ", "))") }
            print("  supports:     \(d.supports)")
            if let t = d.readTermination { print("  read term:    \(t.debugDescription)") }
            if let t = d.writeTermination { print("  write term:   \(t.debugDescription)") }
            if let r = d.selfTestResource { print("  self-test:    \(r)") }
            print("  open options:")
            if d.openOptions.isEmpty { print("    (none)") }
            for o in d.openOptions { print("    \(o.signature)\(o.help.map { "  -- \($0)" } ?? "")") }
            print("  operations:")
            if d.operations.isEmpty { print("    (none)") }
            for op in d.operations {
                var flags: [String] = []
                if op.flags.contains(.reads) { flags.append("reads") }
                if op.flags.contains(.writes) { flags.append("writes") }
                if op.flags.contains(.slow) { flags.append("slow") }
                print("    \(op.signature)\(flags.isEmpty ? "" : " {\(flags.joined(separator: ","))}")\(op.help.map { "  -- \($0)" } ?? "")")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Conformance-check plugin files: load, validate, open the self-test resource, exercise operations.",
            discussion: "Exits non-zero when any check fails.")
        @Argument(help: "Plugin files (.so) to check.") var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("name at least one plugin file, e.g. .build/debug/liblitmus-mock.so") }
        }

        func run() throws {
            SignalCleanup.install()  // Ctrl-C during a check: the self-test sessions are interrupted and closed
            var failed = false
            for file in files {
                let report = ConformanceCheck.run(pluginAt: file)
                print(report.rendered(color: isatty(STDOUT_FILENO) != 0))
                if !report.passed { failed = true }
            }
            if failed { throw ExitCode.failure }
        }
    }
}

/// Plain-text tables for terminal output.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
