import ArgumentParser
import Foundation
import Litmus
import LitmusAnalytics

/// `litmus runs rejudge --part <file>`
struct RejudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rejudge",
        abstract: "What-if verdicts of stored runs against another revision of a part (spec).",
        discussion: """
            Every measurement whose limit came from a part characteristic gets the limit the given part file \
            sets under the same stimulus conditions (the vector's in_* values), with the guardband given, and \
            is judged again. Prints the boards and runs whose verdict would change and the yield before and \
            after. Stored run files are only read; --out writes the result (JSON) to a new file.
            """)

    @OptionGroup var data: DataDirOption
    @Option(help: "The part file of the new spec revision (parts/<id>.yaml; base: inheritance is resolved).") var part: String
    @Option(help: "Guardband in percent applied to the new spec's limits (default 0).") var guardband: Double = 0
    @Option(help: "Only runs of this station id.") var station: String?
    @Option(help: "Only DUT serials matching this shell pattern.") var serial: String?
    @Flag(help: "Print JSON instead of tables.") var json = false
    @Option(help: "Write the result as JSON to this new file (never replaces an existing file).") var out: String?

    func run() throws {
        let loaded: Part
        do {
            loaded = try PartLoader.load(path: part).0
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let result: RunRejudge.Result
        do {
            let lake = try RunLake(root: data.path)
            result = try RunRejudge.run(lake: lake, part: loaded, guardbandPct: guardband, filter: MetricsFilter(station: station, serial: serial))
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        if let out {
            guard !FileManager.default.fileExists(atPath: out) else {
                printError("error: \(out) exists; rejudge never replaces a file. Fix: give a new file name")
                throw ExitCode.failure
            }
            guard FileManager.default.createFile(atPath: out, contents: Data(result.json().utf8)) else {
                printError("error: cannot write \(out)")
                throw ExitCode.failure
            }
        }
        print(json ? result.json() : result.text())
        if let out, !json { print("result: \(out)") }
    }
}
