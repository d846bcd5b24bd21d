import CLitmusDriverABI
import LitmusDriverKit
import LitmusJSON

/// One answer of a behaviour: a typed value, or an injected failure.
enum MockItem: Sendable {
    case value(DriverValue)
    case failure(DriverFailure)
}

/// A parsed behaviour of one mock operation (the `mock_config` grammar, see `litmus_mock_v1`
/// in litmus_driver.h), already converted to the operation's result type.
///
/// A behaviour is immutable; the state it keeps between calls lives in ``BehaviorInstance``.
enum MockBehavior: Sendable {
    /// What a sequence does once its items are used up.
    enum SequenceEnd: String, Sendable {
        case repeatLast = "repeat"
        case cycle
        case error
    }

    /// `5.0`, `{"value": 5.0}`, `{"hex": "0a0d"}`, `{"error": {...}}`: the same answer every call.
    case constant(MockItem)
    /// `{"sequence": [...], "then": "repeat"}`: one item per call.
    case sequence([MockItem], then: SequenceEnd)
    /// `{"nominal": 5.0, "sigma": 0.01, "seed": 7}`: Gaussian noise; nil seed: the default seed.
    case noise(nominal: Double, sigma: Double, seed: UInt64?)
    /// `{"lookup": {"1": 5.0}, "default": 0.0}`: by the first argument rendered as text.
    /// `"default"` answers a given argument that has no entry; an omitted argument (one the
    /// host had no declared default for) is never answered by it: that is an error, since the
    /// real instrument would pick a channel the mock cannot know. `keys` keeps the order of the
    /// JSON text, for messages.
    case lookup([String: MockItem], keys: [String], fallback: MockItem?)

    /// Parses and types one behaviour.
    ///
    /// - Parameters:
    ///   - json: the behaviour, already parsed.
    ///   - operation: the operation it answers, for messages.
    ///   - type: the operation's result type, or nil when the mock does not know it (an
    ///     operation reached only through `invoke_named`).
    ///   - source: where it comes from, the start of every message: "mock_config", "patch".
    init(json: JSONValue, operation: String, type: ValueType?, source: String) throws {
        self = try BehaviorParser(operation: operation, type: type, source: source).behavior(json)
    }

    /// The text a lookup uses for an argument: integral doubles without ".0" (`1.0` -> "1"),
    /// other doubles in their shortest form, strings as they are, bools as "true"/"false".
    /// Nil for an omitted argument.
    static func lookupKey(_ value: DriverValue) -> String? {
        switch value {
        case .void: return nil
        case .f64(let d):
            if let i = Int64(exactly: d) { return String(i) }
            return d.description
        case .i64(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return s
        case .f64Array, .bytes: return JSONWriter.value(value)
        }
    }
}

/// A behaviour plus the state it keeps between calls: the number of calls it answered (for
/// sequences) and its noise generator.
struct BehaviorInstance {
    /// The outcome of asking a behaviour for an answer.
    enum Answer {
        case item(MockItem)
        /// A lookup found no entry for `key` (nil: the first argument was omitted) and has
        /// no default; `keys` are the keys it has.
        case miss(key: String?, keys: [String])
    }

    let behavior: MockBehavior
    private var calls = 0
    private var generator: SplitMix64

    /// - Parameter defaultSeed: the noise seed when the behaviour gives none.
    init(_ behavior: MockBehavior, defaultSeed: UInt64) {
        self.behavior = behavior
        if case .noise(_, _, let seed?) = behavior {
            generator = SplitMix64(seed: seed)
        } else {
            generator = SplitMix64(seed: defaultSeed)
        }
    }

    /// The answer to one call of `operation` with `arguments`.
    mutating func answer(operation: String, arguments: Arguments) -> Answer {
        switch behavior {
        case .constant(let item):
            return .item(item)
        case .sequence(let items, let end):
            let index = calls
            calls += 1
            if index < items.count { return .item(items[index]) }
            switch end {
            case .repeatLast: return .item(items[items.count - 1])
            case .cycle: return .item(items[index % items.count])
            case .error:
                return .item(.failure(.failed(
                    "mock sequence for '\(operation)' exhausted after \(items.count) calls")))
            }
        case .noise(let nominal, let sigma, _):
            return .item(.value(.f64(nominal + sigma * generator.nextGaussian())))
        case .lookup(let table, let keys, let fallback):
            let key = MockBehavior.lookupKey(arguments[0])
            guard let key else { return .miss(key: nil, keys: keys) }
            if let item = table[key] { return .item(item) }
            if let fallback { return .item(fallback) }
            return .miss(key: key, keys: keys)
        }
    }

    /// The failure for a lookup miss: LITMUS_E_NOT_FOUND naming the key and the keys that
    /// exist. An omitted first argument always misses (a lookup's `"default"` is for given
    /// arguments only).
    static func missFailure(operation: String, key: String?, keys: [String]) -> DriverFailure {
        let known = keys.isEmpty ? "none" : keys.map(JSONText.quoted).joined(separator: ", ")
        guard let key else {
            return .notFound(
                "mock lookup for '\(operation)' is keyed by the first argument, which was omitted and has no declared "
                    + "default the mock could use (the real instrument would choose); keys: \(known). Fix: pass the "
                    + "argument, or declare its default (a profile parameter's `default:`)")
        }
        return .notFound(
            "mock lookup for '\(operation)' has no entry for \(JSONText.quoted(key)) and no \"default\"; keys: \(known)")
    }
}

/// Parses behaviour JSON for one operation. Every error starts with the source and the JSON
/// path of the offending key or value, rooted at the operation name:
/// `mock_config: read_count.sequence[1] is a non-integral number (2.5); read_count returns i64`.
private struct BehaviorParser {
    let operation: String
    let type: ValueType?
    let source: String

    /// Keys that select the form of a behaviour object.
    static let formKeys = ["value", "bytes", "hex", "sequence", "nominal", "lookup", "error"]
    /// The forms a single answer (a sequence item, a lookup entry) may take.
    static let itemKeys = ["value", "bytes", "hex", "error"]
    /// The other keys each form accepts.
    static let extraKeys: [String: [String]] = ["sequence": ["then"], "nominal": ["sigma", "seed"], "lookup": ["default"]]

    func fail(_ problem: String) -> DriverFailure {
        .invalidArgument("\(source): \(problem)")
    }

    func behavior(_ json: JSONValue) throws -> MockBehavior {
        let path = operation
        guard case .object(let members) = json else { return .constant(try item(json, at: path)) }
        let form = try formKey(members, at: path, allowed: Self.formKeys)
        func member(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        switch form {
        case "sequence":
            guard case .array(let list) = member("sequence")!, !list.isEmpty else {
                throw fail("\(path).sequence must be a non-empty array of values")
            }
            let items = try list.enumerated().map { try item($1, at: "\(path).sequence[\($0)]") }
            var end = MockBehavior.SequenceEnd.repeatLast
            if let then = member("then") {
                guard case .string(let text) = then, let parsed = MockBehavior.SequenceEnd(rawValue: text) else {
                    throw fail("\(path).then is \(then.kindDescription); use \"repeat\", \"cycle\" or \"error\"")
                }
                end = parsed
            }
            return .sequence(items, then: end)
        case "nominal":
            guard type == nil || type == .f64 else {
                throw fail("\(path) is noise, which gives one f64 per call, but \(operation) returns \(Self.name(type))")
            }
            let nominal = try number(member("nominal")!, at: "\(path).nominal")
            let sigma = try member("sigma").map { try number($0, at: "\(path).sigma") } ?? 0
            guard sigma >= 0 else { throw fail("\(path).sigma must not be negative (got \(sigma))") }
            var seed: UInt64?
            if let s = member("seed") {
                guard case .number(let n) = s, let value = n.integer else {
                    throw fail("\(path).seed is \(s.kindDescription); use an integer")
                }
                seed = UInt64(bitPattern: value)
            }
            return .noise(nominal: nominal, sigma: sigma, seed: seed)
        case "lookup":
            guard case .object(let entries) = member("lookup")! else {
                throw fail("\(path).lookup must be an object from argument text to value, e.g. {\"1\": 5.0, \"2\": 3.3}")
            }
            var table: [String: MockItem] = [:]
            for (key, value) in entries {
                table[key] = try item(value, at: "\(path).lookup[\(JSONText.quoted(key))]")
            }
            let fallback = try member("default").map { try item($0, at: "\(path).default") }
            return .lookup(table, keys: entries.map(\.key), fallback: fallback)
        default:
            return .constant(try item(json, at: path))
        }
    }

    /// The form key of a behaviour object, after checking that every other key belongs to it.
    func formKey(_ members: [(key: String, value: JSONValue)], at path: String, allowed: [String]) throws -> String {
        let expected = allowed.joined(separator: ", ")
        let forms = members.map(\.key).filter(allowed.contains)
        guard let form = forms.first else {
            guard let key = members.first?.key else { throw fail("\(path) is an empty object; expected one of \(expected)") }
            if Self.formKeys.contains(key) {
                throw fail("\(path) cannot use \"\(key)\" (no nesting); expected one of \(expected)")
            }
            throw fail("\(path) has the unknown behaviour key \(JSONText.quoted(key)); expected one of \(expected)")
        }
        guard forms.count == 1 else {
            throw fail("\(path) has both \"\(forms[0])\" and \"\(forms[1])\"; a behaviour takes exactly one of \(expected)")
        }
        let extras = Self.extraKeys[form] ?? []
        if let stray = members.first(where: { $0.key != form && !extras.contains($0.key) }) {
            let takes = ([form] + extras).map { "\"\($0)\"" }.joined(separator: ", ")
            throw fail("\(path) has the unknown key \(JSONText.quoted(stray.key)); a \"\(form)\" behaviour takes \(takes)")
        }
        return form
    }

    /// One answer: a constant, `{"value": x}`, `{"bytes": [...]}`, `{"hex": ".."}` or `{"error": {...}}`.
    func item(_ json: JSONValue, at path: String) throws -> MockItem {
        guard case .object(let members) = json else { return .value(try convert(json, at: path)) }
        let form = try formKey(members, at: path, allowed: Self.itemKeys)
        let inner = members[0].value
        switch form {
        case "value":
            return .value(try convert(inner, at: "\(path).value"))
        case "bytes":
            guard case .array(let list) = inner else {
                throw fail("\(path).bytes must be an array of integers 0...255, e.g. {\"bytes\": [1, 2, 3]}")
            }
            let bytes = try list.enumerated().map { i, v in
                guard case .number(let n) = v, let b = n.integer.flatMap(UInt8.init(exactly:)) else {
                    throw fail("\(path).bytes[\(i)] is \(v.kindDescription); each byte must be an integer 0...255")
                }
                return b
            }
            return .value(try typedBytes(bytes, at: path))
        case "hex":
            guard case .string(let text) = inner, let bytes = bytesFromHex(text) else {
                throw fail("\(path).hex must be a string of hex digit pairs, e.g. {\"hex\": \"0a0d\"}")
            }
            return .value(try typedBytes(bytes, at: path))
        default:
            return .failure(try injectedError(inner, at: "\(path).error"))
        }
    }

    func typedBytes(_ bytes: [UInt8], at path: String) throws -> DriverValue {
        guard type == nil || type == .bytes else { throw mismatch(at: path, found: "bytes") }
        return .bytes(bytes)
    }

    /// `{"status": -4, "message": "...", "vendor_code": 0}`; status defaults to -1.
    func injectedError(_ json: JSONValue, at path: String) throws -> DriverFailure {
        guard case .object(let members) = json else {
            throw fail("\(path) is \(json.kindDescription); use an object: {\"status\": -4, \"message\": \"timeout\"}")
        }
        var status = Int32(LITMUS_E_FAILED)
        var vendorCode: Int32 = 0
        var message = "error injected by the mock for '\(operation)'"
        for (key, value) in members {
            switch key {
            case "status", "vendor_code":
                guard case .number(let n) = value, let code = n.integer.flatMap(Int32.init(exactly:)) else {
                    throw fail("\(path).\(key) is \(value.kindDescription); use a 32-bit integer")
                }
                if key == "vendor_code" {
                    vendorCode = code
                } else {
                    guard code < 0 else {
                        throw fail("\(path).status must be negative (a LITMUS_E_* code such as -4 for a timeout); got \(code)")
                    }
                    status = code
                }
            case "message":
                guard case .string(let text) = value else {
                    throw fail("\(path).message is \(value.kindDescription); use a string")
                }
                message = text
            default:
                throw fail("\(path) has the unknown key \(JSONText.quoted(key)); it takes \"status\", \"message\", \"vendor_code\"")
            }
        }
        return DriverFailure(status: status, vendorCode: vendorCode, message)
    }

    func number(_ json: JSONValue, at path: String) throws -> Double {
        guard case .number(let n) = json else { throw fail("\(path) is \(json.kindDescription); use a number") }
        return n.double
    }

    /// A JSON constant as a value of the operation's result type (or, for an untyped operation,
    /// of the type the JSON suggests).
    func convert(_ json: JSONValue, at path: String) throws -> DriverValue {
        switch (type, json) {
        case (nil, .null), (.void?, .null): return .void
        case (nil, .bool(let b)), (.bool?, .bool(let b)): return .bool(b)
        case (nil, .number(let n)), (.f64?, .number(let n)): return .f64(n.double)
        case (.i64?, .number(let n)):
            guard let i = n.integer else {
                let what = n.double.rounded() == n.double ? "an integer outside the i64 range" : "a non-integral number"
                throw mismatch(at: path, found: "\(what) (\(n.literal))")
            }
            return .i64(i)
        case (nil, .string(let s)), (.string?, .string(let s)): return .string(s)
        case (nil, .array(let list)), (.f64Array?, .array(let list)):
            return .f64Array(try list.enumerated().map { i, v in
                guard case .number(let n) = v else {
                    throw fail("\(path)[\(i)] is \(v.kindDescription); arrays must hold numbers only")
                }
                return n.double
            })
        default:
            throw mismatch(at: path, found: json.kindDescription)
        }
    }

    func mismatch(at path: String, found: String) -> DriverFailure {
        let hint: String
        switch type {
        case .bytes?: hint = "; write bytes as {\"bytes\": [1, 2, 3]} or {\"hex\": \"0a0d\"}"
        case .void?: hint = "; give null (success) or an {\"error\": {...}}"
        case .f64Array?: hint = "; use an array of numbers"
        default: hint = ""
        }
        return fail("\(path) is \(found), but \(operation) returns \(Self.name(type))\(hint)")
    }

    static func name(_ type: ValueType?) -> String {
        switch type {
        case nil: "an unknown type"
        case .void?: "nothing (void)"
        case .f64?: "f64"
        case .i64?: "i64"
        case .bool?: "bool"
        case .string?: "string"
        case .f64Array?: "an f64 array"
        case .bytes?: "bytes"
        }
    }
}
