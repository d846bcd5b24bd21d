import Foundation
import Testing

@testable import Litmus

/// The ABI 1.2 host I/O services: a C driver (Fixtures/plugins/io_client.c, built with cc)
/// talks to a fake instrument on loopback only through `services->io_*`, over the built lan
/// plugin's raw socket transport; and the reference C driver (example-c) does the same for a
/// real unit.
@Suite(.timeLimit(.minutes(15)))  // a hang guard only: its clock also counts the time a test waits for a thread of the shared pool
struct HostIOTests {
    static func ioClientPlugin() throws -> String {
        try TestPlugins.compile("io_client.c", name: "liblitmus-io-client")
    }

    /// A registry of its own with the lan transport and the io-client driver (which also
    /// claims TCPIP: the host must never resolve its own resource back to it).
    static func registry() throws -> DriverRegistry {
        let registry = DriverRegistry()
        try registry.loadPlugin(at: TestPlugins.path("lan"))
        try registry.loadPlugin(at: try ioClientPlugin())
        return registry
    }

    static func open(_ port: Int, _ registry: DriverRegistry, options: [String: InstrumentValue] = [:]) throws -> Instrument {
        try registry.open("TCPIP0::127.0.0.1::\(port)::SOCKET", driver: "io-client", options: options)
    }

    @Test func queriesThroughTheHostTransportWithItsTermination() throws {
        let server = try FakeServer("socket", ["--serial", "IO1"])
        defer { server.stop() }
        let client = try Self.open(server.port, try Self.registry(), options: ["io_timeout_ms": .i64(2000)])
        defer { client.close() }
        // Through a 4-byte buffer: the host hands the rest of the message on with MAX_COUNT,
        // and the "\n" of the raw socket never reaches the driver.
        #expect(try client.call("query", "*IDN?") == .string("Litmus,FakeInstrument,IO1,1.0"))
        try client.call("send", "ECHO? a b c")
        #expect(try client.call("receive") == .string("a b c"))
        // A definite block with 0x0A inside, read by the host's block reader.
        #expect(try client.call("block", "DATA? 300") == .bytes((0..<300).map { UInt8(truncatingIfNeeded: $0) }))
        // Exact reads ignore the termination; what follows stays for the next message read.
        #expect(try client.call("exact", "ECHO? 0123456789", .i64(4)) == .bytes(Array("0123".utf8)))
        #expect(try client.call("receive") == .string("456789"))
        // Trigger through the transport (the raw socket sends *TRG).
        try client.call("trigger")
        #expect(try client.call("query", "TRG:COUN?") == .string("1"))
        try client.call("clear")
        #expect(try client.call("query", "*OPC?") == .string("1"))
        // The transport's own refusal reaches the driver's caller with the host's message.
        let stb = try #require(throws: DriverError.self) { try client.call("stb") }
        #expect(stb.status == .unsupported)
        #expect(stb.message.contains("serial poll"), "\(stb)")
        let last = try #require(try client.call("last_error").stringValue)
        #expect(last.contains("serial poll"), "\(last)")
    }

    @Test func aQueryWithNoReplyEndsAtTheDeadline() throws {
        let server = try FakeServer("socket")
        defer { server.stop() }
        let client = try Self.open(server.port, try Self.registry(), options: ["io_timeout_ms": .i64(300)])
        defer { client.close() }
        let error = try #require(throws: DriverError.self) { try client.call("query", "NOREPLY?") }
        #expect(error.status == .timeout, "\(error)")
        // The session's last failure, as the host worded it, for a driver that wraps it.
        let last = try #require(try client.call("last_error").stringValue)
        #expect(last.contains("timeout"), "\(last)")
        // The session recovers: the next query answers.
        try client.call("clear")
        #expect(try client.call("query", "*OPC?") == .string("1"))
    }

    @Test func aPeerThatDripsBytesIsStoppedByTheDeadlineOfTheWholeRead() throws {
        let server = try FakeServer("socket", ["--fault", "drip"])
        defer { server.stop() }
        let client = try Self.open(server.port, try Self.registry(), options: ["io_timeout_ms": .i64(300)])
        defer { client.close() }
        try client.call("set_timeout", .i64(350))
        // One byte every 100 ms, never a newline: each transport read gets a byte in time, the
        // host's deadline still ends the whole query.
        let error = try #require(throws: DriverError.self) { try client.call("query", "MEAS:VOLT?") }
        #expect(error.status == .timeout, "\(error)")
        #expect(error.message.contains("350 ms"), "\(error)")
    }

    @Test func aPeerThatClosesIsAnIOErrorNotAHang() throws {
        let server = try FakeServer("socket", ["--fault", "refuse-after-accept"])
        defer { server.stop() }
        let failure: DriverError
        do {
            let client = try Self.open(server.port, try Self.registry(), options: ["io_timeout_ms": .i64(2000)])
            defer { client.close() }
            failure = try #require(throws: DriverError.self) { try client.call("query", "*IDN?") }
        } catch let error as DriverError {
            failure = error  // the transport may already see the close at open
        }
        #expect(failure.status == .io || failure.status == .closed, "\(failure)")
    }

    @Test func resolutionFallsBackToTheHostTransportsAndNeverToTheCaller() throws {
        let server = try FakeServer("socket", ["--serial", "IO2"])
        defer { server.stop() }
        // A registry with the io-client plugin alone (as `litmus drivers check` loads it): the
        // host finds the lan transport on its own search path, not io-client's TCPIP claim.
        let alone = DriverRegistry()
        try alone.loadPlugin(at: try Self.ioClientPlugin())
        let client = try Self.open(server.port, alone)
        defer { client.close() }
        #expect(try client.call("query", "*IDN?") == .string("Litmus,FakeInstrument,IO2,1.0"))
    }

    @Test func aResourceNoTransportServesSaysWhatToInstall() throws {
        let registry = try Self.registry()
        let error = try #require(throws: DriverError.self) {
            try registry.open("IOC::NOSUCHBUS0::thing::INSTR", driver: "io-client")
        }
        #expect(error.status == .notFound, "\(error)")
        #expect(error.message.contains("no transport driver opens 'NOSUCHBUS0::thing::INSTR'"), "\(error)")
        #expect(error.message.contains("Fix: install the transport plugin"), "\(error)")
    }

    @Test func theLockIsTheHostsCrossProcessResourceLock() throws {
        let server = try FakeServer("socket")
        defer { server.stop() }
        let resource = "TCPIP0::127.0.0.1::\(server.port)::SOCKET"
        let lockFile = ResourceLocks(directory: ResourceLocks.defaultDirectory()).lockFilePath(resource: resource)
        // Another process holds the lock file (flock(1), the same kernel lock the host takes).
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["-o", lockFile, "-c", "echo held; exec sleep 30 >/dev/null"]  // -o: the lock dies with flock
        let out = Pipe()
        let input = Pipe()
        holder.standardOutput = out
        holder.standardInput = input
        // The host creates the directory 0700 on first use; make sure it exists for flock(1).
        _ = try? ResourceLocks(directory: ResourceLocks.defaultDirectory()).acquire(
            resource: "litmus-test-\(getpid())", station: "test", role: "test"
        ).release()
        try holder.run()
        defer {
            if holder.isRunning { holder.terminate() }
            holder.waitUntilExit()
        }
        #expect(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("held"))

        let client = try Self.open(server.port, try Self.registry())
        defer { client.close() }
        let busy = try #require(throws: DriverError.self) { try client.call("lock", .i64(0)) }
        #expect(busy.status == .busy, "\(busy)")
        holder.terminate()
        holder.waitUntilExit()
        try client.call("lock", .i64(2000))
        try client.call("unlock")
    }

    // MARK: - The reference C driver on real I/O

    @Test func theReferenceCDriverMeasuresARealUnitThroughTheHost() throws {
        let server = try FakeServer("socket", ["--serial", "DMM7"])
        defer { server.stop() }
        let dmm = try TestPlugins.registry.open(
            "TCPIP0::127.0.0.1::\(server.port)::SOCKET", driver: "example-dmm", options: ["timeout_ms": .i64(1000)])
        defer { dmm.close() }
        // Typed operations become SCPI over the host's raw socket transport.
        #expect(try dmm.call("measure_dc_voltage") == .f64(5.0012))
        #expect(try dmm.call("read_count") == .i64(1))
        // Message I/O passes through to the unit.
        #expect(try dmm.query("*IDN?") == "Litmus,FakeInstrument,DMM7,1.0")
        // The unit does not know SENS:...: the driver reads SYST:ERR? and reports its error.
        let refused = try #require(throws: DriverError.self) { try dmm.call("set_range", "DCV", 10.0) }
        #expect(refused.status == .instrument, "\(refused)")
        #expect(refused.vendorCode == -113, "\(refused)")
        // The simulated unit is still there under its own resource.
        let sim = try TestPlugins.registry.open("EXAMPLE::dmm0::INSTR", driver: "example-dmm")
        defer { sim.close() }
        #expect(try sim.call("measure_dc_voltage") == .f64(5.000123))
    }
}
