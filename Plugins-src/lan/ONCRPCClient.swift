import CLitmusDriverABI
import LitmusDriverKit
import LitmusLANProtocol

/// The results of a successful RPC call: the whole reply record and where the results begin.
struct ONCRPCResult {
    var record: [UInt8]
    var offset: Int

    /// A reader positioned at the first result.
    var reader: XDRReader { XDRReader(record, from: offset) }
}

/// An ONC RPC client for one program over one TCP connection (VXI-11 core or abort channel,
/// or the portmapper).
///
/// Calls carry incrementing xids and AUTH_NONE and go out as single record-marking fragments;
/// replies may come in any number of fragments and are bounded in size. A reply is matched by
/// xid: replies to calls the client gave up on (their deadline passed) and replies with xids
/// it never sent are dropped, so one late reply cannot be taken for the answer to the next
/// call. A deadline that passes in the middle of a reply leaves the reassembler where it was,
/// so the stream keeps its framing.
///
/// The connection is marked ``isBroken`` when the stream can no longer be trusted (the peer
/// closed it, a send stopped half-way, a reply broke the framing); the owner then closes it.
final class ONCRPCClient {
    let connection: TCPConnection
    let program: UInt32
    let version: UInt32
    /// What this channel is, for messages ("VXI-11 core channel").
    let channelName: String
    private let services: HostServices?
    private var nextXID: UInt32
    private var reassembler = ONCRPCRecordReassembler(maxRecordSize: 64 * 1024)
    /// Calls given up on: xid -> the largest reply they may still produce.
    private var abandoned: [UInt32: Int] = [:]
    private var abandonedOrder: [UInt32] = []
    /// Whether a reply with an unknown xid was already reported as a warning.
    private var warnedUnexpected = false
    /// Set once the stream cannot be used any more.
    private(set) var isBroken = false

    /// The smallest reply bound: room for any error or short result.
    static let minimumReplyBound = 64 * 1024
    /// How many replies with unexpected xids one call tolerates before giving up.
    static let maxDroppedReplies = 1000

    init(connection: TCPConnection, program: UInt32, version: UInt32, channelName: String, services: HostServices?) {
        self.connection = connection
        self.program = program
        self.version = version
        self.channelName = channelName
        self.services = services
        var random = SystemRandomNumberGenerator()
        nextXID = UInt32.random(in: 1...0x3FFF_FFFF, using: &random)
    }

    var peer: String { connection.peer }

    /// Sends a call and returns its xid. `encodeArguments` appends the arguments; `capacity`
    /// is a hint of their size.
    func send(
        procedure: UInt32, capacity: Int = 64, deadline: Deadline, what: String,
        _ encodeArguments: (inout XDRWriter) -> Void
    ) throws -> UInt32 {
        guard !isBroken, connection.isOpen else {
            throw DriverFailure.closed("\(what): the \(channelName) to \(peer) is closed after an earlier failure")
        }
        let xid = nextXID
        nextXID = nextXID == UInt32.max ? 1 : nextXID + 1
        let header = ONCRPCCallHeader(xid: xid, program: program, version: version, procedure: procedure)
        let record = header.framed(capacity: capacity, encodeArguments)
        do {
            try connection.send(record, deadline: deadline, what: what)
        } catch {
            // Part of the record may have gone out: the stream is out of step.
            isBroken = true
            throw error
        }
        return xid
    }

    /// Waits for the reply to `xid` until `deadline`. Replies bigger than `maxReply` bytes
    /// (the record, headers included) are refused.
    ///
    /// - Throws: `timeout` when the deadline passes (the call may still be answered later:
    ///   pass it to ``abandon(xid:maxReply:)``), `io` when the connection fails,
    ///   `protocolViolation` for a malformed reply, `unsupported` or `protocolViolation` when
    ///   the server refuses the call at the RPC level.
    func receive(xid: UInt32, maxReply: Int, deadline: Deadline, what: String) throws -> ONCRPCResult {
        guard !isBroken, connection.isOpen else {
            throw DriverFailure.closed("\(what): the \(channelName) to \(peer) is closed after an earlier failure")
        }
        var dropped = 0
        while true {
            reassembler.maxRecordSize = max(maxReply, Self.minimumReplyBound, abandoned.values.max() ?? 0)
            let record: [UInt8]
            do {
                guard let r = try reassembler.receive({ try connection.receive(into: $0, deadline: deadline, what: what) })
                else { continue }
                record = r
            } catch let failure as DriverFailure {
                if failure.status != Int32(LITMUS_E_TIMEOUT) { isBroken = true }
                throw failure
            } catch let error as XDRError {
                isBroken = true
                throw DriverFailure.protocolViolation("\(what): bad reply framing from \(peer): \(error.message)")
            }
            guard let got = ONCRPCReply.xid(of: record) else {
                isBroken = true
                throw DriverFailure.protocolViolation(
                    "\(what): \(peer) sent a \(record.count)-byte record, too short for an RPC reply")
            }
            if got != xid {
                if abandoned.removeValue(forKey: got) != nil {
                    abandonedOrder.removeAll { $0 == got }
                    services?.log(.debug, component: "lan.vxi11", "\(channelName) \(peer): dropped the late reply to abandoned call xid \(got)")
                } else {
                    services?.log(
                        warnedUnexpected ? .debug : .warning, component: "lan.vxi11",
                        "\(channelName) \(peer): dropped a reply with unexpected xid \(got) while waiting for xid \(xid)"
                            + (warnedUnexpected ? "" : " (further ones are logged at debug level)"))
                    warnedUnexpected = true
                }
                dropped += 1
                if dropped > Self.maxDroppedReplies {
                    isBroken = true
                    throw DriverFailure.protocolViolation(
                        "\(what): \(peer) sent \(dropped) replies that match no outstanding call; the connection is out of step")
                }
                continue
            }
            let reply: ONCRPCReply
            do {
                reply = try ONCRPCReply.decode(record)
            } catch let error as XDRError {
                throw DriverFailure.protocolViolation("\(what): malformed RPC reply from \(peer): \(error.message)")
            }
            switch reply.status {
            case .success:
                return ONCRPCResult(record: record, offset: reply.resultOffset)
            case .procedureUnavailable:
                throw DriverFailure.unsupported("\(what): \(peer) \(reply.status.explanation)")
            default:
                throw DriverFailure.protocolViolation(
                    "\(what): \(peer) refused the call: \(reply.status.explanation) (\(channelName), program 0x\(String(program, radix: 16)) version \(version))")
            }
        }
    }

    /// Sends a call and waits for its reply.
    func call(
        procedure: UInt32, capacity: Int = 64, maxReply: Int = minimumReplyBound, deadline: Deadline, what: String,
        _ encodeArguments: (inout XDRWriter) -> Void
    ) throws -> ONCRPCResult {
        let xid = try send(procedure: procedure, capacity: capacity, deadline: deadline, what: what, encodeArguments)
        do {
            return try receive(xid: xid, maxReply: maxReply, deadline: deadline, what: what)
        } catch let failure as DriverFailure where failure.status == Int32(LITMUS_E_TIMEOUT) {
            abandon(xid: xid, maxReply: maxReply)
            throw failure
        }
    }

    /// Gives up on `xid`: its reply, if it still comes, is dropped. Keeps the last 16.
    func abandon(xid: UInt32, maxReply: Int) {
        abandoned[xid] = maxReply
        abandonedOrder.append(xid)
        while abandonedOrder.count > 16 {
            abandoned.removeValue(forKey: abandonedOrder.removeFirst())
        }
    }

    /// Returns a finished result's storage for reuse by the next reply (see
    /// ``ONCRPCRecordReassembler/recycle(_:)``).
    func recycle(_ result: inout ONCRPCResult) {
        let record = result.record
        result.record = []
        reassembler.recycle(consume record)
    }

    func close() {
        connection.close()
        reassembler.reset()
    }
}
