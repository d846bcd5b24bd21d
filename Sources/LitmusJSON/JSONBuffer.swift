/// Writes compact JSON into a byte buffer, fast: no intermediate strings, no Foundation.
///
/// ```swift
/// var json = JSONBuffer()
/// json.beginObject()
/// json.field("name", "vout"); json.field("value", 3.3); json.field("unit", nil as String?)
/// json.endObject()      // {"name":"vout","value":3.3}
/// ```
///
/// Fields whose value is nil are left out. Doubles use the shortest text that reads back as
/// the same double; NaN and infinities become the strings "NaN", "Infinity" and "-Infinity".
public struct JSONBuffer: Sendable {
    public var bytes: [UInt8]
    /// Whether the next member or element needs a comma before it.
    private var needsComma = false

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    public mutating func beginObject() {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Starts a member: `"key":`. Follow it with exactly one value.
    public mutating func key(_ key: String) {
        separator()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    @inline(__always)
    private mutating func separator() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    // MARK: Values

    public mutating func null() {
        separator()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        needsComma = true
    }

    public mutating func value(_ s: String) {
        separator()
        appendQuoted(s)
        needsComma = true
    }

    public mutating func value(_ x: Int64) {
        separator()
        appendInteger(x)
        needsComma = true
    }

    public mutating func value(_ x: Int) { value(Int64(x)) }

    public mutating func value(_ b: Bool) {
        separator()
        bytes.append(contentsOf: b ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65])
        needsComma = true
    }

    public mutating func value(_ x: Double) {
        separator()
        if x.isNaN {
            appendQuoted("NaN")
        } else if x.isInfinite {
            appendQuoted(x > 0 ? "Infinity" : "-Infinity")
        } else if x == x.rounded(.towardZero), abs(x) < 1e15 {
            // Integral doubles: "5.0", like Swift's description, without the formatting cost.
            if x == 0 && x.sign == .minus { bytes.append(UInt8(ascii: "-")) }
            appendInteger(Int64(x))
            bytes.append(contentsOf: [0x2E, 0x30])
        } else {
            bytes.append(contentsOf: x.description.utf8)
        }
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
    public mutating func raw(_ json: some Sequence<UInt8>) {
        separator()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    // MARK: Fields (members whose nil values are left out)

    public mutating func field(_ name: String, _ v: String?) {
        if let v { key(name); value(v) }
    }
    public mutating func field(_ name: String, _ v: Int64?) {
        if let v { key(name); value(v) }
    }
    public mutating func field(_ name: String, _ v: Int?) {
        if let v { key(name); value(Int64(v)) }
    }
    public mutating func field(_ name: String, _ v: Double?) {
        if let v { key(name); value(v) }
    }
    public mutating func field(_ name: String, _ v: Bool?) {
        if let v { key(name); value(v) }
    }
    public mutating func field(_ name: String, _ v: JSONValue?) {
        if let v { key(name); value(v) }
    }

    // MARK: Text

    private mutating func appendInteger(_ x: Int64) {
        if x == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, enough for 20 digits
        var n = x.magnitude
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            while n > 0 {
                scratch[23 - count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            }
            if x < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: scratch[(24 - count)...])
        }
    }

    private mutating func appendQuoted(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
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
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0x0F)]])
                }
                start = i + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
