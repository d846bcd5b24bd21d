import Foundation
import Testing

@testable import Litmus

/// A long sweep costs the same per vector at the end as at the start: the harness keeps only
/// what the next vector needs (issue 13: every vector context was kept alive through its
/// successor's `previous` link, a chain as long as the sweep).
@Suite struct HarnessMemoryTests {
    private final class WeakContexts: @unchecked Sendable {
        private let lock = NSLock()
        private var refs: [Int: WeakBox] = [:]
        struct WeakBox { weak var context: Context? }
        func keep(_ index: Int, _ context: Context) { lock.withLock { refs[index] = WeakBox(context: context) } }
        func alive(_ index: Int) -> Bool { lock.withLock { refs[index]?.context != nil } }
    }

    @Test func vectorContextsOlderThanThePreviousOneAreReleased() throws {
        let run = try HarnessRun()
        let harness = try TestHarness(vectors: try Vectors.product([Axis("vin", range: "1:50")]), logger: run.logger, stepName: "sweep")
        let contexts = WeakContexts()
        var changed: [Bool] = []
        try harness.runAll { v in
            contexts.keep(v.index, harness.context)
            changed.append(harness.context.changed("vin"))
        }
        try run.logger.finalize()
        try run.logger.close()
        // changed() still compares with the vector that ran before.
        #expect(changed == [true] + Array(repeating: true, count: 49))
        // The first vectors' contexts are gone; the last one (kept for the next vector's
        // changed() and last()) may live on with the harness.
        #expect(!contexts.alive(0))
        #expect(!contexts.alive(25))
        #expect(!contexts.alive(47))
        #expect(contexts.alive(49))
    }

    @Test func aRetriedVectorStillComparesWithItsEarlierAttempt() throws {
        let run = try HarnessRun()
        let harness = try TestHarness(
            vectors: try Vectors.product([Axis("vin", range: "1:3")]), logger: run.logger, stepName: "sweep",
            retry: try RetryConfig(maxRetries: 2))
        var seen: [(Int, Bool)] = []
        var attempts = 0
        try harness.runAll { v in
            seen.append((v.index, harness.context.changed("vin")))
            attempts += 1
            if v.index == 1 && attempts < 4 { try harness.measure("x", 5, limit: try Limit.between(0, 1)) }
        }
        try run.logger.close()
        #expect(seen.map(\.0) == [0, 1, 1, 1, 2])
        #expect(seen.map(\.1) == [true, true, false, false, true])
    }
}
