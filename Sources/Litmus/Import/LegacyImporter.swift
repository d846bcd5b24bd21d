import Foundation
import Yams

/// Converts the station, fixture, part and instrument files of the Python original (Litmus
/// `litmus-test` 0.3.x and TesterKit 0.6, which read the same files) into Litmus files, and
/// reports everything that did not map (`litmus import`).
///
/// The output is one folder laid out as Litmus expects it: `<station>.yaml`,
/// `fixtures/<id>.yaml`, `parts/<id>.yaml`. Instrument files (`instruments/<role>.yaml`) are
/// joined into the station roles of the same name, as the original joins them. Nothing is
/// guessed silently: every key left out and every value written another way is in the
/// ``LegacyImportReport``, located `file:line:column`.
public enum LegacyImporter {
    /// The project the files come from.
    public enum Source: String, CaseIterable, Sendable {
        case litmus03 = "litmus-0.3"
        case testerkit
    }

    /// What an original file is.
    public enum Kind: String, Sendable {
        case station, stationType = "station type", fixture, part, instrument, project
    }

    /// One converted file.
    public struct Output: Sendable, Equatable {
        public var kind: Kind
        /// The original file.
        public var source: String
        /// Where it goes, relative to the output folder.
        public var path: String
        /// The Litmus YAML.
        public var text: String
    }

    public struct Result: Sendable {
        public var outputs: [Output]
        public var report: LegacyImportReport
    }

    /// Converts the files named, and the YAML files under the folders named (names starting
    /// with `_` are skipped, as the original skips them).
    public static func convert(paths: [String], from source: Source? = nil) -> Result {
        let m = LegacyMapping()
        let reader = ConfigReader()
        var files: [(path: String, kind: Kind?, root: ConfigNode)] = []
        for path in collect(paths, m) {
            do {
                let root = try reader.load(path)
                files.append((path, kind(of: path, root: root), root))
            } catch {
                m.fail(error)
            }
        }
        var assets: [String: LegacyStation.Asset] = [:]
        var roleNames: [String: String] = [:]
        var outputs: [Output] = []
        let stem = { (path: String) in ((path as NSString).lastPathComponent as NSString).deletingPathExtension }

        for file in files {
            switch file.kind {
            case nil:
                m.fail(file.root.error(
                    "cannot tell what this file is: not a station, fixture, part or instrument file of the original",
                    fix: "put it under stations/, fixtures/, parts/ or instruments/ as the original's projects do, or leave it out"))
            case .instrument?:
                if let asset = LegacyStation.asset(file.root, stem: stem(file.path), m) { assets[asset.id] = asset }
            case .stationType?:
                m.drop(file.root, "", why: "a station type: Litmus has no station-type templates", fix: "nothing to do; the stations that name it keep `station_type:` as text")
            case .project?:
                m.drop(file.root, "", why: "the project settings of the \(source?.rawValue ?? "original") (default station, fixture, data paths)", fix: "pass --station and --fixture to litmus run, or name them in the harness config")
            default: break
            }
        }
        let fixtureFiles = files.filter { $0.kind == .fixture }
        let partFiles = files.filter { $0.kind == .part }
        for file in files where file.kind == .station {
            // One fixture or part imported with the station: the station names it, so a check
            // of the station checks them together.
            let links = (
                fixture: fixtureFiles.count == 1 ? "fixtures/\(stem(fixtureFiles[0].path)).yaml" : nil,
                part: partFiles.count == 1 ? "parts/\(stem(partFiles[0].path)).yaml" : nil)
            guard let node = LegacyStation.convert(file.root, stem: stem(file.path), links: links, assets: &assets, roleNames: &roleNames, m)
            else { continue }
            outputs.append(Output(kind: .station, source: file.path, path: "\(stem(file.path)).yaml", text: text(node, from: file.path)))
        }
        for (id, asset) in assets where !asset.used {
            m.drop(asset.root, "", why: "instrument file \(id): no station imported here has a role \(id) to join it to", fix: "import it with the station that uses it, or copy its identity and calibration into that role")
        }
        for file in fixtureFiles {
            if let node = LegacyFixture.convert(file.root, stem: stem(file.path), roleNames: roleNames, m) {
                outputs.append(Output(kind: .fixture, source: file.path, path: "fixtures/\(stem(file.path)).yaml", text: text(node, from: file.path)))
            }
        }
        for file in partFiles {
            if let node = LegacyPart.convert(file.root, stem: stem(file.path), m) {
                outputs.append(Output(kind: .part, source: file.path, path: "parts/\(stem(file.path)).yaml", text: text(node, from: file.path)))
            }
        }
        return Result(outputs: outputs, report: m.report)
    }

    /// The YAML files named, in a stable order; a folder is searched recursively.
    static func collect(_ paths: [String], _ m: LegacyMapping) -> [String] {
        var result: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                m.fail(ConfigError(file: path, problem: "no such file or folder", fix: "check the path"))
                continue
            }
            guard isDirectory.boolValue else {
                result.append(path)
                continue
            }
            let found = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter { relative in
                let name = (relative as NSString).lastPathComponent
                let hidden = relative.split(separator: "/").contains { $0.hasPrefix(".") }
                return (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) && !name.hasPrefix("_") && !hidden
            }
            result += found.sorted().map { (path as NSString).appendingPathComponent($0) }
        }
        return result
    }

    /// What a file is: by the folder it sits in, as the original finds them, else by its keys.
    static func kind(of path: String, root: ConfigNode) -> Kind? {
        let parts = path.split(separator: "/").map(String.init)
        let name = parts.last ?? ""
        if ["litmus.yaml", "testerkit.yaml"].contains(name) { return .project }
        let folder = parts.count >= 2 ? parts[parts.count - 2] : ""
        let grandparent = parts.count >= 3 ? parts[parts.count - 3] : ""
        switch folder {
        case "types" where grandparent == "stations": return .stationType
        case "stations": return .station
        case "fixtures": return .fixture
        case "parts": return .part
        case "instruments": return .instrument
        default: break
        }
        let keys = Set(((try? root.entries()) ?? []).map(\.key))
        if keys.contains("characteristics") || keys.contains("pins") { return .part }
        if keys.contains("connections") || keys.contains("sites") { return .fixture }
        if keys.contains("info") || keys.contains("calibration") || keys.contains("protocol") { return .instrument }
        if keys.contains("instruments") { return keys.contains("name") ? .station : .stationType }
        return nil
    }

    static func text(_ node: Node, from source: String) -> String {
        "# Imported by `litmus import` from \((source as NSString).lastPathComponent); see the import report for what changed.\n"
            + ConfigEncoding.string(node)
    }
}
