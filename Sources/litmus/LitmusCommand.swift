import ArgumentParser
import Foundation
import Litmus

/// The `litmus` command-line tool.
@main
struct LitmusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "litmus",
        abstract: "Litmus: hardware tests with instrument driver plugins, limits and traceable results.",
        discussion: """
            Every command takes --log-level <levels>: a level for everything (trace, debug, info, \
            warning, error) and driver=level entries, comma-separated, e.g. --log-level \
            info,lan=debug,usbtmc=trace. It adds to the environment variable LITMUS_LOG (same \
            syntax), which child processes inherit. LITMUS_IO_TRACE=<file|stderr> traces every \
            instrument write and read.
            """,
        version: "0.1.0",
        subcommands: [
            DriversCommand.self, DiscoverCommand.self, ScpiCommand.self, StationCommand.self, RunsCommand.self,
            RunsDaemonCommand.self, EventsCommand.self, RunCommand.self, ImportCommand.self, InitCommand.self,
            NewTestCommand.self, ServeCommand.self, MetricsCommand.self, SyncCommand.self,
        ])

    /// Applies `--log-level` (anywhere before `--`, on every command) and `LITMUS_LOG`, then
    /// runs the command.
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        do {
            let spec = try LogLevelOption.extract(from: &arguments)
            LogLevelOption.apply(spec)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(64)
        }
        main(arguments)
    }
}

/// `--log-level`, taken out of the arguments before they are parsed, so every command has it.
enum LogLevelOption {
    /// Removes every `--log-level X` / `--log-level=X` before a `--` and returns the values,
    /// joined in order (a later entry wins).
    static func extract(from arguments: inout [String]) throws(LogLevelsError) -> String? {
        var values: [String] = []
        var kept: [String] = []
        var i = 0
        var passthrough = false
        while i < arguments.count {
            let a = arguments[i]
            if passthrough || a == "--" {
                passthrough = true
                kept.append(a)
            } else if a == "--log-level" {
                guard i + 1 < arguments.count else {
                    throw LogLevelsError(source: "--log-level", entry: "", problem: "the option needs a value")
                }
                values.append(arguments[i + 1])
                i += 1
            } else if a.hasPrefix("--log-level=") {
                values.append(String(a.dropFirst("--log-level=".count)))
            } else {
                kept.append(a)
            }
            i += 1
        }
        arguments = kept
        guard !values.isEmpty else { return nil }
        let spec = values.joined(separator: ",")
        _ = try LogLevels(parsing: spec, source: "--log-level")
        return spec
    }

    /// Puts `spec` over `LITMUS_LOG` (exported, so child processes log the same way) and
    /// sets the level of the host's own loggers.
    static func apply(_ spec: String?) {
        if let spec {
            let env = ProcessInfo.processInfo.environment[LogLevels.environmentVariable].map { $0 + "," } ?? ""
            setenv(LogLevels.environmentVariable, env + spec, 1)
            var levels = LogLevels.current
            try? levels.merge(spec, source: "--log-level")
            LogLevels.current = levels
        }
        LogLevels.bootstrapLogging()
    }
}
