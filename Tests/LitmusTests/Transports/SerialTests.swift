import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// The serial plugin (`liblitmus-serial.so`, driver `serial`) against a simulated instrument
/// on a pseudo-terminal pair: the plugin opens the slave as `ASRL/dev/pts/N::INSTR`, a
/// ``PTYInstrument`` answers on the master.
///
/// A pty takes termios settings (speed, frame, flow control) and shows them on the slave, but
/// it has no UART: nothing is clocked at the baud rate, there are no modem lines, and a break
/// does nothing. Timing, framing and parity errors and modem lines need hardware.
@Suite struct SerialTests {
    static let ioTimeout: InstrumentValue = .i64(500)

    /// Runs `body` with a session on a fresh pty whose master runs the simulated instrument.
    private func withSession(
        _ options: [String: InstrumentValue] = [:],
        _ body: (Instrument, PTYPair, PTYInstrument) throws -> Void
    ) throws {
        let pair = try PTYPair()
        let instrument = try PTYInstrument(pair)
        defer {
            instrument.stop()
            pair.close()
        }
        var all: [String: InstrumentValue] = ["timeout_ms": Self.ioTimeout]
        all.merge(options) { $1 }
        let session = try TestPlugins.registry.open(pair.resource, options: all)
        defer { session.close() }
        try body(session, pair, instrument)
    }

    // MARK: - Messages

    @Test func queryGetsTheIdentity() throws {
        try withSession { session, _, _ throws in
            #expect(session.driver.id == "serial")
            #expect(try session.query("*IDN?") == "Litmus,PTYInstrument,0001,1.0")
        }
    }

    @Test func manyQueriesInARowEachGetTheirOwnReply() throws {
        try withSession { session, _, instrument throws in
            for i in 0..<300 {
                let reply = try session.query("ECHO? value \(i)")
                #expect(reply == "value \(i)")
                if reply != "value \(i)" { break }
            }
            #expect(instrument.received.count == 300)
        }
    }

    @Test func bytesAfterTheTerminatorAreKeptForTheNextRead() throws {
        try withSession { session, _, _ throws in
            #expect(try session.query("TWO?") == "first")
            #expect(try session.read() == "second")
            #expect(try session.query("ECHO? after") == "after")
        }
    }

    @Test(arguments: [0, 1, 10, 255, 4096, 65536, 1 << 20])
    func binaryBlocksArriveExactly(size: Int) throws {
        try withSession { session, _, _ throws in
            let block = try session.queryBinaryBlock("DATA? \(size)")
            #expect(block.count == size)
            #expect(block == (0..<size).map { UInt8(truncatingIfNeeded: $0) })
            // The terminator after the block was consumed: the next query is in step.
            #expect(try session.query("*IDN?") == "Litmus,PTYInstrument,0001,1.0")
        }
    }

    @Test func aQueryWithoutReplyTimesOutAndClearRecovers() throws {
        try withSession(["timeout_ms": .i64(200)]) { session, _, _ throws in
            let error = try #require(throws: DriverError.self) { try session.query("NOREPLY?") }
            #expect(error.status == .timeout)
            #expect(error.message.contains("no reply from"))
            #expect(error.message.contains("within 200 ms"))
            #expect(error.message.contains("9600 8N1"))
            try session.clear()
            #expect(try session.query("*IDN?") == "Litmus,PTYInstrument,0001,1.0")
        }
    }

    @Test func aReplyThatStopsWithoutItsTerminatorSaysSo() throws {
        try withSession(["timeout_ms": .i64(200)]) { session, _, _ throws in
            let error = try #require(throws: DriverError.self) { try session.query("RAW? partial") }
            #expect(error.status == .timeout)
            #expect(error.message.contains("7 bytes arrived since the last write"))
            #expect(error.message.contains("read_termination"))
            try session.clear()
            #expect(try session.query("ECHO? ok") == "ok")
        }
    }

    /// Issue 12 #5 on a serial line: each driver read waits at most the timeout, but a peer
    /// that keeps sending (one byte every 100 ms, endless data without terminator, a `#0`
    /// block without end) kept the host's read loop going. One deadline bounds the operation.
    /// (The instrument ends each reply after ``PTYInstrument/endlessFor``: a broken deadline
    /// fails here with a reply instead of hanging.)
    @Test(arguments: ["DRIP? 100", "ENDLESS?", "ENDLESSBLOCK?"])
    func oneDeadlineBoundsTheWholeRead(command: String) throws {
        try withSession(["timeout_ms": .i64(300)]) { session, _, _ throws in
            let error = try #require(throws: DriverError.self) {
                if command == "ENDLESSBLOCK?" { _ = try session.queryBinaryBlock(command) } else { _ = try session.query(command) }
            }
            #expect(error.status == .timeout, "\(error)")
            #expect(session.receiveBufferCapacity <= session.maxMessageSize + 64 * 1024)
        }
    }

    /// The size limit of one response is an open option, named in the error.
    @Test func aResponseLongerThanMaxMessageBytesFailsNamingTheOption() throws {
        try withSession(["timeout_ms": .i64(20_000), "max_message_bytes": .i64(65_536)]) { session, _, _ throws in
            let error = try #require(throws: DriverError.self) { _ = try session.query("ENDLESS?") }
            #expect(error.status == .protocolViolation, "\(error)")
            #expect(error.message.contains("max_message_bytes"))
            #expect(session.receiveBufferCapacity <= 65_536 + 64 * 1024)
        }
    }

    @Test func staleInputIsFlushedWhenOpening() throws {
        let pair = try PTYPair()
        let instrument = try PTYInstrument(pair)
        defer {
            instrument.stop()
            pair.close()
        }
        // A power-up banner and a stale reply, waiting before the session exists.
        pair.writeToMaster(Array("BOOT v1.2 ready\nstale reply\npartial".utf8))
        let session = try TestPlugins.registry.open(pair.resource, options: ["timeout_ms": Self.ioTimeout])
        defer { session.close() }
        #expect(try session.query("*IDN?") == "Litmus,PTYInstrument,0001,1.0")
    }

    @Test func silenceEndsAReplyWhenEndInputIsNone() throws {
        let options: [String: InstrumentValue] = [
            "end_input": "none", "char_timeout_ms": .i64(40), "read_termination": "", "timeout_ms": .i64(2000),
        ]
        try withSession(options) { session, _, _ throws in
            // No terminator at all: the gap after the last byte ends the message.
            #expect(try session.query("RAW? hello") == "hello")
            // A pause inside a reply longer than char_timeout_ms splits it in two messages.
            try session.write("SPLIT? 400 abc def")
            #expect(try session.read() == "abc")
            #expect(try session.read() == "def\n")
        }
    }

    @Test func interCharacterTimeoutKeepsTermcharRepliesWhole() throws {
        // With end_input termchar the gap only ends one driver read: the host keeps reading
        // until the terminator, so a reply with a pause still arrives whole.
        try withSession(["char_timeout_ms": .i64(30), "timeout_ms": .i64(2000)]) { session, _, _ throws in
            #expect(try session.query("SPLIT? 150 abc def") == "abcdef")
            #expect(try session.query("*IDN?") == "Litmus,PTYInstrument,0001,1.0")
            #expect(try session.queryBinaryBlock("DATA? 5000").count == 5000)
        }
    }

    @Test func drainAfterWritesStillAnswers() throws {
        try withSession(["drain": true]) { session, _, _ throws in
            #expect(try session.query("ECHO? drained") == "drained")
        }
    }

    @Test func writesHonourTheDeadlineWhenNobodyReads() throws {
        let pair = try PTYPair()
        defer { pair.close() }
        // No instrument: the master is never read, so the pty's queue fills up.
        let session = try TestPlugins.registry.open(pair.resource, options: ["timeout_ms": .i64(200)])
        defer { session.close() }
        let error = try #require(throws: DriverError.self) {
            try session.writeRaw([UInt8](repeating: 0x41, count: 4 << 20))
        }
        #expect(error.status == .timeout)
        #expect(error.message.contains("of 4194304 bytes sent"))
    }

    @Test func aHangupIsAnIOErrorNotAHang() throws {
        let pair = try PTYPair()
        let instrument = try PTYInstrument(pair)
        defer { pair.close() }
        let session = try TestPlugins.registry.open(pair.resource, options: ["timeout_ms": Self.ioTimeout])
        defer { session.close() }
        #expect(try session.query("*IDN?").hasPrefix("Litmus"))
        instrument.stop()
        pair.closeMaster()
        let error = try #require(throws: DriverError.self) { try session.query("*IDN?") }
        #expect(error.status == .io)
        #expect(error.message.contains("hung up"))
    }

    // MARK: - Settings

    /// Expected termios bits for one set of open options.
    struct LineCase: Sendable, CustomStringConvertible {
        var options: [String: InstrumentValue]
        var speed: Int32
        var size: Int32
        var parity: UInt32
        var stopb: Bool
        var rtscts: Bool
        var xonxoff: Bool
        var description: String { options.keys.sorted().map { "\($0)=\(options[$0]!)" }.joined(separator: " ") }
    }

    static let lineCases: [LineCase] = [
        LineCase(options: [:], speed: B9600, size: CS8, parity: 0, stopb: false, rtscts: false, xonxoff: false),
        LineCase(
            options: ["baud": .i64(115_200), "data_bits": .i64(7), "parity": "even", "stop_bits": "2"],
            speed: B115200, size: CS7, parity: UInt32(PARENB), stopb: true, rtscts: false, xonxoff: false),
        LineCase(
            options: ["baud": .i64(1_000_000), "parity": "odd", "flow_control": "rts_cts"],
            speed: B1000000, size: CS8, parity: UInt32(PARENB | PARODD), stopb: false, rtscts: true, xonxoff: false),
        LineCase(
            options: ["baud": .i64(300), "data_bits": .i64(5), "stop_bits": "1.5", "parity": "mark"],
            speed: B300, size: CS5, parity: UInt32(PARENB | PARODD) | UInt32(CMSPAR), stopb: true, rtscts: false,
            xonxoff: false),
        LineCase(
            options: ["baud": .i64(4_000_000), "data_bits": .i64(6), "parity": "space", "flow_control": "xon_xoff"],
            speed: B4000000, size: CS6, parity: UInt32(PARENB) | UInt32(CMSPAR), stopb: false, rtscts: false,
            xonxoff: true),
    ]

    @Test(arguments: lineCases)
    func lineSettingsReachTheTerminal(_ line: LineCase) throws {
        try withSession(line.options) { session, pair, _ throws in
            var t = pair.slaveSettings()
            #expect(cfgetospeed(&t) == speed_t(line.speed))
            #expect(cfgetispeed(&t) == speed_t(line.speed))
            // Linux forces a pty to CS8 and clears PARENB whatever is asked (there is no line to
            // frame); the driver accepts that on a pty only. PARODD and CMSPAR are kept.
            let size = t.c_cflag & tcflag_t(CSIZE)
            #expect(size == tcflag_t(line.size) || size == tcflag_t(CS8))
            let parenb = t.c_cflag & tcflag_t(PARENB)
            #expect(parenb == tcflag_t(line.parity) & tcflag_t(PARENB) || parenb == 0)
            let oddMark = tcflag_t(PARODD) | tcflag_t(CMSPAR)
            #expect(t.c_cflag & oddMark == tcflag_t(line.parity) & oddMark)
            #expect((t.c_cflag & tcflag_t(CSTOPB) != 0) == line.stopb)
            #expect((t.c_cflag & tcflag_t(CRTSCTS) != 0) == line.rtscts)
            #expect((t.c_iflag & tcflag_t(IXON | IXOFF) == tcflag_t(IXON | IXOFF)) == line.xonxoff)
            // Raw mode: no echo, no line editing, no signals, no output or CR/LF translation.
            #expect(t.c_lflag & tcflag_t(ECHO | ICANON | ISIG | IEXTEN) == 0)
            #expect(t.c_oflag & tcflag_t(OPOST) == 0)
            #expect(t.c_iflag & tcflag_t(ICRNL | INLCR | IGNCR | ISTRIP) == 0)
            #expect(t.c_cflag & tcflag_t(CREAD | CLOCAL) == tcflag_t(CREAD | CLOCAL))
            #expect(try session.query("ECHO? framed") == "framed")
        }
    }

    @Test func badOptionsAreRefusedWithWhatToWriteInstead() throws {
        let pair = try PTYPair()
        defer { pair.close() }
        func failure(_ options: [String: InstrumentValue]) throws -> DriverError {
            try #require(throws: DriverError.self) { try TestPlugins.registry.open(pair.resource, options: options) }
        }
        let baud = try failure(["baud": .i64(12_345)])
        #expect(baud.status == .invalidArgument)
        #expect(baud.message.contains("baud 12345 is not a standard rate"))
        #expect(baud.message.contains("9600, 19200, 38400, 57600, 115200"))
        #expect(try failure(["baud": .i64(10_000_000)]).status == .invalidArgument)

        let parity = try failure(["parity": "weird"])
        #expect(parity.status == .invalidArgument)
        #expect(parity.message.contains("odd"))

        let stop = try failure(["stop_bits": "1.5", "data_bits": .i64(8)])
        #expect(stop.status == .invalidArgument)
        #expect(stop.message.contains("needs data_bits 5"))

        let dsr = try failure(["flow_control": "dtr_dsr"])
        #expect(dsr.status == .unsupported)
        #expect(dsr.message.contains("no DTR/DSR hardware handshake"))
        #expect(dsr.message.contains("rts_cts"))

        let unknown = try failure(["bauds": .i64(9600)])
        #expect(unknown.message.contains("Did you mean 'baud'?"))

        // Nothing was left open or locked by the refused attempts.
        let session = try TestPlugins.registry.open(pair.resource)
        session.close()
    }

    // MARK: - Operations

    @Test func sendBreakIsAcceptedAndTheSessionGoesOn() throws {
        try withSession(["break_ms": .i64(5)]) { session, _, _ throws in
            try session.call("send_break")
            try session.call("send_break", .i64(2))
            #expect(try session.query("*IDN?") == "Litmus,PTYInstrument,0001,1.0")
            let range = try #require(throws: DriverError.self) { try session.call("send_break", .i64(0)) }
            #expect(range.status == .invalidArgument)
        }
    }

    @Test func modemLinesOfAPtyAreReportedMissing() throws {
        try withSession { session, _, _ throws in
            let dtr = try #require(throws: DriverError.self) { try session.call("set_dtr", true) }
            #expect(dtr.status == .unsupported)
            #expect(dtr.message.contains("no modem control lines"))
            #expect(try session.query("*IDN?").hasPrefix("Litmus"))
        }
        try withSession(["flow_control": "rts_cts"]) { session, _, _ throws in
            let rts = try #require(throws: DriverError.self) { try session.call("set_rts", false) }
            #expect(rts.status == .invalidArgument)
            #expect(rts.message.contains("driven by the kernel"))
        }
    }

    @Test func serialHasNoStatusByteOrTrigger() throws {
        try withSession { session, _, _ throws in
            #expect(throws: DriverError.self) { try session.readSTB() }
            #expect(throws: DriverError.self) { try session.trigger() }
        }
    }

    // MARK: - Opening

    @Test func aMissingDeviceListsThePortsThatExist() throws {
        let error = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("ASRL/dev/ttyLitmusMissing7::INSTR")
        }
        #expect(error.status == .notFound)
        #expect(error.message.contains("/dev/ttyLitmusMissing7 does not exist"))
        #expect(error.message.contains("ports present") || error.message.contains("no serial ports were found"))
    }

    @Test func numberedPortsCountFromOneLikeCOMPorts() throws {
        let numbered = try #require(throws: DriverError.self) { try TestPlugins.registry.open("ASRL99::INSTR") }
        #expect(numbered.status == .notFound)
        #expect(numbered.message.contains("/dev/ttyS98 does not exist"))
        let com = try #require(throws: DriverError.self) { try TestPlugins.registry.open("ASRLCOM99::INSTR") }
        #expect(com.message.contains("/dev/ttyS98 does not exist"))
        let zero = try #require(throws: DriverError.self) { try TestPlugins.registry.open("ASRL0::INSTR") }
        #expect(zero.status == .invalidArgument)
        #expect(zero.message.contains("numbered ports start at 1"))
        let url = try #require(throws: DriverError.self) { try TestPlugins.registry.open("ASRLloop://::INSTR") }
        #expect(url.status == .invalidArgument)
        #expect(url.message.contains("pyserial URL"))
        let notATTY = try #require(throws: DriverError.self) { try TestPlugins.registry.open("ASRL/dev/null::INSTR") }
        #expect(notATTY.status == .invalidArgument)
        #expect(notATTY.message.contains("not a serial port"))
    }

    /// Root passes every permission check, so as root the test drops this thread's file-system
    /// user id (setfsuid is per thread on Linux and clears CAP_DAC_OVERRIDE) around the open.
    @Test func permissionDeniedSaysHowToFixIt() throws {
        let pair = try PTYPair()
        defer { pair.close() }
        _ = TestPlugins.registry
        guard chmod(pair.slavePath, 0o600) == 0 else { throw PTYError("chmod \(pair.slavePath) failed") }
        let error: DriverError
        if geteuid() == 0 {
            typealias SetFSUID = @convention(c) (UInt32) -> Int32
            let symbol = try #require(dlsym(dlopen(nil, RTLD_NOW), "setfsuid"))
            let setfsuid = unsafeBitCast(symbol, to: SetFSUID.self)
            _ = setfsuid(65534)
            defer { _ = setfsuid(0) }
            error = try #require(throws: DriverError.self) { try TestPlugins.registry.open(pair.resource) }
        } else {
            _ = chmod(pair.slavePath, 0)
            error = try #require(throws: DriverError.self) { try TestPlugins.registry.open(pair.resource) }
        }
        #expect(error.status == .access)
        #expect(error.message.contains("permission denied opening \(pair.slavePath)"))
        #expect(error.message.contains("mode"))
        #expect(error.message.contains("udev rule") || error.message.contains("usermod -aG"))
    }

    @Test func aSecondExclusiveOpenIsBusyAndClosingFreesThePort() throws {
        let pair = try PTYPair()
        let instrument = try PTYInstrument(pair)
        defer {
            instrument.stop()
            pair.close()
        }
        let options: [String: InstrumentValue] = ["timeout_ms": Self.ioTimeout]
        let first = try TestPlugins.registry.open(pair.resource, options: options)
        let busy = try #require(throws: DriverError.self) { try TestPlugins.registry.open(pair.resource, options: options) }
        #expect(busy.status == .busy)
        #expect(busy.message.contains("is in use"))
        #expect(busy.message.contains("another session of this process"))
        let shared = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open(pair.resource, options: ["exclusive": false])
        }
        #expect(shared.status == .busy)
        #expect(try first.query("*IDN?").hasPrefix("Litmus"))
        first.close()

        // Closed, then opened again: the port is free and in step.
        let again = try TestPlugins.registry.open(pair.resource, options: options)
        #expect(try again.query("ECHO? again") == "again")
        again.close()
    }

    @Test func nonExclusiveSessionsShareAPort() throws {
        try withSession(["exclusive": false]) { session, pair, _ throws in
            let second = try TestPlugins.registry.open(pair.resource, options: ["exclusive": false])
            second.close()
            let exclusive = try #require(throws: DriverError.self) { try TestPlugins.registry.open(pair.resource) }
            #expect(exclusive.status == .busy)
            #expect(try session.query("*IDN?").hasPrefix("Litmus"))
        }
    }

    @Test func closeThenReopenKeepsWorking() throws {
        let pair = try PTYPair()
        let instrument = try PTYInstrument(pair)
        defer {
            instrument.stop()
            pair.close()
        }
        for round in 0..<3 {
            let session = try TestPlugins.registry.open(pair.resource, options: ["timeout_ms": Self.ioTimeout])
            #expect(try session.query("ECHO? round \(round)") == "round \(round)")
            session.close()
            #expect(throws: DriverError.self) { try session.query("*IDN?") }
        }
    }

    @Test func discoveryListsASRLResourcesWithoutOpeningThem() throws {
        let driver = try TestPlugins.registry.driver(id: "serial")
        let found = try driver.discover()
        for item in found {
            #expect(item.resource.hasPrefix("ASRL/dev/"))
            #expect(item.resource.hasSuffix("::INSTR"))
            #expect(!item.description.isEmpty)
        }
        let byID = found.firstIndex { $0.resource.contains("/dev/serial/by-id/") }
        let kernel = found.firstIndex { !$0.resource.contains("/dev/serial/by-id/") }
        if let byID, let kernel { #expect(byID < kernel) }
    }
}
