import LitmusDriverKit
import LitmusJSON

/// One session of the mock driver: reads the open options and the `config` option (the role's
/// mock_config), then hands every call to its ``MockEngine``.
final class MockSession: DriverSession, MockExtensionSession {
    private let resource: String
    private let services: HostServices
    private var engine: MockEngine

    init(_ request: DriverDescription.OpenRequest) throws {
        let name = try ResourceName.parse(request.resource, scheme: "MOCK", example: "MOCK::dmm::INSTR")
        let identity = request.options.string("identity") ?? "Litmus,Mock,\(name),1.0"
        guard identity.split(separator: ",", omittingEmptySubsequences: false).count == 4 else {
            throw DriverFailure.invalidArgument(
                "identity \(JSONText.quoted(identity)) must have 4 comma-separated fields: Maker,Model,Serial,Firmware")
        }
        let limit = request.options.int("trace_limit") ?? Int64(TraceLog<MockEngine.TraceEntry>.defaultLimit)
        guard limit >= 0 else {
            throw DriverFailure.invalidArgument("trace_limit must be 0 or more (got \(limit))")
        }
        resource = request.resource
        services = request.services
        engine = MockEngine(identity: identity, seed: request.options.int("seed") ?? 0, traceLimit: Int(clamping: limit))
        if let operations = request.options.string("operations"), !operations.allSatisfy(\.isWhitespace) {
            try declare(operations)
        }
        if let config = request.options.string("config"), !config.allSatisfy(\.isWhitespace) {
            try configure(config)
        }
    }

    /// Parses the `operations` option: the result types of the driver this mock stands in for.
    private func declare(_ text: String) throws {
        let json: JSONValue
        do {
            json = try JSONValue.parse(text.utf8)
        } catch {
            throw DriverFailure.invalidArgument("operations is not valid JSON: \(error)")
        }
        guard case .object(let members) = json else {
            throw DriverFailure.invalidArgument(
                "operations must be a JSON object from operation name to result type, e.g. {\"measure_dc_voltage\": \"f64\"}")
        }
        let names: [String: ValueType] = [
            "void": .void, "f64": .f64, "i64": .i64, "bool": .bool, "string": .string, "f64[]": .f64Array, "bytes": .bytes,
        ]
        for (name, value) in members {
            guard case .string(let typeName) = value, let type = names[typeName] else {
                throw DriverFailure.invalidArgument(
                    "operations: the type of '\(name)' must be one of \(names.keys.sorted().joined(separator: ", "))")
            }
            engine.declare(name, type: type)
        }
    }

    /// Parses the `config` option: a JSON object from operation name to behaviour.
    private func configure(_ text: String) throws {
        let json: JSONValue
        do {
            json = try JSONValue.parse(text.utf8)
        } catch {
            throw DriverFailure.invalidArgument("mock_config is not valid JSON: \(error)")
        }
        guard case .object(let members) = json else {
            throw DriverFailure.invalidArgument(
                "mock_config must be a JSON object from operation name to behaviour, e.g. "
                    + "{\"measure_dc_voltage\": 5.0}; got \(json.kindDescription)")
        }
        for (name, value) in members {
            guard !name.isEmpty else { throw DriverFailure.invalidArgument("mock_config has an empty operation name") }
            engine.configure(
                name, try MockBehavior(json: value, operation: name, type: engine.type(of: name), source: "mock_config"))
        }
    }

    // MARK: - Calls

    func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue {
        guard index >= 0, index < MockOperation.allCases.count else {
            throw DriverFailure.notFound(
                "operation index \(index) is out of range: the mock has \(MockOperation.allCases.count) operations")
        }
        return try call(index, arguments)
    }

    func invokeNamed(_ name: String, arguments: Arguments) throws -> DriverValue {
        guard !name.isEmpty else { throw DriverFailure.invalidArgument("invoke_named needs an operation name") }
        return try call(engine.slot(named: name), arguments)
    }

    private func call(_ index: Int, _ arguments: Arguments) throws -> DriverValue {
        let (outcome, firstDrop) = engine.call(index, arguments)
        if firstDrop {
            services.log(
                .warning, component: "litmus-mock",
                "\(resource): the trace reached trace_limit \(engine.trace.limit); later calls are counted, not recorded")
        }
        switch outcome {
        case .value(let value): return value
        case .failure(let failure): throw failure
        }
    }

    // MARK: - Extension

    func patch(_ target: String, behavior: [UInt8], times: Int32) throws -> UInt64 {
        guard !target.isEmpty else { throw DriverFailure.invalidArgument("patch needs an operation name") }
        try checkPatchTimes(times)
        let json: JSONValue
        do {
            json = try JSONValue.parse(behavior)
        } catch {
            throw DriverFailure.invalidArgument("patch: the behaviour of '\(target)' is not valid JSON: \(error)")
        }
        let parsed = try MockBehavior(json: json, operation: target, type: engine.type(of: target), source: "patch")
        return engine.addPatch(target, parsed, times: times)
    }

    func patchReply(command: String, reply: String, times: Int32) throws -> UInt64 {
        throw DriverFailure.unsupported(
            "patch_reply patches simulated SCPI sessions (SIM::...); \(resource) is a mock session: use patch")
    }

    func unpatch(_ id: UInt64) { engine.removePatch(id) }

    func resetPatches() { engine.removeAllPatches() }

    var traceCount: Int { engine.trace.entries.count }

    func traceJSON(at index: Int) throws -> String { try engine.traceJSON(at: index) }

    func clearTrace() { engine.clearTrace() }
}
