import Foundation
import Litmus
import Testing

/// What a step of a station sequence is for: recorded in the run's `step_role` column.
public enum LitmusStepRole: String, Sendable {
    /// Brings the bench and the board up (power on, fixture closed). A failed setup step stops
    /// the run: later main steps are skipped, teardown still runs.
    case setup
    /// A measurement step (the default).
    case main
    /// Brings the bench back to safe (output off, relays open). Runs after failures, errors,
    /// stop-on-failure and an operator abort.
    case teardown
}

/// How the tests of a suite on a Litmus bench are run: a step's role, stop-on-failure, or the
/// explicit opt-in to parallel, unordered tests. Put it on a suite (it applies to every test in
/// it) or on one test; the innermost role wins.
///
/// ```swift
/// @Suite(.serialized, .litmusStation("stations/bench_mock.yaml"), .litmusStopOnFailure)
/// struct BoardTests {
///     @Test(.litmusSetup) func powerOn() throws { ... }
///     @Test func outputVoltage() throws { ... }          // skipped if powerOn failed
///     @Test(.litmusTeardown) func powerOff() throws { ... }  // always runs
/// }
/// ```
///
/// Roles do not reorder tests: under `.serialized` the tests run in source order, so write the
/// setup steps first and the teardown steps last.
public struct LitmusStepTrait: SuiteTrait, TestTrait {
    enum Kind: Sendable, Equatable {
        case role(LitmusStepRole)
        case stopOnFailure
        case parallel
        /// Ordered by a sequence file (the default file, if any, beside the declaring file).
        case sequenced(defaultFile: String?, declaringDirectory: String)
    }

    let kind: Kind

    /// Suites pass the trait to their tests.
    public var isRecursive: Bool { true }

    /// The role of `test` (its innermost role trait), `main` without one.
    static func role(of test: Test) -> LitmusStepRole {
        for case let trait as LitmusStepTrait in test.traits.reversed() {
            if case .role(let role) = trait.kind { return role }
        }
        return .main
    }

    /// Whether a failure of `test` stops the run's later steps.
    static func stopsOnFailure(_ test: Test) -> Bool {
        test.traits.contains { ($0 as? LitmusStepTrait)?.kind == .stopOnFailure }
    }

    /// Whether `test` runs in order (`.serialized`), in a sequence file's order
    /// (`.litmusSequenced`), or explicitly opted out of order (`.litmusParallel`).
    static func isOrderDecided(_ test: Test) -> Bool {
        test.traits.contains { $0 is ParallelizationTrait || ($0 as? LitmusStepTrait)?.kind == .parallel } || sequenced(test) != nil
    }

    /// The `.litmusSequenced` trait of `test` (its innermost), nil when it has none.
    static func sequenced(_ test: Test) -> (defaultFile: String?, declaringDirectory: String)? {
        for case let trait as LitmusStepTrait in test.traits.reversed() {
            if case .sequenced(let file, let directory) = trait.kind { return (file, directory) }
        }
        return nil
    }
}

extension Trait where Self == LitmusStepTrait {
    /// A setup step: a failure stops the run (later main steps are recorded `skipped`), teardown still runs.
    public static var litmusSetup: Self { LitmusStepTrait(kind: .role(.setup)) }

    /// A teardown step: runs even after failures, errors, stop-on-failure and an operator abort
    /// (SIGINT/SIGTERM to the test process), and is recorded with `step_role` `teardown`.
    public static var litmusTeardown: Self { LitmusStepTrait(kind: .role(.teardown)) }

    /// A failure of this step (or of any step of this suite) stops the run: later non-teardown
    /// steps are recorded `skipped` with the reason and their bodies do not run. Without it the
    /// run continues after a failure.
    public static var litmusStopOnFailure: Self { LitmusStepTrait(kind: .stopOnFailure) }

    /// Lets the tests of a suite on a Litmus bench run in parallel, in any order (the bench
    /// still runs one case at a time). Without it (or `.serialized`) the station trait refuses
    /// the suite: an unordered sequence on a real fixture measures an unpowered board.
    public static var litmusParallel: Self { LitmusStepTrait(kind: .parallel) }

    /// The suite's tests run in the order of a sequence file (`sequences/<name>.yaml`, see
    /// ``SequenceFile``): `LITMUS_SEQUENCE` (set by `litmus run --sequence`), else
    /// `defaultSequence` (relative paths from the current directory, then beside this file).
    /// Swift Testing schedules the tests in parallel; the bench admits them one at a time in
    /// the file's order, with the file's retry, stop-on-failure, role and `run_if`. Tests the
    /// sequence does not name are not run (reported skipped, not recorded). Without any
    /// sequence the suite's tests are refused with the fix: Swift Testing gives a test no way
    /// to know its suite's source order, so write `.serialized` for that.
    public static func litmusSequenced(_ defaultSequence: String? = nil, filePath: String = #filePath) -> Self {
        LitmusStepTrait(kind: .sequenced(defaultFile: defaultSequence, declaringDirectory: (filePath as NSString).deletingLastPathComponent))
    }
}
