/// The physical (storage) type of a Parquet column.
public enum ParquetPhysicalType: Int32, Sendable, Hashable, CustomStringConvertible {
    case boolean = 0
    case int32 = 1
    case int64 = 2
    case int96 = 3
    case float = 4
    case double = 5
    case byteArray = 6
    case fixedLenByteArray = 7

    public var description: String {
        switch self {
        case .boolean: "BOOLEAN"
        case .int32: "INT32"
        case .int64: "INT64"
        case .int96: "INT96"
        case .float: "FLOAT"
        case .double: "DOUBLE"
        case .byteArray: "BYTE_ARRAY"
        case .fixedLenByteArray: "FIXED_LEN_BYTE_ARRAY"
        }
    }
}

/// The unit of a timestamp or time column.
public enum ParquetTimeUnit: Sendable, Hashable {
    case millis, micros, nanos
}

/// What a column's values mean (Parquet logical type, or the converted type older writers use).
public enum ParquetLogicalType: Sendable, Hashable {
    /// UTF-8 text (`STRING`, converted type `UTF8`).
    case string
    /// UTF-8 text from a fixed set (`ENUM`).
    case enumeration
    /// JSON text.
    case json
    /// Days since 1970-01-01 (INT32).
    case date
    /// Time since the Unix epoch; `utc` when the values are instants (adjusted to UTC).
    case timestamp(unit: ParquetTimeUnit, utc: Bool)
    /// Time of day.
    case time(unit: ParquetTimeUnit, utc: Bool)
    /// A decimal number: the stored integer × 10^-scale.
    case decimal(precision: Int32, scale: Int32)
    /// An integer of `bitWidth` bits stored in INT32/INT64.
    case integer(bitWidth: Int, signed: Bool)
    /// Another logical type (UUID, FLOAT16, BSON, ...), kept as its physical values.
    case other(String)
}

/// One leaf column of a file, as its schema describes it.
public struct ParquetColumnDescriptor: Sendable, Hashable {
    /// The column's name (for a nested leaf, its dotted path).
    public var name: String
    public var physicalType: ParquetPhysicalType
    public var logicalType: ParquetLogicalType?
    /// Byte length of a FIXED_LEN_BYTE_ARRAY value.
    public var typeLength: Int32?
    /// Whether the column may hold nulls (`OPTIONAL`).
    public var nullable: Bool
    /// Why this reader cannot read the column (a nested or repeated field), or nil.
    public var unsupportedReason: String?
    /// The index of the column's chunk in each row group.
    public var leafIndex: Int
}

/// Min/max statistics of a column chunk, decoded to the column's type.
public struct ParquetStatistics: Sendable, Hashable {
    /// The number of nulls, when the writer recorded it.
    public var nullCount: Int64?
    /// The smallest value (PLAIN bytes: little-endian numbers, raw UTF-8 for strings).
    public var min: [UInt8]?
    /// The largest value.
    public var max: [UInt8]?
    /// The deprecated `min`/`max` fields, used for signed numeric columns only (their order is
    /// undefined for other types).
    var legacyMin: [UInt8]?
    var legacyMax: [UInt8]?

    /// Creates statistics.
    public init(nullCount: Int64? = nil, min: [UInt8]? = nil, max: [UInt8]? = nil) {
        self.nullCount = nullCount
        self.min = min
        self.max = max
    }
}

/// One column chunk's place in the file.
public struct ParquetColumnChunkInfo: Sendable, Hashable {
    /// `CompressionCodec`: 0 UNCOMPRESSED, 1 SNAPPY, 2 GZIP, 6 ZSTD (others are not read).
    public var codec: Int32
    public var numValues: Int64
    public var dataPageOffset: Int64
    public var dictionaryPageOffset: Int64?
    public var totalCompressedSize: Int64
    public var statistics: ParquetStatistics?
    /// Set when the chunk is in another file (not supported).
    var externalFile: String?
}

/// One row group: its row count and one chunk per leaf column.
public struct ParquetRowGroupInfo: Sendable, Hashable {
    public var numRows: Int
    public var columns: [ParquetColumnChunkInfo]
}

/// The footer of a Parquet file: schema, row groups, key/value metadata.
public struct ParquetFileMetadata: Sendable {
    public var numRows: Int64
    public var createdBy: String?
    /// Key/value metadata (later duplicates of a key win).
    public var keyValueMetadata: [String: String]
    /// The leaf columns, in file order (nested ones carry ``ParquetColumnDescriptor/unsupportedReason``).
    public var columns: [ParquetColumnDescriptor]
    public var rowGroups: [ParquetRowGroupInfo]

    /// The column called `name`, or nil.
    public func column(_ name: String) -> ParquetColumnDescriptor? {
        columns.first { $0.name == name }
    }
}

// MARK: - Decoding the footer

extension ParquetFileMetadata {
    /// A raw `SchemaElement`.
    private struct SchemaElement {
        var type: Int32?
        var typeLength: Int32?
        var repetition: Int32?
        var name = ""
        var numChildren: Int32?
        var convertedType: Int32?
        var scale: Int32?
        var precision: Int32?
        var logical: ParquetLogicalType?
        var logicalIsNested = false
    }

    /// Decodes `FileMetaData` (the Thrift bytes between the last page and the footer length).
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: ParquetReaderLimits) throws(DecodeFailure) -> ParquetFileMetadata {
        var r = ThriftCompactReader(bytes)
        var elements: [SchemaElement] = []
        var numRows: Int64 = 0
        var rowGroups: [ParquetRowGroupInfo] = []
        var keyValue: [String: String] = [:]
        var createdBy: String?
        try r.beginStruct()
        while let field = try r.nextField() {
            switch (field.id, field.type) {
            case (2, 9):
                let (count, type) = try r.listHeader(field.type)
                for _ in 0..<count {
                    guard type == 12 else { throw .corrupt("the schema list holds Thrift type \(type), not structs") }
                    elements.append(try schemaElement(&r))
                }
            case (3, _): numRows = try r.i64(field.type)
            case (4, 9):
                let (count, type) = try r.listHeader(field.type)
                for _ in 0..<count {
                    guard type == 12 else { throw .corrupt("the row group list holds Thrift type \(type), not structs") }
                    rowGroups.append(try rowGroup(&r, limits: limits))
                }
            case (5, 9):
                let (count, type) = try r.listHeader(field.type)
                for _ in 0..<count {
                    guard type == 12 else { throw .corrupt("the key/value list holds Thrift type \(type), not structs") }
                    var key = ""
                    var value = ""
                    try r.beginStruct()
                    while let f = try r.nextField() {
                        switch f.id {
                        case 1: key = try r.string(f.type)
                        case 2: value = try r.string(f.type)
                        default: try r.skip(f.type)
                        }
                    }
                    keyValue[key] = value
                }
            case (6, 8): createdBy = try r.string(field.type)
            default: try r.skip(field.type)
            }
        }
        guard numRows >= 0 else { throw .corrupt("the footer gives a negative row count (\(numRows))") }
        let columns = try leaves(elements)
        for (index, group) in rowGroups.enumerated() where group.columns.count != columns.count {
            throw .corrupt("row group \(index) has \(group.columns.count) column chunks but the schema has \(columns.count) leaf columns")
        }
        return ParquetFileMetadata(
            numRows: numRows, createdBy: createdBy, keyValueMetadata: keyValue, columns: columns, rowGroups: rowGroups)
    }

    /// The leaf columns of the schema tree (flattened depth first, as column chunks are).
    private static func leaves(_ elements: [SchemaElement]) throws(DecodeFailure) -> [ParquetColumnDescriptor] {
        guard let root = elements.first else { throw .corrupt("the footer has no schema") }
        var out: [ParquetColumnDescriptor] = []
        var index = 1
        // (element, path, nested reason) of each group still open, with children left.
        func walk(children: Int, path: [String], nestedReason: String?, depth: Int) throws(DecodeFailure) {
            guard depth < 64 else { throw .corrupt("the schema nests deeper than 64 levels") }
            for _ in 0..<children {
                guard index < elements.count else {
                    throw .corrupt("the schema declares more children than it has elements (\(elements.count))")
                }
                let element = elements[index]
                index += 1
                let fullPath = path + [element.name]
                var reason = nestedReason
                if reason == nil && element.repetition == 2 {
                    reason = "repeated columns (LIST) are not supported"
                }
                let childCount = Int(element.numChildren ?? 0)
                if childCount > 0 || element.type == nil {
                    guard childCount >= 0, childCount <= elements.count else {
                        throw .corrupt("schema element \"\(element.name)\" claims \(childCount) children")
                    }
                    try walk(
                        children: childCount, path: fullPath,
                        nestedReason: reason ?? "nested columns (STRUCT, LIST, MAP) are not supported", depth: depth + 1)
                    continue
                }
                guard let physical = ParquetPhysicalType(rawValue: element.type!) else {
                    throw .corrupt("column \"\(fullPath.joined(separator: "."))\" has an unknown physical type \(element.type!)")
                }
                out.append(ParquetColumnDescriptor(
                    name: fullPath.joined(separator: "."), physicalType: physical,
                    logicalType: element.logical ?? converted(element), typeLength: element.typeLength,
                    nullable: element.repetition != 0, unsupportedReason: reason, leafIndex: out.count))
            }
        }
        try walk(children: Int(max(root.numChildren ?? 0, 0)), path: [], nestedReason: nil, depth: 0)
        return out
    }

    /// The logical type an older writer gave as a converted type.
    private static func converted(_ e: SchemaElement) -> ParquetLogicalType? {
        switch e.convertedType {
        case 0: return .string
        case 4: return .enumeration
        case 5: return .decimal(precision: e.precision ?? 0, scale: e.scale ?? 0)
        case 6: return .date
        case 7: return .time(unit: .millis, utc: true)
        case 8: return .time(unit: .micros, utc: true)
        case 9: return .timestamp(unit: .millis, utc: true)
        case 10: return .timestamp(unit: .micros, utc: true)
        case 11: return .integer(bitWidth: 8, signed: false)
        case 12: return .integer(bitWidth: 16, signed: false)
        case 13: return .integer(bitWidth: 32, signed: false)
        case 14: return .integer(bitWidth: 64, signed: false)
        case 15: return .integer(bitWidth: 8, signed: true)
        case 16: return .integer(bitWidth: 16, signed: true)
        case 17: return .integer(bitWidth: 32, signed: true)
        case 18: return .integer(bitWidth: 64, signed: true)
        case 19: return .json
        default: return nil
        }
    }

    private static func schemaElement(_ r: inout ThriftCompactReader) throws(DecodeFailure) -> SchemaElement {
        var e = SchemaElement()
        try r.beginStruct()
        while let field = try r.nextField() {
            switch field.id {
            case 1: e.type = try r.i32(field.type)
            case 2: e.typeLength = try r.i32(field.type)
            case 3: e.repetition = try r.i32(field.type)
            case 4: e.name = try r.string(field.type)
            case 5: e.numChildren = try r.i32(field.type)
            case 6: e.convertedType = try r.i32(field.type)
            case 7: e.scale = try r.i32(field.type)
            case 8: e.precision = try r.i32(field.type)
            case 10 where field.type == 12: e.logical = try logicalType(&r)
            default: try r.skip(field.type)
            }
        }
        return e
    }

    /// A `LogicalType` union.
    private static func logicalType(_ r: inout ThriftCompactReader) throws(DecodeFailure) -> ParquetLogicalType? {
        var result: ParquetLogicalType?
        try r.beginStruct()
        while let field = try r.nextField() {
            guard field.type == 12 else {
                try r.skip(field.type)
                continue
            }
            switch field.id {
            case 1: result = .string
            case 4: result = .enumeration
            case 12: result = .json
            case 6: result = .date
            case 5:
                var scale: Int32 = 0
                var precision: Int32 = 0
                try r.beginStruct()
                while let f = try r.nextField() {
                    switch f.id {
                    case 1: scale = try r.i32(f.type)
                    case 2: precision = try r.i32(f.type)
                    default: try r.skip(f.type)
                    }
                }
                result = .decimal(precision: precision, scale: scale)
                continue
            case 7, 8:
                var utc = false
                var unit = ParquetTimeUnit.micros
                try r.beginStruct()
                while let f = try r.nextField() {
                    switch f.id {
                    case 1: utc = try r.bool(f.type)
                    case 2 where f.type == 12:
                        try r.beginStruct()
                        while let u = try r.nextField() {
                            switch u.id {
                            case 1: unit = .millis
                            case 2: unit = .micros
                            case 3: unit = .nanos
                            default: break
                            }
                            try r.skip(u.type)
                        }
                    default: try r.skip(f.type)
                    }
                }
                result = field.id == 8 ? .timestamp(unit: unit, utc: utc) : .time(unit: unit, utc: utc)
                continue
            case 10:
                var width = 64
                var signed = true
                try r.beginStruct()
                while let f = try r.nextField() {
                    switch f.id {
                    case 1: width = Int(try r.i32(f.type))
                    case 2: signed = try r.bool(f.type)
                    default: try r.skip(f.type)
                    }
                }
                result = .integer(bitWidth: width, signed: signed)
                continue
            case 2: result = .other("MAP")
            case 3: result = .other("LIST")
            case 13: result = .other("BSON")
            case 14: result = .other("UUID")
            case 15: result = .other("FLOAT16")
            default: result = .other("logical type \(field.id)")
            }
            try r.skip(field.type)
        }
        return result
    }

    private static func rowGroup(_ r: inout ThriftCompactReader, limits: ParquetReaderLimits) throws(DecodeFailure) -> ParquetRowGroupInfo {
        var columns: [ParquetColumnChunkInfo] = []
        var numRows: Int64 = 0
        try r.beginStruct()
        while let field = try r.nextField() {
            switch (field.id, field.type) {
            case (1, 9):
                let (count, type) = try r.listHeader(field.type)
                for _ in 0..<count {
                    guard type == 12 else { throw .corrupt("a row group's column list holds Thrift type \(type), not structs") }
                    columns.append(try columnChunk(&r))
                }
            case (3, _): numRows = try r.i64(field.type)
            default: try r.skip(field.type)
            }
        }
        guard numRows >= 0 else { throw .corrupt("a row group has a negative row count (\(numRows))") }
        guard numRows <= Int64(limits.maxRowGroupRows) else {
            throw DecodeFailure(
                .limitExceeded, "a row group has \(numRows) rows, more than the reader's limit of \(limits.maxRowGroupRows)",
                fix: "raise ParquetReaderLimits.maxRowGroupRows if the file is trusted, or write smaller row groups")
        }
        return ParquetRowGroupInfo(numRows: Int(numRows), columns: columns)
    }

    private static func columnChunk(_ r: inout ThriftCompactReader) throws(DecodeFailure) -> ParquetColumnChunkInfo {
        var chunk = ParquetColumnChunkInfo(codec: 0, numValues: 0, dataPageOffset: 0, totalCompressedSize: 0)
        var sawMetadata = false
        try r.beginStruct()
        while let field = try r.nextField() {
            switch (field.id, field.type) {
            case (1, 8): chunk.externalFile = try r.string(field.type)
            case (3, 12):
                sawMetadata = true
                try r.beginStruct()
                while let f = try r.nextField() {
                    switch (f.id, f.type) {
                    case (4, _): chunk.codec = try r.i32(f.type)
                    case (5, _): chunk.numValues = try r.i64(f.type)
                    case (7, _): chunk.totalCompressedSize = try r.i64(f.type)
                    case (9, _): chunk.dataPageOffset = try r.i64(f.type)
                    case (11, _): chunk.dictionaryPageOffset = try r.i64(f.type)
                    case (12, 12): chunk.statistics = try statistics(&r)
                    default: try r.skip(f.type)
                    }
                }
            default: try r.skip(field.type)
            }
        }
        guard sawMetadata else { throw .corrupt("a column chunk has no metadata") }
        return chunk
    }

    private static func statistics(_ r: inout ThriftCompactReader) throws(DecodeFailure) -> ParquetStatistics {
        var stats = ParquetStatistics()
        var legacyMin: [UInt8]?
        var legacyMax: [UInt8]?
        try r.beginStruct()
        while let f = try r.nextField() {
            switch (f.id, f.type) {
            case (1, 8): legacyMax = try r.bytesValue(f.type)
            case (2, 8): legacyMin = try r.bytesValue(f.type)
            case (3, _): stats.nullCount = try r.i64(f.type)
            case (5, 8): stats.max = try r.bytesValue(f.type)
            case (6, 8): stats.min = try r.bytesValue(f.type)
            default: try r.skip(f.type)
            }
        }
        // The deprecated min/max fields are kept aside: their order is only right for signed
        // numbers, which the caller decides with the column's type.
        if stats.min == nil && stats.max == nil, let legacyMin, let legacyMax {
            stats.legacyMin = legacyMin
            stats.legacyMax = legacyMax
        }
        return stats
    }
}
