// The argument and result structures of the VXI-11 procedures, each with `encode` and
// `decode` so the same code serves the client (the lan plugin), the fake server and tests.
// Every decode checks lengths against what is present and against a limit.

/// The largest device name accepted when decoding create_link (the spec sets no bound).
public let vxi11MaxDeviceNameLength = 256

/// `Create_LinkParms`: open a link to a device.
public struct VXI11CreateLinkParameters: Equatable, Sendable {
    /// A number the client chooses to identify itself (for the instrument's own logs).
    public var clientID: Int32
    /// Take the device's exclusive lock as part of creating the link.
    public var lockDevice: Bool
    /// How long to wait for the lock, in milliseconds.
    public var lockTimeout: UInt32
    /// The LAN device name: `inst0`, or a gateway name such as `gpib0,5`.
    public var device: String

    public init(clientID: Int32, lockDevice: Bool, lockTimeout: UInt32, device: String) {
        self.clientID = clientID
        self.lockDevice = lockDevice
        self.lockTimeout = lockTimeout
        self.device = device
    }

    public func encode(into w: inout XDRWriter) {
        w.i32(clientID)
        w.bool(lockDevice)
        w.u32(lockTimeout)
        w.string(device)
    }

    public static func decode(_ r: inout XDRReader) throws -> VXI11CreateLinkParameters {
        VXI11CreateLinkParameters(
            clientID: try r.i32("clientId"), lockDevice: try r.bool("lockDevice"), lockTimeout: try r.u32("lock_timeout"),
            device: try r.string(maxLength: vxi11MaxDeviceNameLength, "the device name"))
    }
}

/// `Create_LinkResp`.
public struct VXI11CreateLinkResponse: Equatable, Sendable {
    public var error: VXI11Error
    /// The link id every later call names.
    public var link: Int32
    /// The TCP port of the abort channel.
    public var abortPort: UInt16
    /// The largest data a device_write may carry, in bytes.
    public var maxReceiveSize: UInt32

    public init(error: VXI11Error, link: Int32, abortPort: UInt16, maxReceiveSize: UInt32) {
        self.error = error
        self.link = link
        self.abortPort = abortPort
        self.maxReceiveSize = maxReceiveSize
    }

    public func encode(into w: inout XDRWriter) {
        w.u32(error.rawValue)
        w.i32(link)
        w.u32(UInt32(abortPort))
        w.u32(maxReceiveSize)
    }

    public static func decode(_ r: inout XDRReader) throws -> VXI11CreateLinkResponse {
        let error = VXI11Error(rawValue: try r.u32("the error code"))
        let link = try r.i32("lid")
        let port = try r.u32("abortPort")
        guard port <= 65535 else { throw XDRError("create_link answered abort port \(port), which is not a TCP port") }
        return VXI11CreateLinkResponse(error: error, link: link, abortPort: UInt16(port), maxReceiveSize: try r.u32("maxRecvSize"))
    }
}

/// `Device_WriteParms`: the data of one device_write.
public struct VXI11WriteParameters: Equatable, Sendable {
    public var link: Int32
    public var ioTimeout: UInt32
    public var lockTimeout: UInt32
    public var flags: VXI11Protocol.Flags
    public var data: [UInt8]

    public init(link: Int32, ioTimeout: UInt32, lockTimeout: UInt32, flags: VXI11Protocol.Flags, data: [UInt8]) {
        self.link = link
        self.ioTimeout = ioTimeout
        self.lockTimeout = lockTimeout
        self.flags = flags
        self.data = data
    }

    public func encode(into w: inout XDRWriter) {
        data.withUnsafeBytes {
            Self.encode(link: link, ioTimeout: ioTimeout, lockTimeout: lockTimeout, flags: flags, data: $0, into: &w)
        }
    }

    /// Encodes without first copying the data into a value.
    public static func encode(
        link: Int32, ioTimeout: UInt32, lockTimeout: UInt32, flags: VXI11Protocol.Flags, data: UnsafeRawBufferPointer,
        into w: inout XDRWriter
    ) {
        w.i32(link)
        w.u32(ioTimeout)
        w.u32(lockTimeout)
        w.u32(flags.rawValue)
        w.opaque(data)
    }

    /// Decodes, refusing data longer than `maxData` (the server's maxRecvSize) with
    /// ``VXI11Error/parameterError`` semantics left to the caller.
    public static func decode(_ r: inout XDRReader, maxData: Int = Int.max) throws -> VXI11WriteParameters {
        VXI11WriteParameters(
            link: try r.i32("lid"), ioTimeout: try r.u32("io_timeout"), lockTimeout: try r.u32("lock_timeout"),
            flags: VXI11Protocol.Flags(rawValue: try r.u32("flags")), data: try r.opaque(maxLength: maxData, "the write data"))
    }
}

/// `Device_WriteResp`.
public struct VXI11WriteResponse: Equatable, Sendable {
    public var error: VXI11Error
    /// How many bytes the device took.
    public var size: UInt32

    public init(error: VXI11Error, size: UInt32) {
        self.error = error
        self.size = size
    }

    public func encode(into w: inout XDRWriter) {
        w.u32(error.rawValue)
        w.u32(size)
    }

    public static func decode(_ r: inout XDRReader) throws -> VXI11WriteResponse {
        VXI11WriteResponse(error: VXI11Error(rawValue: try r.u32("the error code")), size: try r.u32("size"))
    }
}

/// `Device_ReadParms`.
public struct VXI11ReadParameters: Equatable, Sendable {
    public var link: Int32
    /// The most bytes to return.
    public var requestSize: UInt32
    public var ioTimeout: UInt32
    public var lockTimeout: UInt32
    public var flags: VXI11Protocol.Flags
    /// Used with ``VXI11Protocol/Flags/termCharSet``.
    public var termChar: UInt8

    public init(
        link: Int32, requestSize: UInt32, ioTimeout: UInt32, lockTimeout: UInt32, flags: VXI11Protocol.Flags,
        termChar: UInt8 = 0
    ) {
        self.link = link
        self.requestSize = requestSize
        self.ioTimeout = ioTimeout
        self.lockTimeout = lockTimeout
        self.flags = flags
        self.termChar = termChar
    }

    public func encode(into w: inout XDRWriter) {
        w.i32(link)
        w.u32(requestSize)
        w.u32(ioTimeout)
        w.u32(lockTimeout)
        w.u32(flags.rawValue)
        w.u32(UInt32(termChar))
    }

    public static func decode(_ r: inout XDRReader) throws -> VXI11ReadParameters {
        VXI11ReadParameters(
            link: try r.i32("lid"), requestSize: try r.u32("requestSize"), ioTimeout: try r.u32("io_timeout"),
            lockTimeout: try r.u32("lock_timeout"), flags: VXI11Protocol.Flags(rawValue: try r.u32("flags")),
            termChar: UInt8(truncatingIfNeeded: try r.u32("termChar")))
    }
}

/// `Device_ReadResp`. The client decodes it with ``decodeInPlace(_:maxData:)`` to get the data
/// as a range of the record, without copying it.
public struct VXI11ReadResponse: Equatable, Sendable {
    public var error: VXI11Error
    public var reason: VXI11Protocol.ReadReason
    public var data: [UInt8]

    public init(error: VXI11Error, reason: VXI11Protocol.ReadReason, data: [UInt8]) {
        self.error = error
        self.reason = reason
        self.data = data
    }

    public func encode(into w: inout XDRWriter) {
        data.withUnsafeBytes { Self.encode(error: error, reason: reason, data: $0, into: &w) }
    }

    /// Encodes without first copying the data into a value.
    public static func encode(
        error: VXI11Error, reason: VXI11Protocol.ReadReason, data: UnsafeRawBufferPointer, into w: inout XDRWriter
    ) {
        w.u32(error.rawValue)
        w.u32(reason.rawValue)
        w.opaque(data)
    }

    public static func decode(_ r: inout XDRReader, maxData: Int = Int.max) throws -> VXI11ReadResponse {
        let (error, reason, range) = try decodeInPlace(&r, maxData: maxData)
        return VXI11ReadResponse(error: error, reason: reason, data: Array(r.bytes[range]))
    }

    /// The error, the reason and where the data lies in `r.bytes`.
    public static func decodeInPlace(_ r: inout XDRReader, maxData: Int = Int.max) throws
        -> (error: VXI11Error, reason: VXI11Protocol.ReadReason, data: Range<Int>)
    {
        let error = VXI11Error(rawValue: try r.u32("the error code"))
        let reason = VXI11Protocol.ReadReason(rawValue: try r.u32("reason"))
        let range = try r.opaqueRange(maxLength: maxData, "the read data")
        return (error, reason, range)
    }
}

/// `Device_GenericParms`: the arguments of readstb, trigger, clear, remote and local.
public struct VXI11GenericParameters: Equatable, Sendable {
    public var link: Int32
    public var flags: VXI11Protocol.Flags
    public var lockTimeout: UInt32
    public var ioTimeout: UInt32

    public init(link: Int32, flags: VXI11Protocol.Flags, lockTimeout: UInt32, ioTimeout: UInt32) {
        self.link = link
        self.flags = flags
        self.lockTimeout = lockTimeout
        self.ioTimeout = ioTimeout
    }

    public func encode(into w: inout XDRWriter) {
        w.i32(link)
        w.u32(flags.rawValue)
        w.u32(lockTimeout)
        w.u32(ioTimeout)
    }

    public static func decode(_ r: inout XDRReader) throws -> VXI11GenericParameters {
        VXI11GenericParameters(
            link: try r.i32("lid"), flags: VXI11Protocol.Flags(rawValue: try r.u32("flags")),
            lockTimeout: try r.u32("lock_timeout"), ioTimeout: try r.u32("io_timeout"))
    }
}

/// `Device_ReadStbResp`.
public struct VXI11ReadSTBResponse: Equatable, Sendable {
    public var error: VXI11Error
    public var statusByte: UInt8

    public init(error: VXI11Error, statusByte: UInt8) {
        self.error = error
        self.statusByte = statusByte
    }

    public func encode(into w: inout XDRWriter) {
        w.u32(error.rawValue)
        w.u32(UInt32(statusByte))
    }

    public static func decode(_ r: inout XDRReader) throws -> VXI11ReadSTBResponse {
        let error = VXI11Error(rawValue: try r.u32("the error code"))
        let stb = try r.u32("stb")
        // u_char travels as a 32-bit word; some servers leave garbage in the upper bytes.
        return VXI11ReadSTBResponse(error: error, statusByte: UInt8(truncatingIfNeeded: stb))
    }
}

/// `Device_LockParms`.
public struct VXI11LockParameters: Equatable, Sendable {
    public var link: Int32
    /// ``VXI11Protocol/Flags/waitLock`` to wait up to `lockTimeout`.
    public var flags: VXI11Protocol.Flags
    public var lockTimeout: UInt32

    public init(link: Int32, flags: VXI11Protocol.Flags, lockTimeout: UInt32) {
        self.link = link
        self.flags = flags
        self.lockTimeout = lockTimeout
    }

    public func encode(into w: inout XDRWriter) {
        w.i32(link)
        w.u32(flags.rawValue)
        w.u32(lockTimeout)
    }

    public static func decode(_ r: inout XDRReader) throws -> VXI11LockParameters {
        VXI11LockParameters(
            link: try r.i32("lid"), flags: VXI11Protocol.Flags(rawValue: try r.u32("flags")),
            lockTimeout: try r.u32("lock_timeout"))
    }
}

/// `Device_Link`: the only argument of device_unlock, destroy_link and device_abort.
public struct VXI11LinkParameter: Equatable, Sendable {
    public var link: Int32

    public init(link: Int32) { self.link = link }

    public func encode(into w: inout XDRWriter) { w.i32(link) }

    public static func decode(_ r: inout XDRReader) throws -> VXI11LinkParameter {
        VXI11LinkParameter(link: try r.i32("lid"))
    }
}

/// `Device_Error`: the result of every procedure that returns only an error code.
public struct VXI11ErrorResponse: Equatable, Sendable {
    public var error: VXI11Error

    public init(error: VXI11Error) { self.error = error }

    public func encode(into w: inout XDRWriter) { w.u32(error.rawValue) }

    public static func decode(_ r: inout XDRReader) throws -> VXI11ErrorResponse {
        VXI11ErrorResponse(error: VXI11Error(rawValue: try r.u32("the error code")))
    }
}
