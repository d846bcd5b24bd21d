/// Why a YAML file or text cannot be read: it is missing or unreadable, too large, not UTF-8,
/// or goes past one of the ``YAMLLimits``. Located where possible (1-based line and column;
/// 0 when the problem is the file as a whole, such as a missing file).
public struct YAMLInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The limit that was reached, when that is the problem.
    public var limit: YAMLLimits.Limit?
    /// 1-based line, or 0.
    public var line: Int
    /// 1-based column (in characters), or 0.
    public var column: Int
    /// What is wrong, as a sentence.
    public var problem: String
    /// What to do about it.
    public var fix: String

    public init(limit: YAMLLimits.Limit? = nil, line: Int = 0, column: Int = 0, problem: String, fix: String) {
        self.limit = limit
        self.line = line
        self.column = column
        self.problem = problem
        self.fix = fix
    }

    /// `line:column: problem. Fix: fix` (without a file name: the caller knows it).
    public var description: String {
        (line > 0 ? "\(line):\(column): " : "") + problem + (fix.isEmpty ? "" : ". Fix: \(fix)")
    }

    /// The error for `limit` reached at `line:column`; `what` says what went past it.
    static func exceeded(_ limit: YAMLLimits.Limit, _ limits: YAMLLimits, at position: (line: Int, column: Int), _ what: String)
        -> YAMLInputError
    {
        let maximum = limits[limit]
        let unit =
            switch limit {
            case .fileBytes, .scalarBytes, .textBytes: "bytes"
            case .nodes: "values"
            case .aliases: "aliases"
            case .depth: "levels"
            }
        let advice =
            switch limit {
            case .nodes, .aliases, .textBytes:
                "write the values out instead of repeating large anchors with aliases, or split the file"
            case .scalarBytes: "keep large data out of configuration files (name a file instead)"
            case .fileBytes: "split the file"
            case .depth: "nest less deeply"
            }
        return YAMLInputError(
            limit: limit, line: position.line, column: position.column,
            problem: "\(what), past the YAML limit \(limit.rawValue) (\(maximum) \(unit))",
            fix: "\(advice); if the file is trusted and really needs more, raise the limit: "
                + "\(YAMLLimits.environmentVariable)=\(limit.rawValue)=<\(unit)>")
    }
}
