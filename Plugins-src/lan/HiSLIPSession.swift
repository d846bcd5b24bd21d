import CLitmusDriverABI
import LitmusDriverKit
import LitmusLANProtocol

/// A HiSLIP session (`TCPIP::host::hislip0[,port]::INSTR`, IVI-6.1).
///
/// Two TCP connections to the same port: the synchronous channel carries Data/DataEnd messages
/// (commands and responses) and Trigger; the asynchronous channel carries status queries,
/// device clear, locks and remote/local control. The session has no thread of its own: the
/// asynchronous channel is read when an operation waits for an answer there, and unsolicited
/// messages found on the way (service requests, AsyncInterrupted) are handled then.
///
/// Message IDs start at 0xFFFFFF00 and go up by 2 with each Data, DataEnd and Trigger sent. A
/// response is delivered only when its ID is the one of the last message sent (or 0xFFFFFFFF,
/// unsolicited); anything else is a stale response (to a query that timed out, or from before
/// a device clear) and is dropped. In overlapped mode, where the server answers pipelined
/// queries in order, every response up to the last message sent is delivered, except those of
/// queries whose read timed out before the next message was sent.
///
/// A read that times out leaves the session usable: a response arriving late is the answer to
/// the last message, so a second read returns it, and a new write makes it stale. FatalError
/// from the server, a broken byte stream or a lost connection end the session: that call fails
/// with `io` or `protocolViolation`, and every later call with `closed`, each saying why.
final class HiSLIPSession: DriverSession {
    /// The largest message (header included) this client accepts, announced with
    /// AsyncMaximumMessageSize: the VISA default.
    static let clientMaximumMessageSize = HiSLIP.defaultMaximumMessageSize
    /// The two-letter vendor ID sent in Initialize.
    static let vendorID = "LT"
    /// Largest error or fatal-error text kept (longer texts are cut).
    static let maxErrorText = 4096

    private let sync: HiSLIPChannel
    private let async: HiSLIPChannel
    private let services: HostServices
    /// `host:port`, for messages.
    let peer: String
    let subaddress: String
    let sessionID: UInt16
    /// The version both sides use (the lower of the two).
    let version: HiSLIPVersion
    let serverVendorID: String
    /// The largest message the server accepts, header included.
    let serverMaximumMessageSize: UInt64
    /// Overlapped mode (else synchronized), as the server set it at Initialize or at the last
    /// device clear.
    private(set) var overlapped: Bool

    private var timeoutMs: UInt32 = 2000
    /// The `lock_timeout_ms` open option: the default wait of the `lock` operation.
    private var lockTimeoutDefault: UInt32 = 0
    private var nextMessageID = HiSLIP.firstMessageID
    private var lastSentID = HiSLIP.noMessageSentID
    /// Whether a Data, DataEnd or Trigger went out since Initialize or the last device clear.
    private var sentSinceClear = false
    /// A whole response was delivered since the last message sent (RMT-delivered).
    private var rmtDelivered = false
    /// A read timed out since the last message sent: in overlapped mode, the responses to
    /// everything sent so far become stale when the next message goes out.
    private var readTimedOut = false
    /// Overlapped mode: responses with this ID or an earlier one are stale.
    private var staleThrough: UInt32?
    /// The Data/DataEnd message whose payload is being received.
    private var incoming: Incoming?
    /// Set when the session ended (FatalError, lost connection, broken stream).
    private var failure: DriverFailure?
    private var holdsLock = false
    /// Interrupted arrived on the synchronous channel: no message may be sent before the
    /// matching AsyncInterrupted arrives on the asynchronous channel.
    private var awaitingAsyncInterrupted = false
    /// AsyncInterrupted arrived before Interrupted: until Interrupted arrives, responses to
    /// messages before this one (the message that interrupted them) and unsolicited ones are
    /// dropped.
    private var interruptedBefore: UInt32?
    /// Interrupted arrived and the wait for its AsyncInterrupted timed out: that many late
    /// AsyncInterrupted messages are expected and consumed.
    private var lateAsyncInterrupted = 0
    /// Answers on the asynchronous channel to requests whose wait timed out, still to come.
    private var abandonedAsyncReplies: [HiSLIPMessageType: Int] = [:]
    /// The status byte of the last AsyncServiceRequest seen.
    private(set) var lastServiceRequest: UInt8?

    private struct Incoming {
        var type: HiSLIPMessageType
        var messageID: UInt32
        var remaining: UInt64
        var deliver: Bool
    }

    init(host: String, subaddress: String, port: Int, options: LANOptions, services: HostServices) throws {
        lockTimeoutDefault = options.lockTimeoutMs
        self.services = services
        self.subaddress = subaddress
        guard !subaddress.isEmpty, subaddress.utf8.count <= HiSLIP.maxSubaddressLength else {
            throw DriverFailure.invalidArgument(
                "the HiSLIP sub-address \"\(subaddress)\" must be 1 to \(HiSLIP.maxSubaddressLength) bytes")
        }
        let deadline = Deadline.after(milliseconds: options.connectTimeoutMs)
        let setup = try Self.initialize(
            host: host, port: port, subaddress: subaddress, deadline: deadline, budgetMs: options.connectTimeoutMs)
        sync = setup.sync
        async = setup.async
        peer = setup.sync.peer
        sessionID = setup.sessionID
        version = setup.version
        serverVendorID = setup.serverVendorID
        serverMaximumMessageSize = setup.serverMaximumMessageSize
        overlapped = setup.overlapped
        services.log(
            .debug, component: "hislip",
            "\(peer) \(subaddress): session \(sessionID), HiSLIP \(version), vendor \(serverVendorID), "
                + "\(overlapped ? "overlapped" : "synchronized") mode, server accepts messages up to \(serverMaximumMessageSize) bytes")
        if options.lock {
            do {
                try acquireLock(timeoutMs: options.lockTimeoutMs, budgetMs: options.connectTimeoutMs)
            } catch {
                sync.close()
                async.close()
                throw error
            }
        }
    }

    // MARK: - DriverSession

    func setTimeout(milliseconds: UInt32) throws {
        timeoutMs = milliseconds
    }

    func write(_ data: UnsafeRawBufferPointer) throws -> Int {
        try checkUsable()
        let deadline = Deadline.after(milliseconds: timeoutMs)
        let maxPayload = Int(min(serverMaximumMessageSize - UInt64(HiSLIPHeader.size), UInt64(Int.max)))
        var offset = 0
        do {
            try prepareToSend(deadline: deadline)
            repeat {
                let count = min(maxPayload, data.count - offset)
                let end = offset + count == data.count
                let header = HiSLIPHeader(
                    end ? .dataEnd : .data, controlCode: rmtDelivered ? HiSLIP.rmtDeliveredBit : 0,
                    parameter: nextMessageID, payloadLength: UInt64(count))
                let chunk = UnsafeRawBufferPointer(
                    start: data.baseAddress.map { $0 + offset }, count: data.baseAddress == nil ? 0 : count)
                do {
                    try sync.send(header, payload: chunk, deadline: deadline, what: "write")
                } catch {
                    // Bytes of the message went out: it counts as sent (its tail goes next).
                    if sync.hasUnsentBytes { messageSent() }
                    throw error
                }
                messageSent()
                offset += count
            } while offset < data.count
        } catch {
            throw fail(
                error, "write",
                detail: "\(offset) of \(data.count) bytes sent; after a write timeout, clear() the instrument before going on")
        }
        return data.count
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadOutcome {
        try checkUsable()
        let deadline = Deadline.after(milliseconds: timeoutMs)
        var filled = 0
        var dropped = 0
        do {
            while true {
                if let message = incoming {
                    if !message.deliver {
                        // It became stale (a message was sent since): drop the rest.
                        incoming = nil
                        try sync.skip(message.remaining, deadline: deadline, what: "read")
                        continue
                    }
                    if message.remaining > 0 {
                        if filled == buffer.count { return ReadOutcome(count: filled, end: .bufferFull) }
                        let want = Int(min(message.remaining, UInt64(buffer.count - filled)))
                        let n = try sync.receivePayload(
                            into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + want)]),
                            deadline: deadline, what: "read")
                        filled += n
                        incoming!.remaining -= UInt64(n)
                        continue
                    }
                    incoming = nil
                    if message.type == .dataEnd {
                        rmtDelivered = true
                        return ReadOutcome(count: filled, end: .endOfMessage)
                    }
                    continue
                }
                if filled > 0 && filled == buffer.count { return ReadOutcome(count: filled, end: .bufferFull) }
                if dropped > 0 { try checkDeadline(deadline, "read", dropped: dropped) }
                let header = try nextHeader(on: sync, deadline: deadline, what: "read")
                switch header.type {
                case .data, .dataEnd:
                    if accepts(header.parameter) {
                        incoming = Incoming(
                            type: header.type, messageID: header.parameter, remaining: header.payloadLength, deliver: true)
                    } else {
                        services.log(
                            .debug, component: "hislip",
                            "\(peer): dropping a stale \(header.type) of \(header.payloadLength) bytes for message "
                                + "0x\(String(header.parameter, radix: 16)) (last sent 0x\(String(lastSentID, radix: 16)))")
                        dropped += 1
                        try sync.skip(header.payloadLength, deadline: deadline, what: "read")
                    }
                case .interrupted:
                    // 488.2 "query interrupted": the server dropped a response; the client may
                    // send again once AsyncInterrupted has arrived as well.
                    services.log(.debug, component: "hislip", "\(peer): Interrupted (message 0x\(String(header.parameter, radix: 16)))")
                    if interruptedBefore != nil {
                        interruptedBefore = nil
                    } else {
                        awaitingAsyncInterrupted = true
                    }
                case .deviceClearAcknowledge:
                    services.log(.warning, component: "hislip", "\(peer): ignoring a DeviceClearAcknowledge outside a device clear")
                default:
                    dropped += 1
                    try sync.skip(header.payloadLength, deadline: deadline, what: "read")
                    services.log(.warning, component: "hislip", "\(peer): ignoring \(header.type) on the synchronous channel")
                }
            }
        } catch {
            if isTimeout(error) { readTimedOut = true }
            throw fail(
                error, "read",
                detail: filled == 0
                    ? "no response to message 0x\(String(lastSentID, radix: 16)) within \(timeoutMs) ms; if the command has no "
                        + "response, do not read; otherwise raise the timeout (a late response is dropped once the next message is sent)"
                    : "\(filled) bytes of the response received, then nothing within \(timeoutMs) ms")
        }
    }

    func clear() throws {
        try checkUsable()
        // Recovery has a budget of its own, never shorter than a second.
        let deadline = Deadline.after(milliseconds: timeoutMs == .max ? .max : max(timeoutMs, 1000))
        do {
            try async.send(HiSLIPMessage(.asyncDeviceClear), deadline: deadline, what: "clear (AsyncDeviceClear)")
            let acknowledge = try awaitAsync(.asyncDeviceClearAcknowledge, deadline: deadline, what: "clear")
            let requested = HiSLIPFeatures(rawValue: acknowledge.controlCode).intersection(.overlapped)
            try sync.flushUnsent(deadline: deadline, what: "clear")
            try sync.send(
                HiSLIPMessage(.deviceClearComplete, controlCode: requested.rawValue), deadline: deadline,
                what: "clear (DeviceClearComplete)")
            // Everything before DeviceClearAcknowledge on the synchronous channel is dropped,
            // starting with the rest of a message being received.
            if let message = incoming {
                incoming = nil
                try sync.skip(message.remaining, deadline: deadline, what: "clear")
            }
            var dropped = 0
            while true {
                if dropped > 0 { try checkDeadline(deadline, "clear", dropped: dropped) }
                let header = try nextHeader(on: sync, deadline: deadline, what: "clear")
                if header.type == .deviceClearAcknowledge {
                    overlapped = header.controlCode & HiSLIPFeatures.overlapped.rawValue != 0
                    break
                }
                dropped += 1
                try sync.skip(header.payloadLength, deadline: deadline, what: "clear")
            }
            if dropped > 0 {
                services.log(.debug, component: "hislip", "\(peer): device clear dropped \(dropped) pending messages")
            }
        } catch {
            throw fail(error, "clear", detail: "the device clear handshake did not complete")
        }
        nextMessageID = HiSLIP.firstMessageID
        lastSentID = HiSLIP.noMessageSentID
        sentSinceClear = false
        rmtDelivered = false
        readTimedOut = false
        staleThrough = nil
        awaitingAsyncInterrupted = false
        interruptedBefore = nil
        lateAsyncInterrupted = 0
    }

    func readStatusByte() throws -> UInt8 {
        try checkUsable()
        let deadline = Deadline.after(milliseconds: timeoutMs)
        do {
            try async.send(
                .statusQuery(lastMessageID: lastSentID, rmtDelivered: rmtDelivered), deadline: deadline,
                what: "read_stb (AsyncStatusQuery)")
            return try awaitAsync(.asyncStatusResponse, deadline: deadline, what: "read_stb").controlCode
        } catch {
            throw fail(error, "read_stb", detail: "no AsyncStatusResponse within \(timeoutMs) ms")
        }
    }

    func trigger() throws {
        try checkUsable()
        let deadline = Deadline.after(milliseconds: timeoutMs)
        do {
            try prepareToSend(deadline: deadline)
            try sync.send(
                .trigger(messageID: nextMessageID, rmtDelivered: rmtDelivered), deadline: deadline, what: "trigger")
            messageSent()
        } catch {
            if sync.hasUnsentBytes { messageSent() }
            throw fail(error, "trigger", detail: "the Trigger message was not sent")
        }
    }

    /// Sends AsyncRemoteLocalControl (REN, go to local, local lockout) and waits for its response.
    func remoteLocal(_ request: HiSLIPRemoteLocal) throws {
        try checkUsable()
        let deadline = Deadline.after(milliseconds: timeoutMs)
        do {
            try async.send(
                .remoteLocal(request, lastMessageID: lastSentID), deadline: deadline, what: "remote/local control")
            _ = try awaitAsync(.asyncRemoteLocalResponse, deadline: deadline, what: "remote/local control")
        } catch {
            throw fail(error, "remote/local control", detail: "no AsyncRemoteLocalResponse within \(timeoutMs) ms")
        }
    }

    func close() {
        if holdsLock && failure == nil && async.isOpen {
            // Release the lock politely; the server also drops it when the connection closes.
            let deadline = Deadline.after(milliseconds: min(timeoutMs, 500))
            do {
                try async.send(.lockRelease(lastMessageID: lastSentID), deadline: deadline, what: "lock release")
                _ = try awaitAsync(.asyncLockResponse, deadline: deadline, what: "lock release")
            } catch {
                services.log(.debug, component: "hislip", "\(peer): lock release at close: \(error)")
            }
            holdsLock = false
        }
        sync.close()
        async.close()
    }

    // MARK: - Locks

    /// Requests the exclusive lock, waiting up to `timeoutMs` for another client to release it.
    private func acquireLock(timeoutMs lockTimeout: UInt32, budgetMs: UInt32) throws {
        let total = UInt64(lockTimeout) + UInt64(budgetMs)
        let deadline = Deadline.after(milliseconds: UInt32(clamping: min(total, UInt64(UInt32.max - 1))))
        do {
            try async.send(.lockRequest(timeoutMilliseconds: lockTimeout), deadline: deadline, what: "lock")
            let reply = try awaitAsync(.asyncLockResponse, deadline: deadline, what: "lock")
            switch HiSLIPLockResult(rawValue: reply.controlCode) {
            case .success, .successShared:
                holdsLock = true
            case .failure:
                throw DriverFailure.busy(
                    "\(peer) \(subaddress) is locked by another client, which did not release it within \(lockTimeout) ms; "
                        + "wait for it to finish or raise lock_timeout_ms")
            case .error, nil:
                throw DriverFailure.failed(
                    "\(peer) refused the lock request (AsyncLockResponse \(reply.controlCode): invalid request)")
            }
        } catch let failure as DriverFailure where failure.status == Int32(LITMUS_E_BUSY) || failure.status == Int32(LITMUS_E_FAILED) {
            throw failure
        } catch {
            throw fail(error, "lock", detail: "no AsyncLockResponse within \(lockTimeout) ms + \(budgetMs) ms")
        }
    }

    // MARK: - Message IDs

    /// Whether a Data/DataEnd with `id` answers what the client asked for (see the type's doc).
    private func accepts(_ id: UInt32) -> Bool {
        if let newer = interruptedBefore, id == HiSLIP.unsolicitedMessageID || HiSLIP.messageID(id, precedes: newer) {
            return false
        }
        if id == HiSLIP.unsolicitedMessageID { return true }
        guard sentSinceClear else { return false }
        guard overlapped else { return id == lastSentID }
        if HiSLIP.messageID(lastSentID, precedes: id) || HiSLIP.messageID(id, precedes: HiSLIP.firstMessageID) {
            return false
        }
        if let stale = staleThrough, !HiSLIP.messageID(stale, precedes: id) { return false }
        return true
    }

    /// Book-keeping after a Data, DataEnd or Trigger went out.
    private func messageSent() {
        if readTimedOut {
            // Responses to everything sent before are abandoned.
            if sentSinceClear { staleThrough = lastSentID }
            readTimedOut = false
        }
        lastSentID = nextMessageID
        nextMessageID = HiSLIP.messageID(after: nextMessageID)
        sentSinceClear = true
        rmtDelivered = false
        if let message = incoming, message.deliver, !accepts(message.messageID) {
            incoming!.deliver = false
        }
    }

    /// Before a message goes out on the synchronous channel: finish a message whose send timed
    /// out, and wait for AsyncInterrupted if Interrupted arrived without it.
    private func prepareToSend(deadline: Deadline) throws {
        try sync.flushUnsent(deadline: deadline, what: "write")
        if awaitingAsyncInterrupted {
            do {
                _ = try awaitAsync(.asyncInterrupted, deadline: deadline, what: "waiting for AsyncInterrupted")
            } catch let failure as DriverFailure where failure.status == Int32(LITMUS_E_TIMEOUT) {
                services.log(.warning, component: "hislip", "\(peer): Interrupted arrived without AsyncInterrupted; sending anyway")
                lateAsyncInterrupted += 1
            }
            awaitingAsyncInterrupted = false
        }
    }

    // MARK: - Receiving

    /// The next header on `channel`, validated. Messages of undefined types or with undefined
    /// control codes are reported to the server with Error and skipped; FatalError ends the
    /// session; Error becomes an `instrument` failure.
    private func nextHeader(on channel: HiSLIPChannel, deadline: Deadline, what: String) throws -> HiSLIPHeader {
        var skipped = 0
        while true {
            if skipped > 0 { try checkDeadline(deadline, what, dropped: skipped) }
            let header = try channel.receiveHeader(deadline: deadline, what: what)
            do {
                try header.validate(maxPayloadLength: channel.maxPayloadLength)
            } catch let violation {
                guard violation.isRecoverable else { throw violation }
                services.log(.warning, component: "hislip", "\(peer): skipping a message on the \(channel.name): \(violation)")
                try channel.skip(header.payloadLength, deadline: deadline, what: what)
                try? channel.send(
                    .error(violation.errorCode, "\(violation)"), deadline: Deadline.after(milliseconds: 100),
                    what: "Error notification")
                skipped += 1
                continue
            }
            switch header.type {
            case .fatalError:
                throw try fatalError(header, on: channel, deadline: deadline, what: what)
            case .error:
                let text = try errorText(header, on: channel, deadline: deadline, what: what)
                let code = HiSLIPErrorCode(rawValue: header.controlCode)
                throw DriverFailure.instrument(
                    "\(what): \(peer) reported HiSLIP Error \(code.rawValue) (\(code))\(text.isEmpty ? "" : ": \"\(text)\""); "
                        + "it discarded the offending message",
                    vendorCode: Int32(code.rawValue))
            default:
                return header
            }
        }
    }

    /// Waits on the asynchronous channel for a message of `type`, handling unsolicited messages
    /// and late answers to requests that timed out on the way.
    private func awaitAsync(_ type: HiSLIPMessageType, deadline: Deadline, what: String) throws -> HiSLIPHeader {
        do {
            var dropped = 0
            while true {
                if dropped > 0 { try checkDeadline(deadline, what, dropped: dropped) }
                let header = try nextHeader(on: async, deadline: deadline, what: what)
                try async.skip(header.payloadLength, deadline: deadline, what: what)
                dropped += 1
                if header.type == type {
                    if let late = abandonedAsyncReplies[type], late > 0 {
                        // The answer to an earlier request of the same kind; ours comes next.
                        abandonedAsyncReplies[type] = late - 1
                        continue
                    }
                    return header
                }
                switch header.type {
                case .asyncServiceRequest:
                    lastServiceRequest = header.controlCode
                    services.log(.debug, component: "hislip", "\(peer): service request, status byte \(header.controlCode)")
                case .asyncInterrupted:
                    if awaitingAsyncInterrupted {
                        awaitingAsyncInterrupted = false
                    } else if lateAsyncInterrupted > 0 {
                        lateAsyncInterrupted -= 1
                    } else {
                        interruptedBefore = header.parameter
                    }
                default:
                    if let late = abandonedAsyncReplies[header.type], late > 0 {
                        abandonedAsyncReplies[header.type] = late - 1
                    } else {
                        services.log(
                            .warning, component: "hislip", "\(peer): ignoring an unexpected \(header.type) on the asynchronous channel")
                    }
                }
            }
        } catch {
            if isTimeout(error) && type != .asyncInterrupted { abandonedAsyncReplies[type, default: 0] += 1 }
            throw error
        }
    }

    private func errorText(_ header: HiSLIPHeader, on channel: HiSLIPChannel, deadline: Deadline, what: String) throws -> String {
        let keep = min(header.payloadLength, UInt64(Self.maxErrorText))
        let bytes = try channel.receivePayload(count: Int(keep), deadline: deadline, what: what)
        try channel.skip(header.payloadLength - keep, deadline: deadline, what: what)
        return HiSLIPMessage(.error, payload: bytes).payloadText()
    }

    /// Ends the session after a FatalError from the server; returns the failure of this call.
    private func fatalError(_ header: HiSLIPHeader, on channel: HiSLIPChannel, deadline: Deadline, what: String) throws
        -> DriverFailure
    {
        let keep = min(header.payloadLength, UInt64(Self.maxErrorText))
        let text = (try? channel.receivePayload(count: Int(keep), deadline: deadline, what: what))
            .map { HiSLIPMessage(.fatalError, payload: $0).payloadText() } ?? ""
        let code = HiSLIPFatalErrorCode(rawValue: header.controlCode)
        let reason =
            "\(peer) ended the HiSLIP session with FatalError \(code.rawValue) (\(code))\(text.isEmpty ? "" : ": \"\(text)\"")"
        end(DriverFailure.closed("\(reason); the session is closed: reopen the instrument"))
        return DriverFailure.io("\(what): \(reason); reopen the instrument", vendorCode: Int32(code.rawValue))
    }

    // MARK: - Failures

    /// A peer streaming messages that are all dropped must not hold a call past its deadline
    /// (waits for bytes honour it on their own).
    private func checkDeadline(_ deadline: Deadline, _ what: String, dropped: Int) throws {
        if deadline.hasPassed {
            throw DriverFailure.timeout("\(what): \(peer) sent only messages that were dropped (\(dropped)) until the deadline")
        }
    }

    private func checkUsable() throws {
        if let failure { throw failure }
    }

    private func isTimeout(_ error: any Error) -> Bool {
        (error as? DriverFailure)?.status == Int32(LITMUS_E_TIMEOUT)
    }

    /// Closes both channels; every later call fails with `failure`.
    private func end(_ failure: DriverFailure) {
        if self.failure == nil { self.failure = failure }
        holdsLock = false
        sync.close()
        async.close()
    }

    /// The error an operation throws for `error`: timeouts keep the session; a broken stream
    /// or a lost connection ends it.
    private func fail(_ error: any Error, _ operation: String, detail: String) -> any Error {
        if let violation = error as? HiSLIPViolation {
            let reason = "\(peer) broke the HiSLIP protocol: \(violation)"
            // Tell the server why the client gives up, as the specification asks.
            try? sync.send(
                .fatalError(.poorlyFormedHeader, "client: \(violation)"), deadline: Deadline.after(milliseconds: 100),
                what: "FatalError notification")
            end(DriverFailure.closed("\(reason); the session is closed: reopen the instrument"))
            return DriverFailure.protocolViolation("\(operation): \(reason); the session is closed: reopen the instrument")
        }
        guard let failure = error as? DriverFailure else { return error }
        switch failure.status {
        case Int32(LITMUS_E_TIMEOUT):
            return DriverFailure.timeout("\(operation) on \(peer) (HiSLIP): \(detail)")
        case Int32(LITMUS_E_IO) where self.failure == nil:
            end(DriverFailure.closed("the HiSLIP connection to \(peer) was lost (\(failure.message)); reopen the instrument"))
            return DriverFailure.io(
                "\(operation): the HiSLIP connection to \(peer) was lost: \(failure.message); reopen the instrument",
                vendorCode: failure.vendorCode)
        default:
            return failure
        }
    }
}

extension HiSLIPSession: LANControlSession {
    var defaultLockWaitMs: UInt32 { lockTimeoutDefault }

    func lockDevice(waitMs: UInt32) throws {
        try checkUsable()
        try acquireLock(timeoutMs: waitMs, budgetMs: timeoutMs)
    }

    func unlockDevice() throws {
        try checkUsable()
        guard holdsLock else { throw DriverFailure.failed("\(peer) \(subaddress): this session holds no lock to release") }
        let deadline = Deadline.after(milliseconds: timeoutMs)
        do {
            try async.send(.lockRelease(lastMessageID: lastSentID), deadline: deadline, what: "lock release")
            _ = try awaitAsync(.asyncLockResponse, deadline: deadline, what: "lock release")
            holdsLock = false
        } catch {
            throw fail(error, "lock release", detail: "no AsyncLockResponse within \(timeoutMs) ms")
        }
    }

    func goRemote() throws { try remoteLocal(.enableRemoteAndGoToRemote) }

    func goLocal() throws { try remoteLocal(.disableRemoteAndGoToLocal) }

    func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue {
        try invokeLANOperation(index, arguments)
    }
}
