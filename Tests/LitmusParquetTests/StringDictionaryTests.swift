@testable import LitmusParquet
import Testing

/// The byte-keyed dictionary of string column chunks.
@Suite("StringDictionary")
struct StringDictionaryTests {
    func index(_ dictionary: StringDictionary, _ string: String, limit: Int = .max) -> Int32 {
        withUTF8Bytes(string) { dictionary.index(of: $0, length: $1, limit: limit) }
    }

    func entry(_ dictionary: StringDictionary, _ index: Int) -> [UInt8] {
        Array(dictionary.entry(index))
    }

    @Test func firstSeenOrderAndStableIndices() {
        let dictionary = StringDictionary()
        #expect(index(dictionary, "PASS") == 0)
        #expect(index(dictionary, "FAIL") == 1)
        #expect(index(dictionary, "PASS") == 0)
        #expect(index(dictionary, "") == 2)
        #expect(index(dictionary, "") == 2)
        #expect(index(dictionary, "FAIL") == 1)
        #expect(dictionary.count == 3)
        // The dictionary page body: PLAIN byte arrays (4-byte little-endian length, bytes).
        #expect(dictionary.plain.array == [4, 0, 0, 0] + Array("PASS".utf8) + [4, 0, 0, 0] + Array("FAIL".utf8) + [0, 0, 0, 0])
        #expect(entry(dictionary, 1) == Array("FAIL".utf8))
        #expect(entry(dictionary, 2) == [])
    }

    @Test("canonically equivalent strings are different entries")
    func noUnicodeNormalization() {
        let dictionary = StringDictionary()
        #expect("é" == "e\u{301}")  // equal as Swift Strings...
        #expect(index(dictionary, "é") == 0)
        #expect(index(dictionary, "e\u{301}") == 1)  // ...but not as bytes
        #expect(index(dictionary, "\u{212B}") == 2)
        #expect(index(dictionary, "Å") == 3)
        #expect(index(dictionary, "é") == 0)
        #expect(entry(dictionary, 1) == [0x65, 0xCC, 0x81])
    }

    @Test func limitRefusesNewEntriesOnly() {
        let dictionary = StringDictionary()
        #expect(index(dictionary, "abcd", limit: 16) == 0)  // 8 bytes
        #expect(index(dictionary, "efgh", limit: 16) == 1)  // 16 bytes: at the limit
        #expect(index(dictionary, "i", limit: 16) == -1)  // would be 21
        #expect(index(dictionary, "abcd", limit: 16) == 0)  // existing entries still found
        #expect(dictionary.count == 2)
        #expect(dictionary.byteSize == 16)
    }

    @Test func manyEntriesSurviveGrowth() {
        let dictionary = StringDictionary()
        let strings = (0..<20_000).map { "key-\($0 * 7919)" }
        for (i, string) in strings.enumerated() { #expect(index(dictionary, string) == Int32(i)) }
        for (i, string) in strings.enumerated().reversed() where i % 7 == 0 {
            #expect(index(dictionary, string) == Int32(i))
        }
        #expect(dictionary.count == strings.count)
        #expect(entry(dictionary, 12_345) == Array(strings[12_345].utf8))
    }

    @Test func removeAllStartsOver() {
        let dictionary = StringDictionary()
        _ = index(dictionary, "a")
        _ = index(dictionary, "b")
        dictionary.removeAll()
        #expect(dictionary.count == 0)
        #expect(dictionary.byteSize == 0)
        #expect(index(dictionary, "b") == 0)
    }

    @Test func longAndSimilarKeys() {
        let dictionary = StringDictionary()
        let base = String(repeating: "0123456789", count: 30)
        let keys = [base, base + "x", base + "y", "x" + base, String(base.dropLast()), String(repeating: "🧪", count: 100)]
        for (i, key) in keys.enumerated() { #expect(index(dictionary, key) == Int32(i)) }
        for (i, key) in keys.enumerated() { #expect(index(dictionary, key) == Int32(i)) }
    }

    @Test func byteOrder() {
        func compare(_ a: String, _ b: String) -> Int {
            let x = Array(a.utf8)
            let y = Array(b.utf8)
            return x.withUnsafeBytes { p in y.withUnsafeBytes { q in compareBytes(p.baseAddress, x.count, q.baseAddress, y.count) } }
        }
        #expect(compare("", "a") < 0)
        #expect(compare("Z", "a") < 0)
        #expect(compare("a", "ab") < 0)
        #expect(compare("zz", "é") < 0)  // 0x7A < 0xC3: unsigned bytes
        #expect(compare("é", "🧪") < 0)
        #expect(compare("abc", "abc") == 0)
        #expect(compare("b", "abc") > 0)
    }
}
