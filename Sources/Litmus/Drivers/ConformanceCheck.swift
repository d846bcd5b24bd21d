/// The conformance kit behind `litmus drivers check`: loads one plugin file on its own,
/// validates every descriptor, opens each driver's self-test resource and exercises what the
/// driver declares.
///
/// ```swift
/// let report = ConformanceCheck.run(pluginAt: ".build/debug/liblitmus-mock.so")
/// print(report.rendered())
/// if !report.passed { exit(1) }
/// ```
public enum ConformanceCheck {
    /// One check and its outcome.
    public struct Item: Sendable {
        public enum Outcome: String, Sendable { case passed, failed, skipped }
        public var driver: String?
        public var name: String
        public var outcome: Outcome
        public var detail: String
    }

    /// Every check run on one plugin file.
    public struct Report: Sendable {
        public var path: String
        public var items: [Item] = []
        /// True when nothing failed.
        public var passed: Bool { !items.contains { $0.outcome == .failed } }

        mutating func add(_ driver: String?, _ name: String, _ outcome: Item.Outcome, _ detail: String = "") {
            items.append(Item(driver: driver, name: name, outcome: outcome, detail: detail))
        }

        /// A human-readable report ending in a verdict line.
        public func rendered(color: Bool = false) -> String {
            func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
            var lines = ["Conformance check of \(path)"]
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
    }

    /// Runs every check on the plugin at `path`, in a registry of its own.
    public static func run(pluginAt path: String) -> Report {
        var report = Report(path: path)
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
            check(driver, registry: registry, into: &report)
        }
        return report
    }

    private static func check(_ driver: DriverInfo, registry: DriverRegistry, into report: inout Report) {
        let id = driver.id
        report.add(
            id, "descriptor", .passed,
            "\(driver.operations.count) operations, \(driver.openOptions.count) open options, schemes \(driver.schemes.joined(separator: ",")), supports \(driver.supports)")
        InstrumentClass.report(driver, into: &report)
        if driver.supports.contains(.discover) {
            record(id, "discover", &report) {
                let found = try driver.discover()
                return found.isEmpty ? "nothing found" : found.map(\.resource).joined(separator: ", ")
            }
        }
        guard let resource = driver.selfTestResource else {
            report.add(id, "open self-test resource", .skipped, "the driver declares no self_test_resource")
            return
        }
        let instrument: Instrument
        do {
            instrument = try registry.open(resource, driver: id)
            report.add(id, "open \(resource)", .passed)
        } catch {
            report.add(id, "open \(resource)", .failed, "\(error)")
            return
        }
        defer { instrument.close() }

        if driver.supports.contains(.setTimeout) {
            record(id, "set_timeout", &report) { try instrument.setTimeout(milliseconds: 2000) }
        }
        if driver.isMessageBased {
            record(id, "*IDN? through write + read", &report) {
                let identity = try instrument.identify()
                guard identity.manufacturer != nil else { throw DriverError(.protocolViolation, "empty *IDN? reply") }
                return identity.description
            }
        }
        if driver.supports.contains(.readSTB) {
            record(id, "read_stb", &report) { "0x" + String(try instrument.readSTB(), radix: 16) }
        }
        if driver.supports.contains(.clear) {
            record(id, "clear", &report) { try instrument.clear() }
        }
        if driver.supports.contains(.trigger) {
            record(id, "trigger", &report) { try instrument.trigger() }
        }
        let mock = instrument.mock
        for op in driver.operations {
            record(id, "operation \(op.signature)", &report) {
                var patch: MockControl.Patch?
                if let mock, op.result != .void {
                    patch = try mock.patch(op.name, value: sample(for: op.result), times: 1)
                }
                let result = try instrument.call(op.name, arguments: op.params.map { $0.isOptional ? .void : sample(for: $0) })
                if let patch, let mock { try? mock.unpatch(patch) }
                guard result.type == op.result || (op.result == .void) else {
                    throw DriverError(.protocolViolation, "returned \(result.type), declared \(op.result)")
                }
                return op.result == .void ? "ok" : "\(result)"
            }
        }
        if let mock {
            record(id, "mock trace", &report) {
                let entries = try mock.trace()
                guard entries.count >= driver.operations.count else {
                    throw DriverError(.failed, "trace holds \(entries.count) entries after \(driver.operations.count) calls")
                }
                return "\(entries.count) entries"
            }
        }
    }

    private static func record(_ driver: String, _ name: String, _ report: inout Report, _ body: () throws -> Void) {
        do {
            try body()
            report.add(driver, name, .passed)
        } catch {
            report.add(driver, name, .failed, "\(error)")
        }
    }

    private static func record(_ driver: String, _ name: String, _ report: inout Report, _ body: () throws -> String) {
        do {
            report.add(driver, name, .passed, try body())
        } catch {
            report.add(driver, name, .failed, "\(error)")
        }
    }

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
