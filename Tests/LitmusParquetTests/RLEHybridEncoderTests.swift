@testable import LitmusParquet
import Testing

/// The RLE / bit-packing hybrid encoder: byte-exact vectors and a round trip through a
/// reference decoder written from the spec.
@Suite("RLEHybridEncoder")
struct RLEHybridEncoderTests {
    func encode(_ values: [UInt32], bitWidth: Int) -> [UInt8] {
        let out = ByteBuffer()
        values.withUnsafeBufferPointer { RLEHybridEncoder.encode($0, bitWidth: bitWidth, into: out) }
        return out.array
    }

    /// Decodes `count` values; also checks that every byte was consumed.
    func decode(_ bytes: [UInt8], bitWidth: Int, count: Int) -> [UInt32]? {
        var pos = 0
        var out: [UInt32] = []
        func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while pos < bytes.count {
                let byte = bytes[pos]
                pos += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
            return nil
        }
        while out.count < count {
            guard let header = varint() else { return nil }
            if header & 1 == 0 {
                var value: UInt32 = 0
                for k in 0..<((bitWidth + 7) / 8) {
                    guard pos < bytes.count else { return nil }
                    value |= UInt32(bytes[pos]) << (8 * UInt32(k))
                    pos += 1
                }
                out += Array(repeating: value, count: Int(header >> 1))
            } else {
                let n = Int(header >> 1) * 8
                guard pos + n * bitWidth / 8 <= bytes.count else { return nil }
                for k in 0..<n {
                    var value: UInt32 = 0
                    for bit in 0..<bitWidth {
                        let offset = k * bitWidth + bit
                        if bytes[pos + offset / 8] >> (offset % 8) & 1 == 1 { value |= 1 << UInt32(bit) }
                    }
                    out.append(value)
                }
                pos += n * bitWidth / 8
            }
        }
        guard pos == bytes.count else { return nil }
        return Array(out.prefix(count))
    }

    @Test func repeatedValueIsOneRun() {
        #expect(encode(Array(repeating: 1, count: 100), bitWidth: 1) == [0xC8, 0x01, 0x01])
        #expect(encode(Array(repeating: 300, count: 8), bitWidth: 9) == [0x10, 0x2C, 0x01])
        #expect(encode(Array(repeating: 0x0102_0304, count: 9), bitWidth: 32) == [0x12, 0x04, 0x03, 0x02, 0x01])
    }

    @Test("the bit-packing example of the Parquet spec")
    func specExample() {
        #expect(encode([0, 1, 2, 3, 4, 5, 6, 7], bitWidth: 3) == [0x03, 0x88, 0xC6, 0xFA])
    }

    @Test func bitPackingIsLeastSignificantBitFirst() {
        #expect(encode([0, 1, 0, 1, 0, 1, 0, 1], bitWidth: 1) == [0x03, 0xAA])
        // Fewer than 8 values: one group, padded with zeros.
        #expect(encode([1, 0, 1], bitWidth: 1) == [0x03, 0x05])
        #expect(encode([1], bitWidth: 1) == [0x03, 0x01])
    }

    @Test("runs are found on group boundaries")
    func literalsAndRuns() {
        // A literal group, then 20 ones: two whole groups and the tail make an RLE run.
        #expect(encode([0, 1, 0, 1, 0, 1, 0, 1] + Array(repeating: 1, count: 20), bitWidth: 1) == [0x03, 0xAA, 0x28, 0x01])
        // [0, 1, 0] then twelve 1s: no whole group of 1s after the first group, so all is
        // bit-packed (2 groups, the last padded).
        #expect(encode([0, 1, 0] + Array(repeating: 1, count: 12), bitWidth: 1) == [0x05, 0xFA, 0x7F])
        // A run first, then literals: 16 equal values are a run...
        #expect(encode(Array(repeating: 2, count: 16) + [1, 2, 3], bitWidth: 2) == [0x20, 0x02, 0x03, 0x39, 0x00])
        // ...8 narrow ones are cheaper bit-packed...
        #expect(encode(Array(repeating: 2, count: 8) + [1, 2, 3], bitWidth: 2) == [0x05, 0xAA, 0xAA, 0x39, 0x00])
        // ...8 wide ones are not.
        #expect(encode(Array(repeating: 9, count: 8) + [1], bitWidth: 4) == [0x10, 0x09, 0x03, 0x01, 0x00, 0x00, 0x00])
    }

    @Test("bit-packed runs hold at most 63 groups")
    func longLiteralsAreSplit() {
        let values = (0..<1000).map { UInt32($0 % 2) }
        let bytes = encode(values, bitWidth: 1)
        #expect(bytes.count == 1 + 63 + 1 + 62)
        #expect(bytes[0] == 0x7F)  // 63 groups << 1 | 1
        #expect(bytes[64] == 0x7D)  // 62 groups << 1 | 1
        #expect(decode(bytes, bitWidth: 1, count: 1000) == values)
    }

    @Test func empty() {
        #expect(encode([], bitWidth: 5) == [])
    }

    @Test func bitWidths() {
        #expect(RLEHybridEncoder.bitWidth(forMaxValue: 0) == 0)
        #expect(RLEHybridEncoder.bitWidth(forMaxValue: 1) == 1)
        #expect(RLEHybridEncoder.bitWidth(forMaxValue: 2) == 2)
        #expect(RLEHybridEncoder.bitWidth(forMaxValue: 255) == 8)
        #expect(RLEHybridEncoder.bitWidth(forMaxValue: 256) == 9)
        #expect(RLEHybridEncoder.bitWidth(forMaxValue: .max) == 32)
    }

    @Test("random data round-trips through a reference decoder", arguments: [1, 2, 3, 7, 8, 9, 13, 16, 20, 31, 32])
    func roundTrip(bitWidth: Int) {
        var random = SplitMix64(seed: UInt64(bitWidth))
        let mask: UInt32 = bitWidth == 32 ? .max : (1 << UInt32(bitWidth)) - 1
        for _ in 0..<40 {
            var values: [UInt32] = []
            let target = Int.random(in: 0...2000, using: &random)
            while values.count < target {
                let value = UInt32(truncatingIfNeeded: random.next()) & mask
                // Mix short and long runs with noise.
                let length = [1, 1, 2, 3, 7, 8, 9, 15, 64, 700].randomElement(using: &random)!
                values += Array(repeating: value, count: length)
            }
            let bytes = encode(values, bitWidth: bitWidth)
            #expect(decode(bytes, bitWidth: bitWidth, count: values.count) == values)
        }
    }

    func encodeLevels(_ levels: [UInt8]) -> [UInt8] {
        let out = ByteBuffer()
        levels.withUnsafeBufferPointer { RLEHybridEncoder.encodeLevels($0, into: out) }
        return out.array
    }

    @Test func definitionLevels() {
        // Two groups bit-packed: 0b11111011, then the 6-value tail 0b00111111.
        #expect(encodeLevels([1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]) == [0x05, 0xFB, 0x3F])
        // No nulls: one run.
        #expect(encodeLevels(Array(repeating: 1, count: 1000)) == [0xD0, 0x0F, 0x01])
        // All null: one run of zeros.
        #expect(encodeLevels(Array(repeating: 0, count: 5)) == [0x03, 0x00])
        #expect(encodeLevels(Array(repeating: 0, count: 17)) == [0x22, 0x00])
        #expect(encodeLevels([]) == [])
    }

    @Test("definition levels round-trip through the reference decoder")
    func definitionLevelsRoundTrip() {
        var random = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var levels: [UInt8] = []
            let target = Int.random(in: 0...3000, using: &random)
            while levels.count < target {
                let level = UInt8(random.next() & 1)
                levels += Array(repeating: level, count: [1, 1, 2, 5, 8, 9, 16, 17, 40, 600].randomElement(using: &random)!)
            }
            let bytes = encodeLevels(levels)
            #expect(decode(bytes, bitWidth: 1, count: levels.count) == levels.map(UInt32.init))
            var generic: [UInt8] = []
            let out = ByteBuffer()
            levels.withUnsafeBufferPointer { RLEHybridEncoder.encode($0, bitWidth: 1, into: out) }
            generic = out.array
            #expect(generic == bytes, "the byte-level and generic encoders agree")
        }
    }
}
