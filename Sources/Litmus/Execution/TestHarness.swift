import Foundation
import LitmusJSON

/// The imperative test harness: vectors, retries, limits, measurements with traceability,
/// steps, prompts and the hierarchical context, written to the run's event log.
///
/// ```swift
/// let logger = try TestRunLogger(RunIdentity(dutSerial: "SN1", stationID: "bench_mock", testPhase: "validation"))
/// let harness = try TestHarness(
///     vectors: try Vectors.product([Axis("vin", range: "5:12:3.5")]),
///     logger: logger, stepName: "rails", retry: try RetryConfig(maxRetries: 1),
///     product: try ProductContext.fromFile("stations/parts/buck_3v3.yaml", guardbandPct: 10),
///     station: bench)
/// let step = harness.runAll { v in
///     try psu.call("set_voltage", .f64(v.double("vin")!))
///     try harness.measure("vout", try dmm.call("measure_dc_voltage").doubleValue)
/// }
/// try logger.finalize()
/// try logger.close()
/// ```
///
/// Limit resolution, for each measurement: the explicit `limit:`, else the vector's own
/// limits, else the test-level limits (the constructor's `limits`, which replace the
/// config's), else the product spec with the vector's parameters as band conditions, else none
/// (`done`, recorded unchecked). A characteristic whose bands match no condition is `errored`,
/// never unchecked.
public final class TestHarness: @unchecked Sendable {
    /// The expanded vectors.
    public let vectors: [Vector]
    public let logger: TestRunLogger?
    /// The default step name of ``runAll(stepName:_:)``.
    public let stepName: String
    public let retryConfig: RetryConfig
    /// Test-level limits by measurement name.
    public let limits: [String: Limit]
    public let product: ProductContext?
    /// The open bench: instruments for mocks, configuration for traceability.
    public let station: OpenStation?
    /// Mocks for every vector without its own: `role.operation` -> answer.
    public let mocks: [String: ConfigValue]
    /// Patch real (non-mock) instruments too (fault injection); off by default.
    public let allowFaultInjection: Bool
    /// The fixture site this harness tests (multi-site fixtures).
    public let site: Int
    public var promptHandler: (any PromptHandler)?
    public var channelStore: ChannelStore? { logger?.channelStore }

    /// The run-level context.
    public let runContext: Context
    private let lock = NSLock()
    private var steps: [StepState] = []
    /// Step indexes when there is no logger (the logger numbers a run's steps otherwise).
    private var stepCounter: Int64 = 0
    private var vector: VectorState?
    private var lastVectorContext: Context?
    private var attempts: [String: Int64] = [:]
    private var autoSteps: [String: StepState] = [:]
    /// Traceability problems already recorded, as "name\0problem".
    private var warnedTrace: Set<String> = []

    /// - Parameters:
    ///   - config: vectors, limits, mocks and retry from a file (``HarnessConfig``).
    ///   - vectors: the sweep; overrides the config's; default one empty vector.
    ///   - limits: test-level limits; when given they replace the config's entirely.
    ///   - retry: overrides the config's.
    public init(
        config: HarnessConfig = HarnessConfig(), vectors: [Vector]? = nil, logger: TestRunLogger? = nil, stepName: String = "test",
        retry: RetryConfig? = nil, limits: [String: Limit]? = nil, product: ProductContext? = nil, station: OpenStation? = nil,
        mocks: [String: ConfigValue]? = nil, allowFaultInjection: Bool = false, site: Int = 0, promptHandler: (any PromptHandler)? = nil
    ) throws {
        self.vectors = vectors ?? config.vectors ?? Vectors.single
        guard !self.vectors.isEmpty else { throw HarnessError("the harness has no vectors: the test would run nothing") }
        self.logger = logger
        self.stepName = stepName
        self.retryConfig = retry ?? config.retry ?? .none
        self.limits = limits ?? config.limits
        self.product = product
        self.station = station
        self.mocks = mocks ?? config.mocks
        self.allowFaultInjection = allowFaultInjection
        self.site = site
        self.promptHandler = promptHandler
        self.runContext = Context(scope: .run, parent: nil, harness: nil)
        runContext.harness = self
        runContext.started = true
        if let station, let logger { try logger.recordInventory(of: station) }
    }

    // MARK: - State

    final class StepState {
        let name: String
        let index: Int64
        let path: String
        let retry: Int64
        let context: Context
        var outcome: Outcome = .done
        /// Final outcome per vector index (the last attempt's).
        var vectorOutcomes: [Int: Outcome] = [:]
        var results: [VectorResult] = []
        var error: String?
        init(name: String, index: Int64, path: String, retry: Int64, context: Context) {
            self.name = name
            self.index = index
            self.path = path
            self.retry = retry
            self.context = context
        }
        /// Step-scope outcome, then each vector's final attempt.
        var finalOutcome: Outcome { vectorOutcomes.values.reduce(outcome) { max($0, $1) } }
    }

    /// One attempt of a vector. A class: the measurement path reads it under the lock without
    /// copying the vector's parameters.
    final class VectorState {
        let vector: Vector
        let index: Int64
        let retry: Int64
        let step: StepState
        let context: Context
        var outcome: Outcome = .done
        init(vector: Vector, retry: Int64, step: StepState, context: Context) {
            self.vector = vector
            self.index = Int64(vector.index)
            self.retry = retry
            self.step = step
            self.context = context
        }
    }

    /// The vector inside ``runVector(_:_:)``, or nil.
    public var currentVector: Vector? { lock.withLock { vector?.vector } }

    /// The most specific context: the vector's, the step's, or the run's.
    public var context: Context {
        lock.withLock { vector?.context ?? steps.last?.context ?? runContext }
    }

    // MARK: - Steps

    /// Runs `body` as a named step (steps nest: `power/rails`). The step's outcome is its
    /// step-scope measurements and each vector's final attempt; an error thrown out of the body
    /// makes it `errored` and is rethrown.
    @discardableResult
    public func step<T>(_ name: String, description: String? = nil, _ body: () throws -> T) throws -> T {
        let state = try openStep(name, description: description)
        do {
            let value = try body()
            try closeStep(state, error: nil)
            return value
        } catch {
            state.outcome = max(state.outcome, .errored)
            try closeStep(state, error: "\(error)")
            throw error
        }
    }

    private func openStep(
        _ name: String, description: String?, parentPath: String? = nil, code: CodeLocation? = nil, role: String? = nil
    ) throws -> StepState {
        let state = lock.withLock { () -> StepState in
            let parent = steps.last
            let prefix = parent?.path ?? parentPath
            let path = prefix.map { "\($0)/\(name)" } ?? name
            let retry = attempts["step:" + path, default: -1] + 1
            attempts["step:" + path] = retry
            let index: Int64
            if let logger {
                index = logger.nextStepIndex()
            } else {
                index = stepCounter
                stepCounter += 1
            }
            let s = StepState(
                name: name, index: index, path: path, retry: retry,
                context: Context(scope: .step, parent: parent?.context ?? runContext, harness: self))
            s.context.started = true
            steps.append(s)
            return s
        }
        try logger?.emit(
            .stepStarted(
                StepStarted(
                    name: name, index: state.index, path: state.path, description: description, retry: state.retry, code: code,
                    role: role)))
        return state
    }

    private func closeStep(_ state: StepState, error: String?) throws {
        lock.withLock { steps.removeAll { $0 === state } }
        state.error = error ?? state.error
        let outcome = state.finalOutcome
        try logger?.emit(
            .stepEnded(StepEnded(name: state.name, index: state.index, path: state.path, retry: state.retry, outcome: outcome, error: state.error)))
        logger?.recordStep(path: state.path, outcome: outcome)
        if let parent = lock.withLock({ steps.last }) { parent.outcome = max(parent.outcome, outcome) }
    }

    // MARK: - Vectors

    /// Runs `body` for one attempt of `vector`: parameters become the vector's `in_*` columns,
    /// measurements inside it belong to it, its mocks are patched for its duration. An error
    /// thrown out of the body makes the vector `errored` (recorded) and is rethrown.
    @discardableResult
    public func runVector<T>(_ vector: Vector, _ body: (Vector) throws -> T) throws -> T {
        let attempt = try runAttempt(vector, body)
        if let failure = attempt.failure { throw failure }
        return attempt.value!
    }

    /// One attempt of `vector` in the open step (or a step of its own, named ``stepName``).
    /// The body's error is returned with the outcome; only the event log's errors are thrown.
    private func runAttempt<T>(_ vector: Vector, _ body: (Vector) throws -> T) throws -> Attempt<T> {
        if let open = lock.withLock({ steps.last }) { return try runAttempt(in: open, vector, body) }
        let step = try openStep(stepName, description: nil)
        defer { try? closeStep(step, error: nil) }
        return try runAttempt(in: step, vector, body)
    }

    /// What one attempt gave: the body's value or error, and the attempt's outcome.
    private struct Attempt<T> {
        var value: T?
        var failure: (any Error)?
        var outcome: Outcome
    }

    private func runAttempt<T>(in step: StepState, _ vector: Vector, _ body: (Vector) throws -> T) throws -> Attempt<T> {
        let open = try beginAttempt(in: step, vector)
        var failure: (any Error)?
        var value: T?
        do {
            try open.mockFailure.map { throw $0 }
            value = try body(vector)
        } catch {
            failure = error
        }
        let outcome = try endAttempt(open, error: failure)
        return Attempt(value: value, failure: failure, outcome: outcome)
    }

    /// The vector attempt between ``beginAttempt(in:_:)`` and ``endAttempt(_:error:)``.
    struct OpenAttempt {
        let state: VectorState
        let patches: [(MockControl, MockControl.Patch)]
        /// Patching the mocks failed: the attempt is errored without running its body.
        let mockFailure: (any Error)?
    }

    /// Starts an attempt of `vector` in `step`: its context, `vector.started`, its mocks.
    private func beginAttempt(in step: StepState, _ vector: Vector) throws -> OpenAttempt {
        let state = lock.withLock { () -> VectorState in
            let key = "vector:\(step.path)#\(vector.index)"
            let retry = attempts[key, default: -1] + 1
            attempts[key] = retry
            let context = Context(scope: .vector, parent: step.context, harness: self, previous: lastVectorContext)
            for p in vector.params { context.configure(p.name, p.value) }
            let s = VectorState(vector: vector, retry: retry, step: step, context: context)
            self.vector = s
            return s
        }
        let params = state.context.allParams.map { NamedValue($0.name, $0.value.json, unit: $0.unit) }
        state.context.started = true
        try logger?.emit(
            .vectorStarted(VectorStarted(stepIndex: step.index, stepPath: step.path, index: Int64(vector.index), retry: state.retry, params: params)))
        do {
            return OpenAttempt(state: state, patches: try applyMocks(vector), mockFailure: nil)
        } catch {
            return OpenAttempt(state: state, patches: [], mockFailure: error)
        }
    }

    /// Ends an attempt: undoes its mocks, settles its outcome (`errored` with an error) and
    /// emits `vector.ended` with the parameters configured during it.
    private func endAttempt(_ open: OpenAttempt, error failure: (any Error)?) throws -> Outcome {
        let state = open.state
        let step = state.step
        for (control, patch) in open.patches { try? control.unpatch(patch) }
        let outcome = lock.withLock { () -> Outcome in
            if failure != nil { state.outcome = max(state.outcome, .errored) }
            step.vectorOutcomes[state.vector.index] = state.outcome
            self.vector = nil
            lastVectorContext = state.context
            return state.outcome
        }
        try logger?.emit(
            .vectorEnded(
                VectorEnded(
                    stepIndex: step.index, stepPath: step.path, index: Int64(state.vector.index), retry: state.retry, outcome: outcome,
                    error: failure.map { "\($0)" }, params: state.context.takeLateParams())))
        return outcome
    }

    /// Runs `body` for `vector`, again while the outcome is one the retry config retries
    /// (failed or errored by default) and attempts remain, sleeping the delay between attempts.
    /// The final attempt decides; its error, if any, is in the result (not thrown).
    @discardableResult
    public func runWithRetry(_ vector: Vector, _ body: (Vector) throws -> Void) -> VectorResult {
        var attempt = 0
        while true {
            var error: (any Error)?
            var outcome = Outcome.errored
            do {
                let attempt = try runAttempt(vector, body)
                error = attempt.failure
                outcome = attempt.outcome
            } catch let e {
                error = e
            }
            let result = VectorResult(vector: vector, attempts: attempt + 1, outcome: outcome, error: error.map { "\($0)" })
            let retryable = retryConfig.retryOn.contains(outcome) && (error.map { retryConfig.retryIf?($0) ?? true } ?? true)
            guard retryable, attempt < retryConfig.maxRetries else {
                if let step = lock.withLock({ steps.last }) { step.results.append(result) }
                return result
            }
            attempt += 1
            if retryConfig.delay > 0 { Thread.sleep(forTimeInterval: retryConfig.delay) }
        }
    }

    /// Opens a step (default ``stepName``) and runs every vector through
    /// ``runWithRetry(_:_:)``. Errors of single vectors are in the results; the step's outcome
    /// comes from each vector's final attempt.
    @discardableResult
    public func runAll(stepName: String? = nil, description: String? = nil, _ body: (Vector) throws -> Void) throws -> StepResult {
        let state = try openStep(stepName ?? self.stepName, description: description)
        for v in vectors { runWithRetry(v, body) }
        try closeStep(state, error: nil)
        return StepResult(name: state.name, path: state.path, outcome: state.finalOutcome, vectors: state.results)
    }

    /// Like ``runAll(stepName:description:_:)`` for a body that returns one reading per
    /// vector, recorded under `measurement` (default: the only test-level limit's name, else
    /// the step name).
    @discardableResult
    public func runAll(stepName: String? = nil, measurement: String? = nil, unit: String? = nil, reading body: @escaping (Vector) throws -> Double?) throws -> StepResult {
        let name = measurement ?? (limits.count == 1 ? limits.keys.first! : (stepName ?? self.stepName))
        return try runAll(stepName: stepName) { v in
            try self.measure(name, try body(v), unit: unit)
        }
    }

    // MARK: - Measurements

    /// Records one measurement, judged against its resolved limit, with traceability.
    ///
    /// Traceability: explicit `dutPin`/`instrumentRole`/`instrumentChannel`/`fixtureConnection`
    /// win; else `connection:` (a fixture connection name), else `pin:` (a part pin key,
    /// default: the characteristic's first pin, else its `net:`) is traced through the
    /// station's fixture. What cannot be traced to one connection is recorded as a
    /// `traceability` diagnostic of the run (once per measurement name and problem).
    ///
    /// - Returns: the outcome (`passed`, `failed`, `errored` for no value or an unusable spec
    ///   limit, `done` when no limit applies).
    @discardableResult
    public func measure(
        _ name: String, _ value: Double?, unit: String? = nil, limit: Limit? = nil, pin: String? = nil, connection: String? = nil,
        dutPin: String? = nil, instrumentRole: String? = nil, instrumentChannel: String? = nil, fixtureConnection: String? = nil
    ) throws -> Outcome {
        try measurement(
            name, value, unit: unit, limit: limit, pin: pin, connection: connection, dutPin: dutPin, instrumentRole: instrumentRole,
            instrumentChannel: instrumentChannel, fixtureConnection: fixtureConnection
        ).outcome
    }

    /// ``measure(_:_:unit:limit:pin:connection:dutPin:instrumentRole:instrumentChannel:fixtureConnection:)``,
    /// returning the recorded event (limit, traceability). With `judge: false` the resolved
    /// limit is recorded but not applied: the outcome is `done` (`errored` without a value).
    package func measurement(
        _ name: String, _ value: Double?, unit: String? = nil, limit: Limit? = nil, pin: String? = nil, connection: String? = nil,
        dutPin: String? = nil, instrumentRole: String? = nil, instrumentChannel: String? = nil, fixtureConnection: String? = nil,
        judge: Bool = true
    ) throws -> Measurement {
        let (vectorState, openStep) = lock.withLock { (vector, steps.last) }
        var specError: String?
        var resolved: Limit?
        if let limit {
            resolved = limit
        } else if let l = vectorState?.vector.limits[name] {
            resolved = l
        } else if let l = limits[name] {
            resolved = l
        } else if let product {
            let conditions = Dictionary(
                (vectorState?.context.allParams ?? openStep?.context.allParams ?? runContext.allParams).map { ($0.name, $0.value) },
                uniquingKeysWith: { _, b in b })
            do {
                resolved = try product.limit(for: name, conditions: conditions)
            } catch {
                specError = error.message
            }
        }
        var outcome = specError != nil ? Outcome.errored : (resolved?.judge(value) ?? (value == nil ? .errored : .done))
        if value == nil { outcome = .errored } else if !judge && specError == nil { outcome = .done }

        // Traceability from configuration. What cannot be traced is recorded as a diagnostic
        // (once per measurement name and problem), never dropped silently.
        var trace: TraceLocation?
        var traceProblems: [String] = []
        if let config = station?.configuration {
            let characteristic = product?.part.characteristic(name)
            do {
                if let connection {
                    trace = try config.trace(connection: connection, site: site)
                } else if let p = pin {
                    trace = try config.trace(pin: p, function: characteristic?.function, site: site)
                } else if let characteristic {
                    trace = try config.trace(characteristic, site: site)
                }
            } catch {
                if instrumentRole == nil { traceProblems.append(error.message) }
            }
            if dutPin == nil { traceProblems += trace?.notes ?? [] }
        }
        let step = openStep ?? autoStep(name)
        let m = Measurement(
            stepIndex: step.index, stepPath: step.path, vectorIndex: vectorState?.index,
            retry: vectorState?.retry ?? step.retry, name: name, value: value, unit: unit ?? resolved?.unit, outcome: outcome,
            limitLow: resolved?.low, limitHigh: resolved?.high, limitNominal: resolved?.nominal,
            limitTolerance: resolved.flatMap { $0.comparator == .EQ || $0.comparator == .NE ? $0.tolerance : nil },
            comparator: resolved?.comparator, characteristicID: resolved?.characteristicID ?? (specError != nil ? name : nil), specRef: resolved?.specRef,
            dutPin: dutPin ?? trace?.dutPin ?? pin ?? (station != nil ? product?.pin(for: name) : nil), fixtureConnection: fixtureConnection ?? trace?.connection,
            instrumentRole: instrumentRole ?? trace?.role, instrumentResource: trace?.resource,
            instrumentChannel: instrumentChannel ?? trace?.channel)
        if let specError {
            try logger?.emit(.diagnostic(Diagnostic(level: .error, source: "limits", message: "measurement \(name): \(specError)")))
        }
        for problem in traceProblems where lock.withLock({ warnedTrace.insert("\(name)\u{0}\(problem)").inserted }) {
            try logger?.emit(
                .diagnostic(Diagnostic(level: .warning, source: "traceability", message: "measurement \(name): \(problem)")))
        }
        try logger?.emit(.measurement(m))
        lock.withLock {
            if let v = vector {
                v.outcome = max(v.outcome, outcome)
            } else {
                step.outcome = max(step.outcome, outcome)
            }
        }
        if openStep == nil { try closeAutoStep(name) }
        return m
    }

    /// A measurement outside any step gets a step of its own, named after it.
    private func autoStep(_ name: String) -> StepState {
        let s = (try? openStep(name, description: nil)) ?? StepState(name: name, index: -1, path: name, retry: 0, context: runContext)
        lock.withLock { autoSteps[name] = s }
        return s
    }

    private func closeAutoStep(_ name: String) throws {
        guard let s = lock.withLock({ autoSteps.removeValue(forKey: name) }) else { return }
        try closeStep(s, error: nil)
    }

    // MARK: - Hooks for test-runner integrations

    /// A step opened by ``beginStep(_:description:parentPath:code:)``.
    package struct OpenStep {
        fileprivate let state: StepState
        /// The step's path (`parent/name`).
        package var path: String { state.path }
    }

    /// Opens a step that outlives a closure (a test runner's test): `parentPath` prefixes
    /// its path when no step is open; `code` is the test's source location; `role` (setup,
    /// main, teardown) is recorded as the step's `step_role`.
    package func beginStep(
        _ name: String, description: String? = nil, parentPath: String? = nil, code: CodeLocation? = nil, role: String? = nil
    ) throws -> OpenStep {
        OpenStep(state: try openStep(name, description: description, parentPath: parentPath, code: code, role: role))
    }

    /// Closes a step from ``beginStep(_:description:parentPath:code:role:)``; an error makes it
    /// `errored`; `outcome` raises its outcome (`skipped` for a step whose body did not run).
    @discardableResult
    package func endStep(_ step: OpenStep, error: String? = nil, outcome: Outcome? = nil) throws -> Outcome {
        if let outcome { step.state.outcome = max(step.state.outcome, outcome) }
        if error != nil && outcome == nil { step.state.outcome = max(step.state.outcome, .errored) }
        try closeStep(step.state, error: error)
        return step.state.finalOutcome
    }

    /// An attempt opened by ``beginAttempt(_:in:)``.
    package struct OpenVectorAttempt {
        fileprivate let attempt: OpenAttempt
        /// The attempt number (0 for the first).
        package var retry: Int64 { attempt.state.retry }
        /// The error of patching the attempt's mocks, if that failed.
        package var mockFailure: (any Error)? { attempt.mockFailure }
    }

    /// Starts an attempt of `vector` in `step` (its mocks patched until ``endAttempt(_:error:)``).
    package func beginAttempt(_ vector: Vector, in step: OpenStep) throws -> OpenVectorAttempt {
        OpenVectorAttempt(attempt: try beginAttempt(in: step.state, vector))
    }

    /// Ends an attempt; an error makes it `errored`. Returns the attempt's outcome.
    @discardableResult
    package func endAttempt(_ attempt: OpenVectorAttempt, error: (any Error)? = nil) throws -> Outcome {
        try endAttempt(attempt.attempt, error: error)
    }

    // MARK: - Records, observations, prompts

    /// Records a diagnostic value (firmware version, a register dump) at the current scope.
    public func record(_ key: String, _ value: JSONValue) throws {
        let (v, s) = lock.withLock { (vector, steps.last) }
        try logger?.emit(.record(Record(stepIndex: s?.index, vectorIndex: v.map { Int64($0.vector.index) }, key: key, value: value)))
    }

    func emitObservation(_ value: NamedValue, scope context: Context) throws {
        let (v, s) = lock.withLock { (vector, steps.last) }
        var stepIndex: Int64?
        var stepPath: String?
        var vectorIndex: Int64?
        var retry: Int64 = 0
        switch context.scope {
        case .run: break
        case .step:
            stepIndex = s?.index
            stepPath = s?.path
            retry = s?.retry ?? 0
        case .vector:
            stepIndex = v?.step.index
            stepPath = v?.step.path
            vectorIndex = v.map { Int64($0.vector.index) }
            retry = v?.retry ?? 0
        }
        try logger?.emit(.observation(Observation(stepIndex: stepIndex, stepPath: stepPath, vectorIndex: vectorIndex, retry: retry, value)))
    }

    /// Asks the operator (or the configured handler) and records the prompt and the answer.
    /// The message is used as given: braces are text, never a format. `image` is a picture
    /// for a face that can show one (the web screen of `litmus serve`): a path relative to
    /// the station file's folder.
    ///
    /// - Throws: ``PromptError`` when no handler can answer (not a terminal and no
    ///   `LITMUS_PROMPT=auto`), or the handler fails.
    @discardableResult
    public func prompt(
        _ message: String, kind: PromptKind = .confirm, choices: [String] = [], timeout: Double? = nil, image: String? = nil
    ) throws -> PromptAnswer {
        if kind == .choice && choices.isEmpty { throw PromptError("a choice prompt needs choices") }
        guard let handler = Prompt.handler(promptHandler) else {
            throw PromptError("no way to ask \"\(message)\": standard input is not a terminal; set LITMUS_PROMPT=auto or give the harness a prompt handler")
        }
        let id = UUID().uuidString.lowercased()
        try logger?.emit(.promptOpened(PromptOpened(promptID: id, kind: kind.rawValue, message: message, choices: choices, timeoutSeconds: timeout)))
        let start = Date()
        let (answer, source) = try handler.answerWithSource(Prompt(message: message, kind: kind, choices: choices, timeout: timeout, image: image))
        try logger?.emit(
            .promptAnswered(
                PromptAnswered(
                    promptID: id, response: answer == .timedOut ? "timed_out" : "answered", value: answer.value, source: source,
                    durationSeconds: Date().timeIntervalSince(start))))
        return answer
    }

    // MARK: - Mocks

    /// Patches the vector's mocks (or the harness's) on the station's instruments for the
    /// vector's duration; each patch is recorded. A real instrument is patched only with
    /// ``allowFaultInjection``.
    private func applyMocks(_ vector: Vector) throws -> [(MockControl, MockControl.Patch)] {
        let active = vector.mocks.isEmpty ? mocks : vector.mocks
        guard !active.isEmpty else { return [] }
        guard let station else { throw HarnessError("mocks need the harness's station (the instruments to patch)") }
        var applied: [(MockControl, MockControl.Patch)] = []
        for (target, value) in active.sorted(by: { $0.key < $1.key }) {
            let parts = target.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw HarnessError("mock target \"\(target)\" must be role.operation, e.g. dmm.measure_dc_voltage") }
            let instrument = try station.instrument(parts[0])
            let op = try instrument.operation(named: parts[1])
            let mocked = station.roles.first { $0.role == parts[0] }?.resolved.mocked ?? false
            guard mocked || allowFaultInjection else {
                throw HarnessError("role \(parts[0]) is a real instrument: patching \(target) would fake a hardware reading; mock the role, or pass allowFaultInjection: true for fault injection")
            }
            guard let control = instrument.mock else {
                throw HarnessError("role \(parts[0])'s driver \(instrument.driver.id) cannot be patched (no litmus.mock.v1)")
            }
            let json: String
            do { json = try MockConfigEncoder.behavior(value, type: op.result) } catch {
                throw HarnessError("mock \(target): \(error.problem)")
            }
            applied.append((control, try control.patch(parts[1], json: json)))
            try logger?.emit(
                .mockPatchApplied(
                    MockPatchApplied(role: parts[0], operation: parts[1], behavior: json, times: nil, scope: vector.mocks.isEmpty ? "run" : "vector")))
        }
        return applied
    }
}

/// What one vector's attempts gave.
public struct VectorResult: Sendable, Equatable {
    public let vector: Vector
    /// How many attempts ran.
    public let attempts: Int
    /// The final attempt's outcome.
    public let outcome: Outcome
    /// The final attempt's error, if it threw.
    public let error: String?
}

/// What one step gave.
public struct StepResult: Sendable, Equatable {
    public let name: String
    public let path: String
    public let outcome: Outcome
    public let vectors: [VectorResult]
}
