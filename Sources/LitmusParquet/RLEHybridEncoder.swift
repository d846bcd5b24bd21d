/// The RLE / bit-packing hybrid encoding of Parquet (Encodings.md, "RLE"), used for
/// definition levels and dictionary indices.
///
/// The output is a sequence of runs:
///  - an RLE run: varint `count << 1`, then the repeated value in `ceil(bitWidth / 8)` bytes,
///    little-endian;
///  - a bit-packed run: varint `groups << 1 | 1`, then `groups * 8` values of `bitWidth` bits
///    each, packed least significant bit first (`groups * bitWidth` bytes).
///
/// The encoder looks at the values in groups of 8 (the bit-packing unit): a run of equal values
/// covering at least two whole groups (or one, for wide values where a literal group costs more
/// than a run) becomes an RLE run, everything else is bit-packed. Working a group at a time
/// keeps the per-value cost to a compare and a shift, and for 1-bit definition levels stored
/// one per byte a group is a single 64-bit word. Bit-packed runs hold at most 63 groups, as
/// parquet-mr and Arrow write them, so their header is always one byte; only the last group of
/// the data may be padded with zeros (readers stop after the page's value count). Lengths are
/// not written here: the caller adds the 4-byte prefix of data page V1 definition levels, or
/// the bit-width byte of dictionary indices.
enum RLEHybridEncoder {
    /// Groups of 8 values per bit-packed run at most (its header then fits in one byte).
    static let maxLiteralGroups = 63

    /// Bits needed to store every value up to `maxValue`.
    static func bitWidth(forMaxValue maxValue: UInt32) -> Int {
        maxValue == 0 ? 0 : 32 - maxValue.leadingZeroBitCount
    }

    /// Appends the encoding of `values` (each below `1 << bitWidth`) to `out`.
    static func encode<T: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafeBufferPointer<T>, bitWidth: Int, into out: ByteBuffer
    ) {
        precondition(bitWidth >= 0 && bitWidth <= 32, "bit width \(bitWidth) out of range")
        let n = values.count
        guard n > 0, let base = values.baseAddress else { return }
        var writer = RunWriter(out: out, bitWidth: bitWidth)
        var i = 0
        while i &+ 8 <= n {
            let p = base + i
            let first = p[0]
            if p[1] == first && p[2] == first && p[3] == first && p[4] == first && p[5] == first
                && p[6] == first && p[7] == first
            {
                writer.uniformGroup(UInt64(first))
            } else {
                writer.literalGroup(p, count: 8)
            }
            i &+= 8
        }
        writer.finish(tail: base + i, count: n &- i)
    }

    /// Appends the encoding of 1-bit definition levels stored one per byte (each 0 or 1).
    static func encodeLevels(_ levels: UnsafeBufferPointer<UInt8>, into out: ByteBuffer) {
        let n = levels.count
        guard n > 0, let base = levels.baseAddress else { return }
        var writer = RunWriter(out: out, bitWidth: 1)
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i &+ 8 <= n {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if word == 0 {
                writer.uniformGroup(0)
            } else if word == 0x0101_0101_0101_0101 {
                writer.uniformGroup(1)
            } else {
                // Bytes b0...b7 (each 0 or 1): the multiplication gathers b_j into bit 56 + j
                // without carries.
                writer.literalGroup(packed: (word &* 0x0102_0408_1020_4080) >> 56)
            }
            i &+= 8
        }
        writer.finish(tail: base + i, count: n &- i)
    }
}

/// The run-building state of ``RLEHybridEncoder``.
private struct RunWriter {
    let out: ByteBuffer
    let bitWidth: Int
    /// Offset in `out` of the open bit-packed run's header byte, or -1.
    var literalHeader = -1
    var literalGroups = 0
    /// The pending run of equal values (not yet written): its value and length.
    var runValue: UInt64 = 0
    var runLength = 0

    init(out: ByteBuffer, bitWidth: Int) {
        self.out = out
        self.bitWidth = bitWidth
    }

    /// Whether a pending run of `length` values is written as an RLE run rather than
    /// bit-packed: always from two groups on; for one group, when its packed form (`bitWidth`
    /// bytes) is larger than a run (header and value bytes).
    func worthARun(_ length: Int) -> Bool {
        length >= 16 || (length >= 8 && bitWidth >= 4)
    }

    @inline(__always)
    mutating func uniformGroup(_ value: UInt64) {
        if runLength > 0 && runValue == value {
            runLength &+= 8
        } else {
            flushRun()
            runValue = value
            runLength = 8
        }
    }

    /// Adds a group (or the final, partial group) of values to the bit-packed run.
    @inline(__always)
    mutating func literalGroup<T: FixedWidthInteger & UnsignedInteger>(_ values: UnsafePointer<T>, count: Int) {
        flushRun()
        if bitWidth <= 8 {
            var packed: UInt64 = 0
            var shift: UInt64 = 0
            for k in 0..<count {
                packed |= UInt64(values[k]) << shift
                shift &+= UInt64(bitWidth)
            }
            appendPacked(packed)
        } else {
            openLiterals()
            out.reserve(bitWidth)
            let dst = out.end
            var accumulator: UInt64 = 0
            var bits = 0
            var written = 0
            for k in 0..<8 {
                let value: UInt64 = k < count ? UInt64(values[k]) : 0
                accumulator |= value << UInt64(bits)
                bits &+= bitWidth
                while bits >= 8 {
                    dst.storeBytes(of: UInt8(truncatingIfNeeded: accumulator), toByteOffset: written, as: UInt8.self)
                    written &+= 1
                    accumulator >>= 8
                    bits &-= 8
                }
            }
            out.count &+= bitWidth
            closeGroup()
        }
    }

    /// Adds a group already packed into the low `bitWidth` bytes of `packed` (bitWidth <= 8).
    @inline(__always)
    mutating func literalGroup(packed: UInt64) {
        flushRun()
        appendPacked(packed)
    }

    @inline(__always)
    private mutating func appendPacked(_ packed: UInt64) {
        openLiterals()
        out.reserve(8)
        out.end.storeBytes(of: packed.littleEndian, as: UInt64.self)
        out.count &+= bitWidth
        closeGroup()
    }

    @inline(__always)
    private mutating func openLiterals() {
        if literalHeader < 0 {
            literalHeader = out.count
            out.append(0)
        }
    }

    @inline(__always)
    private mutating func closeGroup() {
        literalGroups &+= 1
        if literalGroups == RLEHybridEncoder.maxLiteralGroups { closeLiterals() }
    }

    private mutating func closeLiterals() {
        guard literalHeader >= 0 else { return }
        out.base.storeBytes(of: UInt8(literalGroups << 1 | 1), toByteOffset: literalHeader, as: UInt8.self)
        literalHeader = -1
        literalGroups = 0
    }

    /// Writes the pending run: as an RLE run if worth it, else as bit-packed groups.
    private mutating func flushRun() {
        guard runLength > 0 else { return }
        let length = runLength
        runLength = 0
        if worthARun(length) {
            closeLiterals()
            out.appendVarint(UInt64(length) << 1)
            var v = runValue
            for _ in 0..<((bitWidth + 7) / 8) {
                out.append(UInt8(truncatingIfNeeded: v))
                v >>= 8
            }
            return
        }
        // Short runs are whole groups, except at the very end of the data.
        let value = runValue
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 8) { group in
            group.initialize(repeating: value)
            var remaining = length
            while remaining > 0 {
                literalGroup(UnsafePointer(group.baseAddress!), count: min(remaining, 8))
                remaining -= 8
            }
        }
    }

    /// Adds the last `count` (< 8) values and closes everything.
    mutating func finish<T: FixedWidthInteger & UnsignedInteger>(tail: UnsafePointer<T>, count: Int) {
        if count > 0 {
            if runLength > 0 && (0..<count).allSatisfy({ UInt64(tail[$0]) == runValue }) {
                runLength &+= count
            } else {
                literalGroup(tail, count: count)
            }
        }
        flushRun()
        closeLiterals()
    }
}
