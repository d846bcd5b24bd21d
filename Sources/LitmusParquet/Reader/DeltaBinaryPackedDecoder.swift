/// Decodes DELTA_BINARY_PACKED integers: a header (block size, miniblocks per block, value
/// count, first value), then blocks of a minimum delta, one bit width per miniblock and the
/// miniblocks' bit-packed deltas. Arithmetic wraps, as the format specifies.
struct DeltaBinaryPackedDecoder {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The bytes consumed so far.
    var consumed: Int { position }

    private mutating func varint() throws(DecodeFailure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw .corrupt("DELTA_BINARY_PACKED data ends early") }
            let b = bytes[position]
            position += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            guard shift < 64 else { throw .corrupt("a DELTA_BINARY_PACKED varint is too long") }
        }
    }

    private mutating func zigzag() throws(DecodeFailure) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// The first `count` values.
    mutating func decode(count: Int) throws(DecodeFailure) -> [Int64] {
        let blockSize = try varint()
        let miniblocks = try varint()
        let total = try varint()
        var previous = try zigzag()
        guard count > 0 else { return [] }
        guard miniblocks > 0, blockSize > 0, blockSize % 128 == 0, blockSize / miniblocks % 32 == 0, blockSize <= 1 << 20,
            miniblocks <= 1 << 10
        else { throw .corrupt("a DELTA_BINARY_PACKED header is invalid (block \(blockSize), miniblocks \(miniblocks))") }
        guard total >= UInt64(count) else { throw .corrupt("a DELTA_BINARY_PACKED page holds \(total) values, not \(count)") }
        let perMiniblock = Int(blockSize / miniblocks)
        var out: [Int64] = []
        out.reserveCapacity(count)
        out.append(previous)
        while out.count < count {
            let minDelta = try zigzag()
            let widthsAt = position
            guard position + Int(miniblocks) <= bytes.count else { throw .corrupt("DELTA_BINARY_PACKED bit widths run past the page") }
            position += Int(miniblocks)
            for m in 0..<Int(miniblocks) where out.count < count {
                let width = Int(bytes[widthsAt + m])
                guard width <= 64 else { throw .corrupt("a DELTA_BINARY_PACKED bit width of \(width)") }
                let size = perMiniblock * width / 8
                let available = min(size, bytes.count - position)
                let take = min(perMiniblock, count - out.count)
                guard take * width <= available * 8 else { throw .corrupt("a DELTA_BINARY_PACKED miniblock runs past the page") }
                var bit = 0
                for _ in 0..<take {
                    var delta: UInt64 = 0
                    var got = 0
                    while got < width {
                        let byte = bytes[position + (bit >> 3)]
                        let offset = bit & 7
                        let n = min(8 - offset, width - got)
                        let part = (UInt64(byte) >> UInt64(offset)) & ((1 << UInt64(n)) - 1)
                        delta |= part << UInt64(got)
                        got += n
                        bit += n
                    }
                    previous = previous &+ minDelta &+ Int64(bitPattern: delta)
                    out.append(previous)
                }
                position += available
            }
        }
        return out
    }
}
