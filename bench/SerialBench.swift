// Serial transport: the serial plugin against the way pyvisa-py reads a serial port (one byte
// per system call), over a pseudo-terminal pair with a simulated instrument on the master.
//
// Both clients are open on the same pty and talk to the same simulator, in interleaved rounds,
// so the ratio measures the client alone: the buffered plugin (one poll and one read take all
// the bytes waiting) against poll + read(1) per byte. A raw buffered client with no host shows
// the floor. A pty has no baud rate: this is the software cost, which on a real 115200-baud line
// hides behind 87 µs per character; it matters for USB-CDC devices (no UART) and large blocks.
import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#endif

func runSerialBenchmark() {
    let registry = benchRegistry()
    if registry.drivers.isEmpty {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
        print("no plugins found on \(DriverRegistry.searchPath()) (open descriptors: \(fds)); problems: \(registry.diagnostics)")
    }
    // Client and simulator on one CPU: cross-CPU wake-ups cost ~50 µs on these VMs and would
    // swamp what is measured. The simulator thread inherits the affinity.
    let pinned = SerialBenchAffinity.pinToFirstCPU()
    defer { pinned?.restore() }
    do {
        let pty = try SerialBenchPTY()
        let simulator = try SerialBenchInstrument(master: pty.master)
        defer {
            simulator.stop()
            pty.close()
        }
        print(
            "Serial over a pty pair, simulator thread on the master (\(pinned == nil ? "unpinned" : "pinned to one CPU"); "
                + "rounds interleaved, best of 21 for queries, 7 for blocks)")
        // Not exclusive: the baseline client opens the same pty alongside.
        let session = try registry.open(pty.resource, options: ["timeout_ms": .i64(2000), "exclusive": false])
        defer { session.close() }
        let baseline = try SerialBenchOneByteClient(path: pty.slavePath)
        defer { baseline.close() }
        let idn = "*IDN?"
        let expected = SerialBenchInstrument.identity
        guard try session.query(idn) == expected else { throw SerialBenchError("the plugin got a wrong *IDN? reply") }
        guard try baseline.query(idn) == expected else { throw SerialBenchError("the baseline got a wrong *IDN? reply") }

        let blockSize = 65536
        var plugin = Double.infinity, slow = Double.infinity, floor = Double.infinity
        var pluginBlock = Double.infinity, slowBlock = Double.infinity
        for _ in 0..<21 {
            plugin = min(plugin, try SerialBenchClock.perCall(200) { _ = try session.query(idn) })
            slow = min(slow, try SerialBenchClock.perCall(200) { _ = try baseline.query(idn) })
            floor = min(floor, try SerialBenchClock.perCall(200) { _ = try baseline.bufferedQuery(idn) })
        }
        for _ in 0..<7 {
            pluginBlock = min(pluginBlock, try SerialBenchClock.perCall(5) { _ = try session.queryBinaryBlock("DATA? \(blockSize)") })
            slowBlock = min(slowBlock, try SerialBenchClock.perCall(1) { _ = try baseline.queryBlock("DATA? \(blockSize)") })
        }
        var pluginMiB = Double.infinity
        for _ in 0..<3 {
            pluginMiB = min(pluginMiB, try SerialBenchClock.perCall(2) { _ = try session.queryBinaryBlock("DATA? 1048576") })
        }

        func row(_ label: String, _ ns: Double, _ extra: String = "") {
            let padded = label.count < 60 ? label + String(repeating: " ", count: 60 - label.count) : label
            print("  \(padded) " + String(format: "%10.1f µs", ns / 1000) + extra)
        }
        func rate(_ bytes: Int, _ ns: Double) -> String { String(format: "  %8.1f MB/s", Double(bytes) / ns * 1000) }
        row("baseline: poll + read(1) per byte (pyvisa-py), *IDN? query", slow)
        row("serial plugin, *IDN? query (\(expected.utf8.count + 1)-byte reply)", plugin)
        row("floor: raw poll + read of all available, no host (reference)", floor)
        row("baseline: 64 KiB block, 1 byte per read", slowBlock, rate(blockSize, slowBlock))
        row("serial plugin: 64 KiB block (queryBinaryBlock)", pluginBlock, rate(blockSize, pluginBlock))
        row("serial plugin: 1 MiB block (queryBinaryBlock)", pluginMiB, rate(1 << 20, pluginMiB))
        let queryRatio = slow / plugin
        let blockRatio = slowBlock / pluginBlock
        print(String(format: "  ratio baseline/plugin: query %.2fx, 64 KiB block %.0fx", queryRatio, blockRatio))
        print(
            String(
                format: "Goal: plugin >= 3x faster than 1-byte reads for a typical reply: %@ (%.2fx); 64 KiB block: %.0fx",
                queryRatio >= 3 ? "met" : "NOT met", queryRatio, blockRatio))
    } catch {
        print("serial benchmark failed: \(error)")
    }
}

/// Nanoseconds per call of `body` over `n` calls.
enum SerialBenchClock {
    static func perCall(_ n: Int, _ body: () throws -> Void) rethrows -> Double {
        let start = now()
        for _ in 0..<n { try body() }
        return Double(now() - start) / Double(n)
    }
}

/// Pins the calling thread (and threads it starts) to its first allowed CPU, and restores the
/// affinity it had. The affinity calls are looked up at run time and the CPU set is handled as
/// raw bits: Swift's Glibc module has neither (they need _GNU_SOURCE).
struct SerialBenchAffinity {
    private typealias Affinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer) -> Int32
    /// 1024 CPUs, glibc's cpu_set_t.
    private static let setSize = 128
    private let saved: [UInt8]
    private let set: Affinity

    static func pinToFirstCPU() -> SerialBenchAffinity? {
        let libc = dlopen(nil, RTLD_NOW)
        guard let g = dlsym(libc, "sched_getaffinity"), let s = dlsym(libc, "sched_setaffinity") else { return nil }
        let get = unsafeBitCast(g, to: Affinity.self)
        let set = unsafeBitCast(s, to: Affinity.self)
        var current = [UInt8](repeating: 0, count: setSize)
        guard current.withUnsafeMutableBytes({ get(0, setSize, $0.baseAddress!) }) == 0 else { return nil }
        guard let first = current.firstIndex(where: { $0 != 0 }) else { return nil }
        var one = [UInt8](repeating: 0, count: setSize)
        one[first] = 1 << current[first].trailingZeroBitCount
        // Only one CPU allowed already: nothing to pin.
        guard one != current else { return nil }
        guard one.withUnsafeMutableBytes({ set(0, setSize, $0.baseAddress!) }) == 0 else { return nil }
        return SerialBenchAffinity(saved: current, set: set)
    }

    func restore() {
        var bytes = saved
        _ = bytes.withUnsafeMutableBytes { set(0, Self.setSize, $0.baseAddress!) }
    }
}

struct SerialBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A pty pair; posix_openpt and friends are looked up at run time (Swift's Glibc module leaves
/// them out). The bench keeps a raw-mode descriptor on the slave so its settings persist
/// between the clients.
final class SerialBenchPTY {
    private(set) var master: Int32 = -1
    private var keeper: Int32 = -1
    let slavePath: String
    var resource: String { "ASRL\(slavePath)::INSTR" }

    init() throws {
        typealias FDFunction = @convention(c) (Int32) -> Int32
        typealias NameFunction = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
        let libc = dlopen(nil, RTLD_NOW)
        guard let o = dlsym(libc, "posix_openpt"), let u = dlsym(libc, "unlockpt"), let n = dlsym(libc, "ptsname_r") else {
            throw SerialBenchError("posix_openpt is missing")
        }
        master = unsafeBitCast(o, to: FDFunction.self)(O_RDWR | O_NOCTTY | O_CLOEXEC)
        var name = [CChar](repeating: 0, count: 128)
        guard master >= 0, unsafeBitCast(u, to: FDFunction.self)(master) == 0,
            unsafeBitCast(n, to: NameFunction.self)(master, &name, name.count) == 0
        else { throw SerialBenchError("cannot create a pty: \(String(cString: strerror(errno)))") }
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        keeper = open(slavePath, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        for fd in [master, keeper] {
            var t = termios()
            tcgetattr(fd, &t)
            cfmakeraw(&t)
            tcsetattr(fd, TCSANOW, &t)
        }
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
    }

    func close() {
        if master >= 0 { Glibc.close(master) }
        if keeper >= 0 { Glibc.close(keeper) }
        master = -1
        keeper = -1
    }
}

/// The simulated instrument: `*IDN?` and `DATA? <n>` (a definite block, byte i = i % 256),
/// replies ending with LF; stopped through a pipe.
final class SerialBenchInstrument: @unchecked Sendable {
    static let identity = "Litmus,SerialBench,0001,1.0"
    private let master: Int32
    private var stopPipe: [Int32] = [0, 0]
    private let done = DispatchSemaphore(value: 0)

    init(master: Int32) throws {
        self.master = master
        guard pipe(&stopPipe) == 0 else { throw SerialBenchError("pipe failed") }
        Thread { [self] in
            run()
            done.signal()
        }.start()
    }

    func stop() {
        var byte: UInt8 = 1
        _ = Glibc.write(stopPipe[1], &byte, 1)
        done.wait()
        Glibc.close(stopPipe[0])
        Glibc.close(stopPipe[1])
    }

    /// Waits for `events` on the master; false when stopped.
    private func wait(_ events: Int16) -> Bool {
        var fds = [pollfd(fd: master, events: events, revents: 0), pollfd(fd: stopPipe[0], events: Int16(POLLIN), revents: 0)]
        while poll(&fds, 2, -1) < 0 && errno == EINTR {}
        return fds[1].revents == 0
    }

    private func run() {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var blocks: [Int: [UInt8]] = [:]
        while wait(Int16(POLLIN)) {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
            if n <= 0 { continue }
            pending += chunk[..<n]
            while let lf = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<lf], as: UTF8.self)
                pending.removeSubrange(...lf)
                var reply: [UInt8]
                if line.hasPrefix("DATA? "), let size = Int(line.dropFirst(6)) {
                    if blocks[size] == nil {
                        var block = Array("#\(String(size).count)\(size)".utf8)
                        for i in 0..<size { block.append(UInt8(truncatingIfNeeded: i)) }
                        blocks[size] = block
                    }
                    reply = blocks[size]!
                } else {
                    reply = Array(Self.identity.utf8)
                }
                reply.append(0x0A)
                var sent = 0
                while sent < reply.count {
                    let w = reply.withUnsafeBytes { Glibc.write(master, $0.baseAddress! + sent, $0.count - sent) }
                    if w > 0 {
                        sent += w
                    } else if !wait(Int16(POLLOUT)) {
                        return
                    }
                }
            }
        }
    }
}

/// A client that reads the way pyvisa-py's serial session does (pyserial `read(1)` in a loop:
/// wait for the port, then read one byte), for the baseline.
final class SerialBenchOneByteClient {
    private var fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw SerialBenchError("cannot open \(path)") }
        var t = termios()
        tcgetattr(fd, &t)
        cfmakeraw(&t)
        cfsetspeed(&t, speed_t(B9600))
        tcsetattr(fd, TCSANOW, &t)
        tcflush(fd, TCIFLUSH)
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private func write(_ text: String) throws {
        let bytes = Array((text + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + sent, $0.count - sent) }
            guard n > 0 else { throw SerialBenchError("baseline write failed") }
            sent += n
        }
    }

    /// One byte: poll with the timeout, then read(1).
    @inline(__always)
    private func readByte() throws -> UInt8 {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 2000) > 0 else { throw SerialBenchError("baseline read timed out") }
        var byte: UInt8 = 0
        guard Glibc.read(fd, &byte, 1) == 1 else { throw SerialBenchError("baseline read failed") }
        return byte
    }

    /// Writes `command` and reads bytes up to LF, one per read.
    func query(_ command: String) throws -> String {
        try write(command)
        var reply: [UInt8] = []
        while true {
            let byte = try readByte()
            if byte == 0x0A { break }
            reply.append(byte)
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// The floor, for reference: writes `command`, then poll + read of everything available
    /// until LF (no host, no plugin).
    func bufferedQuery(_ command: String) throws -> Int {
        try write(command)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var have = 0
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 2000) > 0 else { throw SerialBenchError("floor read timed out") }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + have, $0.count - have) }
            guard n > 0 else { throw SerialBenchError("floor read failed") }
            have += n
            if buffer[have - 1] == 0x0A || have == buffer.count { return have }
        }
    }

    /// Writes `command` and reads a definite block and its LF, one byte per read.
    func queryBlock(_ command: String) throws -> [UInt8] {
        try write(command)
        guard try readByte() == UInt8(ascii: "#") else { throw SerialBenchError("baseline: no block") }
        let digits = Int(try readByte() - UInt8(ascii: "0"))
        var length = 0
        for _ in 0..<digits { length = length * 10 + Int(try readByte() - UInt8(ascii: "0")) }
        var payload = [UInt8]()
        payload.reserveCapacity(length)
        for _ in 0..<length { payload.append(try readByte()) }
        _ = try readByte()
        return payload
    }
}
