/// A SCPI command pattern in the notation of instrument manuals: `MEASure:VOLTage:DC?`.
///
/// Upper-case letters (and digits, `*`, `_`) of a node are its required short form and the
/// lower-case letters the rest of its long form; a command node must be exactly the short or
/// the long form, in any case, so `MEASure` accepts `MEAS` and `measure` but not `MEASU`.
/// Bracketed nodes are optional (`SYSTem:ERRor[:NEXT]?`). A leading `:` is ignored. Text after
/// the header (separated by whitespace) is a parameter the command must repeat exactly,
/// ignoring case.
struct SCPIPattern: Sendable {
    /// The two accepted spellings of one node, upper-cased.
    struct Node: Sendable {
        let short: String
        let long: String

        init(_ text: Substring) {
            short = String(text.filter { !$0.isLowercase }).uppercased()
            long = text.uppercased()
        }

        func accepts(_ node: String) -> Bool { node == short || node == long }
    }

    /// Consecutive nodes; an optional element is left out as a whole or matched as a whole.
    struct Element: Sendable {
        let nodes: [Node]
        let optional: Bool
    }

    let elements: [Element]
    let isQuery: Bool
    /// The parameter text the command must carry, upper-cased; nil: none.
    let parameters: String?

    /// Parses a pattern; throws a message saying what is wrong with it.
    init(_ text: String) throws(SCPIPatternError) {
        var rest = Substring(text.trimmingSCPIWhitespace())
        var parameters: String?
        if let space = rest.firstIndex(where: \.isSCPIWhitespace) {
            parameters = String(rest[space...].trimmingSCPIWhitespace()).uppercased()
            rest = rest[..<space]
        }
        self.parameters = parameters
        if rest.hasPrefix(":") { rest = rest.dropFirst() }
        isQuery = rest.hasSuffix("?")
        if isQuery { rest = rest.dropLast() }

        var elements: [Element] = []
        var current = Substring()
        var index = rest.startIndex
        func flush() throws(SCPIPatternError) {
            guard !current.isEmpty else { return }
            elements.append(Element(nodes: [try Self.node(current, in: text)], optional: false))
            current = Substring()
        }
        while index < rest.endIndex {
            let c = rest[index]
            switch c {
            case "[":
                try flush()
                guard let close = rest[index...].firstIndex(of: "]") else {
                    throw SCPIPatternError(message: "'[' without ']' in the pattern \"\(text)\"")
                }
                let inner = rest[rest.index(after: index)..<close]
                let names = inner.split(separator: ":")
                guard !names.isEmpty, !inner.contains("[") else {
                    throw SCPIPatternError(message: "bad optional node \"[\(inner)]\" in the pattern \"\(text)\"")
                }
                var nodes: [Node] = []
                for name in names { nodes.append(try Self.node(name, in: text)) }
                elements.append(Element(nodes: nodes, optional: true))
                index = rest.index(after: close)
                continue
            case ":":
                guard !current.isEmpty || elements.last?.optional == true else {
                    throw SCPIPatternError(message: "empty node in the pattern \"\(text)\"")
                }
                try flush()
            case "]":
                throw SCPIPatternError(message: "']' without '[' in the pattern \"\(text)\"")
            default:
                current.append(c)
            }
            index = rest.index(after: index)
        }
        try flush()
        guard !elements.isEmpty else { throw SCPIPatternError(message: "the pattern \"\(text)\" has no command header") }
        self.elements = elements
    }

    private static func node(_ text: Substring, in pattern: String) throws(SCPIPatternError) -> Node {
        guard !text.isEmpty, text.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "*" || $0 == "_" })
        else {
            throw SCPIPatternError(
                message: "bad node \"\(text)\" in the pattern \"\(pattern)\": nodes are letters, digits, '*' and '_'")
        }
        return Node(text)
    }

    /// Whether the pattern's parameter is the placeholder `{channels}`: the command carries an
    /// SCPI channel list such as `(@101,102:105)` (see ``SCPIChannelList``).
    var takesChannelList: Bool { parameters == "{CHANNELS}" }

    /// Whether `command` has this pattern's header (and query-ness), whatever its parameters.
    func matchesHeader(_ command: SCPICommand) -> Bool {
        command.isQuery == isQuery && match(element: 0, node: 0, command.nodes)
    }

    /// Whether `command` matches the header and carries exactly this pattern's parameters.
    func matches(_ command: SCPICommand) -> Bool {
        matchesHeader(command) && (parameters ?? "") == command.parameters.uppercased()
    }

    private func match(element: Int, node: Int, _ nodes: [String]) -> Bool {
        guard element < elements.count else { return node == nodes.count }
        let current = elements[element]
        if current.optional, match(element: element + 1, node: node, nodes) { return true }
        guard node + current.nodes.count <= nodes.count else { return false }
        for (offset, expected) in current.nodes.enumerated() where !expected.accepts(nodes[node + offset]) {
            return false
        }
        return match(element: element + 1, node: node + current.nodes.count, nodes)
    }
}

/// An SCPI channel list: `(@101,102,105:108)`. Ranges whose ends are both unsigned integers
/// expand, ascending or descending (`(@3:1)` is 3, 2, 1); integers are compared by value
/// (`0101` is `101`), any other entry (`1!101`, `CH1`) as written, upper-cased.
enum SCPIChannelList {
    /// The largest number of channels one list may name.
    static let maximumCount = 10_000

    /// The channels of `text`, or nil when it is not a channel list (no `(@...)`, an empty
    /// entry, a range of more than ``maximumCount`` channels).
    static func parse(_ text: Substring) -> [String]? {
        let trimmed = text.trimmingSCPIWhitespace()
        guard trimmed.hasPrefix("(@"), trimmed.hasSuffix(")") else { return nil }
        let body = trimmed.dropFirst(2).dropLast()
        if body.allSatisfy(\.isSCPIWhitespace) { return [] }
        var channels: [String] = []
        for entry in body.split(separator: ",", omittingEmptySubsequences: false) {
            let item = entry.trimmingSCPIWhitespace().uppercased()
            guard !item.isEmpty else { return nil }
            let ends = item.split(separator: ":", omittingEmptySubsequences: false)
            if ends.count == 2, let low = UInt32(ends[0].trimmingSCPIWhitespace()),
                let high = UInt32(ends[1].trimmingSCPIWhitespace())
            {
                let count = Int(low > high ? low - high : high - low) + 1
                guard channels.count + count <= maximumCount else { return nil }
                let range = low <= high ? Array(low...high) : Array((high...low).reversed())
                channels += range.map(String.init)
            } else {
                guard channels.count < maximumCount else { return nil }
                channels.append(UInt32(item).map(String.init) ?? item)
            }
        }
        return channels
    }
}

/// A pattern that cannot be parsed.
struct SCPIPatternError: Error {
    let message: String
}

/// One received command (a part of a compound message), split into header and parameters.
struct SCPICommand {
    /// The header nodes, upper-cased, without the leading `:` and the `?`.
    let nodes: [String]
    let isQuery: Bool
    /// Everything after the header and its whitespace, as sent.
    let parameters: Substring

    init(_ text: Substring) {
        var header = text.trimmingSCPIWhitespace()
        var parameters = Substring()
        if let space = header.firstIndex(where: \.isSCPIWhitespace) {
            parameters = header[space...].trimmingSCPIWhitespace()
            header = header[..<space]
        }
        self.parameters = parameters
        if header.hasPrefix(":") { header = header.dropFirst() }
        isQuery = header.hasSuffix("?")
        if isQuery { header = header.dropLast() }
        nodes = header.split(separator: ":", omittingEmptySubsequences: false).map { $0.uppercased() }
    }

    /// Splits a program message on `;` outside quoted strings: `A;B?;C?` -> `A`, `B?`, `C?`.
    static func split(_ message: String) -> [Substring] {
        var parts: [Substring] = []
        var start = message.startIndex
        var quote: Character?
        var index = message.startIndex
        while index < message.endIndex {
            let c = message[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == ";" {
                parts.append(message[start..<index])
                start = message.index(after: index)
            }
            index = message.index(after: index)
        }
        parts.append(message[start...])
        return parts
    }
}

extension Character {
    /// Space, tab, CR or LF: the whitespace SCPI parsers skip.
    var isSCPIWhitespace: Bool { self == " " || self == "\t" || self == "\r" || self == "\n" || self == "\r\n" }
}

extension StringProtocol {
    /// The text without leading and trailing SCPI whitespace.
    func trimmingSCPIWhitespace() -> SubSequence {
        guard let first = firstIndex(where: { !$0.isSCPIWhitespace }),
            let last = lastIndex(where: { !$0.isSCPIWhitespace })
        else { return self[endIndex...] }
        return self[first...last]
    }
}
