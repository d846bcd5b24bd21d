import Foundation

/// A value of a pyvisa-sim property: Python's `int`, `float` or `str`, kept apart because
/// pyvisa-sim's answers depend on the type (`"{:d}"` formats an int but fails on the text "0").
enum PythonValue: Sendable, Equatable {
    case int(Int64)
    case float(Double)
    case str(String)

    /// Python's `str(value)`: floats in their shortest round-trip form ("1.0", "5.5", "1e-07").
    var text: String {
        switch self {
        case .int(let v): String(v)
        case .float(let v): Self.repr(v)
        case .str(let s): s
        }
    }

    /// Python's `repr` of a float: the shortest digits that read back as `v`, in fixed notation
    /// for exponents -4 to 15 ("100.0", "0.0001"), else in exponent form ("1e-05", "1.5e+16").
    static func repr(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        let sign = v.sign == .minus ? "-" : ""
        let m = Swift.abs(v)
        if m == 0 { return sign + "0.0" }
        var digits = "", exponent = 0
        for precision in 0...17 {
            let s = String(format: "%.\(precision)e", m)
            guard Double(s) == m || precision == 17 else { continue }
            let parts = s.split(separator: "e")
            digits = parts[0].replacingOccurrences(of: ".", with: "")
            exponent = Int(parts[1]) ?? 0
            break
        }
        while digits.count > 1 && digits.hasSuffix("0") { digits.removeLast() }
        if exponent >= 16 || exponent < -4 {
            let rest = digits.dropFirst()
            let e = String(Swift.abs(exponent))
            return sign + String(digits.prefix(1)) + (rest.isEmpty ? "" : "." + rest) + "e" + (exponent < 0 ? "-" : "+")
                + (e.count < 2 ? "0" + e : e)
        }
        if exponent < 0 { return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits }
        if digits.count <= exponent + 1 { return sign + digits + String(repeating: "0", count: exponent + 1 - digits.count) + ".0" }
        return sign + digits.prefix(exponent + 1) + "." + digits.dropFirst(exponent + 1)
    }

    /// Python's `int(value)`, `float(value)` or `str(value)` (the `type` of a property's specs);
    /// nil where Python raises ValueError.
    func converted(to type: PythonType) -> PythonValue? {
        switch (type, self) {
        case (.str, _): return .str(text)
        case (.int, .int): return self
        case (.int, .float(let v)): return v.isFinite ? Int64(exactly: v.rounded(.towardZero)).map(PythonValue.int) : nil
        case (.int, .str(let s)):
            let t = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
            return Int64(t.hasPrefix("+") ? String(t.dropFirst()) : t).map(PythonValue.int)
        case (.float, .int(let v)): return .float(Double(v))
        case (.float, .float): return self
        case (.float, .str(let s)):
            let t = s.trimmingCharacters(in: .whitespaces).lowercased()
            switch t {
            case "inf", "+inf", "infinity", "+infinity": return .float(.infinity)
            case "-inf", "-infinity": return .float(-.infinity)
            case "nan", "+nan", "-nan": return .float(.nan)
            default: return Double(t.replacingOccurrences(of: "_", with: "")).map(PythonValue.float)
            }
        }
    }

    /// Python's `<` between values of one type; nil when Python cannot compare them.
    func less(than other: PythonValue) -> Bool? {
        switch (self, other) {
        case (.int(let a), .int(let b)): a < b
        case (.float(let a), .float(let b)): a < b
        case (.int(let a), .float(let b)): Double(a) < b
        case (.float(let a), .int(let b)): a < Double(b)
        case (.str(let a), .str(let b)): a < b
        default: nil
        }
    }

    /// Python's `==` (an int equals the float of the same value; text never equals a number).
    func same(as other: PythonValue) -> Bool {
        switch (self, other) {
        case (.int(let a), .float(let b)): Double(a) == b
        case (.float(let a), .int(let b)): a == Double(b)
        default: self == other
        }
    }
}

/// The `type` of a pyvisa-sim property's specs.
enum PythonType: String, Sendable {
    case int, float, str
}

/// Why a reply template could not be rendered, as Python's `str.format` would raise.
struct PythonFormatError: Error {
    let message: String
}

/// A pyvisa-sim reply template: text with Python `str.format` fields (`"{:+.8E}"`, `"{:d}"`,
/// `"{}"`), rendered the way Python renders it, and read back the way the `stringparser`
/// package reads a setter's command (`"!FREQ {:.2f}"` matches "!FREQ 50.00" and yields 50.0).
struct PythonFormat: Sendable {
    /// Literal text, or a replacement field.
    enum Piece: Sendable {
        case text(String)
        /// A field: its name (empty for `{}` / `{:spec}`) and its format spec.
        case field(name: String, spec: String)
    }

    let template: String
    let pieces: [Piece]

    /// The widest field and the most decimals a template may ask for.
    static let maximumWidth = 10_000

    /// Splits `template` into text and fields; `{{` and `}}` are literal braces.
    init(_ template: String) throws(PythonFormatError) {
        self.template = template
        var pieces: [Piece] = []
        var text = ""
        var i = template.startIndex
        while i < template.endIndex {
            let c = template[i]
            let next = template.index(after: i)
            if c == "{" {
                if next < template.endIndex, template[next] == "{" {
                    text.append("{"); i = template.index(after: next); continue
                }
                guard let close = template[next...].firstIndex(of: "}") else {
                    throw PythonFormatError(message: "\"\(template)\" has a '{' without its '}'")
                }
                let body = template[next..<close]
                if !text.isEmpty { pieces.append(.text(text)); text = "" }
                if let colon = body.firstIndex(of: ":") {
                    pieces.append(.field(name: String(body[..<colon]), spec: String(body[body.index(after: colon)...])))
                } else {
                    pieces.append(.field(name: String(body), spec: ""))
                }
                i = template.index(after: close)
            } else if c == "}" {
                guard next < template.endIndex, template[next] == "}" else {
                    throw PythonFormatError(message: "\"\(template)\" has a '}' without its '{'")
                }
                text.append("}"); i = template.index(after: next)
            } else {
                text.append(c); i = next
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        self.pieces = pieces
    }

    /// `template.format(value, **named)`: every unnamed field formats `value`.
    func render(_ value: PythonValue?, named: [String: String] = [:]) throws(PythonFormatError) -> String {
        var out = ""
        var position = 0
        for piece in pieces {
            switch piece {
            case .text(let s): out += s
            case .field(let name, let spec):
                if name.isEmpty || Int(name) != nil {
                    let index = Int(name) ?? position
                    position += 1
                    guard index == 0, let value else {
                        throw PythonFormatError(message: "\"\(template)\" has more fields than values (IndexError in Python)")
                    }
                    out += try Self.format(value, spec)
                } else {
                    guard let text = named[name] else {
                        throw PythonFormatError(message: "\"\(template)\" names a field {\(name)} that has no value (KeyError in Python)")
                    }
                    out += try Self.format(.str(text), spec)
                }
            }
        }
        return out
    }

    /// `template.format(**named)` as pyvisa-sim specialises a channel's queries (`"CH {ch_id}:VOLT?"`
    /// for channel 2 is `"CH 2:VOLT?"`); the template as it is when it cannot be formatted so.
    static func specialise(_ template: String, _ named: [String: String]) -> String {
        guard !named.isEmpty, template.contains("{") else { return template }
        return (try? PythonFormat(template).render(nil, named: named)) ?? template
    }

    // MARK: - Rendering

    /// Python's `format(value, spec)` for int, float and str values.
    static func format(_ value: PythonValue, _ spec: String) throws(PythonFormatError) -> String {
        guard let parsed = FormatSpec(spec) else {
            throw PythonFormatError(message: "invalid format spec \"\(spec)\" (at most \(maximumWidth) for width and precision)")
        }
        var body: String
        var negative = false
        switch value {
        case .str(let s):
            guard parsed.type == nil || parsed.type == "s" else {
                throw PythonFormatError(message: "the text \"\(s)\" cannot be formatted with \"{:\(spec)}\" (ValueError in Python); give the property `specs: {type: int}` or `float`")
            }
            body = parsed.precision.map { String(s.prefix($0)) } ?? s
            return pad(body, parsed, numeric: false, negative: false)
        case .int(let v):
            switch parsed.type {
            case nil, "d", "n":
                negative = v < 0
                body = String(v.magnitude)
            case "x", "X", "o", "b":
                negative = v < 0
                let radix = parsed.type == "o" ? 8 : parsed.type == "b" ? 2 : 16
                body = String(v.magnitude, radix: radix, uppercase: parsed.type == "X")
            case "e", "E", "f", "F", "g", "G", "%":
                return try format(.float(Double(v)), spec)
            default:
                throw PythonFormatError(message: "the integer \(v) cannot be formatted with \"{:\(spec)}\" (ValueError in Python)")
            }
        case .float(let v):
            negative = v.sign == .minus && !v.isNaN
            let m = Swift.abs(v)
            switch parsed.type {
            case nil:
                body = parsed.precision.map { cFormat(m, "g", $0) } ?? repr(m)
            case "f", "F", "e", "E":
                body = cFormat(m, parsed.type!, parsed.precision ?? 6)
            case "g", "G", "n":
                body = cFormat(m, parsed.type == "G" ? "G" : "g", parsed.precision ?? 6)
            case "%":
                body = cFormat(m * 100, "f", parsed.precision ?? 6) + "%"
            default:
                throw PythonFormatError(message: "the number \(repr(v)) cannot be formatted with \"{:\(spec)}\" (ValueError in Python); give the property `specs: {type: int}`")
            }
        }
        if parsed.grouping { body = group(body) }
        return pad(body, parsed, numeric: true, negative: negative)
    }

    private static func repr(_ v: Double) -> String { PythonValue.repr(v) }

    private static func cFormat(_ v: Double, _ type: Character, _ precision: Int) -> String {
        if v.isInfinite { return type.isUppercase ? "INF" : "inf" }
        if v.isNaN { return type.isUppercase ? "NAN" : "nan" }
        return String(format: "%.\(precision)\(type)", v)
    }

    private static func group(_ body: String) -> String {
        let integer = body.prefix(while: \.isNumber)
        guard integer.count > 3 else { return body }
        var out = ""
        for (i, c) in integer.enumerated() {
            if i > 0 && (integer.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out + body.dropFirst(integer.count)
    }

    private static func pad(_ body: String, _ spec: FormatSpec, numeric: Bool, negative: Bool) -> String {
        var sign = ""
        if numeric {
            if negative { sign = "-" } else if spec.sign == "+" { sign = "+" } else if spec.sign == " " { sign = " " }
        }
        let width = spec.width ?? 0
        let length = sign.count + body.count
        guard length < width else { return sign + body }
        let fill = String(repeating: String(spec.fill ?? (spec.zero && spec.align == nil ? "0" : " ")), count: width - length)
        switch spec.align ?? (spec.zero && numeric ? "=" : numeric ? ">" : "<") {
        case "<": return sign + body + fill
        case "^":
            let left = fill.prefix(fill.count / 2)
            return String(left) + sign + body + fill.dropFirst(left.count)
        case "=": return sign + fill + body
        default: return fill + sign + body
        }
    }

    /// `[[fill]align][sign][#][0][width][,][.precision][type]`
    private struct FormatSpec {
        var fill: Character?
        var align: Character?
        var sign: Character?
        var zero = false
        var width: Int?
        var grouping = false
        var precision: Int?
        var type: Character?

        init?(_ spec: String) {
            var s = Substring(spec)
            let aligns: Set<Character> = ["<", ">", "=", "^"]
            if s.count >= 2, aligns.contains(s[s.index(after: s.startIndex)]) {
                fill = s.first; align = s[s.index(after: s.startIndex)]; s = s.dropFirst(2)
            } else if let c = s.first, aligns.contains(c) {
                align = c; s = s.dropFirst()
            }
            if let c = s.first, "+- ".contains(c) { sign = c; s = s.dropFirst() }
            if s.first == "#" { s = s.dropFirst() }
            if s.first == "0" { zero = true; s = s.dropFirst() }
            let digits = s.prefix(while: \.isNumber)
            if !digits.isEmpty {
                // A width bounds the reply's size: a template cannot ask for gigabytes.
                guard let value = Int(digits), value <= PythonFormat.maximumWidth else { return nil }
                width = value; s = s.dropFirst(digits.count)
            }
            if s.first == "," { grouping = true; s = s.dropFirst() }
            if s.first == "." {
                s = s.dropFirst()
                let p = s.prefix(while: \.isNumber)
                guard !p.isEmpty, let value = Int(p), value <= PythonFormat.maximumWidth else { return nil }
                precision = value; s = s.dropFirst(p.count)
            }
            if let c = s.first {
                guard "bcdeEfFgGnosxX%".contains(c), s.count == 1 else { return nil }
                type = c
            }
        }
    }

    // MARK: - Reading back (stringparser)

    /// The pattern that reads a command written with this template: the literal text exactly,
    /// each field by its type (`d` digits, `f`/`e`/`g` a number with at least two digits, as
    /// stringparser requires, `s` or none any text).
    func parser() throws(PythonFormatError) -> PythonFormatParser {
        var regex = "^"
        var fields: [(name: String, type: Character?)] = []
        for piece in pieces {
            switch piece {
            case .text(let s): regex += NSRegularExpression.escapedPattern(for: s)
            case .field(let name, let spec):
                guard let parsed = FormatSpec(spec) else { throw PythonFormatError(message: "invalid format spec \"\(spec)\" in \"\(template)\"") }
                var body: String
                switch parsed.type {
                case nil, "s": body = ".*?"
                case "d": body = "[0-9]+?"
                case "b": body = "[0-1]+?"
                case "o": body = "[0-7]+?"
                case "x": body = "[0-9a-f]+?"
                case "X": body = "[0-9A-F]+?"
                case "e": body = "[0-9]+\\.?[0-9]+(?:e[-+]?[0-9]+)?"
                case "E": body = "[0-9]+\\.?[0-9]+(?:E[-+]?[0-9]+)?"
                case "f", "F": body = "[0-9]+\\.?[0-9]+"
                case "g", "G": body = "[0-9]+\\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
                default: throw PythonFormatError(message: "a setter cannot read the type '\(parsed.type!)' in \"\(template)\"")
                }
                switch parsed.sign {
                case "+": body = "[-+]" + body
                case " ": body = "[- ]" + body
                default: body = "[-]?" + body
                }
                regex += "(" + body + ")"
                fields.append((name, parsed.type))
            }
        }
        do {
            return PythonFormatParser(regex: try NSRegularExpression(pattern: regex + "$", options: [.dotMatchesLineSeparators]), fields: fields)
        } catch {
            throw PythonFormatError(message: "\"\(template)\" cannot be read back: \(error)")
        }
    }
}

/// Reads a command written with a ``PythonFormat`` template (see ``PythonFormat/parser()``).
struct PythonFormatParser: @unchecked Sendable {
    // NSRegularExpression is immutable and thread-safe.
    let regex: NSRegularExpression
    let fields: [(name: String, type: Character?)]

    /// The values of the fields, by name (unnamed fields "0", "1"...), or nil when `text` does
    /// not match.
    func parse(_ text: String) -> [String: PythonValue]? {
        let ns = text as NSString
        guard let match = regex.firstMatch(in: text, range: NSRange(location: 0, length: ns.length)) else { return nil }
        var values: [String: PythonValue] = [:]
        var position = 0
        for (i, field) in fields.enumerated() {
            let raw = ns.substring(with: match.range(at: i + 1))
            let value: PythonValue
            switch field.type {
            case nil, "s": value = .str(raw)
            case "d": guard let v = Int64(raw) else { return nil }; value = .int(v)
            case "b", "o", "x", "X":
                let radix = field.type == "b" ? 2 : field.type == "o" ? 8 : 16
                guard let v = Int64(raw, radix: radix) else { return nil }
                value = .int(v)
            default:
                guard let v = Double(raw.replacingOccurrences(of: " ", with: "")) else { return nil }
                value = .float(v)
            }
            if field.name.isEmpty { values[String(position)] = value; position += 1 } else { values[field.name] = value }
        }
        return values
    }
}
