import Foundation

/// A test's vectors, limits, mocks and retry, from code or a YAML file.
///
/// ```yaml
/// vectors:                     # a mapping is a PRODUCT of its axes (the last varies fastest)
///   vin: "4.5:12:2.5"          # SCPI-style range, inclusive, exact decimal points
///   load: [0.1, 0.5]           # a list; a scalar is a one-point axis
///   vectors: {temp: [25, 85]}  # nested: this level × the inner level (inner values win)
/// # or: vectors: {expand: zip, vin: [5, 12], load: [0.1, 0.5]}
/// # or: vectors: [{vin: 5, _limits: {vout: {low: 3.2, high: 3.4}}}, {vin: 12}]   # explicit
/// limits:
///   vout: {low: 3.135, high: 3.465, unit: V}
///   ripple: {high: 0.05, comparator: LE, unit: V}
///   id: {nominal: 42, comparator: EQ, tolerance: 0}
/// mocks: {"dmm.measure_dc_voltage": 3.3}
/// retry: {max_retries: 2, delay: 0.1, on: [failed, errored]}
/// ```
public struct HarnessConfig: Sendable {
    public var vectors: [Vector]?
    public var limits: [String: Limit]
    public var mocks: [String: ConfigValue]
    public var retry: RetryConfig?

    public init(vectors: [Vector]? = nil, limits: [String: Limit] = [:], mocks: [String: ConfigValue] = [:], retry: RetryConfig? = nil) {
        self.vectors = vectors
        self.limits = limits
        self.mocks = mocks
        self.retry = retry
    }

    /// Reads a config file; every problem is located.
    public static func load(path: String) throws(ConfigReport) -> HarnessConfig {
        let reader = ConfigReader()
        guard let root = reader.collect({ try reader.load(path) }) else { throw reader.report }
        let config = parse(root, reader: reader)
        guard let config, reader.report.errors.isEmpty else { throw reader.report }
        return config
    }

    /// Reads config text (`file` names it in messages).
    public static func parse(_ text: String, file: String = "<config>") throws(ConfigReport) -> HarnessConfig {
        let reader = ConfigReader()
        guard let root = reader.collect({ try reader.parse(text, file: file) }) else { throw reader.report }
        let config = parse(root, reader: reader)
        guard let config, reader.report.errors.isEmpty else { throw reader.report }
        return config
    }

    /// A sidecar file: test configs by test name, and defaults for every test of the file.
    ///
    /// ```yaml
    /// defaults: {retry: {max_retries: 1}}           # every test that loads this file
    /// tests:
    ///   railsUnderLoad:                             # the test function's name
    ///     limits: {vout: {low: 3.2, high: 3.4, unit: V}}
    ///     vectors: {vin: "5:12:3.5", load: [0.1, 0.5]}
    /// ```
    public struct Sidecar: Sendable {
        /// The file it was read from.
        public var path: String
        public var defaults: HarnessConfig?
        public var tests: [String: HarnessConfig]
    }

    /// Reads a sidecar file; every problem is located (`file:line:column`).
    public static func loadSidecar(path: String) throws(ConfigReport) -> Sidecar {
        let reader = ConfigReader()
        guard let root = reader.collect({ try reader.load(path) }) else { throw reader.report }
        var sidecar = Sidecar(path: path, defaults: nil, tests: [:])
        reader.collect { () throws -> Void in
            let m = try root.mapping("a sidecar mapping (defaults, tests)", allowed: ["defaults", "tests"])
            if let d = m["defaults"] { sidecar.defaults = parse(d, reader: reader) }
            if let t = m["tests"] {
                for entry in try t.entries("a mapping from test function name to its config") {
                    if let config = parse(entry.value, reader: reader) { sidecar.tests[entry.key] = config }
                }
            }
        }
        guard reader.report.errors.isEmpty else { throw reader.report }
        return sidecar
    }

    static func parse(_ root: ConfigNode, reader: ConfigReader) -> HarnessConfig? {
        reader.collect { () throws -> HarnessConfig in
            let m = try root.mapping("a test config (vectors, limits, mocks, retry)", allowed: ["vectors", "limits", "mocks", "retry"])
            var config = HarnessConfig()
            if let v = m["vectors"] { config.vectors = reader.collect { try vectors(v) } }
            if let l = m["limits"] {
                for entry in (reader.collect { try l.entries("a mapping from measurement name to limit") } ?? []) {
                    if let limit = reader.collect({ try Self.limit(entry.value) }) { config.limits[entry.key] = limit }
                }
            }
            if let mocks = m["mocks"] {
                for entry in try mocks.entries("a mapping from role.operation to answer") {
                    guard entry.key.split(separator: ".").count == 2 else {
                        reader.fail(entry.keyNode.error("mock target \"\(entry.key)\" must be role.operation", fix: "write e.g. dmm.measure_dc_voltage"))
                        continue
                    }
                    config.mocks[entry.key] = try ConfigValue(entry.value)
                }
            }
            if let r = m["retry"] {
                let rm = try r.mapping("a retry mapping", allowed: ["max_retries", "delay", "on"])
                var on: Set<Outcome> = [.failed, .errored]
                if let list = rm["on"] {
                    on = []
                    for item in try list.listOrSingle() {
                        let text = try item.string("an outcome")
                        guard let o = Outcome(rawValue: text) else {
                            throw item.error("\"\(text)\" is not an outcome", fix: "use failed, errored or terminated")
                        }
                        on.insert(o)
                    }
                }
                let maxRetries = try rm["max_retries"]?.int() ?? 0
                let delay = try rm["delay"]?.double() ?? 0
                do {
                    config.retry = try RetryConfig(maxRetries: maxRetries, delay: delay, retryOn: on)
                } catch let e as RetryConfigError {
                    throw r.error(e.message)
                }
            }
            return config
        }
    }

    /// A limit mapping: low, high, nominal, unit, comparator, tolerance.
    static func limit(_ node: ConfigNode) throws(ConfigError) -> Limit {
        let m = try node.mapping("a limit mapping (low, high, nominal, unit, comparator, tolerance)", allowed: ["low", "high", "nominal", "unit", "comparator", "tolerance"])
        var comparator = Comparator.GELE
        if let c = m["comparator"] {
            let text = try c.string("a comparator")
            guard let parsed = Comparator(rawValue: text.uppercased()) else {
                throw c.error("\"\(text)\" is not a comparator", fix: "use one of \(Comparator.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            comparator = parsed
        }
        do {
            return try Limit(
                low: try m["low"]?.double(), high: try m["high"]?.double(), nominal: try m["nominal"]?.double(), comparator: comparator,
                unit: try m["unit"]?.text("a unit"), tolerance: try m["tolerance"]?.double())
        } catch let e as LimitError {
            throw node.error(e.message)
        } catch let e as ConfigError {
            throw e
        } catch {
            throw node.error("\(error)")
        }
    }

    /// `vectors:` as a mapping (product, zip, nested) or a list (explicit vectors).
    static func vectors(_ node: ConfigNode) throws(ConfigError) -> [Vector] {
        if node.isSequence {
            var rows: [[VectorParam]] = []
            var limits: [[String: Limit]] = []
            var mocks: [[String: ConfigValue]] = []
            for item in try node.list() {
                var row: [VectorParam] = []
                var rowLimits: [String: Limit] = [:]
                var rowMocks: [String: ConfigValue] = [:]
                for entry in try item.entries("a vector: a mapping of parameters") {
                    switch entry.key {
                    case "_limits":
                        for l in try entry.value.entries("a mapping from measurement name to limit") { rowLimits[l.key] = try limit(l.value) }
                    case "_mocks":
                        for mk in try entry.value.entries("a mapping from role.operation to answer") { rowMocks[mk.key] = try ConfigValue(mk.value) }
                    default:
                        guard !entry.key.hasPrefix("_") else {
                            throw entry.keyNode.error("unknown vector key \"\(entry.key)\"", fix: "keys starting with _ are _limits and _mocks")
                        }
                        guard entry.value.isScalar else {
                            throw entry.value.error("an explicit vector's value must be one value, found \(entry.value.found)", fix: "use a mapping of axes (a product) to sweep lists")
                        }
                        row.append(VectorParam(entry.key, try value(entry.value)))
                    }
                }
                rows.append(row)
                limits.append(rowLimits)
                mocks.append(rowMocks)
            }
            do { return try Vectors.list(rows, limits: limits, mocks: mocks) } catch { throw node.error(error.message) }
        }
        var axes: [Axis] = []
        var mode = "product"
        var inner: [Vector]?
        for entry in try node.entries("a mapping of axes, or a list of vectors") {
            switch entry.key {
            case "expand":
                mode = try entry.value.string("product or zip")
                guard mode == "product" || mode == "zip" else {
                    throw entry.value.error("expand must be product or zip, found \"\(mode)\"")
                }
            case "vectors":
                inner = try vectors(entry.value)
            default:
                let values: [ParamValue]
                if entry.value.isScalar && !entry.value.isQuoted, let number = ConfigNode.number(try entry.value.text()) {
                    values = [.number(number)]
                } else if entry.value.isScalar, let text = try? entry.value.text(), text.contains(":"),
                    text.allSatisfy({ "0123456789.:-+, eE".contains($0) })
                {
                    // A range string: it must expand (a step away from the stop is an error).
                    values = try entry.value.numbers().map { .number($0) }
                } else if entry.value.isScalar {
                    values = [try value(entry.value)]
                } else {
                    values = try entry.value.list("an axis: a list, a range string or one value").map { (item) throws(ConfigError) -> ParamValue in
                        guard item.isScalar else { throw item.error("an axis value must be one value, found \(item.found)") }
                        return try value(item)
                    }
                }
                guard !values.isEmpty else { throw entry.value.error("axis \(entry.key) has no values: the test would run nothing") }
                axes.append(Axis(entry.key, values))
            }
        }
        do {
            var level: [Vector]
            if axes.isEmpty {
                level = Vectors.single
            } else {
                level = mode == "zip" ? try Vectors.zip(axes) : try Vectors.product(axes)
            }
            if let inner { level = try Vectors.nested(level, inner) }
            return level
        } catch {
            throw node.error(error.message)
        }
    }

    /// A scalar as a parameter: numbers unquoted, `true`/`false`, else text (never YAML 1.1's
    /// `on`/`off` booleans). One rule for every sweep value (an explicit vector's, a product's
    /// or a zip's axis, a one-value axis): null (`null`, `~` or nothing) is refused, never
    /// turned into the text "null".
    static func value(_ node: ConfigNode) throws(ConfigError) -> ParamValue {
        guard !node.isNull else {
            throw node.error(
                "a sweep value cannot be null",
                fix: "write the value; quote it (\"null\") if the text null is meant, or remove the parameter")
        }
        let text = try node.text()
        if !node.isQuoted {
            if let v = ConfigNode.number(text) { return .number(v) }
            if text == "true" { return .bool(true) }
            if text == "false" { return .bool(false) }
        }
        return .text(text)
    }
}
