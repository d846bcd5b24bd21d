import Foundation
import LitmusJSON

/// A station with its fixture, part and instrument profiles, loaded together and checked
/// against each other and against the loaded driver plugins.
///
/// ```swift
/// let registry = DriverRegistry()
/// let (config, report) = StationConfiguration.load(station: "stations/bench_mock.yaml", registry: registry)
/// print(report)                       // located errors and warnings
/// let bench = try config!.open()      // roles open in order
/// let volts = try bench.instrument("dmm").call("measure_dc_voltage")
/// ```
public struct StationConfiguration: Sendable {
    public var station: Station
    public var fixture: Fixture?
    public var part: Part?
    /// The profiles the roles name, by id.
    public var profiles: [String: InstrumentProfile]
    /// Every role, resolved: driver, canonical resource, typed options, mock table.
    public var roles: [ResolvedInstrument]
    /// The registry the drivers came from.
    public let registry: DriverRegistry
    /// The profiles and simulated-device files named by name, each with where it was found
    /// (the project, `LITMUS_PROFILE_PATH`, or the built-ins), in the order the roles named them.
    public var catalogEntries: [BuiltinCatalog.Entry] = []

    /// The resolved role `role`.
    public func role(_ role: String) -> ResolvedInstrument? { roles.first { $0.role == role } }

    /// What decides whether roles are mocked.
    public struct MockSelection: Sendable, Equatable {
        /// Mock every role (`--mock`, `LITMUS_MOCK=1`, or the station's `mock: true`).
        public var all: Bool
        public init(all: Bool = false) { self.all = all }

        /// The environment variable that mocks every role when it is `1` or `true`.
        public static let environmentVariable = "LITMUS_MOCK"

        /// `--mock` given on the command line, else the environment variable.
        public static func from(flag: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> MockSelection {
            let env = environment[environmentVariable].map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
            return MockSelection(all: flag || env)
        }
    }

    /// Where profile files are searched besides the station's `profile_paths`.
    public static let profilePathVariable = "LITMUS_PROFILE_PATH"

    /// The environment variable that allows a station file's `plugin_paths` to be loaded when
    /// it is `1`, `true` or `yes` (as `--allow-station-plugins` does on the command line).
    ///
    /// Off by default: a plugin runs code as soon as it is loaded, so a station file that names
    /// plugin directories would make `litmus station check` run code from wherever the file
    /// points. Without the opt-in the station's `plugin_paths` are not loaded and a warning at
    /// the key says how to allow them.
    public static let allowStationPluginsVariable = "LITMUS_ALLOW_STATION_PLUGINS"

    /// Whether a station's `plugin_paths` are loaded: `allow`, else the environment variable.
    static func stationPluginsAllowed(_ allow: Bool, environment: [String: String]) -> Bool {
        allow || environment[allowStationPluginsVariable].map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
    }

    /// Loads a station file, its fixture and part (the given paths, else the station's
    /// `fixture:` and `part:`), and the profiles its roles name; loads the station's plugin
    /// paths into `registry` when allowed; checks everything. Returns nil when the station
    /// itself cannot be read; the report holds every located error and warning.
    ///
    /// - Parameter allowStationPlugins: load the directories the station's `plugin_paths`
    ///   name (else only when ``allowStationPluginsVariable`` is set in `environment`).
    public static func load(
        station path: String, fixture fixturePath: String? = nil, part partPath: String? = nil,
        registry: DriverRegistry, mock: MockSelection = MockSelection(), allowStationPlugins: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (StationConfiguration?, ConfigReport) {
        let reader = ConfigReader()
        guard let station = Station.load(path: path, reader: reader) else { return (nil, reader.report) }
        let config = build(
            station: station, fixturePath: fixturePath, partPath: partPath, registry: registry, mock: mock,
            allowStationPlugins: allowStationPlugins, environment: environment, reader: reader)
        return (config, reader.report)
    }

    /// Checks an already-read station (and optional fixture and part) the same way.
    public static func check(
        station: Station, fixture: Fixture? = nil, part: Part? = nil, registry: DriverRegistry,
        mock: MockSelection = MockSelection(), allowStationPlugins: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (StationConfiguration, ConfigReport) {
        let reader = ConfigReader()
        let config = build(
            station: station, fixtureValue: fixture, partValue: part, fixturePath: nil, partPath: nil, registry: registry,
            mock: mock, allowStationPlugins: allowStationPlugins, environment: environment, reader: reader)
        return (config, reader.report)
    }

    /// Loads the directories of the station's `plugin_paths` (absolute, relative to the station
    /// file) when `allowed`; else warns at the key and loads nothing.
    private static func loadStationPlugins(
        _ station: Station, registry: DriverRegistry, allowed: Bool, environment: [String: String], reader: ConfigReader
    ) {
        let at = station.locations("plugin_paths", file: station.file)
        let dirs = DriverRegistry.absolutePaths(station.pluginPaths.map(station.resolve))
        guard allowed else {
            reader.warn(
                at.error(
                    "plugins named by a station file are not loaded without an opt-in, so \(dirs.joined(separator: ", ")) "
                        + "\(dirs.count == 1 ? "was" : "were") not searched: a plugin runs code as soon as it is loaded, "
                        + "and a station file may come from anywhere",
                    fix: "if you trust this station file, pass --allow-station-plugins (or set "
                        + "\(allowStationPluginsVariable)=1, or allowStationPlugins: true); or install the plugins on "
                        + "\(DriverRegistry.pluginPathVariable) and drop plugin_paths"))
            return
        }
        for dir in dirs where !FileManager.default.fileExists(atPath: dir) {
            reader.warn(at.error("plugin directory \(dir) does not exist", fix: "create it or remove it from plugin_paths"))
        }
        registry.loadSearchPath(DriverRegistry.searchPath(extra: dirs, environment: environment))
    }

    private static func build(
        station: Station, fixtureValue: Fixture? = nil, partValue: Part? = nil, fixturePath: String?, partPath: String?,
        registry: DriverRegistry, mock: MockSelection, allowStationPlugins: Bool, environment: [String: String],
        reader: ConfigReader
    ) -> StationConfiguration {
        // Plugins named by the station: only with the opt-in, as they run code when loaded.
        let before = registry.diagnostics.count
        if !station.pluginPaths.isEmpty {
            loadStationPlugins(
                station, registry: registry, allowed: stationPluginsAllowed(allowStationPlugins, environment: environment),
                environment: environment, reader: reader)
        }
        for problem in registry.diagnostics.dropFirst(before) {
            reader.warn(station.locations("plugin_paths", file: station.file).error("plugin not loaded: \(problem)"))
        }

        // Part and fixture. A file named in the station is reported at its key when missing.
        var fixture = fixtureValue
        if fixture == nil, let p = fixturePath ?? station.fixture.map(station.resolve) {
            let reference = fixturePath == nil ? station.locations("fixture", file: station.file) : nil
            fixture = Fixture.load(path: p, reader: reader, from: reference)
        }
        var part = partValue
        // Whether a part file was named (then its own errors explain a missing part).
        var partNamed = false
        if part == nil {
            if let p = partPath ?? station.part.map(station.resolve) {
                partNamed = true
                let reference = partPath == nil ? station.locations("part", file: station.file) : nil
                part = PartLoader.load(path: p, reader: reader, from: reference)
            } else if let id = fixture?.part {
                let p = station.resolve("parts/\(id).yaml")
                if FileManager.default.fileExists(atPath: p) {
                    partNamed = true
                    part = PartLoader.load(path: p, reader: reader, from: fixture!.locations("part", file: fixture!.file))
                } else {
                    reader.warn(
                        fixture!.locations("part", file: fixture!.file).error(
                            "the fixture names part \"\(id)\" but \(p) does not exist, so connection pins are not checked",
                            fix: "add the part file, or pass --part"))
                }
            }
        }

        // Profiles and roles. A profile name is looked up in the project, on LITMUS_PROFILE_PATH,
        // then among the built-ins (BuiltinCatalog).
        let profileDirs = station.profilePaths.map(station.resolve)
        let environmentDirs = environment[profilePathVariable]?.split(separator: ":").map(String.init) ?? []
        var profiles: [String: InstrumentProfile] = [:]
        var catalog: [BuiltinCatalog.Entry] = []
        var roles: [ResolvedInstrument] = []
        for inst in station.instruments {
            var profile: InstrumentProfile?
            if let id = inst.profile {
                if let loaded = profiles[id] {
                    profile = loaded
                } else if let entry = BuiltinCatalog.find(
                    .profile, name: id, projectDirectories: profileDirs, environmentDirectories: environmentDirs,
                    environment: environment)
                {
                    profile = InstrumentProfile.load(path: entry.path, reader: reader, from: inst.locations("profile", file: station.file))
                    profiles[id] = profile
                    catalog.append(entry)
                } else {
                    let searched = BuiltinCatalog.searchDirectories(
                        .profile, projectDirectories: profileDirs, environmentDirectories: environmentDirs, environment: environment)
                    let known = BuiltinCatalog.names(
                        .profile, projectDirectories: profileDirs, environmentDirectories: environmentDirs, environment: environment)
                    let hint = Suggest.closest(to: id, in: known).map { "did you mean \"\($0)\"? " } ?? ""
                    reader.fail(
                        inst.locations("profile", file: station.file).error(
                            "no instrument profile \"\(id)\" in \(searched.map(\.directory).joined(separator: ", "))",
                            fix: "\(hint)profiles found: \(known.isEmpty ? "none" : known.joined(separator: ", ")); add \(id).yaml to a profile directory or set profile_paths"))
                    continue
                }
                if profile == nil { continue }
            }
            if let role = ResolvedInstrument.resolve(
                inst, station: station, profile: profile, registry: registry, mockAll: mock.all || station.mock,
                environment: environment, catalog: &catalog, reader: reader)
            {
                roles.append(role)
            }
        }
        var config = StationConfiguration(station: station, fixture: fixture, part: part, profiles: profiles, roles: roles, registry: registry)
        config.catalogEntries = catalog
        config.checkFixture(reader: reader, partNamed: partNamed)
        config.checkTraceability(reader: reader)
        return config
    }

    /// Warns about every characteristic of the part whose measurements the harness could not
    /// trace to one fixture connection at some site (a pin or net with several connections that
    /// the characteristic's function does not pick between, a net-only connection on a net
    /// several pins share): such measurements would record no instrument or no pin.
    private func checkTraceability(reader: ConfigReader) {
        guard let fixture, let part, !fixture.sites.isEmpty else { return }
        for site in fixture.sites {
            for c in part.characteristics {
                let subject = c.pins.first.map { "pin \($0)" } ?? c.net.map { "net \($0)" } ?? ""
                let touching = connections(for: c, at: site)
                // Where to point: the first connection involved, else the fixture.
                let location = touching.first.map { $0.locations("", file: fixture.file) } ?? fixture.locations("", file: fixture.file)
                do {
                    guard let traced = try trace(c, site: site.index) else { continue }
                    for note in traced.notes {
                        reader.warn(location.error("characteristic \(c.id) (\(subject)): \(note)"))
                    }
                } catch {
                    // A characteristic no connection reaches is measured some other way (the
                    // DUT's own readback, a manual entry); only ambiguity is a silent gap.
                    guard touching.count > 1 else { continue }
                    reader.warn(location.error("characteristic \(c.id) (\(subject)): \(error.message)"))
                }
            }
        }
    }

    /// Cross-file checks of the fixture: roles exist in the station, channels are valid for the
    /// role, pins exist in the part, the part is the fixture's. `partNamed`: a part file was
    /// named but did not load (its own located errors say why, so no "no part" hint).
    private func checkFixture(reader: ConfigReader, partNamed: Bool) {
        guard let fixture else { return }
        if let part, let named = fixture.part, named != part.id {
            reader.fail(
                fixture.locations("part", file: fixture.file).error(
                    "the fixture is wired for part \"\(named)\" but the part loaded is \"\(part.id)\"",
                    fix: "load the fixture's part, or use the fixture made for \(part.id)"))
        }
        let roleNames = station.instruments.map(\.role)
        for site in fixture.sites {
            for c in site.connections {
                let at = { (key: String) in c.locations(key, file: fixture.file) }
                guard let inst = station.instrument(c.role) else {
                    let hint = Suggest.closest(to: c.role, in: roleNames).map { "did you mean \"\($0)\"? " } ?? ""
                    reader.fail(
                        at("instrument").error(
                            "connection \"\(c.name)\" uses role \"\(c.role)\", which station \(station.id) does not have",
                            fix: "\(hint)roles: \(roleNames.joined(separator: ", "))"))
                    continue
                }
                if let channel = c.channel, let resolved = role(inst.role), let valid = resolved.channels,
                    !valid.contains(ChannelRule.normalized(channel, among: valid))
                {
                    let hint = Suggest.closest(to: channel, in: valid).map { "did you mean \"\($0)\"? " } ?? ""
                    reader.fail(
                        at("channel").error(
                            "channel \"\(channel)\" is not a channel of role \(inst.role) (\(resolved.channelSource))",
                            fix: "\(hint)channels: \(valid.joined(separator: ", "))"))
                }
                if let route = c.route {
                    if let sw = station.instrument(route.switchRole) {
                        if let resolved = role(sw.role), let valid = resolved.channels {
                            for ch in route.channels where !valid.contains(ch) {
                                reader.fail(
                                    at("route.channels").error(
                                        "switch channel \"\(ch)\" is not a channel of role \(sw.role) (\(resolved.channelSource))",
                                        fix: "channels: \(valid.prefix(20).joined(separator: ", "))\(valid.count > 20 ? "..." : "")"))
                            }
                        }
                    } else {
                        let hint = Suggest.closest(to: route.switchRole, in: roleNames).map { "did you mean \"\($0)\"? " } ?? ""
                        reader.fail(
                            at("route.switch").error(
                                "the route of connection \"\(c.name)\" uses switch role \"\(route.switchRole)\", which the station does not have",
                                fix: "\(hint)roles: \(roleNames.joined(separator: ", "))"))
                    }
                }
                if let pin = c.pin {
                    if let part {
                        if part.pin(pin) == nil {
                            let keys = part.pins.map(\.key)
                            let byDesignator = part.pin(designator: pin)
                            let hint = byDesignator.map { "\"\(pin)\" is the designator of pin \($0.key); connections name pin keys. " }
                                ?? Suggest.closest(to: pin, in: keys).map { "did you mean \"\($0)\"? " } ?? ""
                            reader.fail(
                                at("pin").error(
                                    "connection \"\(c.name)\" names pin \"\(pin)\", which part \(part.id) does not have",
                                    fix: "\(hint)pins: \(keys.joined(separator: ", "))"))
                        }
                    }
                }
            }
        }
        if part == nil && !partNamed,
            let first = fixture.sites.lazy.flatMap(\.connections).first(where: { $0.pin != nil })
        {
            reader.warn(
                first.locations("pin", file: fixture.file).error(
                    "no part is loaded, so the fixture's pins are not checked", fix: "pass --part or set `part:` in the station or fixture"))
        }
    }
}

/// One station role, resolved against the plugins and its profile: what opening it needs.
public struct ResolvedInstrument: Sendable {
    /// The role's configuration as written.
    public var config: StationInstrument
    public var role: String { config.role }
    /// The driver that opens it; nil only for a mocked role whose driver is not loaded.
    public var driver: DriverInfo?
    /// The parsed resource; nil for a mock-only role.
    public var resource: ResourceName?
    /// The canonical resource string (the lock key and what the data records); `MOCK::<role>`
    /// for a mock-only role.
    public var canonicalResource: String
    public var profile: InstrumentProfile?
    /// Open options, typed against the driver's declarations.
    public var options: [String: InstrumentValue]
    /// Whether the role opens as a mock.
    public var mocked: Bool
    /// The role's mock_config as the mock driver's JSON, typed by the operation table.
    public var mockConfigJSON: String
    /// The operations the role answers: the driver's, then the profile's.
    public var operations: [OperationInfo]
    /// The profile's operations, run by the host over the driver's message interface.
    public var hostOperations: [HostOperation]
    /// The valid channel names, when known (the profile's `channels`, else the choices of the
    /// driver's channel parameters).
    public var channels: [String]?
    /// Where `channels` came from, for messages.
    public var channelSource: String

    static func resolve(
        _ inst: StationInstrument, station: Station, profile: InstrumentProfile?, registry: DriverRegistry, mockAll: Bool,
        environment: [String: String], catalog: inout [BuiltinCatalog.Entry], reader: ConfigReader
    ) -> ResolvedInstrument? {
        let file = station.file
        let at = { (key: String) in inst.locations(key, file: file) }
        let mocked = mockAll || inst.mock
        var ok = true

        // Resource.
        var resource: ResourceName?
        if let text = inst.resource {
            do {
                resource = try ResourceName(parsing: text)
            } catch {
                reader.fail(at("resource").error("\(error.problem) in resource \"\(text)\"", fix: "expected \(error.expected), e.g. \(error.example)"))
                ok = false
            }
        }

        // Driver.
        var driver: DriverInfo?
        do {
            if let id = inst.driver {
                driver = try registry.driver(id: id)
                if let resource, !driver!.schemes.contains(where: { $0.uppercased() == resource.scheme }) {
                    reader.fail(
                        at("driver").error(
                            "driver \"\(id)\" opens \(driver!.schemes.joined(separator: ", ")) resources, not \(resource.scheme)",
                            fix: "choose the driver for \(resource.scheme), or leave `driver` out to pick it by the resource"))
                    ok = false
                }
            } else if let resource {
                driver = try registry.driver(forResource: resource.canonical)
            }
        } catch let e as DriverError {
            let key = inst.driver != nil ? "driver" : "resource"
            if mocked && profile != nil {
                reader.warn(at(key).error("\(e.message); the mock answers the profile's operations only", fix: "install the plugin to check mock_config against the driver too"))
            } else if mocked && inst.driver == nil && inst.resource == nil {
                // A mock-only role without a driver: it answers mock_config alone.
            } else {
                reader.fail(at(key).error(e.message))
                ok = false
            }
        } catch {
            reader.fail(at("driver").error("\(error)"))
            ok = false
        }
        if let driver, profile != nil, !driver.isMessageBased {
            reader.fail(
                at("profile").error(
                    "driver \"\(driver.id)\" is not message-based, so a profile (SCPI commands) cannot drive it",
                    fix: "use the driver's own operations, or a message-based driver (LAN, USBTMC, serial, sim)"))
            ok = false
        }
        if let driver, let type = inst.type, !driver.instrumentTypes.isEmpty, !driver.instrumentTypes.contains(type),
            !(profile?.instrumentTypes.contains(type) ?? false),
            !(InstrumentClass.named(type).map { c in
                InstrumentClass.declared(by: driver).classes.contains(c) || (profile?.classes.contains(c.id) ?? false)
            } ?? false)
        {
            reader.warn(at("type").error("driver \"\(driver.id)\" declares types \(driver.instrumentTypes.joined(separator: ", ")), not \(type)"))
        }

        // Options, typed against the driver's declarations.
        var options: [String: InstrumentValue] = [:]
        if !inst.options.isEmpty {
            if let driver {
                let declared = driver.openOptions + (driver.isMessageBased ? Instrument.hostOptions.filter { h in !driver.openOptions.contains { $0.name == h.name } } : [])
                for entry in inst.options {
                    let loc = at("options.\(entry.key)")
                    guard let param = declared.first(where: { $0.name == entry.key }) else {
                        let names = declared.map(\.name)
                        let hint = Suggest.closest(to: entry.key, in: names).map { "did you mean \"\($0)\"? " } ?? ""
                        reader.fail(loc.error("driver \"\(driver.id)\" has no open option \"\(entry.key)\"", fix: "\(hint)options: \(names.joined(separator: ", "))"))
                        ok = false
                        continue
                    }
                    var value = entry.value
                    if case .scalar(let text, let quoted) = value, text.contains("${station_dir}") {
                        value = .scalar(text.replacingOccurrences(of: "${station_dir}", with: station.directory), quoted: quoted)
                    }
                    // The sim driver's device file by name: sim/<name>.yaml beside the station, else built in.
                    if driver.id == BuiltinCatalog.simDriverID, entry.key == "description", case .scalar(let text, let quoted) = value,
                        BuiltinCatalog.isName(text)
                    {
                        let projectDirs = [station.resolve(BuiltinCatalog.Kind.simulatedDevices.folder)]
                        guard let found = BuiltinCatalog.find(.simulatedDevices, name: text, projectDirectories: projectDirs, environment: environment) else {
                            let known = BuiltinCatalog.names(.simulatedDevices, projectDirectories: projectDirs, environment: environment)
                            let hint = Suggest.closest(to: text, in: known).map { "did you mean \"\($0)\"? " } ?? ""
                            let searched = BuiltinCatalog.searchDirectories(.simulatedDevices, projectDirectories: projectDirs, environment: environment)
                            reader.fail(
                                loc.error(
                                    "no simulated-device file \"\(text)\" in \(searched.map(\.directory).joined(separator: ", "))",
                                    fix: "\(hint)device files found: \(known.isEmpty ? "none" : known.joined(separator: ", ")); add sim/\(text).yaml beside the station, or give a path"))
                            ok = false
                            continue
                        }
                        if !catalog.contains(found) { catalog.append(found) }
                        value = .scalar(found.path, quoted: quoted)
                    }
                    switch value.converted(to: param.type) {
                    case .failure(let p):
                        reader.fail(loc.error("option \(entry.key): \(p.problem)", fix: p.fix.isEmpty ? "\(param.signature)" : p.fix))
                        ok = false
                    case .success(let v):
                        do {
                            options[entry.key] = try ArgumentChecker.check(v, against: param, what: "open option", context: driver.id)
                        } catch let e as DriverError {
                            reader.fail(loc.error(e.message))
                            ok = false
                        } catch {
                            reader.fail(loc.error("\(error)"))
                            ok = false
                        }
                    }
                }
            } else if !mocked {
                ok = false
            }
        }

        // The classes the driver declares: its own operations must conform.
        if let driver {
            for line in InstrumentClass.problems(of: driver) {
                reader.fail(at(inst.driver != nil ? "driver" : "resource").error("driver \(driver.id) \(line)"))
                ok = false
            }
        }
        // The profile's termination, unless the role sets its own.
        if let profile, driver?.isMessageBased ?? false {
            for (key, value) in profile.openOptions where options[key] == nil {
                options[key] = value
            }
        }

        // The role's operation table: the driver's, then the profile's.
        var hostOperations: [HostOperation] = []
        if let profile {
            let conventions = profile.conventions
            for (i, op) in profile.operations.enumerated() {
                if let driver, driver.operation(named: op.name) != nil {
                    reader.warn(at("profile").error("profile \(profile.id) operation \(op.name) is hidden by driver \(driver.id)'s own operation of that name"))
                }
                hostOperations.append(
                    HostOperation(info: op.info(index: i)) { instrument, args in
                        try op.run(on: instrument, arguments: args, conventions: conventions)
                    })
            }
        }
        let native = driver?.operations ?? []
        let nativeNames = Set(native.map(\.name))
        let operations = native + hostOperations.map(\.info).filter { !nativeNames.contains($0.name) }

        // Channels.
        var channels: [String]?
        var channelSource = ""
        if let profile, !profile.channels.isEmpty {
            channels = profile.channels
            channelSource = "profile \(profile.id)"
        } else if let driver {
            // Channel parameters of any type (ChannelRule): choices, or the integers of a range.
            let params = driver.operations.flatMap(\.params).filter(ChannelRule.isChannel)
            let known = params.map(ChannelRule.values).filter { !$0.isEmpty }
            if !known.isEmpty {
                var seen: [String] = []
                for value in known.joined() where !seen.contains(value) { seen.append(value) }
                channels = seen
                channelSource = "driver \(driver.id)"
            } else if let unknown = params.first {
                reader.warn(
                    at(inst.driver != nil ? "driver" : "resource").error(
                        "driver \"\(driver.id)\" has channel parameter \"\(unknown.name)\" (\(unknown.type)) without choices or a range, "
                            + "so the fixture's channels of role \(inst.role) are not checked",
                        fix: "declare the channels: choices for a string channel, a range (e.g. 1...2) for an integer one"))
            }
        }

        // mock_config: keys and value types against the table.
        let members = encodeMockConfig(inst, operations: operations, at: at, reader: reader, ok: &ok)
        let mockJSON = "{" + members.map { "\(JSONText.quoted($0.key)):\($0.json)" }.joined(separator: ",") + "}"
        // The mock driver parses each behaviour (sequence, noise, lookup, error...): open one
        // mock per key so a problem is located at its key.
        if ok, !members.isEmpty, (try? registry.driver(id: DriverRegistry.mockDriverID)) != nil {
            for member in members {
                do {
                    let probe = try registry.openMock(
                        emulating: driver, hostOperations: hostOperations, name: inst.role,
                        config: "{\(JSONText.quoted(member.key)):\(member.json)}")
                    probe.close()
                } catch let e as DriverError {
                    reader.fail(at("mock_config.\(member.key)").error("mock_config \(member.key): \(e.message)"))
                    ok = false
                } catch {
                    reader.fail(at("mock_config.\(member.key)").error("mock_config \(member.key): \(error)"))
                    ok = false
                }
            }
        }

        guard ok else { return nil }
        return ResolvedInstrument(
            config: inst, driver: driver, resource: resource,
            canonicalResource: resource?.canonical ?? "MOCK::\(inst.role)", profile: profile, options: options,
            mocked: mocked, mockConfigJSON: mockJSON, operations: operations, hostOperations: hostOperations,
            channels: channels, channelSource: channelSource)
    }

    /// The role's mock_config as JSON for the mock driver, each value typed by its operation's
    /// result type. Unknown keys and values of the wrong type are located errors.
    private static func encodeMockConfig(
        _ inst: StationInstrument, operations: [OperationInfo], at: (String) -> ConfigLocation, reader: ConfigReader,
        ok: inout Bool
    ) -> [(key: String, json: String)] {
        var members: [(key: String, json: String)] = []
        let names = operations.map(\.name)
        for entry in inst.mockConfig {
            let loc = at("mock_config.\(entry.key)")
            guard let op = operations.first(where: { $0.name == entry.key }) else {
                let hint = Suggest.closest(to: entry.key, in: names).map { "did you mean \"\($0)\"? " } ?? ""
                reader.fail(
                    loc.error(
                        "mock_config names \"\(entry.key)\", which is not an operation of role \(inst.role)",
                        fix: "\(hint)operations: \(names.isEmpty ? "none (give the role a driver or a profile)" : names.joined(separator: ", "))"))
                ok = false
                continue
            }
            do {
                members.append((entry.key, try MockConfigEncoder.behavior(entry.value, type: op.result)))
            } catch {
                reader.fail(loc.error("mock_config \(entry.key) (returns \(op.result)): \(error.problem)", fix: error.fix))
                ok = false
            }
        }
        return members
    }
}
