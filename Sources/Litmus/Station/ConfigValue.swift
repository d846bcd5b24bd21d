import Yams

/// A value written in a configuration file where its type is only known later, from a
/// driver's declared open options or an operation's result type (`options:`, `mock_config:`).
/// Scalars keep the text as written and whether it was quoted, so `"5"` and `5`, or `off` and
/// `"off"`, can be told apart when the declared type is known.
public indirect enum ConfigValue: Sendable, Equatable {
    case null
    /// A scalar: its text, and whether it was quoted (then it is always text).
    case scalar(String, quoted: Bool)
    case list([ConfigValue])
    /// A mapping, keys in file order.
    case map([ConfigEntry])

    /// Reads any YAML value.
    public init(_ node: ConfigNode) throws(ConfigError) {
        if node.isNull {
            self = .null
        } else if node.isScalar {
            self = .scalar(try node.text(), quoted: node.isQuoted)
        } else if node.isSequence {
            self = .list(try node.list().map { (item) throws(ConfigError) -> ConfigValue in try ConfigValue(item) })
        } else {
            self = .map(
                try node.entries().map { (entry) throws(ConfigError) -> ConfigEntry in
                    ConfigEntry(key: entry.key, value: try ConfigValue(entry.value))
                })
        }
    }

    /// The entries of a mapping; empty for anything else.
    public var entries: [ConfigEntry] { if case .map(let e) = self { e } else { [] } }

    /// The value under `key` of a mapping.
    public subscript(key: String) -> ConfigValue? { entries.first { $0.key == key }?.value }

    /// This value as YAML.
    public var yaml: Node {
        switch self {
        case .null: Node("null")
        case .scalar(let text, let quoted): quoted ? Node(text, .implicit, .doubleQuoted) : Node(text)
        case .list(let items): Node(items.map(\.yaml))
        case .map(let entries): Node(entries.map { (Node($0.key), $0.value.yaml) })
        }
    }

    /// Converts this value to `type`, or explains why it cannot be. Plain scalars convert by
    /// the declared type: `5` is a number for f64, text for string; `true`/`false` are the
    /// only booleans (`on`/`yes` are refused with a fix).
    public func converted(to type: ValueType) -> Result<InstrumentValue, ConversionProblem> {
        switch (type, self) {
        case (.void, .null): return .success(.void)
        case (_, .null): return .failure(.init("expected \(type.phrase), found null"))
        case (.string, .scalar(let t, _)): return .success(.string(t))
        case (.f64, .scalar(let t, let quoted)):
            guard !quoted, let v = ConfigNode.number(t) else { return .failure(.init("expected a number, found \"\(t)\"")) }
            return .success(.f64(v))
        case (.i64, .scalar(let t, let quoted)):
            if !quoted, let v = Int64(t) { return .success(.i64(v)) }
            if !quoted, let d = ConfigNode.number(t), d == d.rounded(), abs(d) < 9.0e15 { return .success(.i64(Int64(d))) }
            return .failure(.init("expected an integer, found \"\(t)\""))
        case (.bool, .scalar(let t, let quoted)):
            if !quoted && ["true", "True", "TRUE"].contains(t) { return .success(.bool(true)) }
            if !quoted && ["false", "False", "FALSE"].contains(t) { return .success(.bool(false)) }
            return .failure(.init("expected true or false, found \"\(t)\"", fix: "write true or false"))
        case (.f64Array, .list(let items)):
            var out: [Double] = []
            for item in items {
                guard case .success(.f64(let v)) = item.converted(to: .f64) else {
                    return .failure(.init("expected a list of numbers, found an item \(item.shortDescription)"))
                }
                out.append(v)
            }
            return .success(.f64Array(out))
        case (.bytes, .scalar(let t, _)):
            return .success(.bytes(Array(t.utf8)))
        default:
            return .failure(.init("expected \(type.phrase), found \(shortDescription)"))
        }
    }

    /// `"text"`, `a list`, `a mapping`, `null`.
    public var shortDescription: String {
        switch self {
        case .null: "null"
        case .scalar(let t, _): "\"\(t)\""
        case .list: "a list"
        case .map: "a mapping"
        }
    }
}

/// One key and value of a ``ConfigValue`` mapping.
public struct ConfigEntry: Sendable, Equatable {
    public var key: String
    public var value: ConfigValue
    public init(key: String, value: ConfigValue) {
        self.key = key
        self.value = value
    }
}

/// Why a ``ConfigValue`` does not convert to a declared type.
public struct ConversionProblem: Error, Sendable {
    public var problem: String
    public var fix: String
    init(_ problem: String, fix: String = "") {
        self.problem = problem
        self.fix = fix
    }
}

extension ValueType {
    /// "a number", "an integer", "true or false", "text", "a list of numbers", "bytes", "nothing".
    var phrase: String {
        switch self {
        case .void: "nothing (null)"
        case .f64: "a number"
        case .i64: "an integer"
        case .bool: "true or false"
        case .string: "text"
        case .f64Array: "a list of numbers"
        case .bytes: "bytes"
        }
    }
}
