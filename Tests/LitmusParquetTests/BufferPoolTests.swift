@testable import LitmusParquet
import Testing

/// The memory writers reuse from one file to the next.
@Suite("BufferPool")
struct BufferPoolTests {
    /// One file after another, each needing a buffer of a slightly different odd size (a
    /// server writing each board's run file): the pool reuses what it kept instead of keeping
    /// one more block per file. (It used to keep a new exact-size block each time, in a class
    /// the next request never looked in, until 32 MiB were kept.)
    @Test func oddSizesOneAfterAnotherReuseOneBlock() {
        let pool = BufferPool(maxBytes: 32 << 20)
        var seen = Set<UnsafeMutableRawPointer>()
        for i in 0..<500 {
            let minimum = 7000 + (i * 37) % 900
            let (base, capacity) = pool.take(minimum)
            #expect(capacity >= minimum)
            seen.insert(base)
            pool.give(base, capacity)
        }
        #expect(pool.keptBytes == 8192)
        #expect(seen.count == 1)
    }

    /// A larger block serves a smaller request; what is kept never exceeds the limit.
    @Test func keptMemoryIsBounded() {
        let pool = BufferPool(maxBytes: 1 << 16)
        let blocks = (0..<40).map { _ in pool.take(5000) }
        for (base, capacity) in blocks { pool.give(base, capacity) }
        #expect(pool.keptBytes <= 1 << 16)
        #expect(pool.keptBytes == 8 * 8192)
        let (base, capacity) = pool.take(3000)
        #expect(capacity == 8192)
        pool.give(base, capacity)
    }
}
