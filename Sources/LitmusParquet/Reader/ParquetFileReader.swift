#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads flat Parquet files: the files ``ParquetWriter`` writes, and flat tables written by
/// pyarrow, DuckDB, polars and other Parquet 2.x writers.
///
/// ```swift
/// let reader = try ParquetFileReader(path: "run.parquet")
/// let table = try reader.read(
///     columns: ["measurement_name", "measurement_value"],
///     where: ParquetRowGroupFilter([.equals("record_type", .string("measurement"))]))
/// let values = table.column("measurement_value")?.doubles()
/// ```
///
/// What it reads: BOOLEAN, INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY
/// columns with their logical types (string, enum, JSON, date, timestamp, time, decimal,
/// integer widths), nulls (optional columns), PLAIN, dictionary (PLAIN_DICTIONARY,
/// RLE_DICTIONARY), RLE booleans, DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT encodings, data
/// pages v1 and v2, and UNCOMPRESSED, SNAPPY, GZIP and ZSTD pages. Anything else (nested or
/// repeated columns, INT96, LZ4, Brotli, the delta byte-array encodings, column chunks in other
/// files) gives a ``ParquetReadError`` of kind `.unsupported` that names it, when a column
/// using it is read; the file's other columns stay readable.
///
/// Bounded: every offset, length and count in the file is checked against the file and
/// against ``ParquetReaderLimits`` before anything is allocated, so a damaged or hostile file
/// gives an error, never a crash or an allocation beyond the limits.
///
/// Not thread-safe: use one reader per thread.
public final class ParquetFileReader {
    /// The file.
    public let path: String
    /// The footer: schema, row groups and their statistics, key/value metadata.
    public let metadata: ParquetFileMetadata
    /// The limits the reader enforces.
    public let limits: ParquetReaderLimits

    private let fd: Int32
    private let fileSize: Int
    /// The whole file, when it is small enough to read in one call.
    private let contents: [UInt8]?
    /// Where page data ends (the footer starts).
    private let dataEnd: Int
    private let decompressor = PageDecompressor()

    /// Files up to this size are read in one call when opened.
    static let wholeFileBytes = 4 << 20

    /// Opens `path` and reads its footer.
    ///
    /// - Throws: ``ParquetReadError``: `.io` when the file cannot be read, `.notParquet` when it
    ///   is not a Parquet file, `.corrupt` for a damaged footer, `.limitExceeded` for a footer
    ///   or row group beyond `limits`.
    public init(path: String, limits: ParquetReaderLimits = .init()) throws(ParquetReadError) {
        self.path = path
        self.limits = limits
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ParquetReadError(.io, "cannot open the file: \(String(cString: strerror(errno)))", fix: "check the path and its permissions", path: path)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ParquetReadError(.io, "cannot stat the file: \(message)", path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ParquetReadError(.io, "not a regular file", fix: "give the path of a .parquet file", path: path)
        }
        let size = Int(info.st_size)
        self.fd = fd
        self.fileSize = size
        do throws(DecodeFailure) {
            guard size >= 12 else {
                throw DecodeFailure(.notParquet, "the file is \(size) bytes, too short for Parquet (at least 12)", fix: "give a Parquet file")
            }
            var whole: [UInt8]?
            if size <= Self.wholeFileBytes { whole = try Self.readBytes(fd, offset: 0, count: size) }
            func bytes(_ offset: Int, _ count: Int) throws(DecodeFailure) -> [UInt8] {
                if let whole { return Array(whole[offset..<(offset + count)]) }
                return try Self.readBytes(fd, offset: offset, count: count)
            }
            let tail = try bytes(size - 8, 8)
            let head = try bytes(0, 4)
            guard head == ParquetWriter.magic, Array(tail[4..<8]) == ParquetWriter.magic else {
                throw DecodeFailure(.notParquet, "the file does not start and end with PAR1", fix: "give a Parquet file (an encrypted file ends with PARE and is not supported)")
            }
            let footerLength = Int(UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24)
            guard footerLength <= size - 12 else {
                throw DecodeFailure.corrupt("the footer length \(footerLength) is larger than the file")
            }
            guard footerLength <= limits.maxFooterBytes else {
                throw DecodeFailure(
                    .limitExceeded, "the footer is \(footerLength) bytes, more than the reader's limit of \(limits.maxFooterBytes)",
                    fix: "raise ParquetReaderLimits.maxFooterBytes if the file is trusted")
            }
            let footerStart = size - 8 - footerLength
            let footer = try bytes(footerStart, footerLength)
            metadata = try footer.withBytes { (bytes) throws(DecodeFailure) in
                try ParquetFileMetadata.decode(bytes, limits: limits)
            }
            contents = whole
            dataEnd = footerStart
        } catch {
            close(fd)
            throw ParquetReadError(error, path: path)
        }
    }

    deinit {
        close(fd)
    }

    /// The row groups that may hold rows matching `filter` (all of them without one), judged
    /// by their column statistics.
    public func rowGroups(matching filter: ParquetRowGroupFilter?) -> [Int] {
        guard let filter else { return Array(metadata.rowGroups.indices) }
        return metadata.rowGroups.indices.filter { filter.mayMatch(rowGroup: metadata.rowGroups[$0], metadata: metadata) }
    }

    /// Reads columns of the row groups that may match `filter`, concatenated.
    ///
    /// The filter skips whole row groups whose statistics prove no row matches; rows of the
    /// groups read are not filtered (check the condition on the values).
    ///
    /// - Parameters:
    ///   - columns: the columns to read, in the order wanted; nil reads every column.
    ///   - filter: conditions on column statistics; nil reads every row group.
    /// - Throws: ``ParquetReadError``: `.noSuchColumn` for a name not in the file,
    ///   `.unsupported` for a column this reader cannot decode, `.corrupt`, `.limitExceeded`,
    ///   `.io`.
    public func read(columns: [String]? = nil, where filter: ParquetRowGroupFilter? = nil) throws(ParquetReadError) -> ParquetTable {
        let descriptors: [ParquetColumnDescriptor]
        if let columns {
            descriptors = try columns.map { (name) throws(ParquetReadError) in
                guard let d = metadata.column(name) else {
                    throw ParquetReadError(
                        .noSuchColumn, "no such column",
                        fix: "columns in this file: \(metadata.columns.map(\.name).prefix(40).joined(separator: ", "))", path: path, column: name)
                }
                return d
            }
        } else {
            descriptors = metadata.columns
        }
        let groups = rowGroups(matching: filter)
        var out: [ParquetReadColumn] = []
        out.reserveCapacity(descriptors.count)
        for descriptor in descriptors {
            out.append(try readColumn(descriptor, rowGroups: groups))
        }
        return ParquetTable(rowCount: groups.reduce(0) { $0 + metadata.rowGroups[$1].numRows }, columns: out, rowGroups: groups)
    }

    /// Reads one column of the given row groups, concatenated.
    public func readColumn(_ descriptor: ParquetColumnDescriptor, rowGroups groups: [Int]) throws(ParquetReadError) -> ParquetReadColumn {
        if let reason = descriptor.unsupportedReason {
            throw ParquetReadError(
                .unsupported, reason, fix: "read the file's flat columns only, or flatten the column when writing the file",
                path: path, column: descriptor.name)
        }
        var storage = ColumnChunkDecoder.emptyStorage(descriptor.physicalType)
        var validity: [Bool] = []
        for group in groups {
            let info = metadata.rowGroups[group]
            let chunk = info.columns[descriptor.leafIndex]
            do throws(DecodeFailure) {
                if let external = chunk.externalFile {
                    throw DecodeFailure(.unsupported, "the column chunk is stored in another file (\(external))", fix: "rewrite the data as one self-contained file")
                }
                guard PageDecompressor.supports(chunk.codec) else { throw PageDecompressor.unsupported(chunk.codec) }
                if descriptor.physicalType == .int96 { throw ColumnChunkDecoder.int96Unsupported }
                var start = chunk.dataPageOffset
                if let d = chunk.dictionaryPageOffset, d > 0, d < start { start = d }
                let length = chunk.totalCompressedSize
                guard start >= 4, length >= 0, start <= Int64(dataEnd), length <= Int64(dataEnd) - start else {
                    throw DecodeFailure.corrupt("the column chunk's bytes (\(start), \(length) bytes) lie outside the file's data")
                }
                let decoder = ColumnChunkDecoder(descriptor: descriptor, codec: chunk.codec, limits: limits, decompressor: decompressor)
                if let contents {
                    try contents.withBytes { (file) throws(DecodeFailure) in
                        let bytes = UnsafeRawBufferPointer(rebasing: file[Int(start)..<Int(start + length)])
                        try decoder.decode(bytes, rows: info.numRows, storage: &storage, validity: &validity)
                    }
                } else {
                    let bytes = try Self.readBytes(fd, offset: Int(start), count: Int(length))
                    try bytes.withBytes { (b) throws(DecodeFailure) in
                        try decoder.decode(b, rows: info.numRows, storage: &storage, validity: &validity)
                    }
                }
            } catch {
                throw ParquetReadError(error, path: path, rowGroup: group, column: descriptor.name)
            }
        }
        let values: ParquetColumnValues
        switch storage {
        case .boolean(let v): values = .boolean(v)
        case .int32(let v): values = .int32(v)
        case .int64(let v): values = .int64(v)
        case .float(let v): values = .float(v)
        case .double(let v): values = .double(v)
        case .byteArrays(let store, let offsets, let indices):
            values = store.withUnsafeBytes { bytes in
                func entry(_ k: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[offsets[k]..<offsets[k + 1]]) }
                if Self.isText(descriptor) {
                    let dictionary = (0..<(offsets.count - 1)).map { String(decoding: entry($0), as: UTF8.self) }
                    return .strings(dictionary: dictionary, indices: indices)
                }
                return .bytes(indices.map { $0 < 0 ? [] : Array(entry(Int($0))) })
            }
        }
        let hasNull = descriptor.nullable && validity.contains(false)
        return ParquetReadColumn(descriptor: descriptor, values: values, validity: hasNull ? validity : nil)
    }

    /// Whether a column's byte arrays are text.
    static func isText(_ descriptor: ParquetColumnDescriptor) -> Bool {
        guard descriptor.physicalType == .byteArray else { return false }
        switch descriptor.logicalType {
        case nil, .string?, .enumeration?, .json?: return true
        default: return false
        }
    }

    /// Reads `count` bytes at `offset`.
    private static func readBytes(_ fd: Int32, offset: Int, count: Int) throws(DecodeFailure) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { systemPread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DecodeFailure(.io, "cannot read the file: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw DecodeFailure.corrupt("the file ended while reading (it shrank while open?)") }
            done += n
        }
        return out
    }
}

/// Columns read from a file by ``ParquetFileReader/read(columns:where:)``.
public struct ParquetTable: Sendable {
    /// The rows read (those of the row groups read).
    public var rowCount: Int
    /// The columns, in the order asked for.
    public var columns: [ParquetReadColumn]
    /// The row groups read.
    public var rowGroups: [Int]

    /// The column called `name`, or nil.
    public func column(_ name: String) -> ParquetReadColumn? {
        columns.first { $0.descriptor.name == name }
    }
}

/// `pread(2)`, named apart from ``ParquetFileReader``'s own method.
private func systemPread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pread(fd, buffer, count, offset)
}
