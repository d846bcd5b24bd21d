/// The bTag sequences of one USBTMC session.
///
/// Bulk messages carry a bTag of 1...255 that goes up by one per transfer and wraps from
/// 255 to 1, never 0. USB488 READ_STATUS_BYTE carries its own bTag of 2...127 (1 is
/// reserved for SRQ notifications on interrupt-IN), wrapping from 127 to 2.
public struct USBTMCTagCounter: Sendable {
    /// The last bulk bTag handed out (0 before the first).
    public private(set) var lastBulkTag: UInt8 = 0
    /// The last READ_STATUS_BYTE bTag handed out (1 before the first).
    public private(set) var lastStatusTag: UInt8 = 1

    public init(lastBulkTag: UInt8 = 0, lastStatusTag: UInt8 = 1) {
        self.lastBulkTag = lastBulkTag
        self.lastStatusTag = (2...127).contains(lastStatusTag) ? lastStatusTag : 1
    }

    /// The next bulk bTag: 1, 2, ... 255, 1, ...
    public mutating func nextBulkTag() -> UInt8 {
        lastBulkTag = lastBulkTag == 255 ? 1 : lastBulkTag + 1
        return lastBulkTag
    }

    /// The next READ_STATUS_BYTE bTag: 2, 3, ... 127, 2, ...
    public mutating func nextStatusTag() -> UInt8 {
        lastStatusTag = lastStatusTag >= 127 ? 2 : lastStatusTag + 1
        return lastStatusTag
    }
}
