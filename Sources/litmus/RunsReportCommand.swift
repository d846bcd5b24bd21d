import ArgumentParser
import Foundation
import Litmus
import LitmusAnalytics

/// `litmus runs report <run> [--html <file>] [--pdf <file>]`
struct RunsReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a run's report: one self-contained HTML file with charts (and a PDF of it).",
        discussion: """
            The HTML has no external assets and needs no script: identity, verdict, steps, vectors and \
            measurements with limits, retries, traceability, mocks, the station inventory, a chart of each \
            measurement against its limits, and plots of the run's channel data. Without --html or --pdf it \
            is written to run-<id>.html. --pdf prints it with headless Chromium ($LITMUS_CHROMIUM, else \
            chromium on PATH).
            """)
    @OptionGroup var data: DataDirOption
    @Argument(help: "The run id, or its first characters (at least 4).") var runID: String
    @Option(help: "Write the HTML report to this file ('-' for standard output).") var html: String?
    @Option(help: "Write a PDF of the report to this file (needs Chromium).") var pdf: String?

    func run() throws {
        do {
            // Find the browser before the work, so a missing one is said first.
            let printer = try pdf.map { _ in try ChromiumPrinter() }
            let report = try RunReport.load(dataDir: data.path, runID: runID)
            let id8 = String(report.runID.prefix(8))
            let htmlPath = html ?? (pdf == nil ? "run-\(id8).html" : nil)
            if htmlPath == "-" {
                print(report.html(), terminator: "")
            } else if let htmlPath {
                try report.write(to: htmlPath)
                printError("wrote \(htmlPath)")
            }
            if let pdf, let printer {
                var source = htmlPath ?? "-"
                var scratch: String?
                if source == "-" {
                    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-report-\(UUID().uuidString).html").path
                    try report.write(to: scratch!)
                    source = scratch!
                }
                defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
                try printer.printPDF(html: source, to: pdf)
                printError("wrote \(pdf)")
            }
        } catch let error as RunReportError {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}
