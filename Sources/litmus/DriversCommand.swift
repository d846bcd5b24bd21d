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
                let conflicts: [[String: Any]] = registry.schemeConflicts.map {
                    ["scheme": $0.scheme, "drivers": $0.drivers, "preferred": $0.preferred ?? NSNull(), "reason": $0.reason]
                }
                let data = try JSONSerialization.data(
                    withJSONObject: ["drivers": rows, "problems": problems, "scheme_conflicts": conflicts],
                    options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            if drivers.isEmpty {
                print("No driver plugins found. Searched: \(DriverRegistry.searchPath(extra: search.pluginPaths).joined(separator: ":"))")
            } else {
                let rows = drivers.map {
                    [$0.id, $0.version, $0.vendor, $0.schemes.joined(separator: ","), "\($0.operations.count)", $0.pluginPath]
                }
                print(TextTable.render(header: ["DRIVER", "VERSION", "VENDOR", "SCHEMES", "OPS", "FILE"], rows: rows))
            }
            for c in registry.schemeConflicts {
                let others = c.drivers.filter { $0 != c.preferred }
                if let preferred = c.preferred {
                    print(
                        "scheme \(c.scheme) is claimed by \(c.drivers.joined(separator: ", ")): its resources open with \(preferred) "
                            + "(\(c.reason)); a station role names `driver: \(others.joined(separator: "|"))` to use "
                            + "\(others.count == 1 ? "the other" : "another")")
                } else {
                    print(
                        "scheme \(c.scheme) is claimed by \(c.drivers.joined(separator: ", ")) and none has priority: every role "
                            + "with a \(c.scheme) resource must name its driver (`driver:`), or set "
                            + "\(DriverRegistry.schemeDriversVariable)=\(c.scheme)=<driver id>")
                }
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
            abstract: "Conformance-check drivers: load, validate, identify, exercise operations safely, probe error paths.",
            discussion: """
                Each target is a plugin file (.so, or any path with a '/') or a driver id found on the plugin \
                search path. The check opens the driver's self-test resource, or --resource for the drivers \
                that claim its scheme. Operations flagged as writing run only with --allow-writes, and then \
                settings with a getter are put back and every output is left off; --read-only runs only \
                operations flagged as reading (no clear, trigger or profile init). An instrument's identity \
                comes from the driver's `identify` operation when it declares one, else *IDN?, and the reply \
                is judged (an error reply such as "E03 SYNTAX" fails). Error paths: a unit that is not \
                there, bad arguments, a read timeout, calls after close, a TCP peer that closes.
                Exits non-zero when any check fails. --json prints one JSON object for CI.
                """)
        @OptionGroup var search: SearchOptions
        @Argument(help: "Plugin files (.so) or driver ids to check.") var targets: [String]
        @Option(help: "Check on this resource instead of the self-test resource (e.g. TCPIP0::10.0.0.7::5025::SOCKET).")
        var resource: String?
        @Option(
            name: [.customShort("o"), .customLong("option")],
            help: ArgumentHelp("An open option for --resource, typed by the driver's declaration (repeatable).", valueName: "key=value"))
        var options: [String] = []
        @Option(help: "An instrument profile (.yaml) whose operations are checked over the driver's message interface.")
        var profile: String?
        @Flag(help: "Change nothing: run only operations flagged as reading; no clear, trigger or profile init.")
        var readOnly = false
        @Flag(help: "Also run operations flagged as writing (settings restored where a getter exists, outputs left off).")
        var allowWrites = false
        @Flag(help: "Print one JSON object: {\"passed\", \"mode\", \"reports\": [{path, passed, counts, checks}]}.")
        var json = false

        func validate() throws {
            if targets.isEmpty {
                throw ValidationError("name at least one plugin file or driver id, e.g. .build/debug/liblitmus-mock.so or lan")
            }
            if readOnly && allowWrites { throw ValidationError("--read-only and --allow-writes exclude each other; choose one") }
        }

        func run() throws {
            SignalCleanup.install()  // Ctrl-C during a check: the self-test sessions are interrupted and closed
            var settings = ConformanceCheck.Options(mode: readOnly ? .readOnly : allowWrites ? .allowWrites : .noWrites)
            settings.resource = resource
            if let profile {
                let reader = ConfigReader()
                guard let loaded = InstrumentProfile.load(path: profile, reader: reader) else {
                    for e in reader.report.errors { printError("error: \(e)") }
                    throw ExitCode.failure
                }
                for e in reader.report.errors { printError("error: \(e)") }
                if !reader.report.errors.isEmpty { throw ExitCode.failure }
                settings.profile = loaded
            }
            var registry: DriverRegistry?
            var reports: [ConformanceCheck.Report] = []
            for target in targets {
                if target.contains("/") || target.hasSuffix(".so") || target.hasSuffix(".dylib") {
                    if !options.isEmpty, let resource {
                        // Open options are typed by the driver, known once the file is loaded.
                        let probe = DriverRegistry()
                        if let plugin = try? probe.loadPlugin(at: target),
                            let d = plugin.drivers.first(where: { ConformanceCheck.claims($0, resource) })
                        {
                            settings.openOptions = try parseOptions(d)
                        }
                    }
                    reports.append(ConformanceCheck.run(pluginAt: target, options: settings))
                    continue
                }
                if registry == nil { registry = search.loadRegistry() }
                let driver: DriverInfo
                do {
                    driver = try registry!.driver(id: target)
                } catch {
                    printError("error: \(error)")
                    throw ExitCode.failure
                }
                if resource != nil { settings.openOptions = try parseOptions(driver) }
                reports.append(ConformanceCheck.run(driver: driver, registry: registry!, options: settings))
            }
            let passed = reports.allSatisfy(\.passed)
            if json {
                print("{\"passed\":\(passed),\"mode\":\"\(settings.mode.rawValue)\",\"reports\":[\(reports.map { $0.json() }.joined(separator: ","))]}")
            } else {
                for report in reports { print(report.rendered(color: isatty(STDOUT_FILENO) != 0)) }
            }
            if !passed { throw ExitCode.failure }
        }

        private func parseOptions(_ driver: DriverInfo) throws -> [String: InstrumentValue] {
            do {
                return try OpenOptions.parse(options, driver: driver)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
