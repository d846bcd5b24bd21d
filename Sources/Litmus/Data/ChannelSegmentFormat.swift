import CLitmusSupport
import Foundation
import LitmusJSON

#if _endian(big)
#error("channel segments are little-endian and are written with plain memory copies: port the encoder first")
#endif

/// The binary format of channel segment files, `seg-000001.bin`, `seg-000002.bin`, ...
///
/// A segment is a sequence of records, each framed as
///
/// ```
/// [u32 payload length][u32 CRC-32C of the payload][payload]        (little-endian)
/// ```
///
/// The first byte of a payload says what it is:
///
/// - `H` (0x48), the header, always the first record of a segment: the channel descriptor as
///   JSON (`format`, `version`, `channel_id`, `value_type`, `unit`, `instrument_role`,
///   `session_id`, `segment`, `first_sample_offset`, `created_at`, `hostname`, `pid`).
/// - `D` (0x44), a batch of samples:
///
///   ```
///   0  u8   'D'
///   1  u8   value type code (1 f64, 2 i64, 3 bool, 4 string, 5 f64[], 6 waveform)
///   2  u8   time mode: 0 = one received_at for every sample, 1 = one per sample
///   3  u8   0 (reserved)
///   4  u32  sample count n (>= 1)
///   8  i64  sample_offset of the first sample (the others follow without gaps)
///   16 i64  received_at, microseconds since 1970 UTC: 1 value (mode 0) or n values (mode 1)
///   ..      values:
///           f64, i64   n x 8 bytes
///           bool       n x 1 byte (0 or 1)
///           string     n x u32 byte lengths, then the UTF-8 bytes one after the other
///           f64[]      n x u32 element counts, then the f64 elements one after the other
///           waveform   n x i64 t0 (µs), n x f64 dt (s), n x u32 element counts, then the elements
///   ```
///
/// A payload is never empty, so a run of zero bytes (what a crash can leave at the end of a
/// file) never reads as a record.
enum ChannelSegmentFormat {
    static let formatName = "litmus.channel-segment"
    static let version: Int64 = 1

    static let headerKind = UInt8(ascii: "H")
    static let dataKind = UInt8(ascii: "D")

    /// Bytes of the record frame: length and CRC.
    static let frameSize = 8
    /// Bytes of a data payload before its timestamps.
    static let dataHeaderSize = 16

    /// The most samples of a scalar channel in one record (keeps records well under a
    /// segment's size and bounds what a reader must hold for one record).
    static let maxRecordSamples = 1 << 20

    /// `seg-000001.bin`.
    static func segmentName(_ number: Int) -> String {
        let digits = String(number)
        return "seg-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".bin"
    }

    /// The number in a segment file name, or nil for other names.
    static func segmentNumber(_ name: String) -> Int? {
        guard name.hasPrefix("seg-"), name.hasSuffix(".bin") else { return nil }
        let digits = name.dropFirst(4).dropLast(4)
        guard digits.count >= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    static func typeCode(_ type: ChannelValueType) -> UInt8 {
        switch type {
        case .f64: 1
        case .i64: 2
        case .bool: 3
        case .string: 4
        case .f64Array: 5
        case .waveform: 6
        }
    }

    /// The header record's JSON.
    static func headerJSON(_ header: ChannelSegmentHeader) -> [UInt8] {
        var json = JSONBuffer(capacity: 384)
        json.beginObject()
        json.field("format", formatName)
        json.field("version", version)
        json.field("channel_id", header.descriptor.id)
        json.field("value_type", header.descriptor.valueType.rawValue)
        json.field("unit", header.descriptor.unit)
        json.field("instrument_role", header.descriptor.instrumentRole)
        json.uuidField("session_id", header.descriptor.sessionID)
        json.field("segment", Int64(header.segment))
        json.field("first_sample_offset", header.firstSampleOffset)
        json.timestampField("created_at", header.createdAt)
        json.field("hostname", header.hostname)
        json.field("pid", header.pid)
        json.endObject()
        return json.bytes
    }

    /// Parses a header payload (after its kind byte).
    static func parseHeader(_ json: some Collection<UInt8>) throws(ChannelFormatProblem) -> ChannelSegmentHeader {
        let object: JSONValue
        do { object = try JSONValue.parse(json) } catch { throw ChannelFormatProblem("header is not valid JSON: \(error)") }
        guard object.objectValue != nil else { throw ChannelFormatProblem("header is not a JSON object") }
        guard object["format"]?.stringValue == formatName else {
            throw ChannelFormatProblem("header format is not \(formatName)")
        }
        guard let v = object["version"]?.intValue else { throw ChannelFormatProblem("header has no version") }
        guard v == version else {
            throw ChannelFormatProblem("segment format version \(v) is not supported (this reader knows version \(version))")
        }
        guard let id = object["channel_id"]?.stringValue else { throw ChannelFormatProblem("header has no channel_id") }
        guard let typeText = object["value_type"]?.stringValue, let type = ChannelValueType(rawValue: typeText) else {
            throw ChannelFormatProblem("header value_type is missing or unknown")
        }
        guard let sessionText = object["session_id"]?.stringValue, let session = UUID(uuidString: sessionText) else {
            throw ChannelFormatProblem("header session_id is missing or not a UUID")
        }
        guard let segment = object["segment"]?.intValue, let first = object["first_sample_offset"]?.intValue, first >= 0
        else { throw ChannelFormatProblem("header segment or first_sample_offset is missing") }
        func optionalString(_ key: String) throws(ChannelFormatProblem) -> String? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let s = value.stringValue else { throw ChannelFormatProblem("header \(key) is not a string") }
            return s
        }
        let descriptor = ChannelDescriptor(
            id: id, valueType: type, unit: try optionalString("unit"), instrumentRole: try optionalString("instrument_role"),
            sessionID: session)
        return ChannelSegmentHeader(
            descriptor: descriptor, segment: Int(segment), firstSampleOffset: first,
            createdAt: object["created_at"]?.stringValue.flatMap { Timestamp(iso8601: $0) } ?? Timestamp(microseconds: 0),
            hostname: try optionalString("hostname"), pid: object["pid"]?.intValue)
    }

    /// A whole record (frame and payload) around `payload`.
    static func record(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(frameSize + payload.count)
        appendLE(UInt32(payload.count), to: &out)
        appendLE(payload.withUnsafeBytes { litmus_crc32c(0, $0.baseAddress, $0.count) }, to: &out)
        out += payload
        return out
    }

    static func appendLE<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    /// A little-endian value at a byte offset (no alignment needed).
    @inline(__always)
    static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int, as: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

/// What the first record of a segment says.
struct ChannelSegmentHeader: Sendable, Equatable {
    var descriptor: ChannelDescriptor
    var segment: Int
    var firstSampleOffset: Int64
    var createdAt: Timestamp
    var hostname: String?
    var pid: Int64?
}

/// A record that is framed correctly but whose content is not what the format says.
struct ChannelFormatProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

