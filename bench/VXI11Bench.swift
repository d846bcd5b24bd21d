// The VXI-11 benchmark: the lan plugin (Instrument -> driver ABI -> VXI11Session, ONC RPC over
// TCP) against litmus-fake-instruments vxi11, and pyvisa-py's VXI-11 client on the same server
// when the project's Python environment (.venv) is there. Client and server share one CPU
// (a cross-CPU wakeup on these VMs costs more than a round trip).
//
// A VXI-11 query is two RPCs (device_write, device_read); block throughput depends on the
// server's maxRecvSize, which caps every device_read reply, so both a 64 KiB and a 1 MiB
// server are measured.
import CBenchFloor
import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// pyvisa-py's side: best ns per *IDN? and per 1 MiB block over interleaved rounds.
private let vxi11PyvisaProgram = #"""
    import json, sys, time
    import pyvisa
    from pyvisa_py.protocols import rpc
    rpc.PMAP_PORT = int(sys.argv[1])
    queries, blocks, rounds, size = (int(x) for x in sys.argv[2:6])
    rm = pyvisa.ResourceManager('@py')
    inst = rm.open_resource('TCPIP::127.0.0.1::INSTR', read_termination='\n', write_termination='\n', timeout=5000)
    assert inst.query('*IDN?') == 'Litmus,FakeInstrument,BENCH,1.0'
    data = inst.query_binary_values('DATA? %d' % size, datatype='B', container=bytes)
    assert len(data) == size and data[10] == 10
    for _ in range(300):
        inst.query('*IDN?')
    # A second link without a read termination: no TERMCHRSET, so reads are not cut at 0x0A.
    raw = rm.open_resource('TCPIP::127.0.0.1::INSTR', read_termination=None, write_termination='\n', timeout=5000)
    raw.chunk_size = size + 64
    best_q = best_b = best_raw = float('inf')
    for _ in range(rounds):
        t = time.perf_counter_ns()
        for _ in range(queries):
            inst.query('*IDN?')
        best_q = min(best_q, (time.perf_counter_ns() - t) / queries)
        t = time.perf_counter_ns()
        for _ in range(blocks):
            inst.query_binary_values('DATA? %d' % size, datatype='B', container=bytes)
        best_b = min(best_b, (time.perf_counter_ns() - t) / blocks)
        t = time.perf_counter_ns()
        for _ in range(blocks * 10):
            raw.query_binary_values('DATA? %d' % size, datatype='B', container=bytes, expect_termination=False)
        best_raw = min(best_raw, (time.perf_counter_ns() - t) / (blocks * 10))
    inst.close()
    raw.close()
    print(json.dumps({'query_ns': best_q, 'block_ns': best_b, 'raw_block_ns': best_raw}))
    """#

/// Runs pyvisa-py against the server; `note` says why when it could not.
private func vxi11RunPyvisa(
    python: String, server: BenchServer, cpu: Int32, queries: Int, blocks: Int, rounds: Int, size: Int
) -> (query: Double, block: Double, rawBlock: Double, note: String?) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", vxi11PyvisaProgram, String(server.port), String(queries), String(blocks), String(rounds), String(size)]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do {
        try process.run()
    } catch {
        return (0, 0, 0, "cannot run \(python): \(error)")
    }
    if cpu >= 0 { _ = litmus_bench_pin(process.processIdentifier, cpu) }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Double],
        let q = object["query_ns"], let b = object["block_ns"], let rb = object["raw_block_ns"]
    else {
        let text = String(decoding: errors, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "no output"
        return (0, 0, 0, "pyvisa-py failed: \(text)")
    }
    return (q, b, rb, nil)
}

func runVXI11Benchmark() {
    guard let executable = benchFakeInstruments("VXI-11") else { return }
    let registry = benchRegistry()
    let python = benchPython()

    let queryCount = 2000
    let blockCount = 20
    let rounds = 7
    let blockSize = 1 << 20
    print(
        "VXI-11: lan plugin vs pyvisa-py\(python == nil ? " (skipped: no .venv; set LITMUS_PYTHON)" : ""), same fake server on 127.0.0.1")
    print("  best of \(rounds) rounds; \(queryCount) *IDN? queries and \(blockCount) x 1 MiB DATA? blocks per round")

    func line(_ label: String, _ value: String, _ extra: String = "") {
        let padded = label.count >= 62 ? label : label + String(repeating: " ", count: 62 - label.count)
        let right = value.count >= 12 ? value : String(repeating: " ", count: 12 - value.count) + value
        print("  \(padded) \(right)  \(extra)")
    }

    for (name, maxRecv) in [("maxRecvSize 64 KiB", 65536), ("maxRecvSize 1 MiB", 1 << 20)] {
        let server: BenchServer
        do {
            server = try BenchServer("vxi11", ["--serial", "BENCH", "--max-recv-size", String(maxRecv)], executable: executable)
        } catch {
            print("  error: \(error)")
            return
        }
        defer { server.stop() }
        let (cpu, placement) = server.pinWithCaller()
        setenv("LITMUS_VXI11_PORTMAP_PORT", String(server.port), 1)
        print("  server \(name), portmapper on port \(server.port); \(placement)")
        do {
            let instrument = try registry.open("TCPIP::127.0.0.1::INSTR", options: ["timeout_ms": .i64(5000)])
            defer { instrument.close() }
            let expected = "Litmus,FakeInstrument,BENCH,1.0"
            let idn = try instrument.query("*IDN?")
            guard idn == expected else { throw BenchError(message: "*IDN? answered \"\(idn)\"") }
            let block = try instrument.queryBinaryBlock("DATA? \(blockSize)")
            guard block.count == blockSize, block[10] == 10, block[blockSize - 1] == UInt8((blockSize - 1) % 256) else {
                throw BenchError(message: "DATA? \(blockSize) returned a wrong block (\(block.count) bytes)")
            }
            for _ in 0..<300 { _ = try instrument.query("*IDN?") }
            var sink = 0
            var bestQuery = Double.infinity
            var bestBlock = Double.infinity
            for _ in 0..<rounds {
                var start = now()
                for _ in 0..<queryCount { sink &+= try instrument.query("*IDN?").utf8.count }
                bestQuery = min(bestQuery, Double(now() - start) / Double(queryCount))
                start = now()
                for _ in 0..<blockCount { sink &+= try instrument.queryBinaryBlock("DATA? \(blockSize)").count }
                bestBlock = min(bestBlock, Double(now() - start) / Double(blockCount))
            }
            if sink == 0 { print("  (sink \(sink))") }
            line(
                "*IDN? round trip, lan plugin (2 RPCs)", String(format: "%.1f us", bestQuery / 1000),
                String(format: "%.0f queries/s", 1e9 / bestQuery))
            line(
                "1 MiB block, lan plugin (queryBinaryBlock)", String(format: "%.2f GB/s", Double(blockSize) / bestBlock),
                String(format: "%.0f us per block", bestBlock / 1000))
            if let python {
                let py = vxi11RunPyvisa(
                    python: python, server: server, cpu: cpu, queries: queryCount, blocks: 2, rounds: rounds,
                    size: blockSize)
                if let note = py.note {
                    line("pyvisa-py", "skipped", note)
                } else {
                    line(
                        "*IDN? round trip, pyvisa-py 0.8.1 (query)", String(format: "%.1f us", py.query / 1000),
                        String(format: "lan plugin is %.1fx faster", py.query / bestQuery))
                    line(
                        "1 MiB block, pyvisa-py (query_binary_values)",
                        String(format: "%.3f GB/s", Double(blockSize) / py.block),
                        String(
                            format: "%.0f us per block (a read per 0x0A: it sets TERMCHRSET); lan plugin is %.0fx faster",
                            py.block / 1000, py.block / bestBlock))
                    line(
                        "1 MiB block, pyvisa-py (no read termination, 1 MiB chunks)",
                        String(format: "%.2f GB/s", Double(blockSize) / py.rawBlock),
                        String(format: "%.0f us per block; lan plugin is %.1fx faster", py.rawBlock / 1000, py.rawBlock / bestBlock))
                }
            }
        } catch {
            print("  error: \(error)")
        }
    }
}
