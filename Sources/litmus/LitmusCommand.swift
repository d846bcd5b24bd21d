import ArgumentParser

/// The `litmus` command-line tool.
@main
struct LitmusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "litmus",
        abstract: "Litmus: hardware tests with instrument driver plugins, limits and traceable results.",
        version: "0.1.0",
        subcommands: [
            DriversCommand.self, DiscoverCommand.self, ScpiCommand.self, StationCommand.self, RunsCommand.self,
            RunsDaemonCommand.self, EventsCommand.self, RunCommand.self, SyncCommand.self,
        ])
}
