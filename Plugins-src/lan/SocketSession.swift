import CLitmusDriverABI
import LitmusDriverKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A raw SCPI socket session (`TCPIP::host::port::SOCKET`): SCPI text over a plain TCP
/// connection, as LXI instruments serve it on port 5025.
///
/// A raw socket is a byte stream with no message boundaries and no out-of-band channel, so:
/// - **read** returns as soon as some bytes are available (never waiting to fill the buffer)
///   and reports them as `.partial`: the host keeps reading until it sees its read
///   termination (`"\n"` by default) or, for binary blocks, until it has the declared length.
///   The session timeout bounds the wait for the first byte of each read call.
/// - **write** sends every byte within the session timeout.
/// - **clear** has no device-clear message to send: it drains the input instead, discarding
///   whatever arrives until the line has been quiet for ``clearSilenceMs`` or
///   ``clearLimitMs`` have passed (a late reply to a query that timed out, a runaway
///   response). The count discarded is logged at debug level.
/// - **readStatusByte** is unsupported: there is no serial poll, and sending `*STB?` behind
///   the caller's back would put a reply in the output queue.
/// - **trigger** sends `*TRG` followed by `"\n"`, the IEEE 488.2 program message terminator
///   every SCPI instrument accepts (pyvisa-py does the same on sockets).
///
/// The socket is blocking, with `SO_RCVTIMEO` set to the session timeout, so a query costs the
/// same two system calls as a minimal C client (send, then one recv that sleeps until the
/// reply arrives). Sends use `MSG_DONTWAIT` and fall back to `poll` with one deadline when the
/// socket buffer is full. The hot path allocates nothing.
final class SocketSession: CancellableSession {
    /// The timeout until the host sets one, in milliseconds.
    static let defaultTimeoutMs: UInt32 = 2000
    /// `clear` stops draining once nothing has arrived for this long.
    static let clearSilenceMs: UInt32 = 50
    /// `clear` never drains for longer than this.
    static let clearLimitMs: UInt32 = 1000

    private let connection: TCPConnection
    private let services: HostServices
    /// The I/O timeout in milliseconds; `UInt32.max` waits forever.
    private var timeoutMs: UInt32 = SocketSession.defaultTimeoutMs
    /// Bytes received since the last write, for error messages.
    private var receivedSinceWrite = 0
    /// Set by ``cancel()``, from another thread.
    private let cancelled = Atomic<Bool>(false)

    /// `host:port`, as messages name the peer.
    var peer: String { connection.peer }

    /// Connects to `host:port` within the `connect_timeout_ms` option.
    ///
    /// - Throws: `notFound` when the host name does not resolve, `io` when the connection is
    ///   refused or the host unreachable, `timeout` when the connect deadline passes.
    init(host: String, port: Int, options: LANOptions, services: HostServices) throws {
        self.services = services
        do {
            connection = try TCPConnection(
                host: host, port: port, deadline: .after(milliseconds: options.connectTimeoutMs))
        } catch var failure as DriverFailure where failure.status == Int32(LITMUS_E_IO) {
            failure.message += "; check that the instrument is on and serves raw SCPI on port \(port) (often 5025)"
            throw failure
        } catch var failure as DriverFailure where failure.status == Int32(LITMUS_E_TIMEOUT) {
            failure.message += " (connect_timeout_ms \(options.connectTimeoutMs))"
            throw failure
        }
        let fd = connection.fd
        // Blocking mode: recv sleeps in the kernel until data arrives or SO_RCVTIMEO passes.
        // This session does all I/O on the descriptor itself (TCPConnection's send/receive
        // helpers, which expect O_NONBLOCK, are not used here).
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        try applyReceiveTimeout()
        services.log(.debug, component: "litmus-lan", "raw socket connected to \(peer)")
    }

    deinit { connection.close() }

    // MARK: - Messages

    func write(_ data: UnsafeRawBufferPointer) throws -> Int {
        let fd = try liveDescriptor("write")
        receivedSinceWrite = 0
        guard data.count > 0, let base = data.baseAddress else { return 0 }
        let flags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
        let deadline = Deadline.after(milliseconds: timeoutMs)
        var sent = 0
        while sent < data.count {
            let n = send(fd, base + sent, data.count - sent, flags)
            if n >= 0 {
                sent += n
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                // The socket buffer is full: the instrument reads slower than we write.
                try waitWritable(fd, deadline, sent: sent, total: data.count)
                continue
            }
            throw DriverFailure.io(
                "write to \(peer) failed after \(sent) of \(data.count) bytes: \(Self.describe(code))\(Self.hint(code))",
                vendorCode: code)
        }
        return sent
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadOutcome {
        let fd = try liveDescriptor("read")
        guard buffer.count > 0 else { return ReadOutcome(count: 0, end: .bufferFull) }
        let start = Deadline.now
        let flags: Int32 = timeoutMs == 0 ? Int32(MSG_DONTWAIT) : 0
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, flags)
            if n > 0 {
                receivedSinceWrite &+= n
                return ReadOutcome(count: n, end: .partial)
            }
            if n == 0 {
                if cancelled.load(ordering: .sequentiallyConsistent) {
                    throw DriverFailure.failed("read from \(peer) interrupted (SIGINT or SIGTERM); the connection was shut down")
                }
                throw closedByPeer(during: "read")
            }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK { throw readTimeout() }
            if code == EINTR {
                // A signal cut the wait short; wait out what is left of this read's deadline.
                let deadline =
                    timeoutMs == .max ? Deadline.never : Deadline(nanoseconds: start &+ UInt64(timeoutMs) &* 1_000_000)
                guard try waitReadable(fd, deadline) else { throw readTimeout() }
                continue
            }
            throw DriverFailure.io(
                "read from \(peer) failed (\(receivedSinceWrite) bytes received since the last write): "
                    + "\(Self.describe(code))\(Self.hint(code))", vendorCode: code)
        }
    }

    // MARK: - Session control

    func setTimeout(milliseconds: UInt32) throws {
        _ = try liveDescriptor("set_timeout")
        timeoutMs = milliseconds
        try applyReceiveTimeout()
    }

    /// Drains the input: there is no device clear on a raw socket.
    func clear() throws {
        let fd = try liveDescriptor("clear")
        let scratchSize = 64 * 1024
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchSize, alignment: 8)
        defer { scratch.deallocate() }
        let limit = Deadline.after(milliseconds: Self.clearLimitMs)
        var discarded = 0
        var stillArriving = false
        while true {
            if limit.hasPassed {
                stillArriving = true
                break
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, min(Int32(Self.clearSilenceMs), limit.pollTimeout))
            if ready == 0 { break }  // quiet long enough
            if ready < 0 {
                if errno == EINTR { continue }
                throw DriverFailure.io("clear: poll on \(peer) failed: \(Self.describe(errno))", vendorCode: errno)
            }
            let n = recv(fd, scratch, scratchSize, Int32(MSG_DONTWAIT))
            if n > 0 {
                discarded += n
                continue
            }
            if n == 0 { throw closedByPeer(during: "clear (after discarding \(discarded) bytes)") }
            let code = errno
            if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
            throw DriverFailure.io(
                "clear: reading from \(peer) failed after discarding \(discarded) bytes: \(Self.describe(code))\(Self.hint(code))",
                vendorCode: code)
        }
        receivedSinceWrite = 0
        services.log(
            .debug, component: "litmus-lan",
            "\(peer): clear discarded \(discarded) bytes of input"
                + (stillArriving
                    ? "; input was still arriving after \(Self.clearLimitMs) ms (a runaway response?)"
                    : " (raw sockets have no device clear; the input was drained until \(Self.clearSilenceMs) ms of silence)"))
    }

    func readStatusByte() throws -> UInt8 {
        throw DriverFailure.unsupported(
            "raw sockets have no serial poll, so \(peer) cannot report its status byte through the transport; "
                + "send \"*STB?\" yourself when no response is pending (it goes through the output queue), "
                + "or open the instrument over VXI-11 (TCPIP::host::INSTR) or HiSLIP (TCPIP::host::hislip0::INSTR)")
    }

    /// Sends `*TRG\n`: a raw socket has no trigger message of its own.
    func trigger() throws {
        let command: StaticString = "*TRG\n"
        _ = try write(UnsafeRawBufferPointer(start: command.utf8Start, count: command.utf8CodeUnitCount))
    }

    func close() {
        connection.close()
    }

    /// From another thread, while a read may be blocked (`litmus.cancel.v1`): shuts the
    /// connection down, so the blocked `recv` returns at once (a raw socket has no abort
    /// message). The session is closed next.
    func cancel() {
        cancelled.store(true, ordering: .sequentiallyConsistent)
        let fd = connection.fd
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    // MARK: - Helpers

    private func liveDescriptor(_ what: String) throws -> Int32 {
        let fd = connection.fd
        guard fd >= 0 else { throw DriverFailure.closed("\(what): the connection to \(peer) is closed") }
        return fd
    }

    /// Sets `SO_RCVTIMEO` from the session timeout (0 in the option means forever).
    private func applyReceiveTimeout() throws {
        var tv = timeval()
        if timeoutMs != .max && timeoutMs != 0 {
            tv.tv_sec = Int(timeoutMs / 1000)
            tv.tv_usec = Int(timeoutMs % 1000) * 1000
        }
        if setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) != 0 {
            let code = errno
            throw DriverFailure.io("cannot set the receive timeout on \(peer): \(Self.describe(code))", vendorCode: code)
        }
    }

    /// Waits for room in the send buffer; throws `timeout` when the deadline passes.
    private func waitWritable(_ fd: Int32, _ deadline: Deadline, sent: Int, total: Int) throws {
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ready = poll(&pfd, 1, deadline.pollTimeout)
            if ready > 0 { return }
            if ready == 0 {
                throw DriverFailure.timeout(
                    "write to \(peer) timed out after \(sent) of \(total) bytes (timeout \(timeoutMs) ms): the instrument "
                        + "is not reading its input (busy, or stuck on an earlier command); call clear() or reopen the session")
            }
            if errno != EINTR { throw DriverFailure.io("poll on \(peer) failed: \(Self.describe(errno))", vendorCode: errno) }
        }
    }

    /// Waits for input until `deadline`; false when it passes first.
    private func waitReadable(_ fd: Int32, _ deadline: Deadline) throws -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&pfd, 1, deadline.pollTimeout)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { throw DriverFailure.io("poll on \(peer) failed: \(Self.describe(errno))", vendorCode: errno) }
        }
    }

    private func readTimeout() -> DriverFailure {
        if receivedSinceWrite == 0 {
            return DriverFailure.timeout(
                "no reply from \(peer) within \(timeoutMs) ms: the instrument may not answer this command (an unknown "
                    + "query, or a command that is not a query, gets no reply) or needs longer (raise the timeout); "
                    + "call clear() before the next query so a late reply is discarded")
        }
        return DriverFailure.timeout(
            "the response from \(peer) did not end within \(timeoutMs) ms (\(receivedSinceWrite) bytes received since the "
                + "last write): check that the read termination matches the instrument's, or raise the timeout; "
                + "call clear() before the next query")
    }

    private func closedByPeer(during what: String) -> DriverFailure {
        DriverFailure.io(
            "\(peer) closed the connection during \(what) (\(receivedSinceWrite) bytes received since the last write); "
                + "the instrument may allow one client at a time, or was restarted: open a new session")
    }

    private static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }

    private static func hint(_ code: Int32) -> String {
        switch code {
        case ECONNRESET, EPIPE:
            "; the instrument reset the connection (restarted, or dropped this client): open a new session"
        case ETIMEDOUT, EHOSTUNREACH, ENETUNREACH:
            "; the instrument is no longer reachable (keepalive gave up): check the network and open a new session"
        default: ""
        }
    }
}

extension SocketSession {
    /// A raw socket has no lock and no remote/local state (``LANOperation``).
    func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue {
        let name = LANOperation(rawValue: index).map { "\($0)" } ?? "operation \(index)"
        throw DriverFailure.unsupported(
            "\(name) needs VXI-11 or HiSLIP; a raw SCPI socket (::SOCKET) has no lock or remote/local control. "
                + "Open the instrument as TCPIP::<host>::INSTR or TCPIP::<host>::hislip0::INSTR")
    }
}

/// The plugin's `litmus.cancel.v1` table: raw sockets shut their connection down so a blocked
/// read returns; VXI-11 and HiSLIP sessions end their blocked call at their own deadline.
nonisolated(unsafe) let lanCancelTable = SessionBox.makeCancelTable()
