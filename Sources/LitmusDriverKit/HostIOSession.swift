import CLitmusDriverABI

extension HostServices {
    /// Whether the host offers the ABI 1.2 host I/O services (``openIO(_:driver:options:)``).
    public var hasIO: Bool {
        let end = MemoryLayout<litmus_host_services>.offset(of: \.io_last_error)! + MemoryLayout<UnsafeRawPointer>.size
        return Int(table.pointee.struct_size) >= end && table.pointee.io_open != nil
    }

    /// Opens a message-based session on `resource` through the host's transport plugins
    /// (ABI 1.2), as an IVI driver opens a VISA session: the host resolves the resource,
    /// applies the terminations, the deadline of each read and the message size limit.
    ///
    /// ```swift
    /// let io = try request.services.openIO(request.resource, options: ["read_termination": .string("\r\n")])
    /// let reply = try io.query("VOUT1?")
    /// ```
    ///
    /// - Parameters:
    ///   - driver: the transport driver's id; by default the one loaded driver whose scheme
    ///     matches (never one of this plugin's).
    ///   - options: the transport's open options plus the host's `read_termination`,
    ///     `write_termination` (strings), `timeout_ms` and `max_message_bytes` (integers).
    /// - Throws: ``DriverFailure`` with the host's message; `unsupported` on a host older
    ///   than ABI 1.2.
    public func openIO(_ resource: String, driver: String? = nil, options: [String: DriverValue] = [:]) throws
        -> HostIOSession
    {
        guard hasIO, let open = table.pointee.io_open else {
            throw DriverFailure.unsupported(
                "this host has no I/O services (ABI 1.2); upgrade litmus to open '\(resource)' through it")
        }
        var out: OpaquePointer?
        let keys = options.keys.sorted()
        let status: litmus_status = withValues(keys.map { options[$0]! }) { values in
            withCStrings(keys) { names in
                var kvs = (0..<keys.count).map { litmus_kv(key: names[$0], value: values[$0]) }
                return resource.withCString { res in
                    kvs.withUnsafeMutableBufferPointer { kv in
                        if let driver {
                            return driver.withCString { open(table.pointee.host_ctx, res, $0, kv.baseAddress, kv.count, &out, nil) }
                        }
                        return open(table.pointee.host_ctx, res, nil, kv.baseAddress, kv.count, &out, nil)
                    }
                }
            }
        }
        guard status >= 0, let out else {
            // The host keeps this thread's last io_open failure for io_last_error(NULL, ...).
            var message = "cannot open '\(resource)' through the host (status \(status))"
            if let lastError = table.pointee.io_last_error {
                let length = lastError(nil, nil, 0)
                if length > 0 {
                    var buffer = [CChar](repeating: 0, count: length + 1)
                    _ = lastError(nil, &buffer, buffer.count)
                    message = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            }
            throw DriverFailure(status: status < 0 ? status : Int32(LITMUS_E_FAILED), message)
        }
        return HostIOSession(io: out, services: table)
    }
}

/// A message-based session the host opened for this driver (ABI 1.2, `litmus_io *`).
///
/// Use it from the driver session that owns it (the host serialises that session's calls),
/// and close it in the session's `close()`. Every failure throws a ``DriverFailure`` carrying
/// the host's status and message (`timeout` when the deadline passed, `io` or `closed` when
/// the peer went away).
public final class HostIOSession: @unchecked Sendable {
    private var io: OpaquePointer?
    private let table: UnsafePointer<litmus_host_services>
    /// Reads return at most this many bytes per call; longer messages are collected whole.
    private static let chunk = 64 * 1024

    init(io: OpaquePointer, services: UnsafePointer<litmus_host_services>) {
        self.io = io
        self.table = services
    }

    deinit { close() }

    /// Closes the session; later calls fail with `closed`. Safe to call twice.
    public func close() {
        if let io {
            self.io = nil
            table.pointee.io_close?(io)
        }
    }

    private func live() throws -> OpaquePointer {
        guard let io else { throw DriverFailure.closed("the host I/O session is closed") }
        return io
    }

    /// The failure the host reported for the last call.
    private func failure(_ status: litmus_status, _ what: String) -> DriverFailure {
        var message = "\(what) failed with status \(status)"
        if let io, let lastError = table.pointee.io_last_error {
            let length = lastError(io, nil, 0)
            if length > 0 {
                var buffer = [CChar](repeating: 0, count: length + 1)
                _ = lastError(io, &buffer, buffer.count)
                message = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        return DriverFailure(status: status, message)
    }

    /// Collects one whole message from a reader that may answer `LITMUS_OK_MAX_COUNT`.
    private func collect(_ what: String, _ first: (UnsafeMutablePointer<UInt8>, Int, UnsafeMutablePointer<Int>) -> litmus_status)
        throws -> [UInt8]
    {
        var message: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: Self.chunk)
        var got = 0
        var status = buffer.withUnsafeMutableBufferPointer { first($0.baseAddress!, $0.count, &got) }
        while true {
            if status < 0 { throw failure(status, what) }
            message += buffer[0..<got]
            guard status == Int32(LITMUS_OK_MAX_COUNT) else { return message }
            let io = try live()
            status = buffer.withUnsafeMutableBufferPointer {
                table.pointee.io_read!(io, $0.baseAddress, $0.count, &got, 0, nil)
            }
        }
    }

    /// Writes one message; the session's write termination is appended unless `raw`.
    public func write(_ bytes: [UInt8], raw: Bool = false) throws {
        let io = try live()
        let status = bytes.withUnsafeBufferPointer {
            table.pointee.io_write!(io, $0.baseAddress, $0.count, raw ? UInt32(LITMUS_IO_RAW) : 0, nil)
        }
        if status < 0 { throw failure(status, "write") }
    }

    /// Writes one command; the session's write termination is appended.
    public func write(_ command: String) throws { try write(Array(command.utf8)) }

    /// Reads one message, without its termination.
    public func readMessage() throws -> [UInt8] {
        let io = try live()
        return try collect("read") { table.pointee.io_read!(io, $0, $1, $2, 0, nil) }
    }

    /// Reads one message as text.
    public func read() throws -> String { String(decoding: try readMessage(), as: UTF8.self) }

    /// Reads exactly `count` bytes, ignoring the read termination.
    public func readBytes(count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        let io = try live()
        var data = [UInt8](repeating: 0, count: count)
        var got = 0
        let status = data.withUnsafeMutableBufferPointer {
            table.pointee.io_read!(io, $0.baseAddress, $0.count, &got, UInt32(LITMUS_IO_EXACT), nil)
        }
        if status < 0 { throw failure(status, "read \(count) bytes") }
        return Array(data[0..<got])
    }

    /// Sends `command` and reads the reply, without its termination.
    public func queryMessage(_ command: [UInt8]) throws -> [UInt8] {
        let io = try live()
        return try command.withUnsafeBufferPointer { cmd in
            try collect("query") { table.pointee.io_query!(io, cmd.baseAddress, cmd.count, $0, $1, $2, nil) }
        }
    }

    /// Sends `command` and reads the reply as text.
    public func query(_ command: String) throws -> String {
        String(decoding: try queryMessage(Array(command.utf8)), as: UTF8.self)
    }

    /// Reads an IEEE 488.2 binary block and returns its data.
    public func readBinaryBlock() throws -> [UInt8] {
        let io = try live()
        return try collect("read block") { table.pointee.io_read_block!(io, $0, $1, $2, nil) }
    }

    /// Device clear through the transport.
    public func clear() throws {
        let status = table.pointee.io_clear!(try live(), nil)
        if status < 0 { throw failure(status, "clear") }
    }

    /// Serial poll through the transport.
    public func readStatusByte() throws -> UInt8 {
        var stb: UInt8 = 0
        let status = table.pointee.io_read_stb!(try live(), &stb, nil)
        if status < 0 { throw failure(status, "read_stb") }
        return stb
    }

    /// Trigger through the transport.
    public func trigger() throws {
        let status = table.pointee.io_trigger!(try live(), nil)
        if status < 0 { throw failure(status, "trigger") }
    }

    /// Sets the deadline of each later read operation (`UInt32.max`: none).
    public func setTimeout(milliseconds: UInt32) throws {
        let status = table.pointee.io_set_timeout!(try live(), milliseconds, nil)
        if status < 0 { throw failure(status, "set_timeout") }
    }

    /// Sets the read and write terminations (`""` for none, nil keeps the current one).
    public func setTermination(read: String? = nil, write: String? = nil) throws {
        let io = try live()
        func call(_ r: UnsafePointer<CChar>?, _ w: UnsafePointer<CChar>?) -> litmus_status {
            table.pointee.io_set_termination!(io, r, w, nil)
        }
        let status: litmus_status
        switch (read, write) {
        case (let r?, let w?): status = r.withCString { rp in w.withCString { call(rp, $0) } }
        case (let r?, nil): status = r.withCString { call($0, nil) }
        case (nil, let w?): status = w.withCString { call(nil, $0) }
        case (nil, nil): status = Int32(LITMUS_OK)
        }
        if status < 0 { throw failure(status, "set_termination") }
    }

    /// Takes the host's exclusive cross-process lock on the resource, waiting up to
    /// `milliseconds` (0: try once).
    public func lock(timeoutMilliseconds milliseconds: UInt32 = 0) throws {
        let status = table.pointee.io_lock!(try live(), milliseconds, nil)
        if status < 0 { throw failure(status, "lock") }
    }

    /// Releases the lock.
    public func unlock() {
        if let io { table.pointee.io_unlock?(io) }
    }
}

/// Borrowed C values of `values` (open options: F64, I64, BOOL, STR) for the duration of `body`.
private func withValues<R>(_ values: [DriverValue], _ body: ([litmus_value]) -> R) -> R {
    var out: [litmus_value] = []
    func nest(_ i: Int) -> R {
        if i == values.count { return body(out) }
        var v = litmus_value()
        switch values[i] {
        case .f64(let x):
            v.type = UInt32(ValueType.f64.rawValue)
            v.u.f64 = x
        case .i64(let x):
            v.type = UInt32(ValueType.i64.rawValue)
            v.u.i64 = x
        case .bool(let x):
            v.type = UInt32(ValueType.bool.rawValue)
            v.u.boolean = x ? 1 : 0
        case .string(var text):
            return text.withUTF8 { utf8 in
                v.type = UInt32(ValueType.string.rawValue)
                v.u.str = litmus_str_view(
                    ptr: UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self), len: utf8.count)
                out.append(v)
                return nest(i + 1)
            }
        default:
            v.type = UInt32(ValueType.void.rawValue)
        }
        out.append(v)
        return nest(i + 1)
    }
    return nest(0)
}

/// NUL-terminated copies of `strings` for the duration of `body`.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>]) -> R) -> R {
    var out: [UnsafePointer<CChar>] = []
    func nest(_ i: Int) -> R {
        if i == strings.count { return body(out) }
        return strings[i].withCString { p in
            out.append(p)
            return nest(i + 1)
        }
    }
    return nest(0)
}
