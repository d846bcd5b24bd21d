import ArgumentParser
import Foundation

/// `litmus new-test <Name>`: a test suite and its sidecar file, in a package made by `litmus init`.
struct NewTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new-test",
        abstract: "Add a test file on the bench, with its sidecar (limits and sweeps), to the package's test target.",
        discussion: "Run it in the package (the directory of Package.swift). Existing files are never overwritten.")

    @Argument(help: "The suite's name, a Swift type name such as PowerTests.") var name: String
    @Option(help: "The package directory.") var package = "."
    @Option(help: "The test target's folder under Tests/ (default: the only one).") var target: String?
    @Option(help: "The station file the suite runs on, relative to the package.") var station = "stations/bench.yaml"

    func run() throws {
        guard Self.isTypeName(name) else {
            throw StarterError(
                problem: "\"\(name)\" is not a Swift type name",
                fix: "use letters, digits and _, starting with a capital letter, e.g. PowerTests")
        }
        let root = URL(fileURLWithPath: package).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: root + "/Package.swift") else {
            throw StarterError(
                problem: "\(root) has no Package.swift", fix: "run litmus new-test in a package made by `litmus init`, or pass --package <its directory>")
        }
        let testsDir = try testTargetDirectory(root)
        guard FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent(station)) else {
            throw StarterError(
                problem: "the station file \(station) does not exist in \(root)", fix: "pass --station <a station file of the package>")
        }
        if let clash = Self.declaration(of: name, in: testsDir) {
            throw StarterError(problem: "\(clash) already declares \(name)", fix: "choose another name")
        }
        let files = StarterTemplate.newTest(name, station: station)
        try InitCommand.refuseOverwrite(files.map(\.path), in: testsDir, command: "litmus new-test", otherwise: "choose another name")
        try InitCommand.write(files, in: testsDir)
        for file in files { print("added \((testsDir as NSString).appendingPathComponent(file.path))") }
        print("next: swift test --filter \(name)")
    }

    /// `Tests/<target>`, or the only folder of `Tests/`.
    func testTargetDirectory(_ root: String) throws -> String {
        let tests = (root as NSString).appendingPathComponent("Tests")
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: tests)) ?? []).filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: (tests as NSString).appendingPathComponent($0), isDirectory: &isDir) && isDir.boolValue
        }.sorted()
        if let target {
            guard folders.contains(target) else {
                throw StarterError(
                    problem: "no test target folder Tests/\(target) in \(root)",
                    fix: "pass --target one of: \(folders.isEmpty ? "none (create Tests/<Target>/ and declare it in Package.swift)" : folders.joined(separator: ", "))")
            }
            return (tests as NSString).appendingPathComponent(target)
        }
        guard folders.count == 1 else {
            throw StarterError(
                problem: folders.isEmpty ? "\(tests) has no test target folder" : "\(tests) has several test target folders",
                fix: folders.isEmpty ? "create Tests/<Target>/ and declare it in Package.swift, or run `litmus init` first" : "pass --target one of: \(folders.joined(separator: ", "))")
        }
        return (tests as NSString).appendingPathComponent(folders[0])
    }

    static func isTypeName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, ("A"..."Z").contains(first), s.utf8.count <= 100 else { return false }
        return s.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// The Swift file of `dir` that declares a type called `name`, if any.
    static func declaration(of name: String, in dir: String) -> String? {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".swift") }.sorted()
        for file in files {
            let path = (dir as NSString).appendingPathComponent(file)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            for keyword in ["struct", "class", "enum", "actor"] {
                for separator in [" ", "{", ":", "<"] where text.contains("\(keyword) \(name)\(separator)") { return path }
            }
        }
        return nil
    }
}
