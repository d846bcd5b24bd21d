import Yams

/// Writes configuration models back to YAML (round trips, `litmus station check --dump`).
/// Text that YAML would read as something else (`off`, `1.0`, `null`, `'#'`...) is quoted, so
/// reading the output gives back exactly the model that wrote it.
public enum ConfigEncoding {
    /// A mapping of the given keys in order; nil values are left out.
    public static func map(_ pairs: [(String, Node?)]) -> Node {
        Node(pairs.compactMap { key, value in value.map { (Node(key), $0) } })
    }

    /// Text, quoted when a plain scalar would not read back as the same text.
    public static func text(_ s: String) -> Node {
        let plainIsSafe = !s.isEmpty && ConfigNode.number(s) == nil
            && !["~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"].contains(s.lowercased())
            && s.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
            && !(s.first.map { "-?:,[]{}#&*!|>'\"%@` ".contains($0) } ?? false)
            && !s.hasSuffix(" ") && !s.contains(": ") && !s.contains(" #") && !s.hasSuffix(":")
        return Node(s, .implicit, plainIsSafe ? .plain : .doubleQuoted)
    }

    public static func text(_ s: String?) -> Node? { s.map { text($0) } }

    /// A number in its shortest exact form (`5`, `0.1`, `1e-09`).
    public static func number(_ v: Double) -> Node { Node(RangeExpander.format(v)) }
    public static func number(_ v: Double?) -> Node? { v.map { number($0) } }
    public static func int(_ v: Int) -> Node { Node(String(v)) }
    public static func int(_ v: Int?) -> Node? { v.map { int($0) } }
    public static func bool(_ v: Bool) -> Node { Node(v ? "true" : "false") }
    /// `true`, or nothing when false (keeps defaults out of the output).
    public static func flag(_ v: Bool) -> Node? { v ? bool(true) : nil }
    public static func list(_ items: [Node]) -> Node { Node(items) }
    /// A list, or nothing when empty.
    public static func nonEmptyList(_ items: [Node]) -> Node? { items.isEmpty ? nil : Node(items) }

    /// The YAML text of a node.
    public static func string(_ node: Node) -> String {
        (try? Yams.serialize(node: node, indent: 2, width: -1, allowUnicode: true, sortKeys: false)) ?? ""
    }
}
