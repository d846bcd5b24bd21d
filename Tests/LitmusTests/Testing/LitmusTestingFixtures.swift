// Suites that the LitmusTesting tests run in a child test process (one Litmus session each),
// then check by its output and the run's Parquet file. Each is enabled only when
// LITMUS_TESTING_FIXTURE names it, so the normal test run skips them.
import Foundation
import Litmus
import Synchronization
@testable import LitmusTesting
import Testing

let litmusFixture = ProcessInfo.processInfo.environment["LITMUS_TESTING_FIXTURE"]

/// Limits from an outer suite, an inner suite, the test and a sidecar file.
@Suite(
    .enabled(if: litmusFixture == "precedence"), .serialized,
    .litmusStation("stations/bench_mock.yaml", dutSerial: "FIX-PRECEDENCE"),
    .litmusLimits(["a": .between(0, 10), "b": .between(0, 10), "c": .between(0, 10)]),
    .litmusRetry(max: 2),
    .litmusSidecar("LitmusTestingFixtures.litmus.yaml"))
struct PrecedenceFixture {
    @Test(.litmusLimits(["b": .between(1, 9), "c": .between(1, 9)]))
    func levels() throws {
        for name in ["a", "b", "c", "d"] { try Litmus.verify(name, 5) }
        // The suite's retry applies, and the sidecar's defaults raise it.
        #expect(try Litmus.limits.count == 4)
    }

    /// `Litmus.pins` closes the connection's switch route for the attempt; the end of the
    /// attempt opens it again.
    @Test(.litmusLimits(["vout": .between(3.2, 3.4)]), arguments: try Sweep.product(Axis("n", [1, 2])))
    func routeClosedForTheAttempt(_ v: Vector) throws {
        try Litmus.use(v)
        let matrix = try Litmus.instrument("matrix")
        #expect(try matrix.call("is_closed", .string("101")) == .bool(false))
        let vout = try Litmus.pins["VOUT", function: "dc_voltage"]
        #expect(vout.connection == "vout_sense" && vout.role == "dmm" && vout.trace.route?.channels == ["101"])
        #expect(try matrix.call("is_closed", .string("101")) == .bool(true))
        try vout.verify("vout", try vout.instrument.call("measure_dc_voltage").doubleValue)
    }

    @Suite(.litmusLimits(["a": .between(-1, 11)]))
    struct Inner {
        @Test func inner() throws { try Litmus.verify("a", 5) }
    }

    static let attempts = Mutex(0)

    /// Fails on its first three attempts and passes on the fourth: only the sidecar's retry
    /// (3 more) allows that; the suite's trait (2 more) would not.
    @Test func retried() throws {
        let attempt = Self.attempts.withLock { n in
            n += 1
            return n
        }
        try Litmus.verify("a", attempt < 4 ? 50 : 5)
    }
}

/// A `.litmusMocks` lookup on a profile operation whose channel defaults to "1" (issue 12 #16):
/// `measure_voltage()` must answer channel 1's entry (5.001 V, failing the <= 0.27 V limit),
/// not the lookup's `default` (0.0, which would pass).
@Suite(
    .enabled(if: litmusFixture == "lookup"), .serialized,
    .litmusStation("stations/bench_mock.yaml", mock: true, dutSerial: "FIX-LOOKUP"))
struct LookupDefaultFixture {
    @Test(
        .litmusMocks(["psu.measure_voltage": .yaml("{lookup: {'1': 5.001, '2': 0.1}, default: 0}")]),
        .litmusLimits(["dropout": .atMost(0.27, unit: "V")]))
    func dropout() throws {
        try Litmus.verify("dropout", try Litmus.instrument("psu").call("measure_voltage").doubleValue)
    }
}

/// Parallel tests and cases, each checking that it sees only its own Litmus state.
@Suite(.enabled(if: litmusFixture == "isolation"), .litmusParallel, .litmusStation("stations/bench_mock.yaml", dutSerial: "FIX-ISOLATION"))
struct IsolationFixture {
    static let points = try! Sweep.product(Axis("k", range: "0:7:1"))

    static func exercise(_ test: String, _ v: Vector) async throws {
        try Litmus.use(v)
        let k = v.double("k")!
        try await Task.sleep(nanoseconds: 200_000)
        #expect(try Litmus.context.param("k") == .number(k))
        try Litmus.verify("\(test)_k", k, limit: try Limit.equal(to: k))
        // A child task sees the case's state too.
        let seen = try await withThrowingTaskGroup(of: ParamValue?.self) { group in
            group.addTask { try Litmus.context.param("k") }
            return try await group.next()!
        }
        #expect(seen == .number(k))
        try Litmus.measure("\(test)_child", k)
    }

    @Test(arguments: points) func first(_ v: Vector) async throws { try await Self.exercise("first", v) }
    @Test(arguments: points) func second(_ v: Vector) async throws { try await Self.exercise("second", v) }
    @Test(arguments: points) func third(_ v: Vector) async throws { try await Self.exercise("third", v) }
}

/// Each test misuses Litmus one way; each must fail with a message saying what to do.
@Suite(.enabled(if: litmusFixture == "errors"))
struct ErrorFixture {
    @Test(.litmusStation("stations/bench_mock.yaml")) func noSerial() throws { try Litmus.verify("x", 1) }
    @Test(.litmusStation("stations/no_such_bench.yaml", dutSerial: "FIX-ERR")) func noStation() throws { try Litmus.verify("x", 1) }

    @Suite(.serialized, .litmusStation("stations/bench_mock.yaml", dutSerial: "FIX-ERR"))
    struct OnBench {
        @Test(.litmusCharacteristics(["vuot"])) func unknownCharacteristic() throws { try Litmus.verify("vout", 3.3) }
        @Test(.litmusConnections(["vout_snse"])) func unknownConnection() throws {}
        @Test(.litmusLimits(["x": .between(5, 1)])) func impossibleLimit() throws {}
        @Test func noLimit() throws { try Litmus.verify("unlimited", 1) }
        @Test(.litmusSidecar("missing.litmus.yaml")) func missingSidecar() throws {}
        @Test func unknownPrompt() throws { try Litmus.prompt("insert_dut") }
        @Test func unknownPin() throws { _ = try Litmus.pins["VOTU"] }
        @Test(.litmusMocks(["dmm.measure_dc_voltage": 1.0])) func patchRealInstrument() throws {}
        @Test(.litmusLimits(["x": .atMost(1)]), arguments: try Sweep.product(Axis("p", [1])))
        func useTooLate(_ v: Vector) throws {
            try Litmus.verify("x", 0.5)
            try Litmus.use(v)
        }
    }
}

/// A test process that dies in the middle of a run: the first case completes, the second
/// records a measurement and is killed.
@Suite(.enabled(if: litmusFixture == "crash"), .serialized, .litmusStation("stations/bench_mock.yaml", dutSerial: "FIX-CRASH"))
struct CrashFixture {
    static let cases = Mutex(0)

    @Test(.litmusLimits(["before_crash": .atMost(1)]), arguments: try Sweep.product(Axis("k", [0, 1])))
    func crashes(_ v: Vector) throws {
        try Litmus.use(v)
        try Litmus.verify("before_crash", 0.5)
        let n = Self.cases.withLock { n in
            n += 1
            return n
        }
        if n == 2 { kill(getpid(), SIGKILL) }
    }
}

/// A forced failure in a sequence that continues after failures: the later step runs, the
/// teardown runs and is recorded as teardown.
@Suite(.enabled(if: litmusFixture == "teardown"), .serialized, .litmusStation("stations/bench_mock.yaml", dutSerial: "FIX-TEARDOWN"))
struct TeardownFixture {
    @Test(.litmusSetup) func powerOn() throws { try Litmus.measure("setup_ran", 1) }
    @Test func failing() throws { try Litmus.verify("forced", 5, limit: try Limit.atMost(1)) }
    @Test func afterFailure() throws { try Litmus.measure("after_failure_ran", 1) }
    @Test(.litmusTeardown) func outputOff() throws { try Litmus.measure("teardown_ran", 1) }
}

/// Stop-on-failure: the step after the failing one is skipped (its body never runs), the
/// teardown still runs.
@Suite(
    .enabled(if: litmusFixture == "stop"), .serialized, .litmusStopOnFailure,
    .litmusStation("stations/bench_mock.yaml", dutSerial: "FIX-STOP"))
struct StopOnFailureFixture {
    @Test(.litmusSetup) func powerOn() throws { try Litmus.measure("setup_ran", 1) }
    @Test func failing() throws { try Litmus.verify("forced", 5, limit: try Limit.atMost(1)) }
    @Test func skippedStep() throws {
        print("BODY-RAN: skippedStep")
        try Litmus.measure("skipped_step_ran", 1)
    }
    @Test(.litmusTeardown) func outputOff() throws { try Litmus.measure("teardown_ran", 1) }
}

/// An operator abort (SIGINT to the test process) in the middle of the sequence: the step that
/// was running finishes, the next one is skipped, the teardown runs, the run ends aborted.
@Suite(.enabled(if: litmusFixture == "abort"), .serialized, .litmusStation("stations/bench_mock.yaml", dutSerial: "FIX-ABORT"))
struct AbortFixture {
    @Test(.litmusSetup) func powerOn() throws { try Litmus.measure("setup_ran", 1) }
    @Test func interrupted() throws {
        kill(getpid(), SIGINT)
        // Wait (bounded) until the signal has been handled, so the order below is decided.
        for _ in 0..<1000 where LitmusSession.shared.abortReason == nil { usleep(10_000) }
        try Litmus.measure("interrupted_step_finished", 1)
    }
    @Test func afterAbort() throws {
        print("BODY-RAN: afterAbort")
        try Litmus.measure("after_abort_ran", 1)
    }
    @Test(.litmusTeardown) func outputOff() throws { try Litmus.measure("teardown_ran", 1) }
}

/// A suite on a bench that says nothing about order: refused at its station trait.
@Suite(.enabled(if: litmusFixture == "unordered"), .litmusStation("stations/bench_mock.yaml", dutSerial: "FIX-UNORDERED"))
struct UnorderedFixture {
    @Test func first() throws {
        print("BODY-RAN: first")
        try Litmus.measure("ran", 1)
    }
    @Test func second() throws {
        print("BODY-RAN: second")
        try Litmus.measure("ran", 1)
    }
}
