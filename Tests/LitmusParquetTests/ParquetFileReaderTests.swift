import Foundation
import LitmusParquet
import Testing

/// The reader against files written by pyarrow, DuckDB and polars (over codecs, data page
/// versions, dictionary on and off, nulls), against our own writer, and against damaged files.
@Suite struct ParquetFileReaderTests {
    /// One file the Python side wrote, with the values it wrote, in ``PythonReaders``' textual forms.
    struct Written: Decodable {
        var path: String
        var label: String
        var columns: [String: [String?]]
        var order: [String]
    }

    /// Writes the matrix of files with pyarrow, DuckDB and polars into `directory`.
    static func writeMatrix(_ directory: String) throws -> [Written] {
        let data = try PythonReaders.run(program: matrixProgram, arguments: [directory])
        return try JSONDecoder().decode([Written].self, from: data)
    }

    /// A column as the textual forms of ``PythonReaders`` (decimals as `dec:` with 2 digits).
    static func forms(_ column: ParquetReadColumn) -> [String?] {
        let n = column.count
        var out = [String?](repeating: nil, count: n)
        if case .decimal? = column.descriptor.logicalType, let d = column.doubles() {
            for i in 0..<n where column.isValid(i) { out[i] = "dec:" + String(format: "%.2f", d[i]) }
            return out
        }
        if case .timestamp? = column.descriptor.logicalType, let t = column.timestampMicros() {
            for i in 0..<n where column.isValid(i) { out[i] = "t:\(t[i])" }
            return out
        }
        switch column.values {
        case .boolean(let v): for i in 0..<n where column.isValid(i) { out[i] = v[i] ? "b:1" : "b:0" }
        case .int32(let v): for i in 0..<n where column.isValid(i) { out[i] = "i:\(v[i])" }
        case .int64(let v): for i in 0..<n where column.isValid(i) { out[i] = "i:\(v[i])" }
        case .float(let v): for i in 0..<n where column.isValid(i) { out[i] = PythonReaders.doubleForm(Double(v[i])) }
        case .double(let v): for i in 0..<n where column.isValid(i) { out[i] = PythonReaders.doubleForm(v[i]) }
        case .strings(let dictionary, let indices):
            for i in 0..<n where indices[i] >= 0 { out[i] = PythonReaders.stringForm(dictionary[Int(indices[i])]) }
        case .bytes(let v): for i in 0..<n where column.isValid(i) { out[i] = "s:" + PythonReaders.hex(v[i]) }
        }
        return out
    }

    @Test func readsFilesOfPyarrowDuckDBAndPolars() throws {
        let directory = try TemporaryDirectory()
        let files = try Self.writeMatrix(directory.path)
        #expect(files.count >= 29)
        var labels = Set<String>()
        for file in files {
            labels.insert(String(file.label.split(separator: " ")[0]))
            let reader = try ParquetFileReader(path: file.path)
            let table = try reader.read()
            #expect(table.columns.map(\.descriptor.name) == file.order, "\(file.label)")
            for column in table.columns {
                let expected = file.columns[column.descriptor.name]
                let got = Self.forms(column)
                if got != expected {
                    let first = zip(got, expected ?? []).enumerated().first { $0.element.0 != $0.element.1 }
                    Issue.record("\(file.label): column \(column.descriptor.name) differs: \(first.map { "row \($0.offset): got \($0.element.0 ?? "null"), expected \($0.element.1 ?? "null")" } ?? "got \(got.count) rows, expected \(expected?.count ?? 0)")")
                }
            }
        }
        #expect(labels == ["pyarrow", "duckdb", "polars"])
    }

    @Test func readsBackWhatTheWriterWrote() throws {
        let directory = try TemporaryDirectory()
        var rng = SplitMix64(seed: 18)
        let n = 5000
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "i", type: .int64, nullable: true),
            ParquetColumn(name: "d", type: .double, nullable: true),
            ParquetColumn(name: "b", type: .boolean, nullable: true),
            ParquetColumn(name: "s", type: .string, nullable: true),
            ParquetColumn(name: "plain", type: .string, nullable: false, dictionary: false),
            ParquetColumn(name: "t", type: .timestampMicrosUTC, nullable: true),
            ParquetColumn(name: "req", type: .int64),
        ])
        let specials: [Double] = [.nan, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let words = ["é", "e\u{301}", "", "a,b", "🚀 rail", "x"]
        var validity = [Bool]()
        var ints = [Int64](), doubles = [Double](), bools = [Bool](), strings = [String](), plain = [String](), times = [Int64](), req = [Int64]()
        for k in 0..<n {
            validity.append(k % 7 != 3)
            ints.append(Int64(bitPattern: rng.next()))
            doubles.append(k % 11 == 0 ? specials[k / 11 % specials.count] : Double(bitPattern: rng.next() >> 2))
            bools.append(rng.next() & 1 == 1)
            // Many distinct values so the small dictionary limit forces the PLAIN fallback.
            strings.append(k % 3 == 0 ? words[k % words.count] : "v\(rng.next() % 4000)")
            plain.append("row \(k)")
            times.append(Int64(bitPattern: rng.next()) >> 10)
            req.append(Int64(k))
        }
        let batches = [Batch(rowCount: n, columns: [
            .int64(ints, validity: validity), .double(doubles, validity: validity), .boolean(bools, validity: validity),
            .string(strings, validity: validity), .string(plain), .timestampMicros(times, validity: validity), .int64(req),
        ])]
        for (name, options) in [
            ("zstd", ParquetWriterOptions(rowGroupRows: 1500, pageSizeBytes: 2048, dictionaryPageLimitBytes: 4096)),
            ("none", ParquetWriterOptions(rowGroupRows: 4000, pageSizeBytes: 512, compression: .uncompressed)),
            ("default", ParquetWriterOptions()),
        ] {
            let path = directory.file("\(name).parquet")
            try writeParquet(path, schema: schema, options: options, batches: batches)
            let table = try ParquetFileReader(path: path).read()
            #expect(table.rowCount == n)
            let expected = expectedColumns(schema, batches)
            for (index, column) in table.columns.enumerated() {
                #expect(column.descriptor.name == schema.columns[index].name)
                #expect(Self.forms(column) == expected[index], "\(name): column \(column.descriptor.name)")
            }
        }
    }

    @Test func projectsColumnsAndSkipsRowGroupsByStatistics() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("sorted.parquet")
        let n = 1000
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "k", type: .int64),
            ParquetColumn(name: "kind", type: .string),
            ParquetColumn(name: "v", type: .double, nullable: true),
        ])
        let keys = (0..<n).map { Int64($0) }
        let kinds = (0..<n).map { $0 < 500 ? "run" : "measurement" }
        try writeParquet(path, schema: schema, options: ParquetWriterOptions(rowGroupRows: 100), batches: [
            Batch(rowCount: n, columns: [.int64(keys), .string(kinds), .double(keys.map(Double.init), validity: keys.map { $0 >= 300 })]),
        ])
        let reader = try ParquetFileReader(path: path)
        #expect(reader.metadata.rowGroups.count == 10)

        let range = try reader.read(columns: ["v", "k"], where: ParquetRowGroupFilter([.range("k", min: .int(250), max: .int(420))]))
        #expect(range.rowGroups == [2, 3, 4])
        #expect(range.columns.map(\.descriptor.name) == ["v", "k"])
        guard case .int64(let k) = range.column("k")?.values else { Issue.record("k is not int64"); return }
        #expect(k == Array(200..<500))

        let kind = try reader.read(columns: ["k"], where: ParquetRowGroupFilter([.equals("kind", .string("measurement"))]))
        #expect(kind.rowGroups == [5, 6, 7, 8, 9])
        // Groups 0-2 of v are all null: no condition on v matches there.
        let v = try reader.read(columns: ["k"], where: ParquetRowGroupFilter([.range("v", min: .double(-1e9), max: nil)]))
        #expect(v.rowGroups == [3, 4, 5, 6, 7, 8, 9])
        let none = try reader.read(columns: ["k"], where: ParquetRowGroupFilter([.oneOf("kind", [.string("step"), .string("zzz")])]))
        #expect(none.rowGroups.isEmpty && none.rowCount == 0)

        #expect(throws: ParquetReadError.self) { try reader.read(columns: ["nope"]) }
        do {
            _ = try reader.read(columns: ["nope"])
        } catch {
            #expect(error.kind == .noSuchColumn)
            #expect(error.description.contains("column \"nope\"") && error.description.contains("Fix: columns in this file: k, kind, v"))
        }
    }

    @Test func namesWhatItCannotRead() throws {
        let directory = try TemporaryDirectory()
        let data = try PythonReaders.run(program: Self.unsupportedProgram, arguments: [directory.path])
        let paths = try JSONDecoder().decode([String: String].self, from: data)

        // A nested column: the flat ones still read; the nested one is named.
        let nested = try ParquetFileReader(path: paths["nested"]!)
        #expect(nested.metadata.columns.map(\.name) == ["id", "tags.list.element"])
        let ids = try nested.read(columns: ["id"])
        #expect(ids.rowCount == 3)
        do {
            _ = try nested.read()
            Issue.record("reading a nested column succeeded")
        } catch {
            #expect(error.kind == .unsupported)
            #expect(error.column == "tags.list.element")
            #expect(error.description.contains("not supported") && error.description.contains("Fix:"))
        }
        // An unsupported codec.
        do {
            _ = try ParquetFileReader(path: paths["lz4"]!).read()
            Issue.record("reading an LZ4 file succeeded")
        } catch {
            #expect(error.kind == .unsupported)
            #expect(error.message.contains("LZ4"))
            #expect(error.fix.contains("zstd"))
        }
        // An unsupported physical type.
        do {
            _ = try ParquetFileReader(path: paths["int96"]!).read()
            Issue.record("reading INT96 succeeded")
        } catch {
            #expect(error.kind == .unsupported)
            #expect(error.message.contains("INT96") && error.fix.contains("INT64"))
        }
        // Not Parquet.
        let text = directory.file("text.parquet")
        try Data("hello, this is not parquet at all".utf8).write(to: URL(fileURLWithPath: text))
        #expect { try ParquetFileReader(path: text) } throws: { ($0 as? ParquetReadError)?.kind == .notParquet }
        #expect { try ParquetFileReader(path: directory.file("missing.parquet")) } throws: { ($0 as? ParquetReadError)?.kind == .io }
    }

    /// A writer's file with `mutate` applied, read in full: an error or values, never a crash.
    static func readDamaged(_ bytes: [UInt8], at path: String, limits: ParquetReaderLimits = .init()) -> ParquetReadError? {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        do {
            _ = try ParquetFileReader(path: path, limits: limits).read()
            return nil
        } catch {
            return error
        }
    }

    @Test func damagedFilesGiveErrorsNotCrashes() throws {
        let directory = try TemporaryDirectory()
        let good = directory.file("good.parquet")
        let schema = ParquetSchema(columns: [
            ParquetColumn(name: "i", type: .int64, nullable: true),
            ParquetColumn(name: "s", type: .string, nullable: true),
            ParquetColumn(name: "d", type: .double),
            ParquetColumn(name: "b", type: .boolean, nullable: true),
        ])
        let n = 300
        let validity = (0..<n).map { $0 % 5 != 0 }
        try writeParquet(good, schema: schema, options: ParquetWriterOptions(rowGroupRows: 100, pageSizeBytes: 256), batches: [
            Batch(rowCount: n, columns: [
                .int64((0..<n).map { Int64($0) * 7 }, validity: validity), .string((0..<n).map { "s\($0 % 13)" }, validity: validity),
                .double((0..<n).map { Double($0) / 3 }), .boolean((0..<n).map { $0 % 3 == 0 }, validity: validity),
            ]),
        ])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let path = directory.file("bad.parquet")

        // Every truncation.
        for length in stride(from: 0, to: bytes.count, by: 7) {
            let error = Self.readDamaged(Array(bytes[0..<length]), at: path)
            #expect(error != nil, "a file cut at \(length) bytes read without error")
        }
        // Random byte changes: errors or (wrong but bounded) values, never a trap.
        var rng = SplitMix64(seed: 7)
        var errors = 0
        for _ in 0..<1500 {
            var copy = bytes
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = 4 + Int(rng.next() % UInt64(bytes.count - 12))
                copy[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            if let error = Self.readDamaged(copy, at: path) {
                errors += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(errors > 0)
        // A footer length larger than the file.
        var footer = bytes
        footer[bytes.count - 8] = 0xFF
        footer[bytes.count - 7] = 0xFF
        footer[bytes.count - 6] = 0xFF
        #expect(Self.readDamaged(footer, at: path)?.kind == .corrupt)
        // A page larger than the limits allow is refused, not allocated.
        let limited = Self.readDamaged(bytes, at: path, limits: ParquetReaderLimits(maxPageBytes: 16))
        #expect(limited?.kind == .limitExceeded)
        #expect(limited?.fix.contains("maxPageBytes") == true)
        let rows = Self.readDamaged(bytes, at: path, limits: ParquetReaderLimits(maxRowGroupRows: 10))
        #expect(rows?.kind == .limitExceeded)
    }

    static let unsupportedProgram = #"""
import sys, json, os
import pyarrow as pa, pyarrow.parquet as pq
d = sys.argv[1]
out = {}
t = pa.table({'id': pa.array([1, 2, 3], pa.int64()), 'tags': pa.array([['a'], [], ['b', 'c']])})
out['nested'] = os.path.join(d, 'nested.parquet'); pq.write_table(t, out['nested'])
t = pa.table({'x': pa.array([1.5, 2.5, None])})
out['lz4'] = os.path.join(d, 'lz4.parquet'); pq.write_table(t, out['lz4'], compression='lz4')
t = pa.table({'t': pa.array([1, None, 3], pa.timestamp('ns'))})
out['int96'] = os.path.join(d, 'int96.parquet')
pq.write_table(t, out['int96'], use_deprecated_int96_timestamps=True)
json.dump(out, sys.stdout)
"""#

    /// Writes files over writer × codec × page version × dictionary, every column with nulls
    /// (but `req`), and prints what was written (from the source table, not from a reader).
    static let matrixProgram = #"""
import sys, json, struct, os, decimal, datetime, warnings
warnings.simplefilter("ignore")
import pyarrow as pa, pyarrow.parquet as pq, duckdb, polars as pl
d = sys.argv[1]
n = 3000
def nul(k, m): return k % m == 3
rows = range(n)
cols = {
  'i32': pa.array([None if nul(k, 7) else (k * 7919) % 100000 - 50000 for k in rows], pa.int32()),
  'i64': pa.array([None if nul(k, 5) else (k * 1000003) ** 2 % (1 << 62) - (1 << 61) for k in rows], pa.int64()),
  'f32': pa.array([None if nul(k, 6) else (k % 97) / 8.0 - 3 for k in rows], pa.float32()),
  'f64': pa.array([None if nul(k, 9) else (float('nan') if k % 50 == 0 else (-0.0 if k % 51 == 0 else k / 7.0)) for k in rows], pa.float64()),
  'b': pa.array([None if nul(k, 4) else k % 3 == 0 for k in rows], pa.bool_()),
  's': pa.array([None if nul(k, 8) else ['rail', 'vout', 'é', '🚀', ''][k % 5] for k in rows], pa.string()),
  'uniq': pa.array([None if nul(k, 10) else 'value %d' % (k * 31) for k in rows], pa.string()),
  'ts': pa.array([None if nul(k, 11) else 1764000000000000 + k * 1234567 for k in rows], pa.timestamp('us', tz='UTC')),
  'day': pa.array([None if nul(k, 12) else datetime.date(2026, 1, 1) + datetime.timedelta(days=k % 400) for k in rows], pa.date32()),
  'dec': pa.array([None if nul(k, 13) else decimal.Decimal(k * 37 % 100000 - 50000) / 100 for k in rows], pa.decimal128(9, 2)),
  'req': pa.array([k for k in rows], pa.int64()),
}
schema = pa.schema([pa.field(k, v.type, nullable=(k != 'req')) for k, v in cols.items()])
tbl = pa.Table.from_arrays(list(cols.values()), schema=schema)

def form(v, t):
    if v is None: return None
    if pa.types.is_decimal(t): return 'dec:' + format(v, '.2f')
    if pa.types.is_timestamp(t): return None
    if pa.types.is_date(t): return 'i:%d' % (v - datetime.date(1970, 1, 1)).days
    if pa.types.is_floating(t): return 'd:' + struct.pack('<d', v).hex()
    if pa.types.is_boolean(t): return 'b:%d' % v
    if pa.types.is_integer(t): return 'i:%d' % v
    return 's:' + v.encode('utf-8').hex()
expected = {}
for name in tbl.column_names:
    col = tbl.column(name); t = col.type
    if pa.types.is_timestamp(t):
        expected[name] = [None if v is None else 't:%d' % v for v in col.cast(pa.int64()).to_pylist()]
    else:
        expected[name] = [form(v, t) for v in col.to_pylist()]

out = []
def add(path, label):
    out.append({'path': path, 'label': label, 'columns': expected, 'order': tbl.column_names})
for codec in ['none', 'snappy', 'gzip', 'zstd']:
    for version in ['1.0', '2.0']:
        for dictionary in [True, False]:
            p = os.path.join(d, 'pyarrow_%s_%s_%s.parquet' % (codec, version, dictionary))
            pq.write_table(tbl, p, compression=codec, data_page_version=version, use_dictionary=dictionary,
                           row_group_size=1000, data_page_size=2048)
            add(p, 'pyarrow %s v%s dictionary=%s' % (codec, version, dictionary))
p = os.path.join(d, 'pyarrow_delta.parquet')
pq.write_table(tbl, p, use_dictionary=False, data_page_version='2.0', row_group_size=1000, data_page_size=2048, compression='zstd',
               column_encoding={'s': 'DELTA_BYTE_ARRAY', 'uniq': 'DELTA_LENGTH_BYTE_ARRAY', 'i64': 'DELTA_BINARY_PACKED',
                                'i32': 'DELTA_BINARY_PACKED', 'f64': 'BYTE_STREAM_SPLIT', 'f32': 'BYTE_STREAM_SPLIT'})
add(p, 'pyarrow delta encodings')
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
for codec in ['uncompressed', 'snappy', 'gzip', 'zstd']:
    for version in ['V1', 'V2']:
        p = os.path.join(d, 'duckdb_%s_%s.parquet' % (codec, version))
        con.execute("COPY (SELECT * FROM tbl) TO '%s' (FORMAT parquet, COMPRESSION %s, PARQUET_VERSION %s, ROW_GROUP_SIZE 1000)" % (p, codec, version))
        add(p, 'duckdb %s %s' % (codec, version))
df = pl.from_arrow(tbl)
for codec in ['uncompressed', 'snappy', 'gzip', 'zstd']:
    p = os.path.join(d, 'polars_%s.parquet' % codec)
    df.write_parquet(p, compression=codec, row_group_size=1000, data_page_size=2048, statistics=True)
    add(p, 'polars %s' % codec)
json.dump(out, sys.stdout)
"""#
}
