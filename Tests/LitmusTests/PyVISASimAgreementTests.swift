import Foundation
import Testing

@testable import Litmus

/// pyvisa-sim's own device files load in the `sim` driver as they are and answer like pyvisa-sim
/// (issue 15 item 4): before, `default.yaml` failed with "unknown key spec", and a hand
/// conversion answered 14 of 60 scripted queries like pyvisa-sim.
///
/// A Python child process (from .venv) reads each device file the pyvisa-sim package ships,
/// derives a script from it (every dialogue, every property get, set in range, set out of range,
/// the status register or error queue after each set, channel selection, unknown commands) and
/// runs it through pyvisa with the `@sim` backend. The same script then runs through the real
/// mock plugin (dlopen via the registry), opened as `SIM::<resource>` with the file as the
/// `description` option. Replies are compared one by one; a difference not in
/// ``knownDifferences`` fails the test.
@Suite struct PyVISASimAgreementTests {
    /// The device files the pyvisa-sim package ships, relative to its package directory.
    static let shippedFiles = ["default.yaml", "testsuite/fixtures/channels.yaml"]

    /// Differences that are expected, by "file|device|query", with the reason. Empty: every
    /// scripted reply is identical.
    static let knownDifferences: [String: String] = [:]

    /// The lowest share of identical replies accepted per file.
    static let requiredAgreement = 0.95

    /// Derives the script from a device file and runs it through pyvisa + pyvisa-sim. Prints
    /// JSON: the package directory and, per device, the resource used, its query termination
    /// and the steps with pyvisa-sim's outcome (reply, "timeout" for no reply, or an error).
    static let program = #"""
import json, os, re, sys, yaml, pyvisa, pyvisa_sim
from pyvisa import errors

package = os.path.dirname(pyvisa_sim.__file__)
path = os.path.join(package, sys.argv[1])
with open(path, encoding="utf-8") as fp:
    data = yaml.load(fp, Loader=yaml.loader.BaseLoader)

def dec(s):
    return s.replace("\\r", "\r").replace("\\n", "\n")

RANDOM = re.compile(r"\{RANDOM\(([^,]*), ([^,]*), (\d+)\)")

def random_of(r):
    m = RANDOM.match(r or "")
    return {"min": float(m.group(1)), "max": float(m.group(2)), "count": int(m.group(3))} if m else None

def sample(specs, which):
    t = specs.get("type", "str")
    conv = {"float": float, "int": int}.get(t, str)
    valid = [conv(v) for v in specs.get("valid", [])]
    if which == "ok":
        if valid:
            return valid[-1]
        if "max" in specs:
            lo, hi = conv(specs.get("min", specs["max"])), conv(specs["max"])
            return conv((lo + hi) / 2) if t == "float" else hi
        return conv("3") if t != "str" else "X"
    if valid:
        return (max(valid) + 7) if t != "str" else "NOT_VALID"
    if "max" in specs:
        return conv(specs["max"]) * 2 + 1
    return None

def steps_for(device):
    steps = []
    add = lambda q, random=None: steps.append({"q": q, "random": random})
    for d in device.get("dialogues", []):
        add(d["q"].strip(" "), random_of(d.get("r")))
    err = device.get("error", {})
    checks = []
    if isinstance(err, dict):
        checks = [r["q"] for r in err.get("status_register", [])] + [r["q"] for r in err.get("error_queue", [])]
    def props(properties, ch=None):
        for name, p in properties.items():
            g, s, specs = p.get("getter"), p.get("setter"), p.get("specs", {})
            def get():
                if g:
                    add(g["q"].strip(" ").format(ch_id=ch), random_of(g["r"]))
            get()
            if not s:
                continue
            fmt = s["q"].strip(" ")
            for which in ("ok", "bad"):
                v = sample(specs, which)
                if v is None:
                    continue
                try:
                    add(fmt.format(v, ch_id=ch))
                except (ValueError, KeyError):
                    add(re.sub(r"\{:[^}]*\}|\{\}", str(v), fmt).format(ch_id=ch))
                get()
                for c in checks:
                    add(c)
    props(device.get("properties", {}))
    for chname, chd in device.get("channels", {}).items():
        ids = chd.get("ids", [])
        others = ids + [str(int(ids[-1]) + 1)]
        if chd.get("can_select") == "False":
            sel = device["properties"]["selected_channel"]
            for i in others:
                add(sel["setter"]["q"].format(i))
                add(sel["getter"]["q"])
                props(chd.get("properties", {}))
        else:
            for i in others:
                props(chd.get("properties", {}), ch=i)
    for q in ("BOGUS:COMMAND?", "*IDN?", "?IDN", "*RST"):
        add(q)
        for c in checks:
            add(c)
    return steps

rm = pyvisa.ResourceManager(path + "@sim")
by_device = {}
for rname, rd in data.get("resources", {}).items():
    if rname.split("::")[-1].upper() in ("INSTR", "SOCKET"):
        by_device.setdefault(rd["device"], []).append(rname)
out = []
for n, (dev, names) in enumerate(by_device.items()):
    rname = names[n % len(names)]  # device n uses its n-th interface: every eom kind is exercised
    iface = re.match(r"[A-Za-z]+", rname).group(0).upper()
    ddict = data["devices"][dev]
    eom = ddict.get("eom", {}).get(iface + " " + rname.split("::")[-1].upper(), {"q": "\n", "r": "\n"})
    inst = rm.open_resource(rname)
    # Whether a reply is pending is read from the simulated device's output queue, so no step
    # waits for a timeout and no slow machine turns a late reply into "no reply".
    device = rm.visalib.sessions[inst.session].device
    inst.timeout = 10000
    inst.write_termination = ""
    inst.read_termination = dec(eom["r"])
    results = []
    for st in steps_for(ddict):
        try:
            inst.write_raw((st["q"] + dec(eom["q"])).encode())
        except Exception as e:
            results.append(dict(st, outcome="error", reply=None)); continue
        if not device._output_buffers:
            results.append(dict(st, outcome="timeout", reply=None)); continue
        try:
            results.append(dict(st, outcome="reply", reply=inst.read()))
        except errors.VisaIOError as e:
            results.append(dict(st, outcome="timeout" if e.error_code == pyvisa.constants.VI_ERROR_TMO else "error", reply=None))
        except Exception:
            results.append(dict(st, outcome="error", reply=None))
    inst.close()
    out.append({"resource": rname, "device": dev, "query_eom": dec(eom["q"]), "steps": results})
print(json.dumps({"path": path, "devices": out}))
"""#

    /// One scripted query's outcome on one side.
    struct Outcome: Equatable, CustomStringConvertible {
        /// "reply", "timeout" (nothing to read) or "error" (the write failed).
        let kind: String
        let reply: String?
        var description: String { kind == "reply" ? JSONSerializationText.quote(reply ?? "") : "<\(kind)>" }
    }

    /// Whether two outcomes agree: identical, or for a RANDOM reply the same shape (as many
    /// values, each within min...max, written with as many decimals).
    static func agree(_ a: Outcome, _ b: Outcome, random: [String: Any]?) -> Bool {
        guard let random, a.kind == "reply", b.kind == "reply", let x = a.reply, let y = b.reply else { return a == b }
        let count = random["count"] as! Int
        let low = random["min"] as! Double, high = random["max"] as! Double
        func shape(_ s: String) -> [Int]? {
            let values = s.isEmpty ? [] : s.components(separatedBy: ", ")
            guard values.count == count else { return nil }
            var decimals: [Int] = []
            for v in values {
                guard let d = Double(v), d >= low - 0.5, d <= high + 0.5 else { return nil }
                decimals.append(v.split(separator: ".").dropFirst().first?.count ?? 0)
            }
            return decimals
        }
        guard let sx = shape(x), let sy = shape(y) else { return false }
        return sx == sy
    }

    /// One scripted query replayed through the Litmus sim driver, beside pyvisa-sim's outcome.
    struct Replayed {
        let query: String
        let expected: Outcome
        let actual: Outcome
        let agrees: Bool
    }

    /// Replays pyvisa-sim's steps (`q`, `outcome`, `reply`, `random`) through the real mock
    /// plugin, on `SIM::<resource>` of the file at `path`.
    static func replay(_ steps: [[String: Any]], path: String, resource: String, queryEOM: [UInt8]) throws -> [Replayed] {
        let instrument = try TestPlugins.registry.open("SIM::\(resource)", options: ["description": .string(path)])
        defer { instrument.close() }
        return try steps.map { step in
            let query = step["q"] as! String
            let expected = Outcome(kind: step["outcome"] as! String, reply: step["reply"] as? String)
            let actual: Outcome
            do {
                try instrument.writeRaw(Array(query.utf8) + queryEOM)
                do {
                    actual = Outcome(kind: "reply", reply: try instrument.read())
                } catch let error as DriverError where error.status == .timeout {
                    actual = Outcome(kind: "timeout", reply: nil)
                }
            } catch let error as DriverError where error.status != .timeout {
                actual = Outcome(kind: "error", reply: nil)
            }
            return Replayed(query: query, expected: expected, actual: actual, agrees: agree(expected, actual, random: step["random"] as? [String: Any]))
        }
    }

    @Test(arguments: shippedFiles)
    func shippedFileAnswersLikePyVISASim(_ file: String) throws {
        let result = try TestPython.json(Self.program, [file]) as! [String: Any]
        let path = result["path"] as! String
        let devices = result["devices"] as! [[String: Any]]
        #expect(!devices.isEmpty, "pyvisa-sim listed no device in \(file)")
        var total = 0, identical = 0
        var rows: [String] = []
        var differences: [String] = []
        for run in devices {
            let resource = run["resource"] as! String, name = run["device"] as! String
            let eom = Array((run["query_eom"] as! String).utf8)
            let steps = run["steps"] as! [[String: Any]]
            var same = 0
            for step in try Self.replay(steps, path: path, resource: resource, queryEOM: eom) {
                if step.agrees {
                    same += 1
                } else {
                    let key = "\(file)|\(name)|\(step.query)"
                    let reason = Self.knownDifferences[key]
                    differences.append("\(key): pyvisa-sim \(step.expected), Litmus \(step.actual)" + (reason.map { " (known: \($0))" } ?? ""))
                    if reason == nil {
                        Issue.record("\(file), \(name) (\(resource)), \(step.query): pyvisa-sim answered \(step.expected), Litmus \(step.actual)")
                    }
                }
            }
            total += steps.count
            identical += same
            let share = steps.isEmpty ? 1 : Double(same) / Double(steps.count)
            rows.append("\(file) | \(name) | \(resource) | \(steps.count) | \(same) | \(String(format: "%.1f", share * 100)) %")
            #expect(share >= Self.requiredAgreement, "\(file), \(name): \(same) of \(steps.count) replies identical")
        }
        let share = total == 0 ? 0 : Double(identical) / Double(total)
        print("pyvisa-sim agreement (file | device | resource | queries | identical | %):")
        for row in rows { print("  " + row) }
        print("  \(file) | all | - | \(total) | \(identical) | \(String(format: "%.1f", share * 100)) %")
        for difference in differences { print("  difference: " + difference) }
        #expect(share >= Self.requiredAgreement)
    }

    /// Runs given queries through pyvisa + pyvisa-sim on one resource of a file: argv[1] the
    /// file, argv[2] the resource, argv[3] a JSON list of queries. Prints the steps as
    /// ``program`` does.
    static let stepsProgram = #"""
import json, sys, pyvisa
rm = pyvisa.ResourceManager(sys.argv[1] + "@sim")
inst = rm.open_resource(sys.argv[2])
device = rm.visalib.sessions[inst.session].device
inst.timeout = 10000
inst.write_termination = ""
inst.read_termination = "\n"
out = []
for q in json.loads(sys.argv[3]):
    step = {"q": q, "random": None}
    try:
        inst.write_raw((q + "\n").encode())
    except Exception:
        out.append(dict(step, outcome="error", reply=None)); continue
    if not device._output_buffers:
        out.append(dict(step, outcome="timeout", reply=None)); continue
    out.append(dict(step, outcome="reply", reply=inst.read()))
print(json.dumps(out))
"""#

    /// Reply templates render as Python's `str.format` renders them, beyond the few the shipped
    /// files use: each format spec below is a property getter, each value is set (as text,
    /// converted by the property's type) and read back, through pyvisa-sim and through Litmus.
    @Test func replyTemplatesFormatLikePython() throws {
        let floatSpecs = [
            "{}", "{:.2f}", "{:+.8E}", "{:g}", "{:.3g}", "{:e}", "{:10.3f}", "{:<10.1f}|", "{:^9.2f}", "{:08.2f}",
            "{:,.2f}", "{:.0f}", "{:.1%}", "{:G}", "{: .4f}", "[{:>12}]",
        ]
        let intSpecs = ["{}", "{:d}", "{:+d}", "{:x}", "{:X}", "{:05d}", "{:,d}", "{:o}", "{:b}", "{:.2f}", "{:e}"]
        let floatValues = ["0", "1", "-1", "0.5", "2.5", "1234.5678", "1e-05", "0.0001", "1e16", "123456789012.0", "-0.0", "3.14159e-10", "1e100", "7.000001"]
        let intValues = ["0", "7", "-42", "1234567", "+3"]
        var yaml = "spec: \"1.1\"\ndevices:\n  fmt:\n    error: ERROR\n    properties:\n"
        var queries: [String] = []
        for (kind, specs, values) in [("float", floatSpecs, floatValues), ("int", intSpecs, intValues)] {
            for (i, spec) in specs.enumerated() {
                let name = "\(kind.uppercased())\(i)"
                let quoted = spec.replacingOccurrences(of: "\"", with: "\\\"")
                yaml += "      \(name):\n        default: 0\n        getter: {q: \"\(name)?\", r: \"\(quoted)\"}\n"
                yaml += "        setter: {q: \"\(name) {}\"}\n        specs: {type: \(kind)}\n"
                for value in values { queries += ["\(name) \(value)", "\(name)?"] }
            }
        }
        yaml += "resources:\n  ASRL1::INSTR: {device: fmt}\n"
        let path = "\(TestPlugins.scratch)/pyvisa-sim-formats-\(UUID().uuidString).yaml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        let queryList = String(decoding: try JSONSerialization.data(withJSONObject: queries), as: UTF8.self)
        let steps = try TestPython.json(Self.stepsProgram, [path, "ASRL1::INSTR", queryList]) as! [[String: Any]]
        #expect(steps.count == queries.count)
        // Every value is accepted and every getter answers: the comparison is of real replies.
        let replies = steps.compactMap { $0["reply"] as? String }
        #expect(replies.count == queries.count / 2)
        #expect(!replies.contains("ERROR"))
        let replayed = try Self.replay(steps, path: path, resource: "ASRL1::INSTR", queryEOM: Array("\n".utf8))
        for step in replayed where !step.agrees {
            Issue.record("\(step.query): pyvisa-sim \(step.expected), Litmus \(step.actual)")
        }
        let same = replayed.filter(\.agrees).count
        print("pyvisa-sim format agreement: \(same) of \(replayed.count) replies identical (\(Set(replies).count) distinct replies), e.g. \(replies.prefix(40).map { JSONSerializationText.quote($0) }.joined(separator: " "))")
    }
}

/// JSON-style quoting for printed replies.
private enum JSONSerializationText {
    static func quote(_ s: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
        return data.map { String(decoding: $0, as: UTF8.self).dropFirst().dropLast().description } ?? "\"\(s)\""
    }
}
