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
public struct JSONBuffer: Sendable {
    public var bytes: [UInt8]
    /// Whether the next member or element needs a comma before it.
    @usableFromInline var needsComma = false

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    @inlinable
    public mutating func beginObject() {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    @inlinable
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    @inlinable
    public mutating func beginArray() {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    @inlinable
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Starts a member with any name (escaped as needed): `"key":`. Follow it with one value.
    @inlinable
    public mutating func key(_ key: String) {
        separator()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Starts a member with a fixed name that needs no escaping: `"key":`.
    @inlinable
    public mutating func key(static key: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    @inlinable
    mutating func separator() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    // MARK: Values

    @inlinable
    public mutating func null() {
        separator()
        appendASCII(0x6E, 0x75, 0x6C, 0x6C)
        needsComma = true
    }

    @inlinable
    public mutating func value(_ s: String) {
        separator()
        appendQuoted(s)
        needsComma = true
    }

    @inlinable
    public mutating func value(_ x: Int64) {
        separator()
        appendInteger(x)
        needsComma = true
    }

    @inlinable
    public mutating func value(_ x: Int) { value(Int64(x)) }

    @inlinable
    public mutating func value(_ b: Bool) {
        separator()
        if b { appendASCII(0x74, 0x72, 0x75, 0x65) } else { appendASCII(0x66, 0x61, 0x6C, 0x73, 0x65) }
        needsComma = true
    }

    @inlinable
    public mutating func value(_ x: Double) {
        separator()
        appendDouble(x)
        needsComma = true
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
        bytes.append(contentsOf: json)
        needsComma = true
    }

    // MARK: Fields (members whose nil values are left out)

    @inlinable
    public mutating func field(_ name: StaticString, _ v: String?) {
        if let v {
            key(static: name)
            value(v)
        }
    }
    @inlinable
    public mutating func field(_ name: StaticString, _ v: Int64?) {
        if let v {
            key(static: name)
            value(v)
        }
    }
    @inlinable
    public mutating func field(_ name: StaticString, _ v: Int?) {
        if let v {
            key(static: name)
            value(Int64(v))
        }
    }
    @inlinable
    public mutating func field(_ name: StaticString, _ v: Double?) {
        if let v {
            key(static: name)
            value(v)
        }
    }
    @inlinable
    public mutating func field(_ name: StaticString, _ v: Bool?) {
        if let v {
            key(static: name)
            value(v)
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

    // MARK: Text

    @inlinable
    mutating func appendASCII(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        bytes.append(a)
        bytes.append(b)
        bytes.append(c)
        bytes.append(d)
    }

    @inlinable
    mutating func appendASCII(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8) {
        appendASCII(a, b, c, d)
        bytes.append(e)
    }

    @inlinable
    mutating func appendInteger(_ x: Int64) {
        if x >= 0 && x < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(x))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            var n = x.magnitude
            var i = 20
            repeat {
                i -= 1
                scratch[i] = UInt8(ascii: "0") &+ UInt8(n % 10)
                n /= 10
            } while n > 0
            if x < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[i...]))
        }
    }

    @inlinable
    mutating func appendDouble(_ x: Double) {
        if x.isNaN {
            appendQuoted("NaN")
        } else if x.isInfinite {
            appendQuoted(x > 0 ? "Infinity" : "-Infinity")
        } else if x == x.rounded(.towardZero), abs(x) < 1e15 {
            // Integral doubles: "5.0", like Swift's description, without the formatting cost.
            if x == 0 && x.sign == .minus { bytes.append(UInt8(ascii: "-")) }
            appendInteger(Int64(x))
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(ascii: "0"))
        } else {
            var text = x.description
            text.withUTF8 { bytes.append(contentsOf: $0) }
        }
    }

    @inlinable
    mutating func appendQuoted(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var clean = true
            for c in utf8 where c < 0x20 || c == 0x22 || c == 0x5C || c == 0x7F {
                clean = false
                break
            }
            if clean {
                bytes.append(contentsOf: utf8)
            } else {
                appendEscaped(utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    @usableFromInline
    mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var start = 0
        for (i, c) in utf8.enumerated() where c < 0x20 || c == 0x22 || c == 0x5C || c == 0x7F {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
            switch c {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            default:
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, lowerHexDigit(c >> 4), lowerHexDigit(c & 0x0F)])
            }
            start = i + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
    }
}

/// The lower-case hexadecimal digit of `v` (0...15).
@inlinable
public func lowerHexDigit(_ v: UInt8) -> UInt8 {
    v < 10 ? UInt8(ascii: "0") &+ v : UInt8(ascii: "a") &+ (v &- 10)
}
