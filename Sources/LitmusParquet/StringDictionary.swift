#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dictionary of a dictionary-encoded string column chunk: distinct UTF-8 byte strings in
/// first-seen order, looked up by their bytes.
///
/// Keys are compared byte for byte, never as Swift `String`s: Swift's `String` equality and
/// hashing follow Unicode canonical equivalence, which would merge `"é"` and `"e\u{301}"`
/// into one dictionary entry and change the data. The entries are kept PLAIN-encoded (4-byte
/// little-endian length, then the bytes), which is exactly the dictionary page body.
final class StringDictionary {
    /// The entries, PLAIN-encoded: the dictionary page body.
    let plain = ByteBuffer(capacity: 4096)
    /// Number of entries.
    private(set) var count = 0

    /// Byte offset in ``plain`` of each entry's length prefix.
    private var offsets: UnsafeMutablePointer<Int32>
    /// Low 32 bits of each entry's hash.
    private var hashes: UnsafeMutablePointer<UInt32>
    private var entryCapacity: Int
    /// Open-addressing table of entry index + 1 (0 = empty), linear probing, load <= 1/2.
    private var slots: UnsafeMutablePointer<Int32>
    private var slotMask: Int

    init() {
        entryCapacity = 256
        offsets = .allocate(capacity: entryCapacity)
        hashes = .allocate(capacity: entryCapacity)
        let slotCount = 512
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        slotMask = slotCount - 1
    }

    deinit {
        offsets.deallocate()
        hashes.deallocate()
        slots.deallocate()
    }

    /// Empties the dictionary for the next column chunk, keeping its memory.
    func removeAll() {
        if count > 0 { slots.update(repeating: 0, count: slotMask + 1) }
        count = 0
        plain.removeAll()
    }

    /// The PLAIN-encoded size of the dictionary in bytes.
    var byteSize: Int { plain.count }

    /// The UTF-8 bytes of entry `index`.
    @inline(__always) func entry(_ index: Int) -> UnsafeRawBufferPointer {
        let offset = Int(offsets[index])
        let length = Int(UInt32(littleEndian: plain.base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        return UnsafeRawBufferPointer(start: plain.base + offset + 4, count: length)
    }

    /// The index of the byte string at `bytes` (`length` bytes; `bytes` may be nil when
    /// `length` is 0), adding it if new.
    ///
    /// Returns -1, and adds nothing, when adding the string would grow the PLAIN-encoded
    /// dictionary past `limit` bytes.
    @inline(__always)
    func index(of bytes: UnsafeRawPointer?, length: Int, limit: Int) -> Int32 {
        let hash = UInt32(truncatingIfNeeded: Self.hash(bytes, length))
        var slot = Int(hash) & slotMask
        while true {
            let stored = slots[slot]
            if stored == 0 { break }
            let entryIndex = Int(stored) &- 1
            if hashes[entryIndex] == hash {
                let offset = Int(offsets[entryIndex])
                let entryLength = Int(UInt32(littleEndian: plain.base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                if entryLength == length && (length == 0 || memcmp(plain.base + offset + 4, bytes!, length) == 0) {
                    return Int32(truncatingIfNeeded: entryIndex)
                }
            }
            slot = (slot &+ 1) & slotMask
        }
        if plain.count + 4 + length > limit { return -1 }
        return insert(bytes, length: length, hash: hash, slot: slot)
    }

    @inline(never)
    private func insert(_ bytes: UnsafeRawPointer?, length: Int, hash: UInt32, slot: Int) -> Int32 {
        if count == entryCapacity {
            let newCapacity = entryCapacity * 2
            let newOffsets = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
            newOffsets.moveInitialize(from: offsets, count: count)
            offsets.deallocate()
            offsets = newOffsets
            let newHashes = UnsafeMutablePointer<UInt32>.allocate(capacity: newCapacity)
            newHashes.moveInitialize(from: hashes, count: count)
            hashes.deallocate()
            hashes = newHashes
            entryCapacity = newCapacity
        }
        let entryIndex = count
        offsets[entryIndex] = Int32(plain.count)
        hashes[entryIndex] = hash
        plain.appendLittleEndian(UInt32(length))
        if let bytes { plain.append(bytes, count: length) }
        count += 1
        slots[slot] = Int32(count)
        if count * 2 > slotMask + 1 { rehash() }
        return Int32(entryIndex)
    }

    private func rehash() {
        let slotCount = (slotMask + 1) * 2
        slots.deallocate()
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        slotMask = slotCount - 1
        for entryIndex in 0..<count {
            var slot = Int(hashes[entryIndex]) & slotMask
            while slots[slot] != 0 { slot = (slot &+ 1) & slotMask }
            slots[slot] = Int32(entryIndex + 1)
        }
    }

    /// A fast 64-bit hash of a byte string (multiply-xorshift over 8-byte words).
    @inline(__always)
    static func hash(_ bytes: UnsafeRawPointer?, _ n: Int) -> UInt64 {
        var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        guard n > 0, let p = bytes else { return h }
        var i = 0
        while i &+ 8 <= n {
            let word = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i &+= 8
        }
        let rest = n &- i
        if rest > 0 {
            var word: UInt64
            if rest >= 4 {
                let low = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                let high = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self))
                word = UInt64(low) | UInt64(high) << 32
            } else {
                word = UInt64(p.load(fromByteOffset: i, as: UInt8.self))
                word |= UInt64(p.load(fromByteOffset: i &+ rest / 2, as: UInt8.self)) << 8
                word |= UInt64(p.load(fromByteOffset: n &- 1, as: UInt8.self)) << 16
            }
            h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
        }
        h ^= h >> 29
        h = h &* 0x94D0_49BB_1331_11EB
        h ^= h >> 32
        return h
    }
}

/// Unsigned byte-wise lexicographic comparison (the Parquet order of UTF-8 strings): negative,
/// zero or positive as `a` sorts before, equal to or after `b`.
@inline(__always)
func compareBytes(_ a: UnsafeRawPointer?, _ aCount: Int, _ b: UnsafeRawPointer?, _ bCount: Int) -> Int {
    let common = min(aCount, bCount)
    if common > 0, let a, let b {
        let c = memcmp(a, b, common)
        if c != 0 { return Int(c) }
    }
    return aCount - bCount
}
