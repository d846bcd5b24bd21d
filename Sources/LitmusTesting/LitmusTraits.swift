import Foundation
import Litmus
import Synchronization
import Testing

// The Litmus traits that configure tests (the pytest plugin's markers). They hold data only;
// the station trait (``LitmusStationTrait``) reads them from the test's traits when the test
// runs. Each can be put on a suite (it then applies to every test in it) or on a test.
//
// Precedence, weakest first: traits of outer suites, of inner suites, of the test itself, then
// the sidecar file's `defaults`, then its entry for the test. Limits and mocks merge by name
// (the stronger level wins per name); retry is taken whole from the strongest level that sets
// it; prompts merge by key; characteristics and connections accumulate.

/// A limit written in a trait. Traits cannot `throw`, so an impossible limit (low above high)
/// is reported when the test starts, at the trait's source location.
public struct LitmusLimit: Sendable {
    let result: Result<Limit, LimitError>

    /// An existing ``Limit``.
    public init(_ limit: Limit) { result = .success(limit) }

    init(_ make: () throws(LimitError) -> Limit) {
        do { result = .success(try make()) } catch { result = .failure(error) }
    }

    /// `low <= value <= high`.
    public static func between(_ low: Double, _ high: Double, unit: String? = nil, nominal: Double? = nil) -> LitmusLimit {
        LitmusLimit { () throws(LimitError) in try Limit.between(low, high, unit: unit, nominal: nominal) }
    }

    /// `value <= high`.
    public static func atMost(_ high: Double, unit: String? = nil) -> LitmusLimit {
        LitmusLimit { () throws(LimitError) in try Limit.atMost(high, unit: unit) }
    }

    /// `value >= low`.
    public static func atLeast(_ low: Double, unit: String? = nil) -> LitmusLimit {
        LitmusLimit { () throws(LimitError) in try Limit.atLeast(low, unit: unit) }
    }

    /// `|value - nominal| <= tolerance` (nil: ``Limit``'s default tolerance; 0: exact).
    public static func equal(to nominal: Double, tolerance: Double? = nil, unit: String? = nil) -> LitmusLimit {
        LitmusLimit { () throws(LimitError) in try Limit.equal(to: nominal, tolerance: tolerance, unit: unit) }
    }
}

/// A mock answer written in a trait: a constant (`0.5`, `"OK"`, `true`), or one of the mock
/// driver's behaviours. Checked against the operation's result type when the test starts.
public struct LitmusMock: Sendable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral
{
    let value: Result<ConfigValue, LitmusTestingError>

    init(_ value: ConfigValue) { self.value = .success(value) }

    public init(floatLiteral value: Double) { self.init(.scalar(RangeExpander.format(value), quoted: false)) }
    public init(integerLiteral value: Int) { self.init(.scalar(String(value), quoted: false)) }
    public init(stringLiteral value: String) { self.init(.scalar(value, quoted: true)) }
    public init(booleanLiteral value: Bool) { self.init(.scalar(value ? "true" : "false", quoted: false)) }

    /// Answers in turn; then `repeat`s the last, `cycle`s, or fails (`error`).
    public static func sequence(_ values: [Double], then: String = "repeat") -> LitmusMock {
        LitmusMock(
            .map([
                ConfigEntry(key: "sequence", value: .list(values.map { .scalar(RangeExpander.format($0), quoted: false) })),
                ConfigEntry(key: "then", value: .scalar(then, quoted: false)),
            ]))
    }

    /// Gaussian noise around `nominal` (seeded: the same run gives the same readings).
    public static func noise(nominal: Double, sigma: Double, seed: Int = 1) -> LitmusMock {
        LitmusMock(
            .map([
                ConfigEntry(key: "nominal", value: .scalar(RangeExpander.format(nominal), quoted: false)),
                ConfigEntry(key: "sigma", value: .scalar(RangeExpander.format(sigma), quoted: false)),
                ConfigEntry(key: "seed", value: .scalar(String(seed), quoted: false)),
            ]))
    }

    /// An injected driver error (a fault: a timeout is status -2 in the driver ABI).
    public static func error(status: Int, message: String) -> LitmusMock {
        LitmusMock(
            .map([
                ConfigEntry(
                    key: "error",
                    value: .map([
                        ConfigEntry(key: "status", value: .scalar(String(status), quoted: false)),
                        ConfigEntry(key: "message", value: .scalar(message, quoted: true)),
                    ]))
            ]))
    }

    /// Any behaviour in the `mock_config` YAML grammar, e.g. `"{lookup: {'1': 3.3}, default: 0}"`.
    public static func yaml(_ text: String) -> LitmusMock {
        let reader = ConfigReader()
        do {
            return LitmusMock(try ConfigValue(try reader.parse(text, file: "<litmusMocks>")))
        } catch {
            return LitmusMock(failure: LitmusTestingError("mock behaviour \(text) is not YAML: \(error)"))
        }
    }

    private init(failure: LitmusTestingError) { value = .failure(failure) }
}

/// A named operator prompt for ``Litmus/prompt(_:sourceLocation:)``.
public struct LitmusPrompt: Sendable {
    public var message: String
    public var kind: PromptKind
    public var choices: [String]
    public var timeout: Double?
    /// A picture shown with the question on the web screen: a path relative to the station
    /// file's folder.
    public var image: String?

    public init(_ message: String, kind: PromptKind = .confirm, choices: [String] = [], timeout: Double? = nil, image: String? = nil) {
        self.message = message
        self.kind = kind
        self.choices = choices
        self.timeout = timeout
        self.image = image
    }

    /// A yes/no question.
    public static func confirm(_ message: String, timeout: Double? = nil, image: String? = nil) -> LitmusPrompt {
        LitmusPrompt(message, timeout: timeout, image: image)
    }
    /// One of `choices`.
    public static func choice(_ message: String, _ choices: [String], timeout: Double? = nil) -> LitmusPrompt {
        LitmusPrompt(message, kind: .choice, choices: choices, timeout: timeout)
    }
    /// Free text.
    public static func input(_ message: String, timeout: Double? = nil) -> LitmusPrompt { LitmusPrompt(message, kind: .input, timeout: timeout) }
}

/// What one Litmus configuration trait sets. One type for every kind keeps the precedence rule
/// in one place (``LitmusTestConfiguration``).
public struct LitmusConfigTrait: SuiteTrait, TestTrait {
    enum Content: Sendable {
        case limits([String: LitmusLimit])
        case retry(max: Int, delay: Double, on: Set<Outcome>)
        case mocks([String: LitmusMock])
        case prompts([String: LitmusPrompt])
        case characteristics([String])
        case connections([String])
        case sidecar(path: String)
    }

    let content: Content
    /// Where the trait was written (problems with it are reported there).
    let sourceLocation: SourceLocation

    /// Suite traits apply to every test in the suite.
    public var isRecursive: Bool { true }
}

extension Trait where Self == LitmusConfigTrait {
    /// Limits by measurement name for ``Litmus/verify(_:_:unit:limit:pin:connection:sourceLocation:)``.
    ///
    /// ```swift
    /// @Test(.litmusLimits(["vout": .between(3.2, 3.4, unit: "V"), "iq": .atMost(0.005, unit: "A")]))
    /// ```
    public static func litmusLimits(_ limits: [String: LitmusLimit], sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        LitmusConfigTrait(content: .limits(limits), sourceLocation: sourceLocation)
    }

    /// Runs a failed attempt again, up to `max` more times, waiting `delay` seconds between
    /// attempts. Each attempt is a new vector attempt (`vector_retry` + 1) in the test's step;
    /// the final attempt decides. Only Litmus verdicts and thrown errors are retried: an
    /// `#expect` that fails is reported as it happens.
    public static func litmusRetry(
        max: Int, delay: Double = 0, on: Set<Outcome> = [.failed, .errored], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Self {
        LitmusConfigTrait(content: .retry(max: max, delay: delay, on: on), sourceLocation: sourceLocation)
    }

    /// Mocked answers, `role.operation -> answer`, patched on mocked roles for each attempt and
    /// recorded in the run (`mock.patch_applied`). A real instrument is never patched.
    ///
    /// ```swift
    /// @Test(.litmusMocks(["dmm.measure_dc_voltage": .error(status: -2, message: "timeout")]))
    /// ```
    public static func litmusMocks(_ mocks: [String: LitmusMock], sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        LitmusConfigTrait(content: .mocks(mocks), sourceLocation: sourceLocation)
    }

    /// Named operator prompts for ``Litmus/prompt(_:sourceLocation:)``.
    public static func litmusPrompts(_ prompts: [String: LitmusPrompt], sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        LitmusConfigTrait(content: .prompts(prompts), sourceLocation: sourceLocation)
    }

    /// Binds the test to characteristics of the part: each must exist (checked when the test
    /// starts) and ``Litmus/connections`` lists the fixture connections of their pins.
    public static func litmusCharacteristics(_ ids: [String], sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        LitmusConfigTrait(content: .characteristics(ids), sourceLocation: sourceLocation)
    }

    /// Binds the test to fixture connections by name (checked when the test starts); see
    /// ``Litmus/connections``.
    public static func litmusConnections(_ names: [String], sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        LitmusConfigTrait(content: .connections(names), sourceLocation: sourceLocation)
    }

    /// Limits, mocks and retry from a YAML file, so they change without recompiling: `path`
    /// is relative to the directory of the file that declares the trait (default:
    /// `<that file's name>.litmus.yaml`). Its `tests.<function name>` entry applies to that
    /// test, its `defaults` to every test carrying the trait; both beat traits written in code.
    /// Sweeps of the file reach a test as arguments: ``Sweep/sidecar(_:test:filePath:)``.
    ///
    /// ```yaml
    /// defaults: {retry: {max_retries: 1}}
    /// tests:
    ///   quiescentCurrent: {limits: {iq: {high: 0.005, unit: A}}}
    /// ```
    public static func litmusSidecar(_ path: String? = nil, filePath: String = #filePath, sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        LitmusConfigTrait(content: .sidecar(path: LitmusSidecarFile.resolve(path, filePath: filePath)), sourceLocation: sourceLocation)
    }
}

/// Sidecar files, read once per process.
enum LitmusSidecarFile {
    private static let cache = Mutex<[String: Result<HarnessConfig.Sidecar, LitmusTestingError>]>([:])

    /// `path` against the declaring file's directory; nil: `<file>.litmus.yaml` beside it.
    static func resolve(_ path: String?, filePath: String) -> String {
        let directory = (filePath as NSString).deletingLastPathComponent
        guard let path else {
            let base = ((filePath as NSString).lastPathComponent as NSString).deletingPathExtension
            return (directory as NSString).appendingPathComponent(base + ".litmus.yaml")
        }
        return path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
    }

    static func load(_ path: String) -> Result<HarnessConfig.Sidecar, LitmusTestingError> {
        if let cached = cache.withLock({ $0[path] }) { return cached }
        let result: Result<HarnessConfig.Sidecar, LitmusTestingError>
        if !FileManager.default.fileExists(atPath: path) {
            result = .failure(LitmusTestingError("sidecar file \(path) does not exist: create it, or give litmusSidecar(_:) the right path"))
        } else {
            do {
                result = .success(try HarnessConfig.loadSidecar(path: path))
            } catch {
                result = .failure(LitmusTestingError("sidecar file \(path) is not valid:\n\(error)"))
            }
        }
        cache.withLock { $0[path] = result }
        return result
    }
}
