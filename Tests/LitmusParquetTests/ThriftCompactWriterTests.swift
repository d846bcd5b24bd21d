@testable import LitmusParquet
import Testing

/// Byte-exact checks of the Thrift compact protocol encoder.
@Suite("ThriftCompactWriter")
struct ThriftCompactWriterTests {
    func varint(_ value: UInt64) -> [UInt8] {
        var w = ThriftCompactWriter()
        w.writeVarint(value)
        return w.bytes
    }

    @Test func varints() {
        #expect(varint(0) == [0x00])
        #expect(varint(1) == [0x01])
        #expect(varint(127) == [0x7F])
        #expect(varint(128) == [0x80, 0x01])
        #expect(varint(300) == [0xAC, 0x02])
        #expect(varint(16_383) == [0xFF, 0x7F])
        #expect(varint(16_384) == [0x80, 0x80, 0x01])
        #expect(varint(UInt64(UInt32.max)) == [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(varint(.max) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    }

    @Test func zigzag() {
        #expect(ThriftCompactWriter.zigzag(Int64(0)) == 0)
        #expect(ThriftCompactWriter.zigzag(Int64(-1)) == 1)
        #expect(ThriftCompactWriter.zigzag(Int64(1)) == 2)
        #expect(ThriftCompactWriter.zigzag(Int64(-2)) == 3)
        #expect(ThriftCompactWriter.zigzag(Int64(2)) == 4)
        #expect(ThriftCompactWriter.zigzag(Int64.max) == UInt64.max - 1)
        #expect(ThriftCompactWriter.zigzag(Int64.min) == UInt64.max)
        #expect(ThriftCompactWriter.zigzag(Int32.max) == UInt32.max - 1)
        #expect(ThriftCompactWriter.zigzag(Int32.min) == UInt32.max)
        #expect(ThriftCompactWriter.zigzag(Int32(-64)) == 127)
    }

    @Test func integerFields() {
        var w = ThriftCompactWriter()
        w.writeI32Field(1, 2)
        w.writeI64Field(2, -1)
        w.writeI16Field(3, 300)
        w.writeI32Field(4, Int32.min)
        w.writeI64Field(5, Int64.min)
        #expect(w.bytes == [
            0x15, 0x04,
            0x16, 0x01,
            0x14, 0xD8, 0x04,
            0x15, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,
            0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
        ])
    }

    @Test func fieldIdDeltas() {
        var w = ThriftCompactWriter()
        w.writeI32Field(1, 0)  // delta 1: short form
        w.writeI32Field(3, 0)  // delta 2
        w.writeI32Field(18, 0)  // delta 15: the largest short form
        w.writeI32Field(40, 0)  // delta 22: long form, type byte then zigzag id
        w.writeI32Field(39, 0)  // going backwards: long form
        w.writeI32Field(1000, 0)  // a multi-byte id
        #expect(w.bytes == [
            0x15, 0x00,
            0x25, 0x00,
            0xF5, 0x00,
            0x05, 0x50, 0x00,
            0x05, 0x4E, 0x00,
            0x05, 0xD0, 0x0F, 0x00,
        ])
    }

    @Test func boolFieldsCarryTheirValueInTheHeader() {
        var w = ThriftCompactWriter()
        w.writeBoolField(1, true)
        w.writeBoolField(2, false)
        w.writeBoolField(20, true)
        #expect(w.bytes == [0x11, 0x12, 0x01, 0x28])
    }

    @Test func binaryAndStringFields() {
        var w = ThriftCompactWriter()
        w.writeStringField(4, "abc")
        w.writeStringField(5, "")
        w.writeStringField(6, "é")
        w.writeBinaryField(7, [0x00, 0xFF])
        #expect(w.bytes == [0x48, 0x03, 0x61, 0x62, 0x63, 0x18, 0x00, 0x18, 0x02, 0xC3, 0xA9, 0x18, 0x02, 0x00, 0xFF])
        var long = ThriftCompactWriter()
        long.writeStringField(1, String(repeating: "x", count: 200))
        #expect(long.bytes.prefix(3) == [0x18, 0xC8, 0x01])
        #expect(long.bytes.count == 203)
    }

    @Test func nestedStructsRestartFieldIds() {
        var w = ThriftCompactWriter()
        w.writeI32Field(1, 1)
        w.beginStructField(5)
        w.writeI32Field(1, 7)  // delta from 0 inside the nested struct
        w.writeEmptyStructField(2)
        w.endStruct()
        w.writeI32Field(6, 3)  // delta from 5 again
        w.endStruct()
        #expect(w.bytes == [0x15, 0x02, 0x4C, 0x15, 0x0E, 0x1C, 0x00, 0x00, 0x15, 0x06, 0x00])
    }

    @Test func lists() {
        var w = ThriftCompactWriter()
        w.beginListField(2, elementType: .i32, count: 3)
        for v: Int32 in [1, 2, -3] { w.writeI32Element(v) }
        w.beginListField(3, elementType: .binary, count: 2)
        w.writeStringElement("a")
        w.writeBinaryElement([])
        w.beginListField(4, elementType: .struct, count: 2)
        for v: Int32 in [1, 2] {
            w.beginListStruct()
            w.writeI32Field(1, v)
            w.endStruct()
        }
        w.beginListField(5, elementType: .boolTrue, count: 2)
        w.writeBoolElement(true)
        w.writeBoolElement(false)
        w.beginListField(6, elementType: .i64, count: 0)
        w.writeI32Field(7, 0)
        #expect(w.bytes == [
            0x29, 0x35, 0x02, 0x04, 0x05,
            0x19, 0x28, 0x01, 0x61, 0x00,
            0x19, 0x2C, 0x15, 0x02, 0x00, 0x15, 0x04, 0x00,
            0x19, 0x21, 0x01, 0x02,
            0x19, 0x06,
            0x15, 0x00,
        ])
    }

    @Test func longListHeader() {
        var w = ThriftCompactWriter()
        w.beginListField(1, elementType: .i32, count: 14)
        #expect(w.bytes == [0x19, 0xE5])
        var long = ThriftCompactWriter()
        long.beginListField(1, elementType: .i32, count: 15)
        #expect(long.bytes == [0x19, 0xF5, 0x0F])
        var larger = ThriftCompactWriter()
        larger.beginListField(1, elementType: .struct, count: 300)
        #expect(larger.bytes == [0x19, 0xFC, 0xAC, 0x02])
    }

    // MARK: Parquet structures

    @Test("a dictionary page header is byte-identical to Arrow's")
    func dictionaryPageHeaderMatchesArrow() {
        // Written by pyarrow 26 for an empty dictionary (type 2, sizes 0, 0 values, PLAIN,
        // is_sorted false).
        #expect(ParquetMetadataEncoder.dictionaryPageHeader(uncompressedSize: 0, compressedSize: 0, numValues: 0) == [
            0x15, 0x04, 0x15, 0x00, 0x15, 0x00, 0x4C, 0x15, 0x00, 0x15, 0x00, 0x12, 0x00, 0x00,
        ])
    }

    @Test func dataPageHeader() {
        let header = ParquetMetadataEncoder.dataPageHeader(
            uncompressedSize: 7, compressedSize: 300, numValues: 3, encoding: .rleDictionary)
        #expect(header == [
            0x15, 0x00,  // type DATA_PAGE
            0x15, 0x0E,  // uncompressed_page_size 7
            0x15, 0xD8, 0x04,  // compressed_page_size 300
            0x2C,  // field 5: data_page_header
            0x15, 0x06,  // num_values 3
            0x15, 0x10,  // encoding RLE_DICTIONARY (8)
            0x15, 0x06,  // definition_level_encoding RLE (3)
            0x15, 0x06,  // repetition_level_encoding RLE (3)
            0x00, 0x00,
        ])
    }
}
