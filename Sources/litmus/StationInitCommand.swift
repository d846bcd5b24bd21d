import ArgumentParser
import Foundation
import Litmus

extension StationCommand {
    /// `litmus station init`: finds the instruments the loaded drivers can reach, asks each its
    /// `*IDN?`, takes a role for each (asked on a terminal, or from `--role` / `--yes`) and
    /// writes a station file that `litmus station check` accepts.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Discover instruments, name a role for each and write a station file.",
            discussion: """
                Every driver that can discover is asked which resources it can open (USB, serial ports, \
                the simulated devices; LAN instruments only with --lan <address>, as for litmus discover). \
                Each message-based resource found is opened once and asked *IDN? (serial ports are not: \
                their settings are unknown); the answer becomes the role's identity, which station check \
                --open compares. On a terminal a role is asked for each resource: Enter takes the one in \
                brackets, - leaves the resource out (the brackets show - for a resource that was not \
                identified). Without a terminal, roles come from --role RESOURCE=ROLE; --yes gives every \
                other identified resource its suggested role.

                The file is checked the way litmus station check checks it before the command ends. An \
                existing file is never overwritten without --force.
                """)

        @OptionGroup var search: DriversCommand.SearchOptions
        @Option(help: "The station file to write; its name without .yaml is the station id.") var out = "stations/new.yaml"
        @Option(help: "The station's display name (default: its id).") var name: String?
        @Option(
            name: .customLong("lan"),
            help: ArgumentHelp(
                "Also find VXI-11 instruments with a UDP broadcast to this IPv4 address (see litmus discover --lan).",
                valueName: "address"))
        var lan: String?
        @Option(
            name: .customLong("sim"),
            help: ArgumentHelp(
                "A simulated-device file for the sim driver (Litmus `devices:` or pyvisa-sim); its devices are offered too (repeatable).",
                valueName: "file"))
        var simFiles: [String] = []
        @Option(
            name: .customLong("role"),
            help: ArgumentHelp(
                "Give a resource its role without asking, e.g. --role SIM::dmm::INSTR=dmm (repeatable). A resource not discovered is added.",
                valueName: "RESOURCE=ROLE"))
        var roleFlags: [String] = []
        @Option(name: .customLong("driver"), help: "Ask only these drivers to discover (repeatable).") var driverIDs: [String] = []
        @Flag(help: "Do not ask: identified resources without --role take their suggested role.") var yes = false
        @Flag(help: "Overwrite the station file if it exists.") var force = false
        @Flag(help: "Do not open the resources to ask *IDN?.") var noIdentify = false

        func run() throws {
            let outPath = DriverRegistry.absolutePaths([out])[0]
            let stem = ((outPath as NSString).lastPathComponent as NSString).deletingPathExtension
            guard outPath.hasSuffix(".yaml") || outPath.hasSuffix(".yml"), !stem.isEmpty else {
                fail("--out \(out): a station file is named <id>.yaml. Fix: e.g. --out stations/bench_1.yaml")
            }
            if FileManager.default.fileExists(atPath: outPath), !force {
                fail("\(out) exists; nothing was written. Fix: choose another --out, or add --force to replace it")
            }
            let wanted = try parseRoleFlags()
            if let lan { setenv("LITMUS_LAN_DISCOVER", lan, 1) }
            let registry = search.loadRegistry()
            for problem in registry.diagnostics { printError("warning: \(problem)") }

            var candidates = try discover(registry) + simFileCandidates(registry)
            candidates = StationDraft.dropShadowedBuiltins(candidates)
            do {
                try StationDraft.assign(wanted, to: &candidates, registry: registry)
            } catch {
                fail("--role: \(error)")
            }
            if candidates.isEmpty {
                fail(
                    "no instruments found. Fix: connect one and check `litmus discover`, add --lan <broadcast address> for LAN "
                        + "instruments, --sim <file> for simulated ones, or name a resource with --role RESOURCE=ROLE")
            }
            if !noIdentify {
                for i in candidates.indices { StationDraft.identify(&candidates[i], registry: registry) }
            }
            StationDraft.suggestRoles(&candidates)
            print("Found \(candidates.count) resource\(candidates.count == 1 ? "" : "s"):")
            print(TextTable.render(
                header: ["#", "DRIVER", "RESOURCE", "IDENTITY"],
                rows: candidates.enumerated().map { i, c in ["\(i + 1)", c.driverID, c.resource, c.identityText] }))

            if LineEditor.isAvailable && !yes {
                try askRoles(&candidates)
            } else {
                var left: [String] = []
                var unidentified: [String] = []
                for i in candidates.indices where candidates[i].role == nil {
                    if !yes {
                        left.append(candidates[i].resource)
                    } else if candidates[i].note != nil {
                        unidentified.append(candidates[i].resource)
                    } else {
                        candidates[i].role = candidates[i].suggestedRole
                    }
                }
                if !left.isEmpty {
                    printError(
                        "note: left out (no terminal to ask on, and no --role for them): \(left.joined(separator: ", ")); "
                            + "add --role RESOURCE=ROLE for each, or --yes to take the suggested roles")
                }
                if !unidentified.isEmpty {
                    printError(
                        "note: left out (not identified, so --yes does not take them): \(unidentified.joined(separator: ", ")); "
                            + "add --role RESOURCE=ROLE for those that are instruments of this bench")
                }
            }
            let chosen = candidates.filter { $0.role != nil }
            guard !chosen.isEmpty else { fail("no resource was given a role; nothing was written") }

            let station = StationDraft.station(
                id: stem, name: name ?? stem, hostname: ProcessInfo.processInfo.hostName, candidates: chosen,
                directory: (outPath as NSString).deletingLastPathComponent)
            let text = StationDraft.text(station, candidates: chosen)
            try write(text, to: outPath)

            let (config, report) = StationConfiguration.load(station: outPath, registry: registry)
            for w in report.warnings { printError("warning: \(w)") }
            guard config != nil, report.errors.isEmpty else {
                for e in report.errors { printError("error: \(e)") }
                fail("\(out) was written but does not pass station check (a bug in station init: please report it with the file)")
            }
            print("wrote \(out): station \(stem), \(chosen.count) role\(chosen.count == 1 ? "" : "s") (\(chosen.compactMap(\.role).joined(separator: ", ")))")
            print("check it with: litmus station check \(out) --open")
        }

        private func fail(_ message: String) -> Never {
            printError("error: \(message)")
            Self.exit(withError: ExitCode.failure)
        }

        /// `--role RESOURCE=ROLE` flags, checked: a valid role name, used once.
        private func parseRoleFlags() throws -> [(resource: String, role: String)] {
            var result: [(resource: String, role: String)] = []
            for flag in roleFlags {
                guard let eq = flag.lastIndex(of: "="), eq != flag.startIndex else {
                    fail("--role \(flag): expected RESOURCE=ROLE. Fix: e.g. --role SIM::dmm::INSTR=dmm")
                }
                let resource = String(flag[..<eq]).trimmingCharacters(in: .whitespaces)
                let role = String(flag[flag.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
                guard StationInstrument.isRoleName(role) else {
                    let hint = StationInstrument.roleName(from: role).map { " such as \($0)" } ?? ""
                    fail("--role \(flag): \"\(role)\" is not a role name. Fix: write a lower-case identifier\(hint) (letters, digits, _)")
                }
                if result.contains(where: { $0.role == role }) {
                    fail("--role \(flag): role \(role) is given twice. Fix: give each resource its own role")
                }
                result.append((resource, role))
            }
            return result
        }

        /// What the discovering drivers report, in canonical form.
        private func discover(_ registry: DriverRegistry) throws -> [StationDraft.Candidate] {
            var drivers = registry.drivers
            if !driverIDs.isEmpty {
                drivers = []
                for id in driverIDs {
                    do { drivers.append(try registry.driver(id: id)) } catch { fail("\(error)") }
                }
            }
            var found: [StationDraft.Candidate] = []
            for driver in drivers where driver.supports.contains(.discover) {
                do {
                    found += try driver.discover().map(DiscoverCommand.canonical).map {
                        StationDraft.Candidate(driverID: $0.driverID, resource: $0.resource, description: $0.description)
                    }
                } catch {
                    printError("warning: driver \(driver.id) could not discover resources: \(error)")
                }
            }
            return found
        }

        /// The devices of every `--sim` file, opened by the sim driver with the file as
        /// `description`.
        private func simFileCandidates(_ registry: DriverRegistry) throws -> [StationDraft.Candidate] {
            guard !simFiles.isEmpty else { return [] }
            let sim: DriverInfo
            do { sim = try registry.driver(id: "sim") } catch { fail("--sim needs the sim driver: \(error)") }
            var found: [StationDraft.Candidate] = []
            for file in DriverRegistry.absolutePaths(simFiles) {
                do {
                    found += try StationDraft.simDevices(file: file).map {
                        StationDraft.Candidate(
                            driverID: sim.id, resource: $0.resource, description: $0.description, simFile: file)
                    }
                } catch {
                    fail("\(error)")
                }
            }
            return found
        }

        /// Asks a role for every resource that has none, with the line editor.
        private func askRoles(_ candidates: inout [StationDraft.Candidate]) throws {
            let editor = LineEditor(history: .init(file: nil))
            print("Name a role for each (a lower-case name such as dmm or psu_main); Enter takes the one in brackets, - leaves it out.")
            for i in candidates.indices where candidates[i].role == nil {
                let c = candidates[i]
                let taken = Set(candidates.compactMap(\.role))
                // A resource that was not identified (a serial port, one that did not answer)
                // is left out unless a role is typed.
                var suggestion = c.note == nil ? c.suggestedRole : "-"
                if taken.contains(suggestion) { suggestion = StationDraft.unique(suggestion, taken: taken) }
                print("\(c.resource)  \(c.identityText)")
                while true {
                    switch editor.readLine(prompt: "role [\(suggestion)]: ") {
                    case .interrupted:
                        printError("station init abandoned; nothing was written")
                        throw ExitCode(130)
                    case .endOfInput:
                        printError("station init abandoned (end of input); nothing was written")
                        throw ExitCode.failure
                    case .line(let raw):
                        let answer = raw.trimmingCharacters(in: .whitespaces)
                        let role = answer.isEmpty ? suggestion : answer
                        if role == "-" { break }
                        if !StationInstrument.isRoleName(role) {
                            let hint = StationInstrument.roleName(from: role).map { ", e.g. \($0)" } ?? ""
                            print("  \"\(role)\" is not a role name: write a lower-case identifier (letters, digits, _)\(hint)")
                            continue
                        }
                        if taken.contains(role) {
                            print("  role \(role) is already taken; choose another")
                            continue
                        }
                        candidates[i].role = role
                    }
                    break
                }
            }
        }

        /// Writes the file: created exclusively (so a file that appeared meanwhile is not
        /// replaced) unless --force, then it replaces the old one atomically.
        private func write(_ text: String, to path: String) throws {
            let directory = (path as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                fail("cannot create \(directory): \(error.localizedDescription). Fix: choose an --out in a writable directory")
            }
            if force {
                do {
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                } catch {
                    fail("cannot write \(out): \(error.localizedDescription)")
                }
                return
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                fail("cannot create \(out): \(reason)\(errno == EEXIST ? ". Fix: choose another --out, or add --force" : "")")
            }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            do {
                try handle.write(contentsOf: Data(text.utf8))
                try handle.close()
            } catch {
                fail("cannot write \(out): \(error.localizedDescription)")
            }
        }
    }
}
