import LitmusDriverKit
import LitmusJSON

/// The state of one mock session and the rules that answer its calls: the newest applicable
/// patch answers, else the configured behaviour, else the built-in default. Every call is
/// traced, whatever its outcome.
///
/// Behaviours are resolved once, at open, into one ``OperationSlot`` per operation, indexed
/// like the driver's operation table. The engine is a struct held by ``MockSession`` so that a
/// call mutates it under a single exclusivity check: a call to a constant behaviour reads an
/// array element, appends a trace entry and returns, without allocating (the trace grows
/// geometrically).
struct MockEngine {
    /// What the session knows about one operation: its typing, configured behaviour and patches.
    struct OperationSlot {
        let name: String
        /// The declared result type; nil for an operation outside the mock's table.
        let type: ValueType?
        /// The table entry, for operations with built-in behaviour.
        let operation: MockOperation?
        /// The `config` option's behaviour.
        var configured: BehaviorInstance?
        /// Active patches, oldest first; the newest applicable one answers.
        var patches: [Patch] = []
    }

    /// A behaviour stacked on top of the configured one by the `patch` extension function.
    struct Patch {
        let id: UInt64
        var instance: BehaviorInstance
        /// Calls it still answers; -1: until removed.
        var remaining: Int32
    }

    /// One recorded call.
    struct TraceEntry {
        let seq: UInt64
        let slot: Int
        let arguments: [DriverValue]
        let outcome: MockItem
        let patched: Bool
    }

    /// The answer of `identify`.
    let identity: String
    /// The `seed` open option, mixed into every default noise seed.
    let seed: Int64
    /// The mock's table operations first (index = operation index), then names met through
    /// `config`, `patch` or `invoke_named`.
    private(set) var slots: [OperationSlot]
    private var slotIndex: [String: Int]
    /// Output state set by enable_output / disable_output, by channel (lookup-key text; "" for
    /// the default channel).
    private var outputs: [String: Bool] = [:]
    private(set) var trace: TraceLog<TraceEntry>
    private var nextPatchID: UInt64 = 1

    init(identity: String, seed: Int64, traceLimit: Int) {
        self.identity = identity
        self.seed = seed
        trace = TraceLog(limit: traceLimit)
        slots = MockOperation.allCases.map {
            OperationSlot(name: $0.description.name, type: $0.description.result, operation: $0)
        }
        slotIndex = Dictionary(uniqueKeysWithValues: slots.enumerated().map { ($1.name, $0) })
    }

    // MARK: - Slots

    /// The declared result type of `name`, or nil for an operation outside the mock's table.
    func type(of name: String) -> ValueType? {
        slotIndex[name].flatMap { slots[$0].type }
    }

    /// The slot of `name`, created (untyped) on first use.
    mutating func slot(named name: String) -> Int {
        if let index = slotIndex[name] { return index }
        slots.append(OperationSlot(name: name, type: nil, operation: nil))
        slotIndex[name] = slots.count - 1
        return slots.count - 1
    }

    /// Declares `name` with the result type of the driver the mock stands in for. A built-in
    /// operation of the same name keeps its behaviour only when the types agree.
    mutating func declare(_ name: String, type: ValueType) {
        if let index = slotIndex[name] {
            if slots[index].type != type {
                slots[index] = OperationSlot(name: name, type: type, operation: nil)
            }
            return
        }
        slots.append(OperationSlot(name: name, type: type, operation: nil))
        slotIndex[name] = slots.count - 1
    }

    /// Sets the configured behaviour of `name`.
    mutating func configure(_ name: String, _ behavior: MockBehavior) {
        let index = slot(named: name)
        slots[index].configured = instance(behavior, operation: name)
    }

    /// Stacks a patch on `name`; returns its id.
    mutating func addPatch(_ name: String, _ behavior: MockBehavior, times: Int32) -> UInt64 {
        let id = nextPatchID
        nextPatchID += 1
        let index = slot(named: name)
        slots[index].patches.append(Patch(id: id, instance: instance(behavior, operation: name), remaining: times))
        return id
    }

    mutating func removePatch(_ id: UInt64) {
        for i in slots.indices { slots[i].patches.removeAll { $0.id == id } }
    }

    mutating func removeAllPatches() {
        for i in slots.indices { slots[i].patches.removeAll() }
    }

    mutating func clearTrace() { trace.clear() }

    private func instance(_ behavior: MockBehavior, operation: String) -> BehaviorInstance {
        BehaviorInstance(behavior, defaultSeed: SplitMix64.defaultSeed(operation: operation, sessionSeed: seed))
    }

    // MARK: - Calls

    /// Answers one call of slot `index` and traces it. `firstDrop` is true when this call is
    /// the first one the full trace could not record.
    mutating func call(_ index: Int, _ arguments: Arguments) -> (outcome: MockItem, firstDrop: Bool) {
        var patched = false
        let outcome: MockItem
        if !slots[index].patches.isEmpty, let item = answerFromPatches(index, arguments) {
            outcome = item
            patched = true
        } else {
            outcome = answer(index, arguments)
        }
        if case .value = outcome, let operation = slots[index].operation {
            switch operation {
            case .enableOutput: outputs[channelKey(arguments)] = true
            case .disableOutput: outputs[channelKey(arguments)] = false
            default: break
            }
        }
        let firstDrop = trace.record { seq in
            TraceEntry(
                seq: seq, slot: index, arguments: arguments.count == 0 ? [] : arguments.values, outcome: outcome,
                patched: patched)
        }
        return (outcome, firstDrop)
    }

    private mutating func answerFromPatches(_ index: Int, _ arguments: Arguments) -> MockItem? {
        let name = slots[index].name
        for i in slots[index].patches.indices.reversed() {
            let item: MockItem
            switch slots[index].patches[i].instance.answer(operation: name, arguments: arguments) {
            case .item(let answer): item = answer
            case .miss(nil, let keys):
                // An omitted key the host had no default for: no layer below can know the
                // channel the patch meant either, so this is the patch's error, not a fallback.
                return .failure(BehaviorInstance.missFailure(operation: name, key: nil, keys: keys))
            case .miss: continue  // a lookup patch without this key: an older patch or the config answers
            }
            if slots[index].patches[i].remaining > 0 {
                slots[index].patches[i].remaining -= 1
                if slots[index].patches[i].remaining == 0 { slots[index].patches.remove(at: i) }
            }
            return item
        }
        return nil
    }

    private mutating func answer(_ index: Int, _ arguments: Arguments) -> MockItem {
        let name = slots[index].name
        if slots[index].configured != nil {
            switch slots[index].configured!.answer(operation: name, arguments: arguments) {
            case .item(let item): return item
            case .miss(let key, let keys):
                return .failure(BehaviorInstance.missFailure(operation: name, key: key, keys: keys))
            }
        }
        switch slots[index].operation {
        case .identify?: return .value(.string(identity))
        case .outputEnabled?: return .value(.bool(outputs[channelKey(arguments)] ?? false))
        default: break
        }
        let example: String
        switch slots[index].type {
        case .void?: return .value(.void)
        case .i64?: example = "42"
        case .bool?: example = "true"
        case .string?: example = "\"text\""
        case .f64Array?: example = "[1.0, 2.0, 3.0]"
        case .bytes?: example = "{\"hex\": \"0a0d\"}"
        case .f64?: example = "5.0"
        case nil: example = "5.0, or null for an operation that returns nothing"
        }
        return .failure(.notFound(
            "mock operation '\(name)' has no configured value; add it to the role's mock_config (e.g. \(name): \(example))"))
    }

    /// The channel an output operation addresses, as text ("" when omitted).
    private func channelKey(_ arguments: Arguments) -> String {
        MockBehavior.lookupKey(arguments[0]) ?? ""
    }

    // MARK: - Trace

    /// `{"seq":0,"op":"measure_dc_voltage","args":[],"status":0,"result":5.0,"patched":false}`;
    /// a failed call has `"result":null,"error":"<message>"` and its status.
    func traceJSON(at index: Int) throws -> String {
        let entry = try trace.entry(at: index)
        var json = "{\"seq\":\(entry.seq),\"op\":\(JSONText.quoted(slots[entry.slot].name)),\"args\":["
        json += entry.arguments.map(JSONWriter.value).joined(separator: ",")
        switch entry.outcome {
        case .value(let value):
            json += "],\"status\":0,\"result\":\(JSONWriter.value(value))"
        case .failure(let failure):
            json += "],\"status\":\(failure.status),\"result\":null,\"error\":\(JSONText.quoted(failure.message))"
        }
        json += ",\"patched\":\(entry.patched)}"
        return json
    }
}
