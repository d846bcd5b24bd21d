/// Bounds on one YAML document, checked before it is composed into nodes, so that no file can
/// make a reader spend unbounded time or memory: a "billion laughs" file of nested aliases
/// (each level a list of ten `*prev`) is 2.6 KB on disk and billions of values once expanded.
///
/// Every reader of YAML in Litmus (stations, fixtures, parts, profiles, sidecars and harness
/// configs, the simulated devices of the mock plugin) applies them. The defaults are far above
/// what a configuration file needs; raise one with the environment variable
/// `LITMUS_YAML_LIMITS`, e.g. `LITMUS_YAML_LIMITS=nodes=2000000,scalar_bytes=4194304`.
public struct YAMLLimits: Sendable, Equatable {
    /// The size of the file (or text) in bytes.
    public var fileBytes: Int
    /// The size of one scalar (a single value) in bytes.
    public var scalarBytes: Int
    /// Values (scalars, lists, mappings) in one document once every alias is expanded.
    public var nodes: Int
    /// Aliases (`*name`) written in one document.
    public var aliases: Int
    /// Bytes of scalar text in one document once every alias is expanded.
    public var textBytes: Int
    /// How deep lists and mappings nest.
    public var depth: Int

    public init(
        fileBytes: Int = 8 << 20, scalarBytes: Int = 1 << 20, nodes: Int = 250_000, aliases: Int = 10_000,
        textBytes: Int = 16 << 20, depth: Int = 100
    ) {
        self.fileBytes = fileBytes
        self.scalarBytes = scalarBytes
        self.nodes = nodes
        self.aliases = aliases
        self.textBytes = textBytes
        self.depth = depth
    }

    /// The environment variable that raises (or lowers) limits: comma-separated `name=value`
    /// pairs, names as in ``Limit``.
    public static let environmentVariable = "LITMUS_YAML_LIMITS"

    /// One limit, by the name used in messages and in ``environmentVariable``.
    public enum Limit: String, Sendable, CaseIterable {
        case fileBytes = "file_bytes"
        case scalarBytes = "scalar_bytes"
        case nodes
        case aliases
        case textBytes = "text_bytes"
        case depth
    }

    /// The value of `limit`.
    public subscript(limit: Limit) -> Int {
        get {
            switch limit {
            case .fileBytes: fileBytes
            case .scalarBytes: scalarBytes
            case .nodes: nodes
            case .aliases: aliases
            case .textBytes: textBytes
            case .depth: depth
            }
        }
        set {
            switch limit {
            case .fileBytes: fileBytes = newValue
            case .scalarBytes: scalarBytes = newValue
            case .nodes: nodes = newValue
            case .aliases: aliases = newValue
            case .textBytes: textBytes = newValue
            case .depth: depth = newValue
            }
        }
    }

    /// The defaults with the changes `LITMUS_YAML_LIMITS` names in `environment`.
    ///
    /// - Throws: a message naming the variable, the bad entry and what to write.
    public init(environment: [String: String]) throws(YAMLLimitsSyntaxError) {
        self.init()
        guard let spec = environment[Self.environmentVariable], !spec.isEmpty else { return }
        for item in spec.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " ") }
            guard parts.count == 2, let limit = Limit(rawValue: parts[0]), let value = Int(parts[1]), value > 0 else {
                throw YAMLLimitsSyntaxError(
                    "\(Self.environmentVariable)=\(spec): cannot read \"\(item)\"; write name=value pairs separated by "
                        + "commas, names \(Limit.allCases.map(\.rawValue).joined(separator: ", ")), values positive "
                        + "integers (e.g. nodes=2000000)")
            }
            self[limit] = value
        }
    }
}

/// `LITMUS_YAML_LIMITS` cannot be read.
public struct YAMLLimitsSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
