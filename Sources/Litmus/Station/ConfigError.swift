/// A problem in a configuration file (station, fixture, part, instrument profile), located
/// exactly: the file, the line and column, the key path, what was expected, what was found,
/// and how to fix it.
///
/// ```
/// stations/bench.yaml:12:7: instruments.dmm.resource: expected a VISA resource string,
///   found "TCPIP0:10.0.0.5::INSTR": '::' expected after 'TCPIP0'. Fix: write e.g. TCPIP0::10.0.0.5::INSTR
/// ```
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as given to the loader.
    public var file: String
    /// 1-based line, or 0 when the problem has no place in the file (a missing file).
    public var line: Int
    /// 1-based column, or 0.
    public var column: Int
    /// Dotted key path, e.g. `instruments.dmm.options.timeout_ms`; empty for the whole file.
    public var keyPath: String
    /// What is wrong, as a sentence ("expected a number, found \"fast\"").
    public var problem: String
    /// What to do about it; empty when the problem says it.
    public var fix: String

    public init(file: String, line: Int = 0, column: Int = 0, keyPath: String = "", problem: String, fix: String = "") {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.problem = problem
        self.fix = fix
    }

    /// `file:line:column`, or just the file when there is no position.
    public var location: String { line > 0 ? "\(file):\(line):\(column)" : file }

    public var description: String {
        var text = "\(location): "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        text += problem
        if !fix.isEmpty { text += ". Fix: \(fix)" }
        return text
    }
}

/// Everything a load or a check found: errors (the configuration cannot be used) and warnings
/// (it can, but something deserves attention: calibration due soon, an identity mismatch
/// outside strict mode).
public struct ConfigReport: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError] = []
    public var warnings: [ConfigError] = []

    public init(errors: [ConfigError] = [], warnings: [ConfigError] = []) {
        self.errors = errors
        self.warnings = warnings
    }

    public var isEmpty: Bool { errors.isEmpty && warnings.isEmpty }

    public mutating func merge(_ other: ConfigReport) {
        errors += other.errors
        warnings += other.warnings
    }

    /// Errors first, then warnings, one per line, each prefixed `error:` or `warning:`.
    public var description: String {
        (errors.map { "error: \($0)" } + warnings.map { "warning: \($0)" }).joined(separator: "\n")
    }

    /// Throws `self` when there are errors.
    public func throwIfErrors() throws(ConfigReport) {
        if !errors.isEmpty { throw self }
    }
}
