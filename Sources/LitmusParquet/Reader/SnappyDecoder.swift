/// Decodes the raw Snappy format (the block format Parquet's `SNAPPY` codec uses, not the
/// framing format): a varint length, then literals and back-references.
///
/// Bounded: the output is exactly the length the block announces, which must equal the length
/// the caller expects (the page header's); every literal and copy is checked against the input
/// and the output, so damaged input gives an error, never a read or write out of bounds.
enum SnappyDecoder {
    /// Decodes `input` into `output`, which must be exactly the uncompressed size.
    static func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecodeFailure) {
        var p = 0
        let n = input.count
        // The uncompressed length (varint, at most 5 bytes for 32 bits).
        var length: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard p < n, shift <= 28 else { throw .corrupt("snappy: the length header is damaged") }
            let b = input[p]
            p += 1
            length |= UInt64(b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
        }
        guard length == UInt64(output.count) else {
            throw .corrupt("snappy: the block holds \(length) bytes but the page header says \(output.count)")
        }
        guard let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let limit = output.count
        var o = 0
        while p < n {
            let tag = input[p]
            p += 1
            switch tag & 3 {
            case 0:
                var len = Int(tag >> 2)
                if len >= 60 {
                    let extra = len - 59
                    guard p + extra <= n else { throw .corrupt("snappy: a literal length runs past the input") }
                    len = 0
                    for i in 0..<extra { len |= Int(input[p + i]) << (8 * i) }
                    p += extra
                }
                len += 1
                guard len <= n - p else { throw .corrupt("snappy: a literal of \(len) bytes runs past the input") }
                guard len <= limit - o else { throw .corrupt("snappy: a literal overflows the announced length") }
                (out + o).update(from: input.baseAddress!.assumingMemoryBound(to: UInt8.self) + p, count: len)
                p += len
                o += len
            default:
                let len: Int
                let offset: Int
                switch tag & 3 {
                case 1:
                    guard p < n else { throw .corrupt("snappy: a copy runs past the input") }
                    len = 4 + Int((tag >> 2) & 7)
                    offset = Int(tag >> 5) << 8 | Int(input[p])
                    p += 1
                case 2:
                    guard p + 2 <= n else { throw .corrupt("snappy: a copy runs past the input") }
                    len = Int(tag >> 2) + 1
                    offset = Int(input[p]) | Int(input[p + 1]) << 8
                    p += 2
                default:
                    guard p + 4 <= n else { throw .corrupt("snappy: a copy runs past the input") }
                    len = Int(tag >> 2) + 1
                    offset = Int(input[p]) | Int(input[p + 1]) << 8 | Int(input[p + 2]) << 16 | Int(input[p + 3]) << 24
                    p += 4
                }
                guard offset > 0, offset <= o else { throw .corrupt("snappy: a copy refers to offset \(offset) before the start") }
                guard len <= limit - o else { throw .corrupt("snappy: a copy overflows the announced length") }
                if offset >= len {
                    (out + o).update(from: out + o - offset, count: len)
                } else {
                    // Overlapping: a repeated pattern, copied forward byte by byte.
                    for i in 0..<len { out[o + i] = out[o - offset + i] }
                }
                o += len
            }
        }
        guard o == limit else { throw .corrupt("snappy: the block ends after \(o) of \(limit) bytes") }
    }
}
