/// Scratch buffers and the compressor shared by the column writers of one thread.
final class PageScratch {
    let compressor: PageCompressor
    /// The page body being assembled (levels, then values).
    let body = ByteBuffer(capacity: 1 << 16)
    /// The compressed page body.
    let compressed = ByteBuffer(capacity: 1 << 16)

    init(_ compression: ParquetCompression) {
        compressor = PageCompressor(compression)
    }
}

/// A problem with a value found while encoding (after validation), e.g. a string too long for
/// Parquet's 32-bit lengths; `row` is relative to the batch passed to `append`.
struct ValueFailure: Error {
    var message: String
    var row: Int
}

/// Encodes one column into pages, one column chunk (row group) at a time.
///
/// Values are appended in batches; a data page is cut whenever its estimated uncompressed
/// size reaches the page size. Pages are compressed as soon as they are cut and kept in
/// ``chunkPages`` until the row group is complete, because a column chunk must be contiguous
/// in the file and every column of the row group is filled at once.
final class ColumnChunkWriter {
    let column: ParquetColumn
    let physicalType: PhysicalType
    private let pageSizeBytes: Int
    private let dictionaryLimit: Int

    // MARK: Current page

    /// PLAIN-encoded values of the page (booleans: one byte per value, bit-packed at flush).
    private let pageValues = ByteBuffer(capacity: 1 << 12)
    /// Dictionary indices of the page, as native `UInt32`s.
    private let pageIndices = ByteBuffer(capacity: 1 << 12)
    /// Definition levels of the page, one byte (0 or 1) per row; nullable columns only.
    private let pageLevels = ByteBuffer(capacity: 1 << 12)
    /// Rows (values including nulls) in the page.
    private var pageRows = 0

    // MARK: Current column chunk

    /// The chunk's data pages, headers included, compressed.
    let chunkPages = ByteBuffer(capacity: 1 << 12)
    /// The chunk's dictionary page, header included (empty when not dictionary-encoded).
    let chunkDictionaryPage = ByteBuffer(capacity: 1 << 10)
    private let dictionary: StringDictionary?
    /// Dictionary indices of recently seen `String` values, keyed by the 16 bytes of the
    /// `String` itself (see ``StringBitsCache``); for dictionary-encoded columns given one
    /// `String` per row (made when first needed).
    private var stringCache: StringBitsCache?
    /// Whether values are currently dictionary-encoded (false after the fallback to PLAIN).
    private var dictionaryMode: Bool
    private var chunkRows = 0
    private var chunkNulls = 0
    private var dataPagesUncompressed = 0
    private var dataPagesCompressed = 0
    private var plainDataPages: Int32 = 0
    private var dictionaryDataPages: Int32 = 0

    // MARK: Statistics of the chunk

    private var intMin = Int64.max
    private var intMax = Int64.min
    private var doubleMin = Double.infinity
    private var doubleMax = -Double.infinity
    /// Non-NaN, non-null doubles seen.
    private var orderedDoubles = 0
    private var nanCount = 0
    private var sawFalse = false
    private var sawTrue = false
    /// Min and max of the strings written PLAIN (dictionary entries are scanned at the end).
    private let plainStringMin = ByteBuffer(capacity: 64)
    private let plainStringMax = ByteBuffer(capacity: 64)
    private var hasPlainStringStats = false

    /// Strings longer than this get no min/max statistics (as Arrow's default
    /// max_statistics_size): statistics are copied into every footer reader's memory.
    static let maxStringStatisticsBytes = 4096
    /// Bytes a single string may take. Page sizes are signed 32-bit in Parquet, and a page
    /// holding one value must still fit after zstd's worst-case expansion.
    static let maxValueBytes = 1 << 30

    init(column: ParquetColumn, options: ParquetWriterOptions) {
        self.column = column
        physicalType = PhysicalType(column.type)
        pageSizeBytes = options.pageSizeBytes
        dictionaryLimit = options.dictionaryPageLimitBytes
        dictionary = column.dictionary ? StringDictionary() : nil
        dictionaryMode = column.dictionary
    }

    // MARK: Appending

    /// Appends rows `range` of `data` (already validated against the schema) to the chunk.
    func append(_ data: ParquetColumnData, range: Range<Int>, scratch: PageScratch) throws {
        guard !range.isEmpty else { return }
        try withOptionalBuffer(data.validity) { validity in
            switch data.values {
            case .int64(let values), .timestampMicros(let values):
                try values.withUnsafeBufferPointer { try appendFixed(values: $0, validity: validity, range: range, scratch: scratch) }
            case .double(let values):
                try values.withUnsafeBufferPointer { try appendFixed(values: $0, validity: validity, range: range, scratch: scratch) }
            case .boolean(let values):
                try values.withUnsafeBufferPointer { try appendBooleans($0, validity: validity, range: range, scratch: scratch) }
            case .string(let values):
                // Cached String bits are only meaningful while this array keeps its strings alive.
                if stringCache == nil && column.dictionary && StringBitsCache.isSupported { stringCache = StringBitsCache() }
                stringCache?.invalidate()
                try values.withUnsafeBufferPointer {
                    try appendStrings(StringArrayRows(values: $0, validity: validity), range: range, scratch: scratch)
                }
            case .dictionaryString(let values, let indices):
                try values.withUnsafeBufferPointer { values in
                    try indices.withUnsafeBufferPointer { indices in
                        // The chunk dictionary's index of each value, -1 until a row uses it.
                        try withUnsafeTemporaryAllocation(of: Int32.self, capacity: values.count) { chunkIndex in
                            chunkIndex.initialize(repeating: -1)
                            let rows = IndexedStringRows(values: values, indices: indices, chunkIndex: chunkIndex)
                            try appendStrings(rows, range: range, scratch: scratch)
                        }
                    }
                }
            }
        }
    }

    /// Appends the definition levels of rows `from..<to` and returns their null count.
    @inline(__always)
    private func appendLevels(_ validity: UnsafeBufferPointer<Bool>?, from: Int, to: Int) -> Int {
        let n = to - from
        guard let validity else {
            if column.nullable { pageLevels.append(repeating: 1, count: n) }
            return 0
        }
        // A Bool is stored as one byte, 0 or 1: exactly a definition level.
        let start = UnsafeRawPointer(validity.baseAddress! + from)
        if column.nullable { pageLevels.append(start, count: n) }
        return n - countOnes(start, n)
    }

    private var estimatedLevelBytes: Int { pageLevels.count / 8 }

    /// Int64, timestamps and doubles: 8 bytes little-endian per value.
    private func appendFixed<T: FixedWidthStatistic>(
        values: UnsafeBufferPointer<T>, validity: UnsafeBufferPointer<Bool>?, range: Range<Int>, scratch: PageScratch
    ) throws {
        var row = range.lowerBound
        while row < range.upperBound {
            let room = max(pageSizeBytes - pageValues.count - estimatedLevelBytes, 8)
            let end = min(range.upperBound, row + max(room / 8, 1))
            let nulls = appendLevels(validity, from: row, to: end)
            let stored = end - row - nulls
            pageValues.reserve(stored * 8)
            let dst = pageValues.end
            var stats = T.Accumulator(self)
            if let validity {
                var k = 0
                for i in row..<end where validity[i] {
                    let v = values[i]
                    dst.storeBytes(of: v.littleEndianBits, toByteOffset: k &* 8, as: UInt64.self)
                    stats.add(v)
                    k &+= 1
                }
            } else {
                if 1.littleEndian == 1 {
                    dst.copyMemory(from: values.baseAddress! + row, byteCount: stored * 8)
                    for i in row..<end { stats.add(values[i]) }
                } else {
                    for i in row..<end {
                        dst.storeBytes(of: values[i].littleEndianBits, toByteOffset: (i - row) &* 8, as: UInt64.self)
                        stats.add(values[i])
                    }
                }
            }
            stats.store(into: self)
            pageValues.count += stored * 8
            pageRows += end - row
            chunkRows += end - row
            chunkNulls += nulls
            if pageValues.count + estimatedLevelBytes >= pageSizeBytes { try flushPage(scratch) }
            row = end
        }
    }

    private func appendBooleans(
        _ values: UnsafeBufferPointer<Bool>, validity: UnsafeBufferPointer<Bool>?, range: Range<Int>, scratch: PageScratch
    ) throws {
        var row = range.lowerBound
        while row < range.upperBound {
            let room = max(pageSizeBytes - pageValues.count / 8 - estimatedLevelBytes, 1)
            let end = min(range.upperBound, row + max(room * 8, 8))
            let nulls = appendLevels(validity, from: row, to: end)
            let stored = end - row - nulls
            pageValues.reserve(stored)
            let dst = pageValues.end
            var trues = 0
            if let validity {
                var k = 0
                for i in row..<end where validity[i] {
                    let v: UInt8 = values[i] ? 1 : 0
                    dst.storeBytes(of: v, toByteOffset: k, as: UInt8.self)
                    trues &+= Int(v)
                    k &+= 1
                }
            } else {
                let start = UnsafeRawPointer(values.baseAddress! + row)
                dst.copyMemory(from: start, byteCount: stored)
                trues = countOnes(start, stored)
            }
            if trues > 0 { sawTrue = true }
            if trues < stored { sawFalse = true }
            pageValues.count += stored
            pageRows += end - row
            chunkRows += end - row
            chunkNulls += nulls
            if pageValues.count / 8 + estimatedLevelBytes >= pageSizeBytes { try flushPage(scratch) }
            row = end
        }
    }

    private func appendStrings<Rows: StringRows>(_ rows: Rows, range: Range<Int>, scratch: PageScratch) throws {
        var row = range.lowerBound
        while row < range.upperBound {
            let end: Int
            if dictionaryMode, let dictionary {
                let width = max(RLEHybridEncoder.bitWidth(forMaxValue: UInt32(dictionary.count)), 1)
                let room = max(pageSizeBytes - estimatedIndexBytes - estimatedLevelBytes, 1)
                let batchEnd = min(range.upperBound, row + min(max(room * 8 / width, 8), 4096))
                end = appendDictionaryStrings(rows, from: row, to: batchEnd, dictionary: dictionary)
                if end < batchEnd {
                    // The dictionary is full: finish the page with what it holds, and write the
                    // rest of the column chunk PLAIN. (With an empty dictionary the page holds
                    // only nulls so far, and simply continues as a PLAIN page.)
                    if dictionary.count > 0 { try flushPage(scratch) }
                    dictionaryMode = false
                } else if estimatedIndexBytes + estimatedLevelBytes >= pageSizeBytes {
                    try flushPage(scratch)
                }
            } else {
                end = try appendPlainStrings(rows, from: row, to: range.upperBound)
                if end < range.upperBound || pageValues.count + estimatedLevelBytes >= pageSizeBytes {
                    try flushPage(scratch)
                }
            }
            row = end
        }
    }

    private var estimatedIndexBytes: Int {
        guard let dictionary else { return 0 }
        let width = max(RLEHybridEncoder.bitWidth(forMaxValue: UInt32(dictionary.count)), 1)
        return pageIndices.count / 4 * width / 8
    }

    /// Dictionary-encodes rows `from..<to`; stops early, at the first row whose value would
    /// overflow the dictionary, and returns the row it stopped at. Rows whose nulls are not
    /// given as validity flags get their definition levels in the same pass.
    private func appendDictionaryStrings<Rows: StringRows>(
        _ rows: Rows, from: Int, to: Int, dictionary: StringDictionary
    ) -> Int {
        let levelsInline = rows.mayHaveNulls && rows.validity == nil
        pageIndices.reserve((to - from) * 4)
        if levelsInline { pageLevels.reserve(to - from) }
        let indices = pageIndices.end
        let levels = pageLevels.end
        let limit = dictionaryLimit
        var k = 0
        var stop = to
        for i in from..<to {
            if rows.isNull(i) {
                if levelsInline { levels.storeBytes(of: 0, toByteOffset: i &- from, as: UInt8.self) }
                continue
            }
            let index = rows.dictionaryIndex(i, dictionary: dictionary, limit: limit, cache: stringCache)
            if index < 0 {
                stop = i
                break
            }
            if levelsInline { levels.storeBytes(of: 1, toByteOffset: i &- from, as: UInt8.self) }
            indices.storeBytes(of: UInt32(bitPattern: index), toByteOffset: k &* 4, as: UInt32.self)
            k &+= 1
        }
        let n = stop - from
        pageIndices.count += k * 4
        let nulls: Int
        if levelsInline {
            if column.nullable { pageLevels.count += n }
            nulls = n - k
        } else {
            nulls = appendLevels(rows, from: from, to: stop)
        }
        pageRows += n
        chunkRows += n
        chunkNulls += nulls
        return stop
    }

    /// Appends the definition levels of rows `from..<to` and returns their null count.
    @inline(__always)
    private func appendLevels<Rows: StringRows>(_ rows: Rows, from: Int, to: Int) -> Int {
        if let validity = rows.validity { return appendLevels(validity, from: from, to: to) }
        if !rows.mayHaveNulls { return appendLevels(nil, from: from, to: to) }
        let n = to - from
        pageLevels.reserve(n)
        let dst = pageLevels.end
        var present = 0
        for i in from..<to {
            let level: UInt8 = rows.isNull(i) ? 0 : 1
            dst.storeBytes(of: level, toByteOffset: i &- from, as: UInt8.self)
            present &+= Int(level)
        }
        if column.nullable { pageLevels.count += n }
        return n - present
    }

    /// PLAIN-encodes rows from `from` on, until `to` or until the page is full (the caller then
    /// flushes it); returns the row it stopped at. A value that would push a non-empty page
    /// past ``maxValueBytes`` goes to the next page.
    private func appendPlainStrings<Rows: StringRows>(_ rows: Rows, from: Int, to: Int) throws -> Int {
        var stop = to
        let full = pageSizeBytes - estimatedLevelBytes
        var failure: ValueFailure?
        for i in from..<to {
            if rows.isNull(i) { continue }
            var nextPage = false
            withUTF8Bytes(rows.string(i)) { bytes, length in
                if length > Self.maxValueBytes {
                    failure = ValueFailure(
                        message: "a string of \(length) bytes is longer than the \(Self.maxValueBytes) bytes supported",
                        row: i)
                    return
                }
                if pageValues.count > 0 && pageValues.count + 4 + length > Self.maxValueBytes {
                    nextPage = true
                    return
                }
                pageValues.appendLittleEndian(UInt32(length))
                if let bytes { pageValues.append(bytes, count: length) }
                updatePlainStringStatistics(bytes, length)
            }
            if failure != nil || nextPage {
                stop = i
                break
            }
            if pageValues.count >= full {
                stop = i + 1
                break
            }
        }
        let nulls = appendLevels(rows, from: from, to: stop)
        pageRows += stop - from
        chunkRows += stop - from
        chunkNulls += nulls
        if let failure { throw failure }
        return stop
    }

    @inline(__always)
    private func updatePlainStringStatistics(_ bytes: UnsafeRawPointer?, _ length: Int) {
        if !hasPlainStringStats {
            if let bytes {
                plainStringMin.append(bytes, count: length)
                plainStringMax.append(bytes, count: length)
            }
            hasPlainStringStats = true
            return
        }
        if compareBytes(bytes, length, plainStringMin.base, plainStringMin.count) < 0 {
            plainStringMin.removeAll()
            if let bytes { plainStringMin.append(bytes, count: length) }
        } else if compareBytes(bytes, length, plainStringMax.base, plainStringMax.count) > 0 {
            plainStringMax.removeAll()
            if let bytes { plainStringMax.append(bytes, count: length) }
        }
    }

    // MARK: Pages

    /// Encodes, compresses and stores the current page, if it has rows.
    func flushPage(_ scratch: PageScratch) throws {
        guard pageRows > 0 else { return }
        let body = scratch.body
        body.removeAll()
        if column.nullable {
            let lengthOffset = body.count
            body.appendLittleEndian(UInt32(0))
            pageLevels.base.withMemoryRebound(to: UInt8.self, capacity: pageLevels.count) {
                RLEHybridEncoder.encodeLevels(UnsafeBufferPointer(start: $0, count: pageLevels.count), into: body)
            }
            body.setUInt32LittleEndian(UInt32(body.count - lengthOffset - 4), at: lengthOffset)
        }
        let encoding: ParquetEncoding
        if dictionaryMode, let dictionary {
            encoding = .rleDictionary
            let width = dictionary.count == 0 ? 0 : max(RLEHybridEncoder.bitWidth(forMaxValue: UInt32(dictionary.count - 1)), 1)
            body.append(UInt8(width))
            let count = pageIndices.count / 4
            pageIndices.base.withMemoryRebound(to: UInt32.self, capacity: count) {
                RLEHybridEncoder.encode(UnsafeBufferPointer(start: $0, count: count), bitWidth: width, into: body)
            }
            dictionaryDataPages += 1
        } else {
            encoding = .plain
            if physicalType == .boolean {
                packBits(pageValues, into: body)
            } else {
                body.append(pageValues)
            }
            plainDataPages += 1
        }
        let (stored, compressedSize) = try compress(body, scratch)
        let header = ParquetMetadataEncoder.dataPageHeader(
            uncompressedSize: body.count, compressedSize: compressedSize, numValues: pageRows, encoding: encoding)
        chunkPages.append(header)
        chunkPages.append(stored.base, count: compressedSize)
        dataPagesUncompressed += header.count + body.count
        dataPagesCompressed += header.count + compressedSize
        pageValues.removeAll()
        pageIndices.removeAll()
        pageLevels.removeAll()
        pageRows = 0
    }

    private func compress(_ body: ByteBuffer, _ scratch: PageScratch) throws -> (ByteBuffer, Int) {
        scratch.compressed.removeAll()
        if let size = try scratch.compressor.compress(body.bytes, into: scratch.compressed) {
            return (scratch.compressed, size)
        }
        return (body, body.count)
    }

    /// Packs one byte (0 or 1) per value into bits, least significant bit first.
    private func packBits(_ source: ByteBuffer, into out: ByteBuffer) {
        let n = source.count
        let byteCount = (n + 7) / 8
        out.reserve(byteCount)
        let dst = out.end
        let src = UnsafeRawPointer(source.base)
        var i = 0
        var k = 0
        while i + 8 <= n {
            // Bytes b0...b7 (each 0 or 1) of a little-endian word: the multiplication gathers
            // b_j into bit 56 + j without carries.
            let word = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            dst.storeBytes(of: UInt8(truncatingIfNeeded: (word &* 0x0102_0408_1020_4080) >> 56), toByteOffset: k, as: UInt8.self)
            i += 8
            k += 1
        }
        if i < n {
            var last: UInt8 = 0
            for j in 0..<(n - i) { last |= src.load(fromByteOffset: i + j, as: UInt8.self) << UInt8(j) }
            dst.storeBytes(of: last, toByteOffset: k, as: UInt8.self)
        }
        out.count += byteCount
    }

    // MARK: Finishing the chunk

    /// Flushes the last page and builds the dictionary page; returns the chunk's metadata with
    /// offsets relative to the chunk start. Write ``chunkDictionaryPage`` then ``chunkPages``,
    /// then call ``reset()``.
    func finishChunk(scratch: PageScratch) throws -> ColumnChunkMetadata {
        try flushPage(scratch)
        chunkDictionaryPage.removeAll()
        var dictionaryPageSize = 0
        var dictionaryPageUncompressed = 0
        if let dictionary, dictionaryDataPages > 0 {
            let body = dictionary.plain
            let (stored, compressedSize) = try compress(body, scratch)
            let header = ParquetMetadataEncoder.dictionaryPageHeader(
                uncompressedSize: body.count, compressedSize: compressedSize, numValues: dictionary.count)
            chunkDictionaryPage.append(header)
            chunkDictionaryPage.append(stored.base, count: compressedSize)
            dictionaryPageSize = chunkDictionaryPage.count
            dictionaryPageUncompressed = header.count + body.count
        }
        var encodings: Set<ParquetEncoding> = [.rle]
        var counts: [PageEncodingCount] = []
        if dictionaryPageSize > 0 {
            encodings.insert(.plain)
            counts.append(PageEncodingCount(pageType: .dictionaryPage, encoding: .plain, count: 1))
        }
        if dictionaryDataPages > 0 {
            encodings.insert(.rleDictionary)
            counts.append(PageEncodingCount(pageType: .dataPage, encoding: .rleDictionary, count: dictionaryDataPages))
        }
        if plainDataPages > 0 {
            encodings.insert(.plain)
            counts.append(PageEncodingCount(pageType: .dataPage, encoding: .plain, count: plainDataPages))
        }
        return ColumnChunkMetadata(
            physicalType: physicalType,
            encodings: encodings.sorted(),
            name: column.name,
            codec: scratch.compressor.codec,
            numValues: Int64(chunkRows),
            totalUncompressedSize: Int64(dictionaryPageUncompressed + dataPagesUncompressed),
            totalCompressedSize: Int64(dictionaryPageSize + dataPagesCompressed),
            dataPageOffset: Int64(dictionaryPageSize),
            dictionaryPageOffset: dictionaryPageSize > 0 ? 0 : nil,
            statistics: statistics(),
            encodingCounts: counts)
    }

    private func statistics() -> ChunkStatistics {
        var stats = ChunkStatistics(nullCount: Int64(chunkNulls))
        let nonNull = chunkRows - chunkNulls
        switch column.type {
        case .int64, .timestampMicrosUTC:
            if nonNull > 0 {
                stats.minValue = littleEndianBytes(UInt64(bitPattern: intMin))
                stats.maxValue = littleEndianBytes(UInt64(bitPattern: intMax))
            }
        case .double:
            stats.nanCount = Int64(nanCount)
            if orderedDoubles > 0 {
                // The spec's rule for TYPE_ORDER: a zero minimum is written as -0.0 and a zero
                // maximum as +0.0, since either zero may be present.
                let low = doubleMin == 0 ? -0.0 : doubleMin
                let high = doubleMax == 0 ? 0.0 : doubleMax
                stats.minValue = littleEndianBytes(low.bitPattern)
                stats.maxValue = littleEndianBytes(high.bitPattern)
            }
        case .boolean:
            if nonNull > 0 {
                stats.minValue = [sawFalse ? 0 : 1]
                stats.maxValue = [sawTrue ? 1 : 0]
            }
        case .string:
            if nonNull > 0, let (low, high) = stringMinMax(),
                low.count <= Self.maxStringStatisticsBytes, high.count <= Self.maxStringStatisticsBytes
            {
                stats.minValue = low
                stats.maxValue = high
            }
        }
        return stats
    }

    private func stringMinMax() -> ([UInt8], [UInt8])? {
        var low: UnsafeRawBufferPointer?
        var high: UnsafeRawBufferPointer?
        if hasPlainStringStats {
            low = plainStringMin.bytes
            high = plainStringMax.bytes
        }
        if let dictionary {
            for index in 0..<dictionary.count {
                let entry = dictionary.entry(index)
                if let current = low {
                    if compareBytes(entry.baseAddress, entry.count, current.baseAddress, current.count) < 0 { low = entry }
                } else {
                    low = entry
                }
                if let current = high {
                    if compareBytes(entry.baseAddress, entry.count, current.baseAddress, current.count) > 0 { high = entry }
                } else {
                    high = entry
                }
            }
        }
        guard let low, let high else { return nil }
        return (Array(low), Array(high))
    }

    /// Starts the next column chunk.
    func reset() {
        chunkPages.removeAll()
        chunkDictionaryPage.removeAll()
        dictionary?.removeAll()
        stringCache?.invalidate()
        dictionaryMode = column.dictionary
        chunkRows = 0
        chunkNulls = 0
        dataPagesUncompressed = 0
        dataPagesCompressed = 0
        plainDataPages = 0
        dictionaryDataPages = 0
        intMin = .max
        intMax = .min
        doubleMin = .infinity
        doubleMax = -.infinity
        orderedDoubles = 0
        nanCount = 0
        sawFalse = false
        sawTrue = false
        plainStringMin.removeAll()
        plainStringMax.removeAll()
        hasPlainStringStats = false
    }

    // MARK: Statistics accumulators for fixed-width values (kept in registers in hot loops)

    fileprivate func storeIntStatistics(min: Int64, max: Int64) {
        intMin = min
        intMax = max
    }

    fileprivate func storeDoubleStatistics(min: Double, max: Double, ordered: Int, nans: Int) {
        doubleMin = min
        doubleMax = max
        orderedDoubles = ordered
        nanCount = nans
    }

    fileprivate var intStatistics: (Int64, Int64) { (intMin, intMax) }
    fileprivate var doubleStatistics: (Double, Double, Int, Int) { (doubleMin, doubleMax, orderedDoubles, nanCount) }
}

// MARK: - Helpers

/// The number of 1 bytes among `n` bytes that are each 0 or 1 (the bytes of `Bool`s).
@inline(__always)
private func countOnes(_ bytes: UnsafeRawPointer, _ n: Int) -> Int {
    var total = 0
    var i = 0
    while i &+ 8 <= n {
        // The sum of the 8 bytes (at most 8) lands in the top byte.
        let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        total &+= Int((word &* 0x0101_0101_0101_0101) >> 56)
        i &+= 8
    }
    while i < n {
        total &+= Int(bytes.load(fromByteOffset: i, as: UInt8.self))
        i &+= 1
    }
    return total
}

private func littleEndianBytes(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// Calls `body` with a buffer over `array`, or with `nil`.
@inline(__always)
private func withOptionalBuffer<R>(_ array: [Bool]?, _ body: (UnsafeBufferPointer<Bool>?) throws -> R) rethrows -> R {
    if let array {
        return try array.withUnsafeBufferPointer { try body($0) }
    }
    return try body(nil)
}

/// Calls `body` with the UTF-8 bytes of `string` (start may be nil for an empty string).
@inline(__always)
func withUTF8Bytes<R>(_ string: String, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    if let result = string.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawPointer($0.baseAddress), $0.count) }) {
        return result
    }
    var copy = string
    return copy.withUTF8 { body(UnsafeRawPointer($0.baseAddress), $0.count) }
}

/// A fixed-width value type written PLAIN as 8 little-endian bytes, with its statistics
/// accumulator.
protocol FixedWidthStatistic {
    associatedtype Accumulator: StatisticsAccumulator where Accumulator.Value == Self
    var littleEndianBits: UInt64 { get }
}

protocol StatisticsAccumulator {
    associatedtype Value
    init(_ writer: ColumnChunkWriter)
    mutating func add(_ value: Value)
    func store(into writer: ColumnChunkWriter)
}

extension Int64: FixedWidthStatistic {
    @inline(__always) var littleEndianBits: UInt64 { UInt64(bitPattern: self).littleEndian }

    struct Accumulator: StatisticsAccumulator {
        var low: Int64
        var high: Int64
        init(_ writer: ColumnChunkWriter) { (low, high) = writer.intStatistics }
        @inline(__always) mutating func add(_ value: Int64) {
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
        func store(into writer: ColumnChunkWriter) { writer.storeIntStatistics(min: low, max: high) }
    }
}

extension Double: FixedWidthStatistic {
    @inline(__always) var littleEndianBits: UInt64 { bitPattern.littleEndian }

    struct Accumulator: StatisticsAccumulator {
        var low: Double
        var high: Double
        var ordered: Int
        var nans: Int
        init(_ writer: ColumnChunkWriter) { (low, high, ordered, nans) = writer.doubleStatistics }
        @inline(__always) mutating func add(_ value: Double) {
            if value.isNaN {
                nans &+= 1
            } else {
                if value < low { low = value }
                if value > high { high = value }
                ordered &+= 1
            }
        }
        func store(into writer: ColumnChunkWriter) {
            writer.storeDoubleStatistics(min: low, max: high, ordered: ordered, nans: nans)
        }
    }
}

/// The rows of a string column as the encoder reads them, whatever form they were given in.
protocol StringRows {
    /// The rows' validity flags, when nulls are given that way.
    var validity: UnsafeBufferPointer<Bool>? { get }
    /// Whether any row may be null.
    var mayHaveNulls: Bool { get }
    /// Whether row `i` is null.
    func isNull(_ i: Int) -> Bool
    /// The string of row `i` (not null).
    func string(_ i: Int) -> String
    /// The index in `dictionary` of row `i`'s value (not null), added if new; -1 when adding
    /// it would grow the dictionary past `limit` bytes.
    func dictionaryIndex(_ i: Int, dictionary: StringDictionary, limit: Int, cache: StringBitsCache?) -> Int32
}

/// One `String` per row, with optional validity flags.
struct StringArrayRows: StringRows {
    let values: UnsafeBufferPointer<String>
    let validity: UnsafeBufferPointer<Bool>?

    var mayHaveNulls: Bool { validity != nil }

    @inline(__always) func isNull(_ i: Int) -> Bool {
        if let validity { return !validity[i] }
        return false
    }

    @inline(__always) func string(_ i: Int) -> String { values[i] }

    @inline(__always)
    func dictionaryIndex(_ i: Int, dictionary: StringDictionary, limit: Int, cache: StringBitsCache?) -> Int32 {
        guard let cache else { return withUTF8Bytes(values[i]) { dictionary.index(of: $0, length: $1, limit: limit) } }
        return cache.index(of: values, at: i) {
            withUTF8Bytes(values[i]) { dictionary.index(of: $0, length: $1, limit: limit) }
        }
    }
}

/// Dictionary-form rows: an index per row into distinct values (-1: null), with the chunk
/// dictionary's index of each value once a row has used it, so each value is hashed once.
struct IndexedStringRows: StringRows {
    let values: UnsafeBufferPointer<String>
    let indices: UnsafeBufferPointer<Int32>
    /// Per value: its index in the chunk dictionary, -1 while unknown.
    let chunkIndex: UnsafeMutableBufferPointer<Int32>

    var validity: UnsafeBufferPointer<Bool>? { nil }
    var mayHaveNulls: Bool { true }

    @inline(__always) func isNull(_ i: Int) -> Bool { indices[i] < 0 }

    @inline(__always) func string(_ i: Int) -> String { values[Int(indices[i])] }

    @inline(__always)
    func dictionaryIndex(_ i: Int, dictionary: StringDictionary, limit: Int, cache: StringBitsCache?) -> Int32 {
        let value = Int(indices[i])
        let known = chunkIndex[value]
        if known >= 0 { return known }
        let index = withUTF8Bytes(values[value]) { dictionary.index(of: $0, length: $1, limit: limit) }
        chunkIndex[value] = index
        return index
    }
}

/// A small direct-mapped cache from the raw 16 bytes of a Swift `String` to its dictionary
/// index, which skips hashing and comparing the UTF-8 of values seen recently.
///
/// Equal raw bytes mean equal contents: a small string (up to 15 UTF-8 bytes on 64-bit
/// platforms, which covers most status, unit and channel names) stores its bytes inline, and a
/// large one stores its count and a reference to immutable storage; two strings alive at the
/// same time with the same storage reference have the same contents. Entries are therefore
/// only trusted for one `append` call (one array, whose elements stay alive) and one
/// dictionary: ``invalidate()`` starts a new generation. Unequal raw bytes say nothing (the
/// full lookup runs), so a miss is always safe.
final class StringBitsCache {
    /// Whether `String` has the 16-byte layout the cache relies on.
    static var isSupported: Bool {
        MemoryLayout<String>.size == 16 && MemoryLayout<String>.stride == 16
    }

    private struct Entry {
        var low: UInt64
        var high: UInt64
        var index: Int32
        var generation: UInt32
    }

    private static let slots = 256
    private let entries: UnsafeMutablePointer<Entry>
    private var generation: UInt32 = 1

    init() {
        entries = .allocate(capacity: Self.slots)
        entries.initialize(repeating: Entry(low: 0, high: 0, index: 0, generation: 0), count: Self.slots)
    }

    deinit {
        entries.deallocate()
    }

    /// Forgets every entry.
    func invalidate() {
        generation &+= 1
        if generation == 0 {
            entries.update(repeating: Entry(low: 0, high: 0, index: 0, generation: 0), count: Self.slots)
            generation = 1
        }
    }

    /// The dictionary index of `values[i]`: cached, or computed by `lookup` and cached unless
    /// negative (the dictionary refused the value).
    @inline(__always)
    func index(of values: UnsafeBufferPointer<String>, at i: Int, lookup: () -> Int32) -> Int32 {
        // The String's own bytes, read without retaining it.
        let raw = UnsafeRawPointer(values.baseAddress! + i)
        let low = raw.load(as: UInt64.self)
        let high = raw.load(fromByteOffset: 8, as: UInt64.self)
        let slot = Int(truncatingIfNeeded: ((low ^ (high &* 0x9E37_79B9_7F4A_7C15)) &* 0xFF51_AFD7_ED55_8CCD) >> 56)
        let entry = entries[slot]
        if entry.generation == generation && entry.low == low && entry.high == high {
            return entry.index
        }
        let index = lookup()
        if index >= 0 {
            entries[slot] = Entry(low: low, high: high, index: index, generation: generation)
        }
        return index
    }
}
