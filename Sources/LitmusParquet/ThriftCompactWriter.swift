// Thrift compact protocol, write side only: what the Parquet footer (FileMetaData) and page
// headers (PageHeader) need. See the Thrift compact protocol specification:
//
//  - integers are ULEB128 varints; signed ones are zigzag-mapped first ((n << 1) ^ (n >> 63));
//  - a field header is one byte `(delta << 4) | type` when the field id is 1...15 above the
//    previous field id of the same struct, else the type byte followed by the zigzag varint id;
//  - a bool field carries its value in the type nibble (1 = true, 2 = false);
//  - binary and string: varint length, then the bytes;
//  - a list header is `(size << 4) | elementType` for sizes below 15, else `0xF0 | elementType`
//    followed by the varint size;
//  - a struct ends with a stop byte (0); field ids restart from 0 inside each nested struct.

/// Element and field type codes of the Thrift compact protocol.
enum ThriftType: UInt8 {
    case boolTrue = 1
    case boolFalse = 2
    case byte = 3
    case i16 = 4
    case i32 = 5
    case i64 = 6
    case double = 7
    case binary = 8
    case list = 9
    case set = 10
    case map = 11
    case `struct` = 12
}

/// Serializes Thrift structs with the compact protocol into a byte array.
///
/// Fields must be written in increasing id order within a struct (the Parquet structs are
/// written that way; the encoder itself only needs the previous id to compute deltas).
/// Nested structs are opened with ``beginStructField(_:)`` or ``beginListStruct()`` and closed
/// with ``endStruct()``; the outermost struct is closed with ``endStruct()`` too.
struct ThriftCompactWriter {
    /// The encoded bytes so far.
    private(set) var bytes: [UInt8] = []
    /// The id of the last field written in the struct being written.
    private var lastFieldId: Int16 = 0
    /// The last field ids of the enclosing structs.
    private var enclosing: [Int16] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: Primitive encodings

    /// Appends `value` as an unsigned LEB128 varint.
    mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// The zigzag mapping of a signed 64-bit integer: 0, -1, 1, -2, ... become 0, 1, 2, 3, ...
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// The zigzag mapping of a signed 32-bit integer.
    static func zigzag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    private mutating func writeZigzag(_ value: Int64) {
        writeVarint(Self.zigzag(value))
    }

    private mutating func writeFieldHeader(_ id: Int16, _ type: ThriftType) {
        let delta = Int(id) - Int(lastFieldId)
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            writeZigzag(Int64(id))
        }
        lastFieldId = id
    }

    // MARK: Fields

    /// Writes an `i16` field.
    mutating func writeI16Field(_ id: Int16, _ value: Int16) {
        writeFieldHeader(id, .i16)
        writeZigzag(Int64(value))
    }

    /// Writes an `i32` field (Thrift enums are `i32` too).
    mutating func writeI32Field(_ id: Int16, _ value: Int32) {
        writeFieldHeader(id, .i32)
        writeZigzag(Int64(value))
    }

    /// Writes an `i64` field.
    mutating func writeI64Field(_ id: Int16, _ value: Int64) {
        writeFieldHeader(id, .i64)
        writeZigzag(value)
    }

    /// Writes a `bool` field: the value is carried in the field header.
    mutating func writeBoolField(_ id: Int16, _ value: Bool) {
        writeFieldHeader(id, value ? .boolTrue : .boolFalse)
    }

    /// Writes a `binary` field.
    mutating func writeBinaryField(_ id: Int16, _ value: [UInt8]) {
        writeFieldHeader(id, .binary)
        writeBinary(value)
    }

    /// Writes a `string` field (UTF-8 bytes, encoded like `binary`).
    mutating func writeStringField(_ id: Int16, _ value: String) {
        writeBinaryField(id, Array(value.utf8))
    }

    /// Opens a struct-valued field; close it with ``endStruct()``.
    mutating func beginStructField(_ id: Int16) {
        writeFieldHeader(id, .struct)
        enclosing.append(lastFieldId)
        lastFieldId = 0
    }

    /// Writes the stop byte of the current struct and returns to the enclosing one.
    mutating func endStruct() {
        bytes.append(0)
        lastFieldId = enclosing.popLast() ?? 0
    }

    /// Writes an empty struct-valued field (e.g. a Parquet `StringType {}` annotation).
    mutating func writeEmptyStructField(_ id: Int16) {
        beginStructField(id)
        endStruct()
    }

    /// Opens a list-valued field of `count` elements of `elementType`; the elements follow.
    mutating func beginListField(_ id: Int16, elementType: ThriftType, count: Int) {
        writeFieldHeader(id, .list)
        writeListHeader(elementType: elementType, count: count)
    }

    // MARK: List elements

    /// Opens a struct element of a list; close it with ``endStruct()``.
    mutating func beginListStruct() {
        enclosing.append(lastFieldId)
        lastFieldId = 0
    }

    /// Writes an `i32` list element.
    mutating func writeI32Element(_ value: Int32) {
        writeZigzag(Int64(value))
    }

    /// Writes an `i64` list element.
    mutating func writeI64Element(_ value: Int64) {
        writeZigzag(value)
    }

    /// Writes a `binary` list element.
    mutating func writeBinaryElement(_ value: [UInt8]) {
        writeBinary(value)
    }

    /// Writes a `string` list element.
    mutating func writeStringElement(_ value: String) {
        writeBinary(Array(value.utf8))
    }

    /// Writes a `bool` list element (one byte: 1 = true, 2 = false).
    mutating func writeBoolElement(_ value: Bool) {
        bytes.append(value ? ThriftType.boolTrue.rawValue : ThriftType.boolFalse.rawValue)
    }

    // MARK: Helpers

    private mutating func writeBinary(_ value: [UInt8]) {
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    private mutating func writeListHeader(elementType: ThriftType, count: Int) {
        precondition(count >= 0, "negative list size")
        if count < 15 {
            bytes.append(UInt8(count) << 4 | elementType.rawValue)
        } else {
            bytes.append(0xF0 | elementType.rawValue)
            writeVarint(UInt64(count))
        }
    }
}
