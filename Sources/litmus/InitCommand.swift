import ArgumentParser
import Foundation
import Litmus

/// `litmus init <dir> [--starter]`: a Swift package of hardware tests that depends on Litmus.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a Swift package of hardware tests on Litmus, with a mock bench; `swift test` passes in it at once.",
        discussion: """
            The package depends on Litmus by the path of the checkout this litmus binary was built
            from, or of --litmus-path; by URL and version with --litmus-url and --litmus-version.
            Without --starter: the package, a mock bench (stations/bench.yaml) and one test. With
            --starter: also a fixture, a part, a sequence and the board's tests. Existing files are
            never overwritten: if any file it would write exists, nothing is written.
            """)

    @Argument(help: "The package directory (created if missing; its name is the package's).") var directory: String
    @Flag(help: "Add the worked example: fixture, part, sequence and board tests with a sidecar.") var starter = false
    @Option(help: "Depend on the Litmus checkout at this path (default: the one this binary was built from).")
    var litmusPath: String?
    @Option(help: "Depend on Litmus by this git URL (with --litmus-version).") var litmusUrl: String?
    @Option(help: "The Litmus release to depend on with --litmus-url, e.g. 0.2.0 (`from:` that version).")
    var litmusVersion: String?

    func run() throws {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        let template = StarterTemplate(directory: dir, dependency: try dependency(), starter: starter)
        let files = template.files()
        try Self.refuseOverwrite(files.map(\.path), in: dir, command: "litmus init", otherwise: "choose another directory")
        try Self.write(files, in: dir)
        print("created package \(template.name) in \(dir) (\(files.count) files), depending on Litmus by \(template.dependency.manifestLine)")
        print("next: cd \(dir) && swift test")
    }

    /// The dependency the flags choose; see the discussion.
    func dependency() throws -> StarterTemplate.Dependency {
        switch (litmusPath, litmusUrl, litmusVersion) {
        case (.some, .some, _):
            throw ValidationError("--litmus-path and --litmus-url exclude each other: give one")
        case (_, .some, nil):
            throw ValidationError("--litmus-url needs --litmus-version (a tagged release, e.g. --litmus-version 0.2.0)")
        case (_, nil, .some):
            throw ValidationError("--litmus-version goes with --litmus-url; for a checkout on this machine give --litmus-path")
        case (_, .some(let url), .some(let version)):
            return .url(url, version: version)
        case (.some(let path), nil, nil):
            let root = URL(fileURLWithPath: path).standardizedFileURL.path
            guard Self.isLitmusCheckout(root) else {
                throw StarterError(
                    problem: "\(root) is not a Litmus checkout (no Package.swift naming package \"litmus\")",
                    fix: "give --litmus-path the directory of Litmus's Package.swift")
            }
            return .path(root)
        case (nil, nil, nil):
            guard let root = BuiltinCatalog.checkoutRoot else {
                throw StarterError(
                    problem: "this litmus binary was moved away from the checkout it was built from, so there is no path to depend on",
                    fix: "give --litmus-path <a Litmus checkout>, or --litmus-url <url> --litmus-version <version>")
            }
            return .path(root)
        }
    }

    static func isLitmusCheckout(_ root: String) -> Bool {
        guard let manifest = try? String(contentsOfFile: root + "/Package.swift", encoding: .utf8) else { return false }
        return manifest.contains("name: \"litmus\"")
    }

    /// Throws, naming every one of `paths` (relative to `dir`) that already exists.
    static func refuseOverwrite(_ paths: [String], in dir: String, command: String, otherwise: String) throws {
        let existing = paths.filter { FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent($0)) }
        guard existing.isEmpty else {
            throw StarterError(
                problem: "\(command) would overwrite \(existing.map { (dir as NSString).appendingPathComponent($0) }.joined(separator: ", ")); "
                    + "nothing was written",
                fix: "move \(existing.count == 1 ? "that file" : "those files") away, or \(otherwise)")
        }
    }

    /// Writes every file under `dir`, creating folders as needed.
    static func write(_ files: [(path: String, contents: String)], in dir: String) throws {
        for file in files {
            let url = URL(fileURLWithPath: dir).appendingPathComponent(file.path)
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try file.contents.write(to: url, atomically: true, encoding: .utf8)
            } catch {
                throw StarterError(
                    problem: "cannot write \(url.path): \(error.localizedDescription)",
                    fix: "check that \(dir) is writable and has space")
            }
        }
    }
}
