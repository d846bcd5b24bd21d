// The Parquet structures this writer emits (a subset of parquet.thrift) and their compact
// protocol serialization. Field ids are those of the parquet-format Thrift IDL.

/// Parquet `Type` (physical type) values.
enum PhysicalType: Int32 {
    case boolean = 0
    case int64 = 2
    case double = 5
    case byteArray = 6

    init(_ type: ParquetType) {
        switch type {
        case .int64, .timestampMicrosUTC: self = .int64
        case .double: self = .double
        case .boolean: self = .boolean
        case .string: self = .byteArray
        }
    }
}

/// Parquet `Encoding` values.
enum ParquetEncoding: Int32, Comparable {
    case plain = 0
    case plainDictionary = 2
    case rle = 3
    case rleDictionary = 8

    static func < (a: ParquetEncoding, b: ParquetEncoding) -> Bool { a.rawValue < b.rawValue }
}

/// Parquet `PageType` values.
enum PageType: Int32 {
    case dataPage = 0
    case dictionaryPage = 2
}

/// Parquet `Statistics` of a column chunk.
struct ChunkStatistics: Equatable {
    var nullCount: Int64
    /// PLAIN encoding of the minimum (no length prefix for strings); `nil` when unknown.
    var minValue: [UInt8]?
    var maxValue: [UInt8]?
    /// For doubles only (required by the spec alongside min/max under TYPE_ORDER).
    var nanCount: Int64?

    func write(_ w: inout ThriftCompactWriter) {
        w.writeI64Field(3, nullCount)
        if let minValue, let maxValue {
            w.writeBinaryField(5, maxValue)
            w.writeBinaryField(6, minValue)
            w.writeBoolField(7, true)  // is_max_value_exact
            w.writeBoolField(8, true)  // is_min_value_exact
        }
        if let nanCount { w.writeI64Field(9, nanCount) }
    }
}

/// A `PageEncodingStats` entry: how many pages of a type used an encoding.
struct PageEncodingCount: Equatable {
    var pageType: PageType
    var encoding: ParquetEncoding
    var count: Int32
}

/// `ColumnMetaData` of one column chunk, with the chunk's place in the file.
struct ColumnChunkMetadata {
    var physicalType: PhysicalType
    var encodings: [ParquetEncoding]
    var name: String
    var codec: Int32
    var numValues: Int64
    var totalUncompressedSize: Int64
    var totalCompressedSize: Int64
    var dataPageOffset: Int64
    var dictionaryPageOffset: Int64?
    var statistics: ChunkStatistics
    var encodingCounts: [PageEncodingCount]

    /// Writes a `ColumnChunk` list element holding this metadata.
    func writeColumnChunk(_ w: inout ThriftCompactWriter) {
        w.beginListStruct()
        w.writeI64Field(2, 0)  // file_offset: 0, no ColumnMetaData outside the footer
        w.beginStructField(3)  // meta_data
        w.writeI32Field(1, physicalType.rawValue)
        w.beginListField(2, elementType: .i32, count: encodings.count)
        for encoding in encodings { w.writeI32Element(encoding.rawValue) }
        w.beginListField(3, elementType: .binary, count: 1)
        w.writeStringElement(name)
        w.writeI32Field(4, codec)
        w.writeI64Field(5, numValues)
        w.writeI64Field(6, totalUncompressedSize)
        w.writeI64Field(7, totalCompressedSize)
        w.writeI64Field(9, dataPageOffset)
        if let dictionaryPageOffset { w.writeI64Field(11, dictionaryPageOffset) }
        w.beginStructField(12)
        statistics.write(&w)
        w.endStruct()
        w.beginListField(13, elementType: .struct, count: encodingCounts.count)
        for entry in encodingCounts {
            w.beginListStruct()
            w.writeI32Field(1, entry.pageType.rawValue)
            w.writeI32Field(2, entry.encoding.rawValue)
            w.writeI32Field(3, entry.count)
            w.endStruct()
        }
        w.endStruct()  // meta_data
        w.endStruct()  // ColumnChunk
    }
}

/// A `RowGroup`.
struct RowGroupMetadata {
    var columns: [ColumnChunkMetadata]
    var numRows: Int64
    var fileOffset: Int64
    var ordinal: Int

    var totalByteSize: Int64 { columns.reduce(0) { $0 + $1.totalUncompressedSize } }
    var totalCompressedSize: Int64 { columns.reduce(0) { $0 + $1.totalCompressedSize } }

    func write(_ w: inout ThriftCompactWriter) {
        w.beginListStruct()
        w.beginListField(1, elementType: .struct, count: columns.count)
        for column in columns { column.writeColumnChunk(&w) }
        w.writeI64Field(2, totalByteSize)
        w.writeI64Field(3, numRows)
        w.writeI64Field(5, fileOffset)
        w.writeI64Field(6, totalCompressedSize)
        if ordinal <= Int(Int16.max) { w.writeI16Field(7, Int16(ordinal)) }
        w.endStruct()
    }
}

enum ParquetMetadataEncoder {
    /// The Thrift `FileMetaData` of the footer.
    static func fileMetaData(
        schema: ParquetSchema, numRows: Int64, rowGroups: [RowGroupMetadata],
        keyValueMetadata: [String: String], createdBy: String
    ) -> [UInt8] {
        var w = ThriftCompactWriter(capacity: 1024 + rowGroups.count * schema.columns.count * 96)
        // version 2: the file uses format 2.x features (logical types, RLE_DICTIONARY).
        w.writeI32Field(1, 2)
        w.beginListField(2, elementType: .struct, count: schema.columns.count + 1)
        w.beginListStruct()  // the root
        w.writeStringField(4, "schema")
        w.writeI32Field(5, Int32(schema.columns.count))
        w.endStruct()
        for column in schema.columns { writeSchemaElement(column, &w) }
        w.writeI64Field(3, numRows)
        w.beginListField(4, elementType: .struct, count: rowGroups.count)
        for rowGroup in rowGroups { rowGroup.write(&w) }
        if !keyValueMetadata.isEmpty {
            let sorted = keyValueMetadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            w.beginListField(5, elementType: .struct, count: sorted.count)
            for (key, value) in sorted {
                w.beginListStruct()
                w.writeStringField(1, key)
                w.writeStringField(2, value)
                w.endStruct()
            }
        }
        w.writeStringField(6, createdBy)
        // column_orders: TYPE_ORDER for every leaf, so readers trust min_value/max_value.
        w.beginListField(7, elementType: .struct, count: schema.columns.count)
        for _ in schema.columns {
            w.beginListStruct()
            w.writeEmptyStructField(1)
            w.endStruct()
        }
        w.endStruct()
        return w.bytes
    }

    private static func writeSchemaElement(_ column: ParquetColumn, _ w: inout ThriftCompactWriter) {
        w.beginListStruct()
        w.writeI32Field(1, PhysicalType(column.type).rawValue)
        w.writeI32Field(3, column.nullable ? 1 : 0)  // OPTIONAL : REQUIRED
        w.writeStringField(4, column.name)
        switch column.type {
        case .string:
            w.writeI32Field(6, 0)  // converted_type UTF8
            w.beginStructField(10)  // logicalType
            w.writeEmptyStructField(1)  // STRING
            w.endStruct()
        case .timestampMicrosUTC:
            w.writeI32Field(6, 10)  // converted_type TIMESTAMP_MICROS
            w.beginStructField(10)  // logicalType
            w.beginStructField(8)  // TIMESTAMP
            w.writeBoolField(1, true)  // isAdjustedToUTC
            w.beginStructField(2)  // unit
            w.writeEmptyStructField(2)  // MICROS
            w.endStruct()
            w.endStruct()
            w.endStruct()
        case .int64, .double, .boolean:
            break
        }
        w.endStruct()
    }

    /// The `PageHeader` of a V1 data page.
    static func dataPageHeader(
        uncompressedSize: Int, compressedSize: Int, numValues: Int, encoding: ParquetEncoding
    ) -> [UInt8] {
        var w = ThriftCompactWriter(capacity: 32)
        w.writeI32Field(1, PageType.dataPage.rawValue)
        w.writeI32Field(2, Int32(uncompressedSize))
        w.writeI32Field(3, Int32(compressedSize))
        w.beginStructField(5)
        w.writeI32Field(1, Int32(numValues))
        w.writeI32Field(2, encoding.rawValue)
        w.writeI32Field(3, ParquetEncoding.rle.rawValue)  // definition levels
        w.writeI32Field(4, ParquetEncoding.rle.rawValue)  // repetition levels (none: flat schema)
        w.endStruct()
        w.endStruct()
        return w.bytes
    }

    /// The `PageHeader` of a dictionary page (PLAIN-encoded entries).
    static func dictionaryPageHeader(uncompressedSize: Int, compressedSize: Int, numValues: Int) -> [UInt8] {
        var w = ThriftCompactWriter(capacity: 32)
        w.writeI32Field(1, PageType.dictionaryPage.rawValue)
        w.writeI32Field(2, Int32(uncompressedSize))
        w.writeI32Field(3, Int32(compressedSize))
        w.beginStructField(7)
        w.writeI32Field(1, Int32(numValues))
        w.writeI32Field(2, ParquetEncoding.plain.rawValue)
        w.writeBoolField(3, false)  // is_sorted
        w.endStruct()
        w.endStruct()
        return w.bytes
    }
}
