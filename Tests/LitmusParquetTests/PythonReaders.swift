import Foundation
import LitmusParquet

/// Reads Parquet files back with pyarrow, DuckDB and polars in a Python subprocess and returns
/// what each saw, with every value in an exact textual form:
///
///   - `"i:<decimal>"` for integers,
///   - `"d:<16 hex digits>"` for doubles (the little-endian IEEE bytes: NaN, -0.0 bit-exact),
///   - `"b:0"` / `"b:1"` for booleans,
///   - `"s:<hex of the UTF-8 bytes>"` for strings (no Unicode normalization on either side),
///   - `"t:<microseconds>"` for timestamps with microsecond unit and a time zone,
///   - `"x:<type>"` for anything unexpected, and `nil` for null.
///
/// Python is `$LITMUS_PYTHON`, else `<package root>/.venv/bin/python` (made by
/// scripts/setup.sh). If neither works the tests fail (never skip) and say how to set it up.
enum PythonReaders {
    struct Table: Decodable, Equatable {
        var numRows: Int
        var names: [String]
        var columns: [[String?]]
    }

    struct Statistics: Decodable, Equatable {
        var nullCount: Int?
        var hasMinMax: Bool
        var min: String?
        var max: String?
    }

    /// One page as found by walking the column chunk's page headers.
    struct Page: Decodable, Equatable {
        /// 0 = DATA_PAGE, 2 = DICTIONARY_PAGE.
        var type: Int
        /// Parquet Encoding value (0 PLAIN, 8 RLE_DICTIONARY).
        var encoding: Int
        var numValues: Int
    }

    struct ColumnChunk: Decodable {
        var numValues: Int
        var encodings: [String]
        var compression: String
        var hasDictionaryPage: Bool
        var totalCompressedSize: Int
        var totalUncompressedSize: Int
        var statistics: Statistics?
        var pages: [Page]
        /// `nan_count` of the footer's Statistics, decoded by the helper's own Thrift reader.
        var nanCount: Int?
    }

    struct RowGroup: Decodable {
        var numRows: Int
        var columns: [ColumnChunk]
    }

    struct SchemaColumn: Decodable, Equatable {
        var name: String
        var arrowType: String
        var nullable: Bool
        var physicalType: String
        var logicalType: String
        var convertedType: String
    }

    struct Metadata: Decodable {
        var numRows: Int
        var numRowGroups: Int
        var createdBy: String
        var formatVersion: String
        /// Hex of the UTF-8 key -> hex of the UTF-8 value.
        var keyValueMetadata: [String: String]
        var columns: [SchemaColumn]
        var rowGroups: [RowGroup]
        var columnOrders: Int
    }

    struct ReadBack: Decodable {
        var pyarrow: Table
        var duckdb: Table
        var polars: Table
        var metadata: Metadata
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// Where to look for Python, in order: `$LITMUS_PYTHON`, then the package's `.venv`.
    static var pythonCandidates: [String] {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["LITMUS_PYTHON"], !path.isEmpty { candidates.append(path) }
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".venv/bin/python").path)
        return candidates
    }

    /// Reads each file with all three readers.
    static func read(_ paths: [String]) throws -> [ReadBack] {
        let output = try run(program: program, arguments: paths)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode([ReadBack].self, from: output)
    }

    static func read(_ path: String) throws -> ReadBack {
        try read([path])[0]
    }

    /// Runs a Python `program` with `arguments` and returns its standard output.
    static func run(program: String, arguments: [String]) throws -> Data {
        let hint = "run `make test` or scripts/setup.sh to create .venv with pyarrow, duckdb and polars, or set LITMUS_PYTHON"
        let candidates = pythonCandidates
        guard let python = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SetupError(description: "no Python at \(candidates.joined(separator: " or ")): \(hint)")
        }
        // Output goes to files: no pipe can fill up and block the child.
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("litmus-parquet-python-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", program] + arguments
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        process.waitUntilExit()
        let data = try Data(contentsOf: outURL)
        let errorData = try Data(contentsOf: errURL)
        let errorText = String(decoding: errorData, as: UTF8.self)
        if process.terminationStatus == 3 {
            throw SetupError(description: "\(python) cannot import pyarrow, duckdb and polars (\(errorText.trimmingCharacters(in: .whitespacesAndNewlines))): \(hint)")
        }
        guard process.terminationStatus == 0 else {
            throw SetupError(description: "the Python reader failed (status \(process.terminationStatus)):\n\(errorText)")
        }
        return data
    }

    /// Expected textual forms, as the Python side prints them.
    static func expected(_ data: ParquetColumnData) -> [String?] {
        func form<T>(_ values: [T], _ text: (T) -> String) -> [String?] {
            values.enumerated().map { index, value in
                if let validity = data.validity, !validity[index] { return nil }
                return text(value)
            }
        }
        switch data.values {
        case .int64(let values): return form(values) { "i:\($0)" }
        case .double(let values): return form(values) { doubleForm($0) }
        case .boolean(let values): return form(values) { $0 ? "b:1" : "b:0" }
        case .string(let values): return form(values) { stringForm($0) }
        case .dictionaryString(let values, let indices): return indices.map { $0 < 0 ? nil : stringForm(values[Int($0)]) }
        case .timestampMicros(let values): return form(values) { "t:\($0)" }
        }
    }

    static func doubleForm(_ value: Double) -> String {
        "d:" + hex(withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) })
    }

    static func stringForm(_ value: String) -> String {
        "s:" + hex(Array(value.utf8))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The Python program: argv[1:] are Parquet files; prints a JSON list, one entry per file.
    static let program = #"""
import sys, json, struct, warnings
warnings.simplefilter("ignore")
try:
    import pyarrow as pa, pyarrow.parquet as pq, duckdb, polars as pl
except Exception as e:
    print(repr(e), file=sys.stderr)
    sys.exit(3)

def dform(v):
    return 'd:' + struct.pack('<d', v).hex()

def arrow_values(col):
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = t.value_type
    if pa.types.is_timestamp(t):
        tag = 't' if (t.unit == 'us' and t.tz is not None) else 'x:' + str(t)
        return [None if v is None else '%s:%d' % (tag, v) for v in col.cast(pa.int64()).to_pylist()]
    vals = col.to_pylist()
    if pa.types.is_floating(t):
        return [None if v is None else dform(v) for v in vals]
    if pa.types.is_boolean(t):
        return [None if v is None else 'b:%d' % v for v in vals]
    if pa.types.is_integer(t):
        return [None if v is None else 'i:%d' % v for v in vals]
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return [None if v is None else 's:' + v.encode('utf-8').hex() for v in vals]
    return [None if v is None else 'x:' + str(t) for v in vals]

def arrow_table(tbl):
    return {'num_rows': tbl.num_rows, 'names': tbl.column_names,
            'columns': [arrow_values(c) for c in tbl.columns]}

def polars_values(s):
    dt = s.dtype
    if isinstance(dt, pl.Datetime):
        tag = 't' if (dt.time_unit == 'us' and dt.time_zone is not None) else 'x:' + str(dt)
        return [None if v is None else '%s:%d' % (tag, v) for v in s.cast(pl.Int64).to_list()]
    vals = s.to_list()
    if dt == pl.Float64:
        return [None if v is None else dform(v) for v in vals]
    if dt == pl.Boolean:
        return [None if v is None else 'b:%d' % v for v in vals]
    if dt == pl.Int64:
        return [None if v is None else 'i:%d' % v for v in vals]
    if dt == pl.String:
        return [None if v is None else 's:' + v.encode('utf-8').hex() for v in vals]
    return [None if v is None else 'x:' + str(dt) for v in vals]

def raw_form(v):
    if v is None: return None
    if isinstance(v, bool): return 'b:%d' % v
    if isinstance(v, int): return 'i:%d' % v
    if isinstance(v, float): return dform(v)
    if isinstance(v, bytes): return 's:' + v.hex()
    if isinstance(v, str): return 's:' + v.encode('utf-8').hex()
    return 'x:' + repr(v)

class Thrift:
    # A minimal Thrift compact protocol reader, independent of the writer under test.
    def __init__(self, data, pos=0):
        self.b = data
        self.p = pos
    def byte(self):
        v = self.b[self.p]; self.p += 1; return v
    def varint(self):
        shift = 0; r = 0
        while True:
            c = self.byte(); r |= (c & 0x7f) << shift; shift += 7
            if c < 0x80: return r
    def zigzag(self):
        v = self.varint(); return (v >> 1) ^ -(v & 1)
    def value(self, t):
        if t in (1, 2): return t == 1
        if t == 3: return self.byte()
        if t in (4, 5, 6): return self.zigzag()
        if t == 7: self.p += 8; return None
        if t == 8:
            n = self.varint(); v = self.b[self.p:self.p + n]; self.p += n; return v
        if t in (9, 10):
            h = self.byte(); n = h >> 4; et = h & 15
            if n == 15: n = self.varint()
            return [(self.byte() == 1) if et in (1, 2) else self.value(et) for _ in range(n)]
        if t == 12: return self.struct()
        raise ValueError('unexpected thrift type %d' % t)
    def struct(self):
        d = {}; last = 0
        while True:
            h = self.byte()
            if h == 0: return d
            t = h & 15; delta = h >> 4
            fid = last + delta if delta else self.zigzag()
            d[fid] = self.value(t); last = fid

def walk_pages(data, start, total):
    pages = []
    pos = start
    while pos < start + total:
        r = Thrift(data, pos)
        h = r.struct()
        sub = h.get(5) or h.get(7) or h.get(8) or {}
        pages.append({'type': h[1], 'encoding': sub.get(2 if 5 in h or 7 in h else 4, -1), 'num_values': sub.get(1, -1)})
        pos = r.p + h[3]
    return pages

def metadata(path):
    data = open(path, 'rb').read()
    flen = struct.unpack('<I', data[-8:-4])[0]
    footer = Thrift(data, len(data) - 8 - flen).struct()
    md = pq.read_metadata(path)
    schema = pq.read_schema(path)
    cols = []
    for j in range(md.num_columns):
        c = md.schema.column(j)
        f = schema.field(j)
        cols.append({'name': c.name, 'arrow_type': str(f.type), 'nullable': f.nullable,
                     'physical_type': c.physical_type, 'logical_type': str(c.logical_type),
                     'converted_type': c.converted_type})
    rgs = []
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        chunks = []
        for j in range(rg.num_columns):
            c = rg.column(j)
            s = c.statistics
            stats = None
            if s is not None:
                stats = {'null_count': s.null_count if s.has_null_count else None, 'has_min_max': s.has_min_max,
                         'min': raw_form(s.min_raw) if s.has_min_max else None,
                         'max': raw_form(s.max_raw) if s.has_min_max else None}
            start = c.dictionary_page_offset if c.has_dictionary_page else c.data_page_offset
            fstats = footer[4][i][1][j][3].get(12, {})
            chunks.append({'num_values': c.num_values, 'encodings': list(c.encodings), 'compression': c.compression,
                           'has_dictionary_page': c.has_dictionary_page,
                           'total_compressed_size': c.total_compressed_size,
                           'total_uncompressed_size': c.total_uncompressed_size,
                           'statistics': stats, 'pages': walk_pages(data, start, c.total_compressed_size),
                           'nan_count': fstats.get(9)})
        rgs.append({'num_rows': rg.num_rows, 'columns': chunks})
    kv = {k.hex(): v.hex() for k, v in (md.metadata or {}).items()}
    return {'num_rows': md.num_rows, 'num_row_groups': md.num_row_groups, 'created_by': md.created_by,
            'format_version': md.format_version, 'key_value_metadata': kv, 'columns': cols,
            'row_groups': rgs, 'column_orders': len(footer.get(7, []))}

out = []
for path in sys.argv[1:]:
    con = duckdb.connect()
    dtab = con.execute('SELECT * FROM read_parquet(?)', [path]).to_arrow_table()
    pdf = pl.read_parquet(path)
    out.append({
        'pyarrow': arrow_table(pq.read_table(path)),
        'duckdb': arrow_table(dtab),
        'polars': {'num_rows': pdf.height, 'names': pdf.columns, 'columns': [polars_values(pdf[n]) for n in pdf.columns]},
        'metadata': metadata(path),
    })
json.dump(out, sys.stdout)
"""#
}
