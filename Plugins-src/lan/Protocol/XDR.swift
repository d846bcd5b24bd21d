// XDR (RFC 4506), the data representation of ONC RPC and so of VXI-11: big-endian 32-bit
// words; variable-length opaque data and strings carry a 32-bit length and are padded with
// zero bytes to a multiple of four.

/// A malformed or truncated XDR value: what was being decoded and why it failed.
public struct XDRError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Appends XDR values to a byte array.
///
/// ```swift
/// var w = XDRWriter()
/// w.u32(10)
/// w.string("inst0")
/// send(w.bytes)
/// ```
public struct XDRWriter: Sendable {
    /// The encoded bytes so far.
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Starts after `prefix` (for example room for a record-marking header filled in later).
    public init(prefix: [UInt8], capacity: Int = 128) {
        bytes = prefix
        bytes.reserveCapacity(max(capacity, prefix.count))
    }

    public mutating func u32(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func i32(_ value: Int32) { u32(UInt32(bitPattern: value)) }

    public mutating func bool(_ value: Bool) { u32(value ? 1 : 0) }

    /// Variable-length opaque data: length, bytes, zero padding.
    public mutating func opaque(_ data: UnsafeRawBufferPointer) {
        u32(UInt32(truncatingIfNeeded: data.count))
        bytes.append(contentsOf: data)
        pad(data.count)
    }

    /// Variable-length opaque data: length, bytes, zero padding.
    public mutating func opaque(_ data: [UInt8]) {
        data.withUnsafeBytes { opaque($0) }
    }

    /// A string as opaque UTF-8 bytes.
    public mutating func string(_ value: String) { opaque(Array(value.utf8)) }

    private mutating func pad(_ count: Int) {
        let padding = (4 - count % 4) % 4
        for _ in 0..<padding { bytes.append(0) }
    }

    /// Overwrites the big-endian word at `offset` (which must already be written).
    public mutating func patch(_ value: UInt32, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
    }
}

/// Reads XDR values from a byte array, checking every length against what is left, so
/// nothing a peer sends can read out of bounds or allocate more than the buffer holds.
public struct XDRReader: Sendable {
    public let bytes: [UInt8]
    /// The next byte to read.
    public private(set) var position: Int
    /// One past the last byte this reader may read.
    public let end: Int

    public init(_ bytes: [UInt8], from start: Int = 0) {
        self.bytes = bytes
        self.end = bytes.count
        self.position = min(max(0, start), bytes.count)
    }

    /// Bytes not read yet.
    public var remaining: Int { end - position }

    public mutating func u32(_ what: @autoclosure () -> String = "a 32-bit word") throws -> UInt32 {
        guard remaining >= 4 else {
            throw XDRError("truncated at byte \(position) of \(end): expected \(what()) (4 bytes), \(remaining) left")
        }
        let p = position
        position += 4
        return UInt32(bytes[p]) << 24 | UInt32(bytes[p + 1]) << 16 | UInt32(bytes[p + 2]) << 8 | UInt32(bytes[p + 3])
    }

    public mutating func i32(_ what: @autoclosure () -> String = "a 32-bit integer") throws -> Int32 {
        Int32(bitPattern: try u32(what()))
    }

    public mutating func bool(_ what: @autoclosure () -> String = "a boolean") throws -> Bool {
        let v = try u32(what())
        guard v <= 1 else { throw XDRError("\(what()) is \(v); an XDR boolean is 0 or 1") }
        return v == 1
    }

    /// The range of a variable-length opaque value inside ``bytes`` (no copy), after
    /// checking its declared length against `maxLength` and against the bytes present.
    public mutating func opaqueRange(maxLength: Int = Int.max, _ what: @autoclosure () -> String = "opaque data") throws
        -> Range<Int>
    {
        let declared = Int(try u32("the length of \(what())"))
        guard declared <= maxLength else {
            throw XDRError("\(what()) declares \(declared) bytes, more than the limit of \(maxLength)")
        }
        let padded = declared + (4 - declared % 4) % 4
        guard padded <= remaining else {
            throw XDRError("\(what()) declares \(declared) bytes but only \(remaining) remain")
        }
        let start = position
        position += padded
        return start..<(start + declared)
    }

    /// A variable-length opaque value, copied.
    public mutating func opaque(maxLength: Int = Int.max, _ what: @autoclosure () -> String = "opaque data") throws
        -> [UInt8]
    {
        Array(bytes[try opaqueRange(maxLength: maxLength, what())])
    }

    /// A string (decoded as UTF-8, invalid sequences replaced).
    public mutating func string(maxLength: Int = Int.max, _ what: @autoclosure () -> String = "a string") throws
        -> String
    {
        String(decoding: bytes[try opaqueRange(maxLength: maxLength, what())], as: UTF8.self)
    }

    /// Skips `count` bytes.
    public mutating func skip(_ count: Int, _ what: @autoclosure () -> String = "data") throws {
        guard count >= 0, count <= remaining else {
            throw XDRError("truncated: \(what()) needs \(count) bytes, \(remaining) left")
        }
        position += count
    }
}
