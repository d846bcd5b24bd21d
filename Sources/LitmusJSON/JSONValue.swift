/// A JSON number: its double value, plus its exact integer value when it has one.
///
/// Integer literals are parsed exactly (no trip through `Double`), so `9007199254740993` keeps
/// its last digit for an i64 operation.
public struct JSONNumber: Sendable, Equatable {
    /// The value as a double (finite: literals that overflow a double are rejected).
    public let double: Double
    /// The exact integer value, when the number is integral and fits an `Int64`.
    public let integer: Int64?
    /// The literal as written, when parsed.
    let text: String?

    /// The literal as written, or the shortest text that reads back as the same number.
    public var literal: String { text ?? integer.map(String.init) ?? JSONText.number(double) }

    init(double: Double, integer: Int64?, literal: String) {
        self.double = double
        self.integer = integer
        self.text = literal
    }

    /// An integer.
    public init(_ value: Int64) {
        double = Double(value)
        integer = value
        text = nil
    }

    /// A double. NaN and infinities are not JSON numbers: ``JSONBuffer`` writes them as the
    /// strings "NaN", "Infinity" and "-Infinity".
    public init(_ value: Double) {
        double = value
        integer = nil
        text = nil
    }
}

/// A parsed JSON document. Object members keep their order; duplicate keys are rejected by
/// the parser.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    /// Parses one JSON document from UTF-8 bytes.
    ///
    /// Throws a ``JSONSyntaxError`` with the line and column of the problem: invalid UTF-8,
    /// bad syntax, NaN or Infinity (not JSON), numbers too large for a double, duplicate keys,
    /// or nesting deeper than ``JSONParser/maximumDepth``.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(Array(bytes))
        return try parser.parseDocument()
    }

    /// A short description of the value's kind for messages: `a string ("abc")`, `a number (2.5)`.
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool(let b): "a bool (\(b))"
        case .number(let n): "a number (\(n.literal))"
        case .string(let s): "a string (\(JSONText.quoted(s.count > 40 ? String(s.prefix(40)) + "..." : s)))"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON syntax error, with its position in the text.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var line: Int
    public var column: Int

    public var description: String { "\(message) at line \(line), column \(column)" }
}

/// A strict recursive-descent JSON parser (RFC 8259) over UTF-8 bytes.
public struct JSONParser {
    /// Deeper documents are rejected instead of exhausting the stack.
    static let maximumDepth = 200

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw JSONSyntaxError(message: "the text is not valid UTF-8", line: 1, column: 1)
        }
        skipWhitespace()
        guard index < bytes.count else { throw error("expected a JSON value but the text is empty") }
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw error("unexpected text after the JSON value") }
        return value
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of text, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw error("NaN and Infinity are not JSON numbers")
        default:
            throw error("unexpected character \(describe(bytes[index])), expected a value")
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth { throw error("nesting deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        // Duplicate keys: a linear check while the object is small, a set beyond that.
        var seen: Set<String>?
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw error("expected a string key in the object") }
            let keyStart = index
            let key = try parseString()
            let duplicate: Bool
            if members.count < 16 {
                duplicate = members.contains { $0.key == key }
            } else {
                if seen == nil { seen = Set(members.map(\.key)) }
                duplicate = !seen!.insert(key).inserted
            }
            guard !duplicate else {
                index = keyStart
                throw error("duplicate key \(JSONText.quoted(key))")
            }
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw error("expected ':' after the key \(JSONText.quoted(key))") }
            index += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
            } else if peek(UInt8(ascii: "}")) {
                index += 1
                depth -= 1
                return .object(members)
            } else {
                throw error("expected ',' or '}' in the object")
            }
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
            } else if peek(UInt8(ascii: "]")) {
                index += 1
                depth -= 1
                return .array(items)
            } else {
                throw error("expected ',' or ']' in the array")
            }
        }
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        index += 1  // opening quote
        // Most strings have no escapes: one scan, one copy.
        var end = index
        while end < bytes.count {
            let b = bytes[end]
            if b == UInt8(ascii: "\"") {
                let text = bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[index..<end]), as: UTF8.self) }
                index = end + 1
                return text
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            end += 1
        }
        var out: [UInt8] = Array(bytes[index..<end])
        index = end
        while index < bytes.count {
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): out.append(contentsOf: try parseUnicodeEscape())
                default:
                    index -= 1
                    throw error("invalid escape '\\\(describe(e))' in a string")
                }
            case 0..<0x20:
                throw error("control character \(describe(b)) inside a string (escape it)")
            default:
                out.append(b)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    /// Parses the `XXXX` of `\uXXXX` (and a following low surrogate); returns UTF-8.
    private mutating func parseUnicodeEscape() throws(JSONSyntaxError) -> [UInt8] {
        let high = try parseHex4()
        var scalarValue = UInt32(high)
        if (0xD800..<0xDC00).contains(high) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw error("a high surrogate \\u\(hex4(high)) must be followed by a low surrogate") }
            index += 2
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("invalid low surrogate \\u\(hex4(low))") }
            scalarValue = 0x10000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        } else if (0xDC00..<0xE000).contains(high) {
            throw error("unpaired low surrogate \\u\(hex4(high))")
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw error("invalid unicode escape") }
        return Array(String(Character(scalar)).utf8)
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt16 = 0
        for _ in 0..<4 {
            guard let d = hexDigitValue(bytes[index]) else { throw error("invalid hex digit in a \\u escape") }
            v = v << 4 | UInt16(d)
            index += 1
        }
        return v
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONNumber {
        let start = index
        var isInteger = true
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit in the number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("numbers must not have leading zeros") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit in the exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if isInteger && index - start <= 18 {
            // Integers of up to 18 characters fit an Int64: no text to convert.
            var value: Int64 = 0
            var i = start
            let negative = bytes[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            while i < index {
                value = value * 10 + Int64(bytes[i] - UInt8(ascii: "0"))
                i += 1
            }
            return JSONNumber(negative ? -value : value)
        }
        let literal = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let double = Double(literal), double.isFinite else {
            index = start
            throw error("the number \(literal) is out of the range of a double")
        }
        let integer = isInteger ? Int64(literal) : Int64(exactly: double)
        return JSONNumber(double: double, integer: integer, literal: literal)
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONSyntaxError) {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard index + w.count <= bytes.count, bytes[index..<(index + w.count)].elementsEqual(w) else {
            throw error("unexpected character \(describe(bytes[index])), expected a value")
        }
        index += w.count
    }

    private mutating func skipWhitespace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
        {
            index += 1
        }
    }

    private func peek(_ b: UInt8) -> Bool { index < bytes.count && bytes[index] == b }
    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    private func hex4(_ v: UInt16) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    private func describe(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "0x\(String(b, radix: 16))"
    }

    /// An error at the current position, with 1-based line and column (in bytes).
    private func error(_ message: String) -> JSONSyntaxError {
        var line = 1
        var lineStart = 0
        for i in 0..<min(index, bytes.count) where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return JSONSyntaxError(message: message, line: line, column: index - lineStart + 1)
    }
}

/// The value of a hexadecimal digit, or nil.
public func hexDigitValue(_ b: UInt8) -> UInt8? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
    default: nil
    }
}


extension JSONNumber {
    /// Numbers are equal by value (integers exactly when both have one; NaN equals NaN).
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if let a = lhs.integer, let b = rhs.integer { return a == b }
        return lhs.double == rhs.double || (lhs.double.isNaN && rhs.double.isNaN)
    }
}

extension JSONValue {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The member `key` of an object (the first, if repeated), or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var intValue: Int64? { if case .number(let n) = self { n.integer } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: [(key: String, value: JSONValue)]? { if case .object(let o) = self { o } else { nil } }
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// A number, or one of the strings "NaN", "Infinity", "-Infinity" that stand for the
    /// doubles JSON cannot hold.
    public var doubleValue: Double? {
        switch self {
        case .number(let n): n.double
        case .string("NaN"): .nan
        case .string("Infinity"): .infinity
        case .string("-Infinity"): -.infinity
        default: nil
        }
    }

    /// A double as a JSON value (NaN and infinities as their strings).
    public static func double(_ x: Double) -> JSONValue {
        if x.isNaN { return .string("NaN") }
        if x.isInfinite { return .string(x > 0 ? "Infinity" : "-Infinity") }
        return .number(JSONNumber(x))
    }

    /// An integer as a JSON value.
    public static func int(_ x: Int64) -> JSONValue { .number(JSONNumber(x)) }
}
