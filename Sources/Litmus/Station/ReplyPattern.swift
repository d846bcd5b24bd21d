import Foundation

/// The shape of an instrument's text reply, with typed captures: how an instrument profile
/// reads the replies of a line protocol that is not SCPI.
///
/// ```yaml
/// reply: "V{channel}={value:number V}"     # V1=15.002, V1=15.002V, V1=15002mV -> 15.002
/// error_reply: "E{code:integer} {message:string}"   # E03 SYNTAX
/// acknowledge: "OK"
/// ```
///
/// A pattern is literal text and placeholders:
/// - `{name:number}`, `{name:integer}`, `{name:bool}`, `{name:string}`: a typed capture. A
///   number is decimal with an optional sign, point and exponent; an integer has an optional
///   sign; a bool is `1`, `0`, `ON`, `OFF`, `TRUE` or `FALSE` in any case; a string runs up
///   to the literal text that follows it (the first occurrence), or to the end.
/// - `{name:number V}`: a number in volts. The reply may carry the unit, with an SI prefix
///   (`p n u µ m k M G`) and an optional space before it: `15002mV` reads 15.002. A number
///   without a unit is taken as already in volts.
/// - `{name}`: the text sent for the operation's parameter `name` (an echo, e.g. the channel):
///   the reply must carry exactly that text there.
/// - `{{` and `}}` are literal braces.
///
/// The reply is trimmed of surrounding whitespace, then matched from its start to its end,
/// literal text exactly (case-sensitive). Matching never backtracks: its cost is linear in
/// the reply's length, whatever the reply.
public struct ReplyPattern: Sendable, Equatable, CustomStringConvertible {
    /// The kind of a typed capture.
    public enum CaptureType: String, Sendable, Equatable, CaseIterable {
        case number, integer, bool, string

        /// The value type a capture of this kind gives.
        public var valueType: ValueType {
            switch self {
            case .number: .f64
            case .integer: .i64
            case .bool: .bool
            case .string: .string
            }
        }
    }

    /// One piece of a pattern.
    public enum Part: Sendable, Equatable {
        /// Text the reply must carry exactly.
        case literal(String)
        /// A typed capture, with the unit of a number.
        case capture(name: String, type: CaptureType, unit: String?)
        /// The text sent for a parameter.
        case echo(String)
    }

    /// The pattern as written.
    public let text: String
    public let parts: [Part]

    /// The typed captures, in order.
    public var captures: [(name: String, type: CaptureType, unit: String?)] {
        parts.compactMap { if case .capture(let n, let t, let u) = $0 { (n, t, u) } else { nil } }
    }

    /// The parameters the pattern echoes.
    public var echoes: [String] { parts.compactMap { if case .echo(let n) = $0 { n } else { nil } } }

    public var description: String { text }

    /// Parses a pattern.
    ///
    /// - Throws: ``ReplyPatternError`` saying what is wrong with the text.
    public init(_ text: String) throws(ReplyPatternError) {
        self.text = text
        var parts: [Part] = []
        var literal = ""
        var i = text.startIndex
        func flush() {
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
        }
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "{", next < text.endIndex, text[next] == "{" {
                literal.append("{")
                i = text.index(after: next)
            } else if c == "}", next < text.endIndex, text[next] == "}" {
                literal.append("}")
                i = text.index(after: next)
            } else if c == "}" {
                throw ReplyPatternError("'}' without an opening '{' (write }} for a literal brace)")
            } else if c == "{" {
                guard let close = text[next...].firstIndex(of: "}") else {
                    throw ReplyPatternError("'{' without a closing '}' (write {{ for a literal brace)")
                }
                let inside = text[next..<close]
                flush()
                if let colon = inside.firstIndex(of: ":") {
                    let name = String(inside[..<colon])
                    let spec = inside[inside.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
                    guard ProfileText.isIdentifier(name) else {
                        throw ReplyPatternError("{\(inside)}: \"\(name)\" is not a capture name (lower-case letters, digits and '_')")
                    }
                    guard let typeText = spec.first, let type = CaptureType(rawValue: String(typeText)) else {
                        throw ReplyPatternError(
                            "{\(inside)}: the capture type must be number, integer, bool or string")
                    }
                    guard spec.count <= 2 else {
                        throw ReplyPatternError("{\(inside)}: expected {name:type} or {name:number unit}")
                    }
                    var unit: String?
                    if spec.count == 2 {
                        guard type == .number else {
                            throw ReplyPatternError("{\(inside)}: only a number capture has a unit")
                        }
                        unit = String(spec[1])
                    }
                    guard !parts.contains(where: { if case .capture(name, _, _) = $0 { true } else { false } }) else {
                        throw ReplyPatternError("the capture {\(name)} appears twice")
                    }
                    if case .capture(let previous, .string, _)? = parts.last {
                        throw ReplyPatternError(
                            "the string capture {\(previous):string} must be followed by literal text or end the pattern")
                    }
                    parts.append(.capture(name: name, type: type, unit: unit))
                } else {
                    let name = String(inside)
                    guard ProfileText.isIdentifier(name) else {
                        throw ReplyPatternError("{\(inside)} is not a parameter name (lower-case letters, digits and '_')")
                    }
                    if case .capture(let previous, .string, _)? = parts.last {
                        throw ReplyPatternError(
                            "the string capture {\(previous):string} must be followed by literal text or end the pattern")
                    }
                    parts.append(.echo(name))
                }
                i = text.index(after: close)
            } else {
                literal.append(c)
                i = next
            }
        }
        flush()
        self.parts = parts
    }

    /// How a reply failed to match: where, and what was expected there.
    public struct Mismatch: Error, Sendable, Equatable, CustomStringConvertible {
        /// The character position (1-based) in the trimmed reply.
        public var position: Int
        public var expected: String
        public var description: String { "at character \(position) expected \(expected)" }
    }

    /// Matches a reply; `sent` gives the text sent for each parameter (for echoes).
    ///
    /// - Returns: the captured values by name (numbers scaled to their unit), or the mismatch.
    public func match(_ reply: String, sent: [String: String] = [:]) -> Result<[String: InstrumentValue], Mismatch> {
        let chars = Array(reply.trimmingSCPIWhitespace().unicodeScalars)
        var at = 0
        var values: [String: InstrumentValue] = [:]
        func fail(_ expected: String) -> Result<[String: InstrumentValue], Mismatch> {
            .failure(Mismatch(position: at + 1, expected: expected))
        }
        func hasPrefix(_ s: String, from start: Int) -> Bool {
            let scalars = Array(s.unicodeScalars)
            guard start + scalars.count <= chars.count else { return false }
            return chars[start..<(start + scalars.count)].elementsEqual(scalars)
        }
        func isDigit(_ i: Int) -> Bool { i < chars.count && ("0"..."9").contains(chars[i]) }
        func digits(_ i: inout Int) -> Int {
            var n = 0
            while isDigit(i) {
                i += 1
                n += 1
            }
            return n
        }
        for (index, part) in parts.enumerated() {
            switch part {
            case .literal(let text):
                guard hasPrefix(text, from: at) else { return fail("\"\(ProfileText.shown(text))\"") }
                at += text.unicodeScalars.count
            case .echo(let name):
                let text = sent[name] ?? ""
                guard hasPrefix(text, from: at) else { return fail("\"\(ProfileText.shown(text))\" (the \(name) sent)") }
                at += text.unicodeScalars.count
            case .capture(let name, let type, let unit):
                switch type {
                case .integer, .number:
                    var i = at
                    if i < chars.count, chars[i] == "+" || chars[i] == "-" { i += 1 }
                    var mantissa = digits(&i)
                    if type == .number, i < chars.count, chars[i] == "." {
                        i += 1
                        mantissa += digits(&i)
                    }
                    guard mantissa > 0 else { return fail("\(type == .number ? "a number" : "an integer") for {\(name)}") }
                    if type == .number, i < chars.count, chars[i] == "e" || chars[i] == "E" {
                        var j = i + 1
                        if j < chars.count, chars[j] == "+" || chars[j] == "-" { j += 1 }
                        if digits(&j) > 0 { i = j }
                    }
                    let text = String(String.UnicodeScalarView(chars[at..<i]))
                    at = i
                    if type == .integer {
                        guard let v = ProfileNumber.parseInteger(text) else { return fail("an integer in range for {\(name)}") }
                        values[name] = .i64(v)
                    } else {
                        guard var v = Double(text) else { return fail("a number for {\(name)}") }
                        if let unit {
                            var j = at
                            while j < chars.count, chars[j] == " " { j += 1 }
                            if hasPrefix(unit, from: j) {
                                at = j + unit.unicodeScalars.count
                            } else if j < chars.count, let scale = Self.prefixes[chars[j]], hasPrefix(unit, from: j + 1) {
                                v *= scale
                                at = j + 1 + unit.unicodeScalars.count
                            }
                        }
                        values[name] = .f64(v)
                    }
                case .bool:
                    var matched = false
                    for (word, value) in Self.boolWords {
                        let scalars = Array(word.unicodeScalars)
                        guard at + scalars.count <= chars.count else { continue }
                        let candidate = String(String.UnicodeScalarView(chars[at..<(at + scalars.count)])).uppercased()
                        if candidate == word {
                            values[name] = .bool(value)
                            at += scalars.count
                            matched = true
                            break
                        }
                    }
                    guard matched else { return fail("1, 0, ON, OFF, TRUE or FALSE for {\(name)}") }
                case .string:
                    var end = chars.count
                    if index + 1 < parts.count, case .literal(let next) = parts[index + 1] {
                        let needle = Array(next.unicodeScalars)
                        var found: Int?
                        var i = at
                        while i + needle.count <= chars.count {
                            if chars[i] == needle[0], chars[i..<(i + needle.count)].elementsEqual(needle) {
                                found = i
                                break
                            }
                            i += 1
                        }
                        guard let found else { return fail("text then \"\(ProfileText.shown(next))\" for {\(name)}") }
                        end = found
                    }
                    values[name] = .string(String(String.UnicodeScalarView(chars[at..<end])))
                    at = end
                }
            }
        }
        guard at == chars.count else { return fail("the end of the reply") }
        return .success(values)
    }

    /// SI prefixes a unit may carry in a reply.
    static let prefixes: [Unicode.Scalar: Double] = [
        "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9,
    ]
    /// Longest first, so `OFF` is not read as `O`.
    static let boolWords: [(String, Bool)] = [("FALSE", false), ("TRUE", true), ("OFF", false), ("ON", true), ("1", true), ("0", false)]
}

/// What is wrong with the text of a ``ReplyPattern``.
public struct ReplyPatternError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
