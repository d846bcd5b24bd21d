import Foundation
import Yams

/// The pieces of `litmus station init`: resources found on the bench, identified, given
/// roles, and turned into a station file that ``StationConfiguration/load(station:fixture:part:registry:mock:allowStationPlugins:environment:)``
/// accepts.
public enum StationDraft {
    /// One resource that can become a role.
    public struct Candidate: Sendable, Equatable {
        /// The driver that found (or serves) it.
        public var driverID: String
        /// The resource as it opens (canonical for the VISA interfaces).
        public var resource: String
        /// What the driver said about it.
        public var description: String
        /// The simulated-device file it comes from (the sim driver's `description` option).
        public var simFile: String?
        /// The `*IDN?` answer, when it was asked and answered.
        public var identity: InstrumentIdentity?
        /// Why it was not identified, when it was not.
        public var note: String?
        /// The role proposed when nobody names one.
        public var suggestedRole = "inst"
        /// The instrument type guessed from the device name or identity (`dmm`, `psu`...).
        public var type: String?
        /// The role it was given; nil leaves it out of the station.
        public var role: String?

        public init(driverID: String, resource: String, description: String, simFile: String? = nil) {
            self.driverID = driverID
            self.resource = resource
            self.description = description
            self.simFile = simFile
        }

        /// One line for tables and prompts: the identity, else the driver's description and why.
        public var identityText: String {
            if let identity {
                return [identity.manufacturer, identity.model, identity.serial, identity.firmware].map { $0 ?? "" }
                    .joined(separator: ",")
            }
            let text = description.isEmpty ? "-" : description
            return note.map { "\(text) (\($0))" } ?? text
        }
    }

    // MARK: - Finding

    /// The resources a simulated-device file offers: `SIM::<device>::INSTR` for each of a
    /// Litmus file's `devices`, `SIM::<resource>` for each of a pyvisa-sim file's `resources`.
    ///
    /// - Throws: a located ``ConfigError`` when the file cannot be read or has neither key.
    public static func simDevices(file: String) throws(ConfigError) -> [(resource: String, description: String)] {
        let root = try ConfigReader().load(file)
        let entries = try root.entries("a simulated-device file (a mapping with `devices:` or pyvisa-sim's `resources:`)")
        let name = (file as NSString).lastPathComponent
        var found: [(resource: String, description: String)] = []
        if let resources = entries.first(where: { $0.key == "resources" })?.value {
            for entry in try resources.entries("pyvisa-sim resources (resource name -> {device: name})") {
                let device = entry.value.isMapping ? (try? entry.value.entries())?.first { $0.key == "device" }.flatMap { try? $0.value.text() } : nil
                found.append(("SIM::\(entry.key)", device.map { "device \($0) of \(name)" } ?? "pyvisa-sim resource of \(name)"))
            }
            return found
        }
        if let devices = entries.first(where: { $0.key == "devices" })?.value {
            for entry in try devices.entries("simulated devices (name -> description)") {
                let identity = entry.value.isMapping ? (try? entry.value.entries())?.first { $0.key == "identity" }.flatMap { try? $0.value.text() } : nil
                found.append(("SIM::\(entry.key)::INSTR", identity.map { "\($0) (\(name))" } ?? "device \(entry.key) of \(name)"))
            }
            return found
        }
        throw root.error(
            "neither `devices:` (a Litmus simulated-device file) nor `resources:` (a pyvisa-sim file) is written here",
            fix: "pass a file such as stations/sim/bench_devices.yaml to --sim")
    }

    /// `candidates` without the sim driver's built-in devices that a `--sim` file redefines
    /// (the file's device answers as the file says).
    public static func dropShadowedBuiltins(_ candidates: [Candidate]) -> [Candidate] {
        let fromFiles = Set(candidates.filter { $0.simFile != nil }.map(\.resource))
        return candidates.filter { $0.simFile != nil || !($0.driverID == "sim" && fromFiles.contains($0.resource)) }
    }

    /// Gives the resources named by `wanted` their roles; a resource not among the candidates
    /// is added, served by the driver of its scheme.
    ///
    /// - Throws: ``DriverError`` when no loaded driver serves a resource named that was not found.
    public static func assign(
        _ wanted: [(resource: String, role: String)], to candidates: inout [Candidate], registry: DriverRegistry
    ) throws {
        for (resource, role) in wanted {
            let key = canonical(resource)
            if let i = candidates.firstIndex(where: { matchKey($0.resource) == matchKey(resource) && $0.role == nil }) {
                candidates[i].role = role
                continue
            }
            let driver = try registry.driver(forResource: resource)
            var added = Candidate(driverID: driver.id, resource: key, description: "named by --role")
            added.role = role
            candidates.append(added)
        }
    }

    /// What two spellings of one resource share: the canonical form of a VISA resource; other
    /// schemes (`SIM::dmm::INSTR`) compared without case, as their keywords are.
    static func matchKey(_ resource: String) -> String {
        let c = canonical(resource)
        guard let name = try? ResourceName(parsing: resource), case .other = name.interface else { return c }
        return c.lowercased()
    }

    /// The canonical form of a VISA resource; other schemes as written.
    static func canonical(_ resource: String) -> String {
        guard let name = try? ResourceName(parsing: resource) else { return resource }
        if case .other = name.interface { return resource }
        return name.canonical
    }

    // MARK: - Identifying

    /// The most time one identity query may take.
    public static let identifyTimeoutMs: UInt32 = 2000

    /// Opens a message-based resource, asks `*IDN?` and closes it; a real instrument is locked
    /// meanwhile (an instrument in use by a test is left alone). Serial ports are not asked:
    /// their line settings are unknown and the device may not speak SCPI. Failures become the
    /// candidate's `note`.
    public static func identify(
        _ candidate: inout Candidate, registry: DriverRegistry,
        locks: ResourceLocks = ResourceLocks(directory: ResourceLocks.defaultDirectory())
    ) {
        let driver: DriverInfo
        do { driver = try registry.driver(id: candidate.driverID) } catch {
            candidate.note = "\(error)"
            return
        }
        guard driver.isMessageBased else {
            candidate.note = "not asked *IDN?: driver \(driver.id) is not message-based"
            return
        }
        if let name = try? ResourceName(parsing: candidate.resource), case .asrl = name.interface {
            candidate.note = "serial port: not asked *IDN?; check it with litmus scpi and its line settings"
            return
        }
        var lease: ResourceLease?
        if !driver.isSimulated {
            do {
                lease = try locks.acquire(resource: candidate.resource, station: "litmus-station-init", role: "identify")
            } catch {
                candidate.note = "not asked *IDN?: \(error)"
                return
            }
        }
        defer { lease?.release() }
        var options: [String: InstrumentValue] = [:]
        if let file = candidate.simFile { options["description"] = .string(file) }
        do {
            let instrument = try registry.open(candidate.resource, driver: driver.id, options: options)
            defer { instrument.close() }
            try instrument.setTimeout(milliseconds: identifyTimeoutMs)
            let answer = try instrument.query("*IDN?")
            let identity = InstrumentIdentity(idn: String(answer.prefix(256)))
            if identity.manufacturer == nil && identity.model == nil {
                candidate.note = "*IDN? answered \"\(answer.prefix(60))\", not an identity"
            } else {
                candidate.identity = identity
            }
        } catch {
            candidate.note = "*IDN? failed: \(String("\(error)".prefix(200)))"
        }
    }

    // MARK: - Roles

    /// Instrument types recognised in a device name, `*IDN?` answer or description, most
    /// specific first, with the words that give them away.
    static let typeWords: [(type: String, words: [String])] = [
        ("eload", ["eload", "electronic load", "dc load"]),
        ("psu", ["psu", "power supply", "e36", "dp8"]),
        ("dmm", ["dmm", "multimeter", "344"]),
        ("scope", ["scope", "oscilloscope", "dso", "mso"]),
        ("awg", ["awg", "function generator", "waveform", "335"]),
        ("switch", ["switch", "matrix", "mux", "349"]),
        ("smu", ["smu", "sourcemeter", "source meter", "2450", "b29"]),
    ]

    /// Proposes a role (and type) for each candidate, unique among them: a simulated device's
    /// name, else the instrument type its identity gives away, else its interface.
    public static func suggestRoles(_ candidates: inout [Candidate]) {
        var taken = Set(candidates.compactMap(\.role))
        for i in candidates.indices {
            let c = candidates[i]
            var base: String?
            if let name = try? ResourceName(parsing: c.resource), case .other(let scheme, let parts) = name.interface,
                scheme == "SIM", let device = parts.first
            {
                base = StationInstrument.roleName(from: device)
            }
            let text = ([c.identity?.manufacturer, c.identity?.model].compactMap { $0 } + [base ?? "", c.description])
                .joined(separator: " ").lowercased()
            let type = typeWords.first { entry in entry.words.contains { word in containsWord(text, word) } }?.type
            candidates[i].type = type
            if base == nil { base = type ?? interfaceWord(c.resource) }
            if c.role == nil {
                let role = unique(base ?? "inst", taken: taken)
                candidates[i].suggestedRole = role
                taken.insert(role)
            } else {
                candidates[i].suggestedRole = c.role!
            }
        }
    }

    /// `base`, or `base2`, `base3`... when taken.
    public static func unique(_ base: String, taken: Set<String>) -> String {
        if !taken.contains(base) { return base }
        var n = 2
        while taken.contains("\(base)\(n)") { n += 1 }
        return "\(base)\(n)"
    }

    /// Whether `word` appears in `text` not inside a longer word (digits may follow a word
    /// that ends in a letter: `e36` in `e36312a`).
    static func containsWord(_ text: String, _ word: String) -> Bool {
        var search = text.startIndex..<text.endIndex
        while let r = text.range(of: word, range: search) {
            let before = r.lowerBound == text.startIndex ? nil : text[text.index(before: r.lowerBound)]
            let after = r.upperBound == text.endIndex ? nil : text[r.upperBound]
            let startOK = before.map { !$0.isLetter && !$0.isNumber } ?? true
            // Digits may follow (`dmm6500`, `e36` in `e36312a`); a letter only after a word
            // that ends in a digit (`344` in `34465a`).
            let endOK = after.map { !$0.isLetter || (word.last?.isNumber ?? false) } ?? true
            if startOK && endOK { return true }
            search = r.upperBound..<text.endIndex
        }
        return false
    }

    static func interfaceWord(_ resource: String) -> String {
        guard let name = try? ResourceName(parsing: resource) else { return "inst" }
        switch name.interface {
        case .tcpip, .vicp: return "lan"
        case .usb: return "usb"
        case .asrl: return "serial"
        case .gpib: return "gpib"
        case .other(let scheme, _): return StationInstrument.roleName(from: scheme) ?? "inst"
        }
    }

    // MARK: - Writing

    /// The station: one instrument per candidate with a role, in order. A simulated-device file
    /// under `directory` is named relative to the station (`${station_dir}/...`), others
    /// by their absolute path.
    public static func station(id: String, name: String, hostname: String?, candidates: [Candidate], directory: String) -> Station {
        let instruments = candidates.compactMap { c -> StationInstrument? in
            guard let role = c.role else { return nil }
            var options: [ConfigEntry] = []
            if let file = c.simFile {
                let dir = directory.hasSuffix("/") ? directory : directory + "/"
                let text = file.hasPrefix(dir) ? "${station_dir}/" + String(file.dropFirst(dir.count)) : file
                options.append(ConfigEntry(key: "description", value: .scalar(text, quoted: true)))
            }
            let identity = c.identity.map { InstrumentIdentity(manufacturer: $0.manufacturer, model: $0.model, serial: $0.serial) }
            return StationInstrument(
                role: role, type: c.type, resource: c.resource, options: options, identity: identity)
        }
        return Station(id: id, name: name, hostname: hostname, instruments: instruments)
    }

    /// The station file's text: a header saying how it was made, the YAML, and above each role
    /// a comment with what was found there.
    public static func text(_ station: Station, candidates: [Candidate]) -> String {
        var lines = ConfigEncoding.string(station.yaml).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let start = lines.firstIndex(of: "instruments:") {
            var i = start + 1
            while i < lines.count {
                let line = lines[i]
                if line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") {
                    let role = String(line.dropFirst(2).dropLast())
                    if let c = candidates.first(where: { $0.role == role }) {
                        let found = "  # \(c.resource) via \(c.driverID): \(c.identityText)"
                        lines.insert(String(found.unicodeScalars.filter { $0.value >= 0x20 || $0 == "\t" }), at: i)
                        i += 1
                    }
                }
                i += 1
            }
        }
        let header = [
            "# Written by `litmus station init`. Check it with: litmus station check <this file> --open",
            "# Add a `profile:` to a role to call operations by name (docs/stations.md), and",
            "# `calibration:` records; identities below are what each instrument answered to *IDN?.",
        ]
        return (header + lines).joined(separator: "\n")
    }
}
