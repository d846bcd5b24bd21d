// HiSLIP (IVI-6.1, High-Speed LAN Instrument Protocol): constants, message types and the
// 16-byte message header, with the checks every received header goes through. Pure values and
// functions: no I/O. Shared by the lan plugin, the fake HiSLIP server and the tests.

/// Constants of the protocol.
public enum HiSLIP {
    /// The IANA port of HiSLIP servers.
    public static let defaultPort = 4880
    /// The first MessageID a client uses after Initialize and after each device clear; every
    /// Data, DataEnd and Trigger message the client sends takes the next one (+2, wrapping).
    public static let firstMessageID: UInt32 = 0xFFFF_FF00
    /// The MessageID a server may put on a response it cannot tie to a request.
    public static let unsolicitedMessageID: UInt32 = 0xFFFF_FFFF
    /// The MessageID "sent" before the first message: `firstMessageID - 2`. Status queries and
    /// lock releases carry it until the client sends its first message.
    public static let noMessageSentID: UInt32 = 0xFFFF_FEFE
    /// The protocol version this implementation speaks (1.1; 2.0 servers fall back to it).
    public static let version = HiSLIPVersion(major: 1, minor: 1)
    /// The largest sub-address (VISA LAN device name) and lock string, in bytes.
    public static let maxSubaddressLength = 256
    /// The maximum message size VISA uses when none is configured (1 MiB, header included).
    public static let defaultMaximumMessageSize: UInt64 = 1 << 20
    /// Bit 0 of the control code of Data, DataEnd, Trigger and AsyncStatusQuery from a client:
    /// a whole response (the 488.2 Response Message Terminator) was delivered to the
    /// application since the client's previous message.
    public static let rmtDeliveredBit: UInt8 = 0x01

    /// The MessageID after `id` (+2, wrapping at 32 bits).
    @inlinable
    public static func messageID(after id: UInt32) -> UInt32 { id &+ 2 }

    /// Whether `a` comes before `b` in the cyclic MessageID sequence (serial-number order, so a
    /// wrap from 0xFFFF_FFFE to 0 keeps the order).
    @inlinable
    public static func messageID(_ a: UInt32, precedes b: UInt32) -> Bool {
        a != b && Int32(bitPattern: b &- a) > 0
    }
}

/// A HiSLIP protocol version, sent as `major << 8 | minor` in Initialize and InitializeResponse.
public struct HiSLIPVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// From the 16-bit field of a message parameter.
    public init(packed: UInt16) {
        major = UInt8(packed >> 8)
        minor = UInt8(packed & 0xFF)
    }

    public var packed: UInt16 { UInt16(major) << 8 | UInt16(minor) }
    public var description: String { "\(major).\(minor)" }

    public static func < (a: HiSLIPVersion, b: HiSLIPVersion) -> Bool { a.packed < b.packed }
}

/// The message type of a HiSLIP header (IVI-6.1 table "Numeric Values of Message Type codes").
///
/// A struct rather than an enum so that reserved (39-127) and vendor-specific (128-255) values
/// received from a peer can be represented and reported.
public struct HiSLIPMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let initialize = Self(rawValue: 0)
    public static let initializeResponse = Self(rawValue: 1)
    public static let fatalError = Self(rawValue: 2)
    public static let error = Self(rawValue: 3)
    public static let asyncLock = Self(rawValue: 4)
    public static let asyncLockResponse = Self(rawValue: 5)
    public static let data = Self(rawValue: 6)
    public static let dataEnd = Self(rawValue: 7)
    public static let deviceClearComplete = Self(rawValue: 8)
    public static let deviceClearAcknowledge = Self(rawValue: 9)
    public static let asyncRemoteLocalControl = Self(rawValue: 10)
    public static let asyncRemoteLocalResponse = Self(rawValue: 11)
    public static let trigger = Self(rawValue: 12)
    public static let interrupted = Self(rawValue: 13)
    public static let asyncInterrupted = Self(rawValue: 14)
    public static let asyncMaximumMessageSize = Self(rawValue: 15)
    public static let asyncMaximumMessageSizeResponse = Self(rawValue: 16)
    public static let asyncInitialize = Self(rawValue: 17)
    public static let asyncInitializeResponse = Self(rawValue: 18)
    public static let asyncDeviceClear = Self(rawValue: 19)
    public static let asyncServiceRequest = Self(rawValue: 20)
    public static let asyncStatusQuery = Self(rawValue: 21)
    public static let asyncStatusResponse = Self(rawValue: 22)
    public static let asyncDeviceClearAcknowledge = Self(rawValue: 23)
    public static let asyncLockInfo = Self(rawValue: 24)
    public static let asyncLockInfoResponse = Self(rawValue: 25)
    // HiSLIP 2.0: descriptors, TLS and SASL authentication.
    public static let getDescriptors = Self(rawValue: 26)
    public static let getDescriptorsResponse = Self(rawValue: 27)
    public static let startTLS = Self(rawValue: 28)
    public static let asyncStartTLS = Self(rawValue: 29)
    public static let asyncStartTLSResponse = Self(rawValue: 30)
    public static let endTLS = Self(rawValue: 31)
    public static let asyncEndTLS = Self(rawValue: 32)
    public static let asyncEndTLSResponse = Self(rawValue: 33)
    public static let getSaslMechanismList = Self(rawValue: 34)
    public static let getSaslMechanismListResponse = Self(rawValue: 35)
    public static let authenticationStart = Self(rawValue: 36)
    public static let authenticationExchange = Self(rawValue: 37)
    public static let authenticationResult = Self(rawValue: 38)

    private static let names = [
        "Initialize", "InitializeResponse", "FatalError", "Error", "AsyncLock", "AsyncLockResponse", "Data",
        "DataEnd", "DeviceClearComplete", "DeviceClearAcknowledge", "AsyncRemoteLocalControl",
        "AsyncRemoteLocalResponse", "Trigger", "Interrupted", "AsyncInterrupted", "AsyncMaximumMessageSize",
        "AsyncMaximumMessageSizeResponse", "AsyncInitialize", "AsyncInitializeResponse", "AsyncDeviceClear",
        "AsyncServiceRequest", "AsyncStatusQuery", "AsyncStatusResponse", "AsyncDeviceClearAcknowledge",
        "AsyncLockInfo", "AsyncLockInfoResponse", "GetDescriptors", "GetDescriptorsResponse", "StartTLS",
        "AsyncStartTLS", "AsyncStartTLSResponse", "EndTLS", "AsyncEndTLS", "AsyncEndTLSResponse",
        "GetSaslMechanismList", "GetSaslMechanismListResponse", "AuthenticationStart", "AuthenticationExchange",
        "AuthenticationResult",
    ]

    /// Whether IVI-6.1 (up to 2.0) defines this type.
    public var isDefined: Bool { Int(rawValue) < Self.names.count }
    /// Types 128-255 are the vendors' own.
    public var isVendorSpecific: Bool { rawValue >= 128 }

    /// The specification's name (`DataEnd`), or a description of an undefined value.
    public var description: String {
        if isDefined { return Self.names[Int(rawValue)] }
        return isVendorSpecific ? "vendor-specific message type \(rawValue)" : "reserved message type \(rawValue)"
    }

    /// The payload length messages of this type must have, or nil when it varies.
    public var fixedPayloadLength: UInt64? {
        switch self {
        case .asyncMaximumMessageSize, .asyncMaximumMessageSizeResponse: 8
        case .initializeResponse, .asyncLockResponse, .deviceClearComplete, .deviceClearAcknowledge,
            .asyncRemoteLocalControl, .asyncRemoteLocalResponse, .trigger, .interrupted, .asyncInterrupted,
            .asyncInitialize, .asyncInitializeResponse, .asyncDeviceClear, .asyncServiceRequest, .asyncStatusQuery,
            .asyncStatusResponse, .asyncDeviceClearAcknowledge, .asyncLockInfo, .asyncLockInfoResponse:
            0
        default: nil
        }
    }

    /// The largest payload a message of this type may carry whatever the negotiated maximum
    /// (sub-addresses and lock strings are at most 256 bytes), or nil for no such limit.
    public var payloadLimit: UInt64? {
        switch self {
        case .initialize, .asyncLock: UInt64(HiSLIP.maxSubaddressLength)
        default: fixedPayloadLength
        }
    }

    /// The largest control code this type allows, or nil when every value has a meaning
    /// (status bytes, error codes, feature bits of newer versions).
    public var maxControlCode: UInt8? {
        switch self {
        // RMT-delivered is the only bit of these.
        case .data, .dataEnd, .trigger, .asyncStatusQuery: 1
        // 0 failure, 1 success, 2 success (shared), 3 error.
        case .asyncLockResponse: 3
        // 0 release, 1 request.
        case .asyncLock: 1
        // The seven remote/local requests.
        case .asyncRemoteLocalControl: 6
        // Feature bits: overlap (1.0), encryption mode and initial encryption (2.0).
        case .initializeResponse, .deviceClearComplete, .deviceClearAcknowledge, .asyncDeviceClearAcknowledge: 7
        // Secure connection supported (2.0).
        case .asyncInitializeResponse: 1
        // 0 no exclusive lock granted, 1 granted.
        case .asyncLockInfoResponse: 1
        case .initialize, .asyncInitialize, .asyncMaximumMessageSize, .asyncMaximumMessageSizeResponse,
            .asyncDeviceClear, .asyncLockInfo, .interrupted, .asyncInterrupted, .asyncRemoteLocalResponse:
            0
        default: nil
        }
    }
}

/// Why a received header (or a whole message) cannot be accepted.
public enum HiSLIPViolation: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer than 16 bytes where a header was expected.
    case truncatedHeader(available: Int)
    /// The header does not start with "HS": the byte stream is out of step.
    case badPrologue(UInt8, UInt8)
    /// A reserved or vendor-specific type (its payload was within limits, so it can be skipped).
    case undefinedMessageType(HiSLIPMessageType)
    /// A control code this message type does not define.
    case invalidControlCode(HiSLIPMessageType, UInt8)
    /// A message type whose payload has a fixed length arrived with another length.
    case wrongPayloadLength(HiSLIPMessageType, length: UInt64, expected: UInt64)
    /// A payload longer than the negotiated maximum (or than the type allows).
    case payloadTooLarge(HiSLIPMessageType, length: UInt64, limit: UInt64)

    public var description: String {
        switch self {
        case .truncatedHeader(let n): "a message header is 16 bytes; only \(n) arrived"
        case .badPrologue(let a, let b):
            "a message header starts with \"HS\" (0x48 0x53) but this one starts with 0x\(hex2(a)) 0x\(hex2(b)): the byte stream is out of step"
        case .undefinedMessageType(let t): "\(t) is not defined by HiSLIP 2.0"
        case .invalidControlCode(let t, let c): "\(t) does not define control code \(c)"
        case .wrongPayloadLength(let t, let n, let e): "\(t) carries \(e) payload bytes, not \(n)"
        case .payloadTooLarge(let t, let n, let limit): "\(t) declares a payload of \(n) bytes, more than the limit of \(limit)"
        }
    }

    /// Whether the byte stream is still in step after this violation once the message's payload
    /// is skipped (an undefined type or a wrong control code), as opposed to a header that
    /// cannot be trusted at all.
    public var isRecoverable: Bool {
        switch self {
        case .undefinedMessageType, .invalidControlCode: true
        default: false
        }
    }

    /// The Error code a receiver reports to its peer for a recoverable violation.
    public var errorCode: HiSLIPErrorCode {
        switch self {
        case .undefinedMessageType(let t): t.isVendorSpecific ? .unrecognizedVendorMessage : .unrecognizedMessageType
        case .invalidControlCode: .unrecognizedControlCode
        case .payloadTooLarge: .messageTooLarge
        default: .unidentified
        }
    }
}

@inline(__always)
func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}

/// The 16-byte header in front of every HiSLIP message, in network byte order:
/// `"HS"`, message type (u8), control code (u8), message parameter (u32), payload length (u64).
public struct HiSLIPHeader: Equatable, Sendable, CustomStringConvertible {
    /// Bytes in a header.
    public static let size = 16

    public var type: HiSLIPMessageType
    public var controlCode: UInt8
    public var parameter: UInt32
    public var payloadLength: UInt64

    public init(_ type: HiSLIPMessageType, controlCode: UInt8 = 0, parameter: UInt32 = 0, payloadLength: UInt64 = 0) {
        self.type = type
        self.controlCode = controlCode
        self.parameter = parameter
        self.payloadLength = payloadLength
    }

    public var description: String {
        "\(type) (control \(controlCode), parameter 0x\(String(parameter, radix: 16)), \(payloadLength) payload bytes)"
    }

    /// Writes the 16 header bytes at `p`.
    public func write(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: 0x48, as: UInt8.self)
        p.storeBytes(of: 0x53, toByteOffset: 1, as: UInt8.self)
        p.storeBytes(of: type.rawValue, toByteOffset: 2, as: UInt8.self)
        p.storeBytes(of: controlCode, toByteOffset: 3, as: UInt8.self)
        p.storeBytes(of: parameter.bigEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: payloadLength.bigEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// The 16 header bytes.
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.size) { buffer, count in
            write(to: UnsafeMutableRawPointer(buffer.baseAddress!))
            count = Self.size
        }
    }

    /// Parses the first 16 bytes of `raw`, checking only the prologue; ``validate(maxPayloadLength:)``
    /// checks the rest.
    public static func parse(_ raw: UnsafeRawBufferPointer) throws(HiSLIPViolation) -> HiSLIPHeader {
        guard raw.count >= size else { throw .truncatedHeader(available: raw.count) }
        guard raw[0] == 0x48 && raw[1] == 0x53 else { throw .badPrologue(raw[0], raw[1]) }
        var parameter: UInt32 = 0
        var length: UInt64 = 0
        for i in 4..<8 { parameter = parameter << 8 | UInt32(raw[i]) }
        for i in 8..<16 { length = length << 8 | UInt64(raw[i]) }
        return HiSLIPHeader(
            HiSLIPMessageType(rawValue: raw[2]), controlCode: raw[3], parameter: parameter, payloadLength: length)
    }

    /// Parses the first 16 bytes of `bytes`.
    public static func parse(_ bytes: [UInt8]) throws(HiSLIPViolation) -> HiSLIPHeader {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(HiSLIPViolation) -> HiSLIPHeader in try parse(raw) }
        }
        return try result.get()
    }

    /// Checks a parsed header: the payload length against `maxPayloadLength` (the negotiated
    /// maximum) and the type's own limit, then that the type is defined, then the control code,
    /// then a fixed payload length. The payload bound comes first so that a message failing only
    /// the later, recoverable checks can safely be skipped.
    public func validate(maxPayloadLength: UInt64) throws(HiSLIPViolation) {
        let limit = min(maxPayloadLength, type.payloadLimit ?? .max)
        if let fixed = type.fixedPayloadLength, payloadLength != fixed, payloadLength <= maxPayloadLength {
            throw .wrongPayloadLength(type, length: payloadLength, expected: fixed)
        }
        guard payloadLength <= limit else { throw .payloadTooLarge(type, length: payloadLength, limit: limit) }
        guard type.isDefined else { throw .undefinedMessageType(type) }
        if let max = type.maxControlCode, controlCode > max { throw .invalidControlCode(type, controlCode) }
    }
}
