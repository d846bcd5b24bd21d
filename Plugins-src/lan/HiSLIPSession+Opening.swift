import CLitmusDriverABI
import LitmusDriverKit
import LitmusLANProtocol

/// Opening a HiSLIP session: both connections and the initialization handshake, under the
/// connect deadline.
extension HiSLIPSession {
    /// What opening negotiated.
    struct Setup {
        var sync: HiSLIPChannel
        var async: HiSLIPChannel
        var sessionID: UInt16
        var version: HiSLIPVersion
        var overlapped: Bool
        var serverVendorID: String
        var serverMaximumMessageSize: UInt64
    }

    /// Connects both channels and runs Initialize, AsyncInitialize and AsyncMaximumMessageSize,
    /// all before `deadline`.
    static func initialize(
        host: String, port: Int, subaddress: String, deadline: Deadline, budgetMs: UInt32
    ) throws -> Setup {
        let smallPayloads: UInt64 = 64 * 1024
        let sync = HiSLIPChannel(
            connection: try TCPConnection(host: host, port: port, deadline: deadline), name: "synchronous channel",
            maxPayloadLength: smallPayloads)
        var step = "Initialize"
        do {
            try sync.send(
                .initialize(version: HiSLIP.version, vendorID: vendorID, subaddress: subaddress), deadline: deadline,
                what: step)
            let response = try expect(.initializeResponse, on: sync, deadline: deadline, during: step)
            let agreed = response.version
            guard agreed.major >= 1 else {
                throw DriverFailure.protocolViolation(
                    "\(sync.peer) answered Initialize with HiSLIP version \(agreed); versions start at 1.0")
            }
            if response.features.contains(.encryptionMandatory) || response.features.contains(.initialEncryption) {
                throw DriverFailure.unsupported(
                    "\(sync.peer) requires an encrypted HiSLIP 2.0 connection (TLS), which this driver does not support; "
                        + "allow unencrypted HiSLIP on the instrument or use VXI-11 / a raw socket")
            }
            step = "AsyncInitialize"
            let async = HiSLIPChannel(
                connection: try TCPConnection(host: host, port: port, deadline: deadline), name: "asynchronous channel",
                maxPayloadLength: smallPayloads)
            try async.send(.asyncInitialize(sessionID: response.sessionID), deadline: deadline, what: step)
            let asyncResponse = try expect(.asyncInitializeResponse, on: async, deadline: deadline, during: step)
            step = "AsyncMaximumMessageSize"
            try async.send(.maximumMessageSize(clientMaximumMessageSize), deadline: deadline, what: step)
            let sizeResponse = try expect(.asyncMaximumMessageSizeResponse, on: async, deadline: deadline, during: step)
            let serverMax = sizeResponse.maximumMessageSize ?? 0
            guard serverMax > UInt64(HiSLIPHeader.size) else {
                throw DriverFailure.protocolViolation(
                    "\(sync.peer) announced a maximum message size of \(serverMax) bytes, too small for a message header "
                        + "(\(HiSLIPHeader.size) bytes) and data")
            }
            // The maximum counts the header; a server counting only the payload still fits, since
            // payloads are accepted up to the whole maximum.
            sync.maxPayloadLength = clientMaximumMessageSize
            async.maxPayloadLength = clientMaximumMessageSize
            return Setup(
                sync: sync, async: async, sessionID: response.sessionID, version: agreed,
                overlapped: response.features.contains(.overlapped), serverVendorID: asyncResponse.vendorID,
                serverMaximumMessageSize: serverMax)
        } catch let failure as DriverFailure where failure.status == Int32(LITMUS_E_TIMEOUT) {
            throw DriverFailure.timeout(
                "\(sync.peer) did not complete the HiSLIP \(step) within \(budgetMs) ms (connect_timeout_ms); check that port "
                    + "\(port) is a HiSLIP server (the standard port is \(HiSLIP.defaultPort)) and that the instrument has "
                    + "a device named \"\(subaddress)\"")
        }
    }

    /// Reads the next message on `channel` during opening, which must be `type`; FatalError and
    /// Error become failures that say what the server reported.
    static func expect(
        _ type: HiSLIPMessageType, on channel: HiSLIPChannel, deadline: Deadline, during step: String
    ) throws -> HiSLIPMessage {
        let header: HiSLIPHeader
        do {
            header = try channel.receiveHeader(deadline: deadline, what: step)
            try header.validate(maxPayloadLength: channel.maxPayloadLength)
        } catch let violation as HiSLIPViolation {
            throw DriverFailure.protocolViolation(
                "\(channel.peer) answered the HiSLIP \(step) with something that is not HiSLIP: \(violation); check that "
                    + "the port is a HiSLIP server")
        }
        let keep = min(header.payloadLength, UInt64(maxErrorText))
        let payload = try channel.receivePayload(count: Int(keep), deadline: deadline, what: step)
        let message = HiSLIPMessage(
            header.type, controlCode: header.controlCode, parameter: header.parameter, payload: payload)
        switch header.type {
        case type:
            return message
        case .fatalError:
            let code = HiSLIPFatalErrorCode(rawValue: header.controlCode)
            let text =
                "\(channel.peer) refused the HiSLIP \(step): FatalError \(code.rawValue) (\(code))"
                + (payload.isEmpty ? "" : ": \"\(message.payloadText())\"")
            if code == .tooManyClients {
                throw DriverFailure.busy(text + "; close another session to the instrument and retry")
            }
            throw DriverFailure.io(text, vendorCode: Int32(code.rawValue))
        case .error:
            let code = HiSLIPErrorCode(rawValue: header.controlCode)
            throw DriverFailure.instrument(
                "\(channel.peer) rejected the HiSLIP \(step): Error \(code.rawValue) (\(code))"
                    + (payload.isEmpty ? "" : ": \"\(message.payloadText())\""),
                vendorCode: Int32(code.rawValue))
        default:
            throw DriverFailure.protocolViolation(
                "\(channel.peer) answered the HiSLIP \(step) with \(header.type) instead of \(type)")
        }
    }
}
