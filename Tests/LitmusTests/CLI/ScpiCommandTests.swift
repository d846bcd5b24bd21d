import Foundation
import Testing

@testable import Litmus

/// `litmus scpi`, run as the built binary: -c lines, piped sessions, binary blocks, station
/// roles, open errors, and a terminal session driven through tmux.
@Suite struct ScpiCommandTests {
    static let litmus = "\(TestPlugins.buildDirectory)/litmus"
    static let benchMock = "\(TestPlugins.packageRoot)/stations/bench_mock.yaml"
    static let simIdentity = "Litmus,SIM-DMM,SIM0001,1.0"

    /// What one run printed.
    struct Run {
        var status: Int32
        var out: String
        var err: String
        var lines: [String] { out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Runs `litmus <arguments>` with `input` on standard input (closed at once when nil), and
    /// standard output and error kept apart. Locks go to a scratch directory; a run still
    /// going after 30 s is terminated.
    static func run(_ arguments: [String], input: String? = nil) throws -> Run {
        let id = UUID().uuidString
        let outPath = "\(TestPlugins.scratch)/scpi-\(id).out"
        let errPath = "\(TestPlugins.scratch)/scpi-\(id).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: litmus)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LITMUS_LOCK_DIR"] = "\(TestPlugins.scratch)/scpi-locks"
        environment["HOME"] = "\(TestPlugins.scratch)/scpi-home"
        environment.removeValue(forKey: "XDG_DATA_HOME")
        process.environment = environment
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        watchdog.cancel()
        let out = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        let err = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        return Run(status: process.terminationStatus, out: out, err: err)
    }

    // MARK: - Lines from -c and from a pipe

    @Test func dashCPrintsTheSimIdentity() throws {
        let r = try Self.run(["scpi", "SIM::dmm::INSTR", "-c", "*IDN?"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == Self.simIdentity + "\n")
        #expect(r.err.isEmpty, "\(r.err)")
    }

    @Test func dashCFailureSetsTheExitStatusAndTheShellGoesOn() throws {
        let r = try Self.run(["scpi", "SIM::dmm::INSTR", "-c", "NOSUCH?", "-c", "*IDN?"])
        #expect(r.status == 1)
        #expect(r.out == Self.simIdentity + "\n", "the line after the failure still ran")
        #expect(r.err.contains("timeout"), "\(r.err)")
        #expect(r.err.contains(":clear"), "a timeout says what to try: \(r.err)")
    }

    @Test func pipedSessionAgainstTheExampleCDriver() throws {
        let input = """
            *IDN?
            :timeout 1s
            :timeout
            :stb
            FOO
            :stb
            :err
            :err
            :ops
            :call measure_dc_voltage
            :call set_range RES 1000
            :call is_autorange
            :call set_range function=DCV
            :call is_autorange
            :call fetch_buffer 3
            :call read_calibration_blob
            :quit
            *IDN?

            """
        let r = try Self.run(["scpi", "EXAMPLE::dmm0::INSTR"], input: input)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.isEmpty, "\(r.err)")
        let out = r.out
        #expect(out.components(separatedBy: "Litmus examples,EXAMPLE-DMM6500,SIM000001,1.0.0").count == 2, "one *IDN?: :quit stops the session\n\(out)")
        #expect(out.contains("timeout: 1 s\n"))
        #expect(out.contains("status byte 0x00 = 0b00000000 = 0: no bits set"), "\(out)")
        #expect(out.contains("-113, \"Undefined header\" (command error)\n0, \"No error\"\n"), "\(out)")
        #expect(out.contains("set_range(function: string {DCV|RES}, range?: f64) -> void"), ":ops lists the signatures")
        #expect(out.contains("fetch_buffer(points: i64 1...100000) -> f64[] [V]"))
        #expect(out.contains("\n5.000123 V\n"), "\(out)")
        #expect(out.contains("\nfalse\ntrue\n"), "RES 1000 is a fixed range, DCV without a range autoranges: \(out)")
        #expect(out.contains("[5.000122, 5.000123, 5.000124] V"), "\(out)")
        #expect(out.contains("<bytes: 16, 45 58 43 41 4c 01 07 ea 01 0f 00 7b ff f6 00 00>"), "\(out)")
    }

    @Test func unknownCommandThenErrShowsMinus113() throws {
        let r = try Self.run(["scpi", "SIM::dmm::INSTR"], input: "BOGUS:CMD 1\n:err\n:err\n")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "-113, \"Undefined header\" (command error)\n0, \"No error\"\n")
    }

    @Test func statusByteShowsTheBitsSet() throws {
        // An unknown command queues an error: EAV (bit 2) and ESB (bit 5, command error).
        let r = try Self.run(["scpi", "SIM::dmm::INSTR", "-c", "BOGUS", "-c", ":stb"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("bit 2: EAV"), "\(r.out)")
    }

    @Test func errorsArePrintedAndTheSessionContinues() throws {
        let input = """
            :call nope
            :timeout soon
            :call
            :write *IDN?
            :read
            :MEAS:VOLT:DC?
            DISP:TEXT 'is this a query?'
            :clear
            *IDN?

            """
        let r = try Self.run(["scpi", "SIM::dmm::INSTR"], input: input)
        #expect(r.status == 1, "failed lines in a piped session set the exit status")
        #expect(r.err.contains("'nope' is not an operation of driver 'sim'"), "\(r.err)")
        #expect(r.err.contains("cannot read timeout \"soon\""), "\(r.err)")
        #expect(r.err.contains(":call needs an operation name"), "\(r.err)")
        // :write sends without reading, :read reads; a leading ':' is SCPI unless it names a
        // shell command; a '?' inside quotes is data, so that line is only written.
        #expect(r.out == "\(Self.simIdentity)\n5.0012\n\(Self.simIdentity)\n", "\(r.out)\n\(r.err)")
    }

    // MARK: - Binary blocks

    @Test(arguments: [[String](), ["-o", "max_read_chunk=3"], ["-o", "stream=true", "-o", "max_read_chunk=7"]])
    func blockReplyIsSummarised(options: [String]) throws {
        // CURVe? answers a 1000-byte ramp: 0x0A at offsets 10, 266, 522 and 778.
        let r = try Self.run(["scpi", "SIM::dmm::INSTR"] + options + ["-c", "CURVe?", "-c", "*IDN?", "-c", "CURV?;*OPC?"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.lines[0] == "<block: 1000 bytes, first bytes 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f ...>")
        #expect(r.lines[1] == Self.simIdentity, "nothing of the block is left over")
        #expect(r.lines[2].hasSuffix("...> followed by \";1\""), "\(r.out)")
    }

    @Test func blocksWithTerminationsInsideAndMalformedBlocks() throws {
        let file = "\(TestPlugins.scratch)/scpi-blocks-\(UUID().uuidString).yaml"
        try """
            devices:
              blk:
                dialogues:
                  - {q: "NOEOM?", raw_hex: "23313561620a6364"}
                  - {q: "NEWLINES?", block: {hex: "0a0a0a0a"}}
                  - {q: "LASTNL?", raw_hex: "2331356162630a0a"}
                  - {q: "HUGE?", raw_hex: "2339393939393939393939"}
                  - {q: "SHORT?", raw_hex: "2332313061620a"}
                  - {q: "CR?", r: "1.5\\r"}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Self.run(
            ["scpi", "SIM::blk", "-o", "description=\(file)"],
            input: "NOEOM?\nNEWLINES?\nLASTNL?\n*IDN?\nHUGE?\n:clear\nSHORT?\n:clear\nCR?\n*IDN?\n")
        #expect(r.status == 1)
        #expect(
            r.lines == [
                "<block: 5 bytes, first bytes 61 62 0a 63 64>",
                "<block: 4 bytes, first bytes 0a 0a 0a 0a>",
                "<block: 5 bytes, first bytes 61 62 63 0a 0a>",
                "Litmus,Simulated,blk,1.0",
                "1.5\\r",
                "Litmus,Simulated,blk,1.0",
                "",
            ], "\(r.out)\n\(r.err)")
        #expect(r.err.contains("the block declares 999999999 bytes, more than maxMessageSize"), "\(r.err)")
        #expect(r.err.contains("the block declares 10 bytes and 3 arrived before"), "\(r.err)")
    }

    @Test func socketTransportBlockWithLineFeedsInside() throws {
        let server = try FakeServer("socket")
        defer { server.stop() }
        let r = try Self.run(
            ["scpi", "TCPIP::127.0.0.1::\(server.port)::SOCKET", "-o", "timeout_ms=2000",
             "-c", "DATA? 300", "-c", "*IDN?", "-c", ":timeout"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.lines.count == 4, "\(r.out)")
        #expect(r.lines[0] == "<block: 300 bytes, first bytes 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f ...>")
        #expect(r.lines[1].hasPrefix("Litmus,FakeInstrument,"))
        #expect(r.lines[2] == "timeout: 2 s")
    }

    // MARK: - Station roles

    @Test func stationRoleOpensWithItsOptionsAndProfile() throws {
        let r = try Self.run([
            "scpi", "dmm@\(Self.benchMock)", "-c", "*IDN?", "-c", ":call measure_dc_voltage", "-c", ":timeout", "-c", ":err",
        ])
        #expect(r.status == 0, "\(r.err)")
        #expect(
            r.lines == ["Litmus,SIM-DMM-BENCH,SIM1001,1.0", "3.3012 V", "timeout: 2 s", "0, \"No error\"", ""],
            "the bench's device file, the profile's operations and timeout_ms: \(r.out)")
    }

    @Test func mockedStationRoleAnswersItsOperations() throws {
        let r = try Self.run(["scpi", "eload@\(Self.benchMock)", "-c", ":call measure_current", "-c", ":call set_mode CC"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "0.5 A\n")
        let text = try Self.run(["scpi", "eload@\(Self.benchMock)", "-c", "*IDN?"])
        #expect(text.status == 1)
        #expect(text.err.contains("not message-based"), "\(text.err)")
    }

    @Test func unknownRoleAndMissingStationFail() throws {
        let role = try Self.run(["scpi", "dmx@\(Self.benchMock)", "-c", "*IDN?"])
        #expect(role.status == 1)
        #expect(role.err.contains("has no role 'dmx'. Did you mean 'dmm'?"), "\(role.err)")
        let file = try Self.run(["scpi", "dmm@\(TestPlugins.scratch)/no-such-station.yaml", "-c", "*IDN?"])
        #expect(file.status == 1)
        #expect(file.err.contains("no-such-station.yaml"), "\(file.err)")
    }

    // MARK: - Open errors

    @Test func badResourceIsLocatedAndFails() throws {
        let r = try Self.run(["scpi", "TCPIP::h::70000::SOCKET", "-c", "*IDN?"])
        #expect(r.status == 1)
        #expect(r.out.isEmpty)
        #expect(r.err.contains("at column 11: port '70000' is out of range"), "\(r.err)")
        #expect(r.err.contains("\n  TCPIP::h::70000::SOCKET\n            ^"), "a caret under the column: \(r.err)")
        let scheme = try Self.run(["scpi", "NOPE::x::INSTR", "-c", "*IDN?"])
        #expect(scheme.status == 1)
        #expect(scheme.err.contains("no loaded driver opens 'NOPE::x::INSTR'"), "\(scheme.err)")
        let device = try Self.run(["scpi", "SIM::nodev::INSTR", "-c", "*IDN?"])
        #expect(device.status == 1)
        #expect(device.err.contains("no device \"nodev\""), "\(device.err)")
    }

    @Test func openOptionsAreTypedByTheDriver() throws {
        let typo = try Self.run(["scpi", "SIM::dmm::INSTR", "-o", "timeout_mss=5", "-c", "*IDN?"])
        #expect(typo.status == 1)
        #expect(typo.err.contains("Did you mean 'timeout_ms'?"), "\(typo.err)")
        let type = try Self.run(["scpi", "EXAMPLE::dmm0::INSTR", "-o", "nplc=fast", "-c", "*IDN?"])
        #expect(type.status == 1)
        #expect(type.err.contains("'nplc'"), "\(type.err)")
        #expect(type.err.contains("expected a number"), "\(type.err)")
        let good = try Self.run(["scpi", "EXAMPLE::dmm0::INSTR", "-o", "serial=XY42", "-o", "read_termination=\\n", "-c", "*IDN?"])
        #expect(good.status == 0, "\(good.err)")
        #expect(good.out == "Litmus examples,EXAMPLE-DMM6500,XY42,1.0.0\n")
    }

    // MARK: - A terminal session

    /// Runs a program with standard input from /dev/null, its output in `output`, and no
    /// signals blocked, and waits for it with `waitpid`. Foundation's `Process` is not used:
    /// it learns of the exit through a descriptor the child inherits, and the tmux server the
    /// client forks keeps that descriptor open, so `waitUntilExit` would never return.
    static func spawnAndWait(_ argv: [String], output: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the test process reaches the tmux server (it would hold pipes open).
        // (Closing a descriptor another thread closed meanwhile is not an error for glibc.)
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap(Int32.init) where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArguments { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, &cArguments, environ)
        guard spawned == 0 else { throw DriverError(.failed, "cannot start \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    static let tmux: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test(.enabled(if: ScpiCommandTests.tmux != nil, "tmux is not installed (apt-get install tmux); the terminal session is not tested"))
    func terminalSessionEditsLinesAndRecallsHistory() throws {
        let tmux = try #require(Self.tmux)
        let id = UUID().uuidString.prefix(8)
        let home = "\(TestPlugins.scratch)/tty-home-\(id)"
        let socket = "\(TestPlugins.scratch)/tmux-\(id)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        func tmuxRun(_ arguments: [String]) throws -> String {
            let outPath = "\(TestPlugins.scratch)/tmux-out-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: outPath) }
            let status = try Self.spawnAndWait([tmux, "-S", socket, "-f", "/dev/null"] + arguments, output: outPath)
            let output = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
            guard status == 0 else { throw DriverError(.failed, "tmux \(arguments.joined(separator: " ")): \(output)") }
            return output
        }
        var panePID: Int32 = 0
        var serverPID: Int32 = 0
        defer {
            // Whatever happened, end the pane's process and the server.
            if panePID > 0 { kill(panePID, SIGKILL) }
            if (try? tmuxRun(["kill-server"])) == nil, serverPID > 0 { kill(serverPID, SIGKILL) }
        }
        let command = "exec env -u XDG_DATA_HOME HOME=\(home) LITMUS_LOCK_DIR=\(TestPlugins.scratch)/scpi-locks \(Self.litmus) scpi SIM::dmm::INSTR"
        _ = try tmuxRun(["new-session", "-d", "-s", "scpi", "-x", "120", "-y", "30", command])
        let pids = try tmuxRun(["display-message", "-p", "-t", "scpi", "#{pane_pid} #{pid}"]).split(separator: " ")
        panePID = pids.first.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        serverPID = pids.last.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0

        func screen() throws -> [String] {
            try tmuxRun(["capture-pane", "-p", "-t", "scpi"]).split(separator: "\n").map {
                String($0).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
            }
        }
        /// Waits (at most 10 s) until the screen satisfies `ok`.
        func waitFor(_ what: String, _ ok: ([String]) -> Bool) throws {
            var last: [String] = []
            for _ in 0..<200 {
                last = try screen()
                if ok(last) { return }
                usleep(50_000)
            }
            Issue.record("timed out waiting for \(what); screen:\n\(last.joined(separator: "\n"))")
            throw DriverError(.timeout, "waiting for \(what)")
        }
        func keys(_ k: String...) throws { _ = try tmuxRun(["send-keys", "-t", "scpi"] + k) }
        func type(_ text: String) throws { _ = try tmuxRun(["send-keys", "-t", "scpi", "-l", text]) }
        let prompt = "SIM::dmm::INSTR>"

        try waitFor("the prompt") { $0.last == prompt }
        try type("MEAS:RES?")
        try keys("Enter")
        try waitFor("the reply to MEAS:RES?") { $0.contains("1000.5") && $0.last == prompt }

        // Up recalls the line; Backspace and typing edit it.
        try keys("Up")
        try waitFor("the recalled line") { $0.last == "\(prompt) MEAS:RES?" }
        try keys("BSpace", "BSpace", "BSpace", "BSpace")
        try type("VOLT:DC?")
        try waitFor("the edited line") { $0.last == "\(prompt) MEAS:VOLT:DC?" }
        try keys("Enter")
        try waitFor("the reply to MEAS:VOLT:DC?") { $0.contains("5.0012") && $0.last == prompt }

        // Left inserts inside the line, Home at its start.
        try type("*ID?")
        try keys("Left")
        try type("N")
        try keys("Enter")
        try waitFor("the identity") { $0.contains(Self.simIdentity) && $0.last == prompt }
        try type("IDN?")
        try keys("Home")
        try type("*")
        try keys("Enter")
        try waitFor("the identity twice") { $0.filter { $0 == Self.simIdentity }.count == 2 && $0.last == prompt }

        // Ctrl-U kills the line; Ctrl-C abandons one; Up twice reaches the entry before the newest.
        try type("GARBAGE")
        try keys("C-u")
        try waitFor("the killed line") { $0.last == prompt }
        try type("MORE GARBAGE")
        try keys("C-c")
        try waitFor("the abandoned line") { $0.contains("\(prompt) MORE GARBAGE^C") && $0.last == prompt }
        try keys("Up", "Up")
        try waitFor("an older entry") { $0.last == "\(prompt) MEAS:VOLT:DC?" }
        try keys("C-u")
        try type(":quit")
        try keys("Enter")

        // The session ends; the history file holds the accepted lines, not the killed ones.
        let historyFile = "\(home)/.local/share/litmus/scpi_history"
        var history = ""
        for _ in 0..<200 {
            history = (try? String(contentsOfFile: historyFile, encoding: .utf8)) ?? ""
            if history.contains(":quit") { break }
            usleep(50_000)
        }
        #expect(history == "MEAS:RES?\nMEAS:VOLT:DC?\n*IDN?\n:quit\n", "\(history)")
        var ended = false
        for _ in 0..<200 {
            if (try? tmuxRun(["has-session", "-t", "scpi"])) == nil {
                ended = true
                break
            }
            usleep(50_000)
        }
        #expect(ended, "litmus scpi exits on :quit")
    }
}
