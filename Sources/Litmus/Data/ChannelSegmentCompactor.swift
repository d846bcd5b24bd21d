import Foundation
import LitmusJSON
import LitmusParquet

/// Writes a channel's segments as one Parquet file, `<channel dir>/samples.parquet`, that
/// pyarrow, DuckDB and polars read directly.
///
/// Columns:
///
/// | value type | columns |
/// |---|---|
/// | f64, i64, bool, string | `sample_offset` int64, `received_at` timestamp(µs, UTC), `value` double / int64 / boolean / string |
/// | f64[] | `sample_offset`, `received_at`, `element_index` int64, `value` double: one row per element |
/// | waveform | as f64[], plus `t0` timestamp(µs, UTC) and `dt` double (seconds): element i was taken at t0 + i·dt |
///
/// The footer's key/value metadata holds `litmus.channel_descriptor` (JSON: `channel_id`,
/// `value_type`, `unit`, `instrument_role`, `session_id`, `samples`) and
/// `litmus.schema_version` (`1`).
///
/// The file is written to a temporary name, synced and renamed into place (the Parquet
/// writer does that), so readers see the old file or the new one, never half of one. The
/// segments stay: they are the checksummed record, and compacting again rewrites the file.
enum ChannelSegmentCompactor {
    static let fileName = "samples.parquet"
    static let schemaVersion = "1"
    /// Rows handed to the Parquet writer per call (bounds memory for large segments).
    static let batchRows = 1 << 20

    /// Compacts one channel directory; returns the Parquet file's path.
    ///
    /// - Throws: ``ChannelStoreError`` `.corrupt` when a segment is damaged mid-file (a
    ///   torn tail is fine), `.compaction` when the Parquet writer fails.
    @discardableResult
    static func compact(directory: String) throws -> String {
        let path = directory + "/" + fileName
        let resume = try ChannelSegmentReader.resumePoint(directory: directory)
        guard let descriptor = resume.descriptor else {
            throw ChannelStoreError(.corrupt, "no readable segment header in \(directory)", path: directory)
        }
        var writer: ParquetWriter?
        do {
            let parquet = try makeWriter(path: path, descriptor: descriptor, samples: resume.nextOffset)
            writer = parquet
            var data = ChannelDataBuilder()
            var rows = 0
            func flush() throws {
                guard data.count > 0 else { return }
                let (count, columns) = columns(of: data, type: descriptor.valueType)
                try parquet.write(rowCount: count, columns: columns)
                data.removeAll()
                rows = 0
            }
            _ = try ChannelSegmentReader.scan(directory: directory, expecting: nil, tolerateCorruption: false) {
                segment, record, descriptor in
                try ChannelSegmentReader.decodeChecked(segment, record, descriptor, tolerate: false, into: &data)
                rows += descriptor.valueType.isScalar ? record.count : record.payload.count / 8
                if rows >= batchRows { try flush() }
            }
            try flush()
            try parquet.close()
            return path
        } catch let error as ChannelStoreError {
            writer?.discard()
            throw error
        } catch {
            writer?.discard()
            throw ChannelStoreError(
                .compaction, "cannot write \(path) of channel \(descriptor.id.debugDescription): \(error)", path: path)
        }
    }

    private static func makeWriter(path: String, descriptor: ChannelDescriptor, samples: Int64?) throws -> ParquetWriter {
        var json = JSONBuffer()
        json.beginObject()
        json.field("channel_id", descriptor.id)
        json.field("value_type", descriptor.valueType.rawValue)
        json.field("unit", descriptor.unit)
        json.field("instrument_role", descriptor.instrumentRole)
        json.field("session_id", descriptor.sessionID.uuidString.lowercased())
        json.field("samples", samples)
        json.endObject()
        let options = ParquetWriterOptions(
            keyValueMetadata: [
                "litmus.channel_descriptor": String(decoding: json.bytes, as: UTF8.self),
                "litmus.schema_version": schemaVersion,
            ],
            overwrite: true)
        return try ParquetWriter(path: path, schema: schema(for: descriptor.valueType), options: options)
    }

    static func schema(for type: ChannelValueType) -> ParquetSchema {
        var columns = [
            ParquetColumn(name: "sample_offset", type: .int64),
            ParquetColumn(name: "received_at", type: .timestampMicrosUTC),
        ]
        switch type {
        case .f64: columns.append(ParquetColumn(name: "value", type: .double))
        case .i64: columns.append(ParquetColumn(name: "value", type: .int64))
        case .bool: columns.append(ParquetColumn(name: "value", type: .boolean))
        case .string: columns.append(ParquetColumn(name: "value", type: .string, dictionary: false))
        case .f64Array:
            columns.append(ParquetColumn(name: "element_index", type: .int64))
            columns.append(ParquetColumn(name: "value", type: .double))
        case .waveform:
            columns.append(ParquetColumn(name: "element_index", type: .int64))
            columns.append(ParquetColumn(name: "value", type: .double))
            columns.append(ParquetColumn(name: "t0", type: .timestampMicrosUTC))
            columns.append(ParquetColumn(name: "dt", type: .double))
        }
        return ParquetSchema(columns: columns)
    }

    /// The Parquet columns of decoded samples.
    private static func columns(of data: ChannelDataBuilder, type: ChannelValueType) -> (Int, [ParquetColumnData]) {
        let times = data.times.map(\.microseconds)
        switch type {
        case .f64: return (data.count, [.int64(data.offsets), .timestampMicros(times), .double(data.doubles)])
        case .i64: return (data.count, [.int64(data.offsets), .timestampMicros(times), .int64(data.int64s)])
        case .bool: return (data.count, [.int64(data.offsets), .timestampMicros(times), .boolean(data.bools)])
        case .string: return (data.count, [.int64(data.offsets), .timestampMicros(times), .string(data.strings)])
        case .f64Array, .waveform:
            let arrays = type == .f64Array ? data.arrays : data.waveforms.map(\.samples)
            let total = arrays.reduce(0) { $0 + $1.count }
            var offsets: [Int64] = []
            var received: [Int64] = []
            var indexes: [Int64] = []
            var values: [Double] = []
            var t0: [Int64] = []
            var dt: [Double] = []
            offsets.reserveCapacity(total)
            received.reserveCapacity(total)
            indexes.reserveCapacity(total)
            values.reserveCapacity(total)
            for (i, elements) in arrays.enumerated() {
                offsets.append(contentsOf: repeatElement(data.offsets[i], count: elements.count))
                received.append(contentsOf: repeatElement(times[i], count: elements.count))
                indexes.append(contentsOf: (0..<Int64(elements.count)))
                values.append(contentsOf: elements)
                if type == .waveform {
                    t0.append(contentsOf: repeatElement(data.waveforms[i].t0.microseconds, count: elements.count))
                    dt.append(contentsOf: repeatElement(data.waveforms[i].dt, count: elements.count))
                }
            }
            var columns: [ParquetColumnData] = [
                .int64(offsets), .timestampMicros(received), .int64(indexes), .double(values),
            ]
            if type == .waveform { columns += [.timestampMicros(t0), .double(dt)] }
            return (total, columns)
        }
    }
}
