import Foundation
import LitmusJSON

/// The scope a ``Context`` belongs to.
public enum ContextScope: String, Sendable {
    case run, step, vector
}

/// A value observed during a test: a scalar, text, a flag, or an array of samples (stored in
/// the channel store; the row gets its `channel://` URI).
public enum ObservedValue: Sendable, Equatable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByBooleanLiteral
{
    case number(Double)
    case text(String)
    case bool(Bool)
    case samples([Double])

    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// Stimulus and observations of one scope (run > step > vector). Reads walk up to the parent;
/// the most specific scope wins.
///
/// - ``configure(_:_:unit:)``: a stimulus parameter (an `in_<name>` column on the vector rows
///   of this scope and those below it).
/// - ``observe(_:_:unit:)``: an observation (an `out_<name>` column on this scope's rows);
///   arrays go to the channel store and the row holds their `channel://` URI.
/// - ``measure(_:_:unit:limit:pin:connection:)``: the owning harness's ``TestHarness/measure(_:_:unit:limit:pin:connection:dutPin:instrumentRole:instrumentChannel:fixtureConnection:)``.
public final class Context: @unchecked Sendable {
    public let scope: ContextScope
    public let parent: Context?
    weak var harness: TestHarness?
    /// The vector context run before this one (for ``changed(_:)`` and ``last(_:)``), under
    /// `lock`. Only one link is kept: when the next vector's context takes this one as its
    /// previous, this one's own link is dropped, so a sweep of 100k vectors does not keep a
    /// chain of every context alive (and release it recursively at the end).
    private var previousContext: Context?
    private var previous: Context? { lock.withLock { previousContext } }
    private let lock = NSLock()
    private var params: [(name: String, value: ParamValue, unit: String?)] = []
    private var observations: [(name: String, value: JSONValue, unit: String?)] = []
    /// Parameters configured after the scope's start event (they go out with its end event).
    private var late: [NamedValue] = []
    var started = false

    init(scope: ContextScope, parent: Context?, harness: TestHarness?, previous: Context? = nil) {
        self.scope = scope
        self.parent = parent
        self.harness = harness
        self.previousContext = previous
        previous?.lock.withLock { previous?.previousContext = nil }
    }

    // MARK: - Stimulus

    /// Sets a stimulus parameter of this scope.
    public func configure(_ name: String, _ value: ParamValue, unit: String? = nil) {
        lock.withLock {
            params.removeAll { $0.name == name }
            params.append((name, value, unit))
            if started && scope == .vector { late.append(NamedValue(name, value.json, unit: unit)) }
        }
    }

    /// ``configure(_:_:unit:)`` for each entry.
    public func setParams(_ values: [String: ParamValue]) {
        for (k, v) in values.sorted(by: { $0.key < $1.key }) { configure(k, v) }
    }

    /// The parameter `name`, from this scope or the nearest parent that has it.
    public func param(_ name: String) -> ParamValue? {
        if let own = lock.withLock({ params.first { $0.name == name }?.value }) { return own }
        return parent?.param(name)
    }

    /// Every parameter visible here, the most specific scope winning, in the order set.
    public var allParams: [(name: String, value: ParamValue, unit: String?)] {
        var out = parent?.allParams ?? []
        for p in lock.withLock({ params }) {
            out.removeAll { $0.name == p.name }
            out.append(p)
        }
        return out
    }

    func takeLateParams() -> [NamedValue] { lock.withLock { defer { late = [] }; return late } }

    // MARK: - Observations

    /// Records an observation of this scope. Arrays of samples go to the channel store.
    ///
    /// - Throws: when the event log or the channel store fails, or an array is observed with no
    ///   channel store (a run without a data directory).
    public func observe(_ name: String, _ value: ObservedValue, unit: String? = nil) throws {
        let json: JSONValue
        switch value {
        case .number(let v): json = .number(JSONNumber(v))
        case .text(let s): json = .string(s)
        case .bool(let b): json = .bool(b)
        case .samples(let samples):
            guard let harness, let store = harness.channelStore else {
                throw HarnessError("observe(\(name)): arrays go to the channel store, and this run has none (give the logger a data directory)")
            }
            let channel = try store.channel(name, type: .f64Array, unit: unit)
            json = .string(try channel.appendArray(samples).description)
        }
        try record(name, json, unit: unit, emit: true)
    }

    /// Sets observations as given, without routing arrays to the channel store.
    public func setObservations(_ values: [String: JSONValue]) throws {
        for (k, v) in values.sorted(by: { $0.key < $1.key }) { try record(k, v, unit: nil, emit: true) }
    }

    private func record(_ name: String, _ value: JSONValue, unit: String?, emit: Bool) throws {
        lock.withLock {
            observations.removeAll { $0.name == name }
            observations.append((name, value, unit))
        }
        if emit, let harness { try harness.emitObservation(NamedValue(name, value, unit: unit), scope: self) }
    }

    /// The observation `name`, from this scope or the nearest parent that has it.
    public func observation(_ name: String) -> JSONValue? {
        if let own = lock.withLock({ observations.first { $0.name == name }?.value }) { return own }
        return parent?.observation(name)
    }

    // MARK: - History

    /// Whether parameter `name` differs from the vector run before this one (true for the
    /// first). Under retry the previous context is the earlier attempt of the same vector.
    public func changed(_ name: String) -> Bool {
        guard let previous else { return true }
        return previous.param(name) != param(name)
    }

    /// The previous vector's parameter, else its observation, of `name`.
    public func last(_ name: String) -> JSONValue? {
        guard let previous else { return nil }
        if let p = previous.param(name) { return p.json }
        return previous.observation(name)
    }

    // MARK: - Measurements

    /// Records a measurement through the owning harness (same events as `harness.measure`).
    @discardableResult
    public func measure(
        _ name: String, _ value: Double?, unit: String? = nil, limit: Limit? = nil, pin: String? = nil, connection: String? = nil
    ) throws -> Outcome {
        guard let harness else { throw HarnessError("this context's harness is gone") }
        return try harness.measure(name, value, unit: unit, limit: limit, pin: pin, connection: connection)
    }
}

/// A harness misuse or an unusable configuration, with what to do about it.
public struct HarnessError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
