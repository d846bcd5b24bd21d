/// Decodes Parquet's RLE/bit-packing hybrid encoding (definition levels, dictionary indices,
/// RLE booleans): runs of `count << 1` followed by one value, and bit-packed runs of
/// `(groups << 1) | 1` followed by `groups × 8` values packed least significant bit first.
///
/// Bounded: it writes exactly the number of values asked for (a run promising more is cut),
/// and fails when the data ends before that many were read.
struct RLEHybridDecoder {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private let bitWidth: Int

    init(_ bytes: UnsafeRawBufferPointer, bitWidth: Int) {
        self.bytes = bytes
        self.bitWidth = bitWidth
    }

    private mutating func varint() throws(DecodeFailure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw .corrupt("RLE data ends inside a run header") }
            let b = bytes[position]
            position += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            guard shift < 64 else { throw .corrupt("an RLE run header is longer than 10 bytes") }
        }
    }

    /// Fills `out` with the next `out.count` values.
    mutating func decode(into out: UnsafeMutableBufferPointer<UInt32>) throws(DecodeFailure) {
        let count = out.count
        var filled = 0
        if bitWidth == 0 {
            // Every value is 0 (a dictionary of one entry); the data may be empty.
            out.update(repeating: 0)
            return
        }
        guard bitWidth <= 32 else { throw .corrupt("an RLE bit width of \(bitWidth) is larger than 32") }
        let byteWidth = (bitWidth + 7) / 8
        let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
        while filled < count {
            let header = try varint()
            if header & 1 == 0 {
                let run = header >> 1
                guard position + byteWidth <= bytes.count else { throw .corrupt("RLE data ends inside a run value") }
                var value: UInt32 = 0
                for i in 0..<byteWidth { value |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
                position += byteWidth
                let take = Int(min(run, UInt64(count - filled)))
                (out.baseAddress! + filled).update(repeating: value, count: take)
                filled += take
            } else {
                let groups = header >> 1
                guard groups <= UInt64(Int32.max) else { throw .corrupt("a bit-packed RLE run claims \(groups) groups") }
                let values = Int(groups) * 8
                let groupBytes = Int(groups) * bitWidth
                // The last run may be cut short of its padding; read what is there.
                let available = min(groupBytes, bytes.count - position)
                let take = min(values, count - filled)
                let needBits = take * bitWidth
                guard needBits <= available * 8 else { throw .corrupt("RLE data ends inside a bit-packed run") }
                var bitPos = 0
                let base = position
                for i in 0..<take {
                    let byte = base + bitPos >> 3
                    let shift = UInt64(bitPos & 7)
                    // Up to 5 bytes hold 32 bits at any shift; read only those inside the data.
                    var word: UInt64 = 0
                    let last = min(byte + 5, base + available)
                    var k = byte
                    while k < last {
                        word |= UInt64(bytes[k]) << (8 * UInt64(k - byte))
                        k += 1
                    }
                    out[filled + i] = UInt32(truncatingIfNeeded: (word >> shift) & mask)
                    bitPos += bitWidth
                }
                filled += take
                position += available
            }
        }
    }

    /// The bytes consumed so far.
    var consumed: Int { position }
}

/// Reads a bit width for `maxValue` (the number of bits needed to store it).
func bitWidth(forMaxLevel maxValue: Int) -> Int {
    maxValue == 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount
}
