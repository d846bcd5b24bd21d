import CLitmusDriverABI
import Dispatch
import Foundation

/// An open session on one instrument, through its driver plugin.
///
/// Message-based sessions (SCPI over LAN, USBTMC, serial, the simulator) read and write
/// text; every driver may also declare typed operations, called with ``call(_:_:)``.
///
/// ```swift
/// let dmm = try registry.open("SIM::dmm::INSTR")
/// let idn = try dmm.identify()                   // *IDN?, parsed
/// let volts = try dmm.query("MEAS:VOLT:DC?")     // "5.0012"
/// let mock = try registry.open("MOCK::dmm", options: ["config": #"{"measure_dc_voltage": 5.0}"#])
/// let v = try mock.call("measure_dc_voltage")    // .f64(5.0)
/// ```
///
/// Calls on one instrument are serialised (the driver ABI's rule); different instruments may
/// be used from different threads at once. From async code, the `async` overloads run the
/// blocking driver call on the instrument's own queue, never on Swift's cooperative pool.
public final class Instrument: @unchecked Sendable {
    /// The driver that opened this session.
    public let driver: DriverInfo
    /// The resource string it was opened with.
    public let resource: String
    /// The operations this instrument answers: the driver's own (or, for a mock standing in
    /// for another driver, that driver's), then the host operations added at open (an
    /// instrument profile's).
    public var operations: [OperationInfo] { table.operations }
    /// The driver a mock stands in for, or nil.
    public let emulatedDriver: DriverInfo?

    /// Bytes appended to every ``write(_:)``; `nil` for none.
    public var writeTermination: [UInt8]? {
        get { lock.withLock { _writeTermination } }
        set { lock.withLock { _writeTermination = newValue?.isEmpty == true ? nil : newValue } }
    }
    /// Bytes that end a message on ``read()``; `nil` to rely on the transport's END alone.
    public var readTermination: [UInt8]? {
        get { lock.withLock { _readTermination } }
        set { lock.withLock { _readTermination = newValue?.isEmpty == true ? nil : newValue } }
    }
    /// The largest message ``read()`` accepts before failing (a runaway response must not
    /// exhaust memory): the open option `max_message_bytes`. Default
    /// ``defaultMaxMessageBytes`` (64 MiB).
    public var maxMessageSize: Int {
        get { lock.withLock { _maxMessageSize } }
        set { lock.withLock { _maxMessageSize = max(1, newValue) } }
    }
    /// The default of ``maxMessageSize``.
    public static let defaultMaxMessageBytes = 64 << 20
    /// The timeout the host assumes until one is set (`timeout_ms`, ``setTimeout(milliseconds:)``):
    /// the default of every Litmus transport driver.
    public static let defaultTimeoutMs: UInt32 = 2000

    /// Where every write and read of this instrument is traced; nil: not traced. Starts as
    /// ``IOTrace/shared`` (`LITMUS_IO_TRACE`, `litmus scpi --trace`).
    public var ioTrace: IOTrace? {
        get { lock.withLock { _ioTrace } }
        set { lock.withLock { _ioTrace = newValue } }
    }

    /// Hooks around every typed call, outermost first (events, locks, overrides).
    public var interceptors: [any CallInterceptor] {
        get { lock.withLock { _interceptors } }
        set { lock.withLock { _interceptors = newValue } }
    }

    let lock = NSLock()
    /// "driver resource", the prefix of every error's context.
    let context: String
    private var session: OpaquePointer?
    private let vt: litmus_driver_vtable
    let slots = CallSlots()
    private var input = ReceiveBuffer()
    private var _writeTermination: [UInt8]?
    private var _readTermination: [UInt8]?
    private var _maxMessageSize = Instrument.defaultMaxMessageBytes
    /// The session timeout: the deadline of one whole read operation.
    private var _timeoutMs = Instrument.defaultTimeoutMs
    /// What the driver's own timeout is while a read operation has shortened it to the time
    /// left (restored when the operation ends); nil when it is `_timeoutMs`.
    private var shortenedDriverTimeout: UInt32?
    private var _interceptors: [any CallInterceptor] = []
    private var _ioTrace: IOTrace? = IOTrace.shared
    private let table: OperationTable
    /// Operations at or past this index are host operations (`hostOperations[i - nativeCount]`).
    private let nativeCount: Int
    private let hostOperations: [HostOperation]
    /// A mock answering another driver's table by name (`invoke_named`).
    private let isStandIn: Bool
    let mockTable: UnsafePointer<litmus_mock_v1>?
    /// The driver's `litmus.cancel.v1` table, when it has one (``interrupt()``).
    private let cancelTable: UnsafePointer<litmus_cancel_v1>?
    /// Guards what ``interrupt()`` touches from another thread while a call holds `lock`.
    private let interruptLock = NSLock()
    /// The session while it is open, for ``interrupt()``; nil once `close` begins.
    private var interruptibleSession: OpaquePointer?
    private var interrupted = false
    private lazy var queue: DispatchQueue = {
        let queue = DispatchQueue(label: "litmus.instrument.\(resource)")
        queue.setSpecific(key: Self.queueKey, value: resource)
        return queue
    }()
    /// Marks the instrument's own queue (the resource it serves), to tell it from others.
    static let queueKey = DispatchSpecificKey<String>()

    /// Options the host applies itself when a message-based driver does not declare them:
    /// `read_termination`, `write_termination`, `timeout_ms`, `max_message_bytes`.
    public static let hostOptions: [ParameterInfo] = [
        ParameterInfo(name: "read_termination", type: .string, help: "bytes that end a response", isOptional: true),
        ParameterInfo(name: "write_termination", type: .string, help: "bytes appended to each command", isOptional: true),
        ParameterInfo(
            name: "timeout_ms", type: .i64, unit: "ms",
            help: "I/O timeout: one deadline for each whole read, query or block read (default 2000)", isOptional: true,
            range: 0...86_400_000),
        ParameterInfo(
            name: "max_message_bytes", type: .i64, unit: "B",
            help: "largest response a read accepts; a longer one fails and is discarded (default 67108864, 64 MiB)",
            isOptional: true, range: 1...1_099_511_627_776),
    ]

    init(
        driver: DriverInfo, resource: String, options: [String: InstrumentValue], emulating: DriverInfo? = nil,
        standIn: Bool = false, hostOperations: [HostOperation] = []
    ) throws {
        self.driver = driver
        self.resource = resource
        self.emulatedDriver = emulating
        self.context = "\(driver.id) \(resource)"
        let native = emulating?.operations ?? (standIn ? [] : driver.operations)
        let nativeNames = Set(native.map(\.name))
        // A native operation of the same name wins over a host one (the dispatch order).
        let added = hostOperations.filter { !nativeNames.contains($0.info.name) }
        var all = native
        for (i, op) in added.enumerated() {
            var info = op.info
            info.index = native.count + i
            all.append(info)
        }
        self.table = OperationTable(all)
        self.nativeCount = native.count
        self.hostOperations = added
        self.isStandIn = emulating != nil || standIn
        self.vt = driver.vtable.pointee
        self._readTermination = driver.readTermination.map { Array($0.utf8) }
        self._writeTermination = driver.writeTermination.map { Array($0.utf8) }
        if let getExtension = vt.get_extension {
            let table = PluginLoader.loaderLock.withLock {
                getExtension(driver.descriptor, LITMUS_MOCK_EXTENSION_V1)
            }
            mockTable = table?.assumingMemoryBound(to: litmus_mock_v1.self)
            let cancel = PluginLoader.loaderLock.withLock {
                getExtension(driver.descriptor, LITMUS_CANCEL_EXTENSION_V1)
            }?.assumingMemoryBound(to: litmus_cancel_v1.self)
            cancelTable = cancel.flatMap { Int($0.pointee.struct_size) >= MemoryLayout<litmus_cancel_v1>.size ? $0 : nil }
        } else {
            mockTable = nil
            cancelTable = nil
        }
        if isStandIn && mockTable?.pointee.invoke_named == nil {
            throw DriverError(
                .unsupported, "driver '\(driver.id)' cannot stand in for another driver (no litmus.mock.v1 invoke_named)",
                context: "\(driver.id) \(resource)")
        }

        // Split the options: the driver's declared ones go to open; the host's are applied here.
        var forDriver: [(String, InstrumentValue)] = []
        var timeout: Int64?
        for (key, value) in options.sorted(by: { $0.key < $1.key }) {
            if let param = driver.openOptions.first(where: { $0.name == key }) {
                forDriver.append((key, try ArgumentChecker.check(value, against: param, what: "open option", context: context)))
                if key == "read_termination", case .string(let s) = value { _readTermination = s.isEmpty ? nil : Array(s.utf8) }
                if key == "write_termination", case .string(let s) = value { _writeTermination = s.isEmpty ? nil : Array(s.utf8) }
                if key == "timeout_ms", case .i64(let ms) = value { _timeoutMs = UInt32(clamping: ms) }
                if key == "max_message_bytes", case .i64(let n) = value { _maxMessageSize = Int(clamping: max(1, n)) }
            } else if let param = Self.hostOptions.first(where: { $0.name == key }) {
                let checked = try ArgumentChecker.check(value, against: param, what: "open option", context: context)
                switch (key, checked) {
                case ("read_termination", .string(let s)): _readTermination = s.isEmpty ? nil : Array(s.utf8)
                case ("write_termination", .string(let s)): _writeTermination = s.isEmpty ? nil : Array(s.utf8)
                case ("timeout_ms", .i64(let ms)): timeout = ms
                case ("max_message_bytes", .i64(let n)): _maxMessageSize = Int(clamping: max(1, n))
                default: break
                }
            } else {
                let declared = driver.openOptions.map(\.name)
                let known = declared + (driver.isMessageBased ? Self.hostOptions.map(\.name).filter { !declared.contains($0) } : [])
                let hint = Suggest.closest(to: key, in: known).map { " Did you mean '\($0)'?" } ?? ""
                throw DriverError(
                    .invalidArgument,
                    "unknown open option '\(key)'.\(hint) Options of driver '\(driver.id)': \(known.isEmpty ? "none" : known.joined(separator: ", "))",
                    context: context)
            }
        }
        if timeout != nil && vt.set_timeout == nil {
            throw DriverError(
                .unsupported, "driver '\(driver.id)' has no timeout to set (timeout_ms)", context: context)
        }

        // Drivers of the VISA interfaces (TCPIP, USB, ASRL, GPIB, VICP) receive the canonical
        // form (defaults filled in, keywords upper-case, USB ids as 0x%04X), so each parses one
        // spelling; other schemes get the string as written.
        var given = resource
        if let name = try? ResourceName(parsing: resource) {
            if case .other = name.interface {} else { given = name.canonical }
        }
        var out: OpaquePointer?
        let status = withOpenOptions(forDriver) { kvs in
            given.withCString { res in
                vt.open!(driver.descriptor, res, kvs.baseAddress, kvs.count, &out, slots.errorPointer)
            }
        }
        guard status == LITMUS_OK, let out else {
            throw slots.failure(status == LITMUS_OK ? Int32(LITMUS_E_FAILED) : status, context: "open \(context)")
        }
        session = out
        interruptLock.withLock { interruptibleSession = out }
        OpenInstruments.shared.add(self)
        if let timeout {
            try setTimeout(milliseconds: UInt32(clamping: timeout))
        }
    }

    deinit {
        close()
        input.deallocate()
    }

    /// Closes the session. Later calls fail with ``DriverStatus/closed``. Safe to call twice.
    public func close() {
        lock.withLock {
            if let s = session {
                session = nil
                interruptLock.withLock { interruptibleSession = nil }
                vt.close?(s)
            }
            input.discard()
        }
        OpenInstruments.shared.remove(self)
    }

    /// Interrupts the call blocked on this instrument, from another thread (a signal's
    /// cleanup, ``SignalCleanup``): a driver with the `litmus.cancel.v1` extension cancels
    /// the transfer in flight (USBTMC aborts it on the device), and every later read of this
    /// instrument fails at once. Returns without waiting; ``close()`` then waits for the
    /// interrupted call to end.
    public func interrupt() {
        interruptLock.withLock {
            interrupted = true
            if let s = interruptibleSession, let cancel = cancelTable?.pointee.cancel { cancel(s) }
        }
    }

    /// Whether the session is still open.
    public var isOpen: Bool { lock.withLock { session != nil } }

    /// Bytes the receive buffer has allocated (it never shrinks): what a runaway response cost.
    var receiveBufferCapacity: Int { lock.withLock { input.storage.count } }


    /// Runs `body` with the live session under the instrument's lock.
    func withSession<R>(_ what: String, _ body: (OpaquePointer) throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        guard let s = session else {
            throw DriverError(.closed, "the session is closed", context: "\(context) \(what)")
        }
        slots.error.pointee.reset()
        return try body(s)
    }

    private func unsupported(_ what: String) -> DriverError {
        DriverError(.unsupported, "driver '\(driver.id)' does not support \(what)", context: context)
    }

    // MARK: - Session control

    /// Sets the timeout of every later I/O call.
    public func setTimeout(milliseconds: UInt32) throws {
        guard let fn = vt.set_timeout else { throw unsupported("set_timeout") }
        try withSession("set_timeout") { s in
            let status = fn(s, milliseconds, slots.errorPointer)
            if status < 0 { throw slots.failure(status, context: "\(context) set_timeout") }
            _timeoutMs = milliseconds
            shortenedDriverTimeout = nil
        }
    }

    /// Device clear: the driver aborts pending I/O and empties the device's buffers; the host
    /// forgets whatever it had buffered. Use it after a timeout or a truncated response.
    public func clear() throws {
        try withSession("clear") { s in
            input.discard()
            guard let fn = vt.clear else { throw unsupported("clear (device clear)") }
            let status = fn(s, slots.errorPointer)
            if status < 0 { throw slots.failure(status, context: "\(context) clear") }
        }
    }

    /// Reads the status byte through the transport (serial poll). Never falls back to
    /// `*STB?`, which would disturb the output queue.
    public func readSTB() throws -> UInt8 {
        guard let fn = vt.read_stb else { throw unsupported("read_stb (serial poll)") }
        return try withSession("read_stb") { s in
            var stb: UInt8 = 0
            let status = fn(s, &stb, slots.errorPointer)
            if status < 0 { throw slots.failure(status, context: "\(context) read_stb") }
            return stb
        }
    }

    /// Asserts a trigger through the transport.
    public func trigger() throws {
        guard let fn = vt.trigger else { throw unsupported("trigger") }
        try withSession("trigger") { s in
            let status = fn(s, slots.errorPointer)
            if status < 0 { throw slots.failure(status, context: "\(context) trigger") }
        }
    }

    // MARK: - Messages

    private func requireMessages() throws {
        guard vt.write != nil, vt.read != nil else {
            throw DriverError(
                .unsupported,
                "driver '\(driver.id)' is not message-based; use its operations: \(operations.map(\.name).joined(separator: ", "))",
                context: context)
        }
    }

    /// Writes one command, followed by the write termination.
    public func write(_ command: String) throws {
        var bytes = Array(command.utf8)
        if let t = writeTermination { bytes += t }
        try writeRaw(bytes)
    }

    /// Writes bytes as one message, exactly as given (no termination added).
    public func writeRaw(_ bytes: [UInt8]) throws {
        try requireMessages()
        try withSession("write") { s in try writeLocked(s, bytes) }
    }

    private func writeLocked(_ s: OpaquePointer, _ bytes: [UInt8]) throws {
        var written = 0
        let status = bytes.withUnsafeBufferPointer { buf in
            vt.write!(s, buf.baseAddress, buf.count, &written, slots.errorPointer)
        }
        if let trace = _ioTrace {
            bytes.withUnsafeBytes { trace.record(context, .write, UnsafeRawBufferPointer(rebasing: $0.prefix(max(0, min(written, bytes.count))))) }
        }
        if status < 0 { throw slots.failure(status, context: "\(context) write") }
        if written != bytes.count {
            throw DriverError(
                .io, "the driver wrote \(written) of \(bytes.count) bytes", context: "\(context) write")
        }
    }

    /// Reads one response message as text, without its termination.
    public func read() throws -> String {
        String(decoding: try readMessage(), as: UTF8.self)
    }

    /// Reads one response message as bytes, without its termination. The message ends at
    /// the read termination or where the transport marks END, whichever comes first; bytes
    /// after the terminator are kept for the next read.
    public func readMessage() throws -> [UInt8] {
        try requireMessages()
        return try withReadOperation("read") { s, deadline in try readMessageLocked(s, deadline) }
    }

    /// Reads exactly `count` bytes (binary payloads), ignoring terminations.
    public func readBytes(count: Int) throws -> [UInt8] {
        try requireMessages()
        return try withReadOperation("read") { s, deadline in try readExactlyLocked(s, count, deadline) }
    }

    /// Sends `command` and reads the response as text.
    public func query(_ command: String) throws -> String {
        String(decoding: try queryMessage(command), as: UTF8.self)
    }

    /// Sends `command` and reads the response as bytes, without its termination.
    public func queryMessage(_ command: String) throws -> [UInt8] {
        try queryBytes(Array(command.utf8))
    }

    /// Sends the bytes of a command (the write termination appended) and reads the response
    /// as bytes, without its termination: ``queryMessage(_:)`` for commands that are not text.
    func queryBytes(_ command: [UInt8]) throws -> [UInt8] {
        try requireMessages()
        var bytes = command
        return try withReadOperation("query") { s, deadline in
            if let t = _writeTermination { bytes += t }
            if let fn = vt.query, input.isEmpty {
                slots.result.pointee.reset()
                let status = bytes.withUnsafeBufferPointer { fn(s, $0.baseAddress, $0.count, slots.resultPointer, slots.errorPointer) }
                _ioTrace?.record(context, .write, bytes)
                if status < 0 { throw slots.failure(status, context: "\(context) query \(String(decoding: command, as: UTF8.self))") }
                var reply = slots.result.pointee.bytes
                if slots.result.pointee.type != .string && slots.result.pointee.type != .bytes { reply = [] }
                _ioTrace?.record(context, .read, reply)
                if let t = _readTermination, reply.count >= t.count, Array(reply.suffix(t.count)) == t {
                    reply.removeLast(t.count)
                }
                return reply
            }
            try writeLocked(s, bytes)
            return try readMessageLocked(s, deadline)
        }
    }

    /// Runs one read operation (`body`) under the session lock with its deadline; gives the
    /// driver its own timeout back if the operation shortened it.
    private func withReadOperation<R>(_ what: String, _ body: (OpaquePointer, ReadDeadline) throws -> R) throws -> R {
        try withSession(what) { s in
            defer { restoreDriverTimeout(s) }
            return try body(s, ReadDeadline(timeoutMs: _timeoutMs))
        }
    }

    /// One driver read within `deadline`. Once less time is left than the driver would wait,
    /// the driver's timeout is shortened to what is left, so the operation ends close to its
    /// deadline even when every driver read gets a byte just in time.
    private func driverRead(
        _ s: OpaquePointer, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int, _ got: inout Int,
        _ deadline: ReadDeadline, what: String, received: Int
    ) throws -> litmus_status {
        if interruptLock.withLock({ interrupted }) {
            throw DriverError(.failed, "interrupted (SIGINT or SIGTERM): the \(what) was abandoned", context: "\(context) \(what)")
        }
        if !deadline.isNever {
            let left = deadline.remainingMs
            if left == 0 { throw deadlinePassed(deadline, what: what, received: received) }
            let driverWaits = shortenedDriverTimeout ?? _timeoutMs
            if let setTimeout = vt.set_timeout, left < driverWaits - driverWaits / 4 {
                if setTimeout(s, left, slots.errorPointer) >= 0 { shortenedDriverTimeout = left }
                slots.error.pointee.reset()
            }
        }
        let status = vt.read!(s, buffer, count, &got, slots.errorPointer)
        if status == LITMUS_E_TIMEOUT && shortenedDriverTimeout != nil && deadline.hasPassed {
            throw deadlinePassed(deadline, what: what, received: received + got)
        }
        return status
    }

    private func restoreDriverTimeout(_ s: OpaquePointer) {
        guard shortenedDriverTimeout != nil, let setTimeout = vt.set_timeout else { return }
        shortenedDriverTimeout = nil
        _ = setTimeout(s, _timeoutMs, slots.errorPointer)
        slots.error.pointee.reset()
    }

    private func deadlinePassed(_ deadline: ReadDeadline, what: String, received: Int) -> DriverError {
        DriverError(
            .timeout,
            "the \(what) did not complete within the \(deadline.timeoutMs) ms timeout (\(received) bytes received); the "
                + "timeout bounds the whole operation, however the bytes trickle in. Fix: check that the read termination "
                + "matches the instrument's, or raise timeout_ms",
            context: "\(context) \(what)")
    }

    private func tooLong(what: String) -> DriverError {
        DriverError(
            .protocolViolation,
            "the response exceeds maxMessageSize (\(_maxMessageSize) bytes) without an end. Fix: check that the read "
                + "termination matches the instrument's, or raise the open option max_message_bytes",
            context: "\(context) \(what)")
    }

    /// Pulls more bytes from the driver into the receive buffer.
    private func fill(_ s: OpaquePointer, what: String, _ deadline: ReadDeadline) throws {
        guard let space = input.reserveSpace(limit: _maxMessageSize + 64 * 1024) else {
            input.discard()
            throw tooLong(what: what)
        }
        var got = 0
        let status = try driverRead(
            s, space.baseAddress!.assumingMemoryBound(to: UInt8.self), space.count, &got, deadline, what: what,
            received: input.count)
        if let trace = _ioTrace, got > 0 {
            trace.record(context, .read, UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(space).prefix(min(got, space.count))))
        }
        if status < 0 { throw slots.failure(status, context: "\(context) \(what)") }
        input.commit(min(got, space.count), end: status == LITMUS_OK)
    }

    private func readMessageLocked(_ s: OpaquePointer, _ deadline: ReadDeadline) throws -> [UInt8] {
        var scanFrom = 0
        while true {
            if let t = _readTermination, let at = input.firstIndex(of: t, from: scanFrom) {
                let message = input.take(at)
                input.skip(t.count)
                if input.isEmpty { input.endAtTail = false }
                return message
            }
            if input.endAtTail {
                let message = input.take(input.count)
                input.endAtTail = false
                return message
            }
            if input.count > _maxMessageSize {
                input.discard()
                throw tooLong(what: "read")
            }
            scanFrom = max(0, input.count - (_readTermination?.count ?? 1) + 1)
            try fill(s, what: "read", deadline)
        }
    }

    /// Reads exactly `count` bytes. With `keepEnd`, an END the transport marked on the last
    /// byte is remembered (a block's payload that ends the message: no termination follows).
    private func readExactlyLocked(
        _ s: OpaquePointer, _ count: Int, _ deadline: ReadDeadline, keepEnd: Bool = false
    ) throws -> [UInt8] {
        guard count > 0 else { return [] }
        let buffered = min(count, input.count)
        var result = input.take(buffered)
        if buffered == count { return result }
        if input.endAtTail {
            input.endAtTail = false
            throw DriverError(
                .protocolViolation, "the message ended after \(buffered) of \(count) bytes", context: "\(context) read")
        }
        // Read the rest straight into uninitialised storage with exact-length reads (no
        // memset of a large block before the driver overwrites it).
        var have = buffered
        var endedEarly = false
        var endedAtCount = false
        var failure: (any Error)?
        let prefix = result
        result = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            prefix.withUnsafeBufferPointer { p in
                if let base = p.baseAddress, !p.isEmpty { buf.baseAddress!.initialize(from: base, count: p.count) }
            }
            defer { initialized = have }
            while have < count {
                var got = 0
                let status: litmus_status
                do {
                    status = try driverRead(
                        s, buf.baseAddress! + have, count - have, &got, deadline, what: "read", received: have)
                } catch {
                    failure = error
                    return
                }
                if let trace = _ioTrace, got > 0 {
                    trace.record(context, .read, UnsafeRawBufferPointer(start: buf.baseAddress! + have, count: min(got, count - have)))
                }
                if status < 0 {
                    failure = slots.failure(status, context: "\(context) read (\(have) of \(count) bytes received)")
                    return
                }
                have += min(got, count - have)
                if status == LITMUS_OK {
                    // END on the last byte: the message is complete, no termination follows.
                    if have < count { endedEarly = true } else { endedAtCount = true }
                    return
                }
            }
        }
        if endedAtCount && keepEnd { input.endAtTail = true }
        if let failure { throw failure }
        if endedEarly {
            throw DriverError(
                .protocolViolation, "the message ended after \(have) of \(count) bytes", context: "\(context) read")
        }
        return result
    }

    /// Reads an IEEE 488.2 binary block (`#<d><length><bytes>` or `#0<bytes>` up to END) and the
    /// termination after it. The payload is read with exact-length reads once the header is
    /// parsed, so 0x0A and 0x0D inside it are data, never terminators.
    public func readBinaryBlock() throws -> [UInt8] {
        try requireMessages()
        return try withReadOperation("read block") { s, deadline in try readBlockLocked(s, deadline) }
    }

    /// Sends `command` and reads a binary block response.
    public func queryBinaryBlock(_ command: String) throws -> [UInt8] {
        try requireMessages()
        var bytes = Array(command.utf8)
        return try withReadOperation("query block") { s, deadline in
            if let t = _writeTermination { bytes += t }
            try writeLocked(s, bytes)
            return try readBlockLocked(s, deadline)
        }
    }

    private func ensureBuffered(_ s: OpaquePointer, _ n: Int, what: String, _ deadline: ReadDeadline) throws {
        while input.count < n {
            if input.endAtTail {
                throw DriverError(
                    .protocolViolation, "the message ended inside a binary block header", context: "\(context) \(what)")
            }
            try fill(s, what: what, deadline)
        }
    }

    private func readBlockLocked(_ s: OpaquePointer, _ deadline: ReadDeadline) throws -> [UInt8] {
        do {
            try ensureBuffered(s, 2, what: "read block", deadline)
            let header = input.unread
            guard header[0] == UInt8(ascii: "#") else {
                let shown = String(decoding: header.prefix(16), as: UTF8.self)
                throw DriverError(
                    .protocolViolation, "expected a binary block starting with '#', got \"\(shown)\"",
                    context: "\(context) read block")
            }
            let digit = header[1]
            guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else {
                throw DriverError(
                    .protocolViolation, "invalid block header: '#' followed by byte 0x\(String(digit, radix: 16))",
                    context: "\(context) read block")
            }
            let lengthDigits = Int(digit - UInt8(ascii: "0"))
            if lengthDigits == 0 { return try readIndefiniteBlockLocked(s, deadline) }
            try ensureBuffered(s, 2 + lengthDigits, what: "read block", deadline)
            var length = 0
            for byte in input.unread[2..<(2 + lengthDigits)] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                    throw DriverError(
                        .protocolViolation, "invalid block length digits in \"\(String(decoding: input.unread.prefix(2 + lengthDigits), as: UTF8.self))\"",
                        context: "\(context) read block")
                }
                length = length * 10 + Int(byte - UInt8(ascii: "0"))
            }
            guard length <= _maxMessageSize else {
                throw DriverError(
                    .protocolViolation,
                    "block declares \(length) bytes, more than maxMessageSize (\(_maxMessageSize)). Fix: raise the open "
                        + "option max_message_bytes if the instrument really sends that much",
                    context: "\(context) read block")
            }
            input.skip(2 + lengthDigits)
            let payload = try readExactlyLocked(s, length, deadline, keepEnd: true)
            try consumeTerminationAfterBlock(s, deadline)
            return payload
        } catch {
            input.discard()
            throw error
        }
    }

    /// `#0<bytes>`: the data runs to the end of the message; on a transport without END marks
    /// the read termination ends it instead (so the data must not contain it there).
    private func readIndefiniteBlockLocked(_ s: OpaquePointer, _ deadline: ReadDeadline) throws -> [UInt8] {
        input.skip(2)
        var sawPartial = false
        var scanFrom = 0
        while !input.endAtTail {
            if sawPartial, let t = _readTermination, let at = input.firstIndex(of: t, from: scanFrom) {
                let data = input.take(at)
                input.skip(t.count)
                return data
            }
            scanFrom = max(0, input.count - (_readTermination?.count ?? 1) + 1)
            if input.count > _maxMessageSize { throw tooLong(what: "read block") }
            let before = input.count
            try fill(s, what: "read block", deadline)
            if !input.endAtTail && input.count > before { sawPartial = true }
        }
        var data = input.take(input.count)
        input.endAtTail = false
        if let t = _readTermination, data.count >= t.count, Array(data.suffix(t.count)) == t {
            data.removeLast(t.count)
        }
        return data
    }

    private func consumeTerminationAfterBlock(_ s: OpaquePointer, _ deadline: ReadDeadline) throws {
        guard let t = _readTermination else {
            if input.isEmpty { input.endAtTail = false }
            return
        }
        if input.isEmpty && input.endAtTail {
            input.endAtTail = false
            return
        }
        // The payload is complete: a terminator that never comes must not fail the read.
        while input.count < t.count && !input.endAtTail {
            do { try fill(s, what: "read block termination", deadline) } catch { break }
        }
        if input.count >= t.count, input.unread.prefix(t.count).elementsEqual(t) {
            input.skip(t.count)
        }
        if input.isEmpty { input.endAtTail = false }
    }

    // MARK: - Typed operations

    /// Calls operation `name` with positional arguments.
    ///
    /// Every call goes through one dispatch point: the ``interceptors`` (events, locks,
    /// overrides), then the driver's native operation (or, for a mock standing in for another
    /// driver, the mock answering that driver's table), else an error naming the operations
    /// that exist. Arguments are checked against the operation's parameter table first.
    @discardableResult
    public func call(_ name: String, _ arguments: InstrumentValue...) throws -> InstrumentValue {
        try call(name, arguments: arguments)
    }

    /// Calls operation `name` with positional arguments.
    @discardableResult
    public func call(_ name: String, arguments: [InstrumentValue]) throws -> InstrumentValue {
        guard let index = table.byName[name] else { throw unknownOperation(name) }
        return try dispatch(index: index, arguments)
    }

    /// Calls operation `name` with arguments by parameter name.
    @discardableResult
    public func call(_ name: String, named arguments: [String: InstrumentValue]) throws -> InstrumentValue {
        let op = try operation(named: name)
        let known = Set(op.params.map(\.name))
        for key in arguments.keys where !known.contains(key) {
            let hint = Suggest.closest(to: key, in: Array(known)).map { " Did you mean '\($0)'?" } ?? ""
            throw DriverError(
                .invalidArgument, "'\(name)' has no parameter '\(key)'.\(hint) Signature: \(op.signature)",
                context: context)
        }
        return try dispatch(index: op.index, op.params.map { arguments[$0.name] ?? .void })
    }

    /// The operation called `name`, resolved once for repeated ``dispatch(_:_:)`` calls.
    public func operation(named name: String) throws -> OperationInfo {
        guard let index = table.byName[name] else { throw unknownOperation(name) }
        return table.operations[index]
    }

    private func unknownOperation(_ name: String) -> DriverError {
        let names = table.operations.map(\.name)
        let hint = Suggest.closest(to: name, in: names).map { " Did you mean '\($0)'?" } ?? ""
        return DriverError(
            .notFound,
            "'\(name)' is not an operation of \(emulatedDriver.map { "driver '\($0.id)' (mocked)" } ?? "driver '\(driver.id)'").\(hint) "
                + "Operations: \(names.isEmpty ? "none" : names.joined(separator: ", "))",
            context: context)
    }

    /// Calls a resolved operation: the one dispatch point of typed calls.
    @discardableResult
    public func dispatch(_ op: OperationInfo, _ arguments: [InstrumentValue]) throws -> InstrumentValue {
        guard op.index >= 0, op.index < table.operations.count, table.operations[op.index].name == op.name else {
            throw unknownOperation(op.name)
        }
        return try dispatch(index: op.index, arguments)
    }

    /// The interceptors (events, locks, overrides), then the driver or the host operation.
    private func dispatch(index: Int, _ arguments: [InstrumentValue]) throws -> InstrumentValue {
        lock.lock()
        if _interceptors.isEmpty {
            if index >= nativeCount && !isStandIn {
                lock.unlock()
                return try runHostOperation(index, arguments)
            }
            defer { lock.unlock() }
            return try invokeLocked(index, arguments)
        }
        let hooks = _interceptors
        lock.unlock()
        let request = CallRequest(instrument: self, operation: table.operations[index], arguments: arguments)
        return try Self.runChain(hooks[...], request) { request in
            let index = request.operation.index
            if index >= self.nativeCount && !self.isStandIn { return try self.runHostOperation(index, request.arguments) }
            return try self.lock.withLock { try self.invokeLocked(index, request.arguments) }
        }
    }

    /// Checks the arguments of a host operation, fills defaults and runs it over the
    /// message interface (it takes the instrument's lock per message, like any caller).
    private func runHostOperation(_ index: Int, _ arguments: [InstrumentValue]) throws -> InstrumentValue {
        let checked = try table.check(arguments, index: index, context: context)
        var full = checked
        let count = table.shapes[index].paramCount
        if full.count < count { full += Array(repeating: .void, count: count - full.count) }
        guard isOpen else {
            throw DriverError(.closed, "the session is closed", context: "\(context) \(table.operations[index].name)")
        }
        return try hostOperations[index - nativeCount].run(self, full)
    }

    private static func runChain(
        _ hooks: ArraySlice<any CallInterceptor>, _ request: CallRequest,
        _ last: (CallRequest) throws -> InstrumentValue
    ) throws -> InstrumentValue {
        guard let first = hooks.first else { return try last(request) }
        return try first.intercept(request) { try runChain(hooks.dropFirst(), $0, last) }
    }

    /// Checks the arguments and calls the driver. The caller holds `lock`.
    private func invokeLocked(_ index: Int, _ arguments: [InstrumentValue]) throws -> InstrumentValue {
        guard let s = session else {
            throw DriverError(.closed, "the session is closed", context: "\(context) \(table.operations[index].name)")
        }
        let args = try table.check(arguments, index: index, context: context)
        let error = slots.error
        let result = slots.result
        error.pointee.reset()
        result.pointee.reset()
        let status: Int32 = withCArguments(args, count: table.shapes[index].paramCount) { base, count in
            if isStandIn, let invokeNamed = mockTable?.pointee.invoke_named {
                return table.operations[index].name.withCString {
                    invokeNamed(s, $0, base, count, OpaquePointer(result), OpaquePointer(error))
                }
            }
            guard let invoke = vt.invoke else { return Int32(LITMUS_E_UNSUPPORTED) }
            return invoke(s, UInt32(index), base, count, OpaquePointer(result), OpaquePointer(error))
        }
        if status < 0 { throw slots.failure(status, context: "\(context) \(table.operations[index].name)") }
        return try table.result(result, index: index, context: context)
    }

    // MARK: - Async

    /// Runs `body` on this instrument's own serial queue, off Swift's cooperative pool, and
    /// returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable (Instrument) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self) }) }
        }
    }

    /// ``call(_:arguments:)`` off the cooperative pool.
    @discardableResult
    public func call(_ name: String, _ arguments: InstrumentValue...) async throws -> InstrumentValue {
        try await run { try $0.call(name, arguments: arguments) }
    }

    /// ``query(_:)`` off the cooperative pool.
    public func query(_ command: String) async throws -> String {
        try await run { try $0.query(command) }
    }

    /// ``write(_:)`` off the cooperative pool.
    public func write(_ command: String) async throws {
        try await run { try $0.write(command) }
    }

    /// ``read()`` off the cooperative pool.
    public func read() async throws -> String {
        try await run { try $0.read() }
    }
}

/// An operation the host runs itself over an instrument's message interface, such as an
/// instrument profile's `measure_dc_voltage: {query: "MEAS:VOLT:DC?", returns: f64}`. It is
/// dispatched like a driver operation (interceptors, argument checks), after the driver's own
/// operations: a native operation of the same name wins.
public struct HostOperation: Sendable {
    /// The operation's signature (its `index` is assigned when the instrument opens).
    public var info: OperationInfo
    /// Runs the operation with checked arguments, one per parameter (`.void` for omitted optionals).
    public var run: @Sendable (Instrument, [InstrumentValue]) throws -> InstrumentValue

    public init(info: OperationInfo, run: @escaping @Sendable (Instrument, [InstrumentValue]) throws -> InstrumentValue) {
        self.info = info
        self.run = run
    }
}

/// One typed call as it passes through the dispatch point.
public struct CallRequest: @unchecked Sendable {
    public let instrument: Instrument
    public var operation: OperationInfo
    public var arguments: [InstrumentValue]
}

/// A hook around every typed call of an instrument: record events, take locks, or answer the
/// call itself (an override) without calling `proceed`.
public protocol CallInterceptor: AnyObject, Sendable {
    func intercept(_ request: CallRequest, proceed: (CallRequest) throws -> InstrumentValue) throws -> InstrumentValue
}

/// Open options as borrowed `litmus_kv`s.
private func withOpenOptions<R>(_ options: [(String, InstrumentValue)], _ body: (UnsafeBufferPointer<litmus_kv>) -> R) -> R {
    var kvs: [litmus_kv] = []
    kvs.reserveCapacity(options.count)
    func nest(_ i: Int) -> R {
        if i == options.count { return kvs.withUnsafeBufferPointer(body) }
        return options[i].0.withCString { key in
            options[i].1.withCValue { value in
                kvs.append(litmus_kv(key: key, value: value))
                return nest(i + 1)
            }
        }
    }
    return nest(0)
}
