import Foundation
import Litmus

/// What a watcher shows of one board's run, built only from the run's events as they become
/// durable (never from the test's output): step k of n, vector i of m, the latest
/// measurement, elapsed time and an estimate, the failing measurements, the verdict.
///
/// ```swift
/// var progress = RunProgress(serial: "SN1", expected: history.expectation)
/// for event in batch.events { progress.apply(event) }
/// print(progress.line)   // step 2/7 outputVoltage · vector 3/6 · vout = 3.3012 V [3.22, 3.37] passed · 1.2 s / ~4.0 s
/// ```
public struct RunProgress: Sendable {
    /// One measurement as shown: value, limit, verdict and where it was measured.
    public struct MeasurementView: Sendable, Equatable {
        public var step: String
        public var name: String
        public var value: Double?
        public var unit: String?
        public var outcome: Outcome
        public var limitLow: Double?
        public var limitHigh: Double?
        public var comparator: Litmus.Comparator?
        public var pin: String?
        public var instrument: String?
        /// 1 for the first attempt.
        public var attempt: Int64
        public var vectorIndex: Int64?

        /// `3.3012 V`, `-` when there is no value.
        public var valueText: String {
            guard let value else { return "-" }
            return RunProgress.format(value) + (unit.map { " \($0)" } ?? "")
        }

        /// `[3.22, 3.37]`, `<= 0.005`, `>= 1`, or `no limit`.
        public var limitText: String {
            switch (limitLow, limitHigh) {
            case (let low?, let high?): "[\(RunProgress.format(low)), \(RunProgress.format(high))]"
            case (nil, let high?): "<= \(RunProgress.format(high))"
            case (let low?, nil): ">= \(RunProgress.format(low))"
            case (nil, nil): "no limit"
            }
        }
    }

    /// What earlier runs of the same sequence looked like (for "n" and the estimate).
    public struct Expectation: Sendable, Equatable {
        public var steps: Int
        public var seconds: Double
        /// Vectors per step path.
        public var vectors: [String: Int]
        public init(steps: Int, seconds: Double, vectors: [String: Int]) {
            self.steps = steps
            self.seconds = seconds
            self.vectors = vectors
        }
    }

    public let serial: String
    public var expected: Expectation?
    public private(set) var runID: UUID?
    public private(set) var startedAt: Timestamp?
    public private(set) var lastEventAt: Timestamp?
    /// Steps started so far (k), in order.
    public private(set) var stepPaths: [String] = []
    public private(set) var stepName: String?
    public private(set) var stepRole: String?
    /// The current step's vectors started (i) and the latest vector's index.
    public private(set) var vectorsInStep: Set<Int64> = []
    public private(set) var vectorRetry: Int64 = 0
    public private(set) var latest: MeasurementView?
    /// Final-attempt failures: a retried vector that passed later drops its earlier failures.
    public private(set) var failures: [MeasurementView] = []
    public private(set) var skippedSteps: [(path: String, reason: String?)] = []
    public private(set) var openPrompt: PromptOpened?
    public private(set) var outcome: Outcome?
    public private(set) var endReason: String?
    public private(set) var measurementCount = 0
    /// Vectors seen per step path (to learn the sequence's shape).
    public private(set) var vectorsPerStep: [String: Int] = [:]

    public init(serial: String, expected: Expectation? = nil) {
        self.serial = serial
        self.expected = expected
    }

    /// Takes one event of the run (events of other runs of the session are ignored once the
    /// run is known).
    public mutating func apply(_ event: Event) {
        if let runID, let other = event.runID, other != runID { return }
        switch event.body {
        case .runStarted(let r):
            guard runID == nil, r.dutSerial == serial else { return }
            runID = event.runID
            startedAt = event.occurredAt
        case .stepStarted(let s):
            guard runID != nil else { return }
            stepPaths.append(s.path)
            stepName = s.name
            stepRole = s.role
            vectorsInStep = []
            vectorRetry = 0
        case .stepEnded(let s):
            if s.outcome == .skipped { skippedSteps.append((s.path, s.error)) }
        case .vectorStarted(let v):
            vectorsInStep.insert(v.index)
            vectorRetry = v.retry
            vectorsPerStep[v.stepPath] = vectorsInStep.count
            // A new attempt of a vector replaces that vector's failures.
            failures.removeAll { $0.step == v.stepPath && $0.vectorIndex == v.index }
        case .measurement(let m):
            guard runID != nil else { return }
            measurementCount += 1
            let view = MeasurementView(
                step: m.stepPath, name: m.name, value: m.value, unit: m.unit, outcome: m.outcome, limitLow: m.limitLow,
                limitHigh: m.limitHigh, comparator: m.comparator, pin: m.dutPin,
                instrument: m.instrumentRole.map { role in m.instrumentResource.map { "\(role) (\($0))" } ?? role },
                attempt: m.retry + 1, vectorIndex: m.vectorIndex)
            latest = view
            if m.outcome == .failed || m.outcome == .errored { failures.append(view) }
        case .promptOpened(let p):
            openPrompt = p
        case .promptAnswered:
            openPrompt = nil
        case .runEnded(let e):
            guard runID != nil else { return }
            outcome = e.outcome
            endReason = e.reason
        default:
            break
        }
        if runID != nil { lastEventAt = event.occurredAt }
    }

    /// Ends a run whose process died without `run.ended`.
    public mutating func abort(_ reason: String) {
        outcome = .aborted
        endReason = reason
    }

    /// Seconds since the run started, to `now`.
    public func elapsed(now: Timestamp = .now()) -> Double {
        guard let startedAt else { return 0 }
        return Double(now.microseconds - startedAt.microseconds) / 1e6
    }

    /// The run's shape, to expect of the next run of the same sequence.
    public func expectation(now: Timestamp = .now()) -> Expectation {
        Expectation(steps: stepPaths.count, seconds: elapsed(now: lastEventAt ?? now), vectors: vectorsPerStep)
    }

    /// One line: `SN1 step 2/7 outputVoltage · vector 3/6 · vout = 3.3012 V [3.22, 3.37] passed · 1.2 s / ~4.0 s`.
    public func line(now: Timestamp = .now()) -> String {
        var parts = [serial]
        if let stepName {
            let n = expected.map { "/\(max($0.steps, stepPaths.count))" } ?? ""
            parts.append("step \(stepPaths.count)\(n) \(stepName)\(stepRole == "teardown" ? " (teardown)" : stepRole == "setup" ? " (setup)" : "")")
        } else {
            parts.append(runID == nil ? "starting" : "started")
        }
        if !vectorsInStep.isEmpty, let path = stepPaths.last {
            let m = expected?.vectors[path].map { "/\(max($0, vectorsInStep.count))" } ?? ""
            parts.append("vector \(vectorsInStep.count)\(m)\(vectorRetry > 0 ? " attempt \(vectorRetry + 1)" : "")")
        }
        if let latest {
            parts.append("\(latest.name) = \(latest.valueText) \(latest.limitText) \(latest.outcome.rawValue)")
        }
        if let openPrompt { parts.append("prompt: \(openPrompt.message)") }
        var time = String(format: "%.1f s", elapsed(now: now))
        if let expected, expected.seconds > 0 { time += String(format: " / ~%.1f s", expected.seconds) }
        parts.append(time)
        return parts.joined(separator: " · ")
    }

    /// A number for an operator: at most 10 significant digits, so binary noise in a computed
    /// limit (0.005 x 0.9 = 0.0045000000000000005) reads as written (`3.3012`, `0.0045`, `1e-09`).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return String(format: "%.10g", value)
    }
}
