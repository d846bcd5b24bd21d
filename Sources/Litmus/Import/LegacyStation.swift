import Foundation
import Yams

/// Stations (`stations/<id>.yaml`) and instrument asset files (`instruments/<id>.yaml`) of the
/// original, converted to Litmus station files.
enum LegacyStation {
    static let stationKeys = ["id", "name", "station_type", "hostname", "location", "description", "instruments", "supported_phases"]
    static let instrumentKeys = ["type", "driver", "resource", "catalog_ref", "mock", "channels", "description", "mock_config"]
    static let assetKeys = ["id", "protocol", "driver", "resource", "catalog_ref", "info", "calibration"]
    static let infoKeys = ["manufacturer", "model", "serial", "firmware"]
    static let calibrationKeys = ["due_date", "last_cal", "certificate", "lab"]

    /// An instrument asset file: identity and calibration, joined to the station role of the
    /// same id (as the original joins them).
    struct Asset {
        var id: String
        var root: ConfigNode
        var identity: Node?
        var calibration: Node?
        var used = false
    }

    static func asset(_ root: ConfigNode, stem: String, _ m: LegacyMapping) -> Asset? {
        guard let e = m.entries(root, "an instrument file", keys: assetKeys) else { return nil }
        let id = e["id"].flatMap { m.text($0.value, "the instrument id") } ?? stem
        var asset = Asset(id: id, root: root)
        if let p = e["protocol"], let text = try? p.value.text(), text != "visa" {
            m.drop(p.keyNode, "protocol", why: "protocol \(text): Litmus picks the driver from the resource's scheme", fix: "check the role's resource and driver in the station file")
        }
        for key in ["driver", "catalog_ref"] {
            if let d = e[key] { m.drop(d.keyNode, key, why: whyNot[key]!, fix: fixFor[key]!) }
        }
        if let r = e["resource"] {
            m.drop(r.keyNode, "resource", why: "the original ignores an instrument file's resource too; the station's is used", fix: "nothing to do")
        }
        if let info = e["info"], let ie = m.entries(info.value, "info (manufacturer, model, serial, firmware)", keys: infoKeys) {
            asset.identity = ConfigEncoding.map(infoKeys.map { key in
                (key, ie[key].map { ConfigEncoding.text((try? $0.value.text()) ?? "") })
            })
        }
        if let cal = e["calibration"], let ce = m.entries(cal.value, "calibration (due_date, last_cal, certificate, lab)", keys: calibrationKeys) {
            asset.calibration = ConfigEncoding.map([
                ("due", ce["due_date"].map { LegacyMapping.copy($0.value) }),
                ("last", ce["last_cal"].map { LegacyMapping.copy($0.value) }),
                ("certificate", ce["certificate"].map { ConfigEncoding.text((try? $0.value.text()) ?? "") }),
                ("lab", ce["lab"].map { ConfigEncoding.text((try? $0.value.text()) ?? "") }),
            ])
            if ce["due_date"] != nil || ce["last_cal"] != nil {
                m.change(cal.value, "calibration", what: "due_date and last_cal are written due and last")
            }
        }
        return asset
    }

    static let whyNot: [String: String] = [
        "driver": "a Python driver class; Litmus drivers are plugins, chosen by the resource's scheme (TCPIP, USB, ASRL...)",
        "catalog_ref": "catalog entries do not exist in Litmus; an instrument profile gives a role its operations",
        "channels": "observer kinds of the original's event recording; Litmus records every call, and a profile's `channels:` lists valid channels",
        "supported_phases": "shown by the original's UI only; Litmus takes the test phase per run",
    ]
    static let fixFor: [String: String] = [
        "driver": "leave it to the scheme, or set `driver:` to a plugin id from `litmus drivers list`; add `profile:` for the operations the tests call",
        "catalog_ref": "add `profile: <id>` naming a file of stations/profiles/ (e.g. generic_scpi_dmm)",
        "channels": "nothing to do, or list the channels in the role's profile",
        "supported_phases": "give the phase when running (litmus run --phase ...)",
    ]

    /// The Litmus station for an original station file; nil when it cannot be read.
    /// - Parameter roleNames: original role -> Litmus role, filled for roles that had to be renamed.
    /// - Parameter links: the fixture and part files to name (`fixture:`, `part:`), when known.
    static func convert(
        _ root: ConfigNode, stem: String, links: (fixture: String?, part: String?) = (nil, nil), assets: inout [String: Asset],
        roleNames: inout [String: String], _ m: LegacyMapping
    ) -> Node? {
        guard let e = m.entries(root, "a station", keys: stationKeys) else { return nil }
        if let id = e["id"], let declared = m.text(id.value, "the station id"), declared != stem {
            m.fail(id.value.error(
                "id \"\(declared)\" differs from the file name \(stem).yaml (the original refuses this too)",
                fix: "rename the file to \(declared).yaml, or change the id"))
            return nil
        }
        guard let nameEntry = e["name"], let name = m.text(nameEntry.value, "the station's display name") else {
            if e["name"] == nil { m.fail(root.error("missing `name` (required by the original too)", fix: "add `name: \"Line 2 / Bench 3\"`")) }
            return nil
        }
        if let phases = e["supported_phases"] {
            m.drop(phases.keyNode, "supported_phases", why: whyNot["supported_phases"]!, fix: fixFor["supported_phases"]!)
        }
        var roles: [(Node, Node)] = []
        if let instruments = e["instruments"] {
            let list: [(key: String, keyNode: ConfigNode, value: ConfigNode)]
            do { list = try instruments.value.entries("instruments: role -> instrument") } catch {
                m.fail(error)
                return nil
            }
            for (role, keyNode, value) in list {
                var litmusRole = role
                if !StationInstrument.isRoleName(role) {
                    guard let renamed = StationInstrument.roleName(from: role) else {
                        m.fail(keyNode.error("role \"\(role)\" cannot be made a Litmus role name", fix: "rename it to a lower-case identifier such as dmm"))
                        continue
                    }
                    litmusRole = StationDraft.unique(renamed, taken: Set(roles.compactMap { $0.0.string }))
                    roleNames[role] = litmusRole
                    m.change(keyNode, "instruments.\(role)", what: "role \"\(role)\" is written \(litmusRole) (Litmus roles are lower-case identifiers); fixtures naming it are changed too")
                }
                if let instrument = convertInstrument(value, role: role, assets: &assets, m) {
                    roles.append((ConfigEncoding.text(litmusRole), instrument))
                }
            }
        }
        return ConfigEncoding.map([
            ("id", ConfigEncoding.text(stem)),
            ("name", ConfigEncoding.text(name)),
            ("hostname", e["hostname"].map { LegacyMapping.copy($0.value) }),
            ("location", e["location"].map { LegacyMapping.copy($0.value) }),
            ("station_type", e["station_type"].map { LegacyMapping.copy($0.value) }),
            ("description", e["description"].map { LegacyMapping.copy($0.value) }),
            ("fixture", links.fixture.map { ConfigEncoding.text($0) }),
            ("part", links.part.map { ConfigEncoding.text($0) }),
            ("instruments", Node(roles)),
        ])
    }

    static func convertInstrument(
        _ node: ConfigNode, role: String, assets: inout [String: Asset], _ m: LegacyMapping
    ) -> Node? {
        let path = "instruments.\(role)"
        guard let e = m.entries(node, "an instrument (type, driver, resource, mock...)", keys: instrumentKeys) else { return nil }
        if e["type"] == nil {
            m.fail(node.error("missing `type` (required by the original)", fix: "add e.g. `type: dmm`"))
        }
        var mock = false
        if let mk = e["mock"] {
            do { mock = try mk.value.bool() } catch { m.fail(error) }
        }
        for key in ["driver", "catalog_ref", "channels"] {
            if let d = e[key] { m.drop(d.keyNode, "\(path).\(key)", why: whyNot[key]!, fix: fixFor[key]!) }
        }
        if let mc = e["mock_config"], let entries = try? mc.value.entries() {
            for entry in entries {
                m.drop(
                    entry.keyNode, "\(path).mock_config.\(entry.key)",
                    why: "a mock answer for the Python method \(entry.key); Litmus checks mock answers against the role's operations, and this role has no profile yet",
                    fix: "give the role a profile with an operation \(entry.key), then add `mock_config: {\(entry.key): \(LegacyMapping.flow(entry.value))}`")
            }
        }
        var resource: String?
        if let r = e["resource"] { resource = m.text(r.value, "a resource string") }
        if !mock {
            if let text = resource, (try? ResourceName(parsing: text)) == nil {
                mock = true
                resource = nil
                m.change(
                    e["resource"]!.value, "\(path).resource",
                    what: "\"\(text)\" is not a VISA resource Litmus opens; it is left out and the role written `mock: true`",
                    fix: "write a resource a Litmus driver opens (litmus discover lists them) and remove `mock: true`")
            } else if resource == nil {
                mock = true
                m.change(
                    node, path, what: "no resource (the original opened it through its Python driver alone); the role is written `mock: true`",
                    fix: "add the instrument's `resource:` and remove `mock: true`")
            }
        }
        var identity: Node?
        var calibration: Node?
        if var asset = assets[role] {
            identity = asset.identity
            calibration = asset.calibration
            asset.used = true
            assets[role] = asset
        }
        return ConfigEncoding.map([
            ("type", e["type"].map { LegacyMapping.copy($0.value) }),
            ("resource", resource.map { ConfigEncoding.text($0) }),
            ("mock", ConfigEncoding.flag(mock)),
            ("identity", identity),
            ("calibration", calibration),
            ("description", e["description"].map { LegacyMapping.copy($0.value) }),
        ])
    }
}
