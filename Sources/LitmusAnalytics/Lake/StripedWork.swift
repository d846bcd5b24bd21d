import Dispatch
import Foundation

/// Runs work in stripes on several threads (stripe `s` takes items `s`, `s + n`, `s + 2n`, …)
/// and returns each stripe's result in stripe order.
enum StripedWork {
    static func run<T>(stripes: Int, _ body: @Sendable (Int) -> T) -> [T] {
        let results = Results<T>(count: stripes)
        DispatchQueue.concurrentPerform(iterations: stripes) { stripe in
            results.set(stripe, body(stripe))
        }
        return results.values.map { $0! }
    }

    /// The stripes' results, written once each under a lock.
    private final class Results<T>: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var values: [T?]

        init(count: Int) { values = Array(repeating: nil, count: count) }

        func set(_ index: Int, _ value: T) {
            lock.withLock { values[index] = value }
        }
    }
}
