/// When and how often a vector is tried again.
///
/// A vector is retried only when its outcome is one of ``retryOn`` (failed or errored by
/// default) and, when the attempt threw, ``retryIf`` accepts the error; never after `passed`,
/// `done` or `skipped`; the delay is slept between attempts
/// only; the final attempt decides the vector's and the step's outcome, and its error is
/// returned in ``VectorResult/error``.
public struct RetryConfig: Sendable, Equatable {
    /// Attempts beyond the first.
    public let maxRetries: Int
    /// Seconds between attempts.
    public let delay: Double
    /// The outcomes that trigger another attempt.
    public let retryOn: Set<Outcome>
    /// When an attempt threw: whether that error is worth another attempt (nil: any error).
    /// E.g. only instrument timeouts: `{ ($0 as? DriverError)?.status == .timeout }`.
    public let retryIf: (@Sendable (any Error) -> Bool)?

    /// - Throws: ``RetryConfigError`` for a negative count or delay, or an outcome that is not
    ///   a failure (`passed`, `done`, `skipped`).
    public init(
        maxRetries: Int = 0, delay: Double = 0, retryOn: Set<Outcome> = [.failed, .errored],
        retryIf: (@Sendable (any Error) -> Bool)? = nil
    ) throws(RetryConfigError) {
        guard maxRetries >= 0 else { throw RetryConfigError("max_retries must be 0 or more, got \(maxRetries)") }
        guard delay.isFinite, delay >= 0 else { throw RetryConfigError("delay must be 0 or more seconds, got \(delay)") }
        let notFailures = retryOn.filter { [.passed, .done, .skipped].contains($0) }
        guard notFailures.isEmpty else {
            throw RetryConfigError(
                "retry on \(notFailures.map(\.rawValue).sorted().joined(separator: ", ")) would repeat a vector that did not fail; use failed, errored, terminated")
        }
        self.maxRetries = maxRetries
        self.delay = delay
        self.retryOn = retryOn
        self.retryIf = retryIf
    }

    /// Equal when counts, delays and outcomes agree (the error filters are not compared).
    public static func == (a: RetryConfig, b: RetryConfig) -> Bool {
        a.maxRetries == b.maxRetries && a.delay == b.delay && a.retryOn == b.retryOn && (a.retryIf == nil) == (b.retryIf == nil)
    }

    /// No retries.
    public static let none = try! RetryConfig()
}

public struct RetryConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
