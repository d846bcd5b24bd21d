/// Writes compact JSON into a byte buffer, fast: no intermediate strings, no Foundation, and
/// everything inlinable so callers in other modules get specialized code.
///
/// ```swift
/// var json = JSONBuffer()
/// json.beginObject()
/// json.field("name", "vout"); json.field("value", 3.3); json.field("unit", nil as String?)
/// json.endObject()      // {"name":"vout","value":3.3}
/// ```
///
/// Members with a fixed name take a `StaticString` (written as is: it must not need escaping);
/// ``key(_:)`` takes any `String`. Fields whose value is nil are left out. Doubles use the
/// shortest text that reads back as the same double; NaN and infinities become the strings
/// "NaN", "Infinity" and "-Infinity".
public struct JSONBuffer: @unchecked Sendable {
    /// Owns the memory. Immutable, so the hot path touches only this struct's fields (no
    /// class-property access checks); writes copy the bytes first when a copy of the buffer
    /// shares the owner (value semantics).
    @usableFromInline
    final class Owner {
        @usableFromInline let base: UnsafeMutablePointer<UInt8>
        @usableFromInline init(capacity: Int) { base = .allocate(capacity: capacity) }
        deinit { base.deallocate() }
    }

    @usableFromInline var owner: Owner
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var used = 0
    /// Bytes the buffer holds before it must grow.
    public internal(set) var capacity: Int
    /// Whether the next member or element needs a comma before it.
    @usableFromInline var needsComma = false

    public init(capacity: Int = 512) {
        self.capacity = max(capacity, 64)
        owner = Owner(capacity: self.capacity)
        base = owner.base
    }

    /// The bytes written so far, copied.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: used)) }

    /// The number of bytes written so far.
    @inlinable public var count: Int { used }

    /// Whether nothing was written.
    @inlinable public var isEmpty: Bool { used == 0 }

    /// Calls `body` with the bytes written so far (valid only during the call).
    @inlinable
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(UnsafeBufferPointer(start: base, count: used)) }
    }

    /// Room for `n` more bytes; returns where they go. Callers write what they reserved (or
    /// less) and then call ``commit(_:)``.
    @inlinable
    public mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if used + n > capacity || !isKnownUniquelyReferenced(&owner) { relocate(minimum: used + n) }
        return base + used
    }

    /// Moves the bytes to new memory of at least `minimum` bytes, owned by this buffer alone.
    @usableFromInline
    mutating func relocate(minimum: Int) {
        var newCapacity = capacity
        while newCapacity < minimum { newCapacity *= 2 }
        let fresh = Owner(capacity: newCapacity)
        fresh.base.update(from: base, count: used)
        owner = fresh
        base = fresh.base
        capacity = newCapacity
    }

    @inlinable
    public mutating func commit(_ n: Int) { used += n }

    /// Forgets the last `n` bytes written (to write them differently).
    @inlinable
    public mutating func removeLast(_ n: Int) {
        precondition(n >= 0 && n <= used, "cannot remove \(n) of \(used) bytes")
        used -= n
    }

    /// For extensions that write a value in place with ``reserve(_:)``: call before writing.
    @inlinable
    public mutating func separatorBeforeValue() { separator() }

    /// For extensions that write a value in place: call after writing it.
    @inlinable
    public mutating func valueWritten() { needsComma = true }

    @inlinable
    mutating func append(_ byte: UInt8) {
        reserve(1).pointee = byte
        commit(1)
    }

    @inlinable
    mutating func append(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let source = buffer.baseAddress, buffer.count > 0 else { return }
        reserve(buffer.count).update(from: source, count: buffer.count)
        commit(buffer.count)
    }

    /// Writes through a ``JSONRawWriter`` with room for `n` bytes: many members or values for
    /// the cost of one capacity check. `body` must write at most `n` bytes (see the writer's
    /// `room` functions).
    @inlinable
    public mutating func withRawWriter<R>(reserving n: Int, _ body: (inout JSONRawWriter) throws -> R) rethrows -> R {
        var writer = JSONRawWriter(at: reserve(n), needsComma: needsComma)
        let result = try body(&writer)
        commit(writer.count)
        needsComma = writer.needsComma
        return result
    }

    @inlinable
    public mutating func removeAll() {
        if !isKnownUniquelyReferenced(&owner) { relocate(minimum: 0) }
        used = 0
        needsComma = false
    }

    @inlinable
    public mutating func beginObject() {
        separator()
        append(UInt8(ascii: "{"))
        needsComma = false
    }

    @inlinable
    public mutating func endObject() {
        append(UInt8(ascii: "}"))
        needsComma = true
    }

    @inlinable
    public mutating func beginArray() {
        separator()
        append(UInt8(ascii: "["))
        needsComma = false
    }

    @inlinable
    public mutating func endArray() {
        append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Starts a member with any name (escaped as needed): `"key":`. Follow it with one value.
    @inlinable
    public mutating func key(_ key: String) {
        withRawWriter(reserving: JSONRawWriter.room(key) + 1) { $0.key(key) }
    }

    /// Starts a member with a fixed name that needs no escaping: `"key":`.
    @inlinable
    public mutating func key(static key: StaticString) {
        withRawWriter(reserving: JSONRawWriter.room(key: key)) { $0.key(static: key) }
    }

    @inlinable
    mutating func separator() {
        if needsComma { append(UInt8(ascii: ",")) }
    }

    // MARK: Values

    @inlinable
    public mutating func null() {
        withRawWriter(reserving: 5) { $0.null() }
    }

    @inlinable
    public mutating func value(_ s: String) {
        withRawWriter(reserving: JSONRawWriter.room(s)) { $0.value(s) }
    }

    @inlinable
    public mutating func value(_ x: Int64) {
        withRawWriter(reserving: JSONRawWriter.numberRoom) { $0.value(x) }
    }

    @inlinable
    public mutating func value(_ x: Int) { value(Int64(x)) }

    @inlinable
    public mutating func value(_ b: Bool) {
        withRawWriter(reserving: 6) { $0.value(b) }
    }

    @inlinable
    public mutating func value(_ x: Double) {
        withRawWriter(reserving: JSONRawWriter.numberRoom) { $0.value(x) }
    }

    /// `x` when it is a finite number, else `null` (JSON has no NaN or infinity): a rate or
    /// statistic that is undefined for the data, as in `litmus metrics --json`.
    @inlinable
    public mutating func finiteOrNull(_ x: Double?) {
        if let x, x.isFinite { value(x) } else { null() }
    }

    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): value(b)
        case .number(let n):
            if let i = n.integer, n.double == Double(i) {
                value(i)
            } else {
                value(n.double)
            }
        case .string(let s): value(s)
        case .array(let items):
            beginArray()
            for item in items { value(item) }
            endArray()
        case .object(let members):
            beginObject()
            for (k, item) in members {
                key(k)
                value(item)
            }
            endObject()
        }
    }

    /// Raw, already valid JSON text.
    @inlinable
    public mutating func raw(_ json: UnsafeRawBufferPointer) {
        separator()
        append(json.assumingMemoryBound(to: UInt8.self))
        needsComma = true
    }

    // MARK: Fields (members whose nil values are left out)

    @inlinable
    public mutating func field(_ name: StaticString, _ v: String?) {
        if let v {
            withRawWriter(reserving: JSONRawWriter.room(key: name) + JSONRawWriter.room(v)) { $0.field(name, v) }
        }
    }
    @inlinable
    public mutating func field(_ name: StaticString, _ v: Int64?) {
        if let v {
            withRawWriter(reserving: JSONRawWriter.room(key: name) + JSONRawWriter.numberRoom) { $0.field(name, v) }
        }
    }
    @inlinable
    public mutating func field(_ name: StaticString, _ v: Int?) {
        field(name, v.map(Int64.init))
    }
    @inlinable
    public mutating func field(_ name: StaticString, _ v: Double?) {
        if let v {
            withRawWriter(reserving: JSONRawWriter.room(key: name) + JSONRawWriter.numberRoom) { $0.field(name, v) }
        }
    }
    @inlinable
    public mutating func field(_ name: StaticString, _ v: Bool?) {
        if let v {
            withRawWriter(reserving: JSONRawWriter.room(key: name) + 6) { $0.field(name, v) }
        }
    }
    public mutating func field(_ name: StaticString, _ v: JSONValue?) {
        if let v {
            key(static: name)
            value(v)
        }
    }
    /// A member with any name, for maps: `"name":"value"`.
    public mutating func member(_ name: String, _ v: String) {
        key(name)
        value(v)
    }
}

/// Writes JSON straight into memory that has room for it: no capacity or uniqueness checks,
/// so a run of members costs what their bytes cost. Obtained from
/// ``JSONBuffer/withRawWriter(reserving:_:)``, whose caller reserves enough room with the
/// `room` functions (upper bounds: every byte of a string may need a 6-byte escape).
///
/// It writes exactly what ``JSONBuffer`` writes for the same calls.
public struct JSONRawWriter {
    @usableFromInline let start: UnsafeMutablePointer<UInt8>
    /// The next byte to write.
    @usableFromInline var end: UnsafeMutablePointer<UInt8>
    /// Whether the next member or element needs a comma before it.
    @usableFromInline var needsComma: Bool

    @inlinable
    init(at start: UnsafeMutablePointer<UInt8>, needsComma: Bool) {
        self.start = start
        self.end = start
        self.needsComma = needsComma
    }

    /// Bytes written so far.
    @inlinable public var count: Int { end - start }

    /// Room for a member's name, with its comma: `,"key":`.
    @inlinable public static func room(key: StaticString) -> Int { key.utf8CodeUnitCount + 4 }
    /// Room for a string value, quotes, escapes and comma included.
    @inlinable public static func room(_ s: String) -> Int { 3 + 6 * s.utf8.count }
    /// Room for a number (an integer, or a double in its shortest form), with its comma.
    public static let numberRoom = 34

    @inlinable @inline(__always)
    mutating func put(_ byte: UInt8) {
        end.pointee = byte
        end += 1
    }

    @inlinable @inline(__always)
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        end.update(from: source, count: bytes.count)
        end += bytes.count
    }

    @inlinable @inline(__always)
    mutating func separator() {
        if needsComma { put(UInt8(ascii: ",")) }
    }

    /// Starts a member with any name (escaped as needed): `"key":`.
    @inlinable
    public mutating func key(_ key: String) {
        separator()
        appendQuoted(key)
        put(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Starts a member with a fixed name that needs no escaping: `"key":`.
    @inlinable @inline(__always)
    public mutating func key(static key: StaticString) {
        separator()
        let n = key.utf8CodeUnitCount
        end[0] = UInt8(ascii: "\"")
        (end + 1).update(from: key.utf8Start, count: n)
        end[n + 1] = UInt8(ascii: "\"")
        end[n + 2] = UInt8(ascii: ":")
        end += n + 3
        needsComma = false
    }

    @inlinable @inline(__always)
    public mutating func null() {
        separator()
        appendASCII(0x6E, 0x75, 0x6C, 0x6C)
        needsComma = true
    }

    @inlinable @inline(__always)
    public mutating func value(_ s: String) {
        separator()
        appendQuoted(s)
        needsComma = true
    }

    @inlinable @inline(__always)
    public mutating func value(_ x: Int64) {
        separator()
        appendInteger(x)
        needsComma = true
    }

    @inlinable @inline(__always)
    public mutating func value(_ b: Bool) {
        separator()
        if b { appendASCII(0x74, 0x72, 0x75, 0x65) } else { appendASCII(0x66, 0x61, 0x6C, 0x73, 0x65) }
        needsComma = true
    }

    @inlinable @inline(__always)
    public mutating func value(_ x: Double) {
        separator()
        appendDouble(x)
        needsComma = true
    }

    @inlinable @inline(__always)
    public mutating func field(_ name: StaticString, _ v: String?) {
        if let v {
            key(static: name)
            value(v)
        }
    }

    @inlinable @inline(__always)
    public mutating func field(_ name: StaticString, _ v: Int64?) {
        if let v {
            key(static: name)
            value(v)
        }
    }

    @inlinable @inline(__always)
    public mutating func field(_ name: StaticString, _ v: Double?) {
        if let v {
            key(static: name)
            value(v)
        }
    }

    @inlinable @inline(__always)
    public mutating func field(_ name: StaticString, _ v: Bool?) {
        if let v {
            key(static: name)
            value(v)
        }
    }

    /// Text that is valid JSON where it goes (no separator is added).
    @inlinable @inline(__always)
    public mutating func raw(_ text: StaticString) {
        end.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        end += text.utf8CodeUnitCount
    }

    /// Bytes that are valid JSON where they go (no separator is added).
    @inlinable
    public mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) { put(bytes) }

    /// Writes in place: `body` gets where the bytes go and returns how many it wrote (no
    /// separator is added).
    @inlinable
    public mutating func raw(_ body: (UnsafeMutablePointer<UInt8>) -> Int) { end += body(end) }

    /// Marks a value as written, after ``raw(_:)-(StaticString)`` calls that wrote one: the next
    /// member or element gets a comma.
    @inlinable
    public mutating func valueWritten() { needsComma = true }

    // MARK: Text

    @inlinable
    mutating func appendASCII(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        end[0] = a
        end[1] = b
        end[2] = c
        end[3] = d
        end += 4
    }

    @inlinable
    mutating func appendASCII(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8) {
        appendASCII(a, b, c, d)
        put(e)
    }

    @inlinable
    mutating func appendInteger(_ x: Int64) {
        if x >= 0 && x < 10 {
            end[0] = UInt8(ascii: "0") &+ UInt8(x)
            end += 1
            return
        }
        end += JSONRawWriter.writeDecimal(x, at: end)
    }

    /// Writes the decimal digits of `value` (with its sign) at `p`, at most 20 bytes, and
    /// returns their count.
    public static func writeDecimal(_ value: Int64, at p: UnsafeMutablePointer<UInt8>) -> Int {
        var n = value.magnitude
        var digits = 0
        var probe = n
        repeat {
            digits += 1
            probe /= 10
        } while probe > 0
        var i = 0
        if value < 0 {
            p[0] = UInt8(ascii: "-")
            i = 1
        }
        var at = i + digits - 1
        repeat {
            p[at] = UInt8(ascii: "0") &+ UInt8(n % 10)
            n /= 10
            at -= 1
        } while n > 0
        return i + digits
    }

    @inlinable
    mutating func appendDouble(_ x: Double) {
        if x.isNaN {
            appendQuoted("NaN")
        } else if x.isInfinite {
            appendQuoted(x > 0 ? "Infinity" : "-Infinity")
        } else if abs(x) < 1e15, x == Double(Int64(x)) {
            // Integral doubles: "5.0", like Swift's description, without the formatting cost.
            if x == 0 && x.sign == .minus { put(UInt8(ascii: "-")) }
            appendInteger(Int64(x))
            put(UInt8(ascii: "."))
            put(UInt8(ascii: "0"))
        } else if !appendShortDecimal(x) {
            // The shortest text that reads back as the same double.
            var text = x.description
            text.withUTF8 { put($0) }
        }
    }

    /// Writes `x` as `[-]digits.digits` with the fewest fraction digits that read back as
    /// exactly `x`, when 1e-4 <= |x| < 1e15 (the range Double.description writes without an
    /// exponent). `m / 10^k` is correctly rounded for integers `m` < 2^53 and `k` <= 22, so the
    /// text `m * 10^-k` reads back as `x` exactly when that division gives `x`. Returns false
    /// outside that range.
    @inlinable
    mutating func appendShortDecimal(_ x: Double) -> Bool {
        let magnitude = abs(x)
        guard magnitude >= 1e-4, magnitude < 1e15 else { return false }
        var scale = 1.0
        for k in 1...17 {
            scale *= 10
            // m = (magnitude * scale).rounded(), without a libm call: below 2^53 the
            // conversion to Int64 truncates exactly, and the remainder is exact too.
            let product = magnitude * scale
            guard product < 9_007_199_254_740_992 else { return false }
            let whole = Double(Int64(product))
            let m = product - whole >= 0.5 ? whole + 1 : whole
            guard m < 9_007_199_254_740_992 else { return false }
            if m / scale == magnitude {
                var digits = UInt64(m)
                // The integer part, then k fraction digits (with leading zeros).
                var text: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)  // 40 bytes of scratch
                let n = withUnsafeMutableBytes(of: &text) { t -> Int in
                    var i = 40
                    var written = 0
                    while written < k || digits > 0 || written == k {
                        if written == k {
                            i -= 1
                            t[i] = UInt8(ascii: ".")
                            if digits == 0 {
                                i -= 1
                                t[i] = UInt8(ascii: "0")
                                break
                            }
                        }
                        i -= 1
                        t[i] = UInt8(ascii: "0") &+ UInt8(digits % 10)
                        digits /= 10
                        written += 1
                        if written > k && digits == 0 { break }
                    }
                    if x < 0 {
                        i -= 1
                        t[i] = UInt8(ascii: "-")
                    }
                    let count = 40 - i
                    end.update(from: t.baseAddress!.assumingMemoryBound(to: UInt8.self) + i, count: count)
                    return count
                }
                end += n
                return true
            }
        }
        return false
    }

    @inlinable @inline(__always)
    mutating func appendQuoted(_ s: String) {
        put(UInt8(ascii: "\""))
        if s.utf8.withContiguousStorageIfAvailable({ appendQuotedContents($0) }) == nil {
            var copy = s
            copy.withUTF8 { appendQuotedContents($0) }
        }
        put(UInt8(ascii: "\""))
    }

    /// The UTF-8 bytes of a string, escaped where JSON needs it (without the quotes).
    @inlinable
    mutating func appendQuotedContents(_ utf8: UnsafeBufferPointer<UInt8>) {
        for c in utf8 where c < 0x20 || c == 0x22 || c == 0x5C || c == 0x7F {
            appendEscaped(utf8)
            return
        }
        put(utf8)
    }

    @inlinable
    mutating func appendASCII2(_ a: UInt8, _ b: UInt8) {
        end[0] = a
        end[1] = b
        end += 2
    }

    @usableFromInline
    mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var start = 0
        for (i, c) in utf8.enumerated() where c < 0x20 || c == 0x22 || c == 0x5C || c == 0x7F {
            put(UnsafeBufferPointer(rebasing: utf8[start..<i]))
            switch c {
            case 0x22: appendASCII2(0x5C, 0x22)
            case 0x5C: appendASCII2(0x5C, 0x5C)
            case 0x0A: appendASCII2(0x5C, 0x6E)
            case 0x0D: appendASCII2(0x5C, 0x72)
            case 0x09: appendASCII2(0x5C, 0x74)
            default:
                appendASCII(0x5C, 0x75, 0x30, 0x30)
                appendASCII2(lowerHexDigit(c >> 4), lowerHexDigit(c & 0x0F))
            }
            start = i + 1
        }
        put(UnsafeBufferPointer(rebasing: utf8[start...]))
    }
}

/// The lower-case hexadecimal digit of `v` (0...15).
@inlinable
public func lowerHexDigit(_ v: UInt8) -> UInt8 {
    v < 10 ? UInt8(ascii: "0") &+ v : UInt8(ascii: "a") &+ (v &- 10)
}
