import Foundation
import Yams

/// Where something was written: for errors found after loading (cross-file checks, opening).
public struct ConfigLocation: Sendable, Hashable {
    public var file: String
    public var line: Int
    public var column: Int
    public var keyPath: String

    public init(file: String, line: Int = 0, column: Int = 0, keyPath: String = "") {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
    }

    init(_ node: ConfigNode) {
        self.init(file: node.file, line: node.line, column: node.column, keyPath: node.path)
    }

    /// An error located here.
    public func error(_ problem: String, fix: String = "") -> ConfigError {
        ConfigError(file: file, line: line, column: column, keyPath: keyPath, problem: problem, fix: fix)
    }
}

/// Source positions of a model's keys, by key path relative to the model (`resource`,
/// `options.timeout_ms`). Never part of a model's equality.
public struct ConfigLocations: Sendable, Equatable {
    var byKey: [String: ConfigLocation] = [:]
    /// The model itself.
    var root: ConfigLocation?

    public init() {}

    public static func == (a: ConfigLocations, b: ConfigLocations) -> Bool { true }

    /// The location of `key`, else of the model, else the file alone.
    public func callAsFunction(_ key: String = "", file: String = "") -> ConfigLocation {
        byKey[key] ?? root ?? ConfigLocation(file: file)
    }

    mutating func record(_ key: String, _ node: ConfigNode?) {
        if let node { byKey[key] = ConfigLocation(node) }
    }

    /// Records a mapping entry at its key's position, with the entry's full key path.
    mutating func record(_ key: String, entry: (key: String, keyNode: ConfigNode, value: ConfigNode)) {
        byKey[key] = ConfigLocation(file: entry.keyNode.file, line: entry.keyNode.line, column: entry.keyNode.column, keyPath: entry.value.path)
    }
}

/// One bench: its identity and its instruments by role (`stations/<id>.yaml`).
///
/// ```yaml
/// id: bench_mock
/// name: "Mock bench"
/// instruments:
///   dmm:
///     resource: "SIM::dmm::INSTR"     # the scheme (SIM) picks the driver
///     profile: generic_scpi_dmm        # operations from stations/profiles/generic_scpi_dmm.yaml
/// ```
public struct Station: Sendable, Equatable {
    public var id: String
    public var name: String
    /// The machine this bench runs on; informational (the run records the real host name).
    public var hostname: String?
    public var location: String?
    /// A free-form bench type (`rail_tester`), recorded with every run.
    public var stationType: String?
    public var description: String?
    /// Extra directories searched for driver plugins (relative to the station file).
    public var pluginPaths: [String]
    /// Directories searched for instrument profiles (relative to the station file); default
    /// `profiles`.
    public var profilePaths: [String]
    /// The default fixture file (relative to the station file).
    public var fixture: String?
    /// The default part (product spec) file (relative to the station file).
    public var part: String?
    /// Mock every role.
    public var mock: Bool
    /// The instruments, in the order they open.
    public var instruments: [StationInstrument]
    /// The file it was read from; "" when built in code.
    public var file: String = "" {
        didSet { fileDirectory = file.isEmpty ? nil : Self.absoluteDirectory(of: file) }
    }
    /// The absolute directory of `file`, fixed when `file` is set (so a later change of the
    /// working directory, or a file named without a directory, cannot change it).
    private var fileDirectory: String?
    public var locations = ConfigLocations()

    public init(
        id: String, name: String, hostname: String? = nil, location: String? = nil, stationType: String? = nil,
        description: String? = nil, pluginPaths: [String] = [], profilePaths: [String] = ["profiles"],
        fixture: String? = nil, part: String? = nil, mock: Bool = false, instruments: [StationInstrument] = []
    ) {
        self.id = id
        self.name = name
        self.hostname = hostname
        self.location = location
        self.stationType = stationType
        self.description = description
        self.pluginPaths = pluginPaths
        self.profilePaths = profilePaths
        self.fixture = fixture
        self.part = part
        self.mock = mock
        self.instruments = instruments
    }

    public static func == (a: Station, b: Station) -> Bool {
        a.id == b.id && a.name == b.name && a.hostname == b.hostname && a.location == b.location
            && a.stationType == b.stationType && a.description == b.description && a.pluginPaths == b.pluginPaths
            && a.profilePaths == b.profilePaths && a.fixture == b.fixture && a.part == b.part && a.mock == b.mock
            && a.instruments == b.instruments
    }

    /// The instrument of `role`.
    public func instrument(_ role: String) -> StationInstrument? { instruments.first { $0.role == role } }

    /// The absolute directory of the station file, against which its relative paths (and
    /// `${station_dir}` in option values) resolve; the working directory for a station built
    /// in code.
    public var directory: String {
        fileDirectory ?? FileManager.default.currentDirectoryPath
    }

    /// `path` resolved against the station's directory (absolute paths unchanged).
    public func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return (directory as NSString).appendingPathComponent(path)
    }

    /// The absolute directory of `file` (relative to the working directory when relative).
    static func absoluteDirectory(of file: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let absolute = file.hasPrefix("/") ? file : (cwd as NSString).appendingPathComponent(file)
        // `.` and `..` removed, symbolic links kept (the path the user named).
        return URL(fileURLWithPath: (absolute as NSString).deletingLastPathComponent).standardized.path
    }

    static let keys = [
        "id", "name", "hostname", "location", "station_type", "description", "plugin_paths", "profile_paths",
        "fixture", "part", "mock", "instruments",
    ]

    /// Reads a station from its YAML root. Problems go to `reader`; nil when the station
    /// cannot be used at all.
    public static func parse(_ root: ConfigNode, reader: ConfigReader) -> Station? {
        reader.collect { () throws -> Station? in
            let m = try root.mapping("a station mapping (id, name, instruments...)", allowed: keys)
            let stem = ((root.file as NSString).lastPathComponent as NSString).deletingPathExtension
            let id = reader.collect { try m.checkID(stem, what: "station") } ?? stem
            let name = try m.required("name", "a display name for the bench", example: "\"Line 2 / Bench 3\"").string()
            var station = Station(
                id: id, name: name,
                hostname: try m["hostname"]?.string(),
                location: try m["location"]?.string(),
                stationType: try m["station_type"]?.string(),
                description: try m["description"]?.string(),
                pluginPaths: try m["plugin_paths"]?.listOrSingle().map { (n) throws(ConfigError) -> String in try n.string("a directory") } ?? [],
                profilePaths: try m["profile_paths"]?.listOrSingle().map { (n) throws(ConfigError) -> String in try n.string("a directory") } ?? ["profiles"],
                fixture: try m["fixture"]?.string("a fixture file path"),
                part: try m["part"]?.string("a part file path"),
                mock: try m["mock"]?.bool() ?? false)
            station.file = root.file
            station.locations.root = ConfigLocation(root)
            for key in ["fixture", "part", "plugin_paths", "profile_paths", "mock"] { station.locations.record(key, m[key]) }
            if let list = m["instruments"] {
                station.locations.record("instruments", list)
                let entries = try list.entries("a mapping from role to instrument, e.g. `dmm: {resource: ...}`")
                for entry in entries {
                    guard StationInstrument.isValidRole(entry.key) else {
                        reader.fail(
                            entry.keyNode.error(
                                "\"\(entry.key)\" is not a valid role name",
                                fix: "use lower-case letters, digits and _ (e.g. dmm, psu_main), starting with a letter"))
                        continue
                    }
                    if let instrument = reader.collect({ try StationInstrument.parse(entry.value, role: entry.key) }) {
                        station.instruments.append(instrument)
                    }
                }
            }
            return station
        } ?? nil
    }

    /// Reads a station file. Problems go to `reader`.
    public static func load(path: String, reader: ConfigReader) -> Station? {
        guard let root = reader.collect({ try reader.load(path) }) else { return nil }
        return parse(root, reader: reader)
    }

    /// This station as YAML (reads back to an equal station).
    public var yaml: Node {
        ConfigEncoding.map([
            ("id", ConfigEncoding.text(id)),
            ("name", ConfigEncoding.text(name)),
            ("hostname", ConfigEncoding.text(hostname)),
            ("location", ConfigEncoding.text(location)),
            ("station_type", ConfigEncoding.text(stationType)),
            ("description", ConfigEncoding.text(description)),
            ("plugin_paths", ConfigEncoding.nonEmptyList(pluginPaths.map { ConfigEncoding.text($0) })),
            ("profile_paths", profilePaths == ["profiles"] ? nil : ConfigEncoding.list(profilePaths.map { ConfigEncoding.text($0) })),
            ("fixture", ConfigEncoding.text(fixture)),
            ("part", ConfigEncoding.text(part)),
            ("mock", ConfigEncoding.flag(mock)),
            ("instruments", instruments.isEmpty ? nil : Node(instruments.map { (Node($0.role), $0.yaml) })),
        ])
    }
}

/// One instrument of a station, by role.
public struct StationInstrument: Sendable, Equatable {
    /// The role: how tests and fixtures name this instrument (`dmm`, `psu`).
    public var role: String
    /// The instrument class (`dmm`, `psu`, `eload`, `switch`...), informational.
    public var type: String?
    /// The driver id; nil to choose it by the resource's scheme.
    public var driver: String?
    /// A VISA-style resource string.
    public var resource: String?
    /// An instrument profile id: operations mapped to SCPI commands.
    public var profile: String?
    /// Open options, typed against the driver's declared options when the station is checked.
    public var options: [ConfigEntry]
    /// Always mock this role.
    public var mock: Bool
    /// What the mock answers, by operation (checked against the real operation table).
    public var mockConfig: [ConfigEntry]
    /// The identity this role must have (compared with the instrument's `*IDN?`).
    public var identity: InstrumentIdentity?
    public var calibration: Calibration?
    public var description: String?
    public var locations = ConfigLocations()

    public init(
        role: String, type: String? = nil, driver: String? = nil, resource: String? = nil, profile: String? = nil,
        options: [ConfigEntry] = [], mock: Bool = false, mockConfig: [ConfigEntry] = [],
        identity: InstrumentIdentity? = nil, calibration: Calibration? = nil, description: String? = nil
    ) {
        self.role = role
        self.type = type
        self.driver = driver
        self.resource = resource
        self.profile = profile
        self.options = options
        self.mock = mock
        self.mockConfig = mockConfig
        self.identity = identity
        self.calibration = calibration
        self.description = description
    }

    static let keys = [
        "type", "driver", "resource", "profile", "options", "mock", "mock_config", "identity", "calibration", "description",
    ]

    static func isValidRole(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    static func parse(_ node: ConfigNode, role: String) throws(ConfigError) -> StationInstrument {
        let m = try node.mapping("an instrument mapping (driver, resource, profile, options...)", allowed: keys)
        var inst = StationInstrument(role: role)
        inst.locations.root = ConfigLocation(node)
        inst.type = try m["type"]?.string("an instrument type such as dmm")
        inst.driver = try m["driver"]?.string("a driver id such as sim")
        inst.resource = try m["resource"]?.string("a VISA resource string")
        inst.profile = try m["profile"]?.string("an instrument profile id")
        inst.mock = try m["mock"]?.bool() ?? false
        inst.description = try m["description"]?.string()
        for key in ["type", "driver", "resource", "profile", "mock", "options", "mock_config", "identity", "calibration"] {
            inst.locations.record(key, m[key])
        }
        if let options = m["options"] {
            for entry in try options.entries("a mapping of open options, e.g. `{timeout_ms: 2000}`") {
                inst.options.append(ConfigEntry(key: entry.key, value: try ConfigValue(entry.value)))
                inst.locations.record("options.\(entry.key)", entry: entry)
            }
        }
        if let config = m["mock_config"] {
            for entry in try config.entries("a mapping from operation to what the mock answers, e.g. `{measure_dc_voltage: 5.0}`") {
                inst.mockConfig.append(ConfigEntry(key: entry.key, value: try ConfigValue(entry.value)))
                inst.locations.record("mock_config.\(entry.key)", entry: entry)
            }
        }
        if let id = m["identity"] {
            let im = try id.mapping("an identity mapping", allowed: ["manufacturer", "model", "serial", "firmware"])
            inst.identity = InstrumentIdentity(
                manufacturer: try im["manufacturer"]?.text("text"), model: try im["model"]?.text("text"),
                serial: try im["serial"]?.text("text"), firmware: try im["firmware"]?.text("text"))
        }
        if let cal = m["calibration"] {
            inst.calibration = try Calibration.parse(cal)
        }
        if !inst.mock && inst.resource == nil {
            throw node.error(
                "a real instrument needs a `resource`",
                fix: "add e.g. `resource: \"TCPIP0::192.168.1.20::INSTR\"`, or `mock: true` for a role without hardware")
        }
        return inst
    }

    /// This instrument as YAML.
    public var yaml: Node {
        ConfigEncoding.map([
            ("type", ConfigEncoding.text(type)),
            ("driver", ConfigEncoding.text(driver)),
            ("resource", ConfigEncoding.text(resource)),
            ("profile", ConfigEncoding.text(profile)),
            ("options", options.isEmpty ? nil : ConfigValue.map(options).yaml),
            ("mock", ConfigEncoding.flag(mock)),
            ("mock_config", mockConfig.isEmpty ? nil : ConfigValue.map(mockConfig).yaml),
            (
                "identity",
                identity.map {
                    ConfigEncoding.map([
                        ("manufacturer", ConfigEncoding.text($0.manufacturer)), ("model", ConfigEncoding.text($0.model)),
                        ("serial", ConfigEncoding.text($0.serial)), ("firmware", ConfigEncoding.text($0.firmware)),
                    ])
                }
            ),
            ("calibration", calibration?.yaml),
            ("description", ConfigEncoding.text(description)),
        ])
    }
}

/// An instrument's calibration record.
public struct Calibration: Sendable, Equatable {
    /// When the next calibration is due.
    public var due: ConfigDate?
    /// When it was last calibrated.
    public var last: ConfigDate?
    public var certificate: String?
    public var lab: String?

    /// How many days before the due date a warning starts.
    public static let warningDays = 30

    public init(due: ConfigDate? = nil, last: ConfigDate? = nil, certificate: String? = nil, lab: String? = nil) {
        self.due = due
        self.last = last
        self.certificate = certificate
        self.lab = lab
    }

    /// The state of the calibration on `today`.
    public enum Status: Sendable, Equatable {
        case valid(daysLeft: Int)
        case dueSoon(daysLeft: Int)
        case expired(daysOverdue: Int)
        case unknown
    }

    public func status(on today: ConfigDate = .today()) -> Status {
        guard let due else { return .unknown }
        let left = today.days(until: due)
        if left < 0 { return .expired(daysOverdue: -left) }
        if left <= Self.warningDays { return .dueSoon(daysLeft: left) }
        return .valid(daysLeft: left)
    }

    static func parse(_ node: ConfigNode) throws(ConfigError) -> Calibration {
        let m = try node.mapping("a calibration mapping (due, last, certificate, lab)", allowed: ["due", "last", "certificate", "lab"])
        let cal = Calibration(
            due: try m["due"]?.date(), last: try m["last"]?.date(), certificate: try m["certificate"]?.text("text"),
            lab: try m["lab"]?.text("text"))
        if let due = cal.due, let last = cal.last, last > due {
            throw node.error("the last calibration (\(last)) is after the due date (\(due))", fix: "check both dates")
        }
        return cal
    }

    var yaml: Node {
        ConfigEncoding.map([
            ("due", due.map { Node($0.description) }),
            ("last", last.map { Node($0.description) }),
            ("certificate", ConfigEncoding.text(certificate)),
            ("lab", ConfigEncoding.text(lab)),
        ])
    }
}
