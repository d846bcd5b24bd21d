import CLitmusDriverABI

/// What `read` produced: how many bytes, and whether the message ended.
public struct ReadOutcome: Sendable, Equatable {
    /// How a read ended. The corresponding C statuses are `LITMUS_OK`, `LITMUS_OK_MAX_COUNT`
    /// and `LITMUS_OK_PARTIAL`.
    public enum End: Sendable, Equatable {
        /// The transport marked the end of the message at the last byte (END / EOM).
        case endOfMessage
        /// The buffer filled before the end of the message.
        case bufferFull
        /// Bytes arrived on a transport with no end marks (a byte stream).
        case partial
    }
    public var count: Int
    public var end: End

    public init(count: Int, end: End) {
        self.count = count
        self.end = end
    }

    var status: litmus_status {
        switch end {
        case .endOfMessage: Int32(LITMUS_OK)
        case .bufferFull: Int32(LITMUS_OK_MAX_COUNT)
        case .partial: Int32(LITMUS_OK_PARTIAL)
        }
    }
}

/// One open session of a Swift driver. The host serialises every call on one session, so a
/// session needs no lock of its own for its own state.
///
/// Implement what the driver supports and list it in ``DriverDescription/capabilities``; the
/// vtable entries of everything else are NULL, which the host reports as unsupported.
public protocol DriverSession: AnyObject {
    /// Writes one whole message; returns the number of bytes sent.
    func write(_ data: UnsafeRawBufferPointer) throws -> Int
    /// Reads up to `buffer.count` bytes of the current response.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadOutcome
    /// Writes `command` and returns the whole reply without its termination.
    func query(_ command: UnsafeRawBufferPointer) throws -> DriverValue
    /// Device clear.
    func clear() throws
    /// Reads the status byte through the transport.
    func readStatusByte() throws -> UInt8
    /// Sets the I/O timeout in milliseconds (`UInt32.max`: wait forever).
    func setTimeout(milliseconds: UInt32) throws
    /// Asserts a trigger.
    func trigger() throws
    /// Runs operation `index` of the driver's operation table.
    func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue
    /// Frees everything; cannot fail. No call follows.
    func close()
}

extension DriverSession {
    public func write(_ data: UnsafeRawBufferPointer) throws -> Int { throw DriverFailure.unsupported("write") }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadOutcome {
        throw DriverFailure.unsupported("read")
    }
    public func query(_ command: UnsafeRawBufferPointer) throws -> DriverValue {
        throw DriverFailure.unsupported("query")
    }
    public func clear() throws { throw DriverFailure.unsupported("clear") }
    public func readStatusByte() throws -> UInt8 { throw DriverFailure.unsupported("read_stb") }
    public func setTimeout(milliseconds: UInt32) throws { throw DriverFailure.unsupported("set_timeout") }
    public func trigger() throws { throw DriverFailure.unsupported("trigger") }
    public func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue {
        throw DriverFailure.unsupported("this driver has no operations")
    }
    public func close() {}
}

/// The box behind a `litmus_session *`: the Swift session plus what the thunks need.
public final class SessionBox {
    public let session: any DriverSession
    public let services: HostServices
    public let driver: DriverDescription

    init(session: any DriverSession, services: HostServices, driver: DriverDescription) {
        self.session = session
        self.services = services
        self.driver = driver
    }

    /// The box behind a session pointer the host handed back (for extension tables).
    @inlinable
    public static func from(_ pointer: OpaquePointer) -> SessionBox {
        Unmanaged<SessionBox>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }
}

/// A session whose blocked call another thread can cancel: the host calls ``cancel()`` on
/// SIGINT/SIGTERM (``SessionBox/makeCancelTable()``, the `litmus.cancel.v1` extension), and the
/// blocked call then ends at once, failing.
public protocol CancellableSession: DriverSession {
    /// Makes the call blocked on this session (or the next one) end; called from another thread.
    func cancel()
}

extension SessionBox {
    /// A `litmus.cancel.v1` table (``LITMUS_CANCEL_EXTENSION_V1``) that cancels every session
    /// of the plugin that is a ``CancellableSession`` and ignores the others. Make it once per
    /// plugin (a global of the plugin's) and list it in the driver's extensions; it is never
    /// freed.
    public static func makeCancelTable() -> UnsafeMutablePointer<litmus_cancel_v1> {
        let table = UnsafeMutablePointer<litmus_cancel_v1>.allocate(capacity: 1)
        table.initialize(
            to: litmus_cancel_v1(
                struct_size: UInt32(MemoryLayout<litmus_cancel_v1>.size),
                cancel: { session in
                    guard let session else { return }
                    (SessionBox.from(session).session as? any CancellableSession)?.cancel()
                }))
        return table
    }
}
