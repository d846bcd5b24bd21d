import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prints an HTML file to PDF with headless Chromium (`--print-to-pdf`), the way a browser's
/// "Save as PDF" does: the report's print stylesheet applies, charts stay vector graphics.
///
/// Chromium is `$LITMUS_CHROMIUM`, else the first of `chromium`, `chromium-browser`,
/// `google-chrome`, `google-chrome-stable` on `PATH` (Debian: `apt-get install chromium`).
/// Each print gets a fresh profile directory (removed afterwards), so prints can run side by
/// side and never touch a user's browser profile. A print that takes longer than `timeout`
/// is killed.
///
/// ```swift
/// try ChromiumPrinter().printPDF(html: "run.html", to: "run.pdf")
/// ```
public struct ChromiumPrinter: Sendable {
    /// The Chromium executable.
    public var executable: String
    /// Seconds before a print is abandoned (its process group killed).
    public var timeout: Double

    /// Finds Chromium.
    ///
    /// - Throws: ``RunReportError`` naming what was looked for and how to install it.
    public init(timeout: Double = 120) throws {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["LITMUS_CHROMIUM"], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw RunReportError(
                    "LITMUS_CHROMIUM is \(explicit), which is not an executable file",
                    fix: "point LITMUS_CHROMIUM at the chromium binary, or unset it to look on PATH")
            }
            self.executable = explicit
        } else {
            let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
            let path = (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
            guard let found = names.lazy.flatMap({ name in path.map { "\($0)/\(name)" } })
                .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
            else {
                throw RunReportError(
                    "a PDF needs headless Chromium, and none was found on PATH (looked for \(names.joined(separator: ", ")))",
                    fix: "install it (Debian: apt-get install chromium) or set LITMUS_CHROMIUM to its path; --html alone needs no browser")
            }
            self.executable = found
        }
        self.timeout = timeout
    }

    /// Prints `html` (a file) to the PDF file `pdf`.
    ///
    /// - Throws: ``RunReportError`` when Chromium fails, times out or writes no PDF (with the
    ///   end of its output).
    public func printPDF(html: String, to pdf: String) throws {
        let htmlURL = URL(fileURLWithPath: html).standardizedFileURL
        let pdfPath = URL(fileURLWithPath: pdf).standardizedFileURL.path
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-pdf-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let log = work + "/chromium.log"
        let partial = pdfPath + ".partial-\(getpid())"
        var arguments = [
            executable, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-dev-shm-usage", "--user-data-dir=\(work)/profile",
            "--no-pdf-header-footer", "--print-to-pdf=\(partial)", htmlURL.absoluteString,
        ]
        // Chromium refuses to run as root with its sandbox on.
        if geteuid() == 0 { arguments.insert("--no-sandbox", at: 1) }
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(arguments, standardOutput: .file(log), newProcessGroup: true)
        } catch {
            throw RunReportError("cannot start \(executable): \(error)", fix: "check that Chromium runs: \(executable) --version")
        }
        let finished = DispatchSemaphore(value: 0)
        let timedOut = UncheckedFlag()
        let deadline = timeout
        Thread.detachNewThread {
            if finished.wait(timeout: .now() + deadline) == .timedOut {
                timedOut.set()
                kill(-pid, SIGKILL)
            }
        }
        let exit = ChildProcess.waitForExit(pid)
        finished.signal()
        // Chromium leaves helper processes behind in its group when it is killed.
        kill(-pid, SIGKILL)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let tail = output.split(separator: "\n").suffix(5).joined(separator: "\n")
        defer { try? FileManager.default.removeItem(atPath: partial) }
        if timedOut.isSet {
            throw RunReportError("Chromium did not finish printing \(html) within \(Int(timeout)) s", fix: "try again, or open the HTML and print it from a browser")
        }
        guard exit == .exited(0), let head = FileHandle(forReadingAtPath: partial)?.readData(ofLength: 5), head.starts(with: Array("%PDF-".utf8)) else {
            throw RunReportError(
                "Chromium (\(executable)) did not print \(html) to a PDF (\(exit))\(tail.isEmpty ? "" : ":\n" + tail)",
                fix: "check that Chromium runs headless: \(executable) --headless --no-sandbox --print-to-pdf=/tmp/t.pdf about:blank")
        }
        guard rename(partial, pdfPath) == 0 else {
            throw RunReportError("cannot write \(pdfPath): \(String(cString: strerror(errno)))", fix: "choose a writable path for --pdf")
        }
    }
}

/// A flag set from one thread and read from another.
final class UncheckedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
