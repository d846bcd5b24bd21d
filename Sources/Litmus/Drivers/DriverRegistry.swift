import Foundation
import LitmusJSON
import Logging

/// The drivers of every loaded plugin, by id and by resource scheme.
///
/// ```swift
/// let registry = DriverRegistry()
/// registry.loadSearchPath()                         // LITMUS_PLUGIN_PATH, then next to the binary
/// for problem in registry.diagnostics { print(problem) }
/// let dmm = try registry.open("SIM::dmm::INSTR")   // the "sim" driver, chosen by scheme
/// print(try dmm.query("*IDN?"))
/// ```
///
/// Pass the registry explicitly to what needs it; there is no process-wide instance. Loading
/// the same file twice (through two paths) is a no-op; two files that declare the same driver
/// id are an error naming both.
public final class DriverRegistry: @unchecked Sendable {
    /// The name of the environment variable holding extra plugin locations (colon-separated
    /// directories or files), searched first.
    public static let pluginPathVariable = "LITMUS_PLUGIN_PATH"

    private let lock = NSLock()
    private var _plugins: [LoadedPlugin] = []
    private var _drivers: [String: DriverInfo] = [:]
    private var _diagnostics: [PluginLoadError] = []
    private var ambiguous: [String: [String]] = [:]
    private var _schemePriorities: [String: String]
    let logger: Logger

    public init(
        logger: Logger = Logger(label: "litmus.drivers"),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.logger = logger
        self._schemePriorities = Self.parseSchemePriorities(environment[Self.schemeDriversVariable])
    }

    /// Plugins loaded so far, in load order.
    public var plugins: [LoadedPlugin] { lock.withLock { _plugins } }
    /// Every usable driver, sorted by id.
    public var drivers: [DriverInfo] { lock.withLock { _drivers.values.sorted { $0.id < $1.id } } }
    /// Problems met while loading the search path: files skipped, drivers rejected.
    public var diagnostics: [PluginLoadError] { lock.withLock { _diagnostics } }

    /// Where plugins are looked for, in order: `LITMUS_PLUGIN_PATH`, then `extra` (e.g.
    /// `--plugin-path`, or a station's plugin paths when allowed), then the directory of the
    /// running binary, then that of the binary holding the Litmus code when it is another one
    /// (a test bundle: the directory holding the `.xctest`). A package depending on Litmus gets
    /// its plugins built there by SwiftPM (docs/starter.md). Every entry must be absolute:
    /// ``loadSearchPath(_:)`` refuses the others.
    public static func searchPath(extra: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment)
        -> [String]
    {
        var path: [String] = []
        if let value = environment[pluginPathVariable] {
            path += value.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        path += extra
        if let exe = System.executablePath() {
            path.append((exe as NSString).deletingLastPathComponent)
        }
        if let image = System.imagePath(), image != System.executablePath() {
            path.append(buildDirectory(ofImage: image))
        }
        return path
    }

    /// The directory a plugin built with `image` sits in: the image's own directory, or, for a
    /// test bundle (`X.xctest/Contents/MacOS/X`), the directory holding the bundle.
    static func buildDirectory(ofImage image: String) -> String {
        var dir = (image as NSString).deletingLastPathComponent
        if dir.hasSuffix("/Contents/MacOS") {
            let bundle = ((dir as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
            if bundle.hasSuffix(".xctest") { dir = (bundle as NSString).deletingLastPathComponent }
        }
        return dir
    }

    /// `paths` made absolute against `directory` (the current directory by default): for
    /// paths named once, on a command line, whose meaning must not change later.
    public static func absolutePaths(_ paths: [String], relativeTo directory: String = FileManager.default.currentDirectoryPath)
        -> [String]
    {
        paths.map { $0.hasPrefix("/") ? $0 : (directory as NSString).appendingPathComponent($0) }
    }

    /// Whether a file in a search directory is taken as a plugin: `liblitmus-*.so`.
    public static func isPluginFileName(_ name: String) -> Bool {
        name.hasPrefix("liblitmus-") && (name.hasSuffix(".so") || name.hasSuffix(".dylib"))
    }

    /// Loads every plugin on the search path. Directories contribute their `liblitmus-*.so`
    /// files; files are loaded whatever their name. Problems are collected in ``diagnostics``,
    /// so one broken plugin does not hide the others.
    ///
    /// Refused, each with a diagnostic that says why and how to allow it, before any code of
    /// theirs runs: relative entries (`LITMUS_PLUGIN_PATH=.` would load whatever the current
    /// directory holds), and directories and files that someone other than root and this user
    /// could write (see ``PluginLoadError/Code/untrusted``).
    public func loadSearchPath(_ path: [String] = DriverRegistry.searchPath()) {
        var seenDirectories: Set<String> = []
        for entry in path {
            guard entry.hasPrefix("/") else {
                let error = PluginLoadError(
                    .relativeSearchPath, path: entry,
                    problem: "plugin search path entry '\(entry)' is relative, so what it loads depends on the "
                        + "current directory; refused",
                    fix: "write it as an absolute path in \(Self.pluginPathVariable) or --plugin-path "
                        + "(e.g. \(Self.pluginPathVariable)=$PWD/\(entry == "." ? "" : entry))")
                logger.debug("plugin search path entry refused: \(error)")
                lock.withLock { _diagnostics.append(error) }
                continue
            }
            switch System.fileKind(entry) {
            case .missing:
                logger.debug("plugin search path entry does not exist", metadata: ["path": .string(entry)])
            case .file:
                loadCollecting(entry)
            case .directory:
                let real = System.realPath(entry) ?? entry
                guard seenDirectories.insert(real).inserted else { continue }
                do {
                    try PluginTrust.check(directory: real)
                } catch {
                    logger.debug("plugin directory refused: \(error)")
                    lock.withLock { _diagnostics.append(error) }
                    continue
                }
                for name in System.directoryEntries(real) where Self.isPluginFileName(name) {
                    loadCollecting((real as NSString).appendingPathComponent(name))
                }
            }
        }
    }

    private func loadCollecting(_ path: String) {
        do {
            try loadPlugin(at: path)
        } catch {
            logger.debug("plugin rejected: \(error)")
            lock.withLock { _diagnostics.append(error) }
        }
    }

    /// Loads one plugin file and registers its drivers. The file and the directories above it
    /// are checked before it is opened (``PluginLoadError/Code/untrusted``).
    ///
    /// - Throws: ``PluginLoadError`` naming the file, the field and the fix. A driver id that
    ///   another loaded file already declares is rejected with both files named, and the id
    ///   becomes ambiguous: opening it fails until one file is removed.
    @discardableResult
    public func loadPlugin(at path: String) throws(PluginLoadError) -> LoadedPlugin {
        if let real = System.realPath(path), let existing = lock.withLock({ _plugins.first { $0.path == real } }) {
            return existing
        }
        let plugin = try PluginLoader.load(path: path, logger: logger)
        let conflict: (driver: String, other: String)? = lock.withLock {
            if _plugins.contains(where: { $0.path == plugin.path }) { return nil }
            for driver in plugin.drivers {
                if let other = _drivers[driver.id] {
                    ambiguous[driver.id] = [other.pluginPath, plugin.path]
                    return (driver.id, other.pluginPath)
                }
            }
            _plugins.append(plugin)
            for driver in plugin.drivers { _drivers[driver.id] = driver }
            return nil
        }
        if let conflict {
            throw PluginLoadError(
                .duplicateDriver, path: plugin.path, driverID: conflict.driver,
                problem: "driver id '\(conflict.driver)' is also declared by \(conflict.other)",
                fix: "remove one of the two files from the plugin path, or give one driver another id")
        }
        logger.debug(
            "plugin loaded",
            metadata: ["path": .string(plugin.path), "drivers": .string(plugin.drivers.map(\.id).joined(separator: ","))])
        return plugin
    }

    /// The driver with this id.
    ///
    /// - Throws: ``DriverError`` with status `.notFound` listing the drivers that exist, or
    ///   naming both files when two plugins declare the id.
    public func driver(id: String) throws -> DriverInfo {
        try lock.withLock {
            if let files = ambiguous[id] {
                throw DriverError(
                    .notFound,
                    "driver id '\(id)' is declared by two plugins: \(files.joined(separator: " and ")); remove one",
                    context: "driver registry")
            }
            guard let driver = _drivers[id] else {
                let known = _drivers.keys.sorted()
                let hint = Suggest.closest(to: id, in: known).map { " Did you mean '\($0)'?" } ?? ""
                throw DriverError(
                    .notFound,
                    "no driver '\(id)' is loaded.\(hint) Loaded drivers: \(known.isEmpty ? "none" : known.joined(separator: ", ")). "
                        + "Plugins are searched on \(Self.pluginPathVariable) and next to the running binary (a package using Litmus wraps each plugin it needs in a .dynamic product: docs/starter.md).",
                    context: "driver registry")
            }
            return driver
        }
    }

    /// The driver that opens `resource`, chosen by the scheme of the parsed resource name
    /// (`TCPIP0::10.0.0.5::INSTR` -> `TCPIP`, `SIM::dmm::INSTR` -> `SIM`).
    ///
    /// - Throws: ``DriverError`` when the resource does not parse, or when no driver or several
    ///   drivers claim the scheme; name the driver explicitly then.
    public func driver(forResource resource: String) throws -> DriverInfo {
        let name: ResourceName
        do {
            name = try ResourceName(parsing: resource)
        } catch {
            throw DriverError(.invalidArgument, "\(error)", context: "driver registry")
        }
        let drivers = self.drivers
        let matching = drivers.filter { $0.schemes.contains { $0.uppercased() == name.scheme } }
        if matching.count > 1, let chosen = preferredDriver(scheme: name.scheme, among: matching) {
            return chosen
        }
        switch matching.count {
        case 1:
            return matching[0]
        case 0:
            let schemes = Set(drivers.flatMap(\.schemes)).sorted()
            throw DriverError(
                .notFound,
                "no loaded driver opens '\(resource)' (scheme \(name.scheme)). Schemes served: \(schemes.isEmpty ? "none" : schemes.joined(separator: ", ")). "
                    + "Name a driver explicitly, or add its plugin to \(Self.pluginPathVariable).",
                context: "driver registry")
        default:
            throw DriverError(
                .invalidArgument,
                "several drivers open '\(resource)': \(matching.map(\.id).joined(separator: ", ")), and none has priority for "
                    + "\(name.scheme). Fix: name one with `driver:` in the station role (--driver on the command line), or set "
                    + "\(Self.schemeDriversVariable)=\(name.scheme)=<driver id>",
                context: "driver registry")
        }
    }

    /// The environment variable that says which driver opens a scheme's resources when several
    /// claim it: `LITMUS_SCHEME_DRIVERS=TCPIP=lan,ACME=acme-psu`.
    public static let schemeDriversVariable = "LITMUS_SCHEME_DRIVERS"

    /// The driver that opens each VISA interface's resources when another plugin claims the
    /// scheme too: Litmus's own transport. A plugin that also claims `TCPIP` therefore never
    /// takes over the TCPIP resources of stations that do not name it.
    public static let standardSchemeDrivers: [String: String] = [
        "TCPIP": "lan", "USB": "usbtmc", "ASRL": "serial", "SIM": "sim", "MOCK": "mock",
    ]

    /// Which driver has priority for a scheme several drivers claim: ``schemeDriversVariable``
    /// (set at init from the environment; assign to change), then ``standardSchemeDrivers``.
    public var schemePriorities: [String: String] {
        get { lock.withLock { _schemePriorities } }
        set { lock.withLock { _schemePriorities = Dictionary(newValue.map { ($0.key.uppercased(), $0.value) }, uniquingKeysWith: { $1 }) } }
    }

    /// `TCPIP=lan,ACME=acme-psu` as scheme -> driver id; malformed entries are skipped.
    static func parseSchemePriorities(_ text: String?) -> [String: String] {
        var out: [String: String] = [:]
        for entry in (text ?? "").split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty { out[parts[0].uppercased()] = parts[1] }
        }
        return out
    }

    /// The driver among `matching` (several claim `scheme`) that has priority, if any.
    func preferredDriver(scheme: String, among matching: [DriverInfo]) -> DriverInfo? {
        for id in [schemePriorities[scheme], Self.standardSchemeDrivers[scheme]].compactMap({ $0 }) {
            if let d = matching.first(where: { $0.id == id }) { return d }
        }
        return nil
    }

    /// A scheme several loaded drivers claim.
    public struct SchemeConflict: Sendable, Equatable {
        public var scheme: String
        /// Every driver claiming it, sorted.
        public var drivers: [String]
        /// The one that opens its resources when a role names none; nil: such a resource is
        /// an error until a role names its driver.
        public var preferred: String?
        /// Why `preferred` was chosen.
        public var reason: String
    }

    /// Schemes claimed by more than one loaded driver, and who wins each (for `drivers list`).
    public var schemeConflicts: [SchemeConflict] {
        let drivers = self.drivers
        var claims: [String: [String]] = [:]
        for d in drivers {
            for scheme in Set(d.schemes.map { $0.uppercased() }) { claims[scheme, default: []].append(d.id) }
        }
        let priorities = schemePriorities
        return claims.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map { scheme, ids in
            let matching = drivers.filter { ids.contains($0.id) }
            let chosen = preferredDriver(scheme: scheme, among: matching)?.id
            let reason: String
            if let chosen, priorities[scheme] == chosen {
                reason = "\(Self.schemeDriversVariable) names it"
            } else if chosen != nil {
                reason = "the Litmus transport for \(scheme)"
            } else {
                reason = "no driver has priority: roles must name one with `driver:`"
            }
            return SchemeConflict(scheme: scheme, drivers: ids.sorted(), preferred: chosen, reason: reason)
        }
    }

    /// Opens a session on `resource`.
    ///
    /// - Parameters:
    ///   - resource: a VISA-style resource string, e.g. `TCPIP0::10.0.0.5::5025::SOCKET`.
    ///   - driverID: the driver to use; by default the one whose scheme matches.
    ///   - options: open options, checked against the driver's declared options. The host
    ///     itself takes `read_termination` and `write_termination` when the driver does not
    ///     declare them.
    /// - Throws: ``DriverError`` naming the driver, the resource and what to fix.
    ///   - hostOperations: operations the host adds over the message interface (an
    ///     instrument profile's); the driver's own operations win on a name clash.
    public func open(
        _ resource: String, driver driverID: String? = nil, options: [String: InstrumentValue] = [:],
        hostOperations: [HostOperation] = []
    ) throws -> Instrument {
        let driver = try driverID.map { try self.driver(id: $0) } ?? self.driver(forResource: resource)
        // A driver that opens its instrument through the host I/O services resolves it here.
        return try HostIO.$openingRegistry.withValue(self) {
            try Instrument(driver: driver, resource: resource, options: options, hostOperations: hostOperations)
        }
    }
}

extension DriverRegistry {
    /// The id of the mock driver that stands in for real drivers.
    public static let mockDriverID = "mock"

    /// Opens a mock that answers `real`'s operation table, so a test written on the mock
    /// bench calls exactly what it will call on hardware.
    ///
    /// - Parameters:
    ///   - real: the driver the mock stands in for.
    ///   - name: the mock's name (its resource becomes `MOCK::<name>`).
    ///   - config: mock_config as a JSON object, operation name -> behaviour. Every key must be
    ///     an operation of `real`: a typo is an error here, not a silent default later.
    public func openMock(emulating real: DriverInfo, name: String, config: String = "{}") throws -> Instrument {
        try openMock(emulating: real, hostOperations: [], name: name, config: config)
    }

    /// Opens a mock that answers `real`'s operation table plus `hostOperations` (an
    /// instrument profile's), typed: void operations answer without configuration, the
    /// others from `config`, and a `config` key that names no operation is an error.
    ///
    /// - Parameters:
    ///   - identity: the mock's `*IDN?`-style identity, `Maker,Model,Serial,Firmware`.
    ///   - real: the driver the mock stands in for; nil when it is not loaded and the mock
    ///     answers `hostOperations` alone (a profile's operations).
    public func openMock(
        emulating real: DriverInfo?, hostOperations: [HostOperation], name: String, config: String = "{}",
        identity: String? = nil
    ) throws -> Instrument {
        let context = "mock for \(real?.id ?? "profile operations")"
        let object: JSONValue
        do {
            object = try JSONValue.parse(Array(config.utf8))
        } catch {
            throw DriverError(.invalidArgument, "mock config is not valid JSON: \(error)", context: context)
        }
        guard let keys = object.objectValue?.map(\.key) else {
            throw DriverError(.invalidArgument, "mock config must be a JSON object of operation -> behaviour", context: context)
        }
        let native = real?.operations ?? []
        let nativeNames = Set(native.map(\.name))
        let table = native + hostOperations.map(\.info).filter { !nativeNames.contains($0.name) }
        let names = table.map(\.name)
        for key in keys.sorted() where !names.contains(key) {
            let hint = Suggest.closest(to: key, in: names).map { " Did you mean '\($0)'?" } ?? ""
            throw DriverError(
                .invalidArgument,
                "mock config names '\(key)', which is not an operation of \(real.map { "driver '\($0.id)'" } ?? "the profile").\(hint) "
                    + "Operations: \(names.isEmpty ? "none" : names.joined(separator: ", "))",
                context: context)
        }
        let mock = try driver(id: Self.mockDriverID)
        var options: [String: InstrumentValue] = ["config": .string(config)]
        if mock.openOptions.contains(where: { $0.name == "operations" }) {
            options["operations"] = .string(
                "{" + table.map { "\(JSONText.quoted($0.name)):\(JSONText.quoted($0.result.description))" }.joined(separator: ",") + "}")
        }
        if let identity { options["identity"] = .string(identity) }
        return try Instrument(
            driver: mock, resource: "MOCK::\(name)", options: options, emulating: real, standIn: true,
            hostOperations: hostOperations)
    }
}

/// "Did you mean" suggestions.
public enum Suggest {
    /// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
    /// Words longer than ``maxWordBytes`` get no suggestion, and candidates whose length alone
    /// puts them too far are skipped, so the cost stays small for any input (the distance is
    /// quadratic: a 1 MB word took 40 s).
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let limit = max(2, word.count / 3)
        let length = word.utf8.count
        guard length <= maxWordBytes else { return nil }
        let scored = candidates.filter { abs($0.utf8.count - length) <= limit }
            .map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= limit ? best.0 : nil
    }

    /// The longest word ``closest(to:in:)`` looks for a typo of.
    public static let maxWordBytes = 256

    /// Levenshtein distance between two strings (bytes of their UTF-8).
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// A resource a driver reported it can open now.
public struct DiscoveredResource: Sendable, Hashable {
    public var driverID: String
    public var resource: String
    public var description: String
}

extension DriverInfo {
    /// Asks the driver which resources it can open now (USB devices, serial ports...).
    ///
    /// - Throws: ``DriverError`` with status `.unsupported` when the driver cannot discover.
    public func discover() throws -> [DiscoveredResource] {
        guard let fn = vtable.pointee.discover else {
            throw DriverError(.unsupported, "driver '\(id)' cannot discover resources", context: id)
        }
        final class Collector {
            var found: [(String, String)] = []
        }
        let collector = Collector()
        let slots = CallSlots()
        let status = PluginLoader.loaderLock.withLock {
            fn(
                descriptor,
                { ctx, resource, resourceLen, text, textLen in
                    guard let ctx else { return }
                    let collector = Unmanaged<Collector>.fromOpaque(ctx).takeUnretainedValue()
                    func decode(_ p: UnsafePointer<CChar>?, _ n: Int) -> String {
                        p.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: n), as: UTF8.self) } ?? ""
                    }
                    collector.found.append((decode(resource, resourceLen), decode(text, textLen)))
                }, Unmanaged.passUnretained(collector).toOpaque(), slots.errorPointer)
        }
        if status < 0 { throw slots.failure(status, context: "\(id) discover") }
        return collector.found.map { DiscoveredResource(driverID: id, resource: $0.0, description: $0.1) }
    }
}
