import Foundation
import Testing

@testable import Litmus

/// `litmus station init`, run as the built binary: on a real pseudo-terminal answering the role
/// questions, and with flags; against the sim driver's devices, a simulated-device file, and
/// fake LAN instruments on loopback. Every file written must pass the real `litmus station check`.
@Suite(.serialized) struct StationInitTests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"

    /// The environment of the child: no LITMUS_* settings of the caller, locks in scratch.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LITMUS_") || $0.key.hasPrefix("LITMUS_TEST_PLUGIN") }
        env["LITMUS_LOCK_DIR"] = "\(TestPlugins.scratch)/init-locks"
        env.merge(extra) { _, new in new }
        return env
    }

    /// A fresh project folder with a `stations/` folder.
    static func workspace() throws -> String {
        let dir = "\(TestPlugins.scratch)/station-init-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/stations", withIntermediateDirectories: true)
        return dir
    }

    static func run(_ arguments: [String], in dir: String, _ extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try TestPlugins.run(litmus, arguments, environment: environment(extra), in: dir)
    }

    /// `litmus station check <file> --open`, the real check a user runs next.
    static func checkOpens(_ file: String, in dir: String, _ extra: [String: String] = [:]) throws {
        let check = try run(["station", "check", file, "--open"], in: dir, extra)
        #expect(check.status == 0, "station check --open \(file):\n\(check.output)\n\((try? String(contentsOfFile: dir + "/" + file, encoding: .utf8)) ?? "")")
        #expect(check.output.contains("opened and closed"), "\(check.output)")
    }

    /// The roles of a written station, read back by the loader station check uses.
    static func roles(_ path: String) throws -> [StationInstrument] {
        let station = try #require(Station.load(path: path, reader: ConfigReader()), "\(path) does not load")
        return station.instruments
    }

    @Test func flagsWriteAStationThatStationCheckOpens() throws {
        let dir = try Self.workspace()
        let r = try Self.run(
            ["station", "init", "--out", "stations/bench_a.yaml", "--driver", "sim", "--role", "sim::psu::instr=supply", "--yes"], in: dir)
        #expect(r.status == 0, "\(r.output)")
        let roles = try Self.roles(dir + "/stations/bench_a.yaml")
        #expect(roles.map(\.role) == ["dmm", "supply"], "\(r.output)")
        #expect(roles.map(\.resource) == ["SIM::dmm::INSTR", "SIM::psu::INSTR"])
        // The identity is what the device answered to *IDN? (asked through the plugin).
        let idn = try TestPlugins.registry.open("SIM::dmm::INSTR", driver: "sim")
        let answer = InstrumentIdentity(idn: try idn.query("*IDN?"))
        idn.close()
        #expect(roles[0].identity?.model == answer.model && roles[0].identity?.serial == answer.serial, "\(roles[0])")
        #expect(roles.map(\.type) == ["dmm", "psu"])
        try Self.checkOpens("stations/bench_a.yaml", in: dir)
    }

    @Test func simFileDevicesAreOfferedAndOpenWithTheirFile() throws {
        let dir = try Self.workspace()
        try FileManager.default.createDirectory(atPath: dir + "/stations/sim", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: TestPlugins.packageRoot + "/stations/sim/bench_devices.yaml", toPath: dir + "/stations/sim/bench_devices.yaml")
        let r = try Self.run(
            ["station", "init", "--out", "stations/sim_bench.yaml", "--driver", "sim", "--sim", "stations/sim/bench_devices.yaml", "--yes"],
            in: dir)
        #expect(r.status == 0, "\(r.output)")
        let roles = try Self.roles(dir + "/stations/sim_bench.yaml")
        // The file's four devices; the built-in dmm and psu it redefines are not offered twice.
        #expect(roles.map(\.role) == ["dmm", "psu", "eload", "switch"], "\(r.output)")
        #expect(roles.allSatisfy { $0.options.first?.value == .scalar("${station_dir}/sim/bench_devices.yaml", quoted: true) }, "\(roles)")
        #expect(roles.first?.identity?.model == "SIM-DMM-BENCH", "the identity comes from the file's device: \(roles)")
        try Self.checkOpens("stations/sim_bench.yaml", in: dir)
    }

    /// pyvisa-sim's own `default.yaml`, as the pyvisa-sim package ships it: every resource it
    /// maps is offered as `SIM::<resource>`, named by its file's absolute path.
    @Test func aPyVISASimFileOffersItsResources() throws {
        let python = try TestPython.json("import json, os, pyvisa_sim; print(json.dumps(os.path.dirname(pyvisa_sim.__file__)))")
        let file = try #require(python as? String) + "/default.yaml"
        let dir = try Self.workspace()
        let r = try Self.run(["station", "init", "--out", "stations/pyvisa.yaml", "--driver", "sim", "--sim", file, "--yes"], in: dir)
        #expect(r.status == 0, "\(r.output)")
        let fromFile = try Self.roles(dir + "/stations/pyvisa.yaml").filter { $0.options.first?.value == .scalar(file, quoted: true) }
        let listed = try StationDraft.simDevices(file: file).map(\.resource)
        #expect(listed.contains("SIM::ASRL1::INSTR"))
        // Every resource of the file is written, except those that did not answer *IDN?,
        // which --yes leaves out and names.
        let note = try #require(r.output.split(separator: "\n").first { $0.hasPrefix("note: left out (not identified") }.map(String.init), "\(r.output)")
        let leftOut = listed.filter { note.contains($0 + ",") || note.contains($0 + ";") }
        #expect(fromFile.compactMap(\.resource) == listed.filter { !leftOut.contains($0) }, "\(r.output)")
        #expect(!fromFile.isEmpty && fromFile.allSatisfy { $0.identity != nil }, "\(r.output)")
        try Self.checkOpens("stations/pyvisa.yaml", in: dir)
    }

    @Test func lanInstrumentsOnLoopbackAreFoundIdentifiedAndChecked() throws {
        let vxi = try FakeServer("vxi11", ["--serial", "INIT42"])
        defer { vxi.stop() }
        let socket = try FakeServer("socket", ["--serial", "SOCK7"])
        defer { socket.stop() }
        let env = ["LITMUS_VXI11_PORTMAP_PORT": String(vxi.port), "LITMUS_LAN_DISCOVER_MS": "300"]
        let dir = try Self.workspace()
        let socketResource = "TCPIP::127.0.0.1::\(socket.port)::SOCKET"
        let r = try Self.run(
            ["station", "init", "--out", "stations/lan.yaml", "--driver", "lan", "--lan", "127.0.0.1",
             "--role", "\(socketResource)=meter", "--yes"], in: dir, env)
        #expect(r.status == 0, "\(r.output)")
        let roles = try Self.roles(dir + "/stations/lan.yaml")
        // The VXI-11 instrument answered discovery; the raw socket, which cannot be
        // discovered, was named by --role and added.
        let vxiRole = try #require(roles.first { $0.resource == "TCPIP0::127.0.0.1::inst0::INSTR" }, "\(r.output)")
        #expect(vxiRole.role == "lan")
        #expect(vxiRole.identity?.serial == "INIT42")
        let socketRole = try #require(roles.first { $0.role == "meter" }, "\(r.output)")
        #expect(socketRole.resource == "TCPIP0::127.0.0.1::\(socket.port)::SOCKET")
        #expect(socketRole.identity?.serial == "SOCK7")
        try Self.checkOpens("stations/lan.yaml", in: dir, env)
    }

    @Test func rolesAreAskedOnATerminal() throws {
        let dir = try Self.workspace()
        let session = try TerminalSession.run(
            [Self.litmus, "station", "init", "--out", "stations/asked.yaml", "--driver", "sim"],
            environment: Self.environment(), directory: dir,
            script: [
                ["expect", "role [dmm]: "], ["send", "\r"],
                ["expect", "role [psu]: "], ["send", "Main Supply\r"], ["expect", "is not a role name"],
                ["expect", "role [psu]: "], ["send", "dmm\r"], ["expect", "already taken"],
                ["expect", "role [psu]: "], ["send", "psu_main\r"],
                ["expect", "wrote stations/asked.yaml"],
            ])
        #expect(session.stuck == nil, "\(session.output)")
        #expect(session.status == 0, "\(session.output)")
        #expect(session.output.contains("main_supply"), "the refusal suggests a role name: \(session.output)")
        #expect(try Self.roles(dir + "/stations/asked.yaml").map(\.role) == ["dmm", "psu_main"])
        try Self.checkOpens("stations/asked.yaml", in: dir)
    }

    @Test func dashLeavesAResourceOutAndCtrlCWritesNothing() throws {
        let dir = try Self.workspace()
        let skipped = try TerminalSession.run(
            [Self.litmus, "station", "init", "--out", "stations/one.yaml", "--driver", "sim"],
            environment: Self.environment(), directory: dir,
            script: [["expect", "role [dmm]: "], ["send", "-\r"], ["expect", "role [psu]: "], ["send", "\r"], ["expect", "wrote"]])
        #expect(skipped.stuck == nil && skipped.status == 0, "\(skipped.output)")
        #expect(try Self.roles(dir + "/stations/one.yaml").map(\.role) == ["psu"])

        let abandoned = try TerminalSession.run(
            [Self.litmus, "station", "init", "--out", "stations/two.yaml", "--driver", "sim"],
            environment: Self.environment(), directory: dir,
            script: [["expect", "role [dmm]: "], ["send", "\u{03}"], ["expect", "nothing was written"]])
        #expect(abandoned.stuck == nil, "\(abandoned.output)")
        #expect(abandoned.status == 130, "\(abandoned.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/stations/two.yaml"))
    }

    @Test func anExistingFileIsKeptWithoutForce() throws {
        let dir = try Self.workspace()
        let path = dir + "/stations/kept.yaml"
        try "name: mine\ninstruments: {}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let refused = try Self.run(["station", "init", "--out", "stations/kept.yaml", "--driver", "sim", "--yes"], in: dir)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("stations/kept.yaml exists; nothing was written. Fix:"), "\(refused.output)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "name: mine\ninstruments: {}\n")
        let forced = try Self.run(["station", "init", "--out", "stations/kept.yaml", "--driver", "sim", "--yes", "--force"], in: dir)
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try Self.roles(path).map(\.role) == ["dmm", "psu"])
    }

    @Test func withoutATerminalOnlyTheNamedRolesAreWritten() throws {
        let dir = try Self.workspace()
        let r = try Self.run(["station", "init", "--out", "stations/named.yaml", "--driver", "sim", "--role", "SIM::dmm::INSTR=dmm"], in: dir)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("left out (no terminal to ask on, and no --role for them): SIM::psu::INSTR"), "\(r.output)")
        #expect(try Self.roles(dir + "/stations/named.yaml").map(\.role) == ["dmm"])
    }

    @Test func badArgumentsAreRefusedWithAFix() throws {
        let dir = try Self.workspace()
        let cases: [([String], String)] = [
            (["--role", "SIM::dmm::INSTR=DMM"], "\"DMM\" is not a role name. Fix: write a lower-case identifier such as dmm"),
            (["--role", "SIM::dmm::INSTR"], "expected RESOURCE=ROLE"),
            (["--role", "SIM::dmm::INSTR=a", "--role", "SIM::psu::INSTR=a"], "role a is given twice"),
            (["--role", "NOPE::x::INSTR=x"], "NOPE"),
            (["--sim", "stations/missing.yaml"], "missing.yaml"),
            (["--out", "stations/bench.txt"], "a station file is named <id>.yaml"),
        ]
        for (extra, message) in cases {
            let r = try Self.run(["station", "init", "--out", "stations/bad.yaml", "--driver", "sim", "--yes"] + extra, in: dir)
            #expect(r.status == 1, "\(extra): \(r.output)")
            #expect(r.output.contains(message), "\(extra): \(r.output)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/stations/bad.yaml"))
        }
        // A simulated-device file with neither devices nor resources: located.
        try "spec: \"1.1\"\n".write(toFile: dir + "/stations/empty_sim.yaml", atomically: true, encoding: .utf8)
        let r = try Self.run(["station", "init", "--out", "stations/bad.yaml", "--driver", "sim", "--sim", "stations/empty_sim.yaml"], in: dir)
        #expect(r.status == 1)
        #expect(r.output.contains("empty_sim.yaml:1:1: neither `devices:`"), "\(r.output)")
    }
}
