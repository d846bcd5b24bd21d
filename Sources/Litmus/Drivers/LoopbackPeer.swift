#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// `listen(2)`, out of reach of ``LoopbackPeer/listen()``'s name.
private func systemListen(_ s: Int32, _ backlog: Int32) -> Int32 { listen(s, backlog) }

/// A TCP peer on 127.0.0.1 for the conformance kit's error paths: one that accepts a
/// connection and closes it at once, or a port where nothing listens.
final class LoopbackPeer: @unchecked Sendable {
    /// The port it listens on.
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var stopped = false
    private let closedOne = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    private init(listener: Int32, port: Int) {
        self.listener = listener
        self.port = port
    }

    /// A listening socket on 127.0.0.1 (port chosen by the kernel), or nil.
    private static func listen() -> (Int32, Int)? {
        #if canImport(Glibc)
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let s = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard s >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, systemListen(s, 4) == 0 else {
            close(s)
            return nil
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
        }
        guard named == 0 else {
            close(s)
            return nil
        }
        return (s, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A loopback port where nothing listens (bound, then closed): a connect is refused.
    static func refusedPort() -> Int? {
        guard let (s, port) = listen() else { return nil }
        close(s)
        return port
    }

    /// A peer that accepts each connection and closes it at once, until ``stop()``.
    static func closingAfterAccept() -> LoopbackPeer? {
        guard let (s, port) = listen() else { return nil }
        let peer = LoopbackPeer(listener: s, port: port)
        Thread.detachNewThread { peer.serve() }
        return peer
    }

    private func serve() {
        defer { finished.signal() }
        while !lock.withLock({ stopped }) {
            var fds = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&fds, 1, 50) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            if connection >= 0 {
                close(connection)
                closedOne.signal()
            }
        }
    }

    /// Waits (up to 5 s) until a connection was accepted and closed.
    func waitUntilClosed() {
        _ = closedOne.wait(timeout: .now() + 5)
    }

    /// Stops accepting and closes the listener.
    func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        finished.wait()
        close(listener)
    }
}
