import Foundation
import Litmus
import Testing

/// Admits the tests of `.litmusSequenced` suites one at a time in a sequence file's order.
///
/// Swift Testing starts the suite's tests in parallel; each waits here for its turn (the
/// position of its name in the file). A test the file does not name is not run. When the step
/// whose turn it is does not arrive within `LITMUS_SEQUENCE_TIMEOUT` seconds (30 by default)
/// while later steps wait (it is not in this test product, or a filter left it out), it is
/// recorded `errored` with the reason and the next step goes on: a missing name never hangs
/// the bench.
final class LitmusSequenceGate: @unchecked Sendable {
    let sequence: SequenceFile
    let timeout: Double
    private let lock = NSLock()
    private var next = 0
    private var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
    private var outcomes: [String: Outcome] = [:]
    /// Steps given up on and not yet reported by a test (step, reason).
    private var missed: [(SequenceFile.Step, String)] = []
    private var lastProgress = Date()
    private var watchdog: Task<Void, Never>?
    /// How a missing step is recorded: the run of a test that is waiting (same bench).
    private var recordMissing: (@Sendable (SequenceFile.Step, String) -> Void)?

    private static let lock = NSLock()
    nonisolated(unsafe) private static var gates: [String: Result<LitmusSequenceGate, ConfigReport>] = [:]

    init(sequence: SequenceFile, timeout: Double) {
        self.sequence = sequence
        self.timeout = timeout
    }

    /// The gate of the sequence file at `path` (read once per process).
    static func gate(path: String, environment: [String: String]) -> Result<LitmusSequenceGate, ConfigReport> {
        lock.withLock {
            if let gate = gates[path] { return gate }
            let timeout = environment["LITMUS_SEQUENCE_TIMEOUT"].flatMap(Double.init).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? 30
            let gate: Result<LitmusSequenceGate, ConfigReport>
            do throws(ConfigReport) {
                gate = .success(LitmusSequenceGate(sequence: try SequenceFile.load(path), timeout: timeout))
            } catch {
                gate = .failure(error)
            }
            gates[path] = gate
            return gate
        }
    }

    /// Outcomes of the steps that ran so far, by test name.
    var outcomesSoFar: [String: Outcome] { lock.withLock { outcomes } }

    /// Waits for step `index`'s turn; false when the gate already gave up on it (it came too late).
    func turn(_ index: Int, recordMissing: @escaping @Sendable (SequenceFile.Step, String) -> Void) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let ready: Bool? = lock.withLock {
                if self.recordMissing == nil { self.recordMissing = recordMissing }
                if index < next { return false }
                if index == next { return true }
                waiters[index] = continuation
                if watchdog == nil { watchdog = Task { [weak self] in await self?.watch() } }
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// The steps given up on since the last call (each reported once, by the next test admitted).
    func takeMissed() -> [(SequenceFile.Step, String)] {
        lock.withLock {
            defer { missed = [] }
            return missed
        }
    }

    /// Step `index` is over (ran, skipped or errored): the next one's turn.
    func finished(_ index: Int, outcome: Outcome) {
        let wake = lock.withLock { () -> CheckedContinuation<Bool, Never>? in
            outcomes[sequence.steps[index].test] = outcome
            if index == next { next += 1 }
            lastProgress = Date()
            return waiters.removeValue(forKey: next)
        }
        wake?.resume(returning: true)
    }

    /// Gives up on a step that does not arrive while later ones wait.
    private func watch() async {
        while true {
            try? await Task.sleep(nanoseconds: 100_000_000)
            let missing = lock.withLock { () -> (SequenceFile.Step, (@Sendable (SequenceFile.Step, String) -> Void)?)? in
                guard !waiters.isEmpty, waiters[next] == nil, Date().timeIntervalSince(lastProgress) >= timeout, next < sequence.steps.count else {
                    return nil
                }
                return (sequence.steps[next], recordMissing)
            }
            guard let (step, record) = missing else {
                let idle = lock.withLock { () -> Bool in
                    guard waiters.isEmpty else { return false }
                    watchdog = nil
                    return true
                }
                if idle { return }
                continue
            }
            let reason = "\(step.location): step \(step.test) of sequence \(sequence.id) did not start within \(timeout) s (no such test in this product, or a filter left it out)"
            record?(step, reason)
            lock.withLock { missed.append((step, reason)) }
            let index = lock.withLock { next }
            finished(index, outcome: .errored)
        }
    }
}
