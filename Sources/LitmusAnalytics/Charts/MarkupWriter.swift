/// Builds HTML and SVG text into one growing UTF-8 buffer, escaping every piece of data.
///
/// Markup (tags, attribute names, CSS) is appended as is with ``raw(_:)``; data (names, values,
/// anything that came from a run or a user) goes through ``text(_:)`` or ``attribute(_:_:)``,
/// which escape `&`, `<`, `>`, `"` and `'`, so a measurement called `<script>` stays text.
///
/// ```swift
/// var w = MarkupWriter()
/// w.raw("<td")
/// w.attribute("title", name)
/// w.raw(">")
/// w.text(name)
/// w.raw("</td>")
/// let html = w.string
/// ```
public struct MarkupWriter: Sendable {
    /// The UTF-8 bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    /// The text written so far.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends markup as is (never data: use ``text(_:)`` for that).
    public mutating func raw(_ markup: String) {
        var markup = markup
        markup.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Appends text, escaped for HTML and SVG content and attribute values.
    public mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for i in utf8.indices {
                let escaped: StaticString
                switch utf8[i] {
                case UInt8(ascii: "&"): escaped = "&amp;"
                case UInt8(ascii: "<"): escaped = "&lt;"
                case UInt8(ascii: ">"): escaped = "&gt;"
                case UInt8(ascii: "\""): escaped = "&quot;"
                case UInt8(ascii: "'"): escaped = "&#39;"
                default: continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
                escaped.withUTF8Buffer { bytes.append(contentsOf: $0) }
                start = i + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
    }

    /// `value` escaped as ``text(_:)`` escapes it, for pages put together as strings.
    public static func escaped(_ value: String) -> String {
        var w = MarkupWriter(capacity: value.utf8.count + 16)
        w.text(value)
        return w.string
    }

    /// Appends ` name="value"` with the value escaped.
    public mutating func attribute(_ name: String, _ value: String) {
        bytes.append(UInt8(ascii: " "))
        raw(name)
        bytes.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
        text(value)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends ` name="value"` for a number (see ``ChartNumber/plain(_:)``).
    public mutating func attribute(_ name: String, _ value: Double) {
        attribute(name, ChartNumber.plain(value))
    }

    /// Appends a pixel coordinate with one decimal (`123.4`), the precision a screen needs.
    public mutating func coordinate(_ value: Double) {
        guard value.isFinite else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        // Coordinates are bounded by the chart (clamped far outside it), so this never overflows.
        var tenths = Int64((min(max(value, -1e9), 1e9) * 10).rounded())
        if tenths < 0 {
            bytes.append(UInt8(ascii: "-"))
            tenths = -tenths
        }
        appendInteger(tenths / 10)
        let fraction = tenths % 10
        if fraction != 0 {
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(ascii: "0") + UInt8(fraction))
        }
    }

    /// Appends an integer's decimal digits.
    public mutating func integer(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendInteger(value.magnitude)
    }

    private mutating func appendInteger<T: BinaryInteger>(_ value: T) {
        var n = UInt64(value)
        if n < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(n))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var k = 20
            while n > 0 {
                k -= 1
                digits[k] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[k...]))
        }
    }

    /// Appends what another writer wrote.
    public mutating func append(_ other: MarkupWriter) { bytes.append(contentsOf: other.bytes) }
}
