// ONC RPC version 2 messages (RFC 5531): call and reply headers with AUTH_NONE, as VXI-11 and
// the portmapper use them. Pure codecs: the caller does the I/O and the record marking.

/// Constants of ONC RPC version 2.
public enum ONCRPC {
    /// The RPC protocol version in every call.
    public static let rpcVersion: UInt32 = 2
    /// `msg_type` of a call.
    public static let callType: UInt32 = 0
    /// `msg_type` of a reply.
    public static let replyType: UInt32 = 1
    /// The AUTH_NONE flavour (no credentials).
    public static let authNone: UInt32 = 0
    /// The largest credential or verifier body RFC 5531 allows.
    public static let maxAuthBody = 400
    /// IPPROTO_TCP, as the portmapper names the transport.
    public static let protocolTCP: UInt32 = 6
    /// IPPROTO_UDP.
    public static let protocolUDP: UInt32 = 17
}

/// The header of an RPC call: transaction id, program, version and procedure (credentials
/// and verifier are always AUTH_NONE when encoding; any flavour is skipped when decoding).
public struct ONCRPCCallHeader: Equatable, Sendable {
    public var xid: UInt32
    public var program: UInt32
    public var version: UInt32
    public var procedure: UInt32

    public init(xid: UInt32, program: UInt32, version: UInt32, procedure: UInt32) {
        self.xid = xid
        self.program = program
        self.version = version
        self.procedure = procedure
    }

    /// Appends the header (40 bytes); the procedure's arguments follow it.
    public func encode(into w: inout XDRWriter) {
        w.u32(xid)
        w.u32(ONCRPC.callType)
        w.u32(ONCRPC.rpcVersion)
        w.u32(program)
        w.u32(version)
        w.u32(procedure)
        w.u32(ONCRPC.authNone)  // credential
        w.u32(0)
        w.u32(ONCRPC.authNone)  // verifier
        w.u32(0)
    }

    /// Decodes a call header (server side); the reader is left at the first argument.
    /// Throws ``XDRError`` when the record is not a well-formed call, and ``WrongRPCVersion``
    /// (carrying the header, so the server can answer RPC_MISMATCH) for another RPC version.
    public static func decode(_ r: inout XDRReader) throws -> ONCRPCCallHeader {
        let xid = try r.u32("the xid")
        let type = try r.u32("the message type")
        guard type == ONCRPC.callType else {
            throw XDRError("expected an RPC call (message type 0), got message type \(type)")
        }
        let rpcVersion = try r.u32("the RPC version")
        let program = try r.u32("the program number")
        let version = try r.u32("the program version")
        let procedure = try r.u32("the procedure number")
        _ = try r.u32("the credential flavour")
        _ = try r.opaqueRange(maxLength: ONCRPC.maxAuthBody, "the credential")
        _ = try r.u32("the verifier flavour")
        _ = try r.opaqueRange(maxLength: ONCRPC.maxAuthBody, "the verifier")
        let header = ONCRPCCallHeader(xid: xid, program: program, version: version, procedure: procedure)
        guard rpcVersion == ONCRPC.rpcVersion else { throw ONCRPCCallHeader.WrongRPCVersion(header: header, got: rpcVersion) }
        return header
    }

    /// A call with an RPC version other than 2 (the server answers RPC_MISMATCH).
    public struct WrongRPCVersion: Error, Sendable {
        public var header: ONCRPCCallHeader
        public var got: UInt32
    }
}

/// How the server answered a call.
public enum ONCRPCReplyStatus: Equatable, Sendable {
    /// Accepted and run; the results start at ``ONCRPCReply/resultOffset``.
    case success
    /// The server does not serve this program (PROG_UNAVAIL).
    case programUnavailable
    /// The server serves the program only in versions `low...high` (PROG_MISMATCH).
    case programMismatch(low: UInt32, high: UInt32)
    /// The program has no such procedure (PROC_UNAVAIL).
    case procedureUnavailable
    /// The server could not decode the arguments (GARBAGE_ARGS).
    case garbageArguments
    /// The server failed, for example out of memory (SYSTEM_ERR).
    case systemError
    /// The server speaks RPC versions `low...high` only (MSG_DENIED, RPC_MISMATCH).
    case rpcMismatch(low: UInt32, high: UInt32)
    /// The credentials were refused (MSG_DENIED, AUTH_ERROR) with this auth_stat.
    case authError(UInt32)

    /// A sentence for error messages.
    public var explanation: String {
        switch self {
        case .success: "success"
        case .programUnavailable: "the server does not offer this RPC program (PROG_UNAVAIL)"
        case .programMismatch(let low, let high): "the server offers this program only in versions \(low) to \(high) (PROG_MISMATCH)"
        case .procedureUnavailable: "the server does not implement this procedure (PROC_UNAVAIL)"
        case .garbageArguments: "the server could not decode the arguments (GARBAGE_ARGS)"
        case .systemError: "the server failed with a system error (SYSTEM_ERR)"
        case .rpcMismatch(let low, let high): "the server speaks ONC RPC versions \(low) to \(high) only (RPC_MISMATCH)"
        case .authError(let stat): "the server refused the credentials (AUTH_ERROR, auth_stat \(stat))"
        }
    }

    fileprivate var acceptStat: UInt32? {
        switch self {
        case .success: 0
        case .programUnavailable: 1
        case .programMismatch: 2
        case .procedureUnavailable: 3
        case .garbageArguments: 4
        case .systemError: 5
        case .rpcMismatch, .authError: nil
        }
    }
}

/// A decoded RPC reply header: its xid, its status and where the results begin.
public struct ONCRPCReply: Equatable, Sendable {
    public var xid: UInt32
    public var status: ONCRPCReplyStatus
    /// Offset in the record of the first result byte (meaningful for `.success`).
    public var resultOffset: Int

    public init(xid: UInt32, status: ONCRPCReplyStatus, resultOffset: Int) {
        self.xid = xid
        self.status = status
        self.resultOffset = resultOffset
    }

    /// Reads only the xid of a record (to match replies before decoding them).
    public static func xid(of record: [UInt8]) -> UInt32? {
        guard record.count >= 4 else { return nil }
        return UInt32(record[0]) << 24 | UInt32(record[1]) << 16 | UInt32(record[2]) << 8 | UInt32(record[3])
    }

    /// Decodes the reply header of a whole record. Throws when it is not a well-formed reply.
    public static func decode(_ record: [UInt8]) throws -> ONCRPCReply {
        var r = XDRReader(record)
        let xid = try r.u32("the xid")
        let type = try r.u32("the message type")
        guard type == ONCRPC.replyType else {
            throw XDRError("expected an RPC reply (message type 1), got message type \(type)")
        }
        let replyStat = try r.u32("the reply status")
        switch replyStat {
        case 0:  // MSG_ACCEPTED
            _ = try r.u32("the verifier flavour")
            _ = try r.opaqueRange(maxLength: ONCRPC.maxAuthBody, "the verifier")
            let accept = try r.u32("the accept status")
            let status: ONCRPCReplyStatus
            switch accept {
            case 0: status = .success
            case 1: status = .programUnavailable
            case 2: status = .programMismatch(low: try r.u32("the lowest version"), high: try r.u32("the highest version"))
            case 3: status = .procedureUnavailable
            case 4: status = .garbageArguments
            case 5: status = .systemError
            default: throw XDRError("unknown accept status \(accept) in an RPC reply")
            }
            return ONCRPCReply(xid: xid, status: status, resultOffset: r.position)
        case 1:  // MSG_DENIED
            let reject = try r.u32("the reject status")
            switch reject {
            case 0:
                let status = ONCRPCReplyStatus.rpcMismatch(low: try r.u32("the lowest version"), high: try r.u32("the highest version"))
                return ONCRPCReply(xid: xid, status: status, resultOffset: r.position)
            case 1:
                return ONCRPCReply(xid: xid, status: .authError(try r.u32("the auth status")), resultOffset: r.position)
            default: throw XDRError("unknown reject status \(reject) in an RPC reply")
            }
        default:
            throw XDRError("unknown reply status \(replyStat) in an RPC reply")
        }
    }

    /// Encodes a reply header (server side) with an AUTH_NONE verifier; for `.success` the
    /// results are appended after it by the caller.
    public static func encode(xid: UInt32, status: ONCRPCReplyStatus, into w: inout XDRWriter) {
        w.u32(xid)
        w.u32(ONCRPC.replyType)
        if let accept = status.acceptStat {
            w.u32(0)  // MSG_ACCEPTED
            w.u32(ONCRPC.authNone)
            w.u32(0)
            w.u32(accept)
            if case .programMismatch(let low, let high) = status {
                w.u32(low)
                w.u32(high)
            }
        } else {
            w.u32(1)  // MSG_DENIED
            switch status {
            case .rpcMismatch(let low, let high):
                w.u32(0)
                w.u32(low)
                w.u32(high)
            case .authError(let stat):
                w.u32(1)
                w.u32(stat)
            default: break
            }
        }
    }
}

extension ONCRPCCallHeader {
    /// A whole call record (header, then the arguments `encode` appends), framed as a single
    /// record-marking fragment and ready to send.
    public func framed(capacity: Int = 128, _ encodeArguments: (inout XDRWriter) -> Void) -> [UInt8] {
        var w = XDRWriter(prefix: [0, 0, 0, 0], capacity: capacity + 44)
        encode(into: &w)
        encodeArguments(&w)
        ONCRPCRecordMarking.sealSingleFragment(&w)
        return w.bytes
    }
}

extension ONCRPCReply {
    /// A whole reply record (header, then for `.success` the results `encode` appends),
    /// framed as a single record-marking fragment (server side).
    public static func framed(
        xid: UInt32, status: ONCRPCReplyStatus = .success, capacity: Int = 128, _ encodeResults: (inout XDRWriter) -> Void = { _ in }
    ) -> [UInt8] {
        var w = XDRWriter(prefix: [0, 0, 0, 0], capacity: capacity + 32)
        encode(xid: xid, status: status, into: &w)
        if status == .success { encodeResults(&w) }
        ONCRPCRecordMarking.sealSingleFragment(&w)
        return w.bytes
    }
}
