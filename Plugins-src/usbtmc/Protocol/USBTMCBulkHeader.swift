/// The 12-byte header that starts every USBTMC bulk transfer (little-endian):
///
/// | byte | DEV_DEP_MSG_OUT | REQUEST_DEV_DEP_MSG_IN | DEV_DEP_MSG_IN (reply) |
/// |---|---|---|---|
/// | 0 | MsgID 1 | MsgID 2 | MsgID 2 |
/// | 1, 2 | bTag, ~bTag | bTag, ~bTag | the request's bTag, ~bTag |
/// | 3 | 0 | 0 | 0 |
/// | 4-7 | payload bytes in this transfer | most bytes the host accepts | payload bytes in this transfer |
/// | 8 | bit 0 EOM | bit 1 TermChar enabled | bit 0 EOM, bit 1 ended on TermChar |
/// | 9 | 0 | TermChar | 0 |
/// | 10, 11 | 0 | 0 | 0 |
public struct USBTMCBulkHeader: Equatable, Sendable {
    public var messageID: UInt8
    public var tag: UInt8
    public var tagInverse: UInt8
    public var transferSize: UInt32
    public var attributes: UInt8
    public var termChar: UInt8

    public init(messageID: UInt8, tag: UInt8, transferSize: UInt32, attributes: UInt8 = 0, termChar: UInt8 = 0) {
        self.messageID = messageID
        self.tag = tag
        self.tagInverse = ~tag
        self.transferSize = transferSize
        self.attributes = attributes
        self.termChar = termChar
    }

    /// The header of one DEV_DEP_MSG_OUT transfer carrying `transferSize` payload bytes.
    public static func devDepMsgOut(tag: UInt8, transferSize: UInt32, endOfMessage: Bool) -> USBTMCBulkHeader {
        USBTMCBulkHeader(
            messageID: USBTMCProtocol.MessageID.devDepMsgOut.rawValue, tag: tag, transferSize: transferSize,
            attributes: endOfMessage ? USBTMCProtocol.attributeEOM : 0)
    }

    /// A REQUEST_DEV_DEP_MSG_IN asking for at most `transferSize` bytes, ending early on
    /// `termChar` when one is given (only when the device's capabilities allow it).
    public static func requestDevDepMsgIn(tag: UInt8, transferSize: UInt32, termChar: UInt8? = nil) -> USBTMCBulkHeader {
        USBTMCBulkHeader(
            messageID: USBTMCProtocol.MessageID.devDepMsgIn.rawValue, tag: tag, transferSize: transferSize,
            attributes: termChar == nil ? 0 : USBTMCProtocol.attributeTermChar, termChar: termChar ?? 0)
    }

    /// A USB488 TRIGGER message (header only).
    public static func trigger(tag: UInt8) -> USBTMCBulkHeader {
        USBTMCBulkHeader(messageID: USBTMCProtocol.MessageID.trigger.rawValue, tag: tag, transferSize: 0)
    }

    /// Decodes the first 12 bytes of `bytes`; nil when there are fewer. Performs no validation:
    /// see ``isTagConsistent``.
    public init?<C: Collection>(decoding bytes: C) where C.Element == UInt8 {
        guard bytes.count >= USBTMCProtocol.headerSize else { return nil }
        var b = [UInt8](repeating: 0, count: USBTMCProtocol.headerSize)
        for (i, v) in bytes.prefix(USBTMCProtocol.headerSize).enumerated() { b[i] = v }
        messageID = b[0]
        tag = b[1]
        tagInverse = b[2]
        transferSize = UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
        attributes = b[8]
        termChar = b[9]
    }

    /// Whether bTagInverse is the one's complement of bTag (a cheap check against garbage).
    public var isTagConsistent: Bool { tag ^ tagInverse == 0xFF }

    /// Bit 0 of the attributes: the transfer ends the message.
    public var endOfMessage: Bool { attributes & USBTMCProtocol.attributeEOM != 0 }

    /// Bit 1 of the attributes.
    public var termCharFlag: Bool { attributes & USBTMCProtocol.attributeTermChar != 0 }

    /// The 12 header bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: USBTMCProtocol.headerSize)
        write(into: &out, at: 0)
        return out
    }

    /// Writes the 12 header bytes at `offset` of `buffer` (which must have room).
    public func write(into buffer: inout [UInt8], at offset: Int) {
        buffer[offset] = messageID
        buffer[offset + 1] = tag
        buffer[offset + 2] = tagInverse
        buffer[offset + 3] = 0
        buffer[offset + 4] = UInt8(truncatingIfNeeded: transferSize)
        buffer[offset + 5] = UInt8(truncatingIfNeeded: transferSize >> 8)
        buffer[offset + 6] = UInt8(truncatingIfNeeded: transferSize >> 16)
        buffer[offset + 7] = UInt8(truncatingIfNeeded: transferSize >> 24)
        buffer[offset + 8] = attributes
        buffer[offset + 9] = termChar
        buffer[offset + 10] = 0
        buffer[offset + 11] = 0
    }

    /// One whole DEV_DEP_MSG_OUT transfer: header, `payload`, then 0 to 3 zero bytes so the
    /// transfer is a multiple of 4 bytes long.
    public static func outTransfer(tag: UInt8, payload: UnsafeRawBufferPointer, endOfMessage: Bool) -> [UInt8] {
        let header = devDepMsgOut(tag: tag, transferSize: UInt32(payload.count), endOfMessage: endOfMessage)
        let total = alignedLength(USBTMCProtocol.headerSize + payload.count)
        var out = [UInt8](repeating: 0, count: total)
        header.write(into: &out, at: 0)
        if !payload.isEmpty {
            out.withUnsafeMutableBytes { dst in
                dst.baseAddress!.advanced(by: USBTMCProtocol.headerSize).copyMemory(
                    from: payload.baseAddress!, byteCount: payload.count)
            }
        }
        return out
    }

    /// `length` rounded up to a multiple of 4 (bulk transfers are 4-byte aligned).
    public static func alignedLength(_ length: Int) -> Int { (length + 3) & ~3 }
}

extension USBTMCBulkHeader: CustomStringConvertible {
    public var description: String {
        "MsgID \(messageID) bTag \(tag) (~\(tagInverse)) TransferSize \(transferSize) attributes 0x\(hex(attributes))"
    }
}
