// The ABI 1.2 host I/O services: a typed measurement of the reference C driver (example-c),
// which sends "MEAS:VOLT:DC?" through services->io_query to the lan plugin, against the same
// query through the built-in instrument path (Instrument.query on the lan plugin, parsed in
// Swift), to the same fake socket server, interleaved in the same run.
import Foundation
import Litmus

func runHostIOBenchmark() {
    guard let executable = benchFakeInstruments("Host I/O") else { return }
    let registry = benchRegistry()
    let server: BenchServer
    do {
        server = try BenchServer("socket", ["--serial", "BENCH"], executable: executable)
    } catch {
        print("Host I/O: error: \(error)")
        return
    }
    defer { server.stop() }
    let placement = server.pinWithCaller().description
    // Many short rounds: on a loaded machine the best of them is the least disturbed.
    let count = 1500
    let rounds = 21
    print("Host I/O services (ABI 1.2): a driver's query through the host vs the built-in instrument path")
    print("  fake server on 127.0.0.1:\(server.port); \(placement); best of \(rounds) interleaved rounds")
    do {
        let resource = "TCPIP0::127.0.0.1::\(server.port)::SOCKET"
        let builtin = try registry.open(resource, driver: "lan", options: ["timeout_ms": .i64(5000)])
        defer { builtin.close() }
        let driver = try registry.open(resource, driver: "example-dmm", options: ["timeout_ms": .i64(5000)])
        defer { driver.close() }
        let op = try driver.operation(named: "measure_dc_voltage")
        let direct = Double(try builtin.query("MEAS:VOLT:DC?"))
        let through = try driver.dispatch(op, []).doubleValue
        guard direct == 5.0012, through == 5.0012 else {
            throw BenchError(message: "the readings differ: built-in \(String(describing: direct)), services \(String(describing: through))")
        }
        var sink = 0.0
        for _ in 0..<500 {
            sink += Double(try builtin.query("MEAS:VOLT:DC?")) ?? 0
            sink += try driver.dispatch(op, []).doubleValue ?? 0
        }
        let result = try interleaved(
            rounds: rounds,
            {
                let start = now()
                for _ in 0..<count { sink += try driver.dispatch(op, []).doubleValue ?? 0 }
                return (now() - start, count)
            },
            {
                let start = now()
                for _ in 0..<count { sink += Double(try builtin.query("MEAS:VOLT:DC?")) ?? 0 }
                return (now() - start, count)
            })
        if sink == 0 { print("  (sink \(sink))") }
        let ratio = result.a / result.b
        print(String(format: "  %-66@ %8.1f us", "built-in: lan Instrument.query(\"MEAS:VOLT:DC?\") + Double() (baseline)" as NSString, result.b / 1000))
        print(
            String(
                format: "  %-66@ %8.1f us  %5.2fx baseline", "services: example-dmm measure_dc_voltage() -> io_query -> lan" as NSString,
                result.a / 1000, ratio))
        let goal = 1.1
        print(String(format: "Goal: a query through the services <= %.1fx the built-in path: %@ (%.2fx)", goal, ratio <= goal ? "met" : "NOT met", ratio))
    } catch {
        print("  error: \(error)")
    }
}
