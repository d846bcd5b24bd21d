import CLitmusSupport
import Foundation

/// Something a reader found wrong in a segment file, and where.
public struct ChannelSegmentIssue: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The end of the last records written is missing or incomplete (a crash or power loss
        /// during a write). The records before it are intact; the reader skips the tail.
        case tornTail = "torn tail"
        /// Bytes in the middle of a segment that are not a valid record (a CRC mismatch, a
        /// broken length), followed by valid records again.
        case corruption
        /// Sample offsets that should be there are missing (or repeat) between records.
        case gap
    }

    public var kind: Kind
    /// The segment file.
    public var path: String
    /// Where the problem starts in the file.
    public var byteOffset: Int64
    /// How many bytes it spans (skipped by the reader).
    public var byteCount: Int64
    /// What exactly is wrong.
    public var detail: String

    public var description: String {
        "\(path): \(kind.rawValue) at byte \(byteOffset) (\(byteCount) bytes): \(detail)"
    }
}

/// Reads segment files: checks each record's frame and CRC, tells a torn tail from mid-file
/// corruption, and decodes data records.
///
/// A record that is not valid (length past the end, zero length, CRC mismatch, unknown kind)
/// is a **torn tail** when no valid record follows it in the file, and **corruption**
/// otherwise: the reader then resynchronises on the next offset where a whole valid record
/// starts. A torn tail can only come from an interrupted write (the writer syncs a segment
/// before it starts the next one), so it is skipped; corruption is reported with its location.
enum ChannelSegmentReader {
    /// One data record: where its payload is and which samples it holds.
    struct Record {
        var payload: Range<Int>
        var firstOffset: Int64
        var count: Int
        /// Byte offset of the record (frame) in the file.
        var position: Int
    }

    struct Segment {
        var path: String
        var number: Int
        var bytes: [UInt8]
        var header: ChannelSegmentHeader?
        var records: [Record]
        var issues: [ChannelSegmentIssue]
    }

    /// The segment files of a channel directory, in order.
    static func segmentFiles(_ directory: String) -> [(number: Int, path: String)] {
        System.directoryEntries(directory).compactMap { name in
            ChannelSegmentFormat.segmentNumber(name).map { ($0, directory + "/" + name) }
        }.sorted { $0.number < $1.number }
    }

    // MARK: Parsing

    /// Reads and checks a whole segment.
    static func parse(path: String, number: Int) throws(ChannelStoreError) -> Segment {
        let bytes: [UInt8]
        do { bytes = try System.readWholeFile(path) } catch {
            throw ChannelStoreError(.io, "cannot read segment: \(error)", path: path)
        }
        var segment = Segment(path: path, number: number, bytes: bytes, header: nil, records: [], issues: [])
        bytes.withUnsafeBytes { raw in
            var position = 0
            var first = true
            while position < raw.count {
                switch check(raw, at: position) {
                case .success(let payload):
                    interpret(raw, payload: payload, position: position, isFirst: first, into: &segment)
                    position = payload.upperBound
                case .failure(let problem):
                    if let next = nextValidRecord(raw, after: position) {
                        segment.issues.append(
                            ChannelSegmentIssue(
                                kind: .corruption, path: path, byteOffset: Int64(position), byteCount: Int64(next - position),
                                detail: "\(problem.message); valid records resume at byte \(next)"))
                        position = next
                    } else {
                        segment.issues.append(
                            ChannelSegmentIssue(
                                kind: .tornTail, path: path, byteOffset: Int64(position),
                                byteCount: Int64(raw.count - position), detail: problem.message))
                        position = raw.count
                    }
                }
                first = false
            }
        }
        if segment.header == nil && !bytes.isEmpty && !segment.issues.contains(where: { $0.byteOffset == 0 }) {
            segment.issues.append(
                ChannelSegmentIssue(
                    kind: .corruption, path: path, byteOffset: 0, byteCount: 0, detail: "the segment has no header record"))
        }
        return segment
    }

    /// Reads only the header record of a segment (for finding the segment that holds an offset).
    static func header(path: String) -> ChannelSegmentHeader? {
        guard let fd = try? System.openFile(path, flags: O_RDONLY) else { return nil }
        defer { System.closeFile(fd) }
        guard let frame = try? System.readAt(fd, offset: 0, count: 8, path: path), frame.count == 8 else { return nil }
        let length = frame.withUnsafeBytes { Int(ChannelSegmentFormat.load($0, 0, as: UInt32.self)) }
        guard length > 1, length < 1 << 20, let record = try? System.readAt(fd, offset: 0, count: 8 + length, path: path)
        else { return nil }
        return record.withUnsafeBytes { raw -> ChannelSegmentHeader? in
            guard case .success(let payload) = check(raw, at: 0), raw[payload.lowerBound] == ChannelSegmentFormat.headerKind
            else { return nil }
            return try? ChannelSegmentFormat.parseHeader(
                UnsafeRawBufferPointer(rebasing: raw[(payload.lowerBound + 1)..<payload.upperBound]))
        }
    }

    /// Whether a valid record starts at `position`: its payload range, or why not.
    static func check(_ raw: UnsafeRawBufferPointer, at position: Int) -> Result<Range<Int>, ChannelFormatProblem> {
        guard raw.count - position >= ChannelSegmentFormat.frameSize else {
            return .failure(ChannelFormatProblem("a record frame is cut short (\(raw.count - position) of 8 bytes)"))
        }
        let length = Int(ChannelSegmentFormat.load(raw, position, as: UInt32.self))
        let stored = ChannelSegmentFormat.load(raw, position + 4, as: UInt32.self)
        let start = position + ChannelSegmentFormat.frameSize
        guard length > 0 else { return .failure(ChannelFormatProblem("a record has length 0")) }
        guard length <= raw.count - start else {
            return .failure(
                ChannelFormatProblem("a record of \(length) bytes runs past the end of the file (\(raw.count - start) bytes left)"))
        }
        let kind = raw[start]
        guard kind == ChannelSegmentFormat.dataKind || kind == ChannelSegmentFormat.headerKind else {
            return .failure(ChannelFormatProblem("a record has unknown kind 0x\(String(kind, radix: 16))"))
        }
        let crc = litmus_crc32c(0, raw.baseAddress! + start, length)
        guard crc == stored else {
            return .failure(
                ChannelFormatProblem(
                    "CRC mismatch in a record of \(length) bytes (stored \(hex(stored)), computed \(hex(crc)))"))
        }
        return .success(start..<(start + length))
    }

    private static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The first offset after `position` where a whole valid record starts, if any.
    ///
    /// Each candidate offset is first checked against what a record's first bytes must be
    /// (kind, type code, time mode, a length that fits the sample count), so the CRC, which
    /// costs the record's whole length, is computed only for the rare candidates that pass.
    private static func nextValidRecord(_ raw: UnsafeRawBufferPointer, after position: Int) -> Int? {
        var q = position + 1
        while q + ChannelSegmentFormat.frameSize < raw.count {
            if plausibleRecord(raw, at: q), case .success = check(raw, at: q) { return q }
            q += 1
        }
        return nil
    }

    /// Whether the bytes at `q` look like the start of a record (before checking its CRC).
    private static func plausibleRecord(_ raw: UnsafeRawBufferPointer, at q: Int) -> Bool {
        let start = q + ChannelSegmentFormat.frameSize
        let available = raw.count - start
        let kind = raw[start]
        guard kind == ChannelSegmentFormat.dataKind || kind == ChannelSegmentFormat.headerKind else { return false }
        let length = Int(ChannelSegmentFormat.load(raw, q, as: UInt32.self))
        guard length > 1, length <= available else { return false }
        if kind == ChannelSegmentFormat.headerKind { return raw[start + 1] == UInt8(ascii: "{") && length < 1 << 20 }
        guard length >= ChannelSegmentFormat.dataHeaderSize + 8 else { return false }
        let code = raw[start + 1]
        let mode = raw[start + 2]
        guard (1...6).contains(code), mode <= 1, raw[start + 3] == 0 else { return false }
        let n = Int(ChannelSegmentFormat.load(raw, start + 4, as: UInt32.self))
        guard n > 0 else { return false }
        let fixed = ChannelSegmentFormat.dataHeaderSize + 8 * (mode == 1 ? n : 1)
        switch code {
        case 1, 2: return length == fixed + 8 * n
        case 3: return length == fixed + n
        case 4, 5: return length >= fixed + 4 * n
        default: return length >= fixed + 20 * n
        }
    }

    /// Files a valid record as the header or a data record (or an issue when its content is
    /// not what the format says).
    private static func interpret(
        _ raw: UnsafeRawBufferPointer, payload: Range<Int>, position: Int, isFirst: Bool, into segment: inout Segment
    ) {
        func problem(_ text: String) {
            segment.issues.append(
                ChannelSegmentIssue(
                    kind: .corruption, path: segment.path, byteOffset: Int64(position),
                    byteCount: Int64(payload.upperBound - position), detail: text))
        }
        if raw[payload.lowerBound] == ChannelSegmentFormat.headerKind {
            guard isFirst else { return problem("a header record in the middle of the segment") }
            do {
                segment.header = try ChannelSegmentFormat.parseHeader(
                    UnsafeRawBufferPointer(rebasing: raw[(payload.lowerBound + 1)..<payload.upperBound]))
            } catch {
                problem(error.message)
            }
            return
        }
        guard payload.count >= ChannelSegmentFormat.dataHeaderSize else { return problem("a data record is too short") }
        let p = payload.lowerBound
        let count = Int(ChannelSegmentFormat.load(raw, p + 4, as: UInt32.self))
        let first = ChannelSegmentFormat.load(raw, p + 8, as: Int64.self)
        guard count > 0, first >= 0 else { return problem("a data record has no samples or a negative offset") }
        segment.records.append(Record(payload: payload, firstOffset: first, count: count, position: position))
    }

    // MARK: Reading a channel

    /// Walks a channel's segments in order and hands each data record to `visit`, checking
    /// that sample offsets follow each other without gaps or repeats.
    ///
    /// - Parameter tolerateCorruption: when false, mid-file corruption and gaps throw
    ///   `.corrupt` (naming the file and byte offset); a torn tail never throws.
    /// - Returns: the channel's descriptor and the issues met.
    static func scan(
        directory: String, expecting uri: ChannelURI?, tolerateCorruption: Bool,
        visit: (Segment, Record, ChannelDescriptor) throws -> Void
    ) throws -> (descriptor: ChannelDescriptor, issues: [ChannelSegmentIssue]) {
        let files = segmentFiles(directory)
        guard !files.isEmpty else {
            throw ChannelStoreError(.notFound, "channel directory \(directory) has no samples yet (no segment files)", path: directory)
        }
        var descriptor = files.lazy.compactMap { header(path: $0.path)?.descriptor }.first
        var issues: [ChannelSegmentIssue] = []
        var expected: Int64 = 0
        func problem(_ issue: ChannelSegmentIssue) throws {
            issues.append(issue)
            if !tolerateCorruption && issue.kind != .tornTail {
                throw ChannelStoreError(
                    .corrupt,
                    "damaged channel segment: \(issue) (read with tolerateCorruption: true to get the intact records)",
                    path: issue.path)
            }
        }
        for file in files {
            let segment = try parse(path: file.path, number: file.number)
            for issue in segment.issues { try problem(issue) }
            if descriptor == nil { descriptor = segment.header?.descriptor }
            guard let descriptor else { continue }
            if let uri, descriptor.id != uri.channelID || descriptor.sessionID != uri.sessionID {
                throw ChannelStoreError(
                    .corrupt,
                    "segment \(file.path) belongs to channel \(descriptor.id.debugDescription) of session "
                        + "\(descriptor.sessionID.uuidString.lowercased()), not to \(uri)", path: file.path)
            }
            if let header = segment.header, header.firstSampleOffset != expected, segment.records.isEmpty {
                try problem(
                    ChannelSegmentIssue(
                        kind: .gap, path: file.path, byteOffset: 0, byteCount: 0,
                        detail: "the segment starts at sample_offset \(header.firstSampleOffset), expected \(expected)"))
            }
            for record in segment.records {
                if record.firstOffset != expected {
                    let detail =
                        record.firstOffset > expected
                        ? "samples \(expected)..<\(record.firstOffset) are missing before this record"
                        : "the record repeats samples from \(record.firstOffset), expected \(expected)"
                    try problem(
                        ChannelSegmentIssue(
                            kind: .gap, path: file.path, byteOffset: Int64(record.position),
                            byteCount: Int64(record.payload.upperBound - record.position), detail: detail))
                    if record.firstOffset < expected { continue }  // tolerated: skip the repeat
                }
                try visit(segment, record, descriptor)
                expected = record.firstOffset + Int64(record.count)
            }
        }
        guard let descriptor else {
            throw ChannelStoreError(.corrupt, "no readable segment header in \(directory)", path: directory)
        }
        return (descriptor, issues)
    }

    /// Resolves a URI in a channel directory (see ``ChannelStore/read(dataDir:uri:tolerateCorruption:)``).
    static func read(directory: String, uri: ChannelURI, tolerateCorruption: Bool) throws -> ChannelData {
        if let target = uri.sampleOffset { return try readOne(directory: directory, uri: uri, target: target) }
        var data = ChannelDataBuilder()
        let (descriptor, issues) = try scan(directory: directory, expecting: uri, tolerateCorruption: tolerateCorruption) {
            segment, record, descriptor in
            try decodeChecked(segment, record, descriptor, tolerate: tolerateCorruption, into: &data)
        }
        return ChannelData(
            descriptor: descriptor, sampleOffsets: data.offsets, receivedAt: data.times, values: data.values(descriptor.valueType),
            issues: issues + data.issues)
    }

    /// Decodes a record; a record whose content does not match the format is corruption.
    static func decodeChecked(
        _ segment: Segment, _ record: Record, _ descriptor: ChannelDescriptor, tolerate: Bool, wanted: Range<Int64>? = nil,
        into data: inout ChannelDataBuilder
    ) throws {
        do {
            try decode(segment, record, type: descriptor.valueType, wanted: wanted, into: &data)
        } catch let problem as ChannelFormatProblem {
            let issue = ChannelSegmentIssue(
                kind: .corruption, path: segment.path, byteOffset: Int64(record.position),
                byteCount: Int64(record.payload.upperBound - record.position), detail: problem.message)
            if !tolerate { throw ChannelStoreError(.corrupt, "damaged channel segment: \(issue)", path: segment.path) }
            data.issues.append(issue)
        }
    }

    /// The one sample at `target`: reads only the segment whose header says it holds it.
    private static func readOne(directory: String, uri: ChannelURI, target: Int64) throws -> ChannelData {
        let files = segmentFiles(directory)
        guard !files.isEmpty else {
            throw ChannelStoreError(.notFound, "channel directory \(directory) has no samples yet (no segment files)", path: directory)
        }
        let headers = files.map { header(path: $0.path) }
        var candidates = files[...]
        if headers.allSatisfy({ $0 != nil }), let index = headers.lastIndex(where: { $0!.firstSampleOffset <= target }) {
            candidates = files[index...index]
        }
        var issues: [ChannelSegmentIssue] = []
        var total: Int64 = 0
        for file in candidates {
            let segment = try parse(path: file.path, number: file.number)
            issues += segment.issues
            guard let descriptor = segment.header?.descriptor ?? headers.lazy.compactMap({ $0?.descriptor }).first else {
                continue
            }
            if descriptor.id != uri.channelID || descriptor.sessionID != uri.sessionID {
                throw ChannelStoreError(
                    .corrupt, "segment \(file.path) belongs to channel \(descriptor.id.debugDescription), not to \(uri)",
                    path: file.path)
            }
            for record in segment.records {
                total = max(total, record.firstOffset + Int64(record.count))
                guard record.firstOffset <= target && target < record.firstOffset + Int64(record.count) else { continue }
                var data = ChannelDataBuilder()
                try decodeChecked(segment, record, descriptor, tolerate: false, wanted: target..<(target + 1), into: &data)
                return ChannelData(
                    descriptor: descriptor, sampleOffsets: data.offsets, receivedAt: data.times,
                    values: data.values(descriptor.valueType), issues: issues)
            }
        }
        if let damage = issues.first(where: { $0.kind != .tornTail }) {
            throw ChannelStoreError(
                .corrupt, "sample_offset \(target) of \(uri) is not readable; it may be in damaged bytes: \(damage)",
                path: damage.path)
        }
        throw ChannelStoreError(
            .notFound, "\(uri) names sample_offset \(target), but the channel has \(total) samples (offsets 0..<\(total))")
    }

    // MARK: Resuming

    /// Where a new writer continues in a channel directory: the last segment number, the
    /// next sample offset, and the descriptor the existing segments declare.
    static func resumePoint(directory: String) throws(ChannelStoreError) -> (
        lastSegment: Int, nextOffset: Int64, descriptor: ChannelDescriptor?
    ) {
        let files = segmentFiles(directory)
        guard let last = files.last else { return (0, 0, nil) }
        var descriptor: ChannelDescriptor?
        for file in files {
            if let header = header(path: file.path) {
                descriptor = header.descriptor
                break
            }
        }
        var next: Int64 = 0
        for file in files.reversed() {
            let segment = try parse(path: file.path, number: file.number)
            if descriptor == nil { descriptor = segment.header?.descriptor }
            if let end = segment.records.map({ $0.firstOffset + Int64($0.count) }).max() {
                next = end
                break
            }
            if let header = segment.header {
                next = header.firstSampleOffset
                break
            }
        }
        return (last.number, next, descriptor)
    }

    // MARK: Decoding

    /// Decodes the samples of `record` whose offsets are in `wanted` (all when nil).
    static func decode(
        _ segment: Segment, _ record: Record, type: ChannelValueType, wanted: Range<Int64>? = nil,
        into data: inout ChannelDataBuilder
    ) throws {
        try segment.bytes.withUnsafeBytes { all in
            let raw = UnsafeRawBufferPointer(rebasing: all[record.payload])
            try decode(raw, record, type: type, wanted: wanted, into: &data)
        }
    }

    private static func decode(
        _ raw: UnsafeRawBufferPointer, _ record: Record, type: ChannelValueType, wanted: Range<Int64>?,
        into data: inout ChannelDataBuilder
    ) throws(ChannelFormatProblem) {
        let n = record.count
        guard raw[1] == ChannelSegmentFormat.typeCode(type) else {
            throw ChannelFormatProblem("a data record holds value type code \(raw[1]), not \(type)")
        }
        let perSampleTimes = raw[2] == 1
        let timesEnd = ChannelSegmentFormat.dataHeaderSize + 8 * (perSampleTimes ? n : 1)
        guard raw.count >= timesEnd else { throw ChannelFormatProblem("a data record is cut short") }
        // Which samples of the record to take.
        var lo = 0
        var hi = n
        if let wanted {
            lo = Int(max(0, min(Int64(n), wanted.lowerBound - record.firstOffset)))
            hi = Int(max(Int64(lo), min(Int64(n), wanted.upperBound - record.firstOffset)))
        }
        guard lo < hi else { return }
        data.offsets.append(contentsOf: (record.firstOffset + Int64(lo))..<(record.firstOffset + Int64(hi)))
        if perSampleTimes {
            data.times.reserveCapacity(data.times.count + hi - lo)
            for i in lo..<hi {
                let t = ChannelSegmentFormat.load(raw, ChannelSegmentFormat.dataHeaderSize + 8 * i, as: Int64.self)
                data.times.append(Timestamp(microseconds: t))
            }
        } else {
            let t = ChannelSegmentFormat.load(raw, ChannelSegmentFormat.dataHeaderSize, as: Int64.self)
            data.times.append(contentsOf: repeatElement(Timestamp(microseconds: t), count: hi - lo))
        }
        var at = timesEnd
        func need(_ bytes: Int) throws(ChannelFormatProblem) {
            guard bytes >= 0, raw.count - at >= bytes else { throw ChannelFormatProblem("a data record is cut short") }
        }
        switch type {
        case .f64, .i64:
            try need(8 * n)
            guard raw.count == at + 8 * n else { throw ChannelFormatProblem("a data record has trailing bytes") }
            let src = UnsafeRawBufferPointer(rebasing: raw[(at + 8 * lo)..<(at + 8 * hi)])
            if type == .f64 {
                data.doubles += loadArray(src, as: Double.self)
            } else {
                data.int64s += loadArray(src, as: Int64.self)
            }
        case .bool:
            try need(n)
            for i in lo..<hi { data.bools.append(raw[at + i] != 0) }
        case .string:
            try need(4 * n)
            var lengths: [Int] = []
            lengths.reserveCapacity(n)
            for i in 0..<n { lengths.append(Int(ChannelSegmentFormat.load(raw, at + 4 * i, as: UInt32.self))) }
            at += 4 * n
            try need(lengths.reduce(0, +))
            for i in 0..<n {
                if i >= lo && i < hi {
                    let bytes = UnsafeRawBufferPointer(rebasing: raw[at..<(at + lengths[i])])
                    data.strings.append(String(decoding: bytes, as: UTF8.self))
                }
                at += lengths[i]
            }
        case .f64Array, .waveform:
            var t0s: [Int64] = []
            var dts: [Double] = []
            if type == .waveform {
                try need(16 * n)
                for i in 0..<n { t0s.append(ChannelSegmentFormat.load(raw, at + 8 * i, as: Int64.self)) }
                at += 8 * n
                for i in 0..<n { dts.append(Double(bitPattern: ChannelSegmentFormat.load(raw, at + 8 * i, as: UInt64.self))) }
                at += 8 * n
            }
            try need(4 * n)
            var counts: [Int] = []
            for i in 0..<n { counts.append(Int(ChannelSegmentFormat.load(raw, at + 4 * i, as: UInt32.self))) }
            at += 4 * n
            try need(8 * counts.reduce(0, +))
            for i in 0..<n {
                if i >= lo && i < hi {
                    let elements = loadArray(UnsafeRawBufferPointer(rebasing: raw[at..<(at + 8 * counts[i])]), as: Double.self)
                    if type == .waveform {
                        data.waveforms.append(Waveform(t0: Timestamp(microseconds: t0s[i]), dt: dts[i], samples: elements))
                    } else {
                        data.arrays.append(elements)
                    }
                }
                at += 8 * counts[i]
            }
        }
    }

    /// Copies little-endian values out of unaligned memory.
    private static func loadArray<T: BitwiseCopyable>(_ src: UnsafeRawBufferPointer, as: T.Type) -> [T] {
        let n = src.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 {
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: src[0..<(n * MemoryLayout<T>.stride)]))
            }
            initialized = n
        }
    }
}

/// Collects decoded samples of one channel.
struct ChannelDataBuilder {
    var offsets: [Int64] = []
    var times: [Timestamp] = []
    var doubles: [Double] = []
    var int64s: [Int64] = []
    var bools: [Bool] = []
    var strings: [String] = []
    var arrays: [[Double]] = []
    var waveforms: [Waveform] = []
    /// Records that passed their CRC but could not be decoded (tolerated corruption).
    var issues: [ChannelSegmentIssue] = []

    var count: Int { offsets.count }

    mutating func removeAll() {
        offsets.removeAll(keepingCapacity: true)
        times.removeAll(keepingCapacity: true)
        doubles.removeAll(keepingCapacity: true)
        int64s.removeAll(keepingCapacity: true)
        bools.removeAll(keepingCapacity: true)
        strings.removeAll(keepingCapacity: true)
        arrays.removeAll(keepingCapacity: true)
        waveforms.removeAll(keepingCapacity: true)
    }

    func values(_ type: ChannelValueType) -> ChannelValues {
        switch type {
        case .f64: .f64(doubles)
        case .i64: .i64(int64s)
        case .bool: .bool(bools)
        case .string: .string(strings)
        case .f64Array: .f64Array(arrays)
        case .waveform: .waveform(waveforms)
        }
    }
}
