import LitmusUSBTMCProtocol
import Testing

/// The pure parts of the USBTMC protocol layer: headers, bTags, capabilities, quirks,
/// resource names and interface selection.
@Suite struct USBTMCCodecTests {
    @Test func devDepMsgOutTransferBytesArePaddedToFourBytes() {
        let payload: [UInt8] = Array("*IDN?\n".utf8)
        let transfer = payload.withUnsafeBytes { USBTMCBulkHeader.outTransfer(tag: 1, payload: $0, endOfMessage: true) }
        #expect(transfer == [1, 1, 0xFE, 0, 6, 0, 0, 0, 1, 0, 0, 0] + payload + [0, 0])
        let notLast = payload.withUnsafeBytes { USBTMCBulkHeader.outTransfer(tag: 0x80, payload: $0, endOfMessage: false) }
        #expect(Array(notLast.prefix(12)) == [1, 0x80, 0x7F, 0, 6, 0, 0, 0, 0, 0, 0, 0])
        for n in 0..<9 {
            let bytes = [UInt8](repeating: 0x55, count: n)
            let t = bytes.withUnsafeBytes { USBTMCBulkHeader.outTransfer(tag: 3, payload: $0, endOfMessage: true) }
            #expect(t.count % 4 == 0)
            #expect(t.count - 12 - n < 4)
            #expect(t[(12 + n)...].allSatisfy { $0 == 0 })
        }
    }

    @Test func requestAndTriggerHeaderBytes() {
        let plain = USBTMCBulkHeader.requestDevDepMsgIn(tag: 0x7F, transferSize: 0x0012_3456)
        #expect(plain.bytes == [2, 0x7F, 0x80, 0, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0])
        let term = USBTMCBulkHeader.requestDevDepMsgIn(tag: 255, transferSize: 4096, termChar: 0x0A)
        #expect(term.bytes == [2, 255, 0, 0, 0x00, 0x10, 0, 0, 2, 0x0A, 0, 0])
        #expect(USBTMCBulkHeader.trigger(tag: 9).bytes == [128, 9, 0xF6, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func replyHeaderDecodes() throws {
        let bytes: [UInt8] = [2, 5, 0xFA, 0, 0x10, 0x27, 0, 0, 3, 0, 0, 0, 0xAA]
        let h = try #require(USBTMCBulkHeader(decoding: bytes))
        #expect(h.messageID == 2)
        #expect(h.tag == 5)
        #expect(h.isTagConsistent)
        #expect(h.transferSize == 10_000)
        #expect(h.endOfMessage)
        #expect(h.termCharFlag)
        #expect(USBTMCBulkHeader(decoding: bytes.prefix(11)) == nil)
        let garbage = try #require(USBTMCBulkHeader(decoding: [2, 5, 0xFB, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(!garbage.isTagConsistent)
        #expect(USBTMCBulkHeader(decoding: h.bytes) == h)
    }

    @Test func bulkTagsWrapFrom255To1AndNeverZero() {
        var tags = USBTMCTagCounter()
        var seen: [UInt8] = []
        for _ in 0..<600 { seen.append(tags.nextBulkTag()) }
        #expect(!seen.contains(0))
        #expect(Array(seen.prefix(3)) == [1, 2, 3])
        #expect(seen[254] == 255)
        #expect(seen[255] == 1)
        #expect(seen[510] == 1)
        var status = USBTMCTagCounter()
        var statusTags: [UInt8] = []
        for _ in 0..<300 { statusTags.append(status.nextStatusTag()) }
        #expect(statusTags.allSatisfy { (2...127).contains($0) })
        #expect(statusTags[0] == 2)
        #expect(statusTags[125] == 127)
        #expect(statusTags[126] == 2)
    }

    @Test func capabilitiesUseOffsets14And15ForUSB488() throws {
        var reply = [UInt8](repeating: 0, count: 24)
        reply[0] = 1
        reply[2] = 0x00
        reply[3] = 0x01
        reply[4] = 0x04
        reply[5] = 0x01
        reply[12] = 0x00
        reply[13] = 0x01
        reply[14] = 0x07
        reply[15] = 0x0F
        let caps = try USBTMCCapabilities(reply: reply)
        #expect(caps.bcdUSBTMC == 0x0100)
        #expect(caps.indicatorPulse && !caps.talkOnly && !caps.listenOnly)
        #expect(caps.termChar)
        #expect(caps.bcdUSB488 == 0x0100)
        #expect(caps.is488_2 && caps.remoteLocal && caps.trigger)
        #expect(caps.scpi && caps.serviceRequest && caps.remoteLocalFull && caps.deviceTrigger)
        #expect(caps.reply == reply)
        #expect(caps.summary.contains("USBTMC 1.00, USB488 1.00"))

        // Interface bits in byte 4 must not be read as USB488 bits.
        var plain = [UInt8](repeating: 0, count: 24)
        plain[0] = 1
        plain[4] = 0x07
        let p = try USBTMCCapabilities(reply: plain)
        #expect(!p.trigger && !p.remoteLocal && !p.is488_2)
        #expect(p.talkOnly && p.listenOnly)

        #expect(throws: USBTMCError.self) { try USBTMCCapabilities(reply: [1, 0, 0]) }
        let failed = try #require(throws: USBTMCError.self) { try USBTMCCapabilities(reply: [0x80] + [UInt8](repeating: 0, count: 23)) }
        #expect(failed.kind == .instrument)
    }

    @Test func quirksParseAndPrint() throws {
        #expect(try USBTMCQuirks(parsing: "none") == .none)
        #expect(try USBTMCQuirks(parsing: "") == .none)
        let q = try USBTMCQuirks(parsing: "header_once, trust_block_length,max_transfer=48,any_msgid,ignore_btag")
        #expect(q.headerOnlyInFirstTransfer && q.trustBlockLength && q.acceptAnyReplyMessageID && q.ignoreReplyTag)
        #expect(q.maxTransferSize == 48)
        #expect(try USBTMCQuirks(parsing: q.description) == q)
        let bad = try #require(throws: USBTMCError.self) { try USBTMCQuirks(parsing: "header_twice") }
        #expect(bad.kind == .invalidArgument)
        #expect(bad.message.contains("header_twice"))
        #expect(throws: USBTMCError.self) { try USBTMCQuirks(parsing: "max_transfer=0") }
        let rigol = try #require(USBTMCQuirkTable.entry(vendorID: 0x1AB1, productID: 0x04CE))
        #expect(rigol.quirks.headerOnlyInFirstTransfer)
        #expect(rigol.note.contains("not verified"))
        #expect(USBTMCQuirkTable.entry(vendorID: 0x2A8D, productID: 0x1102) == nil)
    }

    @Test func resourceNamesParseInEveryAcceptedSpelling() throws {
        let canonical = "USB0::0x2A8D::0x1102::MY59001234::0::INSTR"
        let r = try USBTMCResource(parsing: canonical)
        #expect(r.vendorID == 0x2A8D && r.productID == 0x1102 && r.serialNumber == "MY59001234" && r.interfaceNumber == 0)
        #expect(r.canonical == canonical)
        #expect(try USBTMCResource(parsing: "usb::10893::4354::MY59001234::instr").canonical == canonical)
        #expect(try USBTMCResource(parsing: "USB1::0x2a8d::0x1102::MY59001234::3").canonical == "USB1::0x2A8D::0x1102::MY59001234::3::INSTR")
        for bad in [
            "USB0::0x2A8D::0x1102::MY5::0::RAW", "USB0::0x12345::0x1102::X::INSTR", "USB0::0x2A8D::X::INSTR",
            "TCPIP0::host::INSTR", "USB0::0x2A8D::0x1102::::INSTR", "USB0::0x2A8D::0x1102::X::300::INSTR",
        ] {
            let e = try #require(throws: USBTMCError.self) { try USBTMCResource(parsing: bad) }
            #expect(e.kind == .invalidArgument)
        }
        #expect(r.matchesSerial("MY59001234 \0"))
        #expect(r.matchesSerial("my59001234"))
        #expect(!r.matchesSerial("MY59001235"))
    }

    /// A composite device whose USBTMC interface is number 2 (behind an audio and a CDC one).
    static let composite = USBDeviceSummary(
        vendorID: 0x2A8D, productID: 0x1102, serialNumber: "MY59001234 ", manufacturer: "Keysight", product: "DMM",
        interfaces: [
            USBInterfaceSummary(number: 0, interfaceClass: 1, interfaceSubclass: 1, interfaceProtocol: 0, endpoints: []),
            USBInterfaceSummary(
                number: 1, interfaceClass: 2, interfaceSubclass: 2, interfaceProtocol: 1,
                endpoints: [USBEndpointSummary(address: 0x84, transferType: .interrupt, maxPacketSize: 16)]),
            USBInterfaceSummary(
                number: 2, endpoints: [
                    USBEndpointSummary(address: 0x02, attributes: 0x02, maxPacketSize: 0x0200),
                    USBEndpointSummary(address: 0x86, attributes: 0x02, maxPacketSize: 0x0200),
                    USBEndpointSummary(address: 0x87, attributes: 0x03, maxPacketSize: 8),
                ]),
        ])

    @Test func theUSBTMCInterfaceIsFoundWhateverItsNumber() throws {
        let device = Self.composite
        #expect(device.usbtmcInterfaces.map(\.number) == [2])
        let byDefault = try device.selectInterface(for: USBTMCResource(vendorID: 0x2A8D, productID: 0x1102, serialNumber: "MY59001234"))
        #expect(byDefault.number == 2)
        let layout = try byDefault.layout()
        #expect(layout == USBTMCInterfaceLayout(
            interfaceNumber: 2, interfaceProtocol: 1, bulkOutAddress: 0x02, bulkInAddress: 0x86, interruptInAddress: 0x87,
            bulkOutMaxPacket: 512, bulkInMaxPacket: 512, interruptInMaxPacket: 8))
        let wrong = try #require(throws: USBTMCError.self) {
            try device.selectInterface(for: USBTMCResource(vendorID: 0x2A8D, productID: 0x1102, serialNumber: "MY59001234", interfaceNumber: 1))
        }
        #expect(wrong.message.contains("USBTMC interface(s): 2"))
        #expect(wrong.message.contains("USB0::0x2A8D::0x1102::MY59001234::2::INSTR"))
        // Discovery lists canonical 0x names with the real interface number and the serial trimmed.
        #expect(device.resources.map(\.canonical) == ["USB0::0x2A8D::0x1102::MY59001234::2::INSTR"])
        #expect(device.label.contains("Keysight DMM (USB488, bus 1 address 2)"))

        var noBulkIn = device
        noBulkIn.interfaces[2].endpoints.remove(at: 1)
        let e = try #require(throws: USBTMCError.self) { try noBulkIn.interfaces[2].layout() }
        #expect(e.message.contains("lacks a Bulk-IN endpoint"))

        var serialless = device
        serialless.serialNumber = nil
        #expect(serialless.resources.isEmpty)
    }

    @Test func blockTrackerFindsTheEndOfADefiniteLengthBlock() {
        var t = USBTMCBlockTracker()
        t.consume(Array("#21".utf8))
        #expect(t.isInsideBlock)
        t.consume(Array("2abcdefghij".utf8))
        #expect(t.remainingData == 2)
        #expect(t.blockLength == 16)
        t.consume(Array("kl\n".utf8))
        #expect(!t.isInsideBlock)
        t.reset()
        t.consume(Array("+1.0\n".utf8))
        #expect(!t.isInsideBlock && t.blockLength == nil)
        t.reset()
        t.consume(Array("#0abc".utf8))
        #expect(!t.isInsideBlock)
    }
}
