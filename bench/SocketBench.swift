// The raw SCPI socket benchmark: the lan plugin (through Instrument, the driver ABI and the
// plugin's SocketSession) against a minimal blocking C client (bench/CFloor/floor.c), both
// talking to the same litmus-fake-instruments socket server, with client and server on the
// same CPU (a cross-CPU wakeup on these VMs costs more than the whole round trip).
import CBenchFloor
import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#endif

func runSocketBenchmark() {
    guard let executable = benchFakeInstruments("Socket") else { return }
    let registry = benchRegistry()

    let server: BenchServer
    do {
        server = try BenchServer("socket", ["--serial", "BENCH"], executable: executable)
    } catch {
        print("Socket: error: \(error)")
        return
    }
    defer { server.stop() }

    // Same CPU for this thread and every server thread.
    let placement = server.pinWithCaller().description

    let queryCount = 5000
    let blockCount = 40
    let rounds = 7
    let blockSize = 1 << 20
    print("Raw SCPI socket: lan plugin vs minimal C client, same fake server on 127.0.0.1:\(server.port)")
    print("  placement: \(placement); best of \(rounds) interleaved rounds")

    let fd = litmus_floor_socket_connect("127.0.0.1", Int32(server.port))
    guard fd >= 0 else {
        print("  error: the C client cannot connect: \(String(cString: strerror(-fd)))")
        return
    }
    defer { litmus_floor_socket_close(fd) }
    let cap = blockSize + 64
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
    defer { buffer.deallocate() }

    do {
        let instrument = try registry.open(
            "TCPIP::127.0.0.1::\(server.port)::SOCKET", options: ["timeout_ms": .i64(5000)])
        defer { instrument.close() }
        let expected = "Litmus,FakeInstrument,BENCH,1.0"
        let idn = try instrument.query("*IDN?")
        guard idn == expected else { throw BenchError(message: "*IDN? answered \"\(idn)\"") }
        let block = try instrument.queryBinaryBlock("DATA? \(blockSize)")
        guard block.count == blockSize, block[10] == 10, block[blockSize - 1] == UInt8((blockSize - 1) % 256) else {
            throw BenchError(message: "DATA? \(blockSize) returned a wrong block (\(block.count) bytes)")
        }

        // Warm up both paths (server threads, caches, the block reply the server keeps ready).
        for _ in 0..<500 { _ = try instrument.query("*IDN?") }
        let idnCommand = "*IDN?\n"
        let blockCommand = "DATA? \(blockSize)\n"
        let warm = litmus_floor_socket_queries(fd, idnCommand, idnCommand.utf8.count, 500, buffer, cap)
        guard warm == Int64(expected.utf8.count + 1) else {
            throw BenchError(message: "the C client's *IDN? failed (\(warm))")
        }
        let warmBlock = litmus_floor_socket_blocks(fd, blockCommand, blockCommand.utf8.count, 3, buffer, cap)
        guard warmBlock == Int64(blockSize) else { throw BenchError(message: "the C client's DATA? failed (\(warmBlock))") }

        var sink = 0
        // Blocks first: after tens of thousands of small round trips, later bulk transfers on
        // the same loopback connections measured slower and noisier (TCP state left by the
        // small exchanges), which blurs the comparison.
        let blocks = try interleaved(
            rounds: rounds,
            {
                let start = now()
                for _ in 0..<blockCount { sink &+= try instrument.queryBinaryBlock("DATA? \(blockSize)").count }
                return (now() - start, blockCount)
            },
            {
                let start = now()
                let rc = litmus_floor_socket_blocks(fd, blockCommand, blockCommand.utf8.count, Int64(blockCount), buffer, cap)
                let elapsed = now() - start
                if rc < 0 { throw BenchError(message: "C client: \(String(cString: strerror(Int32(-rc))))") }
                return (elapsed, blockCount)
            })
        let query = try interleaved(
            rounds: rounds,
            {
                let start = now()
                for _ in 0..<queryCount { sink &+= try instrument.query("*IDN?").utf8.count }
                return (now() - start, queryCount)
            },
            {
                let start = now()
                let rc = litmus_floor_socket_queries(fd, idnCommand, idnCommand.utf8.count, Int64(queryCount), buffer, cap)
                let elapsed = now() - start
                if rc < 0 { throw BenchError(message: "C client: \(String(cString: strerror(Int32(-rc))))") }
                return (elapsed, queryCount)
            })
        if sink == 0 { print("  (sink \(sink))") }

        let queryRatio = query.a / query.b
        let pluginRate = Double(blockSize) / blocks.a  // bytes per ns = GB/s
        let floorRate = Double(blockSize) / blocks.b
        func line(_ label: String, _ value: String, _ extra: String = "") {
            let padded = label.padding(toLength: max(label.count, 52), withPad: " ", startingAt: 0)
            let number = String(repeating: " ", count: max(0, 10 - value.count)) + value
            print("  \(padded) \(number)\(extra.isEmpty ? "" : "  " + extra)")
        }
        line("*IDN? round trip, C floor (blocking send + recv)", String(format: "%.1f us", query.b / 1000))
        line(
            "*IDN? round trip, lan plugin (Instrument.query)", String(format: "%.1f us", query.a / 1000),
            String(format: "%.2fx C floor, %.0f queries/s", queryRatio, 1e9 / query.a))
        line("1 MiB block, C floor (header, then exact recv)", String(format: "%.2f GB/s", floorRate))
        line(
            "1 MiB block, lan plugin (queryBinaryBlock)", String(format: "%.2f GB/s", pluginRate),
            String(format: "%.2fx C floor time, %.0f us per block", blocks.a / blocks.b, blocks.a / 1000))
        let queryGoal = 1.3
        let rateGoal = 1.0
        print(
            String(
                format: "Goal: query <= %.1fx C floor: %@ (%.2fx); 1 MiB block >= %.0f GB/s: %@ (%.2f GB/s)", queryGoal,
                queryRatio <= queryGoal ? "met" : "NOT met", queryRatio, rateGoal,
                pluginRate >= rateGoal ? "met" : "NOT met", pluginRate))
    } catch {
        print("  error: \(error)")
    }
}
