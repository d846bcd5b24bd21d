import Foundation

/// Loads part files (`parts/<id>.yaml`) and resolves `base:` inheritance.
///
/// A part with `base: buck_family` inherits from `buck_family.yaml` in the same directory:
///
/// - header fields (`name`, `part_number`, `revision`, `description`, `datasheet`) are
///   inherited unless the part writes them; writing one as `null` clears it;
/// - `pins` and `characteristics` merge **by key**: an entry of the part replaces the
///   inherited entry with the same key (in its place), new keys come after the inherited
///   ones, and `key: null` removes an inherited entry;
/// - a base may have its own base, up to ``maxDepth`` levels; cycles and missing bases are
///   errors located at the `base:` value.
///
/// Characteristic pins are checked against the merged pins, so a variant's characteristic may
/// use a pin declared by its base.
///
/// ```swift
/// let reader = ConfigReader()
/// if let part = PartLoader.load(path: "parts/buck_3v3.yaml", reader: reader) { ... }
/// print(reader.report)
/// ```
public enum PartLoader {
    /// How many bases a part may stack (a part, its base, the base's base... counts the bases).
    public static let maxDepth = 8

    /// Loads the part at `path` and its bases. Every problem goes to `reader`, located; the
    /// result is nil when there was any error. `reference` is where another file named the
    /// part (a missing file is reported there).
    public static func load(path: String, reader: ConfigReader, from reference: ConfigLocation? = nil) -> Part? {
        let before = reader.report.errors.count
        let id = stem(path)
        guard let draft = loadDraft(path: path, chain: [id], reader: reader, from: reference) else { return nil }
        let part = draft.finish(reader: reader)
        return reader.report.errors.count == before ? part : nil
    }

    /// Loads the part `id` from `directory` (the file `<directory>/<id>.yaml`).
    public static func load(id: String, directory: String, reader: ConfigReader) -> Part? {
        load(path: join(directory, "\(id).yaml"), reader: reader)
    }

    /// Loads the part at `path` and its bases.
    ///
    /// - Returns: the part, and the warnings found (ambiguous YAML scalars, shared designators).
    /// - Throws: a ``ConfigReport`` with every error, and the warnings, when there is any error.
    public static func load(path: String) throws(ConfigReport) -> (part: Part, warnings: [ConfigError]) {
        let reader = ConfigReader()
        guard let part = load(path: path, reader: reader) else { throw reader.report }
        return (part, reader.report.warnings)
    }

    // MARK: - Inheritance

    /// Reads the file and, recursively, its bases, merged into one draft.
    /// - Parameter chain: the ids from the part first loaded down to this one.
    static func loadDraft(
        path: String, chain: [String], reader: ConfigReader, from reference: ConfigLocation? = nil
    ) -> PartDraft? {
        guard let root = reader.collect({ () throws in try reader.load(path, from: reference) }) else { return nil }
        guard var draft = PartDraft.read(root, id: chain.last!, reader: reader) else { return nil }
        guard let base = draft.base, let baseNode = draft.baseNode else {
            draft.rejectRemovals(reader: reader)
            return draft
        }
        if chain.contains(base) {
            let loop = chain.drop(while: { $0 != base }) + [base]
            reader.fail(baseNode.error(
                "inheritance cycle: \((chain + [base]).joined(separator: " -> "))",
                fix: "remove `base:` from one of \(Array(loop.dropLast()).joined(separator: ", "))"))
            return nil
        }
        if chain.count > maxDepth {
            reader.fail(baseNode.error(
                "inheritance deeper than \(maxDepth) levels: \((chain + [base]).joined(separator: " -> "))",
                fix: "inherit from a part nearer the top, or copy the entries this part needs"))
            return nil
        }
        let directory = self.directory(path)
        let basePath = join(directory, "\(base).yaml")
        guard FileManager.default.fileExists(atPath: basePath) else {
            let parts = partIDs(in: directory).filter { !chain.contains($0) }
            let hint = Suggest.closest(to: base, in: parts).map { "did you mean \"\($0)\"? " } ?? ""
            reader.fail(baseNode.error(
                "base part \"\(base)\" not found: there is no file \(basePath)",
                fix: hint + (parts.isEmpty ? "add \(base).yaml next to this part" : "parts here: \(parts.joined(separator: ", "))")))
            return nil
        }
        guard let inherited = loadDraft(path: basePath, chain: chain + [base], reader: reader, from: ConfigLocation(baseNode))
        else { return nil }
        return merge(base: inherited, child: draft, reader: reader)
    }

    /// `child` written over `base`: header fields override, pins and characteristics merge by key.
    static func merge(base: PartDraft, child: PartDraft, reader: ConfigReader) -> PartDraft {
        var out = child
        out.fields = base.fields.filter { !child.cleared.contains($0.key) }.merging(child.fields) { $1 }
        out.cleared = []
        let baseName = child.base ?? base.id
        out.pins = mergeEntries(base.pins, child.pins, what: "pin", baseName: baseName, reader: reader)
        out.characteristics = mergeEntries(
            base.characteristics, child.characteristics, what: "characteristic", baseName: baseName, reader: reader)
        out.brokenPins = base.brokenPins.union(child.brokenPins)
        return out
    }

    static func mergeEntries<Value>(
        _ base: [PartDraft.Entry<Value>], _ child: [PartDraft.Entry<Value>], what: String, baseName: String,
        reader: ConfigReader
    ) -> [PartDraft.Entry<Value>] {
        var out = base
        for entry in child {
            if let i = out.firstIndex(where: { $0.key == entry.key }) {
                if entry.value == nil { out.remove(at: i) } else { out[i] = entry }
            } else if entry.value == nil {
                let keys = out.map(\.key)
                let hint = Suggest.closest(to: entry.key, in: keys).map { "did you mean \"\($0)\"? " } ?? ""
                reader.fail(entry.error(
                    "`\(entry.key): null` removes an inherited \(what), but base \"\(baseName)\" has no \(what) \"\(entry.key)\"",
                    fix: hint + (keys.isEmpty ? "delete the line" : "inherited: \(keys.joined(separator: ", "))")))
            } else {
                out.append(entry)
            }
        }
        return out
    }

    // MARK: - Paths

    /// The file name without its extension: the part id.
    static func stem(_ path: String) -> String {
        let name = PartReading.fileName(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    static func directory(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : "\(directory)/\(name)"
    }

    /// Ids of the part files in `directory`, sorted.
    static func partIDs(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.map { stem($0) }.sorted()
    }
}
