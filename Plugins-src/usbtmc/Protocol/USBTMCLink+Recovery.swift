/// Device clear and the abort sequences, each with a bounded budget.
extension USBTMCLink {
    /// Polls of a status request before giving up, whatever the budget.
    static let maxStatusPolls = 100
    /// Bulk-IN reads while draining, whatever the budget.
    static let maxDrainReads = 64
    /// Longest wait of one drain read: a device with nothing more to send answers with
    /// nothing, and this bounds how long that costs.
    static let drainReadTimeoutMs: UInt32 = 50
    /// Shortest timeout a control request gets, even when its budget is spent.
    static let minimumControlTimeoutMs: UInt32 = 50

    /// Device clear (USBTMC INITIATE_CLEAR): the device empties its input and output
    /// buffers. Polls CHECK_CLEAR_STATUS (draining Bulk-IN when the device says it holds data)
    /// within ``Configuration/clearBudgetMs``, then clears the Bulk-OUT halt the clear leaves,
    /// and forgets every undelivered byte on this side.
    public func clear() throws {
        discardInput()
        let deadline = USBTMCDeadline(after: configuration.clearBudgetMs, on: clock)
        let status = try classRequest(.initiateClear, length: 1, deadline: deadline)
        guard status[0] == USBTMCProtocol.Status.success.rawValue else {
            throw USBTMCError(
                .instrument,
                "device clear refused: INITIATE_CLEAR answered \(USBTMCProtocol.Status.describe(status[0])); "
                    + "the device may be in a state only a power cycle resets", vendorCode: Int32(status[0]))
        }
        var polls = 0
        var drained = 0
        var pause: UInt32 = 5
        while true {
            let reply = try classRequest(.checkClearStatus, length: 2, deadline: deadline)
            polls += 1
            if reply[0] == USBTMCProtocol.Status.success.rawValue { break }
            guard reply[0] == USBTMCProtocol.Status.pending.rawValue else {
                throw USBTMCError(
                    .instrument,
                    "device clear failed: CHECK_CLEAR_STATUS answered \(USBTMCProtocol.Status.describe(reply[0])) after "
                        + "\(polls) poll(s)", vendorCode: Int32(reply[0]))
            }
            let remaining = deadline.remaining(on: clock)
            guard polls < Self.maxStatusPolls, remaining > 0 else {
                throw USBTMCError(
                    .timeout,
                    "device clear still PENDING after \(polls) polls (\(configuration.clearBudgetMs) ms budget, \(drained) "
                        + "bytes drained); the device did not finish clearing: power-cycle it if this persists")
            }
            if reply.count >= 2 && reply[1] & 0x01 != 0 {
                // bmClear.D0: the Bulk-IN FIFO still holds data; read it out.
                drained += drainBulkIn(deadline: deadline)
            } else {
                clock.sleep(milliseconds: min(pause, remaining))
                pause = min(pause * 2, 50)
            }
        }
        do {
            try endpoint.clearHalt(.bulkOut)
        } catch {
            throw mapTransferError(error, doing: "clearing the Bulk-OUT halt after device clear")
        }
        log?("device clear done after \(polls) CHECK_CLEAR_STATUS poll(s), \(drained) bytes drained")
    }

    /// Aborts the Bulk-IN transfer of `tag` (after a timeout or a garbled reply):
    /// INITIATE_ABORT_BULK_IN, drain Bulk-IN to a short packet, then CHECK_ABORT_BULK_IN_STATUS
    /// until it is no longer PENDING, all within ``Configuration/abortBudgetMs``. Never throws;
    /// returns what happened, for the error message of the caller.
    @discardableResult
    public func abortBulkIn(tag: UInt8) -> String {
        discardInput()
        let deadline = USBTMCDeadline(after: configuration.abortBudgetMs, on: clock)
        do {
            let reply = try endpointRequest(
                .initiateAbortBulkIn, value: UInt16(tag), endpoint: layout.bulkInAddress, length: 2, deadline: deadline)
            switch USBTMCProtocol.Status(rawValue: reply[0]) {
            case .success:
                break
            case .failed:
                // Nothing in progress and nothing queued: the device had no reply.
                return "the device had no transfer in progress to abort"
            case .transferNotInProgress:
                let drained = drainBulkIn(deadline: deadline)
                return "the device reported another transfer in progress (TRANSFER_NOT_IN_PROGRESS); \(drained) bytes drained"
            default:
                return "INITIATE_ABORT_BULK_IN answered \(USBTMCProtocol.Status.describe(reply[0]))"
            }
            var drained = drainBulkIn(deadline: deadline)
            var polls = 0
            while polls < Self.maxStatusPolls {
                let check = try endpointRequest(
                    .checkAbortBulkInStatus, value: 0, endpoint: layout.bulkInAddress, length: 8, deadline: deadline)
                polls += 1
                guard check[0] == USBTMCProtocol.Status.pending.rawValue else {
                    if check[0] == USBTMCProtocol.Status.success.rawValue {
                        return "the transfer was aborted (\(drained) bytes drained)"
                    }
                    return "CHECK_ABORT_BULK_IN_STATUS answered \(USBTMCProtocol.Status.describe(check[0])) (\(drained) bytes drained)"
                }
                let remaining = deadline.remaining(on: clock)
                guard remaining > 0 else { break }
                if check.count >= 2 && check[1] & 0x01 != 0 {
                    drained += drainBulkIn(deadline: deadline)
                } else {
                    clock.sleep(milliseconds: min(5, remaining))
                }
            }
            return "the abort was still PENDING after \(polls) polls (\(configuration.abortBudgetMs) ms budget); "
                + "call clear() before retrying"
        } catch {
            return "the abort sequence failed (\(error)); call clear() before retrying"
        }
    }

    /// Aborts the Bulk-OUT transfer of `tag` (after a write timeout): INITIATE_ABORT_BULK_OUT,
    /// CHECK_ABORT_BULK_OUT_STATUS until not PENDING, then CLEAR_FEATURE(ENDPOINT_HALT) on
    /// Bulk-OUT, within ``Configuration/abortBudgetMs``. Never throws; returns what happened.
    @discardableResult
    public func abortBulkOut(tag: UInt8) -> String {
        let deadline = USBTMCDeadline(after: configuration.abortBudgetMs, on: clock)
        do {
            let reply = try endpointRequest(
                .initiateAbortBulkOut, value: UInt16(tag), endpoint: layout.bulkOutAddress, length: 2, deadline: deadline)
            guard reply[0] == USBTMCProtocol.Status.success.rawValue else {
                try? endpoint.clearHalt(.bulkOut)
                return "INITIATE_ABORT_BULK_OUT answered \(USBTMCProtocol.Status.describe(reply[0]))"
            }
            var polls = 0
            var received: UInt32?
            var outcome = "the transfer was aborted"
            while true {
                let check = try endpointRequest(
                    .checkAbortBulkOutStatus, value: 0, endpoint: layout.bulkOutAddress, length: 8, deadline: deadline)
                polls += 1
                if check.count >= 8 {
                    received = UInt32(check[4]) | UInt32(check[5]) << 8 | UInt32(check[6]) << 16 | UInt32(check[7]) << 24
                }
                if check[0] != USBTMCProtocol.Status.pending.rawValue {
                    if check[0] != USBTMCProtocol.Status.success.rawValue {
                        outcome = "CHECK_ABORT_BULK_OUT_STATUS answered \(USBTMCProtocol.Status.describe(check[0]))"
                    }
                    break
                }
                let remaining = deadline.remaining(on: clock)
                guard polls < Self.maxStatusPolls, remaining > 0 else {
                    outcome = "the abort was still PENDING after \(polls) polls"
                    break
                }
                clock.sleep(milliseconds: min(5, remaining))
            }
            try endpoint.clearHalt(.bulkOut)
            return outcome + (received.map { " (the device had received \($0) bytes of it)" } ?? "")
        } catch {
            return "the abort sequence failed (\(error)); call clear() before retrying"
        }
    }

    /// Reads and drops Bulk-IN data until a short packet, a timeout or `deadline`; returns
    /// the bytes dropped.
    @discardableResult
    func drainBulkIn(deadline: USBTMCDeadline) -> Int {
        let packet = layout.bulkInMaxPacket
        let length = max(packet, (65536 / packet) * packet)
        var total = 0
        for _ in 0..<Self.maxDrainReads {
            let remaining = deadline.remaining(on: clock)
            guard remaining > 0 else { break }
            guard let data = try? endpoint.bulkIn(maxLength: length, timeoutMs: min(remaining, Self.drainReadTimeoutMs))
            else { break }
            total += data.count
            if data.count % packet != 0 || data.count < length { break }
        }
        if total > 0 { log?("drained \(total) bytes from Bulk-IN") }
        return total
    }

    /// A class request to the interface (bmRequestType 0xA1); the reply has at least one byte.
    func classRequest(
        _ request: USBTMCProtocol.Request, value: UInt16 = 0, length: Int, deadline: USBTMCDeadline
    ) throws -> [UInt8] {
        try control(
            request, requestType: USBTMCProtocol.requestTypeInterfaceIn, value: value, index: UInt16(layout.interfaceNumber),
            length: length, deadline: deadline)
    }

    /// A class request to an endpoint (bmRequestType 0xA2); the reply has at least one byte.
    func endpointRequest(
        _ request: USBTMCProtocol.Request, value: UInt16, endpoint address: UInt8, length: Int, deadline: USBTMCDeadline
    ) throws -> [UInt8] {
        try control(
            request, requestType: USBTMCProtocol.requestTypeEndpointIn, value: value, index: UInt16(address),
            length: length, deadline: deadline)
    }

    private func control(
        _ request: USBTMCProtocol.Request, requestType: UInt8, value: UInt16, index: UInt16, length: Int,
        deadline: USBTMCDeadline
    ) throws -> [UInt8] {
        // A status poll made as the budget runs out still gets a short timeout of its own, so a
        // sequence ends on the device's answer rather than on an empty budget.
        let remaining = max(deadline.remaining(on: clock), Self.minimumControlTimeoutMs)
        let reply: [UInt8]
        do {
            reply = try endpoint.controlIn(
                requestType: requestType, request: request.rawValue, value: value, index: index, length: length,
                timeoutMs: remaining)
        } catch USBTMCTransferError.stall {
            throw USBTMCError(.unsupported, "the device refused \(request.name) (control request stalled)")
        } catch {
            throw mapTransferError(error, doing: "in \(request.name)")
        }
        guard !reply.isEmpty else {
            throw USBTMCError(.protocolViolation, "\(request.name) returned no data (expected \(length) bytes)")
        }
        return reply
    }
}
