/// Departures from USBTMC 1.0 that a device needs tolerated. Each is a separate flag so
/// they can be combined per device (see ``USBTMCQuirkTable``) or set with the `quirks` open
/// option, whose syntax ``init(parsing:)`` reads and ``description`` writes.
public struct USBTMCQuirks: Equatable, Sendable, CustomStringConvertible {
    /// `header_once`: the device sends a header only at the start of a response message;
    /// the rest of a long response comes as raw Bulk-IN data, and a new request in the middle
    /// would restart it. The session then sends one request per message and reads raw data
    /// until the announced (or block) length is reached. Off: a header in the first packet of
    /// every transfer, as the specification says.
    public var headerOnlyInFirstTransfer = false
    /// `trust_block_length`: the device's EOM cannot be trusted inside an IEEE 488.2
    /// definite-length block (`#<n><length><data>`) at the start of a response: END is only
    /// reported once the whole block has arrived.
    public var trustBlockLength = false
    /// `max_transfer=<n>`: the largest TransferSize the device handles, in both directions
    /// (requests ask for at most this much; commands are split into transfers this long).
    public var maxTransferSize: Int?
    /// `any_msgid`: accept replies whose MsgID is not DEV_DEP_MSG_IN (2).
    public var acceptAnyReplyMessageID = false
    /// `ignore_btag`: accept replies whose bTag does not match the request (stale bTags).
    public var ignoreReplyTag = false

    public init(
        headerOnlyInFirstTransfer: Bool = false, trustBlockLength: Bool = false, maxTransferSize: Int? = nil,
        acceptAnyReplyMessageID: Bool = false, ignoreReplyTag: Bool = false
    ) {
        self.headerOnlyInFirstTransfer = headerOnlyInFirstTransfer
        self.trustBlockLength = trustBlockLength
        self.maxTransferSize = maxTransferSize
        self.acceptAnyReplyMessageID = acceptAnyReplyMessageID
        self.ignoreReplyTag = ignoreReplyTag
    }

    /// No quirk: the device follows the specification.
    public static let none = USBTMCQuirks()

    public var isNone: Bool { self == .none }

    /// Parses `none` or a comma-separated list of `header_once`, `trust_block_length`,
    /// `max_transfer=<bytes>`, `any_msgid`, `ignore_btag`.
    public init(parsing text: String) throws {
        self.init()
        let items = text.split(separator: ",").map { $0.trimmingSpaces().lowercased() }.filter { !$0.isEmpty }
        if items == ["none"] || items.isEmpty { return }
        for item in items {
            switch item {
            case "header_once": headerOnlyInFirstTransfer = true
            case "trust_block_length": trustBlockLength = true
            case "any_msgid": acceptAnyReplyMessageID = true
            case "ignore_btag": ignoreReplyTag = true
            default:
                if item.hasPrefix("max_transfer="), let n = Int(item.dropFirst("max_transfer=".count)), n >= 1,
                    n <= 1 << 30
                {
                    maxTransferSize = n
                } else {
                    throw USBTMCError(
                        .invalidArgument,
                        "unknown USBTMC quirk \"\(item)\"; use none, or a comma-separated list of header_once, "
                            + "trust_block_length, max_transfer=<bytes 1...1073741824>, any_msgid, ignore_btag")
                }
            }
        }
    }

    public var description: String {
        var items: [String] = []
        if headerOnlyInFirstTransfer { items.append("header_once") }
        if trustBlockLength { items.append("trust_block_length") }
        if let n = maxTransferSize { items.append("max_transfer=\(n)") }
        if acceptAnyReplyMessageID { items.append("any_msgid") }
        if ignoreReplyTag { items.append("ignore_btag") }
        return items.isEmpty ? "none" : items.joined(separator: ",")
    }
}

/// One row of the quirk table.
public struct USBTMCQuirkEntry: Sendable, Equatable {
    public var vendorID: UInt16
    public var productID: UInt16
    /// The instrument family, for logs.
    public var model: String
    public var quirks: USBTMCQuirks
    /// Where the quirk is described, and whether it was checked on hardware.
    public var note: String
    /// Checked on the instrument itself. Only verified entries apply on their own; the others
    /// are opt-in (the `quirks` open option), because a quirk a device does not have breaks it:
    /// `header_once` on a device that follows the specification times out on every reply
    /// longer than one transfer.
    public var verified: Bool

    /// The ids as `0x1AB1:0x04CE`.
    public var ids: String {
        "0x" + String(vendorID, radix: 16, uppercase: true).leftPadded(4) + ":0x"
            + String(productID, radix: 16, uppercase: true).leftPadded(4)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Devices known (or reported) to need quirks, by vendor and product id.
///
/// The entries below are ILLUSTRATIVE and unverified: they come from behaviour reported in
/// public issue trackers and in other USBTMC hosts' source (python-usbtmc's Rigol handling,
/// pyvisa-py issues #20 and #468), not from tests on the instruments themselves. So they are
/// never applied on their own: the session logs the suggestion, `litmus drivers info usbtmc`
/// lists them, and a user whose instrument does misbehave opts in with the `quirks` open option.
public enum USBTMCQuirkTable {
    public static let entries: [USBTMCQuirkEntry] = [
        USBTMCQuirkEntry(
            vendorID: 0x1AB1, productID: 0x04CE, model: "Rigol DS1000Z series",
            quirks: USBTMCQuirks(headerOnlyInFirstTransfer: true, trustBlockLength: true),
            note: "reported: header only at the start of a long response, EOM set inside IEEE blocks "
                + "(python-usbtmc's Rigol handling); not verified on hardware by Litmus",
            verified: false),
        USBTMCQuirkEntry(
            vendorID: 0x1AB1, productID: 0x0588, model: "Rigol DS1000D/E series",
            quirks: USBTMCQuirks(headerOnlyInFirstTransfer: true, trustBlockLength: true, acceptAnyReplyMessageID: true),
            note: "reported: header only at the start of a response, odd MsgIDs in replies (pyvisa-py #20); "
                + "not verified on hardware by Litmus",
            verified: false),
    ]

    /// The table as text for `litmus drivers info` (the help of the `quirks` option).
    public static var summary: String {
        entries.map { e in
            "\(e.ids) \(e.model): \(e.quirks)" + (e.verified ? " (verified, on by default)" : " (unverified, opt-in)")
        }.joined(separator: "; ")
    }

    /// The entry for a vendor and product id, if any.
    public static func entry(vendorID: UInt16, productID: UInt16) -> USBTMCQuirkEntry? {
        entries.first { $0.vendorID == vendorID && $0.productID == productID }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
