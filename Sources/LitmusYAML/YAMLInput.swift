import Foundation
internal import CYaml
import Yams

/// The one bounded way to read YAML: the file read with a size cap, its text checked as
/// UTF-8 (the first bad byte located), and the document checked against ``YAMLLimits`` in a
/// streaming pass over libyaml's events *before* Yams composes it, so aliases are counted by
/// what they expand to without ever expanding them.
///
/// ```swift
/// let text = try YAMLInput.read(path: "stations/bench.yaml", limits: limits)
/// let root = try YAMLInput.compose(text, limits: limits)     // Yams.Node?
/// ```
///
/// Holds no state: the core library and the mock plugin each link their own copy.
public enum YAMLInput {
    /// Reads the file at `path` as UTF-8 text, at most `limits.fileBytes` bytes of it.
    ///
    /// - Throws: ``YAMLInputError``: missing or unreadable (no position), too large (1:1), not
    ///   UTF-8 (the position of the first byte that is not).
    public static func read(path: String, limits: YAMLLimits) throws(YAMLInputError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw YAMLInputError(
                problem: exists ? "the file cannot be read (permissions?)" : "no such file",
                fix: exists ? "make it readable" : "check the path (relative paths start at \(FileManager.default.currentDirectoryPath))")
        }
        defer { try? handle.close() }
        var data = Data()
        do {
            while data.count <= limits.fileBytes {
                guard let chunk = try handle.read(upToCount: limits.fileBytes + 1 - data.count), !chunk.isEmpty else { break }
                data.append(chunk)
            }
        } catch {
            throw YAMLInputError(problem: "the file cannot be read: \(error.localizedDescription)", fix: "name a readable YAML file")
        }
        if data.count > limits.fileBytes {
            throw .exceeded(.fileBytes, limits, at: (1, 1), "the file is longer than \(limits.fileBytes) bytes")
        }
        return try text(Array(data))
    }

    /// The bytes as UTF-8 text.
    ///
    /// - Throws: ``YAMLInputError`` located at the first byte that is not UTF-8.
    public static func text(_ bytes: [UInt8]) throws(YAMLInputError) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        let offset = firstInvalidUTF8Byte(bytes) ?? 0
        let at = position(ofByte: offset, in: bytes)
        throw YAMLInputError(
            line: at.line, column: at.column,
            problem: "the file is not UTF-8 text: byte \(offset) "
                + "(0x\(String(bytes[min(offset, bytes.count - 1)], radix: 16))) is not valid UTF-8",
            fix: "save the file as UTF-8")
    }

    /// Checks `text` against `limits`, then composes it with Yams.
    ///
    /// - Throws: ``YAMLInputError`` for a limit (located where it was passed), or Yams's
    ///   `YamlError` for a syntax error.
    public static func compose(_ text: String, limits: YAMLLimits) throws -> Node? {
        try check(text, limits: limits)
        return try Yams.compose(yaml: text)
    }

    /// Walks libyaml's events of `text` and throws at the first limit passed, or at a reader
    /// error (a control character, bad UTF-8), located by its byte offset. Any other syntax
    /// error ends the walk quietly: composing reports it, at the same place.
    public static func check(_ text: String, limits: YAMLLimits) throws(YAMLInputError) {
        var text = text
        let size = text.utf8.count
        if size > limits.fileBytes {
            throw .exceeded(.fileBytes, limits, at: (1, 1), "the text is longer than \(limits.fileBytes) bytes")
        }
        let result: YAMLInputError? = text.withUTF8 { bytes in
            var walk = EventWalk(limits: limits)
            do throws(YAMLInputError) { try walk.run(bytes) } catch { return error }
            return nil
        }
        if let result { throw result }
    }

    /// The 1-based line and column (in characters) of byte `offset`: lines end at `\n`, `\r\n`
    /// or `\r`, as in YAML.
    public static func position<Bytes: RandomAccessCollection<UInt8>>(
        ofByte offset: Int, in bytes: Bytes
    ) -> (line: Int, column: Int) where Bytes.Index == Int {
        var line = 1
        var column = 1
        var i = bytes.startIndex
        let end = bytes.startIndex + min(offset, bytes.count)
        while i < end {
            let b = bytes[i]
            if b == 0x0A || (b == 0x0D && (i + 1 >= bytes.endIndex || bytes[i + 1] != 0x0A)) {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 && b != 0x0D {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }

    /// The offset of the first byte of `bytes` that does not belong to well-formed UTF-8.
    static func firstInvalidUTF8Byte(_ bytes: [UInt8]) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let length: Int
            let second: ClosedRange<UInt8>
            switch b {
            case 0xC2...0xDF: (length, second) = (2, 0x80...0xBF)
            case 0xE0: (length, second) = (3, 0xA0...0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, second) = (3, 0x80...0xBF)
            case 0xED: (length, second) = (3, 0x80...0x9F)
            case 0xF0: (length, second) = (4, 0x90...0xBF)
            case 0xF1...0xF3: (length, second) = (4, 0x80...0xBF)
            case 0xF4: (length, second) = (4, 0x80...0x8F)
            default: return i
            }
            guard i + 1 < n, second.contains(bytes[i + 1]) else { return i }
            for k in 2..<length where i + k >= n || bytes[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }
}

/// The streaming check: for each anchor, the number of values and bytes of text it stands
/// for, so an alias adds what it would expand to, in constant time.
private struct EventWalk {
    let limits: YAMLLimits
    /// What each anchor of the current document stands for.
    var anchors: [String: (nodes: Int, bytes: Int)] = [:]
    /// The open lists and mappings: their anchor and what they hold so far.
    var open: [(anchor: String?, nodes: Int, bytes: Int)] = []
    var nodes = 0
    var bytes = 0
    var aliases = 0

    init(limits: YAMLLimits) { self.limits = limits }

    mutating func run(_ input: UnsafeBufferPointer<UInt8>) throws(YAMLInputError) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, input.baseAddress, input.count)
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                // A reader error (bad UTF-8, a control character) is located here, by its byte
                // offset; any other syntax error is left to composing, which locates it.
                guard parser.error == YAML_READER_ERROR else { return }
                let offset = Int(parser.problem_offset)
                let at = YAMLInput.position(ofByte: offset, in: input)
                let problem = parser.problem.map { String(cString: $0) } ?? "unreadable text"
                let value = parser.problem_value >= 0 ? " (0x\(String(parser.problem_value, radix: 16)))" : ""
                throw YAMLInputError(
                    line: at.line, column: at.column, problem: "YAML reader: \(problem)\(value) at byte \(offset)",
                    fix: "save the file as UTF-8 text without control characters (tabs and line breaks are fine)")
            }
            defer { yaml_event_delete(&event) }
            let at = (line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return
            case YAML_DOCUMENT_START_EVENT:
                anchors = [:]
                open = []
                (nodes, bytes, aliases) = (0, 0, 0)
            case YAML_SCALAR_EVENT:
                let length = event.data.scalar.length
                if length > limits.scalarBytes {
                    throw .exceeded(.scalarBytes, limits, at: at, "this value is \(length) bytes long")
                }
                try add(nodes: 1, bytes: length, anchor: Self.name(event.data.scalar.anchor), at: at)
            case YAML_ALIAS_EVENT:
                aliases += 1
                if aliases > limits.aliases {
                    throw .exceeded(.aliases, limits, at: at, "this is alias number \(aliases) of the document")
                }
                let name = Self.name(event.data.alias.anchor) ?? ""
                let size = anchors[name] ?? (1, 0)  // an undefined alias: composing reports it
                try add(nodes: size.nodes, bytes: size.bytes, anchor: nil, at: at, alias: name)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if open.count + 1 > limits.depth {
                    throw .exceeded(.depth, limits, at: at, "lists and mappings nest more than \(limits.depth) levels deep here")
                }
                try count(nodes: 1, bytes: 0, at: at)
                let anchor = event.type == YAML_SEQUENCE_START_EVENT
                    ? Self.name(event.data.sequence_start.anchor) : Self.name(event.data.mapping_start.anchor)
                open.append((anchor, 1, 0))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let done = open.popLast() else { return }
                if let anchor = done.anchor { anchors[anchor] = (done.nodes, done.bytes) }
                if !open.isEmpty {
                    open[open.count - 1].nodes += done.nodes
                    open[open.count - 1].bytes += done.bytes
                }
            default:
                break
            }
        }
    }

    /// Adds a scalar or an alias that stands for `nodes` values and `bytes` bytes of text to
    /// the document and to the list or mapping around it.
    private mutating func add(
        nodes count: Int, bytes length: Int, anchor: String?, at: (line: Int, column: Int), alias: String? = nil
    ) throws(YAMLInputError) {
        try self.count(nodes: count, bytes: length, at: at, alias: alias)
        if !open.isEmpty {
            open[open.count - 1].nodes += count
            open[open.count - 1].bytes += length
        }
        if let anchor { anchors[anchor] = (count, length) }
    }

    /// Adds to the document's totals and checks them.
    private mutating func count(nodes count: Int, bytes length: Int, at: (line: Int, column: Int), alias: String? = nil)
        throws(YAMLInputError)
    {
        nodes += count
        bytes += length
        let via = alias.map { ": alias *\($0) stands for \(count) values" } ?? ""
        if nodes > limits.nodes {
            throw .exceeded(
                .nodes, limits, at: at, "the document holds more than \(limits.nodes) values once aliases are expanded\(via)")
        }
        if bytes > limits.textBytes {
            throw .exceeded(
                .textBytes, limits, at: at,
                "the document holds more than \(limits.textBytes) bytes of text once aliases are expanded\(via)")
        }
    }

    private static func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
