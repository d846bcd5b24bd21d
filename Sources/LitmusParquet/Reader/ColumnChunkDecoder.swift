/// Decodes one column chunk of a flat column: walks its pages (dictionary, data page v1 and
/// v2), decompresses them, reads definition levels and values, and appends one value per row
/// to the column's storage.
///
/// Encodings: PLAIN, PLAIN_DICTIONARY / RLE_DICTIONARY, RLE (booleans), DELTA_BINARY_PACKED
/// (INT32/INT64) and BYTE_STREAM_SPLIT (FLOAT/DOUBLE/INT32/INT64); anything else is an
/// `unsupported` error naming the encoding.
struct ColumnChunkDecoder {
    let descriptor: ParquetColumnDescriptor
    let codec: Int32
    let limits: ParquetReaderLimits
    let decompressor: PageDecompressor

    /// The column's values so far, in physical form.
    enum Storage {
        case boolean([Bool])
        case int32([Int32])
        case int64([Int64])
        case float([Float])
        case double([Double])
        /// Byte-array values: entry `k` is `store[offsets[k]..<offsets[k + 1]]`; rows are indices
        /// into the entries (-1 at nulls).
        case byteArrays(store: [UInt8], offsets: [Int], indices: [Int32])
    }

    /// Storage for a column with no rows yet.
    static func emptyStorage(_ physical: ParquetPhysicalType) -> Storage {
        switch physical {
        case .boolean: .boolean([])
        case .int32: .int32([])
        case .int64: .int64([])
        case .float: .float([])
        case .double: .double([])
        case .byteArray, .fixedLenByteArray, .int96: .byteArrays(store: [], offsets: [0], indices: [])
        }
    }

    /// The dictionary of the chunk being decoded.
    private enum Dictionary {
        case boolean([Bool])
        case int32([Int32])
        case int64([Int64])
        case float([Float])
        case double([Double])
        /// Byte arrays: the dictionary's entries are entries `first..<first + count` of the
        /// storage's entry list.
        case byteArrays(first: Int, count: Int)

        var count: Int {
            switch self {
            case .boolean(let v): v.count
            case .int32(let v): v.count
            case .int64(let v): v.count
            case .float(let v): v.count
            case .double(let v): v.count
            case .byteArrays(_, let count): count
            }
        }
    }

    /// Decodes `chunk` (the chunk's bytes, from its first page to its end) holding `rows` rows,
    /// appending to `storage` and `validity` (validity only for nullable columns).
    func decode(_ chunk: UnsafeRawBufferPointer, rows: Int, storage: inout Storage, validity: inout [Bool]) throws(DecodeFailure) {
        var position = 0
        var rowsRead = 0
        var dictionary: Dictionary?
        var page: [UInt8] = []
        let maxLevel = descriptor.nullable ? 1 : 0
        while rowsRead < rows {
            guard position < chunk.count else {
                throw .corrupt("the column chunk ends after \(rowsRead) of its \(rows) rows")
            }
            // The page header.
            var r = ThriftCompactReader(chunk, position: position)
            let header = try PageHeader.decode(&r)
            position = r.position
            guard header.compressedSize >= 0, header.compressedSize <= chunk.count - position else {
                throw .corrupt("a page of \(header.compressedSize) bytes runs past the end of its column chunk")
            }
            guard header.uncompressedSize >= 0 else { throw .corrupt("a page has a negative size") }
            guard header.uncompressedSize <= limits.maxPageBytes else {
                throw DecodeFailure(
                    .limitExceeded,
                    "a page is \(header.uncompressedSize) bytes uncompressed, more than the reader's limit of \(limits.maxPageBytes)",
                    fix: "raise ParquetReaderLimits.maxPageBytes if the file is trusted, or write smaller pages")
            }
            let body = UnsafeRawBufferPointer(rebasing: chunk[position..<(position + header.compressedSize)])
            position += header.compressedSize

            switch header.type {
            case 2:  // DICTIONARY_PAGE
                guard dictionary == nil else { throw .corrupt("a column chunk has two dictionary pages") }
                guard header.encoding == 0 || header.encoding == 2 else {
                    throw DecodeFailure(.unsupported, "a dictionary page uses encoding \(Self.encodingName(header.encoding))", fix: "")
                }
                guard header.numValues >= 0 else { throw .corrupt("a dictionary page has a negative entry count") }
                try decompress(body, size: header.uncompressedSize, levelsPrefix: 0, into: &page)
                dictionary = try page.withBytes { (bytes) throws(DecodeFailure) -> Dictionary in
                    try decodeDictionary(bytes, count: header.numValues, storage: &storage)
                }
            case 0, 3:  // DATA_PAGE, DATA_PAGE_V2
                let n = header.numValues
                guard n >= 0, n <= rows - rowsRead else {
                    throw .corrupt("a data page holds \(n) values, more than the \(rows - rowsRead) rows left in its row group")
                }
                var levelBytes = 0
                if header.type == 3 {
                    levelBytes = header.repetitionLevelsLength + header.definitionLevelsLength
                    guard header.repetitionLevelsLength >= 0, header.definitionLevelsLength >= 0,
                        levelBytes <= header.compressedSize, levelBytes <= header.uncompressedSize
                    else { throw .corrupt("a v2 data page's level lengths exceed the page") }
                }
                if header.type == 3 && !header.isCompressed {
                    try decompress(body, size: header.uncompressedSize, levelsPrefix: body.count, into: &page)
                } else {
                    try decompress(body, size: header.uncompressedSize, levelsPrefix: levelBytes, into: &page)
                }
                try page.withBytes { (bytes) throws(DecodeFailure) in
                    var valuesStart = 0
                    var present = n
                    if maxLevel > 0 {
                        let levels: UnsafeRawBufferPointer
                        if header.type == 3 {
                            levels = UnsafeRawBufferPointer(
                                rebasing: bytes[header.repetitionLevelsLength..<levelBytes])
                            valuesStart = levelBytes
                        } else {
                            guard header.definitionLevelEncoding == 3 else {
                                throw DecodeFailure(
                                    .unsupported,
                                    "definition levels use encoding \(Self.encodingName(header.definitionLevelEncoding)), not RLE",
                                    fix: "write the file with a current writer (pyarrow, DuckDB, polars)")
                            }
                            guard bytes.count >= 4 else { throw .corrupt("a data page ends before its definition levels") }
                            let length = Int(bytes.loadUnaligned(as: UInt32.self).littleEndian)
                            guard length <= bytes.count - 4 else { throw .corrupt("a page's definition levels run past the page") }
                            levels = UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + length)])
                            valuesStart = 4 + length
                        }
                        present = try readLevels(levels, count: n, into: &validity)
                    } else {
                        valuesStart = levelBytes
                    }
                    let values = UnsafeRawBufferPointer(rebasing: bytes[valuesStart...])
                    let nullable = maxLevel > 0
                    try decodeValues(
                        values, encoding: header.encoding, rows: n, present: present,
                        validity: nullable ? validity.suffix(n) : nil, dictionary: dictionary, storage: &storage)
                }
                rowsRead += n
            default:
                continue  // index pages and unknown page types carry no rows
            }
        }
    }

    /// Decompresses a page body into `page` (`size` bytes). For v2 pages the first
    /// `levelsPrefix` bytes are stored uncompressed and copied as they are.
    private func decompress(_ body: UnsafeRawBufferPointer, size: Int, levelsPrefix: Int, into page: inout [UInt8]) throws(DecodeFailure) {
        if page.count != size {
            page = [UInt8](repeating: 0, count: size)
        }
        let prefix = min(levelsPrefix, body.count)
        try page.withMutableBytes { (out) throws(DecodeFailure) in
            if prefix > 0 {
                guard prefix <= out.count else { throw .corrupt("a page's levels exceed its size") }
                out.baseAddress!.copyMemory(from: body.baseAddress!, byteCount: prefix)
            }
            let rest = UnsafeRawBufferPointer(rebasing: body[prefix...])
            let target = UnsafeMutableRawBufferPointer(rebasing: out[prefix...])
            if prefix == body.count && levelsPrefix == body.count {
                guard target.count == 0 else { throw .corrupt("an uncompressed v2 page holds \(body.count) bytes but its header says \(size)") }
                return
            }
            if rest.isEmpty && target.isEmpty { return }
            try decompressor.decompress(codec: codec, rest, into: target)
        }
    }

    /// Reads `count` definition levels (max level 1), appends validity, returns how many rows
    /// hold a value.
    private func readLevels(_ levels: UnsafeRawBufferPointer, count: Int, into validity: inout [Bool]) throws(DecodeFailure) -> Int {
        var decoded = [UInt32](repeating: 0, count: count)
        var decoder = RLEHybridDecoder(levels, bitWidth: 1)
        try decoded.withMutableValues { (out) throws(DecodeFailure) in try decoder.decode(into: out) }
        var present = 0
        validity.reserveCapacity(validity.count + count)
        for level in decoded {
            guard level <= 1 else { throw .corrupt("a definition level of \(level) exceeds the column's maximum of 1") }
            validity.append(level == 1)
            present += Int(level)
        }
        return present
    }

    // MARK: Values

    /// Decodes a dictionary page's PLAIN entries.
    private func decodeDictionary(_ bytes: UnsafeRawBufferPointer, count: Int, storage: inout Storage) throws(DecodeFailure) -> Dictionary {
        switch descriptor.physicalType {
        case .boolean:
            var values = [Bool](repeating: false, count: 0)
            try Self.plainBooleans(bytes, count: count, into: &values)
            return .boolean(values)
        case .int32: return .int32(try Self.plainFixed(bytes, count: count, as: Int32.self))
        case .int64: return .int64(try Self.plainFixed(bytes, count: count, as: Int64.self))
        case .float: return .float(try Self.plainFixed(bytes, count: count, as: Float.self))
        case .double: return .double(try Self.plainFixed(bytes, count: count, as: Double.self))
        case .byteArray, .fixedLenByteArray:
            guard case .byteArrays(var store, var offsets, let indices) = storage else { fatalError("storage type mismatch") }
            storage = .byteArrays(store: [], offsets: [], indices: [])  // keep the arrays uniquely referenced
            let first = offsets.count - 1
            _ = try appendByteArrays(bytes, count: count, store: &store, offsets: &offsets)
            storage = .byteArrays(store: store, offsets: offsets, indices: indices)
            return .byteArrays(first: first, count: count)
        case .int96:
            throw Self.int96Unsupported
        }
    }

    static let int96Unsupported = DecodeFailure(
        .unsupported, "INT96 timestamps are not supported",
        fix: "write timestamps as INT64 (pyarrow does by default; Spark: spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS)")

    /// Appends `rows` values (of which `present` are non-null, in the rows where `validity`
    /// is true) to `storage`.
    private func decodeValues(
        _ bytes: UnsafeRawBufferPointer, encoding: Int32, rows: Int, present: Int, validity: ArraySlice<Bool>?,
        dictionary: Dictionary?, storage: inout Storage
    ) throws(DecodeFailure) {
        switch encoding {
        case 2, 8:  // PLAIN_DICTIONARY, RLE_DICTIONARY
            guard let dictionary else { throw .corrupt("a dictionary-encoded page comes without a dictionary page") }
            guard bytes.count >= 1 || present == 0 else { throw .corrupt("a dictionary-encoded page has no bit width") }
            var indices = [UInt32](repeating: 0, count: present)
            if present > 0 {
                let width = Int(bytes[0])
                var decoder = RLEHybridDecoder(UnsafeRawBufferPointer(rebasing: bytes[1...]), bitWidth: width)
                try indices.withMutableValues { (out) throws(DecodeFailure) in try decoder.decode(into: out) }
            }
            let limit = UInt32(dictionary.count)
            for index in indices where index >= limit {
                throw .corrupt("a dictionary index \(index) is past the dictionary's \(limit) entries")
            }
            switch (dictionary, storage) {
            case (.boolean(let d), .boolean(var v)):
                storage = .boolean([])
                scatter(indices.lazy.map { d[Int($0)] }, rows: rows, validity: validity, placeholder: false, into: &v)
                storage = .boolean(v)
            case (.int32(let d), .int32(var v)):
                storage = .int32([])
                scatter(indices.lazy.map { d[Int($0)] }, rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .int32(v)
            case (.int64(let d), .int64(var v)):
                storage = .int64([])
                scatter(indices.lazy.map { d[Int($0)] }, rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .int64(v)
            case (.float(let d), .float(var v)):
                storage = .float([])
                scatter(indices.lazy.map { d[Int($0)] }, rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .float(v)
            case (.double(let d), .double(var v)):
                storage = .double([])
                scatter(indices.lazy.map { d[Int($0)] }, rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .double(v)
            case (.byteArrays(let first, _), .byteArrays(let store, let offsets, var rowsOut)):
                storage = .byteArrays(store: [], offsets: [], indices: [])
                scatter(indices.lazy.map { Int32(first) + Int32($0) }, rows: rows, validity: validity, placeholder: -1, into: &rowsOut)
                storage = .byteArrays(store: store, offsets: offsets, indices: rowsOut)
            default:
                throw .corrupt("the dictionary's type does not match the column's")
            }
        case 0:  // PLAIN
            switch storage {
            case .boolean(var v):
                storage = .boolean([])
                var values: [Bool] = []
                try Self.plainBooleans(bytes, count: present, into: &values)
                scatter(values, rows: rows, validity: validity, placeholder: false, into: &v)
                storage = .boolean(v)
            case .int32(var v):
                storage = .int32([])
                scatter(try Self.plainFixed(bytes, count: present, as: Int32.self), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .int32(v)
            case .int64(var v):
                storage = .int64([])
                scatter(try Self.plainFixed(bytes, count: present, as: Int64.self), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .int64(v)
            case .float(var v):
                storage = .float([])
                scatter(try Self.plainFixed(bytes, count: present, as: Float.self), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .float(v)
            case .double(var v):
                storage = .double([])
                scatter(try Self.plainFixed(bytes, count: present, as: Double.self), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .double(v)
            case .byteArrays(var store, var offsets, var rowsOut):
                if descriptor.physicalType == .int96 { throw Self.int96Unsupported }
                storage = .byteArrays(store: [], offsets: [], indices: [])
                let first = offsets.count - 1
                _ = try appendByteArrays(bytes, count: present, store: &store, offsets: &offsets)
                scatter((0..<present).lazy.map { Int32(first + $0) }, rows: rows, validity: validity, placeholder: -1, into: &rowsOut)
                storage = .byteArrays(store: store, offsets: offsets, indices: rowsOut)
            }
        case 3:  // RLE (booleans)
            guard case .boolean(var v) = storage else {
                throw DecodeFailure(.unsupported, "RLE-encoded values of a \(descriptor.physicalType) column are not supported", fix: "")
            }
            guard bytes.count >= 4 else { throw .corrupt("an RLE boolean page ends before its length") }
            let length = Int(bytes.loadUnaligned(as: UInt32.self).littleEndian)
            guard length <= bytes.count - 4 else { throw .corrupt("RLE booleans run past the page") }
            var decoded = [UInt32](repeating: 0, count: present)
            var decoder = RLEHybridDecoder(UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + length)]), bitWidth: 1)
            try decoded.withMutableValues { (out) throws(DecodeFailure) in try decoder.decode(into: out) }
            storage = .boolean([])
            scatter(decoded.lazy.map { $0 != 0 }, rows: rows, validity: validity, placeholder: false, into: &v)
            storage = .boolean(v)
        case 5:  // DELTA_BINARY_PACKED
            var decoder = DeltaBinaryPackedDecoder(bytes)
            switch storage {
            case .int32(var v):
                storage = .int32([])
                let values = try decoder.decode(count: present)
                scatter(values.lazy.map { Int32(truncatingIfNeeded: $0) }, rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .int32(v)
            case .int64(var v):
                storage = .int64([])
                scatter(try decoder.decode(count: present), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .int64(v)
            default:
                throw DecodeFailure(.unsupported, "DELTA_BINARY_PACKED values of a \(descriptor.physicalType) column", fix: "")
            }
        case 6, 7:  // DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY
            guard case .byteArrays(var store, var offsets, var rowsOut) = storage, descriptor.physicalType == .byteArray else {
                throw DecodeFailure(.unsupported, "\(Self.encodingName(encoding)) values of a \(descriptor.physicalType) column", fix: "")
            }
            storage = .byteArrays(store: [], offsets: [], indices: [])
            let first = offsets.count - 1
            try Self.appendDeltaByteArrays(
                bytes, count: present, withPrefixes: encoding == 7, maxBytes: limits.maxPageBytes, store: &store, offsets: &offsets)
            scatter((0..<present).lazy.map { Int32(first + $0) }, rows: rows, validity: validity, placeholder: -1, into: &rowsOut)
            storage = .byteArrays(store: store, offsets: offsets, indices: rowsOut)
        case 9:  // BYTE_STREAM_SPLIT
            switch storage {
            case .int32(var v):
                storage = .int32([])
                scatter(try Self.byteStreamSplit(bytes, count: present, as: Int32.self), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .int32(v)
            case .int64(var v):
                storage = .int64([])
                scatter(try Self.byteStreamSplit(bytes, count: present, as: Int64.self), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .int64(v)
            case .float(var v):
                storage = .float([])
                scatter(try Self.byteStreamSplit(bytes, count: present, as: Float.self), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .float(v)
            case .double(var v):
                storage = .double([])
                scatter(try Self.byteStreamSplit(bytes, count: present, as: Double.self), rows: rows, validity: validity, placeholder: 0, into: &v)
                storage = .double(v)
            default:
                throw DecodeFailure(.unsupported, "BYTE_STREAM_SPLIT values of a \(descriptor.physicalType) column", fix: "")
            }
        default:
            throw DecodeFailure(
                .unsupported, "values are encoded with \(Self.encodingName(encoding)), which this reader does not decode",
                fix: "write the file with PLAIN or dictionary encoding (pyarrow: column_encoding='PLAIN' or use_dictionary=True; DuckDB: PARQUET_VERSION V1)")
        }
    }

    /// Appends `rows` elements to `out`: the next of `present` at each valid row, the
    /// placeholder at each null row.
    private func scatter<S: Sequence>(_ present: S, rows: Int, validity: ArraySlice<Bool>?, placeholder: S.Element, into out: inout [S.Element]) {
        out.reserveCapacity(out.count + rows)
        guard let validity else {
            out.append(contentsOf: present)
            return
        }
        var iterator = present.makeIterator()
        for valid in validity {
            out.append(valid ? (iterator.next() ?? placeholder) : placeholder)
        }
    }

    /// PLAIN booleans: bit-packed, least significant bit first.
    private static func plainBooleans(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Bool]) throws(DecodeFailure) {
        guard count <= bytes.count * 8 else { throw .corrupt("a page holds fewer booleans than it says (\(count))") }
        out.reserveCapacity(count)
        for i in 0..<count { out.append(bytes[i >> 3] >> UInt8(i & 7) & 1 == 1) }
    }

    /// PLAIN fixed-width little-endian values.
    private static func plainFixed<T: FixedWidthValue>(_ bytes: UnsafeRawBufferPointer, count: Int, as: T.Type) throws(DecodeFailure) -> [T] {
        let size = MemoryLayout<T>.size
        guard count <= bytes.count / size else {
            throw .corrupt("a page holds \(bytes.count / size) values of \(size) bytes but says \(count)")
        }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: bytes.baseAddress!, byteCount: count * size)
            }
            initialized = count
        }
    }

    /// BYTE_STREAM_SPLIT: byte `k` of every value, then byte `k + 1`, ...
    private static func byteStreamSplit<T: FixedWidthValue>(_ bytes: UnsafeRawBufferPointer, count: Int, as: T.Type) throws(DecodeFailure) -> [T] {
        let size = MemoryLayout<T>.size
        guard count <= bytes.count / size else { throw .corrupt("a BYTE_STREAM_SPLIT page holds fewer values than it says") }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
            for i in 0..<count {
                for k in 0..<size { raw.storeBytes(of: bytes[k * count + i], toByteOffset: i * size + k, as: UInt8.self) }
            }
            initialized = count
        }
    }

    /// Appends `count` PLAIN byte arrays (length-prefixed, or of the column's fixed length) as
    /// new entries; returns the bytes consumed.
    private func appendByteArrays(
        _ bytes: UnsafeRawBufferPointer, count: Int, store: inout [UInt8], offsets: inout [Int]
    ) throws(DecodeFailure) -> Int {
        var p = 0
        let fixed = descriptor.physicalType == .fixedLenByteArray ? Int(descriptor.typeLength ?? -1) : nil
        if let fixed, fixed < 0 { throw .corrupt("a FIXED_LEN_BYTE_ARRAY column has no valid type_length") }
        guard count <= bytes.count / max(fixed ?? 4, 1) || (fixed == 0) else {
            throw .corrupt("a page holds fewer byte arrays than it says (\(count))")
        }
        offsets.reserveCapacity(offsets.count + count)
        for _ in 0..<count {
            let length: Int
            if let fixed {
                length = fixed
            } else {
                guard p + 4 <= bytes.count else { throw .corrupt("a page ends inside a byte array's length") }
                length = Int(bytes.loadUnaligned(fromByteOffset: p, as: UInt32.self).littleEndian)
                p += 4
            }
            guard length <= bytes.count - p else { throw .corrupt("a byte array of \(length) bytes runs past the page") }
            store.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[p..<(p + length)]))
            p += length
            offsets.append(store.count)
        }
        return p
    }

    /// DELTA_LENGTH_BYTE_ARRAY (delta-packed lengths, then the bytes) or, with prefixes,
    /// DELTA_BYTE_ARRAY (delta-packed prefix lengths shared with the previous value, then the
    /// suffixes as DELTA_LENGTH_BYTE_ARRAY).
    private static func appendDeltaByteArrays(
        _ bytes: UnsafeRawBufferPointer, count: Int, withPrefixes: Bool, maxBytes: Int, store: inout [UInt8], offsets: inout [Int]
    ) throws(DecodeFailure) {
        var rest = bytes
        var prefixes: [Int64] = []
        if withPrefixes {
            var decoder = DeltaBinaryPackedDecoder(rest)
            prefixes = try decoder.decode(count: count)
            rest = UnsafeRawBufferPointer(rebasing: rest[decoder.consumed...])
        }
        var decoder = DeltaBinaryPackedDecoder(rest)
        let lengths = try decoder.decode(count: count)
        var p = decoder.consumed
        var previous = 0..<0
        var first = true
        let startCount = store.count
        for (k, length) in lengths.enumerated() {
            guard length >= 0, length <= Int64(rest.count - p) else { throw .corrupt("a delta-encoded byte array runs past the page") }
            let start = store.count
            if withPrefixes {
                let prefix = prefixes[k]
                let available = first ? 0 : previous.count
                guard prefix >= 0, prefix <= Int64(available) else { throw .corrupt("a DELTA_BYTE_ARRAY prefix is longer than the previous value") }
                // Shared prefixes could expand a small page quadratically: bound the output.
                guard store.count - startCount + Int(prefix) <= maxBytes else {
                    throw DecodeFailure(
                        .limitExceeded, "a DELTA_BYTE_ARRAY page expands past the reader's page limit of \(maxBytes) bytes",
                        fix: "raise ParquetReaderLimits.maxPageBytes if the file is trusted")
                }
                if prefix > 0 {
                    store.reserveCapacity(store.count + Int(prefix))
                    for i in 0..<Int(prefix) { store.append(store[previous.lowerBound + i]) }
                }
            }
            store.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[p..<(p + Int(length))]))
            p += Int(length)
            offsets.append(store.count)
            previous = start..<store.count
            first = false
        }
    }

    /// The name of a Parquet `Encoding` value.
    static func encodingName(_ encoding: Int32) -> String {
        switch encoding {
        case 0: "PLAIN"
        case 2: "PLAIN_DICTIONARY"
        case 3: "RLE"
        case 4: "BIT_PACKED"
        case 5: "DELTA_BINARY_PACKED"
        case 6: "DELTA_LENGTH_BYTE_ARRAY"
        case 7: "DELTA_BYTE_ARRAY"
        case 8: "RLE_DICTIONARY"
        case 9: "BYTE_STREAM_SPLIT"
        default: "encoding \(encoding)"
        }
    }
}

/// Fixed-width numbers stored little-endian by PLAIN.
protocol FixedWidthValue: BitwiseCopyable {}
extension Int32: FixedWidthValue {}
extension Int64: FixedWidthValue {}
extension Float: FixedWidthValue {}
extension Double: FixedWidthValue {}

/// A `PageHeader`, with the fields of whichever page-type header it carries.
struct PageHeader {
    var type: Int32 = -1
    var uncompressedSize = 0
    var compressedSize = 0
    var numValues = 0
    var encoding: Int32 = 0
    var definitionLevelEncoding: Int32 = 3
    /// v2 only.
    var definitionLevelsLength = 0
    var repetitionLevelsLength = 0
    var isCompressed = true

    static func decode(_ r: inout ThriftCompactReader) throws(DecodeFailure) -> PageHeader {
        var h = PageHeader()
        var sawType = false
        try r.beginStruct()
        while let field = try r.nextField() {
            switch (field.id, field.type) {
            case (1, _):
                h.type = try r.i32(field.type)
                sawType = true
            case (2, _): h.uncompressedSize = Int(try r.i32(field.type))
            case (3, _): h.compressedSize = Int(try r.i32(field.type))
            case (5, 12), (7, 12), (8, 12):
                let kind = field.id
                try r.beginStruct()
                while let f = try r.nextField() {
                    switch (kind, f.id) {
                    case (_, 1): h.numValues = Int(try r.i32(f.type))
                    case (5, 2), (7, 2), (8, 4): h.encoding = try r.i32(f.type)
                    case (5, 3): h.definitionLevelEncoding = try r.i32(f.type)
                    case (8, 5): h.definitionLevelsLength = Int(try r.i32(f.type))
                    case (8, 6): h.repetitionLevelsLength = Int(try r.i32(f.type))
                    case (8, 7): h.isCompressed = try r.bool(f.type)
                    default: try r.skip(f.type)
                    }
                }
            default: try r.skip(field.type)
            }
        }
        guard sawType else { throw .corrupt("a page header has no page type") }
        return h
    }
}
