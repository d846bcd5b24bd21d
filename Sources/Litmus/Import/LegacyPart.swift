import Foundation
import Yams

/// Parts (`parts/<id>.yaml`) of the original, converted to Litmus part files.
enum LegacyPart {
    static let partKeys = [
        "id", "name", "part_number", "base", "description", "revision", "datasheet", "schematic", "driver", "pins",
        "signal_groups", "characteristics",
    ]
    static let pinKeys = ["name", "net", "role", "description"]
    static let characteristicKeys = [
        "function", "direction", "signals", "conditions", "controls", "attributes", "unit", "bands", "pin", "pins", "net",
        "signal_group", "datasheet_ref",
    ]
    static let bandKeys = ["when", "range", "value", "unit", "accuracy", "resolution", "qualifier"]
    static let accuracyKeys = ["pct_reading", "pct_range", "absolute", "unit"]

    static func convert(_ root: ConfigNode, stem: String, _ m: LegacyMapping) -> Node? {
        guard let e = m.entries(root, "a part", keys: partKeys) else { return nil }
        if let id = e["id"], let declared = m.text(id.value, "the part id"), declared != stem {
            m.fail(id.value.error("id \"\(declared)\" differs from the file name \(stem).yaml", fix: "rename the file to \(declared).yaml, or change the id"))
            return nil
        }
        guard let nameEntry = e["name"], let name = m.text(nameEntry.value, "the part's name") else {
            if e["name"] == nil { m.fail(root.error("missing `name` (required by the original too)", fix: "add `name: \"3.3 V buck module\"`")) }
            return nil
        }
        if let d = e["schematic"] {
            m.drop(d.keyNode, "schematic", why: "Litmus parts have no schematic reference", fix: "keep it in `description:` if it matters")
        }
        if let d = e["driver"] {
            m.drop(d.keyNode, "driver", why: "a Python class for the UUT; Litmus tests talk to the UUT in their own code", fix: "open the UUT from the test (its resource is the fixture site's uut_resource)")
        }
        if let d = e["signal_groups"] {
            m.drop(d.keyNode, "signal_groups", why: "Litmus parts have no bus descriptions", fix: "list the bus pins under pins: and name them in characteristics")
        }
        if let b = e["base"] {
            m.change(
                b.value, "base",
                what: "inheritance: the original replaces pins and characteristics wholesale when this part writes them; Litmus merges them by key",
                fix: "remove an inherited pin or characteristic this part must not have with `KEY: null`")
        }
        var pins: Node?
        if let p = e["pins"], let list = try? p.value.entries("pins: key -> pin") {
            var out: [(Node, Node)] = []
            for (key, _, value) in list {
                guard let pe = m.entries(value, "a pin (name, net, role, description)", keys: pinKeys) else { continue }
                if pe["name"] == nil { m.fail(value.error("missing `name`, the pin's designator (required by the original)", fix: "add e.g. `name: J1.3`")) }
                out.append((ConfigEncoding.text(key), ConfigEncoding.map([
                    ("designator", pe["name"].map { ConfigEncoding.text((try? $0.value.text()) ?? "") }),
                    ("net", pe["net"].map { LegacyMapping.copy($0.value) }),
                    ("role", pe["role"].map { LegacyMapping.copy($0.value) }),
                    ("description", pe["description"].map { LegacyMapping.copy($0.value) }),
                ])))
            }
            pins = Node(out)
            if list.contains(where: { (try? $0.value.entries())?.contains { $0.key == "name" } ?? false }) {
                m.change(p.value, "pins", what: "a pin's `name` (its designator) is written `designator`")
            }
        }
        var characteristics: Node?
        if let c = e["characteristics"] {
            do {
                var out: [(Node, Node)] = []
                for (key, _, value) in try c.value.entries("characteristics: id -> characteristic") {
                    if let converted = characteristic(value, path: "characteristics.\(key)", m) {
                        out.append((ConfigEncoding.text(key), converted))
                    }
                }
                characteristics = Node(out)
            } catch { m.fail(error) }
        }
        return ConfigEncoding.map([
            ("id", ConfigEncoding.text(stem)),
            ("name", ConfigEncoding.text(name)),
            ("part_number", e["part_number"].map { ConfigEncoding.text((try? $0.value.text()) ?? "") }),
            ("revision", e["revision"].map { ConfigEncoding.text((try? $0.value.text()) ?? "") }),
            ("base", e["base"].map { LegacyMapping.copy($0.value) }),
            ("description", e["description"].map { LegacyMapping.copy($0.value) }),
            ("datasheet", e["datasheet"].map { LegacyMapping.copy($0.value) }),
            ("pins", pins),
            ("characteristics", characteristics),
        ])
    }

    static func characteristic(_ node: ConfigNode, path: String, _ m: LegacyMapping) -> Node? {
        guard let e = m.entries(node, "a characteristic", keys: characteristicKeys) else { return nil }
        for key in ["signals", "conditions", "controls", "attributes"] {
            if let d = e[key] {
                m.drop(
                    d.keyNode, "\(path).\(key)",
                    why: "typed \(key) of the original's capability model (used for instrument matching); a Litmus band's `when` names the conditions directly",
                    fix: "nothing to do unless a test reads them; the bands' `when` keys are kept")
            }
        }
        if let d = e["signal_group"] {
            m.drop(d.keyNode, "\(path).signal_group", why: "Litmus parts have no signal groups", fix: "name the group's pins with `pins: [...]`")
            if e["pin"] == nil, e["pins"] == nil, e["net"] == nil {
                m.fail(d.value.error("this characteristic is tied to a signal group only; Litmus needs a pin, pins or net", fix: "add `pins: [...]` with the group's pins"))
                return nil
            }
        }
        var direction: Node?
        if let d = e["direction"], let text = try? d.value.text() {
            if text == "transform" {
                m.drop(d.keyNode, "\(path).direction", why: "direction transform (a signal-path component) has no Litmus equivalent", fix: "write input, output or bidir if it matters")
            } else {
                direction = LegacyMapping.copy(d.value)
            }
        }
        var bands: Node?
        if let b = e["bands"] {
            do {
                var out: [Node] = []
                for (index, item) in try b.value.list("a list of bands").enumerated() {
                    if let band = band(item, path: "\(path).bands[\(index)]", m) { out.append(band) }
                }
                bands = Node(out)
            } catch { m.fail(error) }
        }
        return ConfigEncoding.map([
            ("pin", e["pin"].map { LegacyMapping.copy($0.value) }),
            ("pins", e["pins"].map { LegacyMapping.copy($0.value) }),
            ("net", e["net"].map { LegacyMapping.copy($0.value) }),
            ("function", e["function"].map { LegacyMapping.copy($0.value) }),
            ("direction", direction),
            ("unit", e["unit"].map { LegacyMapping.copy($0.value) }),
            ("datasheet_ref", e["datasheet_ref"].map { LegacyMapping.copy($0.value) }),
            ("bands", bands),
        ])
    }

    static func band(_ node: ConfigNode, path: String, _ m: LegacyMapping) -> Node? {
        guard let e = m.entries(node, "a spec band", keys: bandKeys) else { return nil }
        if let d = e["range"] {
            m.drop(d.keyNode, "\(path).range", why: "the instrument range at this operating point; Litmus bands hold limits only", fix: "nothing to do, or write `accuracy: {range: ...}` for a percent-of-range accuracy")
        }
        if let d = e["resolution"] {
            m.drop(d.keyNode, "\(path).resolution", why: "Litmus bands have no resolution", fix: "nothing to do")
        }
        var value: Double?
        if let v = e["value"] {
            do { value = try v.value.double("a numeric nominal value") } catch {
                m.drop(v.keyNode, "\(path).value", why: "a text value (\(v.value.found)) cannot be a limit", fix: "write a numeric `nominal:` or min/max by hand")
            }
        }
        guard value != nil else {
            if e["value"] == nil {
                m.drop(node, path, why: "the band gives no value, so it sets no limit", fix: "add `nominal:` with an accuracy, or min/max, if it should")
            }
            return nil
        }
        let qualifier = e["qualifier"].flatMap { try? $0.value.text() }
        var accuracy: Node?
        if let a = e["accuracy"], let ae = m.entries(a.value, "an accuracy (pct_reading, pct_range, absolute, unit)", keys: accuracyKeys) {
            if let u = ae["unit"] {
                m.drop(u.keyNode, "\(path).accuracy.unit", why: "Litmus takes the absolute accuracy in the characteristic's unit", fix: "convert `absolute` to that unit by hand if it differs")
            }
            var range: Node?
            if ae["pct_range"] != nil, let value {
                let magnitude: Double = abs(value)
                range = ConfigEncoding.number(magnitude)
                m.change(
                    ae["pct_range"]!.value, "\(path).accuracy.pct_range",
                    what: "the original takes the nominal as the range for pct_range; written `range: \(RangeExpander.format(abs(value)))` so the limits stay the same",
                    fix: "set `range:` to the instrument range if that was meant")
            }
            accuracy = ConfigEncoding.map([
                ("pct_reading", ae["pct_reading"].map { LegacyMapping.copy($0.value) }),
                ("pct_range", ae["pct_range"].map { LegacyMapping.copy($0.value) }),
                ("absolute", ae["absolute"].map { LegacyMapping.copy($0.value) }),
                ("range", range),
            ])
        }
        var when: Node?
        if let w = e["when"] { when = LegacyMapping.copy(w.value) }
        var nominal: Node?
        var low: Node?
        var high: Node?
        if let value {
            if accuracy != nil || qualifier == "typical" {
                nominal = ConfigEncoding.number(value)
            } else {
                low = ConfigEncoding.number(value)
                high = ConfigEncoding.number(value)
                m.change(
                    e["value"]!.value, "\(path).value",
                    what: "a value without accuracy (the original's limit is value…value) is written min = max = \(RangeExpander.format(value))",
                    fix: "add an accuracy if a tolerance was meant")
            }
        }
        return ConfigEncoding.map([
            ("when", when),
            ("nominal", nominal),
            ("min", low),
            ("max", high),
            ("accuracy", accuracy),
            ("unit", e["unit"].map { LegacyMapping.copy($0.value) }),
            ("qualifier", e["qualifier"].map { LegacyMapping.copy($0.value) }),
        ])
    }
}
