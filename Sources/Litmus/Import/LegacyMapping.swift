import Foundation
import Yams

/// What an import found while converting one set of files: the keys it could not carry over
/// (each located, with why and what to do by hand), the changes it made on the way, and the
/// input it could not read at all.
public struct LegacyImportReport: Sendable {
    /// Keys of the original that have no place in Litmus's files: left out.
    public var unmapped: [ConfigError] = []
    /// Values carried over in another form (a renamed role, a band written as a window...).
    public var changed: [ConfigError] = []
    /// Input that could not be converted (bad YAML, not the original's format).
    public var errors: [ConfigError] = []

    public init() {}

    /// The report as text: errors, then what was not imported, then what was changed.
    public var text: String {
        var lines: [String] = []
        for (title, items) in [("error", errors), ("not imported", unmapped), ("changed", changed)] where !items.isEmpty {
            lines.append("\(title) (\(items.count)):")
            lines += items.map { "  \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}

/// The walk over one original file: reads mappings against the original's keys and records
/// what does not map.
final class LegacyMapping {
    var report = LegacyImportReport()

    /// The entries of a mapping, checked against the original's keys for it: a key the
    /// original does not have either is an error (the file is not in its format), with a
    /// "did you mean".
    func entries(_ node: ConfigNode, _ what: String, keys: [String]) -> [String: (keyNode: ConfigNode, value: ConfigNode)]? {
        let list: [(key: String, keyNode: ConfigNode, value: ConfigNode)]
        do {
            list = try node.entries(what)
        } catch {
            report.errors.append(error)
            return nil
        }
        var result: [String: (keyNode: ConfigNode, value: ConfigNode)] = [:]
        for entry in list {
            guard keys.contains(entry.key) else {
                let hint = Suggest.closest(to: entry.key, in: keys).map { "did you mean \"\($0)\"? " } ?? ""
                report.errors.append(entry.keyNode.error(
                    "unknown key \"\(entry.key)\" (the original does not read it either)",
                    fix: hint + "Keys of \(what): \(keys.joined(separator: ", "))"))
                continue
            }
            result[entry.key] = (entry.keyNode, entry.value)
        }
        return result
    }

    /// Records a key left out.
    func drop(_ keyNode: ConfigNode, _ keyPath: String, why: String, fix: String) {
        report.unmapped.append(ConfigError(
            file: keyNode.file, line: keyNode.line, column: keyNode.column, keyPath: keyPath, problem: why, fix: fix))
    }

    /// Records a value carried over in another form.
    func change(_ node: ConfigNode, _ keyPath: String, what: String, fix: String = "") {
        report.changed.append(ConfigError(
            file: node.file, line: node.line, column: node.column, keyPath: keyPath, problem: what, fix: fix))
    }

    /// Records input that cannot be converted.
    func fail(_ error: ConfigError) { report.errors.append(error) }

    /// Text, or an error recorded and nil.
    func text(_ node: ConfigNode, _ what: String) -> String? {
        do { return try node.string(what) } catch {
            report.errors.append(error)
            return nil
        }
    }

    /// The value as written (scalars keep their spelling and quoting).
    static func copy(_ node: ConfigNode) -> Node { node.node }

    /// A value as one line of flow YAML, for "write this by hand" advice.
    static func flow(_ node: ConfigNode) -> String { flow(node.node) }

    static func flow(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.style == .plain ? s.string : "\"\(s.string)\""
        case .sequence(let items): return "[" + items.map(flow).joined(separator: ", ") + "]"
        case .mapping(let pairs): return "{" + pairs.map { "\(flow($0.key)): \(flow($0.value))" }.joined(separator: ", ") + "}"
        case .alias: return "*alias"
        }
    }
}
