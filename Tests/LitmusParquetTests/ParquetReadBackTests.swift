import Foundation
import LitmusParquet
import Testing

/// Files written by ParquetWriter, read back by pyarrow, DuckDB and polars (see
/// PythonReaders), values compared exactly.
@Suite("Parquet read-back with pyarrow, DuckDB and polars")
struct ParquetReadBackTests {
    // MARK: Fixtures

    static let specialDoubles: [Double] = [
        .nan, .infinity, -.infinity, -0.0, 0.0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, 1.0 / 3.0, -1e-300, .pi,
        1, -1, 123_456.789, 2.5e-8, -7, 1e308, 0.1, 4_503_599_627_370_497,
    ]
    static let specialInts: [Int64] = [
        .min, .max, 0, -1, 1, 42, -42, Int64(Int32.max) + 1, Int64(Int32.min) - 1, 1 << 62, -(1 << 62),
        255, 256, -129, 7, 8, 9, 1_000_000_007, -999, 3, 12,
    ]
    static let specialStrings: [String] = [
        "", "a", "🧪", "測試", "e\u{301}", "é", "Ω", "tab\t\"quote\"\\", "👩‍👩‍👧‍👦", "한국어",
        "line\nbreak", "ü", "A", "z", " ", "€uro", "日本語のテキスト", "x", "mixed ascii and ünïcödé", "🇨🇭", "ok",
    ]
    static let specialTimestamps: [Int64] = [
        0, -1, 1, -2_208_988_800_000_000 /* 1900-01-01 */, 1_700_000_000_123_456, 4_102_444_800_000_000 /* 2100 */,
        -62_135_596_800_000_000 /* 0001-01-01 */, 253_402_300_799_999_999 /* 9999-12-31T23:59:59.999999 */,
        -86_400_000_000, 86_400_000_000, 1_000, -1_000, 999_999, -999_999, 1_234_567_890_123_456,
        -1_234_567_890_123_456, 42, 1_577_836_800_000_000, 946_684_800_000_000, -1_577_836_800_000_000, 5,
    ]

    static let everyTypeSchema = ParquetSchema(columns: [
        ParquetColumn(name: "id", type: .int64),
        ParquetColumn(name: "i", type: .int64, nullable: true),
        ParquetColumn(name: "d", type: .double),
        ParquetColumn(name: "dn", type: .double, nullable: true),
        ParquetColumn(name: "b", type: .boolean),
        ParquetColumn(name: "bn", type: .boolean, nullable: true),
        ParquetColumn(name: "s", type: .string),
        ParquetColumn(name: "sn", type: .string, nullable: true),
        ParquetColumn(name: "sp", type: .string, nullable: true, dictionary: false),
        ParquetColumn(name: "t", type: .timestampMicrosUTC),
        ParquetColumn(name: "tn", type: .timestampMicrosUTC, nullable: true),
    ])

    /// 21 rows of special values (booleans cross byte boundaries); nullable columns have
    /// every third row null.
    static func everyTypeBatch() -> Batch {
        let n = 21
        let validity = (0..<n).map { $0 % 3 != 1 }
        let bools = (0..<n).map { $0 % 2 == 0 || $0 % 7 == 0 }
        return Batch(rowCount: n, columns: [
            .int64(specialInts),
            .int64(specialInts.reversed(), validity: validity),
            .double(specialDoubles),
            .double(specialDoubles.reversed(), validity: validity),
            .boolean(bools),
            .boolean(bools.map { !$0 }, validity: validity),
            .string(specialStrings),
            .string(specialStrings.reversed(), validity: validity),
            .string(specialStrings.map { $0 + "|" + $0 }, validity: validity),
            .timestampMicros(specialTimestamps),
            .timestampMicros(specialTimestamps.reversed(), validity: validity),
        ])
    }

    // MARK: Values

    @Test("every type, special values, nulls: zstd and uncompressed")
    func everyType() throws {
        let directory = try TemporaryDirectory()
        let batches = [Self.everyTypeBatch(), Self.everyTypeBatch()]
        let zstd = directory.file("zstd.parquet")
        let plain = directory.file("plain.parquet")
        try writeParquet(zstd, schema: Self.everyTypeSchema, batches: batches)
        try writeParquet(
            plain, schema: Self.everyTypeSchema, options: ParquetWriterOptions(compression: .uncompressed),
            batches: batches)
        let results = try PythonReaders.read([zstd, plain])
        for result in results {
            expectSameValues(result, Self.everyTypeSchema, batches)
        }
        for chunk in results[0].metadata.rowGroups[0].columns { #expect(chunk.compression == "ZSTD") }
        for chunk in results[1].metadata.rowGroups[0].columns { #expect(chunk.compression == "UNCOMPRESSED") }
        #expect(directory.contents == ["plain.parquet", "zstd.parquet"])
    }

    @Test("all-null columns of every type")
    func allNull() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("nulls.parquet")
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "row", type: .int64),
            ParquetColumn(name: "i", type: .int64, nullable: true),
            ParquetColumn(name: "d", type: .double, nullable: true),
            ParquetColumn(name: "b", type: .boolean, nullable: true),
            ParquetColumn(name: "s", type: .string, nullable: true),
            ParquetColumn(name: "sp", type: .string, nullable: true, dictionary: false),
            ParquetColumn(name: "t", type: .timestampMicrosUTC, nullable: true),
        ])
        let n = 13
        let none = [Bool](repeating: false, count: n)
        let batch = Batch(rowCount: n, columns: [
            .int64((0..<n).map(Int64.init)),
            .int64(Array(repeating: 7, count: n), validity: none),
            .double(Array(repeating: 1.5, count: n), validity: none),
            .boolean(Array(repeating: true, count: n), validity: none),
            .string(Array(repeating: "ignored", count: n), validity: none),
            .string(Array(repeating: "", count: n), validity: none),
            .timestampMicros(Array(repeating: 9, count: n), validity: none),
        ])
        try writeParquet(path, schema: schema, batches: [batch])
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, [batch])
        for chunk in result.metadata.rowGroups[0].columns.dropFirst() {
            #expect(chunk.statistics == PythonReaders.Statistics(nullCount: n, hasMinMax: false, min: nil, max: nil))
        }
    }

    @Test("a file with no rows")
    func zeroRows() throws {
        let directory = try TemporaryDirectory()
        let empty = directory.file("empty.parquet")
        let emptyWrite = directory.file("empty-write.parquet")
        try writeParquet(empty, schema: Self.everyTypeSchema, batches: [])
        let noRows = Batch(rowCount: 0, columns: [
            .int64([]), .int64([], validity: []), .double([]), .double([]), .boolean([]), .boolean([]),
            .string([]), .string([]), .string([]), .timestampMicros([]), .timestampMicros([]),
        ])
        try writeParquet(emptyWrite, schema: Self.everyTypeSchema, batches: [noRows])
        for result in try PythonReaders.read([empty, emptyWrite]) {
            expectSameValues(result, Self.everyTypeSchema, [])
            #expect(result.metadata.numRows == 0)
            #expect(result.metadata.numRowGroups == 0)
            #expect(result.metadata.columns.map(\.arrowType) == [
                "int64", "int64", "double", "double", "bool", "bool", "string", "string", "string",
                "timestamp[us, tz=UTC]", "timestamp[us, tz=UTC]",
            ])
        }
    }

    @Test("Unicode strings are stored byte for byte, without normalization")
    func unicodeNotNormalized() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("unicode.parquet")
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "dict", type: .string),
            ParquetColumn(name: "plain", type: .string, dictionary: false),
        ])
        // Canonically equivalent pairs, equal as Swift Strings but not as bytes.
        let values = ["é", "e\u{301}", "Å", "A\u{30A}", "\u{212B}", "가", "\u{1100}\u{1161}", "é", "e\u{301}"]
        let batch = Batch(rowCount: values.count, columns: [.string(values), .string(values)])
        try writeParquet(path, schema: schema, batches: [batch])
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, [batch])
        let dictionaryPage = result.metadata.rowGroups[0].columns[0].pages.first
        #expect(dictionaryPage == PythonReaders.Page(type: 2, encoding: 0, numValues: 7))
    }

    @Test("dictionary-form strings: the same file as one String per row")
    func dictionaryForm() throws {
        let directory = try TemporaryDirectory()
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "s", type: .string),
            ParquetColumn(name: "sn", type: .string, nullable: true),
            ParquetColumn(name: "sp", type: .string, nullable: true, dictionary: false),
        ])
        // Unused values, byte-equal duplicates and canonically equivalent strings; rows in an
        // order that differs from the values'.
        let values = ["unused", "é", "e\u{301}", "Ω", "", "é", "tab\t\"quote\"\\", "🧪"]
        let indices: [Int32] = [3, 1, 2, 5, 4, 6, 7, 1, 3, 3, 2, 5, 7, 6, 4, 1, 2]
        let nullable: [Int32] = indices.enumerated().map { $0.offset % 4 == 2 ? -1 : $0.element }
        let rows = indices.map { values[Int($0)] }
        let validity = nullable.map { $0 >= 0 }
        let dictionary = directory.file("dictionary.parquet")
        let strings = directory.file("strings.parquet")
        // Two batches, cut into row groups of 10 rows: chunk dictionaries restart mid-call.
        let options = ParquetWriterOptions(rowGroupRows: 10)
        let batches = [
            Batch(rowCount: rows.count, columns: [
                .dictionaryString(values, indices: indices), .dictionaryString(values, indices: nullable),
                .dictionaryString(values, indices: nullable),
            ]),
            Batch(rowCount: 3, columns: [
                .dictionaryString(["x", "é"], indices: [1, 0, 1]), .dictionaryString(["x"], indices: [-1, -1, 0]),
                .dictionaryString([], indices: [-1, -1, -1]),
            ]),
        ]
        try writeParquet(dictionary, schema: schema, options: options, batches: batches)
        try writeParquet(strings, schema: schema, options: options, batches: [
            Batch(rowCount: rows.count, columns: [
                .string(rows), .string(rows, validity: validity), .string(rows, validity: validity),
            ]),
            Batch(rowCount: 3, columns: [
                .string(["é", "x", "é"]), .string(["", "", "x"], validity: [false, false, true]),
                .string(["", "", ""], validity: [false, false, false]),
            ]),
        ])
        let result = try PythonReaders.read(dictionary)
        expectSameValues(result, schema, batches)
        let same = try Data(contentsOf: URL(fileURLWithPath: dictionary)) == Data(contentsOf: URL(fileURLWithPath: strings))
        #expect(same, "dictionary-form strings write the bytes one String per row writes")
    }

    @Test("dictionary-form strings that outgrow the dictionary limit fall back to PLAIN")
    func dictionaryFormFallback() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("fallback.parquet")
        let schema = ParquetSchema(columns: [ParquetColumn(name: "s", type: .string, nullable: true)])
        let values = (0..<300).map { "value-\($0)-" + String(repeating: "x", count: $0 % 17) }
        let indices: [Int32] = (0..<2000).map { (row: Int) -> Int32 in row % 7 == 0 ? -1 : Int32(row * 37 % 300) }
        let batch = Batch(rowCount: indices.count, columns: [.dictionaryString(values, indices: indices)])
        try writeParquet(path, schema: schema, options: ParquetWriterOptions(dictionaryPageLimitBytes: 1000), batches: [batch])
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, [batch])
        let pages = result.metadata.rowGroups[0].columns[0].pages
        #expect(pages.first?.type == 2, "a dictionary page first")
        #expect(pages.contains { $0.type == 0 && $0.encoding == 0 }, "PLAIN data pages after the fallback")
    }

    @Test("random data, many batches, row groups and pages", arguments: [
        (ParquetCompression.zstd(level: 1), 1), (.uncompressed, 1), (.zstd(level: 9), 1), (.zstd(level: 1), 2),
        (.uncompressed, 3),
    ])
    func randomized(compression: ParquetCompression, threads: Int) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("random.parquet")
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "seq", type: .int64),
            ParquetColumn(name: "status", type: .string, nullable: true),
            ParquetColumn(name: "value", type: .double, nullable: true),
            ParquetColumn(name: "flag", type: .boolean, nullable: true),
            ParquetColumn(name: "when", type: .timestampMicrosUTC, nullable: true),
            ParquetColumn(name: "note", type: .string, nullable: true),
            ParquetColumn(name: "count", type: .int64, nullable: true),
            ParquetColumn(name: "raw", type: .string, dictionary: false),
        ])
        var random = SplitMix64(seed: 0x5EED)
        var batches: [Batch] = []
        var seq: Int64 = 0
        let statuses = ["PASS", "FAIL", "SKIP", "ERROR", "ünïcode", ""]
        for _ in 0..<12 {
            let n = Int.random(in: 0...3000, using: &random)
            func validity(_ nullRate: Double) -> [Bool] {
                (0..<n).map { _ in Double.random(in: 0..<1, using: &random) >= nullRate }
            }
            var columns: [ParquetColumnData] = []
            columns.append(.int64((0..<n).map { _ in seq += 1; return seq }))
            columns.append(.string((0..<n).map { _ in statuses.randomElement(using: &random)! }, validity: validity(0.3)))
            columns.append(.double((0..<n).map { _ in Double(bitPattern: random.next()) }, validity: validity(0.5)))
            columns.append(.boolean((0..<n).map { _ in Bool.random(using: &random) }, validity: validity(0.2)))
            columns.append(.timestampMicros(
                (0..<n).map { _ in Int64.random(in: -4_000_000_000_000_000...4_000_000_000_000_000, using: &random) },
                validity: validity(0.1)))
            columns.append(.string(
                (0..<n).map { _ in "note \(Int.random(in: 0..<400, using: &random))" }, validity: validity(0.9)))
            columns.append(.int64((0..<n).map { _ in Int64(bitPattern: random.next()) }, validity: validity(0.05)))
            columns.append(.string((0..<n).map { _ in String(random.next(), radix: 36) }))
            batches.append(Batch(rowCount: n, columns: columns))
        }
        let options = ParquetWriterOptions(
            rowGroupRows: 4096, pageSizeBytes: 8 * 1024, dictionaryPageLimitBytes: 2048, compression: compression,
            threads: threads)
        try writeParquet(path, schema: schema, options: options, batches: batches)
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, batches)
        let rows = batches.reduce(0) { $0 + $1.rowCount }
        #expect(result.metadata.numRowGroups == (rows + 4095) / 4096)
        for rowGroup in result.metadata.rowGroups {
            for chunk in rowGroup.columns {
                let dataValues = chunk.pages.filter { $0.type == 0 }.reduce(0) { $0 + $1.numValues }
                #expect(dataValues == rowGroup.numRows)
            }
        }
    }

    // MARK: Layout and metadata

    @Test("row groups are cut at rowGroupRows across write calls; pages at pageSizeBytes")
    func rowGroupsAndPages() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("groups.parquet")
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "n", type: .int64),
            ParquetColumn(name: "x", type: .double, nullable: true),
            ParquetColumn(name: "s", type: .string, nullable: true),
            ParquetColumn(name: "b", type: .boolean),
            ParquetColumn(name: "t", type: .timestampMicrosUTC),
        ])
        var start: Int64 = 0
        var batches: [Batch] = []
        for n in [1234, 2000, 266] {
            let rows = (0..<n).map { start + Int64($0) }
            batches.append(Batch(rowCount: n, columns: [
                .int64(rows),
                .double(rows.map { Double($0) / 8 }, validity: rows.map { $0 % 5 != 0 }),
                .string(rows.map { "state-\($0 % 4)" }, validity: rows.map { $0 % 7 != 0 }),
                .boolean(rows.map { $0 % 3 == 0 }),
                .timestampMicros(rows.map { 1_700_000_000_000_000 + $0 * 1_000 }),
            ]))
            start += Int64(n)
        }
        let options = ParquetWriterOptions(rowGroupRows: 1000, pageSizeBytes: 1024)
        try writeParquet(path, schema: schema, options: options, batches: batches)
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, batches)
        let metadata = result.metadata
        #expect(metadata.numRows == 3500)
        #expect(metadata.numRowGroups == 4)
        #expect(metadata.rowGroups.map(\.numRows) == [1000, 1000, 1000, 500])
        for (index, rowGroup) in metadata.rowGroups.enumerated() {
            let first = index * 1000
            let last = first + rowGroup.numRows - 1
            let ints = rowGroup.columns[0]
            #expect(ints.encodings == ["PLAIN", "RLE"])
            #expect(!ints.hasDictionaryPage)
            #expect(ints.pages.count >= rowGroup.numRows * 8 / 1024, "int64 pages of row group \(index)")
            #expect(ints.pages.allSatisfy { $0.type == 0 && $0.encoding == 0 })
            #expect(ints.statistics == PythonReaders.Statistics(nullCount: 0, hasMinMax: true, min: "i:\(first)", max: "i:\(last)"))
            let nullsInX = (first...last).filter { $0 % 5 == 0 }.count
            #expect(rowGroup.columns[1].statistics?.nullCount == nullsInX)
            #expect(rowGroup.columns[1].pages.count > 1)
            let strings = rowGroup.columns[2]
            #expect(strings.encodings == ["PLAIN", "RLE", "RLE_DICTIONARY"])
            #expect(strings.hasDictionaryPage)
            #expect(strings.pages.first == PythonReaders.Page(type: 2, encoding: 0, numValues: 4))
            #expect(strings.pages.dropFirst().allSatisfy { $0.type == 0 && $0.encoding == 8 })
            #expect(strings.statistics?.min == PythonReaders.stringForm("state-0"))
            #expect(strings.statistics?.max == PythonReaders.stringForm("state-3"))
            for chunk in rowGroup.columns {
                #expect(chunk.numValues == rowGroup.numRows)
                #expect(chunk.pages.filter { $0.type == 0 }.reduce(0) { $0 + $1.numValues } == rowGroup.numRows)
                #expect(chunk.compression == "ZSTD")
            }
        }
    }

    @Test("a dictionary that outgrows its limit falls back to PLAIN for the rest of the chunk")
    func dictionaryFallback() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("fallback.parquet")
        let schema = ParquetSchema(columns: [ParquetColumn(name: "s", type: .string, nullable: true)])
        // Row group 1: 50 rows over 5 values, then 250 distinct values (the dictionary holds
        // 256 bytes: 18 entries of 4 + 10 bytes). Row group 2: 300 rows over 3 values.
        var values = (0..<50).map { String(format: "value-%04d", $0 % 5) }
        values += (0..<250).map { String(format: "value-%04d", 1000 - $0) }
        values += (0..<300).map { String(format: "other-%04d", $0 % 3) }
        let validity = values.indices.map { $0 % 11 != 3 }
        let batch = Batch(rowCount: values.count, columns: [.string(values, validity: validity)])
        let options = ParquetWriterOptions(rowGroupRows: 300, pageSizeBytes: 512, dictionaryPageLimitBytes: 256)
        try writeParquet(path, schema: schema, options: options, batches: [batch])
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, [batch])

        let first = result.metadata.rowGroups[0].columns[0]
        #expect(first.encodings == ["PLAIN", "RLE", "RLE_DICTIONARY"])
        #expect(first.hasDictionaryPage)
        let dictionaryPage = try #require(first.pages.first)
        #expect(dictionaryPage.type == 2 && dictionaryPage.encoding == 0)
        #expect(dictionaryPage.numValues == 18)
        let dataEncodings = first.pages.dropFirst().map(\.encoding)
        let plainStart = try #require(dataEncodings.firstIndex(of: 0))
        #expect(plainStart > 0)
        #expect(dataEncodings[..<plainStart].allSatisfy { $0 == 8 })
        #expect(dataEncodings[plainStart...].allSatisfy { $0 == 0 })
        #expect(dataEncodings.count - plainStart > 1, "several PLAIN pages after the fallback")
        let present = values[..<300].indices.filter { validity[$0] }.map { values[$0] }
        #expect(first.statistics?.min == PythonReaders.stringForm(present.min()!))
        #expect(first.statistics?.max == PythonReaders.stringForm(present.max()!))

        // The next row group starts with a fresh dictionary.
        let second = result.metadata.rowGroups[1].columns[0]
        #expect(second.encodings == ["PLAIN", "RLE", "RLE_DICTIONARY"])
        #expect(second.pages.first == PythonReaders.Page(type: 2, encoding: 0, numValues: 3))
        #expect(second.pages.dropFirst().allSatisfy { $0.encoding == 8 })
    }

    @Test("a zero dictionary limit writes PLAIN only, without a dictionary page")
    func noDictionaryRoom() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("nodict.parquet")
        let schema = ParquetSchema(columns: [ParquetColumn(name: "s", type: .string, nullable: true)])
        let values = (0..<100).map { "v\($0 % 3)" }
        let batch = Batch(rowCount: 100, columns: [.string(values, validity: (0..<100).map { $0 % 4 != 0 })])
        try writeParquet(path, schema: schema, options: ParquetWriterOptions(dictionaryPageLimitBytes: 0), batches: [batch])
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, [batch])
        let chunk = result.metadata.rowGroups[0].columns[0]
        #expect(chunk.encodings == ["PLAIN", "RLE"])
        #expect(!chunk.hasDictionaryPage)
        #expect(chunk.pages == [PythonReaders.Page(type: 0, encoding: 0, numValues: 100)])
    }

    @Test("default options: 1 MiB pages, 128 Ki-row groups, a call spanning two of them")
    func defaultOptions() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("defaults.parquet")
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "n", type: .int64),
            ParquetColumn(name: "x", type: .double, nullable: true),
            ParquetColumn(name: "status", type: .string, nullable: true),
            ParquetColumn(name: "ok", type: .boolean),
        ])
        let n = 140_000
        let batch = Batch(rowCount: n, columns: [
            .int64((0..<n).map { Int64($0) * 3 }),
            .double((0..<n).map { Double($0).squareRoot() }, validity: (0..<n).map { $0 % 10 != 0 }),
            .string((0..<n).map { ["PASS", "FAIL", "SKIP"][$0 % 7 == 0 ? 1 : ($0 % 11 == 0 ? 2 : 0)] },
                    validity: (0..<n).map { $0 % 13 != 0 }),
            .boolean((0..<n).map { $0 % 7 != 0 }),
        ])
        try writeParquet(path, schema: schema, batches: [batch])
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, [batch])
        #expect(result.metadata.rowGroups.map(\.numRows) == [131_072, 140_000 - 131_072])
        let ints = result.metadata.rowGroups[0].columns[0]
        // 131,072 int64 values are exactly 1 MiB: one page.
        #expect(ints.pages.count == 1)
        #expect(ints.totalCompressedSize < ints.totalUncompressedSize / 4, "zstd shrinks a counter")
    }

    @Test("a dictionary-encoded page before the first value, then values")
    func nullPagesBeforeDictionaryValues() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("late.parquet")
        let schema = ParquetSchema(columns: [ParquetColumn(name: "s", type: .string, nullable: true)])
        let n = 5000
        let values = (0..<n).map { $0 < 3000 ? "" : "v\($0 % 9)" }
        let batch = Batch(rowCount: n, columns: [.string(values, validity: (0..<n).map { $0 >= 3000 })])
        try writeParquet(path, schema: schema, options: ParquetWriterOptions(pageSizeBytes: 64), batches: [batch])
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, [batch])
        let chunk = result.metadata.rowGroups[0].columns[0]
        #expect(chunk.pages.count > 3)
        #expect(chunk.statistics == PythonReaders.Statistics(
            nullCount: 3000, hasMinMax: true, min: PythonReaders.stringForm("v0"), max: PythonReaders.stringForm("v8")))
    }

    @Test("statistics: min, max and null count in each type's order")
    func statistics() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("stats.parquet")
        let strings = ["a", "Z", "é", "🧪", "", "zz", "ab"]
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "i", type: .int64, nullable: true),
            ParquetColumn(name: "d", type: .double),
            ParquetColumn(name: "dnan", type: .double),
            ParquetColumn(name: "dzero", type: .double),
            ParquetColumn(name: "btrue", type: .boolean),
            ParquetColumn(name: "bmixed", type: .boolean, nullable: true),
            ParquetColumn(name: "s", type: .string, nullable: true),
            ParquetColumn(name: "sp", type: .string, nullable: true, dictionary: false),
            ParquetColumn(name: "t", type: .timestampMicrosUTC, nullable: true),
            ParquetColumn(name: "long", type: .string),
        ])
        let n = 7
        let longString = String(repeating: "x", count: 5000)
        let batch = Batch(rowCount: n, columns: [
            .int64([5, -3, .max, 0, .min, 9, 0], validity: [true, true, true, false, true, true, true]),
            .double([.nan, 2.5, -1, .nan, 0.5, -0.0, 2]),
            .double([.nan, .nan, .nan, .nan, .nan, .nan, .nan]),
            .double([0.0, 0.0, -0.0, 0.0, 0.0, 0.0, 0.0]),
            .boolean([true, true, true, true, true, true, true]),
            .boolean([false, true, false, true, false, true, true], validity: [true, true, true, false, true, true, false]),
            .string(strings, validity: [true, true, true, true, true, true, false]),
            .string(strings, validity: [true, true, true, true, true, true, false]),
            .timestampMicros([-5, 10, 3, 0, 0, 0, 0], validity: [true, true, true, false, false, false, false]),
            .string(["a", "b", longString, "c", "d", "e", "f"]),
        ])
        try writeParquet(path, schema: schema, batches: [batch])
        let result = try PythonReaders.read(path)
        expectSameValues(result, schema, [batch])
        let chunks = result.metadata.rowGroups[0].columns
        typealias Stats = PythonReaders.Statistics
        #expect(chunks[0].statistics == Stats(nullCount: 1, hasMinMax: true, min: "i:\(Int64.min)", max: "i:\(Int64.max)"))
        #expect(chunks[1].statistics == Stats(
            nullCount: 0, hasMinMax: true, min: PythonReaders.doubleForm(-1), max: PythonReaders.doubleForm(2.5)))
        #expect(chunks[1].nanCount == 2)
        #expect(chunks[2].statistics == Stats(nullCount: 0, hasMinMax: false, min: nil, max: nil))
        #expect(chunks[2].nanCount == 7)
        // Zero bounds are written as -0.0 (min) and +0.0 (max), as the spec asks.
        #expect(chunks[3].statistics == Stats(
            nullCount: 0, hasMinMax: true, min: PythonReaders.doubleForm(-0.0), max: PythonReaders.doubleForm(0.0)))
        #expect(chunks[4].statistics == Stats(nullCount: 0, hasMinMax: true, min: "b:1", max: "b:1"))
        #expect(chunks[5].statistics == Stats(nullCount: 2, hasMinMax: true, min: "b:0", max: "b:1"))
        // Unsigned byte-wise order: "" < "Z" < "a" < "ab" < "zz" < "é" (C3 A9) < "🧪" (F0 ...).
        let stringStats = Stats(
            nullCount: 1, hasMinMax: true, min: PythonReaders.stringForm(""), max: PythonReaders.stringForm("🧪"))
        #expect(chunks[6].statistics == stringStats)
        #expect(chunks[7].statistics == stringStats)
        #expect(chunks[8].statistics == Stats(nullCount: 4, hasMinMax: true, min: "i:-5", max: "i:10"))
        // A bound longer than 4 KiB is left out rather than copied into the footer.
        #expect(chunks[9].statistics == Stats(nullCount: 0, hasMinMax: false, min: nil, max: nil))
    }

    @Test("schema, logical types, key/value metadata and created_by")
    func metadata() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("meta.parquet")
        let options = ParquetWriterOptions(keyValueMetadata: [
            "litmus.run": "42", "b": "ü 🧪", "a": "", "litmus.schema": "{\"v\": 1}",
        ])
        try writeParquet(path, schema: Self.everyTypeSchema, options: options, batches: [Self.everyTypeBatch()])
        let metadata = try PythonReaders.read(path).metadata
        #expect(metadata.createdBy == "litmus-swift parquet writer \(ParquetWriterOptions.writerVersion)")
        #expect(metadata.formatVersion == "2.6")
        #expect(metadata.numRows == 21)
        #expect(metadata.columnOrders == Self.everyTypeSchema.columns.count)
        let hex = { (text: String) in PythonReaders.hex(Array(text.utf8)) }
        #expect(metadata.keyValueMetadata == [
            hex("litmus.run"): hex("42"), hex("b"): hex("ü 🧪"), hex("a"): "", hex("litmus.schema"): hex("{\"v\": 1}"),
        ])
        let timestamp = "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)"
        typealias Column = PythonReaders.SchemaColumn
        #expect(metadata.columns == [
            Column(name: "id", arrowType: "int64", nullable: false, physicalType: "INT64", logicalType: "None", convertedType: "NONE"),
            Column(name: "i", arrowType: "int64", nullable: true, physicalType: "INT64", logicalType: "None", convertedType: "NONE"),
            Column(name: "d", arrowType: "double", nullable: false, physicalType: "DOUBLE", logicalType: "None", convertedType: "NONE"),
            Column(name: "dn", arrowType: "double", nullable: true, physicalType: "DOUBLE", logicalType: "None", convertedType: "NONE"),
            Column(name: "b", arrowType: "bool", nullable: false, physicalType: "BOOLEAN", logicalType: "None", convertedType: "NONE"),
            Column(name: "bn", arrowType: "bool", nullable: true, physicalType: "BOOLEAN", logicalType: "None", convertedType: "NONE"),
            Column(name: "s", arrowType: "string", nullable: false, physicalType: "BYTE_ARRAY", logicalType: "String", convertedType: "UTF8"),
            Column(name: "sn", arrowType: "string", nullable: true, physicalType: "BYTE_ARRAY", logicalType: "String", convertedType: "UTF8"),
            Column(name: "sp", arrowType: "string", nullable: true, physicalType: "BYTE_ARRAY", logicalType: "String", convertedType: "UTF8"),
            Column(name: "t", arrowType: "timestamp[us, tz=UTC]", nullable: false, physicalType: "INT64", logicalType: timestamp, convertedType: "TIMESTAMP_MICROS"),
            Column(name: "tn", arrowType: "timestamp[us, tz=UTC]", nullable: true, physicalType: "INT64", logicalType: timestamp, convertedType: "TIMESTAMP_MICROS"),
        ])
        let encodings = metadata.rowGroups[0].columns.map(\.encodings)
        #expect(encodings == [
            ["PLAIN", "RLE"], ["PLAIN", "RLE"], ["PLAIN", "RLE"], ["PLAIN", "RLE"], ["PLAIN", "RLE"], ["PLAIN", "RLE"],
            ["PLAIN", "RLE", "RLE_DICTIONARY"], ["PLAIN", "RLE", "RLE_DICTIONARY"], ["PLAIN", "RLE"],
            ["PLAIN", "RLE"], ["PLAIN", "RLE"],
        ])
    }

    @Test("overwrite replaces an existing file with a complete new one")
    func overwrite() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("run.parquet")
        let schema = ParquetSchema(columns: [ParquetColumn(name: "n", type: .int64)])
        let old = Batch(rowCount: 3, columns: [.int64([1, 2, 3])])
        let new = Batch(rowCount: 2, columns: [.int64([7, 8])])
        try writeParquet(path, schema: schema, batches: [old])
        try writeParquet(path, schema: schema, options: ParquetWriterOptions(overwrite: true), batches: [new])
        expectSameValues(try PythonReaders.read(path), schema, [new])
        #expect(directory.contents == ["run.parquet"])
    }
}
