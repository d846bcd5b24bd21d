import Foundation
import LitmusJSON

/// The conformance kit behind `litmus drivers check`: loads one plugin file on its own (or
/// takes a loaded driver), validates every descriptor, opens the self-test resource (or the
/// resource given), identifies the instrument, exercises what the driver declares within the
/// chosen safety mode, and probes the error paths.
///
/// ```swift
/// var options = ConformanceCheck.Options(mode: .readOnly)
/// options.resource = "TCPIP0::10.0.0.7::5025::SOCKET"
/// let report = ConformanceCheck.run(pluginAt: ".build/debug/liblitmus-lan.so", options: options)
/// print(report.rendered())
/// if !report.passed { exit(1) }
/// ```
///
/// Safety: an operation flagged `LITMUS_OP_WRITES` runs only in ``Options/Mode-swift.enum/allowWrites``;
/// ``Options/Mode-swift.enum/readOnly`` runs only operations flagged `LITMUS_OP_READS` and no
/// device clear, trigger or profile `init`. With writes allowed, settings that have a getter
/// are read first and restored after, an output switched on is switched off at once, and every
/// output-off operation runs at the end, for every channel.
public enum ConformanceCheck {
    /// What the check may do and to which instrument.
    public struct Options: Sendable {
        /// How far the check may change the instrument.
        public enum Mode: String, Sendable {
            /// Only operations flagged as reading, identify, serial poll and plain reads: the
            /// instrument is left exactly as it was.
            case readOnly = "read-only"
            /// Everything except operations flagged as writing (the default).
            case noWrites = "no-writes"
            /// Everything, writing operations included; settings restored, outputs left off.
            case allowWrites = "allow-writes"
        }

        public var mode: Mode
        /// The resource to open instead of the self-test resource (for drivers that claim its
        /// scheme).
        public var resource: String?
        /// Open options for that resource.
        public var openOptions: [String: InstrumentValue]
        /// An instrument profile whose operations the instrument answers over the driver's
        /// message interface (checked like the driver's own).
        public var profile: InstrumentProfile?
        /// The timeout of the timeout probe (a read with nothing pending).
        public var timeoutProbeMs: UInt32

        public init(
            mode: Mode = .noWrites, resource: String? = nil, openOptions: [String: InstrumentValue] = [:],
            profile: InstrumentProfile? = nil, timeoutProbeMs: UInt32 = 300
        ) {
            self.mode = mode
            self.resource = resource
            self.openOptions = openOptions
            self.profile = profile
            self.timeoutProbeMs = timeoutProbeMs
        }
    }

    /// One check and its outcome.
    public struct Item: Sendable {
        /// `warned` does not fail the verdict: something the check could not do safely or
        /// could not undo, said out loud.
        public enum Outcome: String, Sendable { case passed, failed, skipped, warned }
        public var driver: String?
        public var name: String
        public var outcome: Outcome
        public var detail: String
    }

    /// Every check run on one plugin file (or driver).
    public struct Report: Sendable {
        public var path: String
        public var mode: Options.Mode = .noWrites
        public var items: [Item] = []
        /// True when nothing failed.
        public var passed: Bool { !items.contains { $0.outcome == .failed } }

        public init(path: String, mode: Options.Mode = .noWrites) {
            self.path = path
            self.mode = mode
        }

        mutating func add(_ driver: String?, _ name: String, _ outcome: Item.Outcome, _ detail: String = "") {
            items.append(Item(driver: driver, name: name, outcome: outcome, detail: detail))
        }

        /// A human-readable report ending in a verdict line.
        public func rendered(color: Bool = false) -> String {
            func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
            var lines = ["Conformance check of \(path) (\(mode.rawValue))"]
            var current: String?? = .none
            for item in items {
                if current != .some(item.driver) {
                    current = .some(item.driver)
                    if let driver = item.driver { lines.append("driver \(driver)") }
                }
                let mark: String
                switch item.outcome {
                case .passed: mark = paint("PASS", "32")
                case .failed: mark = paint("FAIL", "31")
                case .skipped: mark = paint("SKIP", "33")
                case .warned: mark = paint("WARN", "33")
                }
                let indent = item.driver == nil ? "  " : "    "
                lines.append("\(indent)\(mark)  \(item.name)\(item.detail.isEmpty ? "" : ": \(item.detail)")")
            }
            let failed = items.filter { $0.outcome == .failed }.count
            lines.append(
                passed
                    ? paint("Verdict: PASS (\(items.count) checks)", "32")
                    : paint("Verdict: FAIL (\(failed) of \(items.count) checks failed)", "31"))
            return lines.joined(separator: "\n")
        }

        /// The report as one JSON object: `path`, `mode`, `passed`, `counts` by outcome and
        /// `checks` (each `driver`, `name`, `outcome`, `detail`), for a vendor's CI.
        public func json() -> String {
            var counts: [String: Int] = [:]
            for o in [Item.Outcome.passed, .failed, .skipped, .warned] { counts[o.rawValue] = items.filter { $0.outcome == o }.count }
            let checks = items.map { item in
                "{\"driver\":\(item.driver.map(JSONText.quoted) ?? "null"),\"name\":\(JSONText.quoted(item.name)),"
                    + "\"outcome\":\(JSONText.quoted(item.outcome.rawValue)),\"detail\":\(JSONText.quoted(item.detail))}"
            }
            let countText = counts.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\($0.value)" }.joined(separator: ",")
            return "{\"path\":\(JSONText.quoted(path)),\"mode\":\(JSONText.quoted(mode.rawValue)),\"passed\":\(passed),"
                + "\"counts\":{\(countText)},\"checks\":[\(checks.joined(separator: ","))]}"
        }
    }

    /// Runs every check on the plugin at `path`, in a registry of its own.
    public static func run(pluginAt path: String, options: Options = Options()) -> Report {
        var report = Report(path: path, mode: options.mode)
        let registry = DriverRegistry()
        let plugin: LoadedPlugin
        do {
            plugin = try registry.loadPlugin(at: path)
        } catch {
            report.add(nil, "load and validate descriptors", .failed, "\(error)")
            return report
        }
        report.add(
            nil, "load and validate descriptors", .passed,
            "\(plugin.name) \(plugin.version), ABI 1.\(plugin.abiMinor), \(plugin.drivers.count) driver(s)")
        for driver in plugin.drivers {
            check(driver, registry: registry, options: options, into: &report)
        }
        return report
    }

    /// Runs every check on one loaded driver of `registry`.
    public static func run(driver: DriverInfo, registry: DriverRegistry, options: Options = Options()) -> Report {
        var report = Report(path: driver.pluginPath, mode: options.mode)
        report.add(nil, "load and validate descriptors", .passed, "\(driver.pluginName), ABI 1.\(driver.abiMinor)")
        check(driver, registry: registry, options: options, into: &report)
        return report
    }

    // MARK: - One driver

    /// What one driver's checks share.
    final class Run {
        let driver: DriverInfo
        let registry: DriverRegistry
        let options: Options
        var report: Report
        /// Typed calls made on the instrument (a mock's trace holds at least these).
        var calls = 0
        init(driver: DriverInfo, registry: DriverRegistry, options: Options, report: Report) {
            self.driver = driver
            self.registry = registry
            self.options = options
            self.report = report
        }

        func add(_ name: String, _ outcome: Item.Outcome, _ detail: String = "") {
            report.add(driver.id, name, outcome, detail)
        }

        func record(_ name: String, _ body: () throws -> String) {
            do {
                add(name, .passed, try body())
            } catch let failure as CheckFailure {
                add(name, failure.outcome, failure.detail)
            } catch let error as DriverError where error.status == .unsupported {
                // The driver supports it, but not on this resource (a raw socket has no serial poll).
                add(name, .skipped, "\(error)")
            } catch {
                add(name, .failed, "\(error)")
            }
        }
    }

    /// Ends a check with an outcome other than an error's FAIL.
    struct CheckFailure: Error {
        var outcome: Item.Outcome
        var detail: String
        static func fail(_ detail: String) -> CheckFailure { CheckFailure(outcome: .failed, detail: detail) }
        static func skip(_ detail: String) -> CheckFailure { CheckFailure(outcome: .skipped, detail: detail) }
        static func warn(_ detail: String) -> CheckFailure { CheckFailure(outcome: .warned, detail: detail) }
    }

    private static func check(_ driver: DriverInfo, registry: DriverRegistry, options: Options, into report: inout Report) {
        let run = Run(driver: driver, registry: registry, options: options, report: report)
        defer { report = run.report }
        run.add(
            "descriptor", .passed,
            "\(driver.operations.count) operations, \(driver.openOptions.count) open options, schemes \(driver.schemes.joined(separator: ",")), supports \(driver.supports)")
        // The instrument classes the driver declares (`class:<id>` in instrument_types), one
        // line each, checked against the class's operation set (a profile's classes are checked
        // when the profile is read).
        InstrumentClass.report(driver, into: &run.report)
        let unflagged = driver.operations.filter { !$0.flags.contains(.reads) && !$0.flags.contains(.writes) }
        if !unflagged.isEmpty {
            run.add(
                "operation flags", .warned,
                "\(unflagged.map(\.name).joined(separator: ", ")) \(unflagged.count == 1 ? "is" : "are") flagged neither "
                    + "LITMUS_OP_READS nor LITMUS_OP_WRITES, so --read-only never runs \(unflagged.count == 1 ? "it" : "them"). "
                    + "Fix: flag every operation")
        }
        if driver.supports.contains(.discover) {
            run.record("discover") {
                let found = try driver.discover()
                return found.isEmpty ? "nothing found" : found.map(\.resource).joined(separator: ", ")
            }
        }
        probeMissingResource(run)
        probePeerClose(run)

        let resource: String
        if let given = options.resource, claims(driver, given) {
            resource = given
        } else if let selfTest = driver.selfTestResource {
            resource = selfTest
        } else {
            run.add(
                "open self-test resource", .skipped,
                "the driver declares no self_test_resource; pass --resource to check it on an instrument")
            return
        }
        let profileOperations = options.profile.map(hostOperations) ?? []
        let useOptions = resource == options.resource ? options.openOptions : [:]
        let instrument: Instrument
        do {
            instrument = try registry.open(resource, driver: driver.id, options: useOptions, hostOperations: profileOperations)
            run.add("open \(resource)", .passed, options.profile.map { "with profile \($0.id)" } ?? "")
        } catch {
            run.add("open \(resource)", .failed, "\(error)")
            return
        }
        defer { instrument.close() }

        if driver.supports.contains(.setTimeout) {
            run.record("set_timeout") {
                try instrument.setTimeout(milliseconds: Instrument.defaultTimeoutMs)
                return ""
            }
        }
        if let profile = options.profile, !profile.initCommands.isEmpty {
            if options.mode == .allowWrites {
                run.record("profile init") {
                    try profile.initialize(instrument)
                    return profile.initCommands.joined(separator: "; ")
                }
            } else {
                run.add("profile init", .skipped, "\(profile.initCommands.joined(separator: "; ")) writes; only with --allow-writes")
            }
        }
        checkIdentify(run, instrument)
        if driver.supports.contains(.readSTB) {
            run.record("read_stb") { "0x" + String(try instrument.readSTB(), radix: 16) }
        }
        if driver.supports.contains(.clear) {
            if options.mode == .readOnly {
                run.add("clear", .skipped, "a device clear empties the instrument's buffers; not with --read-only")
            } else {
                run.record("clear") {
                    try instrument.clear()
                    return ""
                }
            }
        }
        if driver.supports.contains(.trigger) {
            if options.mode == .readOnly {
                run.add("trigger", .skipped, "a trigger starts an action on the instrument; not with --read-only")
            } else {
                run.record("trigger") {
                    try instrument.trigger()
                    return ""
                }
            }
        }
        checkOperations(run, instrument)
        if let mock = instrument.mock {
            run.record("mock trace") {
                let entries = try mock.trace()
                guard entries.count >= run.calls else {
                    throw CheckFailure.fail("trace holds \(entries.count) entries after \(run.calls) calls")
                }
                return "\(entries.count) entries"
            }
        }
        probeBadArguments(run, instrument)
        probeTimeout(run, instrument)
        probeAfterClose(run, instrument)
    }

    /// Whether `driver` opens `resource` (by its scheme).
    public static func claims(_ driver: DriverInfo, _ resource: String) -> Bool {
        let scheme = (try? ResourceName(parsing: resource))?.scheme ?? String(resource.prefix { $0 != ":" }).uppercased()
        return driver.schemes.contains { $0.uppercased() == scheme }
    }

    /// A profile's operations as the host runs them (as a station role does).
    static func hostOperations(_ profile: InstrumentProfile) -> [HostOperation] {
        let errorQuery = profile.errorQuery
        return profile.operations.enumerated().map { i, op in
            HostOperation(info: op.info(index: i)) { instrument, args in
                try op.run(on: instrument, arguments: args, errorQuery: errorQuery)
            }
        }
    }

    // MARK: - Identify

    private static func checkIdentify(_ run: Run, _ instrument: Instrument) {
        if instrument.operations.contains(where: { $0.name == "identify" }) {
            run.record("identify (the driver's identify operation)") {
                run.calls += 1
                let value = try instrument.call("identify")
                guard case .string(let text) = value else {
                    throw CheckFailure.fail("identify returned \(value.type), not a string")
                }
                if let problem = identityProblem(text, ieee488: false) { throw CheckFailure.fail(problem) }
                try checkProfileIdentity(run, text)
                return text
            }
        } else if run.driver.isMessageBased {
            run.record("identify (*IDN? through write + read)") {
                let text = try instrument.query("*IDN?")
                if let problem = identityProblem(text, ieee488: true) {
                    throw CheckFailure.fail(
                        problem + ". Fix: if the instrument does not speak IEEE 488.2, declare an `identify` operation "
                            + "that asks it its own way")
                }
                try checkProfileIdentity(run, text)
                return InstrumentIdentity(idn: text).description
            }
        } else {
            run.add("identify", .skipped, "the driver has no identify operation and no message interface")
        }
    }

    private static func checkProfileIdentity(_ run: Run, _ text: String) throws {
        guard let profile = run.options.profile, let pattern = profile.identity else { return }
        let identity = InstrumentIdentity(idn: text)
        if !pattern.matches(identity) {
            throw CheckFailure.fail(
                "\"\(text)\" is not an instrument profile \(profile.id) targets (manufacturer \(pattern.manufacturer ?? "*"), "
                    + "model \(pattern.model ?? "*"))")
        }
    }

    /// Why `reply` is not an identity, or nil when it is one. `ieee488`: it answers `*IDN?`,
    /// so it must be `Maker,Model,Serial,Firmware`.
    static func identityProblem(_ reply: String, ieee488: Bool) -> String? {
        let text = reply.trimmingSCPIWhitespace()
        if text.isEmpty { return "the reply is empty" }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "the reply \(text.debugDescription) holds control characters"
        }
        if looksLikeError(text) {
            return "the reply \"\(text)\" is an error report, not an identity"
        }
        if ieee488 {
            let identity = InstrumentIdentity(idn: text)
            let fields = text.split(separator: ",", omittingEmptySubsequences: false).count
            if fields < 4 || identity.manufacturer == nil || identity.model == nil {
                return "the reply \"\(text)\" is not an IEEE 488.2 identity (Maker,Model,Serial,Firmware: 4 fields, got \(fields))"
            }
        }
        return nil
    }

    /// Whether `text` reads like an instrument's error reply: `E03 SYNTAX`, `ERR 5`,
    /// `-113,"Undefined header"`, `?`, `NAK`, `syntax error`, `unknown command`.
    static func looksLikeError(_ text: String) -> Bool {
        let upper = text.uppercased()
        let words = ["SYNTAX", "UNKNOWN COMMAND", "INVALID COMMAND", "ILLEGAL", "UNDEFINED HEADER", "NOT RECOGNI"]
        if words.contains(where: { upper.contains($0) }) { return true }
        if upper.hasPrefix("?") || upper == "NAK" || upper.hasPrefix("ERR") { return true }
        // E<digits>: E03, E-12
        let scalars = Array(upper.unicodeScalars)
        if scalars.count >= 2, scalars[0] == "E" {
            let rest = scalars.dropFirst().drop { $0 == "-" }
            if let first = rest.first, CharacterSet.decimalDigits.contains(first) {
                let afterDigits = rest.drop { CharacterSet.decimalDigits.contains($0) }
                if afterDigits.first.map({ $0 == " " || $0 == ":" || $0 == "," }) ?? true { return true }
            }
        }
        // SCPI error-queue entry: -113,"..."
        if scalars.first == "-", let comma = upper.firstIndex(of: ","), Int(upper[upper.index(after: upper.startIndex)..<comma]) != nil {
            return true
        }
        return false
    }

    // MARK: - Operations

    private static func checkOperations(_ run: Run, _ instrument: Instrument) {
        let mode = run.options.mode
        let operations = instrument.operations.filter { $0.name != "identify" }
        let mock = instrument.mock
        // Settings that can be put back: read before any write.
        var saved: [(setter: OperationInfo, channel: InstrumentValue?, value: InstrumentValue)] = []
        var unrestorable: [String] = []
        if mode == .allowWrites {
            for op in operations where op.flags.contains(.writes) && !isOutputSwitch(op) {
                guard let getter = getter(for: op, in: operations) else {
                    if op.params.contains(where: { !ChannelRule.isChannel($0) && !$0.isOptional }) { unrestorable.append(op.name) }
                    continue
                }
                for channel in channelValues(of: op) {
                    if let value = try? instrument.call(getter.name, named: channelArgument(getter, channel)) {
                        run.calls += 1
                        saved.append((op, channel, value))
                    }
                }
            }
        }
        for op in operations {
            let writes = op.flags.contains(.writes)
            let reads = op.flags.contains(.reads)
            let name = "operation \(op.signature)"
            if writes && mode != .allowWrites {
                run.add(name, .skipped, "flagged as writing; only with --allow-writes")
                continue
            }
            if mode == .readOnly && !reads {
                run.add(name, .skipped, "not flagged as reading; --read-only runs only LITMUS_OP_READS operations")
                continue
            }
            if isOutputSwitch(op) {
                guard isOutputOff(op) || outputOff(for: op, in: operations) != nil else {
                    run.add(name, .skipped, "switches an output on and the driver declares no operation to switch it off")
                    continue
                }
            }
            run.record(name) {
                var patch: MockControl.Patch?
                // A mock answers its own operations from patches; a profile's operations (host
                // operations, past the driver's table) are answered by the instrument's text.
                if let mock, op.result != .void, op.index < run.driver.operations.count {
                    patch = try mock.patch(op.name, value: sample(for: op.result), times: 1)
                }
                let arguments = op.params.map { p -> InstrumentValue in
                    if p.isOptional { return .void }
                    return writes ? safeSample(for: p) : sample(for: p)
                }
                run.calls += 1
                let result = try instrument.call(op.name, arguments: arguments)
                if let patch, let mock { try? mock.unpatch(patch) }
                var note = ""
                if isOutputSwitch(op) && !isOutputOff(op), let off = outputOff(for: op, in: operations) {
                    run.calls += 1
                    try instrument.call(off.name, arguments: arguments.prefix(off.params.count).map { $0 })
                    note = " (switched off again with \(off.name))"
                }
                guard result.type == op.result || op.result == .void else {
                    throw CheckFailure.fail("returned \(result.type), declared \(op.result)")
                }
                return (op.result == .void ? "ok" : "\(result)") + note
            }
        }
        guard mode == .allowWrites else { return }
        // Put settings back.
        for entry in saved {
            let label = "restore \(entry.setter.name)\(entry.channel.map { " channel \(plain($0))" } ?? "")"
            run.record(label) {
                var args = channelArgument(entry.setter, entry.channel)
                guard let valueParam = entry.setter.params.first(where: { !ChannelRule.isChannel($0) }) else { return "nothing to restore" }
                args[valueParam.name] = entry.value
                run.calls += 1
                try instrument.call(entry.setter.name, named: args)
                return "\(entry.value)"
            }
        }
        if !unrestorable.isEmpty {
            run.add(
                "restore settings", .warned,
                "\(unrestorable.joined(separator: ", ")) changed to the lowest value the table allows and cannot be put back: "
                    + "the driver declares no getter. Fix: declare get_<name> (flagged READS) for each")
        }
        // Leave every output off, on every channel, and read back that it is.
        let offs = operations.filter { isOutputOff($0) }
        for off in offs {
            for channel in channelValues(of: off) {
                run.record("leave output off: \(off.name)\(channel.map { " channel \(plain($0))" } ?? "")") {
                    var args = channelArgument(off, channel)
                    if let flag = off.params.first(where: { $0.type == .bool && !ChannelRule.isChannel($0) }) { args[flag.name] = .bool(false) }
                    run.calls += 1
                    try instrument.call(off.name, named: args)
                    if let state = outputState(for: off, in: operations) {
                        run.calls += 1
                        let value = try instrument.call(state.name, named: channelArgument(state, channel))
                        guard value == .bool(false) else { throw CheckFailure.fail("\(state.name) reads \(value) after \(off.name)") }
                        return "off (\(state.name) reads false)"
                    }
                    return "off"
                }
            }
        }
    }

    /// Whether `op` switches an output or input on or off (`enable_output`, `disable_input`,
    /// `set_output(enabled: bool)`, `output_off`).
    static func isOutputSwitch(_ op: OperationInfo) -> Bool {
        let n = op.name
        guard n.contains("output") || n.contains("input") else { return false }
        guard op.flags.contains(.writes) || !op.flags.contains(.reads) else { return false }
        return n.hasPrefix("enable_") || n.hasPrefix("disable_") || n.hasSuffix("_on") || n.hasSuffix("_off")
            || (n.hasPrefix("set_") && op.params.contains { $0.type == .bool && !ChannelRule.isChannel($0) })
    }

    /// Whether `op` switches an output off (a `set_output(bool)` does when passed false).
    static func isOutputOff(_ op: OperationInfo) -> Bool {
        guard isOutputSwitch(op) else { return false }
        let n = op.name
        return n.hasPrefix("disable_") || n.hasSuffix("_off") || (n.hasPrefix("set_") && op.params.contains { $0.type == .bool && !ChannelRule.isChannel($0) })
    }

    /// The operation that undoes output switch `on`: `enable_output` -> `disable_output`,
    /// `output_on` -> `output_off`.
    static func outputOff(for on: OperationInfo, in operations: [OperationInfo]) -> OperationInfo? {
        let n = on.name
        var candidates: [String] = []
        if n.hasPrefix("enable_") { candidates.append("disable_" + String(n.dropFirst("enable_".count))) }
        if n.hasSuffix("_on") { candidates.append(String(n.dropLast("_on".count)) + "_off") }
        return operations.first { candidates.contains($0.name) }
    }

    /// The reading operation that tells whether `off`'s output is on (`output_enabled`,
    /// `is_output_enabled`, `output_state`), returning bool.
    static func outputState(for off: OperationInfo, in operations: [OperationInfo]) -> OperationInfo? {
        let subject = off.name.contains("output") ? "output" : "input"
        return operations.first {
            $0.result == .bool && $0.flags.contains(.reads) && !$0.flags.contains(.writes) && $0.name.contains(subject)
                && $0.params.allSatisfy { ChannelRule.isChannel($0) || $0.isOptional }
        }
    }

    /// The reading operation that returns what setter `op` sets: `get_X`, `X`, `X_setpoint`,
    /// `read_X` or `query_X` for `set_X`, taking no arguments but channels.
    static func getter(for op: OperationInfo, in operations: [OperationInfo]) -> OperationInfo? {
        guard op.name.hasPrefix("set_"), let value = op.params.first(where: { !ChannelRule.isChannel($0) }) else { return nil }
        guard op.params.filter({ !ChannelRule.isChannel($0) }).count == 1 else { return nil }
        let x = op.name.dropFirst("set_".count)
        for name in ["get_\(x)", "\(x)", "\(x)_setpoint", "read_\(x)", "query_\(x)"] {
            if let g = operations.first(where: { $0.name == name }), g.flags.contains(.reads), !g.flags.contains(.writes),
                g.result == value.type || (g.result == .f64 && value.type == .i64),
                g.params.allSatisfy({ ChannelRule.isChannel($0) || $0.isOptional })
            {
                return g
            }
        }
        return nil
    }

    /// The channel values `op` can be called with (nil: it takes no channel).
    static func channelValues(of op: OperationInfo) -> [InstrumentValue?] {
        guard let p = op.params.first(where: ChannelRule.isChannel) else { return [nil] }
        let values = ChannelRule.values(of: p).map { v -> InstrumentValue in
            p.type == .i64 ? .i64(Int64(v) ?? 0) : .string(v)
        }
        return values.isEmpty ? [nil] : values
    }

    /// A value as text without quotes: a channel "2" reads `2`.
    static func plain(_ value: InstrumentValue) -> String {
        if case .string(let text) = value { return text }
        return "\(value)"
    }

    private static func channelArgument(_ op: OperationInfo, _ channel: InstrumentValue?) -> [String: InstrumentValue] {
        guard let channel, let p = op.params.first(where: ChannelRule.isChannel) else { return [:] }
        return [p.name: channel]
    }

    // MARK: - Error paths

    /// Bad arguments must be refused before they reach the instrument: a wrong type, a value
    /// out of range, a choice that is not one, too many arguments, an unknown operation. Only
    /// operations the mode allows are probed, so even a host bug could not write.
    private static func probeBadArguments(_ run: Run, _ instrument: Instrument) {
        let mode = run.options.mode
        let allowed = instrument.operations.filter { op in
            let writes = op.flags.contains(.writes)
            if writes && mode != .allowWrites { return false }
            if mode == .readOnly && !op.flags.contains(.reads) { return false }
            return !isOutputSwitch(op) || isOutputOff(op)
        }
        run.record("error path: unknown operation") {
            do {
                try instrument.call("litmus_conformance_no_such_operation")
            } catch let e as DriverError where e.status == .notFound {
                return "refused: \(e.status)"
            }
            throw CheckFailure.fail("an unknown operation name was not refused as not found")
        }
        guard let op = allowed.first(where: { !$0.params.isEmpty }) else {
            run.add("error path: bad arguments", .skipped, "no operation this mode may run takes arguments")
            return
        }
        var probes: [(String, [InstrumentValue])] = []
        let base = op.params.map { $0.isOptional ? InstrumentValue.void : sample(for: $0) }
        for (i, p) in op.params.enumerated() {
            var wrongType = base
            wrongType[i] = p.type == .string ? .f64Array([1]) : .string("litmus-not-a-\(p.type)")
            probes.append(("\(p.name) of the wrong type", wrongType))
            if let range = p.range, range.upperBound.isFinite {
                var out = base
                out[i] = p.type == .i64 ? .i64(Int64(range.upperBound) + 1) : .f64(range.upperBound + max(1, abs(range.upperBound)))
                probes.append(("\(p.name) above its range", out))
            }
            if p.choices != nil {
                var bad = base
                bad[i] = .string("litmus-no-such-choice")
                probes.append(("\(p.name) not one of its choices", bad))
            }
        }
        probes.append(("one argument too many", base + [.i64(0)]))
        for (what, arguments) in probes {
            run.record("error path: \(op.name) with \(what)") {
                do {
                    run.calls += 1
                    try instrument.call(op.name, arguments: arguments)
                } catch let e as DriverError where e.status == .invalidArgument {
                    return "refused: \(e.message)"
                }
                throw CheckFailure.fail("accepted \(arguments)")
            }
        }
    }

    /// A read with nothing pending must end in a timeout error near the session timeout.
    private static func probeTimeout(_ run: Run, _ instrument: Instrument) {
        guard run.driver.isMessageBased else {
            run.add("error path: timeout", .skipped, "the driver has no message interface to read from")
            return
        }
        guard run.driver.supports.contains(.setTimeout) else {
            run.add("error path: timeout", .skipped, "the driver cannot set a timeout")
            return
        }
        run.record("error path: timeout (a read with nothing pending)") {
            try instrument.setTimeout(milliseconds: run.options.timeoutProbeMs)
            defer { try? instrument.setTimeout(milliseconds: Instrument.defaultTimeoutMs) }
            do {
                let unexpected = try instrument.read()
                throw CheckFailure.fail("a read with nothing pending returned \"\(unexpected.prefix(80))\"")
            } catch let e as DriverError where e.status == .timeout {
                return "\(e.status) after a \(run.options.timeoutProbeMs) ms timeout"
            }
        }
    }

    /// After close, every call fails with "closed"; closing twice is harmless.
    private static func probeAfterClose(_ run: Run, _ instrument: Instrument) {
        instrument.close()
        run.record("error path: calls after close") {
            var refused: [String] = []
            func expectClosed(_ what: String, _ body: () throws -> Void) throws {
                do {
                    try body()
                } catch let e as DriverError where e.status == .closed {
                    refused.append(what)
                    return
                }
                throw CheckFailure.fail("\(what) after close did not fail with \(DriverStatus.closed)")
            }
            if run.driver.isMessageBased {
                try expectClosed("write") { try instrument.write("*IDN?") }
                try expectClosed("read") { _ = try instrument.read() }
            }
            if let op = instrument.operations.first(where: { $0.flags.contains(.reads) && !$0.flags.contains(.writes) }) {
                try expectClosed(op.name) {
                    try instrument.call(op.name, arguments: op.params.map { $0.isOptional ? .void : sample(for: $0) })
                }
            }
            instrument.close()
            return refused.isEmpty ? "nothing to call" : "refused: \(refused.joined(separator: ", ")); a second close is harmless"
        }
    }

    /// Opening a unit that is not there must fail with a message, not succeed or crash.
    private static func probeMissingResource(_ run: Run) {
        let driver = run.driver
        guard let scheme = driver.schemes.first?.uppercased() else { return }
        var resource = "\(scheme)::litmus-conformance-no-such-unit::INSTR"
        if driver.schemes.contains(where: { $0.uppercased() == "TCPIP" }) {
            guard let port = LoopbackPeer.refusedPort() else { return }
            resource = "TCPIP0::127.0.0.1::\(port)::SOCKET"
        }
        run.record("error path: open \(resource) (not there)") {
            do {
                let instrument = try run.registry.open(resource, driver: driver.id)
                instrument.close()
            } catch let e as DriverError {
                guard !e.message.isEmpty else { throw CheckFailure.fail("refused with an empty message") }
                return "refused: \(e.status): \(e.message)"
            }
            if driver.isSimulated { throw CheckFailure.skip("a simulated driver may open any unit name") }
            throw CheckFailure.warn(
                "opened a unit that should not exist. Fix: if the driver can tell, fail open with LITMUS_E_NOT_FOUND and say "
                    + "which units exist")
        }
    }

    /// A peer that closes the connection must end a read with "closed" or an I/O error, not a
    /// hang or a success. Only for drivers of TCPIP, which the check can give a loopback peer.
    private static func probePeerClose(_ run: Run) {
        let driver = run.driver
        guard driver.isMessageBased, driver.schemes.contains(where: { $0.uppercased() == "TCPIP" }) else {
            run.add(
                "error path: a peer that closes", .skipped,
                "the check can only make a TCP peer close (loopback TCPIP::...::SOCKET); this driver serves \(driver.schemes.joined(separator: ", "))")
            return
        }
        guard let peer = LoopbackPeer.closingAfterAccept() else {
            run.add("error path: a peer that closes", .skipped, "no loopback socket could be opened")
            return
        }
        defer { peer.stop() }
        let resource = "TCPIP0::127.0.0.1::\(peer.port)::SOCKET"
        run.record("error path: a peer that closes (\(resource))") {
            let instrument: Instrument
            do {
                instrument = try run.registry.open(resource, driver: driver.id, options: driver.supports.contains(.setTimeout) ? ["timeout_ms": .i64(2000)] : [:])
            } catch let e as DriverError where e.status == .closed || e.status == .io {
                return "open refused: \(e.status)"
            } catch let e as DriverError where e.status == .invalidArgument || e.status == .unsupported {
                throw CheckFailure.skip("the driver does not open raw sockets: \(e.message)")
            }
            defer { instrument.close() }
            peer.waitUntilClosed()
            do {
                try? instrument.write("*IDN?")
                let reply = try instrument.read()
                throw CheckFailure.fail("a read after the peer closed returned \"\(reply.prefix(80))\"")
            } catch let e as DriverError where e.status == .closed || e.status == .io {
                return "\(e.status): \(e.message)"
            } catch let e as DriverError where e.status == .timeout {
                throw CheckFailure.fail("reported a timeout, not that the peer closed (\(e.message)). Fix: return LITMUS_E_CLOSED when recv returns 0")
            }
        }
    }

    // MARK: - Samples

    /// A value that satisfies `param`'s type, range and choices.
    static func sample(for param: ParameterInfo) -> InstrumentValue {
        if let choices = param.choices, let first = choices.first { return .string(first) }
        switch param.type {
        case .f64:
            if let r = param.range { return .f64(r.lowerBound + (r.upperBound - r.lowerBound) / 2) }
            return .f64(1)
        case .i64:
            if let r = param.range { return .i64(Int64((r.lowerBound + min(r.upperBound - r.lowerBound, 10)).rounded(.up))) }
            return .i64(1)
        default:
            return sample(for: param.type)
        }
    }

    /// The value a writing operation is given: the lowest the table allows (0 V rather than
    /// mid-range 15 V), the first choice, false.
    static func safeSample(for param: ParameterInfo) -> InstrumentValue {
        if let choices = param.choices, let first = choices.first { return .string(first) }
        switch param.type {
        case .f64:
            if let r = param.range { return .f64(r.contains(0) ? 0 : r.lowerBound.isFinite ? r.lowerBound : r.upperBound) }
            return .f64(0)
        case .i64:
            if let r = param.range {
                return .i64(r.contains(0) ? 0 : r.lowerBound.isFinite ? Int64(r.lowerBound.rounded(.up)) : Int64(r.upperBound.rounded(.down)))
            }
            return .i64(0)
        case .bool:
            return .bool(false)
        default:
            return sample(for: param.type)
        }
    }

    static func sample(for type: ValueType) -> InstrumentValue {
        switch type {
        case .void: .void
        case .f64: .f64(1.25)
        case .i64: .i64(3)
        case .bool: .bool(true)
        case .string: .string("conformance")
        case .f64Array: .f64Array([1, 2, 3])
        case .bytes: .bytes([0x0A, 0x00, 0xFF])
        }
    }
}
