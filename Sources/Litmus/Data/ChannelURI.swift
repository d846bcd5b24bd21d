import Foundation

/// A reference to a channel's samples, as results store it:
/// `channel://<percent-encoded channel id>?session=<uuid>[&sample_offset=<n>]`.
///
/// Without `sample_offset` the URI names every sample of the channel in the session; with it,
/// the one sample at that offset (a scalar, one array or one waveform). Resolve it with
/// ``ChannelStore/read(dataDir:uri:tolerateCorruption:)``.
///
/// ```swift
/// let uri = try ChannelURI(parsing: "channel://psu%20vout?session=1b4e28ba-2fa1-11d2-883f-0016d3cca427&sample_offset=7")
/// uri.channelID      // "psu vout"
/// uri.sampleOffset   // 7
/// uri.description    // the same text back
/// ```
///
/// The channel id is percent-encoded byte by byte (UTF-8): only the unreserved characters of
/// RFC 3986 (`A-Z a-z 0-9 - . _ ~`) stay as they are, every other byte becomes `%XX` with
/// upper-case hex digits. The session is written in lower case. The parser is strict: the
/// scheme is lower-case `channel://`, `session` comes first, `sample_offset` is the only other
/// parameter, and anything else is an error that says what is wrong.
public struct ChannelURI: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// `channel`.
    public static let scheme = "channel"

    /// The channel id, decoded.
    public var channelID: String
    /// The session the samples belong to.
    public var sessionID: UUID
    /// The one sample referred to, or nil for all of them.
    public var sampleOffset: Int64?

    /// A URI for a channel's samples; the id is not checked here (the store checks ids).
    public init(channelID: String, sessionID: UUID, sampleOffset: Int64? = nil) {
        self.channelID = channelID
        self.sessionID = sessionID
        self.sampleOffset = sampleOffset
    }

    /// Parses a URI, or returns nil; ``init(parsing:)`` says why.
    public init?(_ description: String) {
        guard let uri = try? ChannelURI(parsing: description) else { return nil }
        self = uri
    }

    /// Parses `channel://<id>?session=<uuid>[&sample_offset=<n>]`.
    ///
    /// - Throws: ``ChannelURIError`` naming the problem and its position.
    public init(parsing text: String) throws(ChannelURIError) {
        let bytes = Array(text.utf8)
        func fail(_ message: String) -> ChannelURIError { ChannelURIError(uri: text, message: message) }

        let prefix = Array("channel://".utf8)
        guard bytes.starts(with: prefix) else {
            if let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
                String(decoding: bytes[..<colon], as: UTF8.self).lowercased() == "channel"
            {
                throw fail("the URI must start with \"channel://\" (lower case, two slashes)")
            }
            throw fail("not a channel URI: it must start with \"channel://\"")
        }
        if let hash = bytes.firstIndex(of: UInt8(ascii: "#")) {
            throw fail("a fragment (\"#\" at position \(hash)) is not allowed")
        }
        guard let question = bytes.firstIndex(of: UInt8(ascii: "?")) else {
            throw fail("the session is missing: expected \"?session=<uuid>\" after the channel id")
        }

        // The channel id: unreserved characters and %XX escapes only.
        var idBytes: [UInt8] = []
        var i = prefix.count
        guard i < question else { throw fail("the channel id is empty") }
        while i < question {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < question, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2])
                else {
                    throw fail("bad percent-escape at position \(i): \"%\" must be followed by two hex digits")
                }
                idBytes.append(hi << 4 | lo)
                i += 3
            } else if Self.isUnreserved(b) {
                idBytes.append(b)
                i += 1
            } else if b == UInt8(ascii: "/") {
                throw fail("\"/\" at position \(i): a channel URI has no path (a \"/\" in the id is written %2F, and is not allowed in channel ids)")
            } else {
                let shown = b < 0x80 ? "\"\(Character(Unicode.Scalar(b)))\"" : "byte 0x\(String(b, radix: 16, uppercase: true))"
                throw fail("\(shown) at position \(i) must be percent-encoded (only A-Z a-z 0-9 - . _ ~ and %XX may appear in the channel id)")
            }
        }
        guard let id = String(validating: idBytes, as: UTF8.self) else {
            throw fail("the percent-decoded channel id is not valid UTF-8")
        }
        if let problem = ChannelID.problem(with: id) { throw fail(problem) }

        // The query: session first, then an optional sample_offset.
        let query = bytes[(question + 1)...]
        let parameters = query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false)
        var session: UUID?
        var offset: Int64?
        for (index, parameter) in parameters.enumerated() {
            let text = String(decoding: parameter, as: UTF8.self)
            guard let equals = parameter.firstIndex(of: UInt8(ascii: "=")) else {
                throw fail(text.isEmpty ? "empty query parameter" : "query parameter \"\(text)\" has no \"=\"")
            }
            let name = String(decoding: parameter[..<equals], as: UTF8.self)
            let value = String(decoding: parameter[(equals + 1)...], as: UTF8.self)
            switch name {
            case "session":
                guard index == 0 else {
                    throw fail(session == nil ? "session must be the first query parameter" : "session is given twice")
                }
                guard value.utf8.count == 36, let uuid = UUID(uuidString: value) else {
                    throw fail("session must be a UUID like 1b4e28ba-2fa1-11d2-883f-0016d3cca427, not \"\(value)\"")
                }
                session = uuid
            case "sample_offset":
                guard index > 0 else { throw fail("session must be the first query parameter") }
                guard offset == nil else { throw fail("sample_offset is given twice") }
                guard let n = Self.parseOffset(value) else {
                    throw fail("sample_offset must be a non-negative decimal integer without sign or leading zeros, not \"\(value)\"")
                }
                offset = n
            default:
                throw fail("unknown query parameter \"\(name)\" (allowed: session, sample_offset)")
            }
        }
        guard let session else { throw fail("the session is missing: expected \"?session=<uuid>\"") }
        self.init(channelID: id, sessionID: session, sampleOffset: offset)
    }

    /// The URI text: `channel://<percent-encoded id>?session=<uuid>[&sample_offset=<n>]`.
    public var description: String {
        var out = "channel://"
        out += Self.percentEncode(channelID)
        out += "?session="
        out += sessionID.uuidString.lowercased()
        if let sampleOffset { out += "&sample_offset=\(sampleOffset)" }
        return out
    }

    /// The same channel and session, every sample.
    public var unpinned: ChannelURI { ChannelURI(channelID: channelID, sessionID: sessionID) }

    /// The same channel and session, pinned to one sample.
    public func pinned(to sampleOffset: Int64) -> ChannelURI {
        ChannelURI(channelID: channelID, sessionID: sessionID, sampleOffset: sampleOffset)
    }

    /// Percent-encodes every byte that is not an unreserved character (RFC 3986 section 2.3).
    public static func percentEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            if isUnreserved(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    private static func parseOffset(_ text: String) -> Int64? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard digits.count == 1 || digits[0] != 0x30 else { return nil }
        return Int64(text)
    }
}

private func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Why a text is not a channel URI.
public struct ChannelURIError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The text that was parsed.
    public var uri: String
    /// What is wrong with it.
    public var message: String

    public init(uri: String, message: String) {
        self.uri = uri
        self.message = message
    }

    public var description: String { "invalid channel URI \(uri.debugDescription): \(message)" }
}
