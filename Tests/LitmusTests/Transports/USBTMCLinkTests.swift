import LitmusUSBTMCProtocol
import Testing

extension USBTMCLink {
    /// Writes `command` plus a newline as one message.
    func send(_ command: String) throws {
        let bytes = Array((command + "\n").utf8)
        try bytes.withUnsafeBytes { _ = try write($0) }
    }

    /// Reads one whole message with reads of at most `chunk` bytes; returns the bytes and how
    /// each read ended.
    func readMessage(chunk: Int = 65536, maxReads: Int = 100_000) throws -> (bytes: [UInt8], ends: [USBTMCReadResult.End]) {
        var out: [UInt8] = []
        var ends: [USBTMCReadResult.End] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        for _ in 0..<maxReads {
            let r = try buffer.withUnsafeMutableBytes { try read(into: $0) }
            out += buffer.prefix(r.count)
            ends.append(r.end)
            if r.end == .endOfMessage { return (out, ends) }
        }
        Issue.record("no END after \(maxReads) reads")
        return (out, ends)
    }

    func query(_ command: String) throws -> String {
        try send(command)
        return String(decoding: try readMessage().bytes, as: UTF8.self)
    }
}

/// The USBTMC state machines (``USBTMCLink``) against a fake device.
@Suite struct USBTMCLinkTests {
    @Test(arguments: [64, 512])
    func identifyQuery(maxPacket: Int) throws {
        let device = USBTMCFakeDevice(maxPacket: maxPacket)
        let link = try device.link()
        #expect(try link.query("*IDN?") == device.identity + "\n")
        #expect(device.commands == ["*IDN?"])
        // One DEV_DEP_MSG_OUT (tag 1) then one REQUEST_DEV_DEP_MSG_IN (tag 2) for 1 MiB (the
        // largest transfer, whatever the read's buffer holds).
        #expect(device.bulkOutTransfers.count == 2)
        #expect(Array(device.bulkOutTransfers[0].prefix(12)) == [1, 1, 0xFE, 0, 6, 0, 0, 0, 1, 0, 0, 0])
        #expect(device.bulkOutTransfers[1] == [2, 2, 0xFD, 0, 0, 0, 0x10, 0, 0, 0, 0, 0])
        #expect(device.bulkInTimeouts == 0)
        #expect(device.hostViolations.isEmpty)
    }

    @Test(arguments: [64, 512])
    func blocksOfEverySizeArriveExactly(maxPacket: Int) throws {
        let device = USBTMCFakeDevice(maxPacket: maxPacket)
        let link = try device.link()
        // Lengths around packet boundaries: 12 + payload an exact multiple of the packet size
        // makes the device send a zero-length packet.
        for n in [0, 1, 40, 51, 52, 53, 116, 500, 4096, 10_000] {
            try link.send("DATA? \(n)")
            let (bytes, ends) = try link.readMessage(chunk: 4096)
            #expect(bytes == USBTMCFakeDevice.block(n), "DATA? \(n)")
            #expect(ends.last == .endOfMessage)
        }
        #expect(device.queuedBulkInBytes == 0)
        #expect(device.hostViolations.isEmpty)
    }

    @Test func oneMebibyteBlockExactly() throws {
        let device = USBTMCFakeDevice(maxPacket: 512)
        device.maxReplyTransfer = 64 * 1024
        let link = try device.link()
        try link.send("DATA? 1048576")
        let expected = USBTMCFakeDevice.block(1_048_576)
        var buffer = [UInt8](repeating: 0, count: expected.count)
        let r = try buffer.withUnsafeMutableBytes { try link.read(into: $0) }
        #expect(r == USBTMCReadResult(count: expected.count, end: .endOfMessage))
        #expect(buffer == expected)
        // The device capped transfers at 64 KiB: the link kept requesting until EOM.
        #expect(device.readRequests.count == (expected.count + 65535) / 65536)
        #expect(device.readRequests.allSatisfy { $0.transferSize <= 1 << 20 })
    }

    @Test func smallBuffersGetPartsOfTheMessageThenEnd() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        let link = try device.link()
        try link.send("*IDN?")
        let (bytes, ends) = try link.readMessage(chunk: 7)
        #expect(String(decoding: bytes, as: UTF8.self) == device.identity + "\n")
        #expect(ends.dropLast().allSatisfy { $0 == .bufferFull })
        #expect(ends.last == .endOfMessage)
        // One request for the whole reply; the reads are served from what it brought.
        #expect(device.readRequests.count == 1)
    }

    /// Issue 12 #9: a read request per read call made a 16 KiB block read a byte at a time
    /// cost 16 KiB requests (81 s on an instrument). One large request now serves them all.
    @Test(arguments: [64, 512])
    func byteAtATimeBlockReadsIssueOneRequest(maxPacket: Int) throws {
        let device = USBTMCFakeDevice(maxPacket: maxPacket)
        let link = try device.link()
        try link.send("DATA? 16384")
        let (bytes, ends) = try link.readMessage(chunk: 1, maxReads: 20_000)
        #expect(bytes == USBTMCFakeDevice.block(16384))
        #expect(ends.count == bytes.count)
        #expect(ends.last == .endOfMessage)
        #expect(device.readRequests.count == 1)
        #expect(device.bulkInTimeouts == 0)
        // A device that caps its transfers still needs only a few requests.
        let capped = USBTMCFakeDevice(maxPacket: maxPacket)
        capped.maxReplyTransfer = 4096
        let cappedLink = try capped.link()
        try cappedLink.send("DATA? 16384")
        #expect(try cappedLink.readMessage(chunk: 1, maxReads: 20_000).bytes == USBTMCFakeDevice.block(16384))
        #expect(capped.readRequests.count == (16384 + 7 + 4095) / 4096)
    }

    /// Issue 12 #7: a reply whose transfer ends exactly on a packet boundary, from a device
    /// that sends no zero-length packet, waited the whole timeout before the data was used.
    /// The header's TransferSize says when the transfer is complete.
    @Test(arguments: [64, 512])
    func aReplyEndingOnAPacketBoundaryWithoutZLPCompletesAtOnce(maxPacket: Int) throws {
        for total in [maxPacket, 2 * maxPacket, 5 * maxPacket] {
            let device = USBTMCFakeDevice(maxPacket: maxPacket)
            device.zeroLengthPacketOnExactMultiple = false
            let link = try device.link()
            // 12 header bytes + "ECHO? " text + "\n" = an exact number of packets.
            let text = String(repeating: "z", count: total - 12 - 1)
            #expect(try link.query("ECHO? \(text)") == text + "\n")
            #expect(device.bulkInTimeouts == 0, "packet \(maxPacket), transfer \(total)")
            // A long message in transfers of exactly one packet each.
            device.maxReplyTransfer = maxPacket - 12
            try link.send("DATA? 3000")
            #expect(try link.readMessage(chunk: 100).bytes == USBTMCFakeDevice.block(3000))
            #expect(device.bulkInTimeouts == 0, "packet \(maxPacket), one-packet transfers")
            #expect(device.queuedBulkInBytes == 0)
            #expect(device.hostViolations.isEmpty)
        }
    }

    @Test func multiTransferMessagesKeepRequestingUntilEOM() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        device.maxReplyTransfer = 10
        device.padBulkIn = true
        let link = try device.link()
        var buffer = [UInt8](repeating: 0, count: 1000)
        try link.send("*IDN?")
        let r = try buffer.withUnsafeMutableBytes { try link.read(into: $0) }
        #expect(r.end == .endOfMessage)
        #expect(String(decoding: buffer.prefix(r.count), as: UTF8.self) == device.identity + "\n")
        #expect(device.readRequests.count == (device.identity.count + 1 + 9) / 10)
    }

    @Test func paddingIsDroppedAndZeroLengthPacketsAreConsumed() throws {
        for n in 1...8 {
            let device = USBTMCFakeDevice(maxPacket: 64)
            device.padBulkIn = true
            let link = try device.link()
            let text = String(repeating: "x", count: n)
            #expect(try link.query("ECHO? \(text)") == text + "\n")
        }
        // 52 bytes of payload make a 64-byte transfer and a zero-length packet; the device
        // that forgets the ZLP still works because the buffer is exactly filled.
        for zlp in [true, false] {
            let device = USBTMCFakeDevice(maxPacket: 64)
            device.zeroLengthPacketOnExactMultiple = zlp
            let link = try device.link()
            let text = String(repeating: "y", count: 51)
            var buffer = [UInt8](repeating: 0, count: 52)
            try link.send("ECHO? \(text)")
            let r = try buffer.withUnsafeMutableBytes { try link.read(into: $0) }
            #expect(r == USBTMCReadResult(count: 52, end: .endOfMessage))
            #expect(try link.query("*IDN?") == device.identity + "\n")
            #expect(device.queuedBulkInBytes == 0)
        }
    }

    @Test func aHeaderInItsOwnShortPacketIsTolerated() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        device.splitHeaderPacket = true
        let link = try device.link()
        #expect(try link.query("*IDN?") == device.identity + "\n")
        try link.send("DATA? 3000")
        #expect(try link.readMessage().bytes == USBTMCFakeDevice.block(3000))
    }

    @Test func writesWrapTheTagAfter255Transfers() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        let link = try device.link()
        for i in 0..<300 { try link.send("CMD\(i)") }
        let tags = device.bulkOutTransfers.map { $0[1] }
        #expect(tags.count == 300)
        #expect(Array(tags.prefix(255)) == (1...255).map { UInt8($0) })
        #expect(Array(tags.suffix(45)) == (1...45).map { UInt8($0) })
        #expect(device.commands.last == "CMD299")
        #expect(device.hostViolations.isEmpty)
        // A query after the wrap still matches its reply.
        #expect(try link.query("*IDN?") == device.identity + "\n")
    }

    @Test func longCommandsAreSplitWithEOMOnlyOnTheLast() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        let link = try device.link(quirks: USBTMCQuirks(maxTransferSize: 48))
        let command = "ECHO? " + String(repeating: "z", count: 200)
        #expect(try link.query(command) == String(repeating: "z", count: 200) + "\n")
        let writes = device.bulkOutTransfers.compactMap { USBTMCBulkHeader(decoding: $0) }.filter { $0.messageID == 1 }
        #expect(writes.count == (command.count + 1 + 47) / 48)
        #expect(writes.allSatisfy { $0.transferSize <= 48 })
        #expect(writes.dropLast().allSatisfy { !$0.endOfMessage })
        #expect(writes.last?.endOfMessage == true)
        #expect(device.readRequests.allSatisfy { $0.transferSize <= 48 })
        #expect(device.commands == [command])
    }

    @Test func termCharIsOnlyRequestedWhenTheDeviceSupportsIt() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        let link = try device.link(termChar: 0x0A)
        #expect(link.activeTermChar == 0x0A)
        try link.send("DATA? 20")
        var buffer = [UInt8](repeating: 0, count: 100)
        // Block data byte 10 is 0x0A: the transfer ends there, without EOM.
        let first = try buffer.withUnsafeMutableBytes { try link.read(into: $0) }
        #expect(first.end == .termChar)
        #expect(buffer[first.count - 1] == 0x0A)
        #expect(device.readRequests.last?.termCharFlag == true)
        #expect(device.readRequests.last?.termChar == 0x0A)
        let rest = try link.readMessage()
        #expect(Array(buffer.prefix(first.count)) + rest.bytes == USBTMCFakeDevice.block(20))

        let plain = USBTMCFakeDevice(maxPacket: 64)
        plain.capabilities.termChar = false
        let plainLink = try plain.link(termChar: 0x0A)
        #expect(plainLink.activeTermChar == nil)
        #expect(try plainLink.query("*IDN?") == plain.identity + "\n")
        #expect(plain.readRequests.allSatisfy { !$0.termCharFlag && $0.termChar == 0 })
        #expect(plain.hostViolations.isEmpty)
    }

    @Test func clearPollsPendingDrainsBulkInAndClearsTheHalt() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        device.maxReplyTransfer = 100
        device.clearPendingPolls = 3
        let link = try device.link()
        // Leave a reply in the device's Bulk-IN FIFO, unread.
        try link.send("DATA? 5000")
        var small = [UInt8](repeating: 0, count: 10)
        _ = try small.withUnsafeMutableBytes { try link.read(into: $0) }
        try device.bulkOut(USBTMCBulkHeader.requestDevDepMsgIn(tag: 200, transferSize: 100).bytes, timeoutMs: 100)
        #expect(device.queuedBulkInBytes > 0)
        try link.clear()
        let requests = device.controlCalls.map(\.request)
        #expect(requests.first(where: { $0 != 7 }) == USBTMCProtocol.Request.initiateClear.rawValue)
        #expect(device.calls(.checkClearStatus).count >= 4)
        #expect(device.calls(.initiateClear).allSatisfy { $0.requestType == 0xA1 && $0.index == 0 && $0.length == 1 })
        #expect(device.queuedBulkInBytes == 0)
        #expect(device.clearedHalts == [.bulkOut])
        #expect(try link.query("*IDN?") == device.identity + "\n")
    }

    @Test func clearGivesUpAfterABoundedNumberOfPolls() throws {
        let device = USBTMCFakeDevice()
        device.clearPendingPolls = 1_000_000
        let link = try device.link()
        let e = try #require(throws: USBTMCError.self) { try link.clear() }
        #expect(e.kind == .timeout)
        #expect(e.message.contains("still PENDING"))
        #expect(device.calls(.checkClearStatus).count <= 100)

        let refusing = USBTMCFakeDevice()
        refusing.initiateClearStatus = 0x80
        let refused = try #require(throws: USBTMCError.self) { try refusing.link().clear() }
        #expect(refused.kind == .instrument)
        #expect(refused.message.contains("INITIATE_CLEAR answered FAILED"))
    }

    @Test func aReadTimeoutAbortsBulkInAndTheNextQueryWorks() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        device.abortPendingPolls = 2
        let link = try device.link(timeoutMs: 200)
        try link.send("NOREPLY?")
        let e = try #require(throws: USBTMCError.self) { _ = try link.readMessage() }
        #expect(e.kind == .timeout)
        #expect(e.message.contains("no response within 200 ms"))
        #expect(e.message.contains("the transfer was aborted"))
        let abort = try #require(device.calls(.initiateAbortBulkIn).first)
        #expect(abort.requestType == 0xA2)
        #expect(abort.index == 0x82)
        #expect(abort.value == UInt16(device.readRequests.last!.tag))
        #expect(abort.length == 2)
        #expect(device.calls(.checkAbortBulkInStatus).count == 3)
        #expect(try link.query("*IDN?") == device.identity + "\n")
    }

    /// A Bulk-IN transfer that fails (not a timeout: an I/O error, or the transfer torn down
    /// by a signal arriving in libusb's wait, as seen under umockdev) leaves the request
    /// queued on the device: the link aborts it, so the next query gets its own reply.
    @Test func aFailedBulkInTransferAbortsTheRequestAndTheNextQueryWorks() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        let link = try device.link(timeoutMs: 200)
        try link.send("NOREPLY?")
        device.bulkInFailures = 1
        let e = try #require(throws: USBTMCError.self) { _ = try link.readMessage() }
        #expect(e.kind == .io)
        #expect(e.message.contains("LIBUSB_ERROR_IO"), "\(e)")
        let abort = try #require(device.calls(.initiateAbortBulkIn).first, "no abort after the failed transfer")
        #expect(abort.value == UInt16(device.readRequests.last!.tag))
        #expect(try link.query("*IDN?") == device.identity + "\n")
    }

    @Test func theAbortSequenceIsBounded() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        device.abortPendingPolls = 1_000_000
        let link = try device.link(timeoutMs: 200)
        let start = device.clock.milliseconds
        try link.send("NOREPLY?")
        let e = try #require(throws: USBTMCError.self) { _ = try link.readMessage() }
        #expect(e.message.contains("still PENDING"))
        #expect(device.calls(.checkAbortBulkInStatus).count <= 100)
        // Virtual time: the read timeout plus the 300 ms abort budget, not a fixed 5 s.
        #expect(device.clock.milliseconds - start <= 200 + 300 + 50)

        let idle = USBTMCFakeDevice()
        let idleLink = try idle.link()
        #expect(idleLink.abortBulkIn(tag: 99).contains("no transfer in progress"))
        #expect(idle.calls(.checkAbortBulkInStatus).isEmpty)
    }

    @Test func aWriteTimeoutAbortsBulkOut() throws {
        let device = USBTMCFakeDevice()
        let link = try device.link(timeoutMs: 100)
        device.bulkOutTimeouts = 1
        let e = try #require(throws: USBTMCError.self) { try link.send("*RST") }
        #expect(e.kind == .timeout)
        #expect(e.message.contains("did not accept the message (0 of 5 bytes sent)"))
        #expect(device.calls(.initiateAbortBulkOut).first?.value == UInt16(link.lastTag))
        #expect(device.calls(.initiateAbortBulkOut).first?.index == 0x01)
        #expect(device.calls(.checkAbortBulkOutStatus).count == 1)
        #expect(device.clearedHalts == [.bulkOut])
        #expect(try link.query("*IDN?") == device.identity + "\n")
    }

    @Test func statusByteThroughControlReply() throws {
        let device = USBTMCFakeDevice(interruptIn: false)
        device.stb = 0x44
        let link = try device.link()
        #expect(try link.readStatusByte() == 0x44)
        let call = try #require(device.calls(.readStatusByte).first)
        #expect(call.requestType == 0xA1 && call.value == 2 && call.length == 3)
        for _ in 0..<200 { _ = try link.readStatusByte() }
        #expect(device.hostViolations.isEmpty)
        #expect(device.calls(.readStatusByte).map(\.value).allSatisfy { (2...127).contains($0) })
        #expect(device.interruptInCalls == 0)
    }

    @Test func statusByteThroughInterruptIn() throws {
        let device = USBTMCFakeDevice(interruptIn: true)
        device.stb = 0x50
        device.srqBeforeStatus = 0x60
        let link = try device.link()
        #expect(try link.readStatusByte() == 0x50)
        #expect(link.lastServiceRequest == 0x60)
        #expect(device.interruptInCalls == 2)

        let plain = USBTMCFakeDevice(interfaceProtocol: USBTMCProtocol.protocolUSBTMC)
        let e = try #require(throws: USBTMCError.self) { try plain.link().readStatusByte() }
        #expect(e.kind == .unsupported)
        #expect(e.message.contains("*STB?"))
    }

    @Test func triggerSendsMsgID128WhenSupported() throws {
        let device = USBTMCFakeDevice()
        let link = try device.link()
        try link.trigger()
        #expect(device.triggers == 1)
        #expect(device.bulkOutTransfers.last == [128, 1, 0xFE, 0, 0, 0, 0, 0, 0, 0, 0, 0])

        let noTrigger = USBTMCFakeDevice()
        noTrigger.capabilities.trigger = false
        let e = try #require(throws: USBTMCError.self) { try noTrigger.link().trigger() }
        #expect(e.kind == .unsupported)
        #expect(e.message.contains("*TRG"))
    }

    @Test func remoteLocalAndLockout() throws {
        let device = USBTMCFakeDevice()
        let link = try device.link()
        try link.remoteEnable(true)
        try link.localLockout()
        #expect(device.remoteEnabled && device.lockedOut)
        try link.goToLocal()
        #expect(device.wentToLocal == 1)
        try link.indicatorPulse()
        #expect(device.calls(.renControl).first == .init(requestType: 0xA1, request: 160, value: 1, index: 0, length: 1))

        let none = USBTMCFakeDevice()
        none.refuseCapabilities = true
        let noCaps = try none.link()
        #expect(!noCaps.capabilities.fromDevice)
        let e = try #require(throws: USBTMCError.self) { try noCaps.remoteEnable(true) }
        #expect(e.kind == .unsupported)
        #expect(e.message.contains("GET_CAPABILITIES failed"))
    }

    @Test func aStaleReplyIsSkippedAndAWrongTagIsAViolation() throws {
        let device = USBTMCFakeDevice(maxPacket: 64)
        let link = try device.link()
        device.sendStaleReplyFirst = true
        #expect(try link.query("*IDN?") == device.identity + "\n")

        device.replyTag = { $0 &+ 100 == 0 ? 1 : $0 &+ 100 }
        try link.send("*IDN?")
        let e = try #require(throws: USBTMCError.self) { _ = try link.readMessage() }
        #expect(e.kind == .protocolViolation)
        #expect(e.message.contains("bTag mismatch"))
        #expect(e.message.contains("quirks=ignore_btag"))

        let tolerant = USBTMCFakeDevice(maxPacket: 64)
        tolerant.replyTag = { _ in 77 }
        let tolerantLink = try tolerant.link(quirks: USBTMCQuirks(ignoreReplyTag: true))
        #expect(try tolerantLink.query("*IDN?") == tolerant.identity + "\n")
    }

    @Test func anUnexpectedMsgIDNeedsTheQuirk() throws {
        let device = USBTMCFakeDevice()
        device.replyMessageID = 127
        let e = try #require(throws: USBTMCError.self) { try device.link().query("*IDN?") }
        #expect(e.kind == .protocolViolation)
        #expect(e.message.contains("MsgID 127"))
        let quirky = USBTMCFakeDevice()
        quirky.replyMessageID = 127
        #expect(try quirky.link(quirks: USBTMCQuirks(acceptAnyReplyMessageID: true)).query("*IDN?") == quirky.identity + "\n")
    }

    @Test(arguments: [64, 512])
    func headerOnceDevicesWithBlocks(maxPacket: Int) throws {
        let device = USBTMCFakeDevice(maxPacket: maxPacket)
        device.headerOnce = true
        device.headerOnceAnnounce = 500
        device.padBulkIn = true
        let link = try device.link(quirks: USBTMCQuirks(headerOnlyInFirstTransfer: true, trustBlockLength: true))
        for n in [10, 700, 5000, 100_000] {
            try link.send("DATA? \(n)")
            let (bytes, ends) = try link.readMessage(chunk: 4096)
            #expect(bytes == USBTMCFakeDevice.block(n), "DATA? \(n)")
            #expect(ends.last == .endOfMessage)
            // One request per message: the device would restart on a second one.
            #expect(device.readRequests.count == 1)
            device.bulkOutTransfers.removeAll()
        }
        #expect(try link.query("*IDN?") == device.identity + "\n")
        #expect(device.queuedBulkInBytes == 0)
    }

    @Test func garbageFromBulkInNeverCrashes() throws {
        for seed in UInt64(1)...300 {
            let device = USBTMCFakeDevice(maxPacket: seed % 2 == 0 ? 64 : 512)
            let link = try device.link(timeoutMs: 100)
            device.garbage = SplitMix64(seed: seed)
            do {
                try link.send("*IDN?")
                var buffer = [UInt8](repeating: 0, count: Int(seed % 5000) + 1)
                for _ in 0..<50 {
                    let r = try buffer.withUnsafeMutableBytes { try link.read(into: $0) }
                    #expect(r.count <= buffer.count)
                    if r.end == .endOfMessage { break }
                }
            } catch let e as USBTMCError {
                #expect([.protocolViolation, .timeout, .io].contains(e.kind), "seed \(seed): \(e)")
            }
            #expect(device.bulkInCalls < 20_000, "seed \(seed)")
        }
    }
}
