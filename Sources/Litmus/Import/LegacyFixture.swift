import Foundation
import Yams

/// Fixtures (`fixtures/<id>.yaml`) of the original, converted to Litmus fixture files.
enum LegacyFixture {
    static let fixtureKeys = [
        "id", "name", "part_id", "part_family", "part_revision", "station_types", "uut_resource", "connections", "sites",
        "description",
    ]
    static let siteKeys = ["name", "connections", "uut_resource", "description"]
    static let connectionKeys = [
        "name", "instrument", "instrument_channel", "instrument_terminal", "description", "uut_pin", "net", "function", "route",
    ]
    static let routeKeys = ["switch", "channels", "settling_ms"]

    static func convert(_ root: ConfigNode, stem: String, roleNames: [String: String], _ m: LegacyMapping) -> Node? {
        guard let e = m.entries(root, "a fixture", keys: fixtureKeys) else { return nil }
        if let id = e["id"], let declared = m.text(id.value, "the fixture id"), declared != stem {
            m.fail(id.value.error("id \"\(declared)\" differs from the file name \(stem).yaml", fix: "rename the file to \(declared).yaml, or change the id"))
            return nil
        }
        for (key, why) in [
            ("part_family", "Litmus fixtures name one part"),
            ("part_revision", "Litmus fixtures name one part, not a revision"),
            ("station_types", "Litmus has no station types to check a fixture against"),
        ] {
            if let d = e[key] { m.drop(d.keyNode, key, why: why, fix: "keep it as a comment if it documents the fixture") }
        }
        if e["connections"] != nil, e["sites"] != nil {
            m.fail(root.error("both `connections` and `sites` are written (the original refuses this too)", fix: "move the connections into a site"))
            return nil
        }
        var sites: Node?
        var connections: Node?
        if let c = e["connections"] {
            connections = convertConnections(c.value, path: "connections", roleNames: roleNames, m)
            if let u = e["uut_resource"] {
                m.drop(
                    u.keyNode, "uut_resource", why: "a Litmus fixture gives the UUT resource per site",
                    fix: "write `sites: [{uut_resource: \(LegacyMapping.flow(u.value)), connections: ...}]` if the tests read it")
            }
        } else if let s = e["sites"] {
            guard let items = try? s.value.list("a list of sites") else {
                m.fail(s.value.error("expected a list of sites, found \(s.value.found)", fix: "write `sites: [{name: left, connections: {...}}]`"))
                return nil
            }
            var converted: [Node] = []
            for (index, item) in items.enumerated() {
                guard let se = m.entries(item, "a site", keys: siteKeys) else { continue }
                let uut = se["uut_resource"].map { LegacyMapping.copy($0.value) } ?? e["uut_resource"].map { LegacyMapping.copy($0.value) }
                if se["uut_resource"] == nil, let u = e["uut_resource"] {
                    m.change(u.value, "sites[\(index)].uut_resource", what: "the fixture's uut_resource is written on site \(index)")
                }
                converted.append(ConfigEncoding.map([
                    ("name", se["name"].map { LegacyMapping.copy($0.value) }),
                    ("uut_resource", uut),
                    ("connections", se["connections"].flatMap { convertConnections($0.value, path: "sites[\(index)].connections", roleNames: roleNames, m) }),
                    ("description", se["description"].map { LegacyMapping.copy($0.value) }),
                ]))
            }
            sites = Node(converted)
        } else {
            m.fail(root.error("a fixture needs `connections:` or `sites:`", fix: "add the connections from the UUT's pins to the instruments"))
            return nil
        }
        return ConfigEncoding.map([
            ("id", ConfigEncoding.text(stem)),
            ("name", e["name"].map { LegacyMapping.copy($0.value) }),
            ("part", e["part_id"].map { LegacyMapping.copy($0.value) }),
            ("description", e["description"].map { LegacyMapping.copy($0.value) }),
            ("connections", connections),
            ("sites", sites),
        ])
    }

    static func convertConnections(_ node: ConfigNode, path: String, roleNames: [String: String], _ m: LegacyMapping) -> Node? {
        let list: [(key: String, keyNode: ConfigNode, value: ConfigNode)]
        do { list = try node.entries("connections: name -> connection") } catch {
            m.fail(error)
            return nil
        }
        var out: [(Node, Node)] = []
        for (key, _, value) in list {
            let here = "\(path).\(key)"
            guard let e = m.entries(value, "a connection", keys: connectionKeys) else { continue }
            if let n = e["name"], let name = try? n.value.text(), name != key {
                m.change(n.value, "\(here).name", what: "the connection is recorded as \(key), its key (the original recorded its name \"\(name)\")", fix: "rename the key to \(name) if the data must keep that name")
            }
            guard let instrument = e["instrument"].flatMap({ m.text($0.value, "a station role") }) else {
                if e["instrument"] == nil { m.fail(value.error("missing `instrument` (required by the original too)", fix: "add `instrument: dmm`")) }
                continue
            }
            var route: Node?
            if let r = e["route"], let re = m.entries(r.value, "a route (switch, channels, settling_ms)", keys: routeKeys) {
                let sw = re["switch"].flatMap { m.text($0.value, "the switch role") }
                route = ConfigEncoding.map([
                    ("switch", sw.map { ConfigEncoding.text(roleNames[$0] ?? $0) }),
                    ("channels", re["channels"].map { LegacyMapping.copy($0.value) }),
                    ("settling_ms", re["settling_ms"].map { LegacyMapping.copy($0.value) }),
                ])
            }
            let role: String = roleNames[instrument] ?? instrument
            out.append((ConfigEncoding.text(key), ConfigEncoding.map([
                ("instrument", ConfigEncoding.text(role)),
                ("channel", e["instrument_channel"].map { ConfigEncoding.text((try? $0.value.text()) ?? "") }),
                ("terminal", e["instrument_terminal"].map { LegacyMapping.copy($0.value) }),
                ("pin", e["uut_pin"].map { LegacyMapping.copy($0.value) }),
                ("net", e["net"].map { LegacyMapping.copy($0.value) }),
                ("function", e["function"].map { LegacyMapping.copy($0.value) }),
                ("route", route),
                ("description", e["description"].map { LegacyMapping.copy($0.value) }),
            ])))
        }
        return Node(out)
    }
}
