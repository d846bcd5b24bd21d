import CLitmusSupport
import Testing

/// The CRC-32C of event-log and channel-segment records. Long buffers take a three-way
/// interleaved path (three chains over adjacent 4 KiB stripes, combined by multiplication):
/// it must give exactly the bit-by-bit definition for every length, alignment and split.
@Suite struct CRC32CTests {
    /// The definition, one bit at a time (reflected polynomial 0x82F63B78).
    private func reference(_ crc: UInt32, _ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c = ~crc
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        }
        return ~c
    }

    private func crc(_ crc: UInt32, _ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { litmus_crc32c(crc, $0.baseAddress, $0.count) }
    }

    @Test func theStandardCheckValue() {
        #expect(crc(0, ArraySlice(Array("123456789".utf8))) == 0xE306_9283)
    }

    @Test func everyLengthAlignmentAndSplitAgreesWithTheDefinition() {
        var random = SplitMix64(seed: 0x13)
        let data = (0..<(3 * 4096 * 3 + 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        // Around the stripe boundaries (3 x 4096 bytes per interleaved block) and beyond.
        var lengths = [0, 1, 7, 8, 9, 4095, 4096, 12_287, 12_288, 12_289, 12_295, 24_576, 24_583, 36_863, 36_864]
        for _ in 0..<40 { lengths.append(Int(random.next() % UInt64(data.count - 16))) }
        for length in lengths {
            let offset = Int(random.next() % 16)
            let slice = data[offset..<(offset + length)]
            let seed = UInt32(truncatingIfNeeded: random.next())
            let expected = reference(seed, slice)
            #expect(crc(seed, slice) == expected, "length \(length) at offset \(offset)")
            let cut = length == 0 ? 0 : Int(random.next() % UInt64(length))
            let split = crc(crc(seed, slice.prefix(cut)), slice.dropFirst(cut))
            #expect(split == expected, "length \(length) split at \(cut)")
        }
    }
}
