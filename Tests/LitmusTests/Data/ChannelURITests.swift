import Foundation
import Testing

@testable import Litmus

@Suite struct ChannelURITests {
    static let session = UUID(uuidString: "1B4E28BA-2FA1-11D2-883F-0016D3CCA427")!
    static let sessionText = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"

    /// (channel id, sample offset, URI text): formatting gives the text and parsing gives back the parts.
    static let table: [(String, Int64?, String)] = [
        ("vout", nil, "channel://vout?session=\(sessionText)"),
        ("vout", 0, "channel://vout?session=\(sessionText)&sample_offset=0"),
        ("psu.ch1.vout", 42, "channel://psu.ch1.vout?session=\(sessionText)&sample_offset=42"),
        ("a-b_c~d", Int64.max, "channel://a-b_c~d?session=\(sessionText)&sample_offset=9223372036854775807"),
        ("psu vout", 7, "channel://psu%20vout?session=\(sessionText)&sample_offset=7"),
        ("température", nil, "channel://temp%C3%A9rature?session=\(sessionText)"),
        ("電圧", 1, "channel://%E9%9B%BB%E5%9C%A7?session=\(sessionText)&sample_offset=1"),
        ("ripple 📈", nil, "channel://ripple%20%F0%9F%93%88?session=\(sessionText)"),
        ("a%b?c&d=e#f:g", nil, "channel://a%25b%3Fc%26d%3De%23f%3Ag?session=\(sessionText)"),
        ("UPPER.lower.123", 3, "channel://UPPER.lower.123?session=\(sessionText)&sample_offset=3"),
    ]

    @Test(arguments: table.indices)
    func formatsAndParses(_ index: Int) throws {
        let (id, offset, text) = Self.table[index]
        let uri = ChannelURI(channelID: id, sessionID: Self.session, sampleOffset: offset)
        #expect(uri.description == text)
        let parsed = try ChannelURI(parsing: text)
        #expect(parsed == uri)
        #expect(parsed.channelID == id)
        #expect(parsed.sampleOffset == offset)
        #expect(ChannelURI(text) == uri)
    }

    @Test func acceptsLowerCaseHexAndUpperCaseSession() throws {
        let uri = try ChannelURI(parsing: "channel://psu%20vout%c3%a9?session=1B4E28BA-2FA1-11D2-883F-0016D3CCA427")
        #expect(uri.channelID == "psu vouté")
        #expect(uri.sessionID == Self.session)
        // The canonical form is upper-case hex and a lower-case session.
        #expect(uri.description == "channel://psu%20vout%C3%A9?session=\(Self.sessionText)")
    }

    @Test func pinnedAndUnpinned() {
        let uri = ChannelURI(channelID: "x", sessionID: Self.session, sampleOffset: 5)
        #expect(uri.unpinned.sampleOffset == nil)
        #expect(uri.unpinned.pinned(to: 9).description == "channel://x?session=\(Self.sessionText)&sample_offset=9")
    }

    /// (text, part of the expected message).
    static let malformed: [(String, String)] = [
        ("", "must start with \"channel://\""),
        ("file://x?session=\(sessionText)", "must start with \"channel://\""),
        ("CHANNEL://x?session=\(sessionText)", "lower case"),
        ("channel:/x?session=\(sessionText)", "lower case, two slashes"),
        ("channel://x", "session is missing"),
        ("channel://?session=\(sessionText)", "channel id is empty"),
        ("channel://a b?session=\(sessionText)", "\" \" at position 11 must be percent-encoded"),
        ("channel://é?session=\(sessionText)", "must be percent-encoded"),
        ("channel://a/b?session=\(sessionText)", "a channel URI has no path"),
        ("channel://a%2Fb?session=\(sessionText)", "contains \"/\""),
        ("channel://..?session=\(sessionText)", "contains \"..\""),
        ("channel://a%00b?session=\(sessionText)", "contains NUL"),
        ("channel://a%0Ab?session=\(sessionText)", "control character U+000A"),
        ("channel://a%zzb?session=\(sessionText)", "bad percent-escape at position 11"),
        ("channel://a%4?session=\(sessionText)", "bad percent-escape"),
        ("channel://a%FF?session=\(sessionText)", "not valid UTF-8"),
        ("channel://x?session=not-a-uuid", "session must be a UUID"),
        ("channel://x?session=\(sessionText.uppercased())x", "session must be a UUID"),
        ("channel://x?sample_offset=1&session=\(sessionText)", "session must be the first query parameter"),
        ("channel://x?session=\(sessionText)&sample_offset=-1", "sample_offset must be a non-negative decimal integer"),
        ("channel://x?session=\(sessionText)&sample_offset=+1", "sample_offset must be"),
        ("channel://x?session=\(sessionText)&sample_offset=007", "without sign or leading zeros"),
        ("channel://x?session=\(sessionText)&sample_offset=", "sample_offset must be"),
        ("channel://x?session=\(sessionText)&sample_offset=1.5", "sample_offset must be"),
        ("channel://x?session=\(sessionText)&sample_offset=9223372036854775808", "sample_offset must be"),
        ("channel://x?session=\(sessionText)&sample_offset=1&sample_offset=2", "sample_offset is given twice"),
        ("channel://x?session=\(sessionText)&session=\(sessionText)", "session is given twice"),
        ("channel://x?session=\(sessionText)&count=3", "unknown query parameter \"count\""),
        ("channel://x?session=\(sessionText)&", "empty query parameter"),
        ("channel://x?session", "has no \"=\""),
        ("channel://x?session=\(sessionText)#frag", "a fragment"),
    ]

    @Test(arguments: malformed.indices)
    func rejectsMalformed(_ index: Int) {
        let (text, expected) = Self.malformed[index]
        #expect(ChannelURI(text) == nil)
        do {
            _ = try ChannelURI(parsing: text)
            Issue.record("parsed \(text.debugDescription)")
        } catch {
            #expect(error.message.contains(expected), "\(error)")
            #expect(error.description.hasPrefix("invalid channel URI \(text.debugDescription): "))
        }
    }

    @Test func idOfMaximumLengthRoundTrips() throws {
        let id = String(repeating: "é", count: 64)  // 128 bytes
        let uri = ChannelURI(channelID: id, sessionID: Self.session)
        #expect(try ChannelURI(parsing: uri.description) == uri)
        let tooLong = ChannelURI(channelID: id + "x", sessionID: Self.session)
        #expect(throws: ChannelURIError.self) { try ChannelURI(parsing: tooLong.description) }
    }
}
