#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import Litmus

/// `litmus scpi <resource | role@station.yaml>`: an SCPI shell on one instrument.
///
/// Interactive on a terminal (line editing, history in `~/.local/share/litmus/scpi_history`);
/// reads lines plainly from a pipe (`printf '*IDN?\n:err\n' | litmus scpi SIM::dmm::INSTR`);
/// runs `-c` lines and exits.
struct ScpiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scpi",
        abstract: "An SCPI shell on one instrument: type commands, read replies.",
        discussion: """
            A line containing a query (a header ending in '?', e.g. *IDN? or VOLT 5;:MEAS:VOLT?) is \
            written and its reply printed; any other line is only written. IEEE 488.2 binary block \
            replies (#<n><length><bytes>) are read whole and summarised. Shell commands start with \
            ':' and a lower-case word (:help lists them); send an SCPI command that collides with \
            one in upper case. Lines starting with '#' are comments.

            The target is a resource (SIM::dmm::INSTR, TCPIP0::10.0.0.5::inst0::INSTR, \
            USB0::0x2A8D::0x1102::MY123::0::INSTR) or a station role, role@station.yaml, opened \
            with the role's driver, options and profile (its init commands and operations).

            On a terminal, lines can be edited and recalled (Up/Down); the history is kept in \
            $XDG_DATA_HOME/litmus/scpi_history (default ~/.local/share/litmus/scpi_history). From a \
            pipe, lines are read plainly and only replies are printed: \
            printf '*IDN?\\n:err\\n' | litmus scpi SIM::dmm::INSTR

            Exit status: 0 on success; 1 when the instrument cannot be opened, or, when lines come \
            from -c or a pipe, when any line failed.
            """)

    @Argument(help: "A resource (e.g. SIM::dmm::INSTR) or a station role (e.g. dmm@stations/bench_mock.yaml).")
    var target: String

    @Option(name: .customLong("driver"), help: "The driver id (default: the one serving the resource's scheme).")
    var driverID: String?

    @Option(
        name: [.customShort("o"), .customLong("option")],
        help: ArgumentHelp(
            "An open option, typed by the driver's declaration (repeatable; see litmus drivers info <id>).",
            valueName: "key=value"))
    var options: [String] = []

    @Option(name: .customShort("c"), help: ArgumentHelp("Run this line, then exit (repeatable, run in order).", valueName: "line"))
    var commands: [String] = []

    @Flag(help: "Open a station role as a mock.") var mock = false
    @Flag(name: .customLong("no-init"), help: "Do not send a station role's profile init commands.") var noInit = false
    @Flag(name: .customLong("no-lock"), help: "Take no cross-process resource lock (taken for real, unsimulated instruments).")
    var noLock = false

    @Option(name: .customLong("plugin-path"), help: "Extra plugin files or directories (repeatable).")
    var pluginPaths: [String] = []

    @Flag(help: "Load the plugin directories a role's station file names (plugin_paths): only for a station file you trust.")
    var allowStationPlugins = false

    @Flag(help: "Trace every write and read (time, direction, bytes as text and hex) on standard error.")
    var trace = false

    @Option(
        name: .customLong("trace-file"),
        help: ArgumentHelp("Append the I/O trace to this file instead (as LITMUS_IO_TRACE=<file> does).", valueName: "path"))
    var traceFile: String?

    func run() throws {
        if let traceFile {
            do {
                IOTrace.shared = try IOTrace(path: traceFile)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        } else if trace {
            IOTrace.shared = IOTrace.standardError()
        }
        let registry = DriverRegistry()
        registry.loadSearchPath(DriverRegistry.searchPath(extra: DriverRegistry.absolutePaths(pluginPaths)))
        let session: ScpiSession
        do {
            session = try ScpiSession.open(
                target, driverID: driverID, options: options, registry: registry, mock: mock, sendInit: !noInit,
                lock: !noLock, allowStationPlugins: allowStationPlugins)
        } catch {
            printError("error: \(error)")
            // A plugin that did not load may be why no driver opens the resource.
            for problem in registry.diagnostics { printError("warning: \(problem)") }
            throw ExitCode.failure
        }
        // SIGINT/SIGTERM during a blocked read: the read is interrupted (a USBTMC transfer
        // aborted on the device), the session closed (interface released, kernel driver
        // re-attached, lock released), then the exit is 130/143.
        let cleanup = SignalCleanup.register { _ in session.close() }
        defer {
            // An interrupted read fails the line: let the cleanup exit 130/143, not this path.
            SignalCleanup.parkIfCleaningUp()
            SignalCleanup.unregister(cleanup)
            session.close()
        }

        let interactive = commands.isEmpty && LineEditor.isAvailable
        let shell = ScpiShell(session: session, interactive: interactive)
        if !commands.isEmpty {
            if !shell.runAll(commands) { throw ExitCode.failure }
            return
        }
        if interactive {
            shell.runInteractive()
            return
        }
        if !shell.runPlain() { throw ExitCode.failure }
    }
}

// MARK: - Opening

/// The instrument a shell talks to, with what it was opened from.
final class ScpiSession {
    let instrument: Instrument
    /// The prompt's name: the role, else the resource.
    let label: String
    /// One line for the banner: resource, driver, role.
    let summary: String
    /// The query that reads one error-queue entry (the profile's `error_query`, else SYST:ERR?).
    let errorQuery: String
    /// The timeout set at open (`timeout_ms`), when known.
    let openTimeout: UInt32?
    private let lease: ResourceLease?

    private init(
        instrument: Instrument, label: String, summary: String, errorQuery: String, openTimeout: UInt32?,
        lease: ResourceLease?
    ) {
        self.instrument = instrument
        self.label = label
        self.summary = summary
        self.errorQuery = errorQuery
        self.openTimeout = openTimeout
        self.lease = lease
    }

    /// Closes the instrument and releases its lock.
    func close() {
        instrument.close()
        lease?.release()
    }

    /// Opens `target`: `role@station.yaml`, else a resource string.
    static func open(
        _ target: String, driverID: String?, options: [String], registry: DriverRegistry, mock: Bool, sendInit: Bool,
        lock: Bool, allowStationPlugins: Bool = false
    ) throws -> ScpiSession {
        if let at = target.firstIndex(of: "@") {
            let role = String(target[..<at])
            let station = String(target[target.index(after: at)...])
            return try openRole(
                role, station: station, driverID: driverID, options: options, registry: registry, mock: mock,
                sendInit: sendInit, lock: lock, allowStationPlugins: allowStationPlugins)
        }
        if mock { throw ShellError("--mock applies to station roles (role@station.yaml), not to a resource") }
        return try openResource(target, driverID: driverID, options: options, registry: registry, lock: lock)
    }

    private static func openResource(
        _ resource: String, driverID: String?, options optionTexts: [String], registry: DriverRegistry, lock: Bool
    ) throws -> ScpiSession {
        do {
            _ = try ResourceName(parsing: resource)
        } catch {
            // A driver named explicitly may take a string that is not a VISA resource.
            if driverID == nil { throw ShellError.badResource(error) }
        }
        let driver = try driverID.map { try registry.driver(id: $0) } ?? registry.driver(forResource: resource)
        let options = try OpenOptions.parse(optionTexts, driver: driver)
        // VISA interfaces in canonical form; other schemes (SIM::dmm::INSTR) as written, as
        // their driver receives them.
        var canonical = resource
        if let name = try? ResourceName(parsing: resource) {
            if case .other = name.interface {} else { canonical = name.canonical }
        }
        let lease = try takeLock(
            lock && !driver.isSimulated, resource: canonical, station: "litmus-scpi", role: "scpi")
        do {
            let instrument = try registry.open(resource, driver: driver.id, options: options)
            return ScpiSession(
                instrument: instrument, label: canonical, summary: "\(canonical) (driver \(driver.id))",
                errorQuery: "SYST:ERR?", openTimeout: options["timeout_ms"]?.intValue.map { UInt32(clamping: $0) },
                lease: lease)
        } catch {
            lease?.release()
            throw error
        }
    }

    private static func openRole(
        _ role: String, station path: String, driverID: String?, options optionTexts: [String],
        registry: DriverRegistry, mock: Bool, sendInit: Bool, lock: Bool, allowStationPlugins: Bool
    ) throws -> ScpiSession {
        guard !role.isEmpty, !path.isEmpty else {
            throw ShellError("expected role@station.yaml (e.g. dmm@stations/bench_mock.yaml), got \"\(role)@\(path)\"")
        }
        if driverID != nil { throw ShellError("--driver does not apply to a station role: the station names its driver") }
        let (loaded, report) = StationConfiguration.load(
            station: path, registry: registry, mock: .from(flag: mock), allowStationPlugins: allowStationPlugins)
        let prefix = "instruments.\(role)"
        func concerns(_ e: ConfigError) -> Bool { e.keyPath.isEmpty || e.keyPath == prefix || e.keyPath.hasPrefix(prefix + ".") }
        for w in report.warnings where concerns(w) || w.keyPath == "plugin_paths" { printError("warning: \(w)") }
        guard let config = loaded else {
            throw ShellError(report.errors.map(\.description).joined(separator: "\n"))
        }
        guard config.station.instrument(role) != nil else {
            let roles = config.station.instruments.map(\.role)
            let hint = Suggest.closest(to: role, in: roles).map { " Did you mean '\($0)'?" } ?? ""
            throw ShellError("station \(config.station.id) (\(path)) has no role '\(role)'.\(hint) Roles: \(roles.joined(separator: ", "))")
        }
        guard let r = config.role(role) else {
            let mine = report.errors.filter(concerns)
            throw ShellError(
                "role \(role) of \(path) cannot be opened:\n"
                    + (mine.isEmpty ? report.errors : mine).map { "  \($0)" }.joined(separator: "\n"))
        }
        let others = report.errors.filter { !concerns($0) }.count
        if others > 0 {
            printError("note: \(path) has \(others) problem\(others == 1 ? "" : "s") elsewhere; litmus station check \(path) lists them")
        }
        let errorQuery = r.profile?.errorQuery ?? "SYST:ERR?"

        if r.mocked {
            if !optionTexts.isEmpty { printError("warning: --option is ignored for the mocked role \(role)") }
            let instrument = try config.openMock(r)
            return ScpiSession(
                instrument: instrument, label: role,
                summary: "role \(role) of \(config.station.id), mocked (\(r.driver?.id ?? "profile operations only"))",
                errorQuery: errorQuery, openTimeout: nil, lease: nil)
        }

        guard let driver = r.driver else { throw ShellError("role \(role): no driver is loaded for it") }
        var options = r.options
        for (key, value) in try OpenOptions.parse(optionTexts, driver: driver) { options[key] = value }
        let lease = try takeLock(
            lock && !driver.isSimulated, resource: r.canonicalResource, station: config.station.id, role: role)
        do {
            let instrument = try registry.open(
                r.config.resource ?? r.canonicalResource, driver: driver.id, options: options,
                hostOperations: r.hostOperations)
            if sendInit, let profile = r.profile {
                do {
                    try profile.initialize(instrument)
                } catch {
                    instrument.close()
                    throw ShellError(
                        "profile \(profile.id) could not initialise role \(role): \(error). Open it without the init commands with --no-init")
                }
            }
            return ScpiSession(
                instrument: instrument, label: role,
                summary: "role \(role) of \(config.station.id): \(r.canonicalResource) (driver \(driver.id)\(r.profile.map { ", profile \($0.id)" } ?? ""))",
                errorQuery: errorQuery, openTimeout: options["timeout_ms"]?.intValue.map { UInt32(clamping: $0) },
                lease: lease)
        } catch {
            lease?.release()
            throw error
        }
    }

    private static func takeLock(_ wanted: Bool, resource: String, station: String, role: String) throws -> ResourceLease? {
        guard wanted else { return nil }
        let locks = ResourceLocks(directory: ResourceLocks.defaultDirectory())
        do {
            return try locks.acquire(resource: resource, station: station, role: role)
        } catch {
            throw ShellError("\(error). Wait for it to finish, or pass --no-lock to share the instrument anyway")
        }
    }
}

/// Parses `--option key=value` against a driver's declared open options.
enum OpenOptions {
    static func parse(_ texts: [String], driver: DriverInfo) throws -> [String: InstrumentValue] {
        var result: [String: InstrumentValue] = [:]
        let declared = driver.openOptions
            + (driver.isMessageBased ? Instrument.hostOptions.filter { h in !driver.openOptions.contains { $0.name == h.name } } : [])
        for text in texts {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                throw ShellError("--option expects key=value (e.g. timeout_ms=2000), got \"\(text)\"")
            }
            let key = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
            var value = String(text[text.index(after: eq)...])
            guard let param = declared.first(where: { $0.name == key }) else {
                let names = declared.map(\.name)
                let hint = Suggest.closest(to: key, in: names).map { " Did you mean '\($0)'?" } ?? ""
                throw ShellError(
                    "driver \(driver.id) has no open option '\(key)'.\(hint) Options: \(names.isEmpty ? "none" : names.map { "\($0)" }.joined(separator: ", "))")
            }
            if key == "read_termination" || key == "write_termination" { value = ShellText.unescape(value) }
            result[key] = try ShellValue.convert(value, to: param, what: "open option")
        }
        return result
    }
}

// MARK: - The shell

/// Runs shell lines against one instrument: SCPI text (queries read their reply) and `:`
/// shell commands. Errors are printed and the shell goes on.
final class ScpiShell {
    let session: ScpiSession
    var instrument: Instrument { session.instrument }
    /// Prompts, banners and acknowledgements are printed only on a terminal.
    let interactive: Bool
    /// The timeout set in this session, if known.
    private(set) var timeout: UInt32?

    init(session: ScpiSession, interactive: Bool) {
        self.session = session
        self.interactive = interactive
        self.timeout = session.openTimeout
    }

    /// What one line did.
    enum Outcome { case ok, failed, quit }

    /// The shell commands: name, arguments, help.
    static let metaCommands: [(name: String, arguments: String, help: String)] = [
        ("help", "", "this list"),
        ("quit", "", "leave (also :exit, :q, Ctrl-D)"),
        ("clear", "", "device clear: abort pending I/O and empty the instrument's buffers (after a timeout)"),
        ("stb", "", "read the status byte (serial poll), in hex and bits"),
        ("err", "", "read the error queue until it is empty"),
        ("timeout", "[2s|500ms|inf]", "print or set the I/O timeout"),
        ("ops", "", "list the typed operations"),
        ("call", "<name> [arg...]", "call a typed operation; arguments positional or name=value, converted by type"),
        ("read", "", "read one reply (after :write, or a reply still pending)"),
        ("write", "<text>", "write text without reading a reply, even when it contains a query"),
        ("trg", "", "assert a trigger through the transport (like *TRG)"),
    ]
    static let aliases = ["exit": "quit", "q": "quit", "h": "help", "?": "help"]

    // MARK: Drivers of the loop

    /// Runs `-c` lines in order; stops at :quit. True when all succeeded.
    func runAll(_ lines: [String]) -> Bool {
        var ok = true
        for line in lines {
            switch execute(line) {
            case .ok: continue
            case .failed: ok = false
            case .quit: return ok
            }
        }
        return ok
    }

    /// Reads lines from standard input until it ends or :quit. True when all succeeded.
    func runPlain() -> Bool {
        var ok = true
        let promptOnStderr = isatty(STDIN_FILENO) != 0
        while true {
            if promptOnStderr { FileHandle.standardError.write(Data("\(session.label)> ".utf8)) }
            guard var line = readLine(strippingNewline: true) else { break }
            if line.hasSuffix("\r") { line.removeLast() }
            switch execute(line) {
            case .ok: continue
            case .failed: ok = false
            case .quit: return ok
            }
        }
        return ok
    }

    /// The terminal session: line editing and history.
    func runInteractive() {
        let editor = LineEditor(history: .init(file: LineEditor.History.defaultFile(name: "scpi_history")))
        print("Connected to \(session.summary).")
        print("Lines containing a query (?) print the reply. :help lists shell commands, :quit leaves.")
        while true {
            switch editor.readLine(prompt: "\(session.label)> ") {
            case .endOfInput: return
            case .interrupted: continue
            case .line(let line):
                if execute(line) == .quit { return }
            }
        }
    }

    // MARK: One line

    /// Runs one line and prints what it produced.
    func execute(_ raw: String) -> Outcome {
        let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if line.isEmpty || line.hasPrefix("#") { return .ok }
        do {
            if let (name, argument) = Self.metaCommand(line) {
                return try runMeta(name, argument)
            }
            if interactive, let near = Self.nearMetaCommand(line) {
                note("sent to the instrument; did you mean the shell command :\(near)? (:help lists them)")
            }
            if SCPIText.containsQuery(line) {
                show(try ReplyReader(instrument: instrument).query(line))
            } else {
                try instrument.write(line)
            }
            return .ok
        } catch {
            report(error)
            return .failed
        }
    }

    /// `:name rest` when `name` is a shell command (lower case), else nil (SCPI text).
    static func metaCommand(_ line: String) -> (String, String)? {
        guard line.hasPrefix(":") else { return nil }
        let body = line.dropFirst()
        let word = body.prefix { !$0.isWhitespace }
        let name = aliases[String(word)] ?? String(word)
        guard metaCommands.contains(where: { $0.name == name }) else { return nil }
        let rest = body.dropFirst(word.count).trimmingCharacters(in: .whitespaces)
        return (name, rest)
    }

    /// A lower-case `:word` one typo away from a shell command, for a hint.
    static func nearMetaCommand(_ line: String) -> String? {
        guard line.hasPrefix(":") else { return nil }
        let word = String(line.dropFirst().prefix { !$0.isWhitespace })
        guard word.count >= 2, word.allSatisfy({ $0.isLowercase && $0.isLetter }) else { return nil }
        let names = metaCommands.map(\.name)
        return names.first { Suggest.distance(word, $0) == 1 }
    }

    private func runMeta(_ name: String, _ argument: String) throws -> Outcome {
        switch name {
        case "help":
            printHelp()
        case "quit":
            return .quit
        case "clear":
            try instrument.clear()
            ack("device clear done")
        case "stb":
            out(Self.describeStatusByte(try instrument.readSTB()))
        case "err":
            let (errors, truncated) = try instrument.drainErrors(command: session.errorQuery)
            if errors.isEmpty { out("0, \"No error\"") }
            for e in errors { out("\(e)") }
            if truncated { note("more errors remain after \(errors.count); run :err again") }
        case "timeout":
            if argument.isEmpty {
                out("timeout: \(timeout.map(Self.formatTimeout) ?? "the driver's default (not set in this session)")")
            } else {
                let ms = try Self.parseTimeout(argument)
                try instrument.setTimeout(milliseconds: ms)
                timeout = ms
                ack("timeout set to \(Self.formatTimeout(ms))")
            }
        case "ops":
            listOperations()
        case "call":
            try call(argument)
        case "read":
            show(try ReplyReader(instrument: instrument).read())
        case "write":
            guard !argument.isEmpty else { throw ShellError(":write needs the text to write, e.g. :write *IDN?") }
            try instrument.write(argument)
        case "trg":
            try instrument.trigger()
            ack("trigger sent")
        default:
            throw ShellError("unknown shell command :\(name); :help lists them")
        }
        return .ok
    }

    private func printHelp() {
        var rows = Self.metaCommands.map { [":\($0.name) \($0.arguments)".trimmingCharacters(in: .whitespaces), $0.help] }
        rows.append(["<SCPI text>", "written; when it contains a query (?) the reply is read and printed"])
        rows.append(["# text", "a comment: nothing is sent"])
        out(TextTable.render(header: ["COMMAND", "WHAT IT DOES"], rows: rows))
        out("Keys: Up/Down history, Left/Right/Home/End, Ctrl-A/E/U/K/W/L, Ctrl-C abandons a line, Ctrl-D leaves.")
    }

    private func listOperations() {
        let ops = instrument.operations
        if ops.isEmpty {
            out("no typed operations (driver \(instrument.driver.id)); use SCPI text")
            return
        }
        for op in ops {
            out("\(op.signature)\(op.help.map { "  -- \($0)" } ?? "")")
        }
    }

    /// `:call name arg...`: positional arguments, or `param=value`, converted by the
    /// parameter types; omitted optional parameters take the driver's default.
    private func call(_ text: String) throws {
        var words = try ShellText.words(text)
        guard !words.isEmpty else {
            throw ShellError(":call needs an operation name, e.g. :call \(instrument.operations.first?.name ?? "measure_dc_voltage"); :ops lists them")
        }
        let name = words.removeFirst()
        let op = try instrument.operation(named: name)
        var values: [InstrumentValue?] = Array(repeating: nil, count: op.params.count)
        var next = 0
        for word in words {
            if let eq = word.firstIndex(of: "="), let i = op.params.firstIndex(where: { $0.name == word[..<eq] }) {
                guard values[i] == nil else { throw ShellError("argument '\(op.params[i].name)' given twice. Signature: \(op.signature)") }
                values[i] = try ShellValue.convert(String(word[word.index(after: eq)...]), to: op.params[i], what: "argument")
                continue
            }
            while next < values.count && values[next] != nil { next += 1 }
            guard next < values.count else {
                throw ShellError("too many arguments for \(op.name). Signature: \(op.signature)")
            }
            values[next] = try ShellValue.convert(word, to: op.params[next], what: "argument")
            next += 1
        }
        for (i, p) in op.params.enumerated() where values[i] == nil && !p.isOptional {
            throw ShellError("missing argument '\(p.name)' for \(op.name). Signature: \(op.signature)")
        }
        let result = try instrument.dispatch(op, values.map { $0 ?? .void })
        if case .void = result {
            ack("ok")
        } else {
            out(Self.format(result, unit: op.resultUnit))
        }
    }

    // MARK: Output

    private func out(_ text: String) {
        print(text)
        flushStandardOutput()
    }

    /// An acknowledgement, shown only on a terminal so piped output holds replies alone.
    private func ack(_ text: String) {
        if interactive { out(text) }
    }

    private func note(_ text: String) {
        flushStandardOutput()
        printError("note: \(text)")
    }

    private func show(_ reply: Reply) {
        switch reply {
        case .text(let bytes):
            out(bytes.isEmpty && interactive ? "(empty reply)" : ShellText.printable(bytes))
        case .block(let data, let indefinite, let trailing, let note):
            var text = "<block: \(data.count) bytes\(indefinite ? " (#0, indefinite length)" : "")"
            if !data.isEmpty { text += ", first bytes \(ShellText.hex(data.prefix(16)))\(data.count > 16 ? " ..." : "")" }
            text += ">"
            if !trailing.isEmpty { text += " followed by \"\(ShellText.printable(trailing))\"" }
            out(text)
            if let note { self.note(note) }
        }
    }

    private func report(_ error: any Error) {
        flushStandardOutput()
        var text = "error: \(error)"
        if let e = error as? DriverError {
            switch e.status {
            case .timeout:
                text += "\n  hint: nothing (or not all) arrived in time. Was the line a query the instrument answers? "
                    + "Try :clear (device clear) to reset the I/O, :err to read the error queue, or a longer :timeout."
            case .closed:
                text += "\n  hint: the session is closed; restart litmus scpi."
            case .protocolViolation:
                text += "\n  hint: the reply was not what was expected; :clear discards what is left of it."
            default:
                break
            }
        }
        printError(text)
    }

    // MARK: Formatting

    static func describeStatusByte(_ stb: UInt8) -> String {
        let names: [(UInt8, String)] = [
            (7, "OPER (operation status summary)"), (6, "MSS/RQS (requesting service)"),
            (5, "ESB (standard event status summary; *ESR? says which)"), (4, "MAV (message available: a reply is waiting)"),
            (3, "QUES (questionable status summary)"), (2, "EAV (error/event queue not empty: :err reads it)"),
            (1, "bit 1 (instrument-specific)"), (0, "bit 0 (instrument-specific)"),
        ]
        let binary = String(stb, radix: 2)
        var text = "status byte 0x\(ShellText.hex([stb])) = 0b\(String(repeating: "0", count: 8 - binary.count))\(binary) = \(stb)"
        let set = names.filter { stb & (1 << $0.0) != 0 }
        text += set.isEmpty ? ": no bits set" : set.map { "\n  bit \($0.0): \($0.1)" }.joined()
        return text
    }

    static func format(_ value: InstrumentValue, unit: String?) -> String {
        let suffix = unit.map { " \($0)" } ?? ""
        switch value {
        case .void: return "ok"
        case .f64(let v): return "\(v)\(suffix)"
        case .i64(let v): return "\(v)\(suffix)"
        case .bool(let v): return "\(v)"
        case .string(let s): return s
        case .f64Array(let a):
            let shown = a.prefix(64).map { "\($0)" }.joined(separator: ", ")
            return "[\(shown)\(a.count > 64 ? ", ... (\(a.count) values)" : "")]\(suffix)"
        case .bytes(let b):
            return "<bytes: \(b.count)\(b.isEmpty ? "" : ", \(ShellText.hex(b.prefix(16)))\(b.count > 16 ? " ..." : "")")>"
        }
    }

    static func formatTimeout(_ ms: UInt32) -> String {
        if ms == UInt32.max { return "infinite" }
        if ms >= 1000 && ms % 100 == 0 {
            let seconds = Double(ms) / 1000
            return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
        }
        return "\(ms) ms"
    }

    /// `2s`, `1.5 s`, `500ms`, `500` (milliseconds), `1min`, `inf`.
    static func parseTimeout(_ text: String) throws -> UInt32 {
        let t = text.lowercased().filter { !$0.isWhitespace }
        if ["inf", "infinite", "infinity", "forever", "none"].contains(t) { return UInt32.max }
        let number = t.prefix { $0.isNumber || $0 == "." }
        let unit = t.dropFirst(number.count)
        let scale: Double
        switch unit {
        case "", "ms": scale = 1
        case "s", "sec": scale = 1000
        case "m", "min": scale = 60_000
        default: throw ShellError("cannot read timeout \"\(text)\": write e.g. 2s, 500ms, 1min or inf")
        }
        guard let value = Double(number), value.isFinite, value >= 0 else {
            throw ShellError("cannot read timeout \"\(text)\": write e.g. 2s, 500ms, 1min or inf")
        }
        let ms = (value * scale).rounded()
        guard ms <= 86_400_000 else { throw ShellError("timeout \(text) is longer than 24 h; use inf to wait forever") }
        return UInt32(ms)
    }
}

// MARK: - Replies

/// A reply as the shell shows it.
enum Reply {
    /// A text response (termination removed).
    case text([UInt8])
    /// An IEEE 488.2 block: its payload, whether it was `#0`, bytes of the same message after
    /// it, and a note on anything odd.
    case block(data: [UInt8], indefinite: Bool, trailing: [UInt8], note: String?)
}

/// Reads replies whole, binary blocks included.
///
/// A reply is read as one message (up to the read termination or END). When it starts with a
/// definite-length block header (`#<n><length>`) that declares more bytes than arrived, the
/// message stopped at a termination byte inside the binary data: that byte is data, and the
/// rest of the block is read by exact length (0x0A inside the payload is never a terminator),
/// then the termination after the block is consumed.
struct ReplyReader {
    let instrument: Instrument

    /// Writes `command` and reads its reply.
    func query(_ command: String) throws -> Reply {
        try complete(try instrument.queryMessage(command))
    }

    /// Reads one reply.
    func read() throws -> Reply {
        try complete(try instrument.readMessage())
    }

    /// The block header of `message`: the header's size and the declared length (nil for
    /// `#0`); nil when the message is not a block.
    static func blockHeader(_ message: [UInt8]) -> (size: Int, length: Int?)? {
        guard message.count >= 2, message[0] == UInt8(ascii: "#"),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(message[1])
        else { return nil }
        let digits = Int(message[1] - UInt8(ascii: "0"))
        if digits == 0 { return (2, nil) }
        guard message.count >= 2 + digits else { return nil }
        var length = 0
        for byte in message[2..<(2 + digits)] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return (2 + digits, length)
    }

    private func complete(_ message: [UInt8]) throws -> Reply {
        guard let header = Self.blockHeader(message) else { return .text(message) }
        var data = Array(message[header.size...])
        guard let length = header.length else {
            let note =
                instrument.readTermination == nil
                ? nil
                : "an indefinite (#0) block ends at END; on a transport without END, or with a termination byte in the data, it may be cut short (:clear discards the rest)"
            return .block(data: data, indefinite: true, trailing: [], note: note)
        }
        if data.count >= length {
            return .block(data: Array(data[..<length]), indefinite: false, trailing: Array(data[length...]), note: nil)
        }
        guard length <= instrument.maxMessageSize else {
            throw DriverError(
                .protocolViolation,
                "the block declares \(length) bytes, more than maxMessageSize (\(instrument.maxMessageSize)); the rest of it is "
                    + "still pending (:clear discards it). Fix: open with -o max_message_bytes=<bytes> if the instrument really sends that much",
                context: "\(instrument.driver.id) \(instrument.resource) read block")
        }
        guard let termination = instrument.readTermination else {
            throw DriverError(
                .protocolViolation, "the block declares \(length) bytes but the message ended after \(data.count)",
                context: "\(instrument.driver.id) \(instrument.resource) read block")
        }
        // The read stopped at a termination inside the data: it was data.
        data += termination
        if data.count > length {
            // The termination straddled the end of the block: the block is complete and its
            // termination consumed.
            return .block(data: Array(data[..<length]), indefinite: false, trailing: [], note: nil)
        }
        if data.count < length {
            do {
                data += try instrument.readBytes(count: length - data.count)
            } catch var e as DriverError {
                e.message = "the block declares \(length) bytes and \(data.count) arrived before: \(e.message)"
                throw e
            }
        }
        // The termination after the block. An instrument that ends the block with END and no
        // termination leaves nothing to read: a timeout then is not an error.
        var note: String?
        var trailing: [UInt8] = []
        do {
            trailing = try instrument.readMessage()
        } catch let e as DriverError where e.status == .timeout {
            note = "no termination followed the block (\(e.message))"
        }
        return .block(data: data, indefinite: false, trailing: trailing, note: note)
    }
}

// MARK: - Text helpers

/// SCPI program text.
enum SCPIText {
    /// Whether any command of the line (split on ';' outside quotes) has a header ending in
    /// '?': `*IDN?`, `VOLT 5;:MEAS:VOLT?`. A '?' inside a quoted string is data.
    static func containsQuery(_ line: String) -> Bool {
        var commands: [String] = []
        var current = ""
        var quote: Character?
        for ch in line {
            if let q = quote {
                if ch == q { quote = nil }
                current.append(ch)
            } else if ch == "\"" || ch == "'" {
                quote = ch
                current.append(ch)
            } else if ch == ";" {
                commands.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        commands.append(current)
        return commands.contains { command in
            let header = command.trimmingCharacters(in: .whitespaces).prefix { !$0.isWhitespace }
            return header.hasSuffix("?")
        }
    }
}

/// Converts typed text (`:call` arguments, `--option` values) by a declared parameter type.
enum ShellValue {
    static func convert(_ text: String, to param: ParameterInfo, what: String) throws -> InstrumentValue {
        func fail(_ problem: String) -> ShellError {
            ShellError("\(what) '\(param.name)' (\(param.signature)): \(problem)")
        }
        switch param.type {
        case .void:
            throw fail("takes no value")
        case .f64Array:
            var body = text.trimmingCharacters(in: .whitespaces)
            if body.hasPrefix("[") && body.hasSuffix("]") { body = String(body.dropFirst().dropLast()) }
            var values: [Double] = []
            for item in body.split(whereSeparator: { $0 == "," || $0 == " " }) {
                guard case .success(.f64(let v)) = ConfigValue.scalar(String(item), quoted: false).converted(to: .f64) else {
                    throw fail("expected numbers separated by commas (e.g. 1,2.5,3), found \"\(item)\"")
                }
                values.append(v)
            }
            return .f64Array(values)
        case .bytes:
            if text.lowercased().hasPrefix("0x"), let bytes = ShellText.bytes(hex: String(text.dropFirst(2))) {
                return .bytes(bytes)
            }
            return .bytes(Array(text.utf8))
        default:
            switch ConfigValue.scalar(text, quoted: false).converted(to: param.type) {
            case .success(let value): return value
            case .failure(let p): throw fail(p.problem + (p.fix.isEmpty ? "" : "; \(p.fix)"))
            }
        }
    }
}

/// Small text utilities of the shell.
enum ShellText {
    /// Splits on whitespace; "double" or 'single' quotes group words (`\"` inside double quotes).
    static func words(_ text: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for ch in text {
            if let q = quote {
                if escaped {
                    current.append(ch)
                    escaped = false
                } else if ch == "\\" && q == "\"" {
                    escaped = true
                } else if ch == q {
                    quote = nil
                } else {
                    current.append(ch)
                }
            } else if ch == "\"" || ch == "'" {
                quote = ch
                inWord = true
            } else if ch.isWhitespace {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(ch)
                inWord = true
            }
        }
        if quote != nil { throw ShellError("unterminated quote in \"\(text)\"") }
        if inWord { words.append(current) }
        return words
    }

    /// `\n`, `\r`, `\t`, `\0`, `\\` and `\xHH` escapes, for terminations typed on a command line.
    static func unescape(_ text: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b == UInt8(ascii: "\\"), i + 1 < bytes.count else {
                out.append(b)
                i += 1
                continue
            }
            let next = bytes[i + 1]
            i += 2
            switch next {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "0"): out.append(0x00)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "x") where i + 1 < bytes.count:
                if let v = UInt8(String(decoding: bytes[i..<(i + 2)], as: UTF8.self), radix: 16) {
                    out.append(v)
                    i += 2
                } else {
                    out += [UInt8(ascii: "\\"), next]
                }
            default: out += [UInt8(ascii: "\\"), next]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes as text with control characters escaped (`\r`, `\x01`), so a stray termination
    /// byte shows.
    static func printable(_ bytes: [UInt8]) -> String {
        var out = ""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\t": out += "\t"
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            case "\u{0}"..<"\u{20}", "\u{7F}": out += "\\x" + hex([UInt8(scalar.value)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `00 01 0a ff`
    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
    }

    /// Bytes of an even-length hex string, or nil.
    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let v = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            out.append(v)
        }
        return out
    }
}

/// A shell-level problem: what is wrong and what to do, printed as is.
struct ShellError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// A resource that does not parse, with a caret under the column at fault.
    static func badResource(_ error: ResourceNameError) -> ShellError {
        var text = "bad resource \(error)"
        if let offset = error.offset, error.input.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) {
            text += "\n  \(error.input)\n  \(String(repeating: " ", count: offset))^"
        }
        return ShellError(text)
    }
}

/// Flushes buffered standard output (all C streams: `stdout` itself is not concurrency-safe
/// to name), so replies and errors on standard error appear in order.
func flushStandardOutput() {
    fflush(nil)
}
