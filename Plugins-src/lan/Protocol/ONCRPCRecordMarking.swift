// ONC RPC record marking over TCP (RFC 5531 section 11): a record is one or more fragments,
// each behind a 4-byte big-endian header whose bit 31 marks the last fragment and whose low
// 31 bits give the fragment's length.

/// Builds record-marking headers and framed records.
public enum ONCRPCRecordMarking {
    /// Bit 31 of a fragment header: this fragment ends the record.
    public static let lastFragmentBit: UInt32 = 0x8000_0000
    /// The largest fragment length a header can express.
    public static let maxFragmentLength = Int(Int32.max)

    /// The header word of a fragment of `length` bytes.
    public static func header(length: Int, last: Bool) -> UInt32 {
        UInt32(truncatingIfNeeded: min(length, maxFragmentLength)) | (last ? lastFragmentBit : 0)
    }

    /// Frames `record` as fragments of at most `maxFragment` bytes (one fragment by default).
    public static func frame(_ record: [UInt8], maxFragment: Int = maxFragmentLength) -> [UInt8] {
        let size = max(1, min(maxFragment, maxFragmentLength))
        var out: [UInt8] = []
        out.reserveCapacity(record.count + 4 * (record.count / size + 1))
        var offset = 0
        repeat {
            let n = min(size, record.count - offset)
            let last = offset + n == record.count
            appendHeader(&out, header(length: n, last: last))
            out.append(contentsOf: record[offset..<(offset + n)])
            offset += n
        } while offset < record.count
        return out
    }

    /// Writes the single-fragment header of a record built with 4 placeholder bytes in front
    /// (see ``XDRWriter/init(prefix:capacity:)``), so the record goes out in one send.
    public static func sealSingleFragment(_ w: inout XDRWriter) {
        w.patch(header(length: w.bytes.count - 4, last: true), at: 0)
    }

    static func appendHeader(_ out: inout [UInt8], _ word: UInt32) {
        out.append(UInt8(truncatingIfNeeded: word >> 24))
        out.append(UInt8(truncatingIfNeeded: word >> 16))
        out.append(UInt8(truncatingIfNeeded: word >> 8))
        out.append(UInt8(truncatingIfNeeded: word))
    }
}

/// Rebuilds records from a byte stream, fragment by fragment, refusing any record larger than
/// ``maxRecordSize`` before allocating for it.
///
/// It keeps its place between calls, so a read interrupted by a deadline resumes exactly where
/// it stopped: the stream never loses its framing. Either pull bytes straight into the record
/// with ``receive(_:)`` (no intermediate copy) or push bytes with ``feed(_:)``.
public struct ONCRPCRecordReassembler: Sendable {
    /// The largest record accepted, in bytes (the sum of its fragments).
    public var maxRecordSize: Int

    private var header: UInt32 = 0
    private var headerHave = 0
    /// Bytes still expected in the current fragment; nil while reading a header.
    private var fragmentLeft: Int?
    private var fragmentIsLast = false
    private var record: [UInt8] = []
    /// Valid bytes in `record` (it is sized ahead to the current fragment's end).
    private var filled = 0
    /// Fragments in the current record (for messages).
    private var fragments = 0

    /// Records up to this size are returned as copies when the reassembler holds larger
    /// storage, so short replies do not take the storage a large one will need.
    static let copyLimit = 4096

    public init(maxRecordSize: Int) {
        self.maxRecordSize = max(0, maxRecordSize)
    }

    /// Whether a record is partly received (a deadline passed mid-record).
    public var isMidRecord: Bool { headerHave > 0 || fragmentLeft != nil || filled > 0 || fragments > 0 }

    /// Makes one step: calls `fill` once with space for the next bytes of the stream (a header
    /// or fragment data, never past the current fragment) and returns a record if that
    /// completed one. `fill` returns how many bytes it wrote (at least 1; it throws on EOF).
    public mutating func receive(_ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> [UInt8]? {
        if let left = fragmentLeft {
            if left > 0 {
                let n = try record.withUnsafeMutableBytes { raw -> Int in
                    let space = UnsafeMutableRawBufferPointer(rebasing: raw[filled..<(filled + left)])
                    return min(max(0, try fill(space)), left)
                }
                filled += n
                fragmentLeft = left - n
            }
            return try finishFragmentIfDone()
        }
        let want = 4 - headerHave
        let n = try withUnsafeTemporaryAllocation(byteCount: 4, alignment: 4) { word -> Int in
            let space = UnsafeMutableRawBufferPointer(rebasing: word[0..<want])
            let n = min(max(0, try fill(space)), want)
            for i in 0..<n { header = header << 8 | UInt32(space[i]) }
            return n
        }
        headerHave += n
        guard headerHave == 4 else { return nil }
        try startFragment()
        return try finishFragmentIfDone()
    }

    /// Pushes `bytes` and returns every record they complete, in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let record = try receive { space in
                let n = min(space.count, bytes.count - offset)
                space.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                offset += n
                return n
            }
            if let record { records.append(record) }
        }
        return records
    }

    /// Pushes `bytes` and returns every record they complete, in order.
    public mutating func feed(_ bytes: [UInt8]) throws -> [[UInt8]] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// Hands back the storage of a record this reassembler returned, once the caller is done
    /// with it, so the next record of a similar size reuses the memory instead of mapping
    /// fresh pages (large replies otherwise cost a page fault per 4 KiB). Ignored mid-record.
    public mutating func recycle(_ storage: consuming [UInt8]) {
        guard record.isEmpty, filled == 0, fragmentLeft == nil, storage.capacity > record.capacity else { return }
        record = consume storage
        record.removeAll(keepingCapacity: true)
    }

    /// Forgets any partial record (after the connection it came from is closed).
    public mutating func reset() {
        header = 0
        headerHave = 0
        fragmentLeft = nil
        fragmentIsLast = false
        record = []
        filled = 0
        fragments = 0
    }

    private mutating func startFragment() throws {
        let length = Int(header & ~ONCRPCRecordMarking.lastFragmentBit)
        let last = header & ONCRPCRecordMarking.lastFragmentBit != 0
        header = 0
        headerHave = 0
        guard length <= maxRecordSize - filled else {
            let total = filled + length
            let where_ = fragments == 0 ? "" : " (after \(fragments) fragments of \(filled) bytes)"
            reset()
            throw XDRError(
                "an RPC record of at least \(total) bytes\(where_) exceeds the limit of \(maxRecordSize) bytes; the stream is out of step or the peer is not speaking ONC RPC")
        }
        fragments += 1
        fragmentIsLast = last
        fragmentLeft = length
        if length > 0 {
            if record.isEmpty && record.capacity < length {
                record = [UInt8](repeating: 0, count: length)
            } else {
                record.append(contentsOf: repeatElement(0, count: length))
            }
        }
    }

    private mutating func finishFragmentIfDone() throws -> [UInt8]? {
        guard fragmentLeft == 0 else { return nil }
        fragmentLeft = nil
        guard fragmentIsLast else { return nil }
        let done: [UInt8]
        if record.count <= Self.copyLimit && record.capacity > Self.copyLimit {
            // A short reply: copy it out and keep the big storage for the next large one.
            done = record.withUnsafeBytes { source in
                [UInt8](unsafeUninitializedCapacity: source.count) { buffer, count in
                    if let base = buffer.baseAddress, source.count > 0 {
                        base.initialize(from: source.bindMemory(to: UInt8.self).baseAddress!, count: source.count)
                    }
                    count = source.count
                }
            }
            record.removeAll(keepingCapacity: true)
        } else {
            done = record
            record = []
        }
        filled = 0
        fragments = 0
        fragmentIsLast = false
        return done
    }
}
