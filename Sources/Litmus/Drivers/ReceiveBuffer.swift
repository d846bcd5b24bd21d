/// Bytes received from a message-based session and not yet handed to the caller.
///
/// A driver's read may return more than one message's worth on a byte stream, or a message in
/// many pieces; the buffer keeps what follows a terminator for the next read, and remembers
/// whether the transport marked the end of the message (END/EOM) at the last byte buffered.
struct ReceiveBuffer {
    private(set) var storage: UnsafeMutableRawBufferPointer
    /// First unread byte.
    private(set) var head = 0
    /// One past the last received byte.
    private(set) var tail = 0
    /// The transport marked the end of a message at `tail`.
    var endAtTail = false

    init(capacity: Int = 64 * 1024) {
        storage = .allocate(byteCount: capacity, alignment: 8)
    }

    func deallocate() { storage.deallocate() }

    var count: Int { tail - head }
    var isEmpty: Bool { head == tail }
    var unread: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[head..<tail]) }

    /// Forgets everything buffered (device clear, errors).
    mutating func discard() {
        head = 0
        tail = 0
        endAtTail = false
    }

    /// Consumes `n` bytes and returns them.
    mutating func take(_ n: Int) -> [UInt8] {
        precondition(n <= count)
        let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: storage[head..<(head + n)]))
        skip(n)
        return bytes
    }

    /// Consumes `n` bytes.
    mutating func skip(_ n: Int) {
        head += n
        if head == tail {
            head = 0
            tail = 0
        }
    }

    /// Free space at the end for the next driver read, compacting or growing as needed (never
    /// beyond `limit` bytes buffered).
    mutating func reserveSpace(minimum: Int = 4096, limit: Int) -> UnsafeMutableRawBufferPointer? {
        if storage.count - tail < minimum && head > 0 {
            let n = count
            if n > 0 { storage.baseAddress!.copyMemory(from: storage.baseAddress! + head, byteCount: n) }
            head = 0
            tail = n
        }
        if storage.count - tail < minimum {
            guard storage.count < limit else { return tail < storage.count ? UnsafeMutableRawBufferPointer(rebasing: storage[tail...]) : nil }
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: min(limit, max(storage.count * 2, tail + minimum)), alignment: 8)
            bigger.baseAddress!.copyMemory(from: storage.baseAddress! + head, byteCount: count)
            tail = count
            head = 0
            storage.deallocate()
            storage = bigger
        }
        return UnsafeMutableRawBufferPointer(rebasing: storage[tail...])
    }

    /// Records `n` bytes a driver wrote into the space from ``reserveSpace(minimum:limit:)``.
    mutating func commit(_ n: Int, end: Bool) {
        tail += n
        endAtTail = end
    }

    /// The offset (from `head`) of the first occurrence of `pattern` at or after `from`.
    func firstIndex(of pattern: [UInt8], from: Int) -> Int? {
        guard !pattern.isEmpty, count >= pattern.count else { return nil }
        let bytes = unread
        let first = pattern[0]
        var i = max(0, from)
        let last = bytes.count - pattern.count
        while i <= last {
            guard let found = bytes[i...last].firstIndex(of: first) else { return nil }
            var match = true
            for j in 1..<pattern.count where bytes[found + j] != pattern[j] {
                match = false
                break
            }
            if match { return found }
            i = found + 1
        }
        return nil
    }
}
