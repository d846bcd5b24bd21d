import CZstd

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Compresses page bodies for one codec, reusing a zstd context across pages (creating a
/// context per page would allocate several hundred KiB each time).
final class PageCompressor {
    /// The Parquet `CompressionCodec` value: 0 = UNCOMPRESSED, 6 = ZSTD.
    let codec: Int32
    private let level: Int32
    private let context: OpaquePointer?

    init(_ compression: ParquetCompression) {
        switch compression {
        case .uncompressed:
            codec = 0
            level = 0
            context = nil
        case .zstd(let level):
            codec = 6
            self.level = level
            context = Self.contexts.take() ?? ZSTD_createCCtx()
        }
    }

    deinit {
        if let context, !Self.contexts.give(context) { ZSTD_freeCCtx(context) }
    }

    /// zstd contexts of released compressors, for the next writers: a context's workspace is
    /// allocated (and its memory faulted in) on first use, a cost the next file need not pay.
    private static let contexts = ContextPool()

    /// A few idle zstd compression contexts.
    private final class ContextPool: @unchecked Sendable {
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private var idle: [OpaquePointer] = []

        init() { pthread_mutex_init(mutex, nil) }

        func take() -> OpaquePointer? {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return idle.popLast()
        }

        /// Keeps `context` unless enough are kept; returns whether it was kept.
        func give(_ context: OpaquePointer) -> Bool {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            guard idle.count < 8 else { return false }
            idle.append(context)
            return true
        }
    }

    /// Whether pages are stored as they are.
    var isUncompressed: Bool { codec == 0 }

    /// Appends the compressed form of `source` to `out` and returns its size, or returns `nil`
    /// for `.uncompressed` (the caller then stores `source` itself). Throws zstd's error text.
    func compress(_ source: UnsafeRawBufferPointer, into out: ByteBuffer) throws(CompressionFailure) -> Int? {
        guard codec != 0 else { return nil }
        guard let context else { throw CompressionFailure(message: "could not create a zstd compression context") }
        let bound = ZSTD_compressBound(source.count)
        out.reserve(bound)
        let written = ZSTD_compressCCtx(context, out.end, bound, source.baseAddress, source.count, level)
        if ZSTD_isError(written) != 0 {
            throw CompressionFailure(message: "zstd compression failed: " + String(cString: ZSTD_getErrorName(written)))
        }
        out.count += written
        return written
    }
}

/// A zstd failure, turned into a ``ParquetError`` by the caller, who knows the column.
struct CompressionFailure: Error {
    var message: String
}
