import ArgumentParser
import Foundation
import Litmus

/// `litmus events tail <session>`
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Read the event log.", subcommands: [Tail.self, Sessions.self])

    struct Sessions: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the sessions in the event log.")
        @OptionGroup var data: DataDirOption

        func run() throws {
            let sessions = EventReader(dataDir: data.path).sessions()
            if sessions.isEmpty { print("No sessions in \(data.path).") }
            for s in sessions {
                print("\(s.id.uuidString.lowercased())  \(s.dates.joined(separator: ","))  \(s.files.count) file(s)")
            }
        }
    }

    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a session's events as JSON Lines, merged across its writers.",
            discussion: "With --follow, keeps printing new events until interrupted.")
        @OptionGroup var data: DataDirOption
        @Argument(help: "The session id, or its first characters (at least 4).") var session: String
        @Flag(name: [.short, .long], help: "Keep printing events as they are written.") var follow = false
        @Option(name: [.short, .customLong("lines")], help: "Print only the last N events first.") var last: Int?

        func run() throws {
            let reader = EventReader(dataDir: data.path)
            let prefix = session.lowercased()
            let matches = reader.sessions().filter { $0.id.uuidString.lowercased().hasPrefix(prefix) }
            guard prefix.count >= 4, matches.count == 1 else {
                printError(
                    matches.isEmpty || prefix.count < 4
                        ? "error: no session matches '\(session)'; `litmus events sessions` lists them"
                        : "error: '\(session)' matches \(matches.count) sessions; give more of the id")
                throw ExitCode.failure
            }
            let id = matches[0].id
            var batch = try reader.tail(sessionID: id)
            let first = last.map { Array(batch.events.suffix(max(0, $0))) } ?? batch.events
            for event in first { print(EventCoding.line(event)) }
            for problem in batch.problems { printError("warning: \(problem)") }
            while follow {
                fflush(nil)
                usleep(200_000)
                batch = try reader.tail(sessionID: id, from: batch.position)
                for event in batch.events { print(EventCoding.line(event)) }
                for problem in batch.problems { printError("warning: \(problem)") }
            }
        }
    }
}
