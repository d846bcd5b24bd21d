/// One whole HiSLIP message: a header and its payload.
///
/// Builders name the messages of IVI-6.1 and put each field where the specification says; the
/// accessors read those fields back.
///
/// ```swift
/// let hello = HiSLIPMessage.initialize(version: HiSLIP.version, vendorID: "LT", subaddress: "hislip0")
/// socket.send(hello.encoded())
/// ```
public struct HiSLIPMessage: Equatable, Sendable, CustomStringConvertible {
    public var type: HiSLIPMessageType
    public var controlCode: UInt8
    public var parameter: UInt32
    public var payload: [UInt8]

    public init(_ type: HiSLIPMessageType, controlCode: UInt8 = 0, parameter: UInt32 = 0, payload: [UInt8] = []) {
        self.type = type
        self.controlCode = controlCode
        self.parameter = parameter
        self.payload = payload
    }

    /// The header this message is sent with.
    public var header: HiSLIPHeader {
        HiSLIPHeader(type, controlCode: controlCode, parameter: parameter, payloadLength: UInt64(payload.count))
    }

    /// Header and payload, ready to send.
    public func encoded() -> [UInt8] {
        var bytes = header.bytes
        bytes.append(contentsOf: payload)
        return bytes
    }

    public var description: String {
        var text = header.description
        if !payload.isEmpty && payload.count <= 64 { text += " \"\(String(decoding: payload, as: UTF8.self))\"" }
        return text
    }

    /// The payload as text (error messages, sub-addresses), with bytes that are not printable
    /// ASCII replaced, at most `limit` characters.
    public func payloadText(limit: Int = 200) -> String {
        var text = ""
        for byte in payload.prefix(limit) {
            text.append(byte >= 0x20 && byte < 0x7F ? Character(Unicode.Scalar(byte)) : "?")
        }
        if payload.count > limit { text += "..." }
        return text
    }

    // MARK: - Builders

    /// Initialize (client, synchronous channel): the client's version and two-letter vendor ID
    /// in the parameter, the sub-address (`hislip0`) as payload.
    public static func initialize(version: HiSLIPVersion, vendorID: String, subaddress: String) -> HiSLIPMessage {
        HiSLIPMessage(
            .initialize, parameter: UInt32(version.packed) << 16 | UInt32(packVendorID(vendorID)),
            payload: Array(subaddress.utf8))
    }

    /// InitializeResponse (server): the mode it starts in, the negotiated version and the session ID.
    public static func initializeResponse(
        features: HiSLIPFeatures, version: HiSLIPVersion, sessionID: UInt16
    ) -> HiSLIPMessage {
        HiSLIPMessage(
            .initializeResponse, controlCode: features.rawValue,
            parameter: UInt32(version.packed) << 16 | UInt32(sessionID))
    }

    /// AsyncInitialize (client, asynchronous channel): the session ID from InitializeResponse.
    public static func asyncInitialize(sessionID: UInt16) -> HiSLIPMessage {
        HiSLIPMessage(.asyncInitialize, parameter: UInt32(sessionID))
    }

    /// AsyncInitializeResponse (server): its two-letter vendor ID.
    public static func asyncInitializeResponse(vendorID: String) -> HiSLIPMessage {
        HiSLIPMessage(.asyncInitializeResponse, parameter: UInt32(packVendorID(vendorID)))
    }

    /// AsyncMaximumMessageSize (client) or its response (server): the largest message, header
    /// included, the sender accepts.
    public static func maximumMessageSize(_ size: UInt64, response: Bool = false) -> HiSLIPMessage {
        var payload = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { payload[i] = UInt8(truncatingIfNeeded: size >> (56 - 8 * UInt64(i))) }
        return HiSLIPMessage(response ? .asyncMaximumMessageSizeResponse : .asyncMaximumMessageSize, payload: payload)
    }

    /// Data (`end == false`) or DataEnd: part of a program or response message.
    public static func data(_ payload: [UInt8], messageID: UInt32, end: Bool, rmtDelivered: Bool = false) -> HiSLIPMessage {
        HiSLIPMessage(
            end ? .dataEnd : .data, controlCode: rmtDelivered ? HiSLIP.rmtDeliveredBit : 0, parameter: messageID,
            payload: payload)
    }

    /// FatalError: the sender closes the connection after it.
    public static func fatalError(_ code: HiSLIPFatalErrorCode, _ text: String) -> HiSLIPMessage {
        HiSLIPMessage(.fatalError, controlCode: code.rawValue, payload: Array(text.utf8))
    }

    /// Error: the offending message was discarded; the connection stays up.
    public static func error(_ code: HiSLIPErrorCode, _ text: String) -> HiSLIPMessage {
        HiSLIPMessage(.error, controlCode: code.rawValue, payload: Array(text.utf8))
    }

    /// AsyncLock request: wait up to `timeoutMilliseconds` for the lock; an empty lock string
    /// asks for the exclusive lock, any other for a shared lock of that name.
    public static func lockRequest(timeoutMilliseconds: UInt32, lockString: String = "") -> HiSLIPMessage {
        HiSLIPMessage(.asyncLock, controlCode: 1, parameter: timeoutMilliseconds, payload: Array(lockString.utf8))
    }

    /// AsyncLock release: the parameter is the MessageID of the client's most recent message.
    public static func lockRelease(lastMessageID: UInt32) -> HiSLIPMessage {
        HiSLIPMessage(.asyncLock, controlCode: 0, parameter: lastMessageID)
    }

    /// AsyncStatusQuery: RMT-delivered and the MessageID of the client's most recent message.
    public static func statusQuery(lastMessageID: UInt32, rmtDelivered: Bool) -> HiSLIPMessage {
        HiSLIPMessage(.asyncStatusQuery, controlCode: rmtDelivered ? HiSLIP.rmtDeliveredBit : 0, parameter: lastMessageID)
    }

    /// AsyncRemoteLocalControl: one of the REN / go-to-local requests.
    public static func remoteLocal(_ request: HiSLIPRemoteLocal, lastMessageID: UInt32) -> HiSLIPMessage {
        HiSLIPMessage(.asyncRemoteLocalControl, controlCode: request.rawValue, parameter: lastMessageID)
    }

    /// Trigger (client, synchronous channel): takes a MessageID like Data.
    public static func trigger(messageID: UInt32, rmtDelivered: Bool) -> HiSLIPMessage {
        HiSLIPMessage(.trigger, controlCode: rmtDelivered ? HiSLIP.rmtDeliveredBit : 0, parameter: messageID)
    }

    // MARK: - Fields

    /// The version in the upper 16 bits of the parameter (Initialize, InitializeResponse).
    public var version: HiSLIPVersion { HiSLIPVersion(packed: UInt16(parameter >> 16)) }
    /// The session ID in the lower 16 bits (InitializeResponse, AsyncInitialize).
    public var sessionID: UInt16 { UInt16(truncatingIfNeeded: parameter) }
    /// The vendor ID in the lower 16 bits (Initialize, AsyncInitializeResponse), as two characters.
    public var vendorID: String { Self.unpackVendorID(UInt16(truncatingIfNeeded: parameter)) }
    /// The feature bits of the control code (InitializeResponse and the device-clear messages).
    public var features: HiSLIPFeatures { HiSLIPFeatures(rawValue: controlCode) }
    /// The big-endian 64-bit payload of the maximum-message-size messages, or nil.
    public var maximumMessageSize: UInt64? {
        guard payload.count == 8 else { return nil }
        return payload.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func packVendorID(_ id: String) -> UInt16 {
        let bytes = Array(id.utf8.prefix(2)) + [UInt8](repeating: 0x20, count: max(0, 2 - id.utf8.count))
        return UInt16(bytes[0]) << 8 | UInt16(bytes[1])
    }

    static func unpackVendorID(_ value: UInt16) -> String {
        let bytes = [UInt8(value >> 8), UInt8(value & 0xFF)]
        return String(bytes.map { $0 >= 0x20 && $0 < 0x7F ? Character(Unicode.Scalar($0)) : "?" })
    }
}
