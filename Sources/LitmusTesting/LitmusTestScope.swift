import Foundation
import Litmus
import Testing

/// A problem with Litmus's use in a test: a missing trait, an unusable station, a bad limit.
/// The message says what to do.
public struct LitmusTestingError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The effective configuration of one test: its traits and sidecar entries merged by the
/// documented precedence (see `LitmusTraits.swift`).
struct LitmusTestConfiguration {
    var limits: [String: Limit] = [:]
    var mocks: [String: ConfigValue] = [:]
    var retry = RetryConfig.none
    var prompts: [String: LitmusPrompt] = [:]
    var characteristics: [String] = []
    var connections: [String] = []

    init(limits: [String: Limit] = [:]) { self.limits = limits }

    /// - Throws: ``LitmusTestingError`` naming the trait's source location or the sidecar file.
    init(test: Test, functionName: String) throws {
        var sidecars: [String] = []
        for case let trait as LitmusConfigTrait in test.traits {
            let at = "\(trait.sourceLocation.fileID):\(trait.sourceLocation.line):\(trait.sourceLocation.column)"
            switch trait.content {
            case .limits(let limits):
                for (name, limit) in limits {
                    switch limit.result {
                    case .success(let l): self.limits[name] = l
                    case .failure(let e): throw LitmusTestingError("\(at): litmusLimits: limit \(name): \(e.message)")
                    }
                }
            case .retry(let max, let delay, let on):
                do {
                    retry = try RetryConfig(maxRetries: max, delay: delay, retryOn: on)
                } catch {
                    throw LitmusTestingError("\(at): litmusRetry: \(error.message)")
                }
            case .mocks(let mocks):
                for (target, mock) in mocks {
                    switch mock.value {
                    case .success(let v): self.mocks[target] = v
                    case .failure(let e): throw LitmusTestingError("\(at): litmusMocks: \(target): \(e.message)")
                    }
                }
            case .prompts(let prompts): self.prompts.merge(prompts) { _, new in new }
            case .characteristics(let ids): characteristics += ids.filter { !characteristics.contains($0) }
            case .connections(let names): connections += names.filter { !connections.contains($0) }
            case .sidecar(let path): if !sidecars.contains(path) { sidecars.append(path) }
            }
        }
        for path in sidecars {
            let sidecar = try LitmusSidecarFile.load(path).get()
            for config in [sidecar.defaults, sidecar.tests[functionName]].compactMap({ $0 }) {
                limits.merge(config.limits) { _, new in new }
                mocks.merge(config.mocks) { _, new in new }
                if let r = config.retry { retry = r }
            }
        }
    }
}

/// One test (a step of the run) while it runs: its run, its harness and its configuration.
final class LitmusTestScope: @unchecked Sendable {
    @TaskLocal static var current: LitmusTestScope?

    /// The test's name as Swift Testing shows it (`rails(_:)`).
    let name: String
    let displayName: String?
    let sourceLocation: SourceLocation
    let run: LitmusSession.Run
    let harness: TestHarness
    let configuration: LitmusTestConfiguration
    let stepName: String
    let parentPath: String?
    /// Setup, main or teardown (recorded as the step's `step_role`).
    let role: LitmusStepRole
    private let lock = NSLock()
    private var step: TestHarness.OpenStep?
    private var caseCount = 0

    /// - Parameter sequenceStep: the test's step in a sequence file: its role and retry, when
    ///   given, beat the test's traits.
    convenience init(test: Test, options: LitmusStationTrait.Resolved, sequenceStep: SequenceFile.Step? = nil) throws {
        let function = String(test.name.prefix { $0 != "(" })
        let suites = test.id.nameComponents.dropLast()
        var configuration = try LitmusTestConfiguration(test: test, functionName: function)
        if let retry = sequenceStep?.retry {
            do {
                configuration.retry = try RetryConfig(maxRetries: retry, delay: configuration.retry.delay, retryOn: configuration.retry.retryOn)
            } catch {
                throw LitmusTestingError("\(sequenceStep!.location): retry: \(error.message)")
            }
        }
        try self.init(
            name: test.name, displayName: test.displayName, sourceLocation: test.sourceLocation,
            suitePath: suites.isEmpty ? nil : suites.joined(separator: "/"),
            configuration: configuration, options: options,
            role: sequenceStep?.role.flatMap(LitmusStepRole.init(rawValue:)) ?? LitmusStepTrait.role(of: test))
    }

    /// Records a sequence step whose test never started as `errored` with `reason`.
    static func recordMissing(_ step: SequenceFile.Step, suitePath: String?, options: LitmusStationTrait.Resolved, reason: String) {
        do {
            let scope = try LitmusTestScope(
                name: "\(step.test)()", displayName: nil,
                sourceLocation: SourceLocation(fileID: step.file, filePath: step.file, line: max(step.line, 1), column: max(step.column, 1)),
                suitePath: suitePath, configuration: LitmusTestConfiguration(), options: options,
                role: step.role.flatMap(LitmusStepRole.init(rawValue:)) ?? .main)
            try scope.closeUnrun(reason, outcome: .errored)
        } catch {
            FileHandle.standardError.write(Data("litmus: \(reason); recording it failed: \(error)\n".utf8))
        }
    }

    init(
        name: String, displayName: String?, sourceLocation: SourceLocation, suitePath: String?,
        configuration: LitmusTestConfiguration, options: LitmusStationTrait.Resolved, role: LitmusStepRole = .main
    ) throws {
        self.name = name
        self.role = role
        self.displayName = displayName
        self.sourceLocation = sourceLocation
        let function = String(name.prefix { $0 != "(" })
        stepName = function
        parentPath = suitePath
        self.configuration = configuration
        run = try LitmusSession.shared.run(for: options)
        do {
            harness = try TestHarness(
                logger: run.logger, stepName: function, retry: configuration.retry, limits: configuration.limits,
                product: run.product, station: run.bench.station, mocks: configuration.mocks, site: options.site,
                promptHandler: options.autoPrompts ? AutoPromptHandler() : nil)
        } catch {
            throw LitmusTestingError("test \(name): \(error)")
        }
        try checkBindings()
    }

    /// Characteristics must exist in the part, connections in the fixture.
    private func checkBindings() throws {
        let config = run.bench.configuration
        for id in configuration.characteristics where run.product?.hasCharacteristic(id) != true {
            guard let part = config.part else {
                throw LitmusTestingError("litmusCharacteristics([\"\(id)\"]) needs a part: give the station trait `part:` or the station a `part:`")
            }
            let known = part.characteristics.map(\.id).sorted()
            throw LitmusTestingError(
                "part \(part.id) has no characteristic \"\(id)\"; it has: \(known.joined(separator: ", "))")
        }
        for name in configuration.connections {
            do { _ = try config.trace(connection: name, site: harness.site) } catch {
                throw LitmusTestingError("litmusConnections: \(error.message)")
            }
        }
    }

    /// Opens the test's step the first time one of its cases runs.
    func openStep() throws -> TestHarness.OpenStep {
        try lock.withLock {
            if let step { return step }
            let opened = try harness.beginStep(
                stepName, description: displayName, parentPath: parentPath,
                code: CodeLocation(file: sourceLocation.fileID, function: name, line: Int64(sourceLocation.line)),
                role: role.rawValue)
            step = opened
            return opened
        }
    }

    /// The 0-based position of the next case (its vector index unless it gives a vector).
    func nextCaseIndex() -> Int {
        lock.withLock {
            defer { caseCount += 1 }
            return caseCount
        }
    }

    /// Closes the step (its outcome: every case's final attempt); nil when no case ran.
    @discardableResult
    func closeStep() throws -> Outcome? {
        guard let step = lock.withLock({ self.step }) else { return nil }
        return try harness.endStep(step)
    }

    /// Records the step as `skipped` with `reason`, its body not run.
    func skipStep(_ reason: String) throws {
        try closeUnrun(reason, outcome: .skipped)
    }

    /// Records the step, its body not run, with `outcome` and `reason`.
    func closeUnrun(_ reason: String, outcome: Outcome) throws {
        let step = try openStep()
        try harness.endStep(step, error: reason, outcome: outcome)
        try run.logger.eventLog?.flush()
    }

    // MARK: Running a test and its cases

    /// Runs the whole test (all its cases) as one step.
    ///
    /// A non-teardown step of a run that was stopped (a failed setup step, a failed
    /// stop-on-failure step) or aborted (SIGINT/SIGTERM) is recorded `skipped` with the reason
    /// and its body does not run; teardown steps always run.
    ///
    /// - Parameters:
    ///   - sequence: the test's step in a sequence file and the outcomes of the sequence's
    ///     earlier steps: its role, retry and stop-on-failure beat the test's traits, and its
    ///     `run_if` skips the step (recorded `skipped`) when a condition does not hold.
    ///   - onOutcome: told the step's outcome (`skipped` included) before the test ends.
    static func runTest(
        _ test: Test, options: LitmusStationTrait.Resolved, sequence: (step: SequenceFile.Step, outcomes: [String: Outcome])? = nil,
        onOutcome: (Outcome) -> Void = { _ in }, _ body: @Sendable () async throws -> Void
    ) async throws {
        let scope = try LitmusTestScope(test: test, options: options, sequenceStep: sequence?.step)
        var skip = scope.role != .teardown ? scope.run.skipReason : nil
        if skip == nil, let sequence, let unmet = scope.unmet(sequence.step.runIf, outcomes: sequence.outcomes, options: options) {
            skip = "run_if not met (\(sequence.step.location)): \(unmet)"
        }
        if let reason = skip {
            try scope.skipStep(reason)
            onOutcome(.skipped)
            try Test.cancel(Comment(rawValue: "skipped: \(reason)"))
        }
        var bodyError: (any Error)?
        do {
            try await $current.withValue(scope) { try await body() }
        } catch {
            bodyError = error
        }
        let outcome = try scope.closeStep()
        onOutcome(bodyError != nil ? max(outcome ?? .errored, .errored) : outcome ?? .done)
        let failed = bodyError != nil || outcome.map { $0 >= .failed } == true
        if failed && (scope.role == .setup || (sequence?.step.stopOnFailure ?? LitmusStepTrait.stopsOnFailure(test))) {
            let what = scope.role == .setup ? "setup step" : "step"
            scope.run.stop("\(what) \(scope.stepName) \(outcome.map(\.rawValue) ?? "errored")\(scope.role == .setup ? "" : " (litmusStopOnFailure)")")
        }
        if let bodyError { throw bodyError }
    }

    /// Why `condition` does not hold for this run (nil when it holds): the run's part (its id
    /// or the DUT's part number) and the outcomes of earlier steps.
    func unmet(_ condition: SequenceFile.Condition, outcomes: [String: Outcome], options: LitmusStationTrait.Resolved) -> String? {
        if !condition.part.isEmpty {
            let parts = [run.bench.configuration.part?.id, options.dutPartNumber].compactMap { $0 }
            if !condition.part.contains(where: parts.contains) {
                return "part is \(parts.isEmpty ? "not given" : parts.joined(separator: "/")), not \(condition.part.joined(separator: " or "))"
            }
        }
        for name in condition.passed where ![.passed, .done].contains(outcomes[name]) {
            return "\(name) \(outcomes[name]?.rawValue ?? "did not run"), not passed"
        }
        for name in condition.failed where ![.failed, .errored].contains(outcomes[name]) {
            return "\(name) \(outcomes[name]?.rawValue ?? "did not run"), not failed"
        }
        return nil
    }

    /// Runs one case: one vector of the step, attempted again while the retry configuration
    /// says so. The bench runs one case at a time, whatever Swift Testing parallelises.
    static func runCase(_ testCase: Test.Case, _ body: @Sendable () async throws -> Void) async throws {
        try await runCase(parameterized: testCase.isParameterized, body)
    }

    static func runCase(parameterized: Bool, _ body: @Sendable () async throws -> Void) async throws {
        guard let scope = current else {
            throw LitmusTestingError("internal: a Litmus test case ran outside its test's scope")
        }
        let gate = scope.run.bench.gate
        await gate.acquire()
        defer { gate.release() }
        let step = try scope.openStep()
        let index = scope.nextCaseIndex()
        let retry = scope.configuration.retry
        var attempt = 0
        while true {
            let attemptScope = LitmusCaseScope(test: scope, step: step, index: index, parameterized: parameterized)
            var bodyError: (any Error)?
            do {
                if !parameterized { try attemptScope.start() }
                try await LitmusCaseScope.$current.withValue(attemptScope) { try await body() }
            } catch {
                bodyError = error
            }
            let outcome = try attemptScope.finish(error: bodyError)
            let retryable = retry.retryOn.contains(outcome) && (bodyError.map { retry.retryIf?($0) ?? true } ?? true)
            if retryable && attempt < retry.maxRetries {
                attempt += 1
                if retry.delay > 0 { try await Task.sleep(nanoseconds: UInt64(retry.delay * 1e9)) }
                continue
            }
            attemptScope.reportIssues(attempts: attempt + 1, of: retry.maxRetries + 1)
            if let bodyError { throw bodyError }
            return
        }
    }
}

/// One attempt of one case: the vector attempt the Litmus calls of the test body record into.
final class LitmusCaseScope: @unchecked Sendable {
    @TaskLocal static var current: LitmusCaseScope?

    let test: LitmusTestScope
    let step: TestHarness.OpenStep
    let index: Int
    let parameterized: Bool
    private let lock = NSLock()
    private var vector: Vector?
    private var attempt: TestHarness.OpenVectorAttempt?
    private var failures: [(message: String, location: SourceLocation)] = []
    private var warnings: [(message: String, location: SourceLocation)] = []
    private var closedRoutes: [(Instrument, SwitchRoute)] = []

    init(test: LitmusTestScope, step: TestHarness.OpenStep, index: Int, parameterized: Bool) {
        self.test = test
        self.step = step
        self.index = index
        self.parameterized = parameterized
    }

    var harness: TestHarness { test.harness }

    /// Gives the case its sweep point (before anything is recorded).
    func use(_ vector: Vector) throws {
        try lock.withLock {
            guard attempt == nil else {
                throw LitmusTestingError(
                    "Litmus.use(_:) came after this case started recording: call it first in the test body, before verify, measure, observe or instrument access")
            }
            self.vector = vector
        }
        try start()
    }

    /// Starts the vector attempt if it has not started: `vector.started`, mocks patched.
    func start(from location: SourceLocation? = nil) throws {
        try lock.withLock {
            guard attempt == nil else { return }
            if parameterized && vector == nil, let location {
                warnings.append(
                    ("\(test.name) is parameterized, but this case recorded before giving its sweep point to Litmus.use(_:): its row has no in_* parameters and spec limits see no conditions",
                     location))
            }
            let v = vector ?? Vector(index: index, params: [])
            let opened = try harness.beginAttempt(v, in: step)
            attempt = opened
            if let failure = opened.mockFailure { throw failure }
        }
    }

    /// Ends the attempt: opens the routes it closed, records its end, returns its outcome.
    func finish(error: (any Error)?) throws -> Outcome {
        try start()
        let (opened, routes) = lock.withLock { (attempt!, closedRoutes) }
        var routeError: (any Error)?
        for (instrument, route) in routes.reversed() {
            do { _ = try instrument.call("open_channels", .string(route.channels.joined(separator: ","))) } catch {
                routeError = routeError ?? error
            }
        }
        let outcome = try harness.endAttempt(opened, error: error ?? routeError)
        // A finished case survives a crash of the test process (a later test's fatalError).
        try test.run.logger.eventLog?.flush()
        return outcome
    }

    /// A Litmus verdict to report if this attempt is the last.
    func fail(_ message: String, at location: SourceLocation) {
        lock.withLock { failures.append((message, location)) }
    }

    /// Reports the final attempt's failed verdicts as Swift Testing issues (earlier attempts'
    /// were retried away).
    func reportIssues(attempts: Int, of allowed: Int) {
        let (failures, warnings) = lock.withLock { (self.failures, self.warnings) }
        let suffix = allowed > 1 ? " (attempt \(attempts) of \(allowed))" : ""
        for w in warnings { Issue.record(Comment(rawValue: w.message), severity: .warning, sourceLocation: w.location) }
        for f in failures { Issue.record(Comment(rawValue: f.message + suffix), sourceLocation: f.location) }
    }

    /// Closes `route` on its switch for the rest of the attempt (once), then waits its settling time.
    func close(_ route: SwitchRoute) throws {
        let switchRole = route.switchRole
        let already = lock.withLock { closedRoutes.contains { $0.1 == route } }
        if already { return }
        let instrument = try test.run.bench.station.instrument(switchRole)
        guard (try? instrument.operation(named: "close_channels")) != nil, (try? instrument.operation(named: "open_channels")) != nil else {
            throw LitmusTestingError(
                "switch role \(switchRole) has no close_channels/open_channels operations: routes need both (the generic_scpi_switch profile has them)")
        }
        _ = try instrument.call("close_channels", .string(route.channels.joined(separator: ",")))
        lock.withLock { closedRoutes.append((instrument, route)) }
        if route.settlingMs > 0 { Thread.sleep(forTimeInterval: route.settlingMs / 1000) }
    }
}

/// The path a Litmus test case takes, without Swift Testing's runner around it: for the
/// benchmark of `Litmus.verify` against `TestHarness.measure` (bench/).
package enum LitmusBenchmarkSupport {
    /// Runs `body` as one non-parameterized case of a test with `limits` on the bench.
    package static func runCase(
        station: String, dutSerial: String, dataDir: String, limits: [String: Limit], _ body: @Sendable () async throws -> Void
    ) async throws {
        let options = LitmusStationTrait.Resolved(
            station: station, fixture: nil, part: nil, mock: false, dutSerial: dutSerial, phase: "development", guardbandPct: 0,
            dataDir: dataDir, autoPrompts: true, site: 0)
        let scope = try LitmusTestScope(
            name: "benchmark()", displayName: nil, sourceLocation: SourceLocation(fileID: "bench/bench.swift", filePath: "/bench/bench.swift", line: 1, column: 1),
            suitePath: nil, configuration: LitmusTestConfiguration(limits: limits), options: options)
        try await LitmusTestScope.$current.withValue(scope) {
            try await LitmusTestScope.runCase(parameterized: false, body)
        }
        try scope.closeStep()
    }

    /// Finalizes the runs and closes the benches (what process exit does).
    package static func finish() { LitmusSession.shared.finish() }
}
