import CLitmusDriverABI
import Foundation
import LitmusDriverKit
import LitmusLANProtocol

/// A VXI-11 session (`TCPIP::host[::inst0]::INSTR`, or a gateway device such as
/// `TCPIP::gw::gpib0,5::INSTR`): ONC RPC over TCP to the instrument's core channel.
///
/// Open: the portmapper (port 111; see ``VXI11Portmapper`` for the testing override) gives
/// the core channel's port; `create_link` names the device, optionally takes its lock
/// (`lock`, `lock_timeout_ms`), and returns the link id, the abort channel's port and the
/// largest write the instrument accepts (maxRecvSize).
///
/// I/O: writes are split into maxRecvSize chunks with END on the last only; reads loop on
/// device_read until END (`LITMUS_OK`) or the buffer is full (`LITMUS_OK_MAX_COUNT`). Each
/// operation has one deadline: the instrument gets the rest of the session timeout as
/// io_timeout; if it does not answer by then plus a margin, the client sends device_abort on
/// the abort channel, and drops the interrupted call's late reply by its xid. Read STB,
/// trigger and clear are device_readstb, device_trigger and device_clear. Close always sends
/// destroy_link (instruments run out of links otherwise). After the connection is lost the
/// next call reconnects (portmapper, create_link, the lock again if asked for).
final class VXI11Session: DriverSession {
    private let host: String
    private let device: String
    private let options: LANOptions
    private let services: HostServices
    /// The session timeout in ms (the io_timeout the instrument gets).
    private var timeoutMs: UInt32 = VXI11Session.defaultTimeoutMs
    private var core: ONCRPCClient?
    private var abortChannel: ONCRPCClient?
    private var link: Int32 = 0
    private var abortPort = 0
    /// The largest device_write data: the instrument's maxRecvSize, bounded.
    private var maxWriteChunk = 1024
    /// Whether the reply being handled answers a call the client aborted itself.
    private var abortedByClient = false
    private var isClosed = false

    static let defaultTimeoutMs: UInt32 = 2000
    /// The largest write chunk used even when the instrument accepts more.
    static let maxWriteChunkLimit = 16 << 20
    /// The largest requestSize of one device_read.
    static let maxReadRequest = 64 << 20
    /// Bytes of an RPC reply besides the read data (headers, error, reason, length, padding).
    static let replyOverhead = 128
    static let logComponent = "lan.vxi11"

    init(host: String, device: String, options: LANOptions, services: HostServices) throws {
        self.host = host
        self.device = device
        self.options = options
        self.services = services
        try connect()
    }

    deinit { close() }

    // MARK: - Link

    /// I/O flags: wait for a lock held elsewhere when a lock timeout is set.
    private var ioFlags: VXI11Protocol.Flags { options.lockTimeoutMs > 0 ? [.waitLock] : [] }

    /// How long the instrument may wait for a lock before an operation starts.
    private var lockWaitMs: UInt32 { options.lockTimeoutMs }

    /// "peer, link n, device d", for messages.
    private var context: String { "\(core?.peer ?? VXI11Portmapper.bracketed(host)), link \(link), device \(device)" }

    /// Portmapper, core connection, create_link; within connect_timeout_ms (plus the lock
    /// timeout when the lock is taken at open).
    private func connect() throws {
        let lockWait = options.lock ? UInt64(options.lockTimeoutMs) : 0
        let deadline = Deadline.after(milliseconds: UInt32(clamping: UInt64(options.connectTimeoutMs) + lockWait))
        let port = try VXI11Portmapper.corePort(host: host, deadline: deadline, services: services)
        let connection: TCPConnection
        do {
            connection = try TCPConnection(host: host, port: port, deadline: deadline)
        } catch let failure as DriverFailure {
            throw DriverFailure(
                status: failure.status, vendorCode: failure.vendorCode,
                "VXI-11 core channel of \(host) (port \(port), from the portmapper): \(failure.message)")
        }
        let client = ONCRPCClient(
            connection: connection, program: VXI11Protocol.coreProgram, version: VXI11Protocol.version,
            channelName: "VXI-11 core channel", services: services)
        let parameters = VXI11CreateLinkParameters(
            clientID: Int32(truncatingIfNeeded: getpid()), lockDevice: options.lock, lockTimeout: options.lockTimeoutMs,
            device: device)
        let what = "create_link for device \"\(device)\" on \(connection.peer)"
        let response: VXI11CreateLinkResponse
        do {
            let result = try client.call(
                procedure: VXI11Protocol.Procedure.createLink.rawValue, capacity: 32 + device.utf8.count,
                deadline: deadline, what: what
            ) { parameters.encode(into: &$0) }
            var r = result.reader
            response = try decode(what) { try VXI11CreateLinkResponse.decode(&r) }
        } catch {
            client.close()
            throw error
        }
        guard response.error == .none else {
            client.close()
            var where_ = "\(connection.peer), device \"\(device)\""
            if options.lock { where_ += ", exclusive lock requested with lock_timeout_ms \(options.lockTimeoutMs)" }
            throw VXI11Failure.make(response.error, operation: "create_link", context: where_)
        }
        core = client
        link = response.link
        abortPort = Int(response.abortPort)
        let advertised = Int(response.maxReceiveSize)
        // The specification's minimum is 1024; a server saying 0 gets that.
        maxWriteChunk = min(max(advertised == 0 ? 1024 : advertised, 1), Self.maxWriteChunkLimit)
        services.log(
            .debug, component: Self.logComponent,
            "VXI-11 link \(link) to device \(device) on \(connection.peer): abort port \(abortPort), maxRecvSize \(advertised)\(options.lock ? ", locked" : "")"
        )
    }

    /// The core channel, reconnecting first if the last call lost it.
    private func liveCore() throws -> ONCRPCClient {
        guard !isClosed else { throw DriverFailure.closed("the VXI-11 session to \(host) is closed") }
        if let core, !core.isBroken, core.connection.isOpen { return core }
        dropConnections()
        services.log(
            .warning, component: Self.logComponent,
            "the VXI-11 connection to \(host) (device \(device)) was lost; reconnecting (portmapper, create_link)")
        try connect()
        return core!
    }

    /// Closes both channels after a failure that leaves the stream unusable.
    private func dropConnections() {
        abortChannel?.close()
        abortChannel = nil
        core?.close()
        core = nil
    }

    private func dropIfBroken() {
        if let core, core.isBroken { dropConnections() }
    }

    /// Runs `body`, turning a malformed result into a protocol violation naming `what`.
    private func decode<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as XDRError {
            throw DriverFailure.protocolViolation("\(what): malformed result from \(core?.peer ?? host): \(error.message)")
        }
    }

    // MARK: - Calls

    /// One core-channel call within `budget`; aborts it on the abort channel if the
    /// instrument has not answered by the client's deadline.
    private func call(
        _ procedure: VXI11Protocol.Procedure, budget: VXI11Budget, maxReply: Int = ONCRPCClient.minimumReplyBound,
        capacity: Int = 64, _ encode: (inout XDRWriter) -> Void
    ) throws -> ONCRPCResult {
        let core = try liveCore()
        abortedByClient = false
        let what = "\(procedure.name) on \(core.peer) (VXI-11 link \(link), device \(device))"
        let deadline = budget.clientDeadline
        let xid: UInt32
        do {
            xid = try core.send(procedure: procedure.rawValue, capacity: capacity, deadline: deadline, what: what, encode)
        } catch {
            dropIfBroken()
            throw error
        }
        do {
            return try core.receive(xid: xid, maxReply: maxReply, deadline: deadline, what: what)
        } catch let failure as DriverFailure where failure.status == Int32(LITMUS_E_TIMEOUT) {
            return try abortAndResync(core, xid: xid, maxReply: maxReply, budget: budget, what: what)
        } catch {
            dropIfBroken()
            throw error
        }
    }

    /// The instrument let the client's deadline pass: abort the call, then wait briefly for
    /// its reply (normally error 23). Without one, the call is abandoned and its late reply
    /// will be dropped by xid.
    private func abortAndResync(
        _ core: ONCRPCClient, xid: UInt32, maxReply: Int, budget: VXI11Budget, what: String
    ) throws -> ONCRPCResult {
        let recovery = budget.recoveryDeadline
        var note: String
        do {
            try sendAbort(deadline: recovery)
            do {
                let result = try core.receive(xid: xid, maxReply: maxReply, deadline: recovery, what: what)
                abortedByClient = true
                services.log(.debug, component: Self.logComponent, "\(what): interrupted with device_abort after \(budget.elapsedMs) ms")
                return result
            } catch let failure as DriverFailure where failure.status == Int32(LITMUS_E_TIMEOUT) {
                note = "device_abort was sent but the call still did not end"
            } catch {
                dropIfBroken()
                throw error
            }
        } catch let failure as DriverFailure {
            if failure.status != Int32(LITMUS_E_TIMEOUT) { dropIfBroken() }
            note = "device_abort failed (\(failure.message))"
        }
        core.abandon(xid: xid, maxReply: maxReply)
        throw DriverFailure.timeout(
            "\(what): no reply within \(budget.elapsedMs) ms (io_timeout \(budget.timeoutMs) ms plus margin): the instrument does not honour io_timeout or hangs; \(note). Its late reply will be discarded; call clear() if the instrument stays unresponsive"
        )
    }

    /// device_abort for this link on the abort channel (connected on first use).
    private func sendAbort(deadline: Deadline) throws {
        guard abortPort != 0 else {
            throw DriverFailure.unsupported("the instrument gave no abort channel port in create_link")
        }
        if abortChannel == nil || abortChannel!.isBroken {
            abortChannel?.close()
            let connection = try TCPConnection(host: host, port: abortPort, deadline: deadline)
            abortChannel = ONCRPCClient(
                connection: connection, program: VXI11Protocol.abortProgram, version: VXI11Protocol.version,
                channelName: "VXI-11 abort channel", services: services)
        }
        let channel = abortChannel!
        let what = "device_abort on \(channel.peer) (VXI-11 link \(link), device \(device))"
        let link = self.link
        let result = try channel.call(
            procedure: VXI11Protocol.Procedure.deviceAbort.rawValue, deadline: deadline, what: what
        ) { VXI11LinkParameter(link: link).encode(into: &$0) }
        var r = result.reader
        let response = try decode(what) { try VXI11ErrorResponse.decode(&r) }
        if response.error != .none {
            throw VXI11Failure.make(response.error, operation: "device_abort", context: context)
        }
    }

    /// A call whose result is only an error code; throws it mapped.
    private func simpleCall(
        _ procedure: VXI11Protocol.Procedure, budget: VXI11Budget, _ encode: (inout XDRWriter) -> Void
    ) throws {
        let result = try call(procedure, budget: budget, encode)
        var r = result.reader
        let response = try decode(procedure.name) { try VXI11ErrorResponse.decode(&r) }
        if response.error != .none {
            throw VXI11Failure.make(
                response.error, operation: procedure.name, context: context, detail: "after \(budget.elapsedMs) ms",
                abortedByClient: abortedByClient)
        }
    }

    /// A readstb/trigger/clear/remote/local call (Device_GenericParms).
    private func genericCall(_ procedure: VXI11Protocol.Procedure) throws -> ONCRPCResult {
        let budget = VXI11Budget(timeoutMs: timeoutMs, lockWaitMs: lockWaitMs)
        return try call(procedure, budget: budget) { w in
            VXI11GenericParameters(
                link: link, flags: ioFlags, lockTimeout: options.lockTimeoutMs, ioTimeout: budget.ioTimeoutMs
            ).encode(into: &w)
        }
    }

    private func genericErrorOnly(_ procedure: VXI11Protocol.Procedure) throws {
        let start = Deadline.now
        let result = try genericCall(procedure)
        var r = result.reader
        let response = try decode(procedure.name) { try VXI11ErrorResponse.decode(&r) }
        if response.error != .none {
            throw VXI11Failure.make(
                response.error, operation: procedure.name, context: context,
                detail: "after \((Deadline.now - start) / 1_000_000) ms", abortedByClient: abortedByClient)
        }
    }

    // MARK: - DriverSession

    func write(_ data: UnsafeRawBufferPointer) throws -> Int {
        let budget = VXI11Budget(timeoutMs: timeoutMs, lockWaitMs: lockWaitMs)
        var offset = 0
        var stalls = 0
        repeat {
            // Read maxWriteChunk after the call reconnected, if it had to.
            if core == nil || core!.isBroken { _ = try liveCore() }
            let n = min(maxWriteChunk, data.count - offset)
            let last = offset + n == data.count
            let flags = last ? ioFlags.union(.end) : ioFlags
            let chunk = UnsafeRawBufferPointer(rebasing: data[offset..<(offset + n)])
            let result = try call(.deviceWrite, budget: budget, capacity: n + 32) { w in
                VXI11WriteParameters.encode(
                    link: link, ioTimeout: budget.ioTimeoutMs, lockTimeout: options.lockTimeoutMs, flags: flags, data: chunk,
                    into: &w)
            }
            var r = result.reader
            let response = try decode("device_write") { try VXI11WriteResponse.decode(&r) }
            if response.error != .none {
                throw VXI11Failure.make(
                    response.error, operation: "device_write", context: context,
                    detail: "\(offset) of \(data.count) bytes written after \(budget.elapsedMs) ms",
                    abortedByClient: abortedByClient)
            }
            let taken = min(Int(response.size), n)
            if n > 0 && taken == 0 {
                stalls += 1
                if stalls >= 3 {
                    throw DriverFailure.io(
                        "device_write (\(context)): the instrument accepted none of the \(n) bytes offered three times (\(offset) of \(data.count) bytes written)"
                    )
                }
            } else {
                stalls = 0
            }
            offset += taken
            if n == 0 { break }
        } while offset < data.count
        return data.count
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadOutcome {
        guard buffer.count > 0 else { return ReadOutcome(count: 0, end: .bufferFull) }
        let budget = VXI11Budget(timeoutMs: timeoutMs, lockWaitMs: lockWaitMs)
        var got = 0
        var emptyReplies = 0
        while true {
            let request = min(buffer.count - got, Self.maxReadRequest)
            var result = try call(.deviceRead, budget: budget, maxReply: request + Self.replyOverhead) { w in
                VXI11ReadParameters(
                    link: link, requestSize: UInt32(request), ioTimeout: budget.ioTimeoutMs,
                    lockTimeout: options.lockTimeoutMs, flags: ioFlags
                ).encode(into: &w)
            }
            // (The reader lives only in the closure, so the record is unique again for recycle.)
            let response = try decode("device_read") { [result] in
                var r = result.reader
                return try VXI11ReadResponse.decodeInPlace(&r, maxData: request)
            }
            if response.error != .none {
                var detail = "after \(budget.elapsedMs) ms (io_timeout \(timeoutMs == .max ? "infinite" : "\(timeoutMs) ms"))"
                if got > 0 { detail += ", \(got) bytes of the response received before" }
                throw VXI11Failure.make(
                    response.error, operation: "device_read", context: context, detail: detail, abortedByClient: abortedByClient)
            }
            let n = response.data.count
            if n > 0 {
                result.record.withUnsafeBytes { source in
                    (buffer.baseAddress! + got).copyMemory(from: source.baseAddress! + response.data.lowerBound, byteCount: n)
                }
                got += n
                emptyReplies = 0
            } else {
                emptyReplies += 1
            }
            core?.recycle(&result)
            if response.reason.contains(.end) { return ReadOutcome(count: got, end: .endOfMessage) }
            if got >= buffer.count { return ReadOutcome(count: got, end: .bufferFull) }
            // A termination character we did not ask for: bytes without END; the host finds
            // the terminator itself.
            if response.reason.contains(.character) { return ReadOutcome(count: got, end: .partial) }
            // Otherwise (reason 0, or REQCNT for a shorter request the instrument cut) the
            // message continues: ask for the rest within the same deadline.
            if emptyReplies >= 100 {
                throw DriverFailure.protocolViolation(
                    "device_read (\(context)): the instrument answered 100 reads with no data and no END (\(got) bytes received)")
            }
            if budget.clientDeadline.hasPassed {
                throw DriverFailure.timeout(
                    "device_read (\(context)): \(got) bytes received in \(budget.elapsedMs) ms but no END; raise the timeout")
            }
        }
    }

    func readStatusByte() throws -> UInt8 {
        let start = Deadline.now
        let result = try genericCall(.deviceReadSTB)
        var r = result.reader
        let response = try decode("device_readstb") { try VXI11ReadSTBResponse.decode(&r) }
        if response.error != .none {
            throw VXI11Failure.make(
                response.error, operation: "device_readstb", context: context,
                detail: "after \((Deadline.now - start) / 1_000_000) ms", abortedByClient: abortedByClient)
        }
        return response.statusByte
    }

    func trigger() throws { try genericErrorOnly(.deviceTrigger) }

    func clear() throws { try genericErrorOnly(.deviceClear) }

    func setTimeout(milliseconds: UInt32) throws { timeoutMs = milliseconds }

    /// device_remote: puts the instrument in remote state (for an operation table).
    func goRemote() throws { try genericErrorOnly(.deviceRemote) }

    /// device_local: returns the instrument to local (front panel) control.
    func goLocal() throws { try genericErrorOnly(.deviceLocal) }

    /// device_lock: takes the instrument's exclusive lock, waiting up to `waitMs` for a lock
    /// another link holds (0: fail at once with `busy`).
    func lockDevice(waitMs: UInt32) throws {
        let budget = VXI11Budget(timeoutMs: timeoutMs, lockWaitMs: waitMs)
        try simpleCall(.deviceLock, budget: budget) { w in
            VXI11LockParameters(link: link, flags: waitMs > 0 ? [.waitLock] : [], lockTimeout: waitMs).encode(into: &w)
        }
    }

    /// device_unlock: releases the lock this link holds.
    func unlockDevice() throws {
        let budget = VXI11Budget(timeoutMs: timeoutMs, lockWaitMs: 0)
        try simpleCall(.deviceUnlock, budget: budget) { VXI11LinkParameter(link: link).encode(into: &$0) }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        if let core, !core.isBroken, core.connection.isOpen {
            // Best effort, briefly: the instrument also drops links when the connection closes,
            // but not all do, and some run out of links.
            let deadline = Deadline.after(milliseconds: min(500, max(options.connectTimeoutMs, 1)))
            let what = "destroy_link on \(core.peer) (VXI-11 link \(link), device \(device))"
            let link = self.link
            do {
                let result = try core.call(
                    procedure: VXI11Protocol.Procedure.destroyLink.rawValue, deadline: deadline, what: what
                ) { VXI11LinkParameter(link: link).encode(into: &$0) }
                var r = result.reader
                let response = try decode(what) { try VXI11ErrorResponse.decode(&r) }
                if response.error != .none {
                    services.log(.warning, component: Self.logComponent, "\(what): \(response.error)")
                }
            } catch {
                services.log(
                    .warning, component: Self.logComponent,
                    "\(what) failed: \(error); the instrument frees the link when it notices the closed connection")
            }
        }
        dropConnections()
    }
}

extension VXI11Session: LANControlSession {
    var defaultLockWaitMs: UInt32 { options.lockTimeoutMs }

    func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue {
        try invokeLANOperation(index, arguments)
    }
}
