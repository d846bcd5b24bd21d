import Foundation
import LitmusDriverKit

#if canImport(Glibc)
import Glibc
#endif

/// A connected TCP socket with per-operation deadlines: connect refused or unreachable is
/// reported at open (SO_ERROR), Nagle is off (small SCPI messages go out at once), keepalive is
/// on (a dead peer is noticed), and every send and receive honours one deadline across all the
/// system calls it takes. Shared by the raw-socket, VXI-11 and HiSLIP sessions.
final class TCPConnection {
    /// What it is connected to, for messages: `host:port`.
    let peer: String
    private(set) var fd: Int32

    /// Connects to `host:port` (a name, an IPv4 or an IPv6 address without brackets) before
    /// `deadline`, trying each address the name resolves to.
    ///
    /// - Throws: `timeout` when the deadline passes, `io` when refused or unreachable (with the
    ///   system's reason), `notFound` when the name does not resolve.
    init(host: String, port: Int, deadline: Deadline) throws {
        peer = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw DriverFailure.notFound("cannot resolve host \"\(host)\": \(reason); check the name or use an IP address")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address to try"
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let ai = node {
            node = ai.pointee.ai_next
            let s = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), ai.pointee.ai_protocol)
            if s < 0 {
                lastError = String(cString: strerror(errno))
                continue
            }
            if connect(s, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                var pfd = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
                var ready: Int32
                repeat { ready = poll(&pfd, 1, deadline.pollTimeout) } while ready < 0 && errno == EINTR
                if ready == 0 {
                    Glibc.close(s)
                    throw DriverFailure.timeout("connecting to \(peer) timed out; check the address, the port and that the instrument is on the network")
                }
                var soError: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(s, SOL_SOCKET, SO_ERROR, &soError, &len)
                if ready > 0 && soError == 0 {
                    fd = s
                    Self.configure(s)
                    return
                }
                lastError = String(cString: strerror(soError != 0 ? soError : errno))
            } else {
                lastError = String(cString: strerror(errno))
            }
            Glibc.close(s)
            if deadline.hasPassed { break }
        }
        throw DriverFailure.io("cannot connect to \(peer): \(lastError)")
    }

    /// Wraps an accepted or already connected socket (tests, servers).
    init(fd: Int32, peer: String) {
        self.fd = fd
        self.peer = peer
        Self.configure(fd)
    }

    private static func configure(_ s: Int32) {
        var on: Int32 = 1
        setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
        let flags = fcntl(s, F_GETFL)
        _ = fcntl(s, F_SETFL, flags | O_NONBLOCK)
    }

    deinit { close() }

    /// Closes the socket; later calls fail with `closed`. Safe to call twice.
    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    var isOpen: Bool { fd >= 0 }

    /// Sends every byte before `deadline`.
    func send(_ data: UnsafeRawBufferPointer, deadline: Deadline, what: String = "send") throws {
        guard fd >= 0 else { throw DriverFailure.closed("the connection to \(peer) is closed") }
        var sent = 0
        while sent < data.count {
            let n = Glibc.send(fd, data.baseAddress! + sent, data.count - sent, Int32(MSG_NOSIGNAL))
            if n > 0 {
                sent += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try wait(for: Int16(POLLOUT), deadline: deadline, what: "\(what) (\(sent) of \(data.count) bytes sent)")
                continue
            }
            throw DriverFailure.io("\(what) to \(peer) failed: \(String(cString: strerror(errno)))")
        }
    }

    func send(_ bytes: [UInt8], deadline: Deadline, what: String = "send") throws {
        try bytes.withUnsafeBytes { try send($0, deadline: deadline, what: what) }
    }

    /// Receives at least one byte (at most `buffer.count`) before `deadline`; returns the
    /// count. The peer closing the connection is an `io` error.
    func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline, what: String = "receive") throws -> Int {
        guard fd >= 0 else { throw DriverFailure.closed("the connection to \(peer) is closed") }
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return n }
            if n == 0 {
                throw DriverFailure.io("\(peer) closed the connection during \(what)")
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                try wait(for: Int16(POLLIN), deadline: deadline, what: what)
                continue
            }
            throw DriverFailure.io("\(what) from \(peer) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Receives exactly `buffer.count` bytes before `deadline`.
    func receiveExactly(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline, what: String = "receive") throws {
        var have = 0
        while have < buffer.count {
            have += try receive(
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[have...]), deadline: deadline,
                what: "\(what) (\(have) of \(buffer.count) bytes)")
        }
    }

    /// Whatever is readable now, without waiting (up to `buffer.count`); 0 when nothing is.
    func receiveAvailable(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard fd >= 0 else { throw DriverFailure.closed("the connection to \(peer) is closed") }
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if n >= 0 {
                if n == 0 && buffer.count > 0 { throw DriverFailure.io("\(peer) closed the connection") }
                return n
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
            throw DriverFailure.io("receive from \(peer) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Waits until the socket is ready for `events` or the deadline passes.
    func wait(for events: Int16, deadline: Deadline, what: String) throws {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&pfd, 1, deadline.pollTimeout)
            if ready > 0 { return }
            if ready == 0 { throw DriverFailure.timeout("\(what) from \(peer) timed out") }
            if errno != EINTR { throw DriverFailure.io("poll on \(peer) failed: \(String(cString: strerror(errno)))") }
        }
    }
}
