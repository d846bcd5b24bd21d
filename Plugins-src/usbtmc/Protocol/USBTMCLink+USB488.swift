/// GET_CAPABILITIES, the USB488 requests (READ_STATUS_BYTE, TRIGGER, REN_CONTROL,
/// GO_TO_LOCAL, LOCAL_LOCKOUT) and INDICATOR_PULSE.
extension USBTMCLink {
    /// Asks the device for its capabilities (GET_CAPABILITIES) and keeps them in
    /// ``capabilities``. A device that refuses the request (stall, failure status) is treated
    /// as having no optional capability; only a disconnected device throws.
    @discardableResult
    public func fetchCapabilities() throws -> USBTMCCapabilities {
        let deadline = USBTMCDeadline(after: min(timeoutMs, 5000), on: clock)
        do {
            let reply = try classRequest(.getCapabilities, length: 0x18, deadline: deadline)
            capabilities = try USBTMCCapabilities(reply: reply)
        } catch let error as USBTMCError where error.kind == .disconnected {
            throw error
        } catch {
            log?("GET_CAPABILITIES failed (\(error)); assuming no TermChar, no TRIGGER, no REN_CONTROL")
            capabilities = USBTMCCapabilities()
        }
        return capabilities
    }

    /// Reads the status byte (USB488 READ_STATUS_BYTE, a serial poll).
    ///
    /// When the interface has an interrupt-IN endpoint the device answers there with
    /// `[0x80 | bTag, STB]`; SRQ notifications (`[0x81, STB]`) and stale replies met on the
    /// way are recorded (``lastServiceRequest``) or skipped. Otherwise the STB is byte 2 of the
    /// control reply.
    public func readStatusByte() throws -> UInt8 {
        guard layout.isUSB488 else {
            throw USBTMCError(
                .unsupported,
                "this is a plain USBTMC interface (protocol 0), not USB488: it has no READ_STATUS_BYTE; "
                    + "query *STB? instead if the instrument understands it")
        }
        let deadline = USBTMCDeadline(after: timeoutMs, on: clock)
        let tag = tags.nextStatusTag()
        let reply = try classRequest(.readStatusByte, value: UInt16(tag), length: 3, deadline: deadline)
        switch USBTMCProtocol.Status(rawValue: reply[0]) {
        case .success:
            break
        case .interruptInBusy:
            throw USBTMCError(
                .busy, "READ_STATUS_BYTE answered INTERRUPT_IN_BUSY: the previous status notification was not read yet",
                vendorCode: Int32(reply[0]))
        default:
            throw USBTMCError(
                .instrument, "READ_STATUS_BYTE answered \(USBTMCProtocol.Status.describe(reply[0]))",
                vendorCode: Int32(reply[0]))
        }
        guard reply.count >= 3 else {
            throw USBTMCError(.protocolViolation, "READ_STATUS_BYTE returned \(reply.count) bytes (\(hexDump(reply))); 3 expected")
        }
        guard reply[1] == tag else {
            throw USBTMCError(
                .protocolViolation, "READ_STATUS_BYTE reply carries bTag \(reply[1]); the request had \(tag) (\(hexDump(reply)))")
        }
        guard layout.interruptInAddress != nil else { return reply[2] }

        var notifications = 0
        while notifications < 32 {
            let remaining = deadline.remaining(on: clock)
            let data: [UInt8]
            do {
                guard remaining > 0 else { throw USBTMCTransferError.timedOut }
                data = try endpoint.interruptIn(maxLength: layout.interruptInMaxPacket, timeoutMs: remaining)
            } catch USBTMCTransferError.timeout {
                throw USBTMCError(
                    .timeout,
                    "READ_STATUS_BYTE (bTag \(tag)) was accepted but no status notification arrived on interrupt-IN within "
                        + "\(timeoutMs) ms (\(notifications) other notification(s) seen)")
            } catch {
                throw mapTransferError(error, doing: "reading the status byte on interrupt-IN")
            }
            notifications += 1
            guard data.count >= 2 else { continue }
            if data[0] == 0x80 | tag { return data[1] }
            if data[0] == USBTMCProtocol.notifySRQ {
                lastServiceRequest = data[1]
                log?("SRQ notification, STB 0x\(hex(data[1]))")
                continue
            }
            log?("skipping interrupt-IN notification \(hexDump(data)) while waiting for bTag \(tag)")
        }
        throw USBTMCError(
            .protocolViolation, "no status notification for bTag \(tag) among \(notifications) interrupt-IN notifications")
    }

    /// Sends the USB488 TRIGGER message (a bulk header with MsgID 128).
    public func trigger() throws {
        guard layout.isUSB488 && capabilities.trigger else {
            throw USBTMCError(
                .unsupported,
                "the device does not support the USB488 TRIGGER message (GET_CAPABILITIES: \(capabilities.summary)); "
                    + "write *TRG instead if the instrument understands it")
        }
        if pendingCount > 0 || incoming != nil { discardInput() }
        let deadline = USBTMCDeadline(after: timeoutMs, on: clock)
        let tag = tags.nextBulkTag()
        try sendBulkOut(USBTMCBulkHeader.trigger(tag: tag).bytes, tag: tag, deadline: deadline) { "the TRIGGER message" }
    }

    /// REN_CONTROL: asserts (`true`) or releases Remote Enable.
    public func remoteEnable(_ enable: Bool) throws {
        try simpleUSB488Request(.renControl, value: enable ? 1 : 0)
    }

    /// GO_TO_LOCAL: returns the instrument's front panel to local control.
    public func goToLocal() throws {
        try simpleUSB488Request(.goToLocal, value: 0)
    }

    /// LOCAL_LOCKOUT: locks the front panel (REN must be asserted; see ``remoteEnable(_:)``).
    public func localLockout() throws {
        try simpleUSB488Request(.localLockout, value: 0)
    }

    /// INDICATOR_PULSE: blinks the instrument's activity indicator (to find it on a bench).
    public func indicatorPulse() throws {
        guard capabilities.indicatorPulse else {
            throw USBTMCError(
                .unsupported, "the device does not support INDICATOR_PULSE (GET_CAPABILITIES: \(capabilities.summary))")
        }
        try statusOnlyRequest(.indicatorPulse, value: 0)
    }

    private func simpleUSB488Request(_ request: USBTMCProtocol.Request, value: UInt16) throws {
        guard layout.isUSB488 && capabilities.remoteLocal else {
            throw USBTMCError(
                .unsupported,
                "the device does not support \(request.name) (USB488 REN_CONTROL/GO_TO_LOCAL/LOCAL_LOCKOUT; "
                    + "GET_CAPABILITIES: \(capabilities.summary))")
        }
        try statusOnlyRequest(request, value: value)
    }

    private func statusOnlyRequest(_ request: USBTMCProtocol.Request, value: UInt16) throws {
        let deadline = USBTMCDeadline(after: timeoutMs, on: clock)
        let reply = try classRequest(request, value: value, length: 1, deadline: deadline)
        guard reply[0] == USBTMCProtocol.Status.success.rawValue else {
            throw USBTMCError(
                .instrument, "\(request.name) answered \(USBTMCProtocol.Status.describe(reply[0]))", vendorCode: Int32(reply[0]))
        }
    }
}
