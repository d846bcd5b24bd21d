import LitmusUSBTMCProtocol

/// A virtual monotonic clock: sleeps and timeouts advance it instantly, so polling and
/// timeout paths cost no real time and are deterministic.
final class USBTMCFakeClock: USBTMCClock {
    var nanoseconds: UInt64 = 1_000_000_000
    func sleep(milliseconds: UInt32) { advance(milliseconds) }
    func advance(_ milliseconds: UInt32) {
        precondition(milliseconds != .max, "a fake transfer would wait forever")
        nanoseconds += UInt64(milliseconds) * 1_000_000
    }
    var milliseconds: UInt64 { nanoseconds / 1_000_000 }
}

/// A fake USBTMC / USB488 instrument behind the ``USBTMCEndpoint`` protocol, modelled at
/// the level libusb shows: Bulk-OUT transfers in, Bulk-IN packets out (a transfer ends at a
/// short or zero-length packet or when the host buffer is full), class control requests,
/// interrupt-IN notifications, endpoint halts.
///
/// It answers `*IDN?`, `DATA? <n>` (an IEEE definite-length block whose data contains 0x0A
/// bytes), `ECHO? <text>`, `*STB?`; `NOREPLY?` has no answer. Knobs make it misbehave the way
/// real instruments do; records let tests check the exact bytes and requests the host sent.
final class USBTMCFakeDevice: USBTMCEndpoint {
    struct ControlCall: Equatable {
        var requestType: UInt8
        var request: UInt8
        var value: UInt16
        var index: UInt16
        var length: Int
    }

    let clock = USBTMCFakeClock()
    var layout: USBTMCInterfaceLayout
    var capabilities = USBTMCCapabilities.typicalUSB488
    var identity = "LITMUS,USBTMC-FAKE,FAKE0001,1.0"

    // MARK: Knobs

    /// The device sends at most this many payload bytes per transfer, whatever was asked.
    var maxReplyTransfer: Int?
    /// Pad Bulk-IN transfers to a multiple of 4 bytes with zeros.
    var padBulkIn = false
    /// Send a zero-length packet after a transfer that is an exact multiple of the packet size.
    var zeroLengthPacketOnExactMultiple = true
    /// Send the 12-byte header as its own short packet (a separate USB transfer).
    var splitHeaderPacket = false
    /// MsgID of replies.
    var replyMessageID: UInt8 = 2
    /// Rewrites the bTag of replies (bTag of the request in, bTag of the reply out).
    var replyTag: ((UInt8) -> UInt8)?
    /// Before the next reply, send one stale reply carrying the previous bTag.
    var sendStaleReplyFirst = false
    /// Like a Rigol DS1000Z (as reported): one header per response message announcing at most
    /// `headerOnceAnnounce` bytes with EOM set, the whole message following as raw data.
    var headerOnce = false
    var headerOnceAnnounce = 500
    /// CHECK_CLEAR_STATUS answers PENDING this many times.
    var clearPendingPolls = 0
    /// INITIATE_CLEAR answers this status.
    var initiateClearStatus: UInt8 = 1
    /// CHECK_ABORT_BULK_IN_STATUS answers PENDING this many times.
    var abortPendingPolls = 0
    /// Bulk-OUT transfers time out this many times (the device stops accepting data).
    var bulkOutTimeouts = 0
    /// Bulk-IN transfers fail with a USB error this many times (as a transfer torn down under
    /// the host, e.g. by a signal in the USB library's wait, ends).
    var bulkInFailures = 0
    /// GET_CAPABILITIES stalls.
    var refuseCapabilities = false
    /// Fuzzing: every Bulk-IN transfer returns random bytes from this generator.
    var garbage: SplitMix64?
    /// Status byte.
    var stb: UInt8 = 0
    /// Queue an SRQ notification with this STB before the READ_STATUS_BYTE notification.
    var srqBeforeStatus: UInt8?

    // MARK: Records

    var bulkOutTransfers: [[UInt8]] = []
    var controlCalls: [ControlCall] = []
    var clearedHalts: [USBTMCPipe] = []
    var bulkInCalls = 0
    /// Bulk-IN transfers that ran into their timeout (the host waited for data that never came).
    var bulkInTimeouts = 0
    var interruptInCalls = 0
    /// Complete command messages received (EOM), without their terminator.
    var commands: [String] = []
    var triggers = 0
    var remoteEnabled = false
    var wentToLocal = 0
    var lockedOut = false
    /// Anything the host did that the specification forbids.
    var hostViolations: [String] = []

    // MARK: State

    private var input: [UInt8] = []
    private var output: [[UInt8]] = []
    private var outputOffset = 0
    private var fifo: [[UInt8]] = []
    private var outstandingTag: UInt8?
    private var lastReplyTag: UInt8 = 0
    private var bulkOutHalted = false
    private var clearPollsLeft = 0
    private var abortPollsLeft = 0
    private var interruptQueue: [[UInt8]] = []
    private var lastTimedOutWriteTag: UInt8?

    init(maxPacket: Int = 512, interruptIn: Bool = true, interfaceProtocol: UInt8 = USBTMCProtocol.protocolUSB488) {
        layout = USBTMCInterfaceLayout(
            interfaceNumber: 0, interfaceProtocol: interfaceProtocol, bulkOutAddress: 0x01, bulkInAddress: 0x82,
            interruptInAddress: interruptIn ? 0x83 : nil, bulkOutMaxPacket: maxPacket, bulkInMaxPacket: maxPacket,
            interruptInMaxPacket: 8)
    }

    /// A link to this device.
    func link(
        quirks: USBTMCQuirks = .none, timeoutMs: UInt32 = 500, termChar: UInt8? = nil, maxTransferSize: Int = 1 << 20,
        fetchCapabilities: Bool = true
    ) throws -> USBTMCLink {
        let link = USBTMCLink(
            endpoint: self,
            configuration: USBTMCLink.Configuration(
                layout: layout, quirks: quirks, timeoutMs: timeoutMs, termChar: termChar, maxTransferSize: maxTransferSize),
            clock: clock)
        if fetchCapabilities { try link.fetchCapabilities() }
        return link
    }

    /// The response bytes of `DATA? n`: `#<d><n><n bytes>\n`, data bytes `i % 251` (so 0x0A occurs).
    static func block(_ n: Int) -> [UInt8] {
        let digits = Array(String(n).utf8)
        var out: [UInt8] = [UInt8(ascii: "#"), UInt8(ascii: "0") + UInt8(digits.count)] + digits
        out.reserveCapacity(out.count + n + 1)
        for i in 0..<n { out.append(UInt8(i % 251)) }
        out.append(0x0A)
        return out
    }

    /// Bytes still queued for Bulk-IN.
    var queuedBulkInBytes: Int { fifo.reduce(0) { $0 + $1.count } }

    /// The REQUEST_DEV_DEP_MSG_IN headers the host sent.
    var readRequests: [USBTMCBulkHeader] {
        bulkOutTransfers.compactMap { USBTMCBulkHeader(decoding: $0) }.filter { $0.messageID == 2 }
    }

    /// The control requests with this bRequest.
    func calls(_ request: USBTMCProtocol.Request) -> [ControlCall] { controlCalls.filter { $0.request == request.rawValue } }

    // MARK: - USBTMCEndpoint

    func bulkOut(_ data: [UInt8], timeoutMs: UInt32) throws {
        bulkOutTransfers.append(data)
        if bulkOutHalted { throw USBTMCTransferError.stall }
        guard let header = USBTMCBulkHeader(decoding: data) else {
            hostViolations.append("Bulk-OUT transfer of \(data.count) bytes has no header")
            bulkOutHalted = true
            throw USBTMCTransferError.stall
        }
        if !header.isTagConsistent || header.tag == 0 {
            hostViolations.append("bad bTag \(header.tag)/\(header.tagInverse)")
        }
        if data.count % 4 != 0 { hostViolations.append("Bulk-OUT transfer of \(data.count) bytes is not 4-byte aligned") }
        if bulkOutTimeouts > 0 {
            bulkOutTimeouts -= 1
            lastTimedOutWriteTag = header.tag
            clock.advance(timeoutMs)
            throw USBTMCTransferError.timedOut
        }
        switch header.messageID {
        case 1:
            let size = Int(header.transferSize)
            guard data.count >= 12 + size, data.count == USBTMCBulkHeader.alignedLength(12 + size) else {
                hostViolations.append("DEV_DEP_MSG_OUT announces \(size) bytes in a \(data.count)-byte transfer")
                return
            }
            if data[(12 + size)...].contains(where: { $0 != 0 }) { hostViolations.append("non-zero alignment padding") }
            input += data[12..<(12 + size)]
            if header.endOfMessage {
                let message = input
                input = []
                execute(message)
            }
        case 2:
            if header.termCharFlag && !capabilities.termChar {
                hostViolations.append("TermChar requested but the device does not support it")
            }
            answer(header)
        case 128:
            triggers += 1
        default:
            hostViolations.append("unexpected MsgID \(header.messageID)")
        }
    }

    func bulkIn(maxLength: Int, timeoutMs: UInt32) throws -> [UInt8] {
        bulkInCalls += 1
        if bulkInFailures > 0 {
            bulkInFailures -= 1
            throw USBTMCTransferError.failed(code: -1, reason: "LIBUSB_ERROR_IO (Input/Output Error)")
        }
        if var rng = garbage {
            defer { garbage = rng }
            let length = Int(rng.next() % UInt64(min(maxLength, 700) + 1))
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Sometimes make the header look right, to get past the first checks.
            if length >= 12 && rng.next() % 2 == 0, let request = readRequests.last {
                bytes[0] = 2
                bytes[1] = request.tag
                bytes[2] = ~request.tag
            }
            if rng.next() % 8 == 0 {
                clock.advance(timeoutMs == .max ? 1000 : timeoutMs)
                throw USBTMCTransferError.timeout(transferred: bytes.count / 2, data: Array(bytes.prefix(bytes.count / 2)))
            }
            return bytes
        }
        let packet = layout.bulkInMaxPacket
        var received: [UInt8] = []
        while true {
            guard let next = fifo.first else {
                bulkInTimeouts += 1
                clock.advance(timeoutMs)
                throw USBTMCTransferError.timeout(transferred: received.count, data: received)
            }
            if received.count + next.count > maxLength {
                fifo.removeFirst()
                throw USBTMCTransferError.overflow
            }
            fifo.removeFirst()
            received += next
            if next.count < packet || received.count == maxLength { return received }
        }
    }

    func controlIn(
        requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, length: Int, timeoutMs: UInt32
    ) throws -> [UInt8] {
        controlCalls.append(ControlCall(requestType: requestType, request: request, value: value, index: index, length: length))
        let reply: [UInt8]
        switch USBTMCProtocol.Request(rawValue: request) {
        case .getCapabilities:
            if refuseCapabilities { throw USBTMCTransferError.stall }
            reply = capabilities.reply
        case .initiateClear:
            reply = [initiateClearStatus]
            if initiateClearStatus == 1 {
                input = []
                output = []
                outputOffset = 0
                outstandingTag = nil
                bulkOutHalted = true
                clearPollsLeft = clearPendingPolls
            }
        case .checkClearStatus:
            if clearPollsLeft > 0 || !fifo.isEmpty {
                clearPollsLeft = max(0, clearPollsLeft - 1)
                reply = [2, fifo.isEmpty ? 0 : 1]
            } else {
                reply = [1, 0]
            }
        case .initiateAbortBulkIn:
            let tag = UInt8(truncatingIfNeeded: value)
            if index != UInt16(layout.bulkInAddress) { hostViolations.append("abort Bulk-IN sent to endpoint \(index)") }
            if outstandingTag == tag || (!fifo.isEmpty && lastReplyTag == tag) {
                output = []
                outputOffset = 0
                outstandingTag = nil
                fifo = [[]]  // the short packet that ends the aborted transfer
                abortPollsLeft = abortPendingPolls
                reply = [1, tag]
            } else if outstandingTag != nil || !fifo.isEmpty {
                reply = [0x81, lastReplyTag]
            } else {
                reply = [0x80, 0]
            }
        case .checkAbortBulkInStatus:
            if abortPollsLeft > 0 {
                abortPollsLeft -= 1
                reply = [2, fifo.isEmpty ? 0 : 1, 0, 0, 0, 0, 0, 0]
            } else {
                reply = [1, 0, 0, 0, 0, 0, 0, 0]
            }
        case .initiateAbortBulkOut:
            let tag = UInt8(truncatingIfNeeded: value)
            reply = lastTimedOutWriteTag == tag ? [1, tag] : [0x80, 0]
            if lastTimedOutWriteTag == tag { bulkOutHalted = true }
        case .checkAbortBulkOutStatus:
            reply = [1, 0, 0, 0, 0, 0, 0, 0]
        case .readStatusByte:
            let tag = UInt8(truncatingIfNeeded: value)
            if !(2...127).contains(tag) { hostViolations.append("READ_STATUS_BYTE bTag \(tag) outside 2...127") }
            guard layout.isUSB488 else { throw USBTMCTransferError.stall }
            if layout.interruptInAddress != nil {
                if let srq = srqBeforeStatus { interruptQueue.append([0x81, srq]) }
                interruptQueue.append([0x80 | tag, stb])
                reply = [1, tag, 0]
            } else {
                reply = [1, tag, stb]
            }
        case .renControl:
            remoteEnabled = value == 1
            reply = [1]
        case .goToLocal:
            wentToLocal += 1
            reply = [1]
        case .localLockout:
            lockedOut = remoteEnabled
            reply = [remoteEnabled ? 1 : 0x80]
        case .indicatorPulse:
            reply = [1]
        case nil:
            throw USBTMCTransferError.stall
        }
        return Array(reply.prefix(length))
    }

    func controlOut(
        requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, data: [UInt8], timeoutMs: UInt32
    ) throws {
        controlCalls.append(ControlCall(requestType: requestType, request: request, value: value, index: index, length: data.count))
    }

    func interruptIn(maxLength: Int, timeoutMs: UInt32) throws -> [UInt8] {
        interruptInCalls += 1
        guard !interruptQueue.isEmpty else {
            clock.advance(timeoutMs)
            throw USBTMCTransferError.timedOut
        }
        return Array(interruptQueue.removeFirst().prefix(maxLength))
    }

    func clearHalt(_ pipe: USBTMCPipe) throws {
        clearedHalts.append(pipe)
        if pipe == .bulkOut { bulkOutHalted = false }
    }

    // MARK: - Instrument

    private func execute(_ message: [UInt8]) {
        var text = String(decoding: message, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        commands.append(text)
        let upper = text.uppercased()
        if upper == "*IDN?" {
            output.append(Array((identity + "\n").utf8))
        } else if upper.hasPrefix("DATA? "), let n = Int(upper.dropFirst(6).trimmingCharacters()) {
            output.append(Self.block(n))
        } else if upper.hasPrefix("ECHO? ") {
            output.append(Array((String(text.dropFirst(6)) + "\n").utf8))
        } else if upper == "*STB?" {
            output.append(Array("\(stb)\n".utf8))
        } else if upper == "*TRG" {
            triggers += 1
        }
    }

    /// Queues the Bulk-IN packets answering a REQUEST_DEV_DEP_MSG_IN.
    private func answer(_ request: USBTMCBulkHeader) {
        guard !output.isEmpty else {
            outstandingTag = request.tag
            return
        }
        outstandingTag = nil
        let message = output[0]
        if sendStaleReplyFirst {
            sendStaleReplyFirst = false
            let stale = request.tag == 1 ? 255 : request.tag - 1
            queue(transfer: USBTMCBulkHeader(messageID: 2, tag: stale, transferSize: 3, attributes: 1).bytes + [0x41, 0x42, 0x0A])
        }
        let tag = replyTag?(request.tag) ?? request.tag
        lastReplyTag = tag
        if headerOnce {
            let announce = min(headerOnceAnnounce, message.count - outputOffset)
            let header = USBTMCBulkHeader(messageID: replyMessageID, tag: tag, transferSize: UInt32(announce), attributes: 1)
            var transfer = header.bytes + Array(message[outputOffset...])
            if padBulkIn {
                transfer += [UInt8](repeating: 0, count: USBTMCBulkHeader.alignedLength(transfer.count) - transfer.count)
            }
            queue(transfer: transfer)
            output.removeFirst()
            outputOffset = 0
            return
        }
        var size = min(Int(request.transferSize), message.count - outputOffset, maxReplyTransfer ?? .max)
        var attributes: UInt8 = 0
        if request.termCharFlag && capabilities.termChar,
            let at = message[outputOffset..<(outputOffset + size)].firstIndex(of: request.termChar)
        {
            size = at - outputOffset + 1
            attributes |= 2
        }
        let payload = Array(message[outputOffset..<(outputOffset + size)])
        outputOffset += size
        if outputOffset == message.count {
            attributes |= 1
            output.removeFirst()
            outputOffset = 0
        }
        let header = USBTMCBulkHeader(messageID: replyMessageID, tag: tag, transferSize: UInt32(size), attributes: attributes)
        var transfer = header.bytes + payload
        if padBulkIn {
            transfer += [UInt8](repeating: 0, count: USBTMCBulkHeader.alignedLength(transfer.count) - transfer.count)
        }
        if splitHeaderPacket && !payload.isEmpty {
            fifo.append(Array(transfer.prefix(12)))
            queue(transfer: Array(transfer.dropFirst(12)))
        } else {
            queue(transfer: transfer)
        }
    }

    /// Splits one transfer into packets (plus a zero-length packet when it is an exact multiple).
    private func queue(transfer: [UInt8]) {
        let packet = layout.bulkInMaxPacket
        var offset = 0
        while offset < transfer.count {
            let n = min(packet, transfer.count - offset)
            fifo.append(Array(transfer[offset..<(offset + n)]))
            offset += n
        }
        if transfer.count % packet == 0 && zeroLengthPacketOnExactMultiple { fifo.append([]) }
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
