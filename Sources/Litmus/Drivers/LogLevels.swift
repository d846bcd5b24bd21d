import Foundation
import Logging

/// Which log messages are shown, per driver: a default level and levels for names.
///
/// Written as `LITMUS_LOG=lan=debug,usbtmc=trace` (or `--log-level` on every `litmus`
/// command): a bare level sets the default (`debug`, `info,lan=trace`); `name=level` sets the
/// level of a driver plugin, named by any of its driver ids (`lan`, `example-dmm`), its
/// plugin name (`litmus-lan`) or that name without `litmus-` (`example-c`); or of a log
/// component a plugin writes (`hislip`, `lan.vxi11`: a key also matches the components below
/// it), or of a host logger label (`litmus.drivers`). Levels: `trace`, `debug`, `info`,
/// `notice`, `warning`, `error`, `critical` (and `off`). The default default is `info`.
///
/// ```swift
/// LogLevels.current = try LogLevels(parsing: "info,lan=debug")
/// ```
public struct LogLevels: Sendable, Equatable, CustomStringConvertible {
    /// The level of everything no key names.
    public var defaultLevel: Logger.Level
    /// Levels by name, lower case.
    public var levels: [String: Logger.Level]

    /// The environment variable read on first use of ``current``.
    public static let environmentVariable = "LITMUS_LOG"

    public init(defaultLevel: Logger.Level = .info, levels: [String: Logger.Level] = [:]) {
        self.defaultLevel = defaultLevel
        self.levels = Dictionary(levels.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
    }

    /// Parses `spec`: comma-separated entries, each a level (the default) or `name=level`.
    ///
    /// - Throws: ``LogLevelsError`` naming the entry, what is wrong and the fix.
    public init(parsing spec: String, source: String = "LITMUS_LOG") throws(LogLevelsError) {
        self.init()
        try merge(spec, source: source)
    }

    /// Adds the entries of `spec` over these (a later entry wins).
    public mutating func merge(_ spec: String, source: String = "LITMUS_LOG") throws(LogLevelsError) {
        for raw in spec.split(separator: ",") {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let levelText = parts.count == 2 ? parts[1] : parts[0]
            let name = parts.count == 2 ? parts[0].lowercased() : nil
            if let name, name.isEmpty {
                throw LogLevelsError(source: source, entry: entry, problem: "the entry names no driver before '='")
            }
            if levelText.lowercased() == "off" || levelText.lowercased() == "none" {
                // Critical messages only.
                if let name { levels[name] = .critical } else { defaultLevel = .critical }
                continue
            }
            guard let level = Logger.Level(rawValue: levelText.lowercased()) ?? (levelText.lowercased() == "warn" ? .warning : nil) else {
                throw LogLevelsError(source: source, entry: entry, problem: "'\(levelText)' is not a log level")
            }
            if let name { levels[name] = level } else { defaultLevel = level }
        }
    }

    /// The level for something known by `names` (a plugin's names, a component, a label): the
    /// most verbose level a key gives any of them (a key also covers dotted names below it:
    /// `lan` covers `lan.vxi11`), else the default.
    public func level(for names: [String]) -> Logger.Level {
        var best: Logger.Level?
        if !levels.isEmpty {
            for name in names {
                var key = name.lowercased()
                while true {
                    if let level = levels[key], best.map({ level < $0 }) ?? true { best = level }
                    guard let dot = key.lastIndex(of: ".") else { break }
                    key = String(key[..<dot])
                }
            }
        }
        return best ?? defaultLevel
    }

    /// The most verbose level any key or the default gives: what a filter that does not know
    /// the name yet must let through.
    public var mostVerbose: Logger.Level { levels.values.reduce(defaultLevel) { min($0, $1) } }

    public var description: String {
        ([defaultLevel.rawValue] + levels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" })
            .joined(separator: ",")
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var _current: LogLevels?
    nonisolated(unsafe) private static var _generation = 0

    /// The levels in force in this process: `LITMUS_LOG` on first use (an invalid value is
    /// reported once on standard error and ignored), unless set. Plugins loaded earlier follow
    /// a change at their next message.
    public static var current: LogLevels {
        get {
            lock.withLock {
                if let c = _current { return c }
                var levels = LogLevels()
                if let spec = ProcessInfo.processInfo.environment[environmentVariable] {
                    do {
                        levels = try LogLevels(parsing: spec)
                    } catch {
                        FileHandle.standardError.write(Data("litmus: warning: \(error)\n".utf8))
                    }
                }
                _current = levels
                return levels
            }
        }
        set {
            lock.withLock {
                _current = newValue
                _generation &+= 1
            }
        }
    }

    /// Makes swift-log's handlers (standard error) follow ``current`` for the host's own
    /// loggers, by label (`litmus.drivers`, `litmus`). Call once, at the start of a program
    /// (the `litmus` tool does). Plugin messages are filtered per driver whether or not this
    /// was called.
    public static func bootstrapLogging() {
        let levels = current
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = levels.level(for: [label])
            return handler
        }
    }

    /// Changes each time ``current`` is set, so cached levels know to look again.
    static var generation: Int { lock.withLock { _generation } }

    /// The names a plugin's log levels are looked up by, per plugin path: its driver ids, its
    /// plugin name, that name without `litmus-`, and the file's name without `liblitmus-`.
    nonisolated(unsafe) private static var pluginNames: [String: [String]] = [:]

    static func register(pluginPath: String, pluginName: String, driverIDs: [String]) {
        var names = driverIDs + [pluginName]
        if pluginName.hasPrefix("litmus-") { names.append(String(pluginName.dropFirst("litmus-".count))) }
        lock.withLock {
            pluginNames[pluginPath] = names
            _generation &+= 1
        }
    }

    /// Every name of every registered plugin, lower case.
    static var allPluginNames: Set<String> { lock.withLock { Set(pluginNames.values.joined().map { $0.lowercased() }) } }

    static func names(ofPlugin path: String) -> [String] {
        var names = lock.withLock { pluginNames[path] } ?? []
        var file = (path as NSString).lastPathComponent
        for suffix in [".so", ".dylib"] where file.hasSuffix(suffix) { file.removeLast(suffix.count) }
        if file.hasPrefix("liblitmus-") { names.append(String(file.dropFirst("liblitmus-".count))) }
        return names
    }
}

/// A `LITMUS_LOG` or `--log-level` value that does not parse.
public struct LogLevelsError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var entry: String
    public var problem: String

    public init(source: String, entry: String, problem: String) {
        self.source = source
        self.entry = entry
        self.problem = problem
    }

    public var description: String {
        "\(source): '\(entry)': \(problem). Fix: write a level (trace, debug, info, notice, warning, error, critical, off) "
            + "or driver=level entries separated by commas, e.g. \(source == "--log-level" ? "--log-level " : "LITMUS_LOG=")info,lan=debug,usbtmc=trace"
    }
}

extension PluginLogContext {
    /// The threshold of this plugin's messages: its names' level, or the most verbose
    /// component level (the component is only known per message). Cached per generation.
    func threshold() -> Logger.Level {
        let generation = LogLevels.generation
        if let cached = cacheLock.withLock({ cachedGeneration == generation ? cachedLevel : nil }) { return cached }
        let levels = LogLevels.current
        // The host's logger shows what its own level lets through (an embedding program's
        // choice); LITMUS_LOG and --log-level can only show more.
        var level = min(logger.logLevel, levels.level(for: LogLevels.names(ofPlugin: pluginPath)))
        // A key that names no plugin may name a component of this one.
        let plugins = LogLevels.allPluginNames
        for (key, keyLevel) in levels.levels where !plugins.contains(key) { level = min(level, keyLevel) }
        cacheLock.withLock {
            cachedGeneration = generation
            cachedLevel = level
        }
        return level
    }

    /// Whether a message of swift-log `level` from `component` is shown.
    func shows(_ level: Logger.Level, component: String) -> Bool {
        guard level >= threshold() else { return false }
        let levels = LogLevels.current
        return level >= min(logger.logLevel, levels.level(for: LogLevels.names(ofPlugin: pluginPath) + [component]))
    }
}
