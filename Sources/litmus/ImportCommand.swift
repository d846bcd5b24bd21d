import ArgumentParser
import Foundation
import Litmus

/// `litmus import`: converts station, fixture, part and instrument files of the Python
/// original (litmus-test 0.3.x, TesterKit 0.6) into Litmus files, with a report of what did
/// not map.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert the Python original's station, fixture and part files into Litmus files.",
        discussion: """
            Reads the files named, and the YAML files under the folders named (stations/, \
            stations/types/, instruments/, fixtures/, parts/ as the original lays them out), and writes \
            <out>/<station>.yaml, <out>/fixtures/<id>.yaml and <out>/parts/<id>.yaml. Instrument files \
            are joined into the station role of the same name. Every key that has no Litmus \
            equivalent, and every value written another way, is reported as \
            file:line:column: key.path: why. Fix: what to do by hand; the report is also written to \
            <out>/import-report.txt. The stations written are then checked as litmus station check \
            checks them.

            Exit status: 0 when everything was converted (keys left out are reported, not errors), 1 \
            when a file could not be read or converted, or a result does not pass the check.
            """)

    @Argument(help: "Files or folders of the original project.") var paths: [String]
    @Option(help: "The folder to write the Litmus files into.") var out: String
    @Option(help: "Where the files come from: litmus-0.3 or testerkit (the same file formats; default: either).")
    var from: String?
    @Flag(help: "Replace files that exist in the output folder.") var force = false
    @OptionGroup var search: DriversCommand.SearchOptions

    func run() throws {
        var source: LegacyImporter.Source?
        if let from {
            guard let s = LegacyImporter.Source(rawValue: from) else {
                printError("error: --from \(from): unknown source. Fix: write --from litmus-0.3 or --from testerkit")
                throw ExitCode.failure
            }
            source = s
        }
        let result = LegacyImporter.convert(paths: paths, from: source)
        let outDir = DriverRegistry.absolutePaths([out])[0]
        let existing = result.outputs.map { "\(outDir)/\($0.path)" }.filter { FileManager.default.fileExists(atPath: $0) }
        if !existing.isEmpty, !force {
            printError("error: these files exist; nothing was written: \(existing.joined(separator: ", ")). Fix: choose another --out, or add --force")
            throw ExitCode.failure
        }
        for output in result.outputs {
            let path = "\(outDir)/\(output.path)"
            do {
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try output.text.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                printError("error: cannot write \(path): \(error.localizedDescription)")
                throw ExitCode.failure
            }
            print("wrote \(out)/\(output.path) (\(output.kind.rawValue), from \(output.source))")
        }
        let report = result.report
        let reportText = report.text
        if !result.outputs.isEmpty || !reportText.isEmpty {
            try? FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
            try? (reportText.isEmpty ? "everything mapped\n" : reportText + "\n").write(
                toFile: "\(outDir)/import-report.txt", atomically: true, encoding: .utf8)
        }
        if !reportText.isEmpty { print(reportText) }

        var failed = !report.errors.isEmpty
        let registry = search.loadRegistry()
        for output in result.outputs where output.kind == .station {
            let path = "\(outDir)/\(output.path)"
            let (_, check) = StationConfiguration.load(station: path, registry: registry)
            for w in check.warnings { printError("warning: \(w)") }
            for e in check.errors { printError("error: \(e)") }
            if check.errors.isEmpty {
                print("checked \(out)/\(output.path): ok")
            } else {
                failed = true
            }
        }
        print(
            "imported \(result.outputs.count) file\(result.outputs.count == 1 ? "" : "s"); \(report.unmapped.count) key"
                + "\(report.unmapped.count == 1 ? "" : "s") not imported, \(report.changed.count) changed, "
                + "\(report.errors.count) error\(report.errors.count == 1 ? "" : "s") (report: \(out)/import-report.txt)")
        if failed { throw ExitCode.failure }
    }
}
