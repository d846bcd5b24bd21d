// The suite the sequence tests order (started as a child process, filtered to
// SequenceFixture, with LITMUS_TESTING_FIXTURE=sequence): each step records one measurement
// named after it, so the order on the bench can be read back from the run file.
import Foundation
import Litmus
@testable import LitmusTesting
import Testing

@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["LITMUS_TESTING_FIXTURE"] == "sequence"),
    .litmusStation("stations/bench_mock.yaml", dutSerial: "SEQ-DEFAULT"), .litmusSequenced())
struct SequenceFixture {
    /// Attempts of `flaky` so far in this process.
    nonisolated(unsafe) static var flakyAttempts = 0
    static let lock = NSLock()

    @Test func powerOn() throws { try Litmus.measure("powered", 1) }
    @Test func first() throws { try Litmus.measure("first", 1) }
    @Test func second() throws { try Litmus.measure("second", 1) }
    @Test func forVariantB() throws { try Litmus.measure("variant_b", 1) }

    /// Fails its first attempt, passes the next.
    @Test func flaky() throws {
        let attempt = Self.lock.withLock {
            Self.flakyAttempts += 1
            return Self.flakyAttempts
        }
        try Litmus.verify("flaky", attempt == 1 ? 9.0 : 3.3, unit: "V", limit: try Limit.between(3.2, 3.4, unit: "V"))
    }

    @Test func outputOff() throws { try Litmus.measure("output_off", 1) }
}
