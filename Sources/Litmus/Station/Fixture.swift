import Foundation
import Yams

/// The wiring between the DUT and the station: which instrument channel touches which DUT pin,
/// for one site or several (multi-up fixtures).
///
/// ```yaml
/// id: buck_fixture
/// part: buck_3v3              # the part whose pins the connections name
/// connections:
///   vout_sense:
///     instrument: dmm           # a station role
///     channel: "1"
///     terminal: hi
///     pin: VOUT                 # a pin key of the part
///     route: {switch: matrix, channels: ["101"], settling_ms: 5}
/// ```
/// or `sites: [{name: left, connections: {...}}, {name: right, connections: {...}}]`.
public struct Fixture: Sendable, Equatable {
    public var id: String
    public var name: String?
    /// The part (product spec) id whose pins the connections name.
    public var part: String?
    public var description: String?
    /// The sites; a fixture written with a bare `connections:` has one unnamed site.
    public var sites: [FixtureSite]
    /// Whether it was written with `sites:` (kept for round trips).
    public var isMultiSite: Bool
    public var file: String = ""
    public var locations = ConfigLocations()

    public init(id: String, name: String? = nil, part: String? = nil, description: String? = nil, sites: [FixtureSite], isMultiSite: Bool? = nil) {
        self.id = id
        self.name = name
        self.part = part
        self.description = description
        self.sites = sites
        self.isMultiSite = isMultiSite ?? (sites.count > 1)
    }

    public static func == (a: Fixture, b: Fixture) -> Bool {
        a.id == b.id && a.name == b.name && a.part == b.part && a.description == b.description && a.sites == b.sites
            && a.isMultiSite == b.isMultiSite
    }

    /// Site `index` (0 for a single-site fixture).
    public func site(_ index: Int = 0) -> FixtureSite? { sites.indices.contains(index) ? sites[index] : nil }

    /// The site called `name`.
    public func site(named name: String) -> FixtureSite? { sites.first { $0.name == name } }

    static let keys = ["id", "name", "part", "description", "connections", "sites"]

    /// Reads a fixture from its YAML root; problems go to `reader`.
    public static func parse(_ root: ConfigNode, reader: ConfigReader) -> Fixture? {
        reader.collect { () throws -> Fixture? in
            let m = try root.mapping("a fixture mapping (id, part, connections or sites)", allowed: keys)
            let stem = ((root.file as NSString).lastPathComponent as NSString).deletingPathExtension
            let id = reader.collect { try m.checkID(stem, what: "fixture") } ?? stem
            switch (m["connections"], m["sites"]) {
            case (nil, nil):
                throw root.error("a fixture needs `connections:` (one site) or `sites:` (several)", fix: "add `connections: {name: {instrument: dmm, pin: VOUT}}`")
            case (_?, _?):
                throw root.error("give either `connections:` (one site) or `sites:` (several), not both", fix: "move the connections into a site")
            default: break
            }
            var sites: [FixtureSite] = []
            var multi = false
            if let connections = m["connections"] {
                sites = [try FixtureSite.parse(connections: connections, index: 0, name: nil, uutResource: nil, reader: reader)]
            } else if let list = m["sites"] {
                multi = true
                var names: [String: ConfigNode] = [:]
                for (index, item) in try list.list("a list of sites, e.g. `- {name: left, connections: {...}}`").enumerated() {
                    guard let site = reader.collect({ () throws -> FixtureSite in
                        let sm = try item.mapping("a site mapping (name, uut_resource, connections)", allowed: ["name", "uut_resource", "connections", "description"])
                        var name: String?
                        if let n = sm["name"] {
                            let text = try n.string("a site name")
                            if Int(text) != nil {
                                throw n.error("a site name cannot be a number (it would be confused with the site index)", fix: "use a word such as left, right, site_a")
                            }
                            if let first = names[text] {
                                throw n.error("duplicate site name \"\(text)\" (first at line \(first.line))", fix: "give every site its own name")
                            }
                            names[text] = n
                            name = text
                        }
                        let connections = try sm.required("connections", "this site's connections", example: "{vout: {instrument: dmm, pin: VOUT}}")
                        var site = try FixtureSite.parse(
                            connections: connections, index: index, name: name, uutResource: try sm["uut_resource"]?.string(), reader: reader)
                        site.description = try sm["description"]?.string()
                        return site
                    }) else { continue }
                    sites.append(site)
                }
            }
            var fixture = Fixture(
                id: id, name: try m["name"]?.string(), part: try m["part"]?.string("a part id"),
                description: try m["description"]?.string(), sites: sites, isMultiSite: multi)
            fixture.file = root.file
            fixture.locations.root = ConfigLocation(root)
            fixture.locations.record("part", m["part"])
            return fixture
        } ?? nil
    }

    /// Reads a fixture file; problems go to `reader`. `reference` is where another file named
    /// it (a missing file is reported there).
    public static func load(path: String, reader: ConfigReader, from reference: ConfigLocation? = nil) -> Fixture? {
        guard let root = reader.collect({ try reader.load(path, from: reference) }) else { return nil }
        return parse(root, reader: reader)
    }

    /// This fixture as YAML.
    public var yaml: Node {
        var pairs: [(String, Node?)] = [
            ("id", ConfigEncoding.text(id)),
            ("name", ConfigEncoding.text(name)),
            ("part", ConfigEncoding.text(part)),
            ("description", ConfigEncoding.text(description)),
        ]
        if isMultiSite {
            pairs.append((
                "sites",
                Node(sites.map { site in
                    ConfigEncoding.map([
                        ("name", ConfigEncoding.text(site.name)),
                        ("uut_resource", ConfigEncoding.text(site.uutResource)),
                        ("description", ConfigEncoding.text(site.description)),
                        ("connections", site.connectionsYAML),
                    ])
                })
            ))
        } else {
            pairs.append(("connections", sites.first?.connectionsYAML ?? Node([(Node, Node)]())))
        }
        return ConfigEncoding.map(pairs)
    }
}

/// One DUT position of a fixture.
public struct FixtureSite: Sendable, Equatable {
    /// The position in `sites` (0 for a single-site fixture).
    public var index: Int
    public var name: String?
    /// The DUT's own resource at this site (a UUT driver's address), if any.
    public var uutResource: String?
    public var description: String?
    public var connections: [FixtureConnection]

    public init(index: Int = 0, name: String? = nil, uutResource: String? = nil, description: String? = nil, connections: [FixtureConnection]) {
        self.index = index
        self.name = name
        self.uutResource = uutResource
        self.description = description
        self.connections = connections
    }

    /// The connection called `name`.
    public func connection(_ name: String) -> FixtureConnection? { connections.first { $0.name == name } }

    /// The connections that touch DUT pin `pin` (a part pin key).
    public func connections(toPin pin: String) -> [FixtureConnection] { connections.filter { $0.pin == pin } }

    static func parse(connections node: ConfigNode, index: Int, name: String?, uutResource: String?, reader: ConfigReader) throws(ConfigError) -> FixtureSite {
        var site = FixtureSite(index: index, name: name, uutResource: uutResource, connections: [])
        for entry in try node.entries("a mapping from connection name to connection, e.g. `vout: {instrument: dmm, pin: VOUT}`") {
            if let c = reader.collect({ try FixtureConnection.parse(entry.value, name: entry.key) }) {
                site.connections.append(c)
            }
        }
        return site
    }

    var connectionsYAML: Node { Node(connections.map { (Node($0.name), $0.yaml) }) }
}

/// One wire of a fixture: a station role's channel and terminal to a DUT pin.
public struct FixtureConnection: Sendable, Equatable {
    /// The connection's name (its key), recorded as `fixture_connection`.
    public var name: String
    /// The station role of the instrument.
    public var role: String
    /// The instrument channel (`"1"`, `CH2`); passed to channel parameters of operations.
    public var channel: String?
    /// hi, lo, sense_hi, sense_lo, guard, ground...
    public var terminal: String?
    /// The part pin key (`VOUT`): the one convention for `dut_pin` in the data.
    public var pin: String?
    /// The schematic net.
    public var net: String?
    /// What the connection measures or drives (`dc_voltage`); breaks ties between connections
    /// to one pin.
    public var function: String?
    public var route: SwitchRoute?
    public var description: String?
    public var locations = ConfigLocations()

    public init(
        name: String, role: String, channel: String? = nil, terminal: String? = nil, pin: String? = nil, net: String? = nil,
        function: String? = nil, route: SwitchRoute? = nil, description: String? = nil
    ) {
        self.name = name
        self.role = role
        self.channel = channel
        self.terminal = terminal
        self.pin = pin
        self.net = net
        self.function = function
        self.route = route
        self.description = description
    }

    static let keys = ["instrument", "channel", "terminal", "pin", "net", "function", "route", "description"]

    static func parse(_ node: ConfigNode, name: String) throws(ConfigError) -> FixtureConnection {
        let m = try node.mapping("a connection mapping (instrument, channel, pin...)", allowed: keys)
        let role = try m.required("instrument", "the station role wired here", example: "dmm").string("a station role")
        var c = FixtureConnection(
            name: name, role: role, channel: try m["channel"]?.text("a channel"), terminal: try m["terminal"]?.string(),
            pin: try m["pin"]?.string("a part pin key"), net: try m["net"]?.string(), function: try m["function"]?.string(),
            route: try m["route"].map { (r) throws(ConfigError) -> SwitchRoute in try SwitchRoute.parse(r) },
            description: try m["description"]?.string())
        c.locations.root = ConfigLocation(node)
        for key in ["instrument", "channel", "pin", "route"] { c.locations.record(key, m[key]) }
        if let r = m["route"], let rm = try? r.mapping(allowed: SwitchRoute.keys) {
            c.locations.record("route.switch", rm["switch"])
            c.locations.record("route.channels", rm["channels"])
        }
        if c.pin == nil && c.net == nil {
            throw node.error("a connection needs the DUT `pin` (a part pin key) or `net` it touches", fix: "add e.g. `pin: VOUT`")
        }
        return c
    }

    var yaml: Node {
        ConfigEncoding.map([
            ("instrument", ConfigEncoding.text(role)),
            ("channel", ConfigEncoding.text(channel)),
            ("terminal", ConfigEncoding.text(terminal)),
            ("pin", ConfigEncoding.text(pin)),
            ("net", ConfigEncoding.text(net)),
            ("function", ConfigEncoding.text(function)),
            ("route", route?.yaml),
            ("description", ConfigEncoding.text(description)),
        ])
    }
}

/// Switch channels to close before a connection is used, and how long to let them settle.
public struct SwitchRoute: Sendable, Equatable {
    /// The station role of the switch.
    public var switchRole: String
    /// The switch channels to close.
    public var channels: [String]
    /// Milliseconds to wait after closing.
    public var settlingMs: Double

    public init(switchRole: String, channels: [String], settlingMs: Double = 0) {
        self.switchRole = switchRole
        self.channels = channels
        self.settlingMs = settlingMs
    }

    static let keys = ["switch", "channels", "settling_ms"]

    static func parse(_ node: ConfigNode) throws(ConfigError) -> SwitchRoute {
        let m = try node.mapping("a route mapping (switch, channels, settling_ms)", allowed: keys)
        let role = try m.required("switch", "the station role of the switch", example: "matrix").string("a station role")
        let channels = try m.required("channels", "the switch channels to close", example: "[\"101\", \"102\"]")
            .listOrSingle().map { (n) throws(ConfigError) -> String in try n.text("a channel") }
        guard !channels.isEmpty else {
            throw node.error("a route needs at least one channel", fix: "list the switch channels, e.g. `channels: [\"101\"]`")
        }
        let settling = try m["settling_ms"]?.double("a settling time in milliseconds") ?? 0
        guard settling >= 0 && settling <= 600_000 else {
            throw m["settling_ms"]!.error("settling_ms must be between 0 and 600000, found \(settling)")
        }
        return SwitchRoute(switchRole: role, channels: channels, settlingMs: settling)
    }

    var yaml: Node {
        ConfigEncoding.map([
            ("switch", ConfigEncoding.text(switchRole)),
            ("channels", ConfigEncoding.list(channels.map { ConfigEncoding.text($0) })),
            ("settling_ms", settlingMs == 0 ? nil : ConfigEncoding.number(settlingMs)),
        ])
    }
}
