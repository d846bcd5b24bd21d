// HiSLIP codes carried in control codes: feature bits, FatalError and Error codes, lock
// results and remote/local requests (IVI-6.1), with what each means.

/// The feature bits of InitializeResponse, DeviceClearComplete, DeviceClearAcknowledge and
/// AsyncDeviceClearAcknowledge.
public struct HiSLIPFeatures: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Overlapped mode (otherwise synchronized mode).
    public static let overlapped = HiSLIPFeatures(rawValue: 1 << 0)
    /// HiSLIP 2.0: encryption is mandatory.
    public static let encryptionMandatory = HiSLIPFeatures(rawValue: 1 << 1)
    /// HiSLIP 2.0: the client must switch to encrypted mode at once.
    public static let initialEncryption = HiSLIPFeatures(rawValue: 1 << 2)
}

/// The code of a FatalError message (the server or client closes the connection after it).
public struct HiSLIPFatalErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unidentified = Self(rawValue: 0)
    public static let poorlyFormedHeader = Self(rawValue: 1)
    public static let channelsNotEstablished = Self(rawValue: 2)
    public static let invalidInitializationSequence = Self(rawValue: 3)
    public static let tooManyClients = Self(rawValue: 4)
    public static let secureConnectionFailed = Self(rawValue: 5)

    /// What the code means, from the specification's table.
    public var description: String {
        switch rawValue {
        case 0: "unidentified error"
        case 1: "poorly formed message header"
        case 2: "attempt to use the connection without both channels established"
        case 3: "invalid initialization sequence"
        case 4: "server refused the connection: maximum number of clients exceeded"
        case 5: "secure connection failed"
        case 6...127: "reserved fatal error code \(rawValue)"
        default: "device-defined fatal error \(rawValue)"
        }
    }
}

/// The code of an Error message (non-fatal: the offending message was discarded).
public struct HiSLIPErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unidentified = Self(rawValue: 0)
    public static let unrecognizedMessageType = Self(rawValue: 1)
    public static let unrecognizedControlCode = Self(rawValue: 2)
    public static let unrecognizedVendorMessage = Self(rawValue: 3)
    public static let messageTooLarge = Self(rawValue: 4)
    public static let authenticationFailed = Self(rawValue: 5)

    /// What the code means, from the specification's table.
    public var description: String {
        switch rawValue {
        case 0: "unidentified error"
        case 1: "unrecognized message type"
        case 2: "unrecognized control code"
        case 3: "unrecognized vendor-defined message"
        case 4: "message too large"
        case 5: "authentication failed"
        case 6...127: "reserved error code \(rawValue)"
        default: "device-defined error \(rawValue)"
        }
    }
}

/// The control code of AsyncLockResponse.
public enum HiSLIPLockResult: UInt8, Sendable, CustomStringConvertible {
    /// Request: the lock was not granted before the timeout.
    case failure = 0
    /// Request: granted; release: the exclusive lock was released.
    case success = 1
    /// Release: a shared lock was released.
    case successShared = 2
    /// A lock already held was requested, or a lock not held was released.
    case error = 3

    public var description: String {
        switch self {
        case .failure: "not granted before the timeout"
        case .success: "success"
        case .successShared: "shared lock released"
        case .error: "invalid request (lock already held, or released without being held)"
        }
    }
}

/// The requests of AsyncRemoteLocalControl (the VISA `viGpibControlREN` modes).
public enum HiSLIPRemoteLocal: UInt8, Sendable, CaseIterable {
    case disableRemote = 0
    case enableRemote = 1
    case disableRemoteAndGoToLocal = 2
    case enableRemoteAndGoToRemote = 3
    case enableRemoteAndLockOutLocal = 4
    case enableRemoteGoToRemoteAndLockOutLocal = 5
    case goToLocal = 6
}
