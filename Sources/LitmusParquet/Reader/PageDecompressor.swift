import CZlib
import CZstd

/// Decompresses page bodies for the codecs the reader supports: UNCOMPRESSED, SNAPPY, GZIP and
/// ZSTD. One per reading thread (it keeps a zstd context).
final class PageDecompressor {
    private var zstd: OpaquePointer?

    init() {}

    deinit {
        if let zstd { ZSTD_freeDCtx(zstd) }
    }

    /// The name of a `CompressionCodec` value, for messages.
    static func name(_ codec: Int32) -> String {
        switch codec {
        case 0: "UNCOMPRESSED"
        case 1: "SNAPPY"
        case 2: "GZIP"
        case 3: "LZO"
        case 4: "BROTLI"
        case 5: "LZ4 (Hadoop framing)"
        case 6: "ZSTD"
        case 7: "LZ4_RAW"
        default: "codec \(codec)"
        }
    }

    /// Whether the reader decompresses `codec`.
    static func supports(_ codec: Int32) -> Bool { [0, 1, 2, 6].contains(codec) }

    /// Decompresses `input` into `output`, which has exactly the page's uncompressed size.
    func decompress(
        codec: Int32, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(DecodeFailure) {
        switch codec {
        case 0:
            guard input.count == output.count else {
                throw .corrupt("an uncompressed page holds \(input.count) bytes but its header says \(output.count)")
            }
            if input.count > 0 { output.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: input.count) }
        case 1:
            try SnappyDecoder.decode(input, into: output)
        case 2:
            try inflate(input, into: output)
        case 6:
            if zstd == nil { zstd = ZSTD_createDCtx() }
            guard let zstd else { throw DecodeFailure(.io, "could not create a zstd decompression context") }
            let written = ZSTD_decompressDCtx(zstd, output.baseAddress, output.count, input.baseAddress, input.count)
            if ZSTD_isError(written) != 0 {
                throw .corrupt("zstd: " + String(cString: ZSTD_getErrorName(written)))
            }
            guard written == output.count else {
                throw .corrupt("zstd: the page holds \(written) bytes but its header says \(output.count)")
            }
        default:
            throw Self.unsupported(codec)
        }
    }

    /// The error for a codec the reader does not decompress.
    static func unsupported(_ codec: Int32) -> DecodeFailure {
        DecodeFailure(
            .unsupported, "pages are compressed with \(name(codec)), which this reader does not decompress",
            fix: "write the file with zstd, snappy, gzip or no compression (pyarrow: compression='zstd'; DuckDB: COMPRESSION zstd)")
    }

    /// gzip or zlib data (zlib detects which), one stream or several concatenated.
    private func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecodeFailure) {
        var produced = 0
        var consumed = 0
        while consumed < input.count {
            var stream = z_stream()
            // 15 + 32: a 32 KiB window, gzip or zlib header detected automatically.
            guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw DecodeFailure(.io, "could not initialize zlib")
            }
            defer { inflateEnd(&stream) }
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self) + consumed)
            stream.avail_in = UInt32(clamping: input.count - consumed)
            stream.next_out = output.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + produced }
            stream.avail_out = UInt32(clamping: output.count - produced)
            let status = CZlib.inflate(&stream, Z_FINISH)
            let streamConsumed = Int(UInt32(clamping: input.count - consumed) - stream.avail_in)
            let streamProduced = Int(UInt32(clamping: output.count - produced) - stream.avail_out)
            consumed += streamConsumed
            produced += streamProduced
            if status == Z_STREAM_END {
                if produced == output.count { break }
                continue
            }
            if status == Z_BUF_ERROR && stream.avail_out == 0 {
                throw .corrupt("gzip: the page inflates to more than the \(output.count) bytes its header says")
            }
            let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
            throw .corrupt("gzip: \(message)")
        }
        guard produced == output.count else {
            throw .corrupt("gzip: the page holds \(produced) bytes but its header says \(output.count)")
        }
    }
}
