import Foundation
import LitmusLANProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `litmus-fake-instruments vxi11`: a VXI-11 instrument on loopback, for tests and benchmarks.
///
///     litmus-fake-instruments vxi11 [--port N] [--max-recv-size N] [--serial S] [--fault F]... [--verbose]
///
/// It runs three TCP listeners on 127.0.0.1:
/// - a **portmapper** (program 100000 v2) answering GETPORT for the VXI-11 core program
///   (0x0607AF v1, TCP) with the core port. Its port is the one printed (`port <n>`); `--port`
///   picks it (111 needs root). Point clients at it with `LITMUS_VXI11_PORTMAP_PORT=<n>` (the
///   lan plugin) or by patching the client's portmapper port (pyvisa-py). The same portmapper
///   also answers UDP datagrams on 127.0.0.1 at the same port number, as the LAN discovery
///   broadcast (`LITMUS_LAN_DISCOVER`) asks it.
/// - the **core channel**: create_link, device_write, device_read, device_readstb,
///   device_trigger, device_clear, device_remote, device_local, device_lock, device_unlock,
///   destroy_link (enable_srq, docmd and the interrupt channel answer error 8).
/// - the **abort channel** (0x0607B0 v1): device_abort interrupts a device_read in progress.
///
/// Devices: `inst<n>` and gateway names `gpib<n>,<address>[,<secondary>]` (address 0 to 30;
/// otherwise error 21). Each name is its own ``FakeInstrument``; any other name is error 3.
/// Responses end with a newline and END (as SCPI instruments send them). device_write data
/// longer than maxRecvSize (default 65536, `--max-recv-size`) is refused with error 5, and
/// device_read returns at most maxRecvSize bytes per call. A device_read with nothing to
/// return waits until io_timeout (error 15) or device_abort (error 23). Locks follow the
/// specification: one owner link per device, WAITLOCK waits up to lock_timeout, error 11
/// otherwise; destroy_link and a closed connection release them.
///
/// Faults, for client tests (`--fault a,b` or repeated):
/// - `stale-xid`: every core reply is preceded by a bogus reply carrying the previous xid.
/// - `slow-read`: a device_read with nothing to return ignores io_timeout and waits for
///   device_abort (at most 30 s).
/// - `fragments`: replies are sent in many small record-marking fragments.
/// - `die-mid-read`: the server exits when a device_read has nothing to return (the client is
///   mid-call).
/// - `drip`: every device_read waits 100 ms and returns one byte, without END for 30 s.
enum VXI11Server {
    static func main(_ arguments: [String]) -> Never {
        let options: VXI11FakeOptions
        do {
            options = try VXI11FakeOptions(arguments)
        } catch {
            FileHandle.standardError.write(Data("litmus-fake-instruments vxi11: \(error)\n".utf8))
            exit(2)
        }
        let portmapper: VXI11Listener
        let udpPortmapper: VXI11UDPPortmapper
        let core: VXI11Listener
        let abort: VXI11Listener
        do {
            (portmapper, udpPortmapper) = try VXI11UDPPortmapper.bindPair(port: options.port)
            core = try VXI11Listener(port: 0)
            abort = try VXI11Listener(port: 0)
        } catch {
            FileHandle.standardError.write(Data("litmus-fake-instruments vxi11: \(error)\n".utf8))
            exit(1)
        }
        let server = VXI11FakeServer(options: options, corePort: core.port, abortPort: abort.port)
        portmapper.acceptForever { server.serve($0, channel: .portmapper) }
        udpPortmapper.serveForever(server)
        core.acceptForever { server.serve($0, channel: .core) }
        abort.acceptForever { server.serve($0, channel: .abort) }
        exitWhenStdinCloses()
        FileHandle.standardOutput.write(Data("port \(portmapper.port)\n".utf8))
        server.log("portmapper on \(portmapper.port), core on \(core.port), abort on \(abort.port), faults \(options.faults.map(\.rawValue).sorted())")
        while true { sleep(3600) }
    }
}

/// A fault the fake VXI-11 server injects on request.
enum VXI11Fault: String, CaseIterable, Sendable {
    case staleXID = "stale-xid"
    case slowRead = "slow-read"
    case fragments = "fragments"
    case dieMidRead = "die-mid-read"
    case drip
}

/// The command line of the fake VXI-11 server.
struct VXI11FakeOptions: Sendable {
    var port: UInt16 = 0
    var maxRecvSize = 65536
    var serial = "0001"
    var faults: Set<VXI11Fault> = []
    var verbose = false

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    init(_ arguments: [String]) throws {
        var i = 0
        func value(_ name: String) throws -> String {
            i += 1
            guard i < arguments.count else { throw UsageError(description: "\(name) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--port":
                guard let p = UInt16(try value("--port")) else { throw UsageError(description: "--port takes 0 to 65535") }
                port = p
            case "--max-recv-size":
                guard let n = Int(try value("--max-recv-size")), (1...(64 << 20)).contains(n) else {
                    throw UsageError(description: "--max-recv-size takes 1 to 67108864")
                }
                maxRecvSize = n
            case "--serial": serial = try value("--serial")
            case "--fault":
                for name in try value("--fault").split(separator: ",") {
                    guard let fault = VXI11Fault(rawValue: String(name)) else {
                        throw UsageError(
                            description: "unknown fault '\(name)'; known: \(VXI11Fault.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    faults.insert(fault)
                }
            case "--verbose": verbose = true
            default: throw UsageError(description: "unknown option '\(arguments[i])'")
            }
            i += 1
        }
    }
}

// MARK: - State

/// One device behind the server (`inst0`, `gpib0,5`): an instrument and its lock.
final class VXI11FakeDevice {
    let name: String
    let instrument: FakeInstrument
    /// The link holding the exclusive lock.
    var lockOwner: Int32?

    init(name: String, serial: String) {
        self.name = name
        self.instrument = FakeInstrument(serial: serial)
    }
}

/// One link: its device, its partial input message and its pending response.
final class VXI11FakeLink {
    let id: Int32
    let device: VXI11FakeDevice
    /// The connection that created it (closing that connection destroys it).
    let connection: Int
    var input: [UInt8] = []
    var output: [UInt8] = []
    var outputOffset = 0
    /// device_reads answered by the `drip` fault since its last END.
    var drips = 0
    /// CLOCK_MONOTONIC ns from which the output may be read (SLOW? delays it).
    var outputReadyAt: UInt64 = 0
    /// A core call is in progress (device_abort applies only then).
    var busy = false
    var abortRequested = false
    var destroyed = false
    /// Replies of stateless queries (`*IDN?`, `DATA? n`, ...) kept ready, so a benchmark
    /// measures the transport rather than the fake building a 1 MiB block each time.
    var ready: [[UInt8]: [UInt8]] = [:]
    var readyBytes = 0

    init(id: Int32, device: VXI11FakeDevice, connection: Int) {
        self.id = id
        self.device = device
        self.connection = connection
    }

    var hasOutput: Bool { outputOffset < output.count }
}

/// One reply to send: `head`, then `body[range]` straight from the link's output (no copy of
/// large read data), then `padding` zero bytes.
struct VXI11FakeFrame {
    var head: [UInt8]
    var body: [UInt8] = []
    var range: Range<Int> = 0..<0
    var padding = 0
}

/// Which listener a connection came from.
enum VXI11FakeChannel: Sendable {
    case portmapper, core, abort
}

/// The server: every device and link under one condition lock.
final class VXI11FakeServer: @unchecked Sendable {
    let options: VXI11FakeOptions
    let corePort: Int
    let abortPort: Int
    private let condition = NSCondition()
    private var devices: [String: VXI11FakeDevice] = [:]
    private var links: [Int32: VXI11FakeLink] = [:]
    private var nextLink: Int32 = 1
    private var nextConnection = 1

    init(options: VXI11FakeOptions, corePort: Int, abortPort: Int) {
        self.options = options
        self.corePort = corePort
        self.abortPort = abortPort
    }

    func log(_ message: @autoclosure () -> String) {
        if options.verbose { FileHandle.standardError.write(Data("vxi11: \(message())\n".utf8)) }
    }

    static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Waits on the condition (held) until `done()` or the monotonic `deadline` (nil: 30 s at
    /// most, so nothing waits forever). Returns whether `done()` became true.
    private func waitLocked(until deadline: UInt64?, _ done: () -> Bool) -> Bool {
        let cap = Self.monotonicNow() + 30_000_000_000
        let limit = min(deadline ?? cap, cap)
        while !done() {
            let now = Self.monotonicNow()
            if now >= limit { return false }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(limit - now) / 1e9))
        }
        return true
    }

    // MARK: Connections

    /// Serves one connection until the peer closes it.
    func serve(_ fd: Int32, channel: VXI11FakeChannel) {
        let connection = condition.withLock {
            nextConnection += 1
            return nextConnection
        }
        defer {
            close(fd)
            if channel == .core { dropLinks(ofConnection: connection) }
        }
        var reassembler = ONCRPCRecordReassembler(maxRecordSize: options.maxRecvSize + 4096)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            let records: [[UInt8]]
            do {
                records = try buffer.withUnsafeBytes { try reassembler.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            } catch {
                log("connection \(connection): \(error); closing it")
                return
            }
            for record in records {
                for frame in handle(record, channel: channel, connection: connection) {
                    guard send(fd, frame) else { return }
                }
            }
        }
    }

    /// Sends a frame with one sendmsg per step (head, body slice and padding gathered).
    private func send(_ fd: Int32, _ frame: VXI11FakeFrame) -> Bool {
        let zeros: [UInt8] = [0, 0, 0, 0]
        return frame.head.withUnsafeBytes { head in
            frame.body.withUnsafeBytes { body in
                zeros.withUnsafeBytes { pad in
                    var parts: [UnsafeRawBufferPointer] = [head]
                    if !frame.range.isEmpty { parts.append(UnsafeRawBufferPointer(rebasing: body[frame.range])) }
                    if frame.padding > 0 { parts.append(UnsafeRawBufferPointer(rebasing: pad[0..<min(frame.padding, 3)])) }
                    var index = 0
                    var offset = 0
                    while index < parts.count {
                        var vectors = parts[index...].enumerated().map { i, part in
                            let skip = i == 0 ? offset : 0
                            return iovec(iov_base: UnsafeMutableRawPointer(mutating: part.baseAddress! + skip), iov_len: part.count - skip)
                        }
                        let n = vectors.withUnsafeMutableBufferPointer { v -> Int in
                            var message = msghdr()
                            message.msg_iov = v.baseAddress
                            message.msg_iovlen = v.count
                            return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                        }
                        if n < 0 && errno == EINTR { continue }
                        if n <= 0 { return false }
                        var left = n
                        while index < parts.count && left >= parts[index].count - offset {
                            left -= parts[index].count - offset
                            index += 1
                            offset = 0
                        }
                        offset += left
                    }
                    return true
                }
            }
        }
    }

    /// Frames a reply record (built with 4 placeholder bytes in front), applying the
    /// fragment fault.
    private func frames(_ w: inout XDRWriter) -> [UInt8] {
        if options.faults.contains(.fragments) {
            return ONCRPCRecordMarking.frame(Array(w.bytes.dropFirst(4)), maxFragment: 7)
        }
        ONCRPCRecordMarking.sealSingleFragment(&w)
        return w.bytes
    }

    private func reply(_ xid: UInt32, _ status: ONCRPCReplyStatus = .success, _ results: (inout XDRWriter) -> Void = { _ in })
        -> [UInt8]
    {
        var w = XDRWriter(prefix: [0, 0, 0, 0])
        ONCRPCReply.encode(xid: xid, status: status, into: &w)
        if status == .success { results(&w) }
        return frames(&w)
    }

    /// Answers one call record with the frames to send back (none for a malformed record).
    func handle(_ record: [UInt8], channel: VXI11FakeChannel, connection: Int) -> [VXI11FakeFrame] {
        var r = XDRReader(record)
        let call: ONCRPCCallHeader
        do {
            call = try ONCRPCCallHeader.decode(&r)
        } catch let wrong as ONCRPCCallHeader.WrongRPCVersion {
            return [VXI11FakeFrame(head: reply(wrong.header.xid, .rpcMismatch(low: 2, high: 2)))]
        } catch {
            log("connection \(connection): ignoring a record that is not an RPC call: \(error)")
            return []
        }
        let (program, version): (UInt32, UInt32) =
            switch channel {
            case .portmapper: (ONCRPCPortmapper.program, ONCRPCPortmapper.version)
            case .core: (VXI11Protocol.coreProgram, VXI11Protocol.version)
            case .abort: (VXI11Protocol.abortProgram, VXI11Protocol.version)
            }
        guard call.program == program else { return [VXI11FakeFrame(head: reply(call.xid, .programUnavailable))] }
        guard call.version == version else {
            return [VXI11FakeFrame(head: reply(call.xid, .programMismatch(low: version, high: version)))]
        }
        do {
            let answer: VXI11FakeFrame
            switch channel {
            case .portmapper: answer = VXI11FakeFrame(head: try portmapper(call, &r))
            case .core: answer = try core(call, &r, connection: connection)
            case .abort: answer = VXI11FakeFrame(head: try abort(call, &r))
            }
            if channel == .core && options.faults.contains(.staleXID) {
                // A reply to a call the client finished long ago, with data it must not use.
                let stale = reply(call.xid &- 1) { w in
                    VXI11ReadResponse(error: .none, reason: .end, data: Array("STALE-XID\n".utf8)).encode(into: &w)
                }
                return [VXI11FakeFrame(head: stale), answer]
            }
            return [answer]
        } catch let unknown as UnknownProcedure {
            log("procedure \(unknown.number) is not served here")
            return [VXI11FakeFrame(head: reply(call.xid, .procedureUnavailable))]
        } catch {
            log("garbage arguments for procedure \(call.procedure): \(error)")
            return [VXI11FakeFrame(head: reply(call.xid, .garbageArguments))]
        }
    }

    private struct UnknownProcedure: Error {
        var number: UInt32
    }

    // MARK: Portmapper

    private func portmapper(_ call: ONCRPCCallHeader, _ r: inout XDRReader) throws -> [UInt8] {
        switch ONCRPCPortmapper.Procedure(rawValue: call.procedure) {
        case .null:
            return reply(call.xid)
        case .getPort:
            let mapping = try ONCRPCPortmapper.Mapping.decode(&r)
            let served =
                mapping.program == VXI11Protocol.coreProgram && mapping.version == VXI11Protocol.version
                && mapping.transport == ONCRPC.protocolTCP
            log("GETPORT program 0x\(String(mapping.program, radix: 16)) v\(mapping.version) -> \(served ? corePort : 0)")
            return reply(call.xid) { $0.u32(served ? UInt32(self.corePort) : 0) }
        default:
            throw UnknownProcedure(number: call.procedure)
        }
    }

    // MARK: Abort channel

    private func abort(_ call: ONCRPCCallHeader, _ r: inout XDRReader) throws -> [UInt8] {
        guard call.procedure == VXI11Protocol.Procedure.deviceAbort.rawValue else {
            throw UnknownProcedure(number: call.procedure)
        }
        let lid = try VXI11LinkParameter.decode(&r).link
        let error: VXI11Error = condition.withLock {
            guard let link = links[lid] else { return .invalidLinkIdentifier }
            if link.busy {
                link.abortRequested = true
                condition.broadcast()
            }
            return .none
        }
        log("device_abort link \(lid) -> \(error.rawValue)")
        return reply(call.xid) { VXI11ErrorResponse(error: error).encode(into: &$0) }
    }

    // MARK: Core channel

    private func errorOnly(_ xid: UInt32, _ error: VXI11Error) -> [UInt8] {
        reply(xid) { VXI11ErrorResponse(error: error).encode(into: &$0) }
    }

    private func core(_ call: ONCRPCCallHeader, _ r: inout XDRReader, connection: Int) throws -> VXI11FakeFrame {
        if call.procedure == VXI11Protocol.Procedure.deviceRead.rawValue {
            return read(try VXI11ReadParameters.decode(&r), xid: call.xid)
        }
        return VXI11FakeFrame(head: try coreSimple(call, &r, connection: connection))
    }

    private func coreSimple(_ call: ONCRPCCallHeader, _ r: inout XDRReader, connection: Int) throws -> [UInt8] {
        guard let procedure = VXI11Protocol.Procedure(rawValue: call.procedure) else {
            throw UnknownProcedure(number: call.procedure)
        }
        switch procedure {
        case .createLink:
            let p = try VXI11CreateLinkParameters.decode(&r)
            let response = createLink(p, connection: connection)
            log("create_link \(p.device) lock=\(p.lockDevice) -> error \(response.error.rawValue) link \(response.link)")
            return reply(call.xid) { response.encode(into: &$0) }
        case .deviceWrite:
            let p = try VXI11WriteParameters.decode(&r)
            let response = write(p)
            return reply(call.xid, .success, { response.encode(into: &$0) })
        case .deviceRead:
            throw UnknownProcedure(number: call.procedure)  // handled by core()
        case .deviceReadSTB:
            let p = try VXI11GenericParameters.decode(&r)
            var stb: UInt8 = 0
            let error = withLink(p.link, flags: p.flags, lockTimeout: p.lockTimeout) { link in
                stb = link.device.instrument.statusByte | (link.hasOutput ? 0x10 : 0)
            }
            return reply(call.xid) { VXI11ReadSTBResponse(error: error, statusByte: stb).encode(into: &$0) }
        case .deviceTrigger:
            let p = try VXI11GenericParameters.decode(&r)
            return errorOnly(call.xid, withLink(p.link, flags: p.flags, lockTimeout: p.lockTimeout) { $0.device.instrument.trigger() })
        case .deviceClear:
            let p = try VXI11GenericParameters.decode(&r)
            return errorOnly(
                call.xid,
                withLink(p.link, flags: p.flags, lockTimeout: p.lockTimeout) { link in
                    link.device.instrument.clear()
                    link.input = []
                    link.output = []
                    link.outputOffset = 0
                })
        case .deviceRemote, .deviceLocal:
            let p = try VXI11GenericParameters.decode(&r)
            return errorOnly(call.xid, withLink(p.link, flags: p.flags, lockTimeout: p.lockTimeout) { _ in })
        case .deviceLock:
            let p = try VXI11LockParameters.decode(&r)
            let error = condition.withLock { () -> VXI11Error in
                guard let link = links[p.link] else { return .invalidLinkIdentifier }
                return lockLocked(link, wait: p.flags.contains(.waitLock), timeoutMs: p.lockTimeout)
            }
            log("device_lock link \(p.link) wait=\(p.flags.contains(.waitLock)) \(p.lockTimeout) ms -> \(error.rawValue)")
            return errorOnly(call.xid, error)
        case .deviceUnlock:
            let lid = try VXI11LinkParameter.decode(&r).link
            let error = condition.withLock { () -> VXI11Error in
                guard let link = links[lid] else { return .invalidLinkIdentifier }
                guard link.device.lockOwner == lid else { return .noLockHeldByThisLink }
                link.device.lockOwner = nil
                condition.broadcast()
                return .none
            }
            log("device_unlock link \(lid) -> \(error.rawValue)")
            return errorOnly(call.xid, error)
        case .destroyLink:
            let lid = try VXI11LinkParameter.decode(&r).link
            let error = condition.withLock { () -> VXI11Error in
                guard let link = links[lid] else { return .invalidLinkIdentifier }
                destroyLocked(link)
                return .none
            }
            log("destroy_link \(lid) -> \(error.rawValue)")
            return errorOnly(call.xid, error)
        case .deviceDoCommand:
            return reply(call.xid) { w in
                w.u32(VXI11Error.operationNotSupported.rawValue)
                w.opaque([])
            }
        case .deviceEnableSRQ, .createInterruptChannel, .destroyInterruptChannel:
            return errorOnly(call.xid, .operationNotSupported)
        case .deviceAbort, .deviceInterruptSRQ:
            throw UnknownProcedure(number: call.procedure)
        }
    }

    /// The device a LAN device name names, created on first use; nil with the error to
    /// answer for a name no device has.
    private func deviceLocked(_ name: String) -> (VXI11FakeDevice?, VXI11Error) {
        let key = name.lowercased()
        if let device = devices[key] { return (device, .none) }
        let serial: String
        if key == "inst0" {
            serial = options.serial
        } else if key.hasPrefix("inst"), let n = Int(key.dropFirst(4)), n >= 0 {
            serial = "INST\(n)"
        } else if key.hasPrefix("gpib") {
            let parts = key.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2 || parts.count == 3, Int(parts[0]) != nil, let primary = Int(parts[1]) else {
                return (nil, .deviceNotAccessible)
            }
            guard (0...30).contains(primary), parts.count == 2 || (Int(parts[2]).map { (0...30).contains($0) } ?? false) else {
                return (nil, .invalidAddress)
            }
            serial = "GPIB" + parts.joined(separator: "-")
        } else {
            return (nil, .deviceNotAccessible)
        }
        let device = VXI11FakeDevice(name: key, serial: serial)
        devices[key] = device
        return (device, .none)
    }

    private func createLink(_ p: VXI11CreateLinkParameters, connection: Int) -> VXI11CreateLinkResponse {
        condition.withLock {
            let (found, error) = deviceLocked(p.device)
            guard let device = found else {
                return VXI11CreateLinkResponse(error: error, link: 0, abortPort: 0, maxReceiveSize: 0)
            }
            let link = VXI11FakeLink(id: nextLink, device: device, connection: connection)
            nextLink += 1
            if p.lockDevice {
                let error = lockLocked(link, wait: true, timeoutMs: p.lockTimeout)
                guard error == .none else {
                    return VXI11CreateLinkResponse(error: error, link: 0, abortPort: 0, maxReceiveSize: 0)
                }
            }
            links[link.id] = link
            return VXI11CreateLinkResponse(
                error: .none, link: link.id, abortPort: UInt16(abortPort), maxReceiveSize: UInt32(options.maxRecvSize))
        }
    }

    /// Takes the device lock for `link` (condition held).
    private func lockLocked(_ link: VXI11FakeLink, wait: Bool, timeoutMs: UInt32) -> VXI11Error {
        let device = link.device
        if device.lockOwner == nil || device.lockOwner == link.id {
            device.lockOwner = link.id
            return .none
        }
        guard wait else { return .deviceLockedByAnotherLink }
        let deadline = Self.monotonicNow() + UInt64(timeoutMs) * 1_000_000
        guard waitLocked(until: deadline, { device.lockOwner == nil }) else { return .deviceLockedByAnotherLink }
        device.lockOwner = link.id
        return .none
    }

    /// Whether `link` may do I/O now: the device is not locked by another link, waiting up to
    /// the lock timeout with WAITLOCK (condition held).
    private func accessLocked(_ link: VXI11FakeLink, flags: VXI11Protocol.Flags, lockTimeout: UInt32) -> VXI11Error {
        let device = link.device
        if device.lockOwner == nil || device.lockOwner == link.id { return .none }
        guard flags.contains(.waitLock) else { return .deviceLockedByAnotherLink }
        let deadline = Self.monotonicNow() + UInt64(lockTimeout) * 1_000_000
        let free = waitLocked(until: deadline) { device.lockOwner == nil || device.lockOwner == link.id || link.destroyed }
        return free && !link.destroyed ? .none : .deviceLockedByAnotherLink
    }

    /// Runs `body` on a link that may do I/O; returns the error to answer.
    private func withLink(_ lid: Int32, flags: VXI11Protocol.Flags, lockTimeout: UInt32, _ body: (VXI11FakeLink) -> Void)
        -> VXI11Error
    {
        condition.withLock {
            guard let link = links[lid] else { return .invalidLinkIdentifier }
            let access = accessLocked(link, flags: flags, lockTimeout: lockTimeout)
            guard access == .none else { return access }
            body(link)
            return .none
        }
    }

    private func destroyLocked(_ link: VXI11FakeLink) {
        link.destroyed = true
        links.removeValue(forKey: link.id)
        if link.device.lockOwner == link.id { link.device.lockOwner = nil }
        condition.broadcast()
    }

    private func dropLinks(ofConnection connection: Int) {
        condition.withLock {
            for link in links.values where link.connection == connection {
                log("connection closed: destroying link \(link.id)")
                destroyLocked(link)
            }
        }
    }

    private func write(_ p: VXI11WriteParameters) -> VXI11WriteResponse {
        guard p.data.count <= options.maxRecvSize else {
            log("device_write of \(p.data.count) bytes exceeds maxRecvSize \(options.maxRecvSize)")
            return VXI11WriteResponse(error: .parameterError, size: 0)
        }
        var message: [UInt8]?
        var device: VXI11FakeDevice?
        let error = withLink(p.link, flags: p.flags, lockTimeout: p.lockTimeout) { link in
            link.input += p.data
            if p.flags.contains(.end) {
                message = link.input
                link.input = []
                device = link.device
            }
        }
        guard error == .none else { return VXI11WriteResponse(error: error, size: 0) }
        if let message, let device {
            if let cached = condition.withLock({ links[p.link]?.ready[message] }) {
                condition.withLock {
                    guard let link = links[p.link] else { return }
                    link.output = cached
                    link.outputOffset = 0
                    link.outputReadyAt = 0
                    condition.broadcast()
                }
                return VXI11WriteResponse(error: .none, size: UInt32(p.data.count))
            }
            let answer = device.instrument.handle(message)
            condition.withLock {
                guard let link = links[p.link] else { return }
                let now = Self.monotonicNow()
                switch answer {
                case .message(let bytes):
                    link.output = bytes + [0x0A]
                    link.outputReadyAt = now
                    if Self.isStateless(message) { remember(message, link.output, in: link) }
                case .delayed(let ms, let bytes):
                    link.output = bytes + [0x0A]
                    link.outputReadyAt = now + UInt64(ms) * 1_000_000
                case .never:
                    link.output = []
                case nil:
                    return
                }
                link.outputOffset = 0
                condition.broadcast()
            }
        }
        return VXI11WriteResponse(error: .none, size: UInt32(p.data.count))
    }

    /// Queries whose reply never changes: `*IDN?`, `MEAS:VOLT?`, `*OPC?`, `DATA? n`.
    private static func isStateless(_ message: [UInt8]) -> Bool {
        guard !message.contains(UInt8(ascii: ";")) else { return false }
        let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let header = text.split(separator: " ", maxSplits: 1).first.map { $0.uppercased() } ?? ""
        return ["*IDN?", "MEAS:VOLT?", "MEAS:VOLT:DC?", "*OPC?", "DATA?"].contains(header)
    }

    /// Keeps a stateless reply for the link (at most 8 replies, 256 MiB; condition held).
    private func remember(_ message: [UInt8], _ reply: [UInt8], in link: VXI11FakeLink) {
        if link.ready.count >= 8 || link.readyBytes + reply.count > 256 << 20 {
            link.ready.removeAll()
            link.readyBytes = 0
        }
        link.ready[message] = reply
        link.readyBytes += reply.count
    }

    private func read(_ p: VXI11ReadParameters, xid: UInt32) -> VXI11FakeFrame {
        var error = VXI11Error.none
        var reason: VXI11Protocol.ReadReason = []
        var range = 0..<0
        var data: [UInt8] = []
        condition.lock()
        defer { condition.unlock() }
        if options.faults.contains(.drip), let link = links[p.link] {
            condition.unlock()
            usleep(100_000)
            condition.lock()
            data = [UInt8(ascii: "x")]
            range = 0..<1
            // After 300 drips (30 s) the reply ends: a client whose deadline is broken gets a
            // reply, so its test fails instead of hanging.
            link.drips += 1
            if link.drips >= 300 {
                link.drips = 0
                reason.insert(.end)
            }
        } else if let link = links[p.link] {
            error = accessLocked(link, flags: p.flags, lockTimeout: p.lockTimeout)
            if error == .none {
                link.busy = true
                link.abortRequested = false
                let now = Self.monotonicNow()
                var deadline: UInt64? = p.ioTimeout == UInt32.max ? nil : now + UInt64(p.ioTimeout) * 1_000_000
                if !link.hasOutput {
                    if options.faults.contains(.dieMidRead) {
                        log("die-mid-read: exiting during device_read")
                        exit(3)
                    }
                    if options.faults.contains(.slowRead) { deadline = now + 30_000_000_000 }
                }
                while true {
                    if link.abortRequested || link.destroyed {
                        error = link.destroyed ? .invalidLinkIdentifier : .abort
                        break
                    }
                    let t = Self.monotonicNow()
                    if link.hasOutput && t >= link.outputReadyAt { break }
                    if let deadline, t >= deadline {
                        error = .ioTimeout
                        break
                    }
                    var until = deadline ?? t + 1_000_000_000
                    if link.hasOutput { until = min(until, link.outputReadyAt) }
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Double(until - t) / 1e9))
                }
                link.busy = false
                link.abortRequested = false
                if error == .none {
                    let available = link.output.count - link.outputOffset
                    var take = min(Int(p.requestSize), options.maxRecvSize, available)
                    if p.flags.contains(.termCharSet),
                        let at = link.output[link.outputOffset..<(link.outputOffset + take)].firstIndex(of: p.termChar)
                    {
                        take = at - link.outputOffset + 1
                        reason.insert(.character)
                    }
                    range = link.outputOffset..<(link.outputOffset + take)
                    link.outputOffset += take
                    if !link.hasOutput {
                        reason.insert(.end)
                    }
                    if take == Int(p.requestSize) { reason.insert(.requestCount) }
                    data = link.output
                    if !link.hasOutput {
                        link.output = []
                        link.outputOffset = 0
                    }
                }
            }
        } else {
            error = .invalidLinkIdentifier
        }
        if error != .none { log("device_read link \(p.link) -> error \(error.rawValue)") }
        if options.faults.contains(.fragments) {
            let whole = reply(xid, .success) { w in
                data.withUnsafeBytes { raw in
                    VXI11ReadResponse.encode(
                        error: error, reason: reason, data: UnsafeRawBufferPointer(rebasing: raw[range]), into: &w)
                }
            }
            return VXI11FakeFrame(head: whole)
        }
        // Head (record mark, reply header, error, reason, length), then the data in place.
        var w = XDRWriter(prefix: [0, 0, 0, 0])
        ONCRPCReply.encode(xid: xid, status: .success, into: &w)
        w.u32(error.rawValue)
        w.u32(reason.rawValue)
        w.u32(UInt32(range.count))
        let padding = (4 - range.count % 4) % 4
        w.patch(ONCRPCRecordMarking.header(length: w.bytes.count - 4 + range.count + padding, last: true), at: 0)
        return VXI11FakeFrame(head: w.bytes, body: data, range: range, padding: padding)
    }
}

// MARK: - Sockets

/// A listening TCP socket on 127.0.0.1.
struct VXI11Listener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(port: UInt16) throws {
        do {
            let bound = try Loopback.listen(port: port, backlog: 64)
            fd = bound.fd
            self.port = Int(bound.port)
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    /// Accepts connections on a thread of its own, serving each on a new thread.
    func acceptForever(_ serve: @escaping @Sendable (Int32) -> Void) {
        let fd = self.fd
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    usleep(10_000)
                    continue
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                var on: Int32 = 1
                setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                Thread.detachNewThread { serve(client) }
            }
        }
    }
}

/// The portmapper over UDP on 127.0.0.1, at the TCP portmapper's port number: each datagram
/// is one RPC call (no record marking) and gets one datagram back, so LAN discovery (a
/// broadcast GETPORT) finds the fake.
struct VXI11UDPPortmapper: @unchecked Sendable {
    let fd: Int32

    /// Binds the TCP portmapper and a UDP socket on the same port number. With port 0 the
    /// kernel's TCP choice may be taken on UDP already: then both are tried again (a few times).
    static func bindPair(port: UInt16) throws -> (VXI11Listener, VXI11UDPPortmapper) {
        var attempt = 0
        while true {
            attempt += 1
            let tcp = try VXI11Listener(port: port)
            do {
                return (tcp, try VXI11UDPPortmapper(port: UInt16(tcp.port)))
            } catch {
                close(tcp.fd)
                if port != 0 || attempt >= 20 { throw error }
            }
        }
    }

    init(port: UInt16) throws {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw VXI11Listener.Failure(description: "UDP socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(s)
            throw VXI11Listener.Failure(description: "cannot bind UDP 127.0.0.1:\(port): \(reason)")
        }
        fd = s
    }

    /// Answers datagrams on a thread of its own until the process exits.
    func serveForever(_ server: VXI11FakeServer) {
        let fd = self.fd
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                var peer = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let n = buffer.withUnsafeMutableBytes { bytes in
                    withUnsafeMutablePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &length) }
                    }
                }
                if n < 0 {
                    if errno != EINTR { usleep(10_000) }
                    continue
                }
                server.log("UDP portmapper: \(n)-byte datagram")
                for frame in server.handle(Array(buffer[0..<n]), channel: .portmapper, connection: 0) {
                    // The TCP reply is record-marked (maybe in fragments): unwrap it to datagrams.
                    var reassembler = ONCRPCRecordReassembler(maxRecordSize: 65536)
                    guard let records = try? frame.head.withUnsafeBytes({ try reassembler.feed($0) }) else { continue }
                    for record in records {
                        _ = record.withUnsafeBytes { bytes in
                            withUnsafePointer(to: &peer) {
                                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, length)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
