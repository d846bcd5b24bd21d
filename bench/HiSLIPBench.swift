// The HiSLIP benchmark: the lan plugin (through Instrument, the driver ABI and the plugin's
// HiSLIPSession) against a minimal blocking HiSLIP client written here (one send per message,
// exact recv of headers and payloads: the protocol's floor), both talking to the same
// litmus-fake-instruments hislip server, with client and server on the same CPU. pyvisa-py's
// HiSLIP client is measured too when the project's Python environment has it.
import CBenchFloor
import Foundation
import Litmus
import LitmusLANProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The floor: the least a HiSLIP client can do per query. Blocking sockets, one `send` per
/// DataEnd, `recv(MSG_WAITALL)` of each header and payload straight into one buffer; no
/// deadlines, no validation beyond the prologue, no message-ID bookkeeping beyond equality.
private final class HiSLIPFloorClient {
    private let sync: Int32
    private let async: Int32
    private var messageID = HiSLIP.firstMessageID
    let buffer: UnsafeMutableRawBufferPointer

    init(port: Int, capacity: Int) throws {
        buffer = .allocate(byteCount: capacity, alignment: 16)
        sync = try Self.connect(port)
        async = try Self.connect(port)
        try Self.send(sync, .initialize(version: HiSLIP.version, vendorID: "FL", subaddress: "hislip0"))
        let response = try Self.receive(sync)
        try Self.send(async, .asyncInitialize(sessionID: response.sessionID))
        _ = try Self.receive(async)
        try Self.send(async, .maximumMessageSize(HiSLIP.defaultMaximumMessageSize))
        _ = try Self.receive(async)
    }

    deinit {
        close(sync)
        close(async)
        buffer.deallocate()
    }

    private static func connect(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, rc == 0 else { throw BenchError(message: "floor client: connect: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    private static func send(_ fd: Int32, _ message: HiSLIPMessage) throws {
        let bytes = message.encoded()
        guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw BenchError(message: "floor client: send failed")
        }
    }

    private static func exact(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) throws {
        guard n > 0 else { return }
        guard recv(fd, p, n, Int32(MSG_WAITALL)) == n else { throw BenchError(message: "floor client: recv failed") }
    }

    private static func receive(_ fd: Int32) throws -> HiSLIPMessage {
        var raw = [UInt8](repeating: 0, count: HiSLIPHeader.size)
        try raw.withUnsafeMutableBytes { try exact(fd, $0.baseAddress!, HiSLIPHeader.size) }
        let header = try HiSLIPHeader.parse(raw)
        var payload = [UInt8](repeating: 0, count: Int(header.payloadLength))
        try payload.withUnsafeMutableBytes { try exact(fd, $0.baseAddress!, $0.count) }
        return HiSLIPMessage(header.type, controlCode: header.controlCode, parameter: header.parameter, payload: payload)
    }

    /// Sends `command` as one DataEnd and receives the whole response into the buffer with as
    /// few `recv` calls as the kernel allows; returns the payload length.
    func query(_ command: [UInt8]) throws -> Int {
        let id = messageID
        messageID = HiSLIP.messageID(after: messageID)
        // RMT-delivered: the previous response was read whole (else the server reports the
        // new query as interrupting it).
        let rmt: UInt8 = id == HiSLIP.firstMessageID ? 0 : HiSLIP.rmtDeliveredBit
        var bytes = HiSLIPHeader(.dataEnd, controlCode: rmt, parameter: id, payloadLength: UInt64(command.count)).bytes
        bytes += command
        guard Glibc.send(sync, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw BenchError(message: "floor client: send failed")
        }
        var have = 0
        var at = 0
        var payload = 0
        func more() throws {
            let n = recv(sync, buffer.baseAddress! + have, buffer.count - have, 0)
            guard n > 0 else { throw BenchError(message: "floor client: recv failed") }
            have += n
        }
        while true {
            while have - at < HiSLIPHeader.size { try more() }
            let header = try HiSLIPHeader.parse(UnsafeRawBufferPointer(rebasing: buffer[at..<(at + HiSLIPHeader.size)]))
            let end = at + HiSLIPHeader.size + Int(header.payloadLength)
            guard end <= buffer.count else { throw BenchError(message: "floor client: response too large") }
            while have < end { try more() }
            at = end
            if header.parameter == id {
                payload += Int(header.payloadLength)
                if header.type == .dataEnd { return payload }
            }
        }
    }
}

/// pyvisa-py's HiSLIP client against the same server, pinned to `cpu` when it is not negative:
/// best-of-rounds µs per *IDN? and MB/s per 1 MiB block (query_binary_values). Nil when the
/// project's Python environment (or pyvisa-py) is missing.
private func pyvisaNumbers(port: Int, cpu: Int32) -> (queryUs: Double, blockMBs: Double)? {
    guard let python = benchPython() else { return nil }
    let program = """
        import json, sys, time, pyvisa
        rm = pyvisa.ResourceManager('@py')
        inst = rm.open_resource(f'TCPIP::127.0.0.1::hislip0,{sys.argv[1]}::INSTR')
        inst.timeout = 5000
        for _ in range(200): inst.query('*IDN?')
        best_q = best_b = float('inf')
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(1000): inst.query('*IDN?')
            best_q = min(best_q, (time.perf_counter() - t) / 1000)
            t = time.perf_counter()
            for _ in range(10): inst.query_binary_values('DATA? 1048576', datatype='B', container=bytes)
            best_b = min(best_b, (time.perf_counter() - t) / 10)
        inst.close()
        print(json.dumps({'query_us': best_q * 1e6, 'block_mbs': 1048576 / best_b / 1e6}))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", program, String(port)]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    if cpu >= 0 { _ = litmus_bench_pin(process.processIdentifier, cpu) }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let json = try? JSONSerialization.jsonObject(with: data) as? [String: Double],
        let q = json["query_us"], let b = json["block_mbs"]
    else { return nil }
    return (q, b)
}

func runHiSLIPBenchmark() {
    guard let executable = benchFakeInstruments("HiSLIP") else { return }
    let registry = benchRegistry()

    let server: BenchServer
    do {
        server = try BenchServer("hislip", ["--newline"], executable: executable)  // responses end with "\n" too, as real instruments send them
    } catch {
        print("HiSLIP: error: \(error)")
        return
    }
    defer { server.stop() }

    // Same CPU for this thread and every server thread.
    let (cpu, placement) = server.pinWithCaller()

    let queryCount = 5000
    let blockCount = 40
    let rounds = 7
    let blockSize = 1 << 20
    print("HiSLIP: lan plugin vs a minimal HiSLIP client, same fake server on 127.0.0.1:\(server.port)")
    print("  placement: \(placement); best of \(rounds) interleaved rounds")

    do {
        let floor = try HiSLIPFloorClient(port: server.port, capacity: blockSize + 4096)
        let instrument = try registry.open(
            "TCPIP::127.0.0.1::hislip0,\(server.port)::INSTR", options: ["timeout_ms": .i64(5000)])
        defer { instrument.close() }
        let expected = "Litmus,FakeInstrument,HS0001,1.0"
        let idnLength = expected.utf8.count + 1
        let idn = try instrument.query("*IDN?")
        guard idn == expected else { throw BenchError(message: "*IDN? answered \"\(idn)\"") }
        let block = try instrument.queryBinaryBlock("DATA? \(blockSize)")
        guard block.count == blockSize, block[10] == 10, block[blockSize - 1] == UInt8((blockSize - 1) % 256) else {
            throw BenchError(message: "DATA? \(blockSize) returned a wrong block (\(block.count) bytes)")
        }
        let idnCommand = Array("*IDN?\n".utf8)
        let blockCommand = Array("DATA? \(blockSize)\n".utf8)
        guard try floor.query(idnCommand) == idnLength else {
            throw BenchError(message: "the floor client's *IDN? failed")
        }
        for _ in 0..<500 {
            _ = try instrument.query("*IDN?")
            _ = try floor.query(idnCommand)
        }

        var sink = 0
        let query = try interleaved(
            rounds: rounds,
            {
                let start = now()
                for _ in 0..<queryCount { sink &+= try instrument.query("*IDN?").utf8.count }
                return (now() - start, queryCount)
            },
            {
                let start = now()
                for _ in 0..<queryCount { sink &+= try floor.query(idnCommand) }
                return (now() - start, queryCount)
            })
        let blocks = try interleaved(
            rounds: rounds,
            {
                let start = now()
                for _ in 0..<blockCount { sink &+= try instrument.queryBinaryBlock("DATA? \(blockSize)").count }
                return (now() - start, blockCount)
            },
            {
                let start = now()
                for _ in 0..<blockCount { sink &+= try floor.query(blockCommand) }
                return (now() - start, blockCount)
            })
        if sink == 0 { print("  (sink \(sink))") }

        let queryRatio = query.a / query.b
        let pluginRate = Double(blockSize) / blocks.a  // bytes per ns = GB/s
        let floorRate = Double(blockSize) / blocks.b
        func line(_ label: String, _ value: String, _ extra: String = "") {
            let padded = label.padding(toLength: max(label.count, 52), withPad: " ", startingAt: 0)
            let number = String(repeating: " ", count: max(0, 12 - value.count)) + value
            print("  \(padded) \(number)  \(extra)")
        }
        line("*IDN? round trip, minimal HiSLIP client (floor)", String(format: "%.1f us", query.b / 1000))
        line(
            "*IDN? round trip, lan plugin (Instrument.query)", String(format: "%.1f us", query.a / 1000),
            String(format: "%.2fx floor, %.0f queries/s", queryRatio, 1e9 / query.a))
        line("1 MiB block, minimal HiSLIP client (floor)", String(format: "%.2f GB/s", floorRate))
        line(
            "1 MiB block, lan plugin (queryBinaryBlock)", String(format: "%.2f GB/s", pluginRate),
            String(format: "%.2fx floor time, %.0f us per block", blocks.a / blocks.b, blocks.a / 1000))
        if let py = pyvisaNumbers(port: server.port, cpu: cpu) {
            line("*IDN? round trip, pyvisa-py", String(format: "%.1f us", py.queryUs),
                String(format: "%.2fx the lan plugin's time", py.queryUs * 1000 / query.a))
            line("1 MiB block, pyvisa-py (query_binary_values)", String(format: "%.3f GB/s", py.blockMBs / 1000),
                String(format: "%.1fx slower than the lan plugin", pluginRate * 1000 / py.blockMBs))
        } else {
            print("  pyvisa-py: skipped (no .venv/bin/python with pyvisa-py; run scripts/setup.sh)")
        }
        let queryGoal = 1.3
        let rateGoal = 1.0
        print(
            String(
                format: "Goal: query <= %.1fx floor: %@ (%.2fx); 1 MiB block >= %.0f GB/s: %@ (%.2f GB/s)", queryGoal,
                queryRatio <= queryGoal ? "met" : "NOT met", queryRatio, rateGoal,
                pluginRate >= rateGoal ? "met" : "NOT met", pluginRate))
    } catch {
        print("  error: \(error)")
    }
}
