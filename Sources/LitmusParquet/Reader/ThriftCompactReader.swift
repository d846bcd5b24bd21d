// Thrift compact protocol, read side: what the Parquet footer (FileMetaData) and page headers
// (PageHeader) need, bounded for hostile input (see ThriftCompactWriter.swift for the format).
//
// Every length and count is checked against the bytes that remain, nesting is limited, and a
// varint longer than 10 bytes is an error: a corrupt footer gives a `DecodeFailure`, never a
// crash or an allocation larger than the input.

/// A problem found while decoding a file's bytes, before the reader adds the file's path.
struct DecodeFailure: Error {
    var kind: ParquetReadError.Kind
    var message: String
    var fix: String

    init(_ kind: ParquetReadError.Kind = .corrupt, _ message: String, fix: String = "") {
        self.kind = kind
        self.message = message
        self.fix = fix
    }

    static func corrupt(_ message: String) -> DecodeFailure {
        DecodeFailure(.corrupt, message, fix: "the file is damaged or was not written completely; write it again")
    }
}

/// Reads Thrift compact-protocol values from a byte buffer, field by field.
///
/// ```swift
/// var r = ThriftCompactReader(bytes)
/// try r.beginStruct()
/// while let field = try r.nextField() {
///     switch field.id {
///     case 1: version = try r.i32(field.type)
///     default: try r.skip(field.type)
///     }
/// }
/// ```
struct ThriftCompactReader {
    let bytes: UnsafeRawBufferPointer
    /// The next byte to read.
    private(set) var position: Int
    /// Last field ids of the structs being read, innermost last.
    private var lastFieldIds: [Int16] = []
    /// Deepest nesting accepted (Parquet's structs nest a few levels).
    static let maxDepth = 32

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func byte() throws(DecodeFailure) -> UInt8 {
        guard position < bytes.count else { throw .corrupt("Thrift data ends early (at byte \(position))") }
        let b = bytes[position]
        position += 1
        return b
    }

    mutating func varint() throws(DecodeFailure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw .corrupt("a Thrift varint overflows 64 bits (at byte \(position))") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .corrupt("a Thrift varint is longer than 10 bytes (at byte \(position))") }
        }
    }

    mutating func zigzag() throws(DecodeFailure) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    // MARK: Structs

    /// Enters a struct (the outermost one, a struct field or a struct list element).
    mutating func beginStruct() throws(DecodeFailure) {
        guard lastFieldIds.count < Self.maxDepth else { throw .corrupt("Thrift structs nest deeper than \(Self.maxDepth) levels") }
        lastFieldIds.append(0)
    }

    /// The next field's id and type, or nil at the struct's end (which leaves the struct).
    mutating func nextField() throws(DecodeFailure) -> (id: Int16, type: UInt8)? {
        let header = try byte()
        if header == 0 {
            lastFieldIds.removeLast()
            return nil
        }
        let type = header & 0x0F
        let delta = Int16(header >> 4)
        let id: Int16
        if delta != 0 {
            let (sum, overflow) = lastFieldIds[lastFieldIds.count - 1].addingReportingOverflow(delta)
            guard !overflow else { throw .corrupt("a Thrift field id overflows") }
            id = sum
        } else {
            let raw = try zigzag()
            guard let narrow = Int16(exactly: raw) else { throw .corrupt("a Thrift field id \(raw) is out of range") }
            id = narrow
        }
        lastFieldIds[lastFieldIds.count - 1] = id
        return (id, type)
    }

    // MARK: Values

    mutating func bool(_ type: UInt8) throws(DecodeFailure) -> Bool {
        switch type {
        case 1: return true
        case 2: return false
        default: throw .corrupt("expected a Thrift bool, found type \(type)")
        }
    }

    mutating func i32(_ type: UInt8) throws(DecodeFailure) -> Int32 {
        let v = try integer(type)
        guard let narrow = Int32(exactly: v) else { throw .corrupt("a Thrift i32 value \(v) is out of range") }
        return narrow
    }

    mutating func i64(_ type: UInt8) throws(DecodeFailure) -> Int64 {
        try integer(type)
    }

    private mutating func integer(_ type: UInt8) throws(DecodeFailure) -> Int64 {
        switch type {
        case 3: return Int64(Int8(bitPattern: try byte()))
        case 4, 5, 6: return try zigzag()
        default: throw .corrupt("expected a Thrift integer, found type \(type)")
        }
    }

    /// A binary or string value, as a slice of the input (valid while the input is).
    mutating func binary(_ type: UInt8 = 8) throws(DecodeFailure) -> UnsafeRawBufferPointer {
        guard type == 8 else { throw .corrupt("expected Thrift binary, found type \(type)") }
        let length = try varint()
        guard length <= UInt64(remaining) else {
            throw .corrupt("a Thrift string of \(length) bytes runs past the end of its data (\(remaining) bytes left)")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(length))])
        position += Int(length)
        return slice
    }

    mutating func string(_ type: UInt8) throws(DecodeFailure) -> String {
        String(decoding: try binary(type), as: UTF8.self)
    }

    mutating func bytesValue(_ type: UInt8) throws(DecodeFailure) -> [UInt8] {
        Array(try binary(type))
    }

    /// A list header: element count (at most one per remaining byte, so a count cannot promise
    /// more elements than the data can hold) and element type.
    mutating func listHeader(_ type: UInt8) throws(DecodeFailure) -> (count: Int, elementType: UInt8) {
        guard type == 9 || type == 10 else { throw .corrupt("expected a Thrift list, found type \(type)") }
        let header = try byte()
        var count = UInt64(header >> 4)
        if count == 15 { count = try varint() }
        let elementType = header & 0x0F
        // Every element but a bool in a bool list takes a byte at least (bools too, in lists).
        guard count <= UInt64(remaining) else {
            throw .corrupt("a Thrift list claims \(count) elements but only \(remaining) bytes remain")
        }
        return (Int(count), elementType)
    }

    /// Skips a value of `type` (a field the reader does not use).
    mutating func skip(_ type: UInt8, depth: Int = 0) throws(DecodeFailure) {
        guard depth + lastFieldIds.count < Self.maxDepth else { throw .corrupt("Thrift values nest deeper than \(Self.maxDepth) levels") }
        switch type {
        case 1, 2: return
        case 3: _ = try byte()
        case 4, 5, 6: _ = try varint()
        case 7:
            guard remaining >= 8 else { throw .corrupt("a Thrift double runs past the end") }
            position += 8
        case 8: _ = try binary()
        case 9, 10:
            let (count, elementType) = try listHeader(type)
            for _ in 0..<count {
                if elementType == 1 || elementType == 2 { _ = try byte() } else { try skip(elementType, depth: depth + 1) }
            }
        case 11:
            let count = try varint()
            guard count <= UInt64(remaining) else { throw .corrupt("a Thrift map claims \(count) entries but only \(remaining) bytes remain") }
            if count == 0 { return }
            let types = try byte()
            for _ in 0..<count {
                try skip(types >> 4, depth: depth + 1)
                try skip(types & 0x0F, depth: depth + 1)
            }
        case 12:
            try beginStruct()
            while let field = try nextField() { try skip(field.type, depth: depth) }
        default:
            throw .corrupt("unknown Thrift type \(type) at byte \(position)")
        }
    }
}
