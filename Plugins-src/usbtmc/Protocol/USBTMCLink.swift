/// How a ``USBTMCLink/read(into:)`` ended.
public struct USBTMCReadResult: Equatable, Sendable {
    public enum End: Sendable, Equatable {
        /// The device marked the end of the message (EOM) at the last byte returned.
        case endOfMessage
        /// The buffer filled before the end of the message.
        case bufferFull
        /// The transfer ended on the TermChar (only with a TermChar set), without EOM.
        case termChar
    }

    public var count: Int
    public var end: End

    public init(count: Int, end: End) {
        self.count = count
        self.end = end
    }
}

/// One open USBTMC / USB488 interface: the bulk message protocol (headers, bTags,
/// multi-transfer messages), device clear, the abort sequences after a timeout, and the
/// USB488 requests, written against a ``USBTMCEndpoint`` so that the same code runs over
/// libusb in the plugin and over a fake device in tests.
///
/// Every I/O call has one deadline (the session timeout) across all the transfers it takes.
/// Recovery after a timeout (INITIATE_ABORT_BULK_IN / _OUT and their status polls) has its own
/// small budget, so a timed-out read costs the timeout plus at most ``Configuration/abortBudgetMs``.
///
/// Not thread-safe: the host serialises the calls of one session.
public final class USBTMCLink {
    /// Fixed settings of one link.
    public struct Configuration: Sendable {
        public var layout: USBTMCInterfaceLayout
        public var quirks: USBTMCQuirks
        /// The I/O timeout (``USBTMCLink/timeoutMs`` may change it later); `UInt32.max` waits forever.
        public var timeoutMs: UInt32
        /// Time allowed for an abort sequence after a timeout, including draining Bulk-IN.
        public var abortBudgetMs: UInt32
        /// Time allowed for device clear's CHECK_CLEAR_STATUS polling.
        public var clearBudgetMs: UInt32
        /// The TermChar sent in read requests, when the device supports it (nil: none).
        public var termChar: UInt8?
        /// The largest TransferSize used in either direction (a quirk may lower it).
        public var maxTransferSize: Int

        public init(
            layout: USBTMCInterfaceLayout, quirks: USBTMCQuirks = .none, timeoutMs: UInt32 = 2000,
            abortBudgetMs: UInt32 = 300, clearBudgetMs: UInt32 = 1000, termChar: UInt8? = nil,
            maxTransferSize: Int = 1 << 20
        ) {
            self.layout = layout
            self.quirks = quirks
            self.timeoutMs = timeoutMs
            self.abortBudgetMs = abortBudgetMs
            self.clearBudgetMs = clearBudgetMs
            self.termChar = termChar
            self.maxTransferSize = max(1, maxTransferSize)
        }
    }

    /// How the message stands after the last buffered byte.
    enum PendingEnd: Equatable {
        case none, endOfMessage, termChar
    }

    /// A Bulk-IN transfer whose header has arrived but whose payload has not all arrived.
    struct IncomingTransfer {
        var tag: UInt8
        /// Payload bytes still expected.
        var remaining: Int
        var endOfMessage: Bool
        var endedOnTermChar: Bool
        /// Raw continuation of a `header_once` device: read until a short packet, every byte
        /// is message data.
        var untilShortPacket: Bool
        /// Payload bytes received so far and announced in total, for messages.
        var received: Int
        var announced: Int
    }

    /// How a transfer that just completed ended.
    struct TransferEnd {
        var endOfMessage: Bool
        var endedOnTermChar: Bool
    }

    public let endpoint: any USBTMCEndpoint
    public let clock: any USBTMCClock
    public let configuration: Configuration
    /// The I/O timeout in milliseconds; `UInt32.max` waits forever.
    public var timeoutMs: UInt32
    /// What the device said in GET_CAPABILITIES (see ``fetchCapabilities()``).
    public internal(set) var capabilities = USBTMCCapabilities()
    /// The status byte of the last SRQ notification seen on interrupt-IN, if any.
    public internal(set) var lastServiceRequest: UInt8?
    /// Receives one line per notable protocol event (debug logging).
    public var log: ((String) -> Void)?

    var tags = USBTMCTagCounter()
    var pending: [UInt8] = []
    var pendingOffset = 0
    var pendingEnd = PendingEnd.none
    var incoming: IncomingTransfer?
    var block = USBTMCBlockTracker()
    /// Replies with a stale bTag discarded since the last good reply (for the timeout hint).
    var staleRepliesDiscarded = 0
    /// `header_once` devices: bytes of the current message received so far, and how many its
    /// only header announced.
    var rawMessage: (received: Int, announced: Int)?

    public init(endpoint: any USBTMCEndpoint, configuration: Configuration, clock: any USBTMCClock = USBTMCSystemClock()) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.clock = clock
        self.timeoutMs = configuration.timeoutMs
    }

    var layout: USBTMCInterfaceLayout { configuration.layout }
    var quirks: USBTMCQuirks { configuration.quirks }

    /// The largest TransferSize in use.
    public var maxTransferSize: Int { min(configuration.maxTransferSize, quirks.maxTransferSize ?? .max) }

    /// The TermChar requests carry: the configured one, if the device supports TermChar.
    public var activeTermChar: UInt8? { capabilities.termChar ? configuration.termChar : nil }

    /// The last bulk bTag used.
    public var lastTag: UInt8 { tags.lastBulkTag }

    var pendingCount: Int { pending.count - pendingOffset }

    /// Forgets every byte of a response received but not delivered.
    public func discardInput() {
        if pendingCount > 0 || incoming != nil { log?("discarding \(pendingCount) undelivered response bytes") }
        pending = []
        pendingOffset = 0
        pendingEnd = .none
        incoming = nil
        rawMessage = nil
        block.reset()
    }

    // MARK: - Write

    /// Sends `data` as one message: DEV_DEP_MSG_OUT transfers of at most ``maxTransferSize``
    /// payload bytes, each with its own bTag, EOM on the last. Returns the bytes sent.
    ///
    /// A timeout runs the Bulk-OUT abort sequence before throwing; the error says how many
    /// bytes had gone out.
    @discardableResult
    public func write(_ data: UnsafeRawBufferPointer) throws -> Int {
        guard !data.isEmpty else { return 0 }
        if pendingCount > 0 || incoming != nil {
            // A new command makes an unread response stale.
            discardInput()
        }
        let deadline = USBTMCDeadline(after: timeoutMs, on: clock)
        let chunkSize = maxTransferSize
        var offset = 0
        while offset < data.count {
            let n = min(chunkSize, data.count - offset)
            let last = offset + n == data.count
            let tag = tags.nextBulkTag()
            let transfer = USBTMCBulkHeader.outTransfer(
                tag: tag, payload: UnsafeRawBufferPointer(rebasing: data[offset..<(offset + n)]), endOfMessage: last)
            try sendBulkOut(transfer, tag: tag, deadline: deadline) { "the message (\(offset) of \(data.count) bytes sent)" }
            offset += n
        }
        return data.count
    }

    /// Sends one Bulk-OUT transfer before `deadline`, running the abort sequence on a timeout.
    func sendBulkOut(_ transfer: [UInt8], tag: UInt8, deadline: USBTMCDeadline, what: () -> String) throws {
        let remaining = deadline.remaining(on: clock)
        guard remaining > 0 else {
            throw USBTMCError(.timeout, "timed out after \(timeoutMs) ms before sending \(what())")
        }
        do {
            try endpoint.bulkOut(transfer, timeoutMs: remaining)
        } catch USBTMCTransferError.timeout(let sent, _) {
            let recovery = abortBulkOut(tag: tag)
            throw USBTMCError(
                .timeout,
                "the device did not accept \(what()) within \(timeoutMs) ms (bTag \(tag), \(sent) of \(transfer.count) "
                    + "bytes of the transfer taken); \(recovery). Check that the instrument is not busy or in an error state")
        } catch USBTMCTransferError.cancelled(let sent, _) {
            let recovery = abortBulkOut(tag: tag)
            throw USBTMCError(
                .interrupted,
                "interrupted while sending \(what()) (bTag \(tag), \(sent) of \(transfer.count) bytes of the transfer "
                    + "taken); \(recovery)")
        } catch USBTMCTransferError.stall {
            try? endpoint.clearHalt(.bulkOut)
            throw USBTMCError(
                .io,
                "the device halted Bulk-OUT while receiving \(what()) (bTag \(tag)); the halt was cleared. The device "
                    + "rejected the transfer: check the command, or clear() the device")
        } catch {
            throw mapTransferError(error, doing: "sending \(what()) on Bulk-OUT")
        }
    }

    // MARK: - Read

    /// Reads up to `buffer.count` bytes of the current response.
    ///
    /// Sends REQUEST_DEV_DEP_MSG_IN for ``maxTransferSize`` bytes whatever the buffer holds
    /// (one request serves many small reads), receives the transfer (its first packet alone,
    /// for the header; then exactly the rest its TransferSize announces, so a transfer that
    /// ends on a packet boundary completes without waiting for a zero-length packet; alignment
    /// padding dropped), and keeps requesting until EOM or a full buffer. Bytes beyond the
    /// buffer are kept for the next read. A timeout runs the Bulk-IN abort sequence before throwing.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> USBTMCReadResult {
        let capacity = buffer.count
        guard capacity > 0, let base = buffer.baseAddress else { return USBTMCReadResult(count: 0, end: .bufferFull) }
        var filled = 0

        if pendingCount > 0 {
            filled = min(capacity, pendingCount)
            pending.withUnsafeBytes { src in
                base.copyMemory(from: src.baseAddress! + pendingOffset, byteCount: filled)
            }
            pendingOffset += filled
            if pendingCount == 0 {
                pending = []
                pendingOffset = 0
                let end = pendingEnd
                pendingEnd = .none
                switch end {
                case .endOfMessage: return USBTMCReadResult(count: filled, end: .endOfMessage)
                case .termChar: return USBTMCReadResult(count: filled, end: .termChar)
                case .none: break
                }
            }
            if filled == capacity { return USBTMCReadResult(count: filled, end: .bufferFull) }
        }

        let deadline = USBTMCDeadline(after: timeoutMs, on: clock)
        var emptyTransfers = 0
        while filled < capacity {
            var (payload, completed) =
                incoming == nil
                ? try receiveFirstTransfer(want: capacity - filled, deadline: deadline, delivered: filled)
                : try receiveContinuation(want: capacity - filled, deadline: deadline, delivered: filled)
            if rawMessage != nil { payload = trimRawMessage(payload) }
            block.consume(payload)
            let n = min(payload.count, capacity - filled)
            if n > 0 {
                payload.withUnsafeBytes { src in
                    (base + filled).copyMemory(from: src.baseAddress!, byteCount: n)
                }
                filled += n
            }
            if n < payload.count {
                pending = Array(payload.dropFirst(n))
                pendingOffset = 0
            }
            if let completed {
                emptyTransfers = payload.isEmpty ? emptyTransfers + 1 : 0
                if emptyTransfers > 64 {
                    throw USBTMCError(
                        .protocolViolation,
                        "the device answered \(emptyTransfers) read requests in a row with empty transfers and no EOM "
                            + "(last bTag \(tags.lastBulkTag)); call clear() and check the instrument")
                }
                let end = messageEnd(after: completed)
                if end != .none {
                    block.reset()
                    rawMessage = nil
                    if pendingCount > 0 {
                        pendingEnd = end
                        return USBTMCReadResult(count: filled, end: .bufferFull)
                    }
                    return USBTMCReadResult(count: filled, end: end == .endOfMessage ? .endOfMessage : .termChar)
                }
                if quirks.headerOnlyInFirstTransfer, let left = block.remainingData, left > 0 {
                    // The device sends the rest of the block raw, without a new header.
                    incoming = IncomingTransfer(
                        tag: tags.lastBulkTag, remaining: left, endOfMessage: true, endedOnTermChar: false,
                        untilShortPacket: true, received: 0, announced: left)
                }
            }
            if pendingCount > 0 { return USBTMCReadResult(count: filled, end: .bufferFull) }
        }
        return USBTMCReadResult(count: filled, end: .bufferFull)
    }

    /// Whether the message ends after a transfer that ended like `end`.
    func messageEnd(after end: TransferEnd) -> PendingEnd {
        if end.endOfMessage {
            if quirks.trustBlockLength && block.isInsideBlock {
                log?("EOM inside an IEEE block ignored (trust_block_length); \(block.remainingData ?? 0) block bytes to come")
                return .none
            }
            return .endOfMessage
        }
        if end.endedOnTermChar && activeTermChar != nil { return .termChar }
        return .none
    }

    /// Sends a read request and receives the first Bulk-IN transfer of the reply. Returns
    /// its payload, and how it ended if the transfer is complete (otherwise ``incoming`` is set).
    func receiveFirstTransfer(want: Int, deadline: USBTMCDeadline, delivered: Int) throws -> (ArraySlice<UInt8>, TransferEnd?) {
        // Ask for a whole transfer, not just what this read wants: the rest waits in
        // `pending` for the next reads, so reading a block a byte at a time costs one request.
        let size = maxTransferSize
        let packet = layout.bulkInMaxPacket
        let tag = tags.nextBulkTag()
        let request = USBTMCBulkHeader.requestDevDepMsgIn(tag: tag, transferSize: UInt32(size), termChar: activeTermChar)
        try sendBulkOut(request.bytes, tag: tag, deadline: deadline) { "the read request for \(size) bytes" }

        var emptyTransfers = 0
        var staleTransfers = 0
        while true {
            // The first packet alone: it holds the header, whose TransferSize says how much more
            // to read. A longer buffer would wait for a zero-length packet (or the timeout) when
            // the reply ends on a packet boundary and the device sends none.
            let data = try receiveBulkIn(maxLength: packet, tag: tag, deadline: deadline, delivered: delivered)
            if data.isEmpty {
                // A zero-length packet left over from an earlier transfer that was an exact
                // multiple of the packet size; the header comes next.
                emptyTransfers += 1
                if emptyTransfers > 4 {
                    throw violation(
                        "the device answered the read request (bTag \(tag)) with \(emptyTransfers) empty transfers and no header",
                        tag: tag)
                }
                continue
            }
            guard let header = USBTMCBulkHeader(decoding: data) else {
                throw violation(
                    "a Bulk-IN transfer of \(data.count) bytes is too short for a USBTMC header (\(hexDump(data))); "
                        + "expected the reply to bTag \(tag)", tag: tag)
            }
            guard header.isTagConsistent else {
                throw violation(
                    "the Bulk-IN header is garbage: bTagInverse does not match bTag (\(hexDump(data.prefix(12)))); "
                        + "expected the reply to bTag \(tag)", tag: tag)
            }
            if header.messageID != USBTMCProtocol.MessageID.devDepMsgIn.rawValue && !quirks.acceptAnyReplyMessageID {
                throw violation(
                    "the reply has MsgID \(header.messageID), not DEV_DEP_MSG_IN (2) (\(hexDump(data.prefix(12)))); if this "
                        + "instrument always does this, open it with quirks=any_msgid", tag: tag)
            }
            if header.tag != tag && !quirks.ignoreReplyTag {
                staleTransfers += 1
                if staleTransfers <= 2 && isRecent(header.tag, before: tag) {
                    // A late reply to an earlier, aborted request: drop it and wait for ours.
                    staleRepliesDiscarded += 1
                    log?("discarding a stale reply with bTag \(header.tag) (waiting for \(tag), \(header.transferSize) bytes)")
                    try skipRestOfTransfer(
                        announced: Int(header.transferSize), receivedLength: data.count, tag: tag, deadline: deadline,
                        delivered: delivered)
                    continue
                }
                throw violation(
                    "bTag mismatch: the reply carries bTag \(header.tag), the request had \(tag) (\(hexDump(data.prefix(12)))); "
                        + "if this instrument always does this, open it with quirks=ignore_btag", tag: tag)
            }
            let announced = Int(header.transferSize)
            if announced > size && !quirks.headerOnlyInFirstTransfer {
                throw violation(
                    "the device announced \(announced) bytes in reply to a request for \(size) (bTag \(tag)); "
                        + "if this instrument always does this, open it with quirks=header_once", tag: tag)
            }
            staleRepliesDiscarded = 0
            let end = TransferEnd(endOfMessage: header.endOfMessage, endedOnTermChar: header.termCharFlag)
            if quirks.headerOnlyInFirstTransfer {
                // Everything after this header, up to a short packet, is message data.
                rawMessage = (0, announced)
                let payload = data[USBTMCProtocol.headerSize...]
                if data.count < packet { return (payload, end) }
                incoming = IncomingTransfer(
                    tag: tag, remaining: max(0, announced - payload.count), endOfMessage: header.endOfMessage,
                    endedOnTermChar: false, untilShortPacket: true, received: payload.count, announced: announced)
                return (payload, nil)
            }
            let available = data.count - USBTMCProtocol.headerSize
            let take = min(announced, available)
            // Bytes after the announced payload are alignment padding.
            let payload = data[USBTMCProtocol.headerSize..<(USBTMCProtocol.headerSize + take)]
            if take == announced { return (payload, end) }
            if data.count < packet {
                // The device ended the USB transfer (short packet) before the announced payload:
                // not what the specification says, but the rest usually follows; read it.
                log?("bTag \(tag): \(take) of \(announced) bytes in the first transfer; reading the rest")
            }
            incoming = IncomingTransfer(
                tag: tag, remaining: announced - take, endOfMessage: header.endOfMessage,
                endedOnTermChar: header.termCharFlag, untilShortPacket: false, received: take, announced: announced)
            return (payload, nil)
        }
    }

    /// `header_once` devices: drops what follows the message in raw data, which is padding:
    /// bytes after an IEEE block and its terminator, or after the announced length otherwise.
    func trimRawMessage(_ payload: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard var raw = rawMessage else { return payload }
        var probe = block
        probe.consume(payload)
        let limit = probe.blockLength.map { $0 + 1 } ?? raw.announced
        let allowed = max(0, limit - raw.received)
        raw.received += payload.count
        rawMessage = raw
        if payload.count > allowed {
            log?("header_once: dropping \(payload.count - allowed) bytes after the end of the message")
            return payload.prefix(allowed)
        }
        return payload
    }

    /// Receives more payload of ``incoming`` (no header: the header is only in the first
    /// packet of a transfer).
    func receiveContinuation(want: Int, deadline: USBTMCDeadline, delivered: Int) throws -> (ArraySlice<UInt8>, TransferEnd?) {
        guard var transfer = incoming else { return ([], nil) }
        let packet = layout.bulkInMaxPacket
        let maxLength: Int
        if transfer.untilShortPacket {
            // Raw data of unknown length: room for what is expected or wanted, plus a packet.
            let n = min(max(transfer.remaining, want, 1), maxTransferSize)
            maxLength = (n + packet - 1) / packet * packet + packet
        } else {
            let n = min(max(transfer.remaining, 1), maxTransferSize)
            maxLength = (USBTMCBulkHeader.alignedLength(n) + packet - 1) / packet * packet
        }
        var data: [UInt8] = []
        var empties = 0
        while data.isEmpty {
            data = try receiveBulkIn(maxLength: maxLength, tag: transfer.tag, deadline: deadline, delivered: delivered)
            if data.isEmpty {
                if transfer.untilShortPacket && transfer.remaining == 0 {
                    incoming = nil
                    return ([], TransferEnd(endOfMessage: transfer.endOfMessage, endedOnTermChar: false))
                }
                empties += 1
                if empties > 2 {
                    throw violation(
                        "the transfer ended after \(transfer.received) of the \(transfer.announced) bytes its header announced "
                            + "(bTag \(transfer.tag))", tag: transfer.tag)
                }
            }
        }
        let shortPacket = data.count % packet != 0 || data.count < maxLength
        if transfer.untilShortPacket {
            transfer.remaining = max(0, transfer.remaining - data.count)
            transfer.received += data.count
            if shortPacket {
                incoming = nil
                return (data[...], TransferEnd(endOfMessage: transfer.endOfMessage, endedOnTermChar: false))
            }
            incoming = transfer
            return (data[...], nil)
        }
        let take = min(transfer.remaining, data.count)
        transfer.remaining -= take
        transfer.received += take
        if transfer.remaining == 0 {
            incoming = nil
            return (data[0..<take], TransferEnd(endOfMessage: transfer.endOfMessage, endedOnTermChar: transfer.endedOnTermChar))
        }
        incoming = transfer
        return (data[0..<take], nil)
    }

    /// One Bulk-IN transfer before `deadline`. A timeout runs the Bulk-IN abort sequence for
    /// `tag` and throws; `delivered` counts the bytes already returned by this read, for the message.
    func receiveBulkIn(maxLength: Int, tag: UInt8, deadline: USBTMCDeadline, delivered: Int) throws -> [UInt8] {
        let remaining = deadline.remaining(on: clock)
        do {
            guard remaining > 0 else { throw USBTMCTransferError.timedOut }
            return try endpoint.bulkIn(maxLength: maxLength, timeoutMs: remaining)
        } catch USBTMCTransferError.timeout(_, let data) where !data.isEmpty {
            // The device did not end the transfer with a short or zero-length packet; use what came.
            log?("bTag \(tag): no short packet ended the transfer; using the \(data.count) bytes received before the timeout")
            return data
        } catch USBTMCTransferError.timeout {
            incoming = nil
            block.reset()
            let recovery = abortBulkIn(tag: tag)
            var text =
                "no response within \(timeoutMs) ms to the read request (bTag \(tag))"
                + (delivered > 0 ? " after \(delivered) bytes of this read" : "") + "; \(recovery)"
            if staleRepliesDiscarded > 0 {
                text += "; \(staleRepliesDiscarded) reply(ies) with an older bTag were discarded: if this instrument "
                    + "always answers with a stale bTag, open it with quirks=ignore_btag"
            } else {
                text += ". Check that the command was a query and that the instrument had an answer"
            }
            staleRepliesDiscarded = 0
            throw USBTMCError(.timeout, text)
        } catch USBTMCTransferError.cancelled {
            incoming = nil
            block.reset()
            let recovery = abortBulkIn(tag: tag)
            throw USBTMCError(
                .interrupted,
                "interrupted while waiting for the reply to bTag \(tag)"
                    + (delivered > 0 ? " after \(delivered) bytes of this read" : "") + "; \(recovery)")
        } catch USBTMCTransferError.stall {
            incoming = nil
            try? endpoint.clearHalt(.bulkIn)
            throw USBTMCError(
                .io, "the device halted Bulk-IN while answering bTag \(tag); the halt was cleared. Call clear() before retrying")
        } catch USBTMCTransferError.overflow {
            incoming = nil
            _ = abortBulkIn(tag: tag)
            throw USBTMCError(
                .protocolViolation,
                "the device sent more than the \(maxLength)-byte transfer it was asked for (bTag \(tag)); the input was drained")
        } catch USBTMCTransferError.failed(let code, let reason) {
            // The transfer failed under us (an I/O error, a transfer torn down by a signal in
            // the USB library's wait): the device still holds the read request, so abort it as
            // after a timeout, or the next query reads this one's reply.
            incoming = nil
            block.reset()
            let recovery = abortBulkIn(tag: tag)
            throw USBTMCError(.io, "USB error reading Bulk-IN (bTag \(tag)): \(reason); \(recovery)", vendorCode: code)
        } catch {
            incoming = nil
            throw mapTransferError(error, doing: "reading Bulk-IN (bTag \(tag))")
        }
    }

    /// Reads and drops the rest of a transfer whose header announced `announced` payload bytes,
    /// after its first `receivedLength` bytes (header included): exactly what is left, so the
    /// read never waits for a zero-length packet.
    func skipRestOfTransfer(
        announced: Int, receivedLength: Int, tag: UInt8, deadline: USBTMCDeadline, delivered: Int
    ) throws {
        let packet = layout.bulkInMaxPacket
        var left = USBTMCBulkHeader.alignedLength(USBTMCProtocol.headerSize + min(announced, maxTransferSize)) - receivedLength
        var lastLength = receivedLength
        var reads = 0
        while left > 0 && lastLength % packet == 0 && lastLength > 0 && reads < 4096 {
            let data = try receiveBulkIn(
                maxLength: (left + packet - 1) / packet * packet, tag: tag, deadline: deadline, delivered: delivered)
            left -= data.count
            lastLength = data.count
            reads += 1
        }
    }

    /// Whether `old` is one of the few bTags used just before `current`.
    func isRecent(_ old: UInt8, before current: UInt8) -> Bool {
        var t = current
        for _ in 0..<8 {
            t = t == 1 ? 255 : t - 1
            if t == old { return true }
        }
        return false
    }

    /// A protocol violation on the reply to `tag`: drains Bulk-IN (abort sequence) so the
    /// next exchange starts clean, then returns the error to throw.
    func violation(_ message: String, tag: UInt8) -> USBTMCError {
        incoming = nil
        block.reset()
        let recovery = abortBulkIn(tag: tag)
        return USBTMCError(.protocolViolation, message + "; \(recovery)")
    }

    /// A ``USBTMCTransferError`` (or anything else) as a ``USBTMCError``.
    func mapTransferError(_ error: any Error, doing what: String) -> USBTMCError {
        if let e = error as? USBTMCError { return e }
        switch error as? USBTMCTransferError {
        case .timeout?: return USBTMCError(.timeout, "timed out \(what)")
        case .cancelled?: return USBTMCError(.interrupted, "interrupted \(what)")
        case .stall?: return USBTMCError(.io, "the device stalled (endpoint halted) \(what)")
        case .overflow?: return USBTMCError(.protocolViolation, "the device sent more than asked \(what)")
        case .disconnected?:
            return USBTMCError(.disconnected, "the device disconnected \(what); reconnect it and open the session again")
        case .failed(let code, let reason)?:
            return USBTMCError(.io, "USB error \(what): \(reason)", vendorCode: code)
        case nil: return USBTMCError(.io, "\(what) failed: \(error)")
        }
    }
}
