@testable import LitmusParquet
import Testing

/// The cache from a String's raw bytes to its dictionary index.
@Suite("StringBitsCache")
struct StringBitsCacheTests {
    /// Looks up every value, counting the slow-path lookups, with `lookup` standing in for the
    /// dictionary (it numbers distinct UTF-8 byte strings).
    func indices(_ values: [String], cache: StringBitsCache, dictionary: inout [[UInt8]: Int32], misses: inout Int) -> [Int32] {
        values.withUnsafeBufferPointer { buffer in
            buffer.indices.map { i in
                cache.index(of: buffer, at: i) {
                    misses += 1
                    let key = Array(buffer[i].utf8)
                    if let known = dictionary[key] { return known }
                    dictionary[key] = Int32(dictionary.count)
                    return Int32(dictionary.count - 1)
                }
            }
        }
    }

    @Test func layoutIsSupported() {
        #expect(StringBitsCache.isSupported)
    }

    @Test func repeatedSmallStringsHitTheCache() {
        let cache = StringBitsCache()
        var dictionary: [[UInt8]: Int32] = [:]
        var misses = 0
        // Built separately at run time: equal small strings have equal bits.
        let values = (0..<1000).map { i in ["PA" + "SS", "FA" + "IL", String("SKIP".reversed())][i % 3] }
        let result = indices(values, cache: cache, dictionary: &dictionary, misses: &misses)
        #expect(result == (0..<1000).map { Int32($0 % 3) })
        #expect(misses == 3)
    }

    @Test func equivalentButDifferentStringsMiss() {
        let cache = StringBitsCache()
        var dictionary: [[UInt8]: Int32] = [:]
        var misses = 0
        let result = indices(["é", "e\u{301}", "é", "e\u{301}"], cache: cache, dictionary: &dictionary, misses: &misses)
        #expect(result == [0, 1, 0, 1])
        #expect(misses == 2)
    }

    @Test func largeStringsAreCachedPerInstance() {
        let cache = StringBitsCache()
        var dictionary: [[UInt8]: Int32] = [:]
        var misses = 0
        let shared = String(repeating: "long value ", count: 10)
        let copy = String(decoding: Array(shared.utf8), as: UTF8.self)  // same bytes, other storage
        let result = indices([shared, shared, copy, copy, shared], cache: cache, dictionary: &dictionary, misses: &misses)
        #expect(result == [0, 0, 0, 0, 0])
        #expect(misses == 2)
    }

    @Test func invalidateForgetsEverything() {
        let cache = StringBitsCache()
        var dictionary: [[UInt8]: Int32] = [:]
        var misses = 0
        _ = indices(["a", "b"], cache: cache, dictionary: &dictionary, misses: &misses)
        cache.invalidate()
        _ = indices(["a", "b"], cache: cache, dictionary: &dictionary, misses: &misses)
        #expect(misses == 4)
    }

    @Test func refusedValuesAreNotCached() {
        let cache = StringBitsCache()
        var calls = 0
        let values = ["x", "x"]
        values.withUnsafeBufferPointer { buffer in
            for i in buffer.indices {
                #expect(cache.index(of: buffer, at: i) { calls += 1; return -1 } == -1)
            }
        }
        #expect(calls == 2)
    }
}
