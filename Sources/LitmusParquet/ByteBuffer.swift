#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer on `malloc`ed memory, reused across pages and row groups.
///
/// Unlike `[UInt8]` it can grow without initializing the new bytes, so hot loops reserve room
/// once and then store through ``end`` with no per-value bounds or uniqueness checks. Not
/// thread-safe; each column writer owns its buffers. Its memory comes from, and goes back to,
/// ``BufferPool``.
final class ByteBuffer {
    /// Start of the storage (valid for ``capacity`` bytes; moves when the buffer grows).
    private(set) var base: UnsafeMutableRawPointer
    /// Bytes in use.
    var count: Int = 0
    /// Bytes allocated.
    private(set) var capacity: Int

    init(capacity: Int = 4096) {
        (base, self.capacity) = BufferPool.shared.take(max(capacity, 64))
    }

    deinit {
        BufferPool.shared.give(base, capacity)
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

/// Memory of released ``ByteBuffer``s, kept for the next ones (up to ``maxBytes``).
///
/// A writer's buffers hold a column chunk's pages, several MiB for a large table. Memory fresh
/// from the system costs a page fault per 4 KiB page on first use, which on a virtual machine
/// can cost more than encoding the data; a process writing one file after another (a run's
/// file at the end of every run) reuses the same memory instead.
final class BufferPool: @unchecked Sendable {
    /// The pool every ``ByteBuffer`` uses.
    static let shared = BufferPool(maxBytes: 32 << 20)

    /// The most memory kept.
    let maxBytes: Int

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Free blocks by size class: class `k` holds blocks of at least `1 << k` bytes.
    private var blocks = [[(base: UnsafeMutableRawPointer, capacity: Int)]](repeating: [], count: 64)
    private var freeBytes = 0

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        for block in blocks.joined() { free(block.base) }
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The bytes kept for reuse now.
    var keptBytes: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return freeBytes
    }

    /// Memory for at least `minimum` bytes: a kept block when one is large enough, else new.
    ///
    /// A new block is rounded up to its class's size (a power of two), so once given back it
    /// sits in the class the same request looks in: a process writing one small file after
    /// another (a server materializing each board's run) reuses one block instead of keeping
    /// a new odd-sized one per file until ``maxBytes`` is reached.
    func take(_ minimum: Int) -> (UnsafeMutableRawPointer, Int) {
        let wanted = 64 - (minimum - 1).leadingZeroBitCount  // the class whose blocks all fit
        pthread_mutex_lock(mutex)
        for k in wanted..<min(wanted + 8, 64) where !blocks[k].isEmpty {
            let block = blocks[k].removeLast()
            freeBytes -= block.capacity
            pthread_mutex_unlock(mutex)
            return block
        }
        pthread_mutex_unlock(mutex)
        let size = wanted < 62 ? 1 << wanted : minimum
        guard let memory = malloc(size) else { fatalError("LitmusParquet: out of memory allocating \(size) bytes") }
        return (memory, size)
    }

    /// Takes back a block of `capacity` bytes (or frees it when enough is kept).
    func give(_ base: UnsafeMutableRawPointer, _ capacity: Int) {
        pthread_mutex_lock(mutex)
        if freeBytes + capacity <= maxBytes {
            blocks[63 - capacity.leadingZeroBitCount].append((base, capacity))
            freeBytes += capacity
            pthread_mutex_unlock(mutex)
            return
        }
        pthread_mutex_unlock(mutex)
        free(base)
    }
}
