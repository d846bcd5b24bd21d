import LitmusDriverKit
import LitmusLANProtocol

#if canImport(Glibc)
import Glibc
#endif

/// One of the two TCP connections of a HiSLIP session (the synchronous or the asynchronous
/// channel), framed into messages.
///
/// Sending writes a header and its payload with one `sendmsg` (no copy of large payloads); a
/// send that times out part-way keeps the unsent tail, which goes out before anything else, so
/// the byte stream never loses its framing. Receiving goes through a 64 KiB buffer for headers
/// and small payloads; large payloads are received straight into the caller's memory.
final class HiSLIPChannel {
    let connection: TCPConnection
    /// "synchronous channel" or "asynchronous channel", for messages.
    let name: String
    /// The longest payload accepted from the peer (the negotiated maximum).
    var maxPayloadLength: UInt64

    private let storage: UnsafeMutableRawBufferPointer
    private var head = 0
    private var tail = 0
    /// The rest of a message whose send timed out part-way.
    private var unsent: [UInt8] = []
    /// Payload bytes still to be dropped (a skip that timed out part-way resumes here, so the
    /// stream stays in step).
    private var pendingSkip: UInt64 = 0

    /// Payloads at least this large are received directly into the caller's buffer.
    private static let directThreshold = 8192

    init(connection: TCPConnection, name: String, maxPayloadLength: UInt64) {
        self.connection = connection
        self.name = name
        self.maxPayloadLength = maxPayloadLength
        storage = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { storage.deallocate() }

    var peer: String { connection.peer }
    var isOpen: Bool { connection.isOpen }

    func close() { connection.close() }

    // MARK: - Sending

    /// Whether part of an earlier message is still waiting to be sent.
    var hasUnsentBytes: Bool { !unsent.isEmpty }

    /// Sends one message: `header` followed by `payload` (whose length the header declares).
    ///
    /// - Throws: `timeout` when the deadline passes (if some bytes went out, the rest is kept
    ///   and sent first by the next send or ``flushUnsent(deadline:what:)``; check
    ///   ``hasUnsentBytes``), `io` when the connection fails.
    func send(_ header: HiSLIPHeader, payload: UnsafeRawBufferPointer, deadline: Deadline, what: String) throws {
        if !unsent.isEmpty { try flushUnsent(deadline: deadline, what: what) }
        var headerBytes = (UInt64(0), UInt64(0))
        try withUnsafeMutableBytes(of: &headerBytes) { raw in
            header.write(to: raw.baseAddress!)
            try sendAll(UnsafeRawBufferPointer(raw), payload, deadline: deadline, what: what)
        }
    }

    /// Sends a whole message.
    func send(_ message: HiSLIPMessage, deadline: Deadline, what: String) throws {
        try message.payload.withUnsafeBytes { payload in
            try send(message.header, payload: payload, deadline: deadline, what: what)
        }
    }

    /// Sends the tail of a message whose send timed out.
    func flushUnsent(deadline: Deadline, what: String) throws {
        guard !unsent.isEmpty else { return }
        let pending = unsent
        unsent = []
        try pending.withUnsafeBytes { bytes in
            try sendAll(bytes, UnsafeRawBufferPointer(start: nil, count: 0), deadline: deadline, what: what)
        }
    }

    private func sendAll(
        _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, deadline: Deadline, what: String
    ) throws {
        guard connection.isOpen else { throw DriverFailure.closed("the \(name) to \(peer) is closed") }
        let total = first.count + second.count
        var sent = 0
        while sent < total {
            var vectors = (iovec(), iovec())
            let n: Int = withUnsafeMutableBytes(of: &vectors) { raw in
                let iov = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
                var count = 0
                if sent < first.count {
                    iov[count] = iovec(
                        iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress! + sent), iov_len: first.count - sent)
                    count += 1
                }
                if second.count > 0 {
                    let from = max(0, sent - first.count)
                    iov[count] = iovec(
                        iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress! + from), iov_len: second.count - from)
                    count += 1
                }
                var message = msghdr()
                message.msg_iov = iov
                message.msg_iovlen = count
                return Glibc.sendmsg(connection.fd, &message, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                sent += n
                continue
            }
            let code = errno
            if n < 0 && code == EINTR { continue }
            if n < 0 && (code == EAGAIN || code == EWOULDBLOCK) {
                if try waitWritable(deadline: deadline) { continue }
                if sent > 0 { keepUnsent(first, second, from: sent) }
                throw DriverFailure.timeout(
                    "\(what): \(peer) did not accept data on the \(name) in time (\(sent) of \(total) bytes of the message sent)")
            }
            throw DriverFailure.io("\(what): sending on the \(name) to \(peer) failed: \(String(cString: strerror(code)))")
        }
    }

    private func keepUnsent(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, from sent: Int) {
        var rest: [UInt8] = []
        if sent < first.count { rest.append(contentsOf: first[sent...]) }
        if second.count > 0 { rest.append(contentsOf: second[max(0, sent - first.count)...]) }
        unsent = rest
    }

    /// Waits until the socket can take more bytes; false when the deadline passed.
    private func waitWritable(deadline: Deadline) throws -> Bool {
        var pfd = pollfd(fd: connection.fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ready = poll(&pfd, 1, deadline.pollTimeout)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { throw DriverFailure.io("poll on the \(name) to \(peer) failed: \(String(cString: strerror(errno)))") }
        }
    }

    // MARK: - Receiving

    /// Whether received bytes wait in the buffer.
    var hasBufferedBytes: Bool { head < tail }

    /// Whether a message (or part of one) can be read without waiting.
    func isReadable() -> Bool {
        if head < tail { return true }
        guard connection.isOpen else { return false }
        var pfd = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) > 0
    }

    /// Receives more bytes into the buffer (at least one).
    private func fill(deadline: Deadline, what: String) throws {
        if head == tail {
            head = 0
            tail = 0
        } else if tail == storage.count {
            let n = tail - head
            storage.baseAddress!.copyMemory(from: storage.baseAddress! + head, byteCount: n)
            head = 0
            tail = n
        }
        tail += try connection.receive(
            into: UnsafeMutableRawBufferPointer(rebasing: storage[tail...]), deadline: deadline, what: "\(what) (\(name))")
    }

    /// Receives and parses the next header (the prologue is checked; ``HiSLIPHeader/validate(maxPayloadLength:)``
    /// is the caller's).
    ///
    /// - Throws: `HiSLIPViolation.badPrologue` when the stream is out of step, or the
    ///   connection's `timeout` / `io` failures (bytes of a partly received header stay buffered).
    func receiveHeader(deadline: Deadline, what: String) throws -> HiSLIPHeader {
        try finishSkip(deadline: deadline, what: what)
        while tail - head < HiSLIPHeader.size { try fill(deadline: deadline, what: what) }
        let raw = UnsafeRawBufferPointer(rebasing: storage[head..<(head + HiSLIPHeader.size)])
        let header = try HiSLIPHeader.parse(raw)
        head += HiSLIPHeader.size
        return header
    }

    /// Receives up to `buffer.count` payload bytes (at least one); returns the count. The
    /// caller never asks for more than the current message's remaining payload.
    func receivePayload(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline, what: String) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        if head == tail {
            if buffer.count >= Self.directThreshold {
                return try connection.receive(into: buffer, deadline: deadline, what: "\(what) (\(name))")
            }
            try fill(deadline: deadline, what: what)
        }
        let n = min(tail - head, buffer.count)
        buffer.baseAddress!.copyMemory(from: storage.baseAddress! + head, byteCount: n)
        head += n
        return n
    }

    /// Receives a whole payload of `count` bytes (small payloads: error texts, sizes). When it
    /// fails part-way, the rest of the payload is dropped before the next header.
    func receivePayload(count: Int, deadline: Deadline, what: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var have = 0
        do {
            try bytes.withUnsafeMutableBytes { raw in
                while have < count {
                    have += try receivePayload(
                        into: UnsafeMutableRawBufferPointer(rebasing: raw[have...]), deadline: deadline, what: what)
                }
            }
        } catch {
            pendingSkip += UInt64(count - have)
            throw error
        }
        return bytes
    }

    /// Drops `count` payload bytes. When the deadline passes part-way, the rest is dropped
    /// before the next header is received.
    func skip(_ count: UInt64, deadline: Deadline, what: String) throws {
        pendingSkip += count
        try finishSkip(deadline: deadline, what: what)
    }

    private func finishSkip(deadline: Deadline, what: String) throws {
        while pendingSkip > 0 {
            if head == tail { try fill(deadline: deadline, what: what) }
            let n = min(UInt64(tail - head), pendingSkip)
            head += Int(n)
            pendingSkip -= n
        }
    }
}
