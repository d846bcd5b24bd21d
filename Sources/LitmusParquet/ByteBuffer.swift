#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer on `malloc`ed memory, reused across pages and row groups.
///
/// Unlike `[UInt8]` it can grow without initializing the new bytes, so hot loops reserve room
/// once and then store through ``end`` with no per-value bounds or uniqueness checks. Not
/// thread-safe; each column writer owns its buffers.
final class ByteBuffer {
    /// Start of the storage (valid for ``capacity`` bytes; moves when the buffer grows).
    private(set) var base: UnsafeMutableRawPointer
    /// Bytes in use.
    var count: Int = 0
    /// Bytes allocated.
    private(set) var capacity: Int

    init(capacity: Int = 4096) {
        let size = max(capacity, 64)
        guard let memory = malloc(size) else { fatalError("LitmusParquet: out of memory allocating \(size) bytes") }
        base = memory
        self.capacity = size
    }

    deinit {
        free(base)
    }

    /// The first unused byte; valid for `capacity - count` bytes.
    @inline(__always) var end: UnsafeMutableRawPointer { base + count }

    /// The bytes in use.
    @inline(__always) var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Makes room for `additional` more bytes after ``count``.
    @inline(__always) func reserve(_ additional: Int) {
        if additional > capacity - count { grow(to: count + additional) }
    }

    @inline(never) private func grow(to needed: Int) {
        let newCapacity = max(needed, capacity &* 2)
        guard let memory = realloc(base, newCapacity) else {
            fatalError("LitmusParquet: out of memory growing a buffer to \(newCapacity) bytes")
        }
        base = memory
        capacity = newCapacity
    }

    /// Forgets the contents, keeping the memory.
    @inline(__always) func removeAll() { count = 0 }

    @inline(__always) func append(_ byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    func append(_ source: UnsafeRawPointer, count n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).copyMemory(from: source, byteCount: n)
        count += n
    }

    func append(_ source: UnsafeRawBufferPointer) {
        if let start = source.baseAddress { append(start, count: source.count) }
    }

    func append(_ other: ByteBuffer) {
        append(other.base, count: other.count)
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends `n` copies of `byte`.
    func append(repeating byte: UInt8, count n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).initializeMemory(as: UInt8.self, repeating: byte, count: n)
        count += n
    }

    /// Appends an integer in little-endian byte order.
    @inline(__always) func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        base.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Appends an unsigned LEB128 varint.
    @inline(__always) func appendVarint(_ value: UInt64) {
        reserve(10)
        var v = value
        var n = count
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: n, as: UInt8.self)
            v >>= 7
            n += 1
        }
        base.storeBytes(of: UInt8(v), toByteOffset: n, as: UInt8.self)
        count = n + 1
    }

    /// Overwrites 4 bytes at `offset` with `value` in little-endian order.
    func setUInt32LittleEndian(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count)
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// A copy of the contents (for tests and small metadata).
    var array: [UInt8] { Array(bytes) }
}
