import LitmusJSON

/// Turns a role's `mock_config` entry, written in YAML, into the mock driver's JSON behaviour
/// grammar (see `litmus_mock_v1` in litmus_driver.h), converting every value by the
/// operation's declared result type: `5` answers 5.0 for an f64 operation and "5" for a string
/// one; `on` is text, never a boolean.
///
/// ```yaml
/// mock_config:
///   measure_dc_voltage: 5.0                              # a constant
///   measure_current: {nominal: 0.1, sigma: 0.001}        # Gaussian noise
///   read_temperature: {sequence: [25, 26, 27], then: cycle}
///   measure_voltage: {lookup: {"1": 3.3, "2": 5.0}, default: 0}   # by the first argument (the channel)
///   set_voltage: {error: {status: -4, message: "overvoltage"}}    # an injected error
/// ```
enum MockConfigEncoder {
    /// The grammar's keys, for "did you mean".
    static let keys = ["value", "sequence", "then", "nominal", "sigma", "seed", "lookup", "default", "error", "hex"]

    static func behavior(_ v: ConfigValue, type: ValueType) throws(ConversionProblem) -> String {
        guard case .map(let entries) = v else { return try item(v, type: type) }
        var out: [String] = []
        for e in entries {
            let json: String
            switch e.key {
            case "value": json = try value(e.value, type: type)
            case "sequence":
                guard case .list(let items) = e.value, !items.isEmpty else {
                    throw ConversionProblem("sequence must be a non-empty list of answers", fix: "write e.g. `sequence: [1.0, 2.0, 3.0]`")
                }
                json = "[" + (try items.map { (i) throws(ConversionProblem) -> String in try item(i, type: type) }).joined(separator: ",") + "]"
            case "then":
                guard case .scalar(let t, _) = e.value, ["repeat", "cycle", "error"].contains(t) else {
                    throw ConversionProblem("then must be repeat, cycle or error, found \(e.value.shortDescription)")
                }
                json = JSONText.quoted(t)
            case "nominal", "sigma":
                guard case .success(.f64(let x)) = e.value.converted(to: .f64) else {
                    throw ConversionProblem("\(e.key) must be a number, found \(e.value.shortDescription)")
                }
                json = RangeExpander.format(x)
            case "seed":
                guard case .success(.i64(let x)) = e.value.converted(to: .i64) else {
                    throw ConversionProblem("seed must be an integer, found \(e.value.shortDescription)")
                }
                json = String(x)
            case "lookup":
                guard case .map(let cases) = e.value, !cases.isEmpty else {
                    throw ConversionProblem("lookup must map argument values to answers", fix: "write e.g. `lookup: {\"1\": 3.3, \"2\": 5.0}`")
                }
                json = "{" + (try cases.map { (c) throws(ConversionProblem) -> String in "\(JSONText.quoted(c.key)):\(try item(c.value, type: type))" }).joined(separator: ",") + "}"
            case "default": json = try item(e.value, type: type)
            case "error": json = try error(e.value)
            case "hex":
                guard case .scalar(let t, _) = e.value else { throw ConversionProblem("hex must be text such as \"0a0d\"") }
                json = JSONText.quoted(t)
            default:
                let hint = Suggest.closest(to: e.key, in: keys).map { "did you mean \"\($0)\"? " } ?? ""
                throw ConversionProblem(
                    "unknown behaviour key \"\(e.key)\"",
                    fix: "\(hint)write a value, or a mapping with value, sequence/then, nominal/sigma/seed, lookup/default, error or hex")
            }
            out.append("\(JSONText.quoted(e.key)):\(json)")
        }
        return "{" + out.joined(separator: ",") + "}"
    }

    /// One answer: a value, or `{error: {...}}`.
    private static func item(_ v: ConfigValue, type: ValueType) throws(ConversionProblem) -> String {
        if case .map(let entries) = v, entries.count == 1 {
            if entries[0].key == "error" { return "{\"error\":\(try error(entries[0].value))}" }
            if entries[0].key == "hex" || entries[0].key == "value" { return try behavior(v, type: type) }
        }
        return try value(v, type: type)
    }

    private static func value(_ v: ConfigValue, type: ValueType) throws(ConversionProblem) -> String {
        if type == .bytes, case .scalar(let t, _) = v {
            return "{\"hex\":\(JSONText.quoted(Array(t.utf8).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()))}"
        }
        switch v.converted(to: type) {
        case .failure(let p): throw p
        case .success(let x): return json(x)
        }
    }

    private static func error(_ v: ConfigValue) throws(ConversionProblem) -> String {
        if case .scalar(let message, _) = v { return "{\"message\":\(JSONText.quoted(message))}" }
        guard case .map(let entries) = v else { throw ConversionProblem("error must be a message or {status, message}") }
        var out: [String] = []
        for e in entries {
            switch e.key {
            case "status", "vendor_code":
                guard case .success(.i64(let x)) = e.value.converted(to: .i64) else {
                    throw ConversionProblem("error \(e.key) must be an integer, found \(e.value.shortDescription)")
                }
                out.append("\(JSONText.quoted(e.key)):\(x)")
            case "message":
                guard case .scalar(let t, _) = e.value else { throw ConversionProblem("error message must be text") }
                out.append("\"message\":\(JSONText.quoted(t))")
            default:
                throw ConversionProblem("unknown error key \"\(e.key)\"", fix: "use status (e.g. -4 for a timeout), message and vendor_code")
            }
        }
        return "{" + out.joined(separator: ",") + "}"
    }

    static func json(_ v: InstrumentValue) -> String {
        switch v {
        case .void: "null"
        case .f64(let x): RangeExpander.format(x)
        case .i64(let x): String(x)
        case .bool(let b): b ? "true" : "false"
        case .string(let s): JSONText.quoted(s)
        case .f64Array(let a): "[" + a.map(RangeExpander.format).joined(separator: ",") + "]"
        case .bytes(let b): "{\"hex\":\(JSONText.quoted(b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()))}"
        }
    }
}
