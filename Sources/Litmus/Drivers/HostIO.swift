import CLitmusDriverABI
import Foundation
import Logging

/// A message-based session the host opened for a driver through the ABI 1.2 host I/O services
/// (`litmus_io *`): an ``Instrument`` on a transport driver, plus the rest of a message the
/// driver's buffer could not take and the resource lock the driver asked for.
///
/// The driver serialises its use (one call of its own session at a time), and the instrument
/// below takes its own lock per call, so this object needs none beyond that.
final class HostIOSession {
    let instrument: Instrument
    /// The driver id of the plugin that opened it, for lock records and messages.
    let owner: String
    /// The rest of the last message, when it was longer than the driver's buffer.
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var lease: ResourceLease?
    /// The message of the last failure, for `io_last_error`; empty after a success.
    private(set) var lastError: [UInt8] = []

    init(instrument: Instrument, owner: String) {
        self.instrument = instrument
        self.owner = owner
    }

    var hasPending: Bool { pendingOffset < pending.count }

    /// Copies a message into the driver's buffer; keeps what does not fit for the next read.
    func deliver(_ message: [UInt8], _ buf: UnsafeMutablePointer<UInt8>?, _ cap: Int, _ got: UnsafeMutablePointer<Int>?)
        -> litmus_status
    {
        pending = message
        pendingOffset = 0
        return deliverPending(buf, cap, got)
    }

    /// Copies up to `cap` pending bytes; `LITMUS_OK_MAX_COUNT` when some remain.
    func deliverPending(_ buf: UnsafeMutablePointer<UInt8>?, _ cap: Int, _ got: UnsafeMutablePointer<Int>?)
        -> litmus_status
    {
        let n = min(cap, pending.count - pendingOffset)
        if n > 0, let buf {
            pending.withUnsafeBufferPointer { p in buf.update(from: p.baseAddress! + pendingOffset, count: n) }
        }
        pendingOffset += n
        got?.pointee = n
        lastError.removeAll(keepingCapacity: true)
        if pendingOffset < pending.count { return Int32(LITMUS_OK_MAX_COUNT) }
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        return Int32(LITMUS_OK)
    }

    /// Takes up to `count` pending bytes (for an exact read that starts with them).
    func takePending(_ count: Int) -> [UInt8] {
        let n = min(count, pending.count - pendingOffset)
        let taken = Array(pending[pendingOffset..<(pendingOffset + n)])
        pendingOffset += n
        if pendingOffset >= pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingOffset = 0
        }
        return taken
    }

    func dropPending() {
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
    }

    func succeeded() { lastError.removeAll(keepingCapacity: true) }

    /// Records `error` as the last failure, sets the driver's `err` and returns the status.
    func fail(_ error: any Error, _ err: OpaquePointer?) -> litmus_status {
        let failure = HostIO.driverError(error)
        lastError = Array(failure.description.utf8)
        return HostIO.setError(err, failure)
    }

    func lock(timeoutMs: UInt32) throws {
        if lease != nil { return }
        do {
            lease = try ResourceLocks(directory: ResourceLocks.defaultDirectory()).acquire(
                resource: instrument.resource, station: "driver \(owner)", role: owner,
                timeout: timeoutMs == UInt32.max ? -1 : Double(timeoutMs) / 1000)
        } catch {
            throw DriverError(
                error.kind == .busy ? .busy : .access, error.message,
                context: "\(instrument.context) io_lock")
        }
    }

    func unlock() {
        lease?.release()
        lease = nil
    }

    func close() {
        unlock()
        instrument.close()
    }
}

/// The host I/O services of ABI 1.2: drivers of instrument families open message-based
/// sessions on any resource through the host's transport plugins (`io_open` ... in
/// `litmus_host_services`), as IVI drivers sit on VISA.
///
/// Resolution: `io_open` looks the resource up in the registry that is opening the calling
/// driver's session (``DriverRegistry/open(_:driver:options:hostOperations:)`` sets it for the
/// duration of the driver's `open`), then, when that registry has no driver for the scheme
/// (`litmus drivers check` loads one plugin alone), in the host's transport registry: the
/// plugins of the default search path (`LITMUS_PLUGIN_PATH`, then next to the binary). A
/// driver of the calling plugin is never chosen by scheme, so a driver that claims `TCPIP`
/// and opens its `TCPIP` resource through the host reaches the transport, not itself.
enum HostIO {
    /// The registry opening a driver session on this thread (see the type's documentation).
    @TaskLocal static var openingRegistry: DriverRegistry?
    /// How many `io_open`s are nested on this thread: a driver opening through a driver
    /// opening through ... stops at ``maxNesting``.
    @TaskLocal static var nesting = 0
    /// The deepest chain of drivers opening through drivers.
    static let maxNesting = 4

    private static let transportLock = NSLock()
    nonisolated(unsafe) private static var _transports: DriverRegistry?

    /// The host's transport registry: the default search path, loaded on first use.
    static var transportRegistry: DriverRegistry {
        transportLock.withLock {
            if let registry = _transports { return registry }
            let registry = DriverRegistry(logger: Logger(label: "litmus.drivers.io"))
            registry.loadSearchPath()
            _transports = registry
            return registry
        }
    }

    /// The driver that opens `resource` for a driver of the plugin at `callerPath`.
    static func resolve(resource: String, driverID: String?, callerPath: String) throws -> DriverInfo {
        let registries = [openingRegistry].compactMap { $0 } + [transportRegistry]
        if let driverID {
            var firstError: (any Error)?
            for registry in registries {
                do { return try registry.driver(id: driverID) } catch { firstError = firstError ?? error }
            }
            throw firstError!
        }
        let name: ResourceName
        do {
            name = try ResourceName(parsing: resource)
        } catch {
            throw DriverError(.invalidArgument, "\(error)", context: "io_open")
        }
        var schemes: Set<String> = []
        for registry in registries {
            let all = registry.drivers
            schemes.formUnion(all.filter { $0.pluginPath != callerPath }.flatMap(\.schemes))
            let matching = all.filter {
                $0.pluginPath != callerPath && $0.isMessageBased && $0.schemes.contains { $0.uppercased() == name.scheme }
            }
            if matching.count == 1 { return matching[0] }
            if matching.count > 1 {
                throw DriverError(
                    .invalidArgument,
                    "several drivers open '\(resource)': \(matching.map(\.id).joined(separator: ", ")). Fix: pass the "
                        + "transport's driver id to io_open (e.g. \"\(matching[0].id)\")",
                    context: "io_open")
            }
        }
        throw DriverError(
            .notFound,
            "no transport driver opens '\(resource)' (scheme \(name.scheme)). Schemes served: "
                + "\(schemes.isEmpty ? "none" : schemes.sorted().joined(separator: ", ")). Fix: install the transport "
                + "plugin (liblitmus-lan.so for TCPIP, liblitmus-serial.so for ASRL, liblitmus-usbtmc.so for USB) next "
                + "to the litmus binary or on \(DriverRegistry.pluginPathVariable)",
            context: "io_open")
    }

    // MARK: - Errors

    static func driverError(_ error: any Error) -> DriverError {
        if let error = error as? DriverError { return error }
        return DriverError(.failed, "\(error)")
    }

    /// Fills the driver's `litmus_error` (host-owned, an ``ErrorSlot``) and returns the status.
    static func setError(_ err: OpaquePointer?, _ failure: DriverError) -> litmus_status {
        let status = failure.status.rawValue < 0 ? failure.status.rawValue : Int32(LITMUS_E_FAILED)
        if let err {
            let slot = UnsafeMutablePointer<ErrorSlot>(err)
            slot.pointee.isSet = true
            slot.pointee.status = status
            slot.pointee.vendorCode = failure.vendorCode
            slot.pointee.message = Array(failure.description.utf8)
        }
        return status
    }

    static func session(_ io: OpaquePointer?) -> HostIOSession? {
        io.map { Unmanaged<HostIOSession>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue() }
    }

    /// Runs `body` on the session; a thrown error becomes the status and the driver's `err`.
    static func run(_ io: OpaquePointer?, _ err: OpaquePointer?, _ body: (HostIOSession) throws -> litmus_status)
        -> litmus_status
    {
        guard let session = session(io) else {
            return setError(err, DriverError(.invalidArgument, "the litmus_io session is NULL", context: "host I/O"))
        }
        do {
            let status = try body(session)
            if status >= 0 { session.succeeded() }
            return status
        } catch {
            return session.fail(error, err)
        }
    }

    // MARK: - The services

    static func open(
        _ ctx: UnsafeMutableRawPointer?, _ resource: UnsafePointer<CChar>?, _ driverID: UnsafePointer<CChar>?,
        _ options: UnsafePointer<litmus_kv>?, _ count: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?,
        _ err: OpaquePointer?
    ) -> litmus_status {
        guard let ctx, let resource, let out else {
            return setError(
                err, DriverError(.invalidArgument, "io_open needs host_ctx, a resource and out_io", context: "io_open"))
        }
        out.pointee = nil
        lastOpenError = []
        let caller = Unmanaged<PluginLogContext>.fromOpaque(ctx).takeUnretainedValue()
        let text = String(cString: resource)
        guard nesting < maxNesting else {
            return setError(
                err,
                DriverError(
                    .invalidArgument,
                    "drivers opening through drivers nest more than \(maxNesting) deep at '\(text)'. Fix: pass the "
                        + "transport's driver id to io_open",
                    context: "io_open \(text)"))
        }
        do {
            let driver = try resolve(resource: text, driverID: driverID.map { String(cString: $0) }, callerPath: caller.pluginPath)
            guard driver.isMessageBased else {
                throw DriverError(
                    .unsupported, "driver '\(driver.id)' is not message-based: host I/O needs a transport",
                    context: "io_open \(text)")
            }
            var values: [String: InstrumentValue] = [:]
            for i in 0..<(options == nil ? 0 : count) {
                let kv = options![i]
                guard let key = kv.key else {
                    throw DriverError(.invalidArgument, "option \(i) has a NULL key", context: "io_open \(text)")
                }
                values[String(cString: key)] = try value(kv.value, context: "io_open \(text) option \(String(cString: key))")
            }
            let instrument = try $nesting.withValue(nesting + 1) {
                try Instrument(driver: driver, resource: text, options: values)
            }
            let owner = (caller.pluginPath as NSString).lastPathComponent
            let session = HostIOSession(instrument: instrument, owner: owner)
            out.pointee = OpaquePointer(Unmanaged.passRetained(session).toOpaque())
            return Int32(LITMUS_OK)
        } catch {
            let failure = driverError(error)
            lastOpenError = Array(failure.description.utf8)
            return setError(err, failure)
        }
    }

    /// This thread's last `io_open` failure, for `io_last_error(NULL, ...)`.
    static var lastOpenError: [UInt8] {
        get { Thread.current.threadDictionary[lastOpenErrorKey] as? [UInt8] ?? [] }
        set { Thread.current.threadDictionary[lastOpenErrorKey] = newValue }
    }
    private static let lastOpenErrorKey = "litmus.io.lastOpenError"

    /// An open option's value, copied out of the driver's memory.
    private static func value(_ v: litmus_value, context: String) throws -> InstrumentValue {
        switch ValueType(rawValue: v.type) {
        case .f64: return .f64(v.u.f64)
        case .i64: return .i64(v.u.i64)
        case .bool: return .bool(v.u.boolean != 0)
        case .string:
            guard let p = v.u.str.ptr else { return .string("") }
            return .string(String(decoding: UnsafeRawBufferPointer(start: p, count: v.u.str.len), as: UTF8.self))
        default:
            throw DriverError(
                .invalidArgument, "type \(v.type) is not an open option type (F64, I64, BOOL or STR)", context: context)
        }
    }

    static let close: @convention(c) (OpaquePointer?) -> Void = { io in
        guard let io else { return }
        let session = Unmanaged<HostIOSession>.fromOpaque(UnsafeRawPointer(io)).takeRetainedValue()
        session.close()
    }

    static func bytes(_ p: UnsafePointer<UInt8>?, _ n: Int) -> [UInt8] {
        guard let p, n > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    static func write(
        _ io: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ len: Int, _ flags: UInt32, _ err: OpaquePointer?
    ) -> litmus_status {
        run(io, err) { s in
            s.dropPending()
            var message = bytes(data, len)
            if flags & UInt32(LITMUS_IO_RAW) == 0, let t = s.instrument.writeTermination { message += t }
            try s.instrument.writeRaw(message)
            return Int32(LITMUS_OK)
        }
    }

    static func read(
        _ io: OpaquePointer?, _ buf: UnsafeMutablePointer<UInt8>?, _ cap: Int, _ got: UnsafeMutablePointer<Int>?,
        _ flags: UInt32, _ err: OpaquePointer?
    ) -> litmus_status {
        got?.pointee = 0
        return run(io, err) { s in
            guard cap > 0, buf != nil else {
                throw DriverError(.invalidArgument, "io_read needs a buffer of at least one byte", context: s.instrument.context)
            }
            if flags & UInt32(LITMUS_IO_EXACT) != 0 {
                var data = s.takePending(cap)
                if data.count < cap { data += try s.instrument.readBytes(count: cap - data.count) }
                return s.deliver(data, buf, cap, got)
            }
            if s.hasPending { return s.deliverPending(buf, cap, got) }
            return s.deliver(try s.instrument.readMessage(), buf, cap, got)
        }
    }

    static func query(
        _ io: OpaquePointer?, _ cmd: UnsafePointer<UInt8>?, _ len: Int, _ buf: UnsafeMutablePointer<UInt8>?, _ cap: Int,
        _ got: UnsafeMutablePointer<Int>?, _ err: OpaquePointer?
    ) -> litmus_status {
        got?.pointee = 0
        return run(io, err) { s in
            guard cap > 0, buf != nil else {
                throw DriverError(.invalidArgument, "io_query needs a buffer of at least one byte", context: s.instrument.context)
            }
            s.dropPending()
            return s.deliver(try s.instrument.queryBytes(bytes(cmd, len)), buf, cap, got)
        }
    }

    static func readBlock(
        _ io: OpaquePointer?, _ buf: UnsafeMutablePointer<UInt8>?, _ cap: Int, _ got: UnsafeMutablePointer<Int>?,
        _ err: OpaquePointer?
    ) -> litmus_status {
        got?.pointee = 0
        return run(io, err) { s in
            s.dropPending()
            return s.deliver(try s.instrument.readBinaryBlock(), buf, cap, got)
        }
    }

    static func makeServices(into t: inout litmus_host_services) {
        t.io_open = { ctx, resource, driverID, options, count, out, err in
            HostIO.open(ctx, resource, driverID, options, count, out, err)
        }
        t.io_close = HostIO.close
        t.io_write = { io, data, len, flags, err in HostIO.write(io, data, len, flags, err) }
        t.io_read = { io, buf, cap, got, flags, err in HostIO.read(io, buf, cap, got, flags, err) }
        t.io_query = { io, cmd, len, buf, cap, got, err in HostIO.query(io, cmd, len, buf, cap, got, err) }
        t.io_read_block = { io, buf, cap, got, err in HostIO.readBlock(io, buf, cap, got, err) }
        t.io_clear = { io, err in
            HostIO.run(io, err) { s in
                s.dropPending()
                try s.instrument.clear()
                return Int32(LITMUS_OK)
            }
        }
        t.io_read_stb = { io, stb, err in
            HostIO.run(io, err) { s in
                let value = try s.instrument.readSTB()
                stb?.pointee = value
                return Int32(LITMUS_OK)
            }
        }
        t.io_trigger = { io, err in
            HostIO.run(io, err) { s in
                try s.instrument.trigger()
                return Int32(LITMUS_OK)
            }
        }
        t.io_set_timeout = { io, ms, err in
            HostIO.run(io, err) { s in
                try s.instrument.setTimeout(milliseconds: ms)
                return Int32(LITMUS_OK)
            }
        }
        t.io_set_termination = { io, read, write, err in
            HostIO.run(io, err) { s in
                if let read { s.instrument.readTermination = Array(String(cString: read).utf8) }
                if let write { s.instrument.writeTermination = Array(String(cString: write).utf8) }
                return Int32(LITMUS_OK)
            }
        }
        t.io_lock = { io, ms, err in
            HostIO.run(io, err) { s in
                try s.lock(timeoutMs: ms)
                return Int32(LITMUS_OK)
            }
        }
        t.io_unlock = { io in HostIO.session(io)?.unlock() }
        t.io_last_error = { io, buf, cap in
            let message = HostIO.session(io)?.lastError ?? HostIO.lastOpenError
            if let buf, cap > 0 {
                let n = min(cap - 1, message.count)
                if n > 0 {
                    message.withUnsafeBufferPointer { p in UnsafeMutableRawPointer(buf).copyMemory(from: p.baseAddress!, byteCount: n) }
                }
                buf[n] = 0
            }
            return message.count
        }
    }
}
