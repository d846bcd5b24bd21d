import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The socket plumbing every fake server shares: listening on loopback and sending whole
/// buffers.
enum Loopback {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A listening TCP socket on 127.0.0.1 (or [::1]) at `port` (0: any free port), and the
    /// port it got.
    static func listen(port: UInt16, ipv6: Bool = false, backlog: Int32 = 128) throws -> (fd: Int32, port: UInt16) {
        let s = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if ipv6 {
            setsockopt(s, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            addr.sin6_addr = in6addr_loopback
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0, Glibc.listen(s, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(s)
            throw Failure(description: "cannot listen on \(ipv6 ? "[::1]" : "127.0.0.1"):\(port): \(reason)")
        }
        var storage = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset.
        return (s, UInt16(bigEndian: storage.sin6_port))
    }

    /// Sends every byte (retrying on EINTR); false when the peer is gone.
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, flags: Int32 = Int32(MSG_NOSIGNAL)) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + sent, bytes.count - sent, flags)
            if n > 0 {
                sent += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }
}
