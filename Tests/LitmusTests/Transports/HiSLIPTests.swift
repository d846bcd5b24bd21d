import Foundation
import LitmusLANProtocol
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// HiSLIP: the message codec (round trips, header checks, fuzzing), the lan plugin against the
/// fake HiSLIP server (`litmus-fake-instruments hislip`, with its faults), and pyvisa-py's
/// HiSLIP client against the fake, so the fake is known to speak HiSLIP.
///
/// Every test starts its own server (one fake device per server), so they run in parallel.
@Suite
struct HiSLIPTests: TransportSuite {
    // MARK: - Helpers

    static func open(_ server: FakeServer, _ options: [String: InstrumentValue] = [:], subaddress: String = "hislip0")
        throws -> Instrument
    {
        var all = options
        if all["timeout_ms"] == nil { all["timeout_ms"] = .i64(2000) }
        return try TestPlugins.registry.open("TCPIP::127.0.0.1::\(subaddress),\(server.port)::INSTR", options: all)
    }

    static let idn = "Litmus,FakeInstrument,HS0001,1.0"

    /// Runs `body` on a new thread; ``Background/value()`` waits for it.
    static func inBackground<T>(_ body: @escaping @Sendable () throws -> T) -> Background<T> {
        let result = Background<T>()
        Thread.detachNewThread { result.finish(Result { try body() }) }
        return result
    }

    /// The outcome of an ``inBackground(_:)`` body.
    final class Background<T>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var outcome: Result<T, any Error>?

        func finish(_ outcome: Result<T, any Error>) {
            self.outcome = outcome
            done.signal()
        }

        /// Waits (at most 30 s) for the body and returns its result.
        func value() throws -> T {
            guard done.wait(timeout: .now() + 30) == .success, let outcome else {
                throw FakeServerError(message: "the background call did not finish within 30 s")
            }
            return try outcome.get()
        }
    }

    // MARK: - Codec

    @Test func headerRoundTripsAndBuildersPlaceFields() throws {
        let header = HiSLIPHeader(.dataEnd, controlCode: 1, parameter: 0xFFFF_FF02, payloadLength: 0x0102_0304_0506)
        let bytes = header.bytes
        #expect(bytes.count == 16)
        #expect(Array(bytes[0..<8]) == [0x48, 0x53, 7, 1, 0xFF, 0xFF, 0xFF, 0x02])
        #expect(Array(bytes[8..<16]) == [0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06])
        #expect(try HiSLIPHeader.parse(bytes) == header)

        let hello = HiSLIPMessage.initialize(version: HiSLIPVersion(major: 1, minor: 1), vendorID: "LT", subaddress: "hislip0")
        #expect(hello.parameter == 0x0101_4C54)
        #expect(hello.version == HiSLIPVersion(major: 1, minor: 1))
        #expect(hello.vendorID == "LT")
        #expect(hello.payload == Array("hislip0".utf8))
        let response = HiSLIPMessage.initializeResponse(features: .overlapped, version: HiSLIP.version, sessionID: 0xBEEF)
        #expect(response.sessionID == 0xBEEF)
        #expect(response.version == HiSLIP.version)
        #expect(response.features == .overlapped)
        let size = HiSLIPMessage.maximumMessageSize(0x0123_4567_89AB_CDEF)
        #expect(size.payload == [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF])
        #expect(size.maximumMessageSize == 0x0123_4567_89AB_CDEF)
        #expect(HiSLIPMessage.lockRequest(timeoutMilliseconds: 250).parameter == 250)
        #expect(HiSLIPMessage.statusQuery(lastMessageID: 7, rmtDelivered: true).controlCode == 1)
        for message in [hello, response, size, .data([1, 2, 3], messageID: 9, end: false), .fatalError(.tooManyClients, "x")] {
            try message.header.validate(maxPayloadLength: 1 << 20)
            var decoder = HiSLIPMessageDecoder(maxPayloadLength: 1 << 20)
            decoder.append(message.encoded())
            #expect(try decoder.next() == message)
            #expect(try decoder.next() == nil)
        }
    }

    @Test func headerChecksRejectWhatTheSpecificationDoesNotAllow() throws {
        #expect(throws: HiSLIPViolation.badPrologue(0x58, 0x53)) {
            try HiSLIPHeader.parse([0x58, 0x53] + [UInt8](repeating: 0, count: 14))
        }
        #expect(throws: HiSLIPViolation.truncatedHeader(available: 3)) { try HiSLIPHeader.parse([0x48, 0x53, 0]) }
        // Payload over the negotiated maximum: not recoverable.
        let big = HiSLIPHeader(.dataEnd, payloadLength: 1025)
        #expect(throws: HiSLIPViolation.payloadTooLarge(.dataEnd, length: 1025, limit: 1024)) {
            try big.validate(maxPayloadLength: 1024)
        }
        // Fixed lengths and per-type limits.
        #expect(throws: HiSLIPViolation.wrongPayloadLength(.asyncStatusResponse, length: 3, expected: 0)) {
            try HiSLIPHeader(.asyncStatusResponse, payloadLength: 3).validate(maxPayloadLength: 1024)
        }
        #expect(throws: HiSLIPViolation.self) {
            try HiSLIPHeader(.initialize, payloadLength: 300).validate(maxPayloadLength: 1 << 20)
        }
        // Undefined types and control codes: recoverable (skip the payload, answer Error).
        do {
            try HiSLIPHeader(HiSLIPMessageType(rawValue: 200), payloadLength: 5).validate(maxPayloadLength: 1024)
            Issue.record("a vendor-specific type passed")
        } catch {
            #expect(error.isRecoverable)
            #expect(error.errorCode == .unrecognizedVendorMessage)
        }
        do {
            try HiSLIPHeader(.asyncLockResponse, controlCode: 4).validate(maxPayloadLength: 1024)
            Issue.record("lock response 4 passed")
        } catch {
            #expect(error == .invalidControlCode(.asyncLockResponse, 4))
            #expect(error.errorCode == .unrecognizedControlCode)
        }
        #expect(throws: HiSLIPViolation.self) {
            try HiSLIPHeader(.asyncRemoteLocalControl, controlCode: 7).validate(maxPayloadLength: 1024)
        }
        // Status bytes and error codes use the whole control code.
        try HiSLIPHeader(.asyncStatusResponse, controlCode: 0xFF).validate(maxPayloadLength: 0)
        try HiSLIPHeader(.fatalError, controlCode: 200, payloadLength: 10).validate(maxPayloadLength: 1024)
        #expect(HiSLIPFatalErrorCode.tooManyClients.description.contains("maximum number of clients"))
        #expect(HiSLIPErrorCode(rawValue: 4).description == "message too large")
        #expect(HiSLIPMessageType(rawValue: 99).description == "reserved message type 99")
    }

    @Test func messageIDsWrapInSerialOrder() {
        #expect(HiSLIP.messageID(after: 0xFFFF_FFFE) == 0)
        #expect(HiSLIP.messageID(HiSLIP.firstMessageID, precedes: 4))
        #expect(!HiSLIP.messageID(4, precedes: HiSLIP.firstMessageID))
        #expect(HiSLIP.messageID(HiSLIP.noMessageSentID, precedes: HiSLIP.firstMessageID))
        #expect(!HiSLIP.messageID(8, precedes: 8))
    }

    @Test func decoderReassemblesMessagesFedByteByByte() throws {
        let messages: [HiSLIPMessage] = [
            .data(Array(repeating: 0x0A, count: 300), messageID: HiSLIP.firstMessageID, end: false),
            .data([], messageID: HiSLIP.firstMessageID, end: true),
            HiSLIPMessage(.asyncServiceRequest, controlCode: 0x40),
            .error(.messageTooLarge, "too big"),
        ]
        let stream = messages.flatMap { $0.encoded() }
        var decoder = HiSLIPMessageDecoder(maxPayloadLength: 1024)
        var got: [HiSLIPMessage] = []
        for byte in stream {
            decoder.append([byte])
            while let message = try decoder.next() { got.append(message) }
        }
        #expect(got == messages)
        #expect(decoder.bufferedCount == 0)

        var strict = HiSLIPMessageDecoder(maxPayloadLength: 100)
        strict.append(messages[0].encoded())
        #expect(throws: HiSLIPViolation.self) { try strict.next() }
    }

    /// Random bytes, and valid streams with random bytes changed, never crash the decoder or
    /// the header checks: every outcome is a message, "need more bytes", or a violation.
    @Test func fuzzedStreamsNeverCrashTheDecoder() {
        var rng = SplitMix64(seed: 0x4849_534C_4950)
        let valid = [
            HiSLIPMessage.data(Array("MEAS:VOLT?".utf8), messageID: 4, end: true),
            HiSLIPMessage.initializeResponse(features: [], version: HiSLIP.version, sessionID: 3),
            HiSLIPMessage.maximumMessageSize(4096, response: true),
        ].flatMap { $0.encoded() }
        var messages = 0
        var violations = 0
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                // Give half of them a valid prologue so the later checks run too.
                if bytes.count >= 2 && round % 4 == 0 { bytes[0] = 0x48; bytes[1] = 0x53 }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            var decoder = HiSLIPMessageDecoder(maxPayloadLength: 4096)
            var offset = 0
            feeding: while offset < bytes.count {
                let n = Int.random(in: 1...17, using: &rng)
                decoder.append(bytes[offset..<min(bytes.count, offset + n)])
                offset += n
                for _ in 0..<bytes.count + 1 {
                    do {
                        guard let message = try decoder.next() else { break }
                        messages += 1
                        do { try message.header.validate(maxPayloadLength: 4096) } catch { violations += 1 }
                    } catch {
                        violations += 1
                        break feeding
                    }
                }
            }
        }
        #expect(messages > 0)
        #expect(violations > 0)
    }

    // MARK: - Messages through the plugin

    @Test func identifiesAndAnswersManyQueries() throws {
        let server = try FakeServer("hislip")
        let dmm = try Self.open(server)
        #expect(try dmm.query("*IDN?") == Self.idn)
        for i in 0..<300 {
            #expect(try dmm.query("ECHO? reply \(i)") == "reply \(i)")
        }
        #expect(try dmm.query("MEAS:VOLT?") == "+5.00120000E+00")
        // An empty write is a DataEnd without payload.
        try dmm.writeRaw([])
        #expect(try dmm.query("SYST:ERR?") == "0,\"No error\"")
        dmm.close()
    }

    @Test func splitsWritesAndReadsAtTheNegotiatedMaximum() throws {
        // The server accepts messages of 1 KiB and answers in messages of 1 KiB too.
        let server = try FakeServer("hislip", ["--max-message-size", "1024"])
        let dmm = try Self.open(server)
        let text = String((0..<100_000).map { Character(Unicode.Scalar(UInt8(0x41 + $0 % 26))) })
        #expect(try dmm.query("ECHO? \(text)") == text)
        #expect(try dmm.queryBinaryBlock("DATA? 70000") == Self.pattern(70000))
        #expect(try dmm.query("*IDN?") == Self.idn)
    }

    @Test(arguments: [0, 1, 10, 65_535, 1_048_576])
    func readsBinaryBlocksExactly(size: Int) throws {
        let server = try FakeServer("hislip")
        // The host looks for a newline after the block until the timeout (the fake sends only
        // DataEnd): keep that wait short.
        let dmm = try Self.open(server, ["timeout_ms": .i64(1000)])
        #expect(try dmm.queryBinaryBlock("DATA? \(size)") == Self.pattern(size))
        #expect(try dmm.query("*IDN?") == Self.idn)
    }

    @Test func trailingNewlinesAreTheHostsTermination() throws {
        let server = try FakeServer("hislip", ["--newline"])
        let dmm = try Self.open(server)
        #expect(try dmm.query("*IDN?") == Self.idn)
        #expect(try dmm.queryBinaryBlock("DATA? 1000") == Self.pattern(1000))
        #expect(try dmm.query("ECHO? after") == "after")
    }

    // MARK: - Stale responses

    @Test func aLateResponseIsDroppedOnceTheNextQueryIsSent() throws {
        let server = try FakeServer("hislip")
        let dmm = try Self.open(server, ["timeout_ms": .i64(200)])
        let late = Self.failure { _ = try dmm.query("SLOW? 400") }
        #expect(late?.status == .timeout)
        #expect(late?.message.contains("no response") == true)
        // "done" arrives with the old MessageID (and the server reports the interrupted query).
        try dmm.setTimeout(milliseconds: 2000)
        #expect(try dmm.query("*IDN?") == Self.idn)
        #expect(try dmm.query("ECHO? x") == "x")
        #expect(try dmm.readSTB() & 0x10 == 0)
    }

    /// The server reports the interrupted query with AsyncInterrupted (seen first here, by the
    /// status query) and Interrupted: the old response is dropped, the new one delivered.
    @Test func anInterruptedQuerySeenFirstOnTheAsynchronousChannel() throws {
        let server = try FakeServer("hislip")
        let dmm = try Self.open(server, ["timeout_ms": .i64(150)])
        #expect(Self.failure { _ = try dmm.query("SLOW? 300") }?.status == .timeout)
        try dmm.setTimeout(milliseconds: 2000)
        try dmm.write("ECHO? after")
        var stb: UInt8 = 0
        for _ in 0..<300 where stb & 0x10 == 0 {
            stb = try dmm.readSTB()
            if stb & 0x10 == 0 { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(stb & 0x10 == 0x10)
        #expect(try dmm.read() == "after")
        #expect(try dmm.query("*IDN?") == Self.idn)
    }

    @Test func aTimedOutQueryFollowedByClearLeavesNothingBehind() throws {
        let server = try FakeServer("hislip")
        let dmm = try Self.open(server, ["timeout_ms": .i64(200)])
        #expect(Self.failure { _ = try dmm.query("NOREPLY?") }?.status == .timeout)
        try dmm.clear()
        #expect(try dmm.query("*IDN?") == Self.idn)
        #expect(Self.failure { _ = try dmm.query("SLOW? 300") }?.status == .timeout)
        try dmm.clear()
        #expect(try dmm.query("ECHO? clean") == "clean")
        // A response left unread is dropped by the clear.
        try dmm.write("ECHO? unread")
        try dmm.clear()
        #expect(try dmm.query("ECHO? fresh") == "fresh")
    }

    @Test func staleResponsesFromTheServerAreDiscarded() throws {
        let server = try FakeServer("hislip", ["--fault", "stale-response"])
        let dmm = try Self.open(server)
        for i in 0..<50 {
            #expect(try dmm.query("ECHO? \(i)") == "\(i)")
        }
        #expect(try dmm.queryBinaryBlock("DATA? 5000") == Self.pattern(5000))
    }

    // MARK: - Status, clear, trigger

    @Test func readSTBReportsMAVUntilTheResponseIsRead() throws {
        let server = try FakeServer("hislip")
        let dmm = try Self.open(server)
        #expect(try dmm.readSTB() == 0)
        // HiSLIP writes do not wait for the instrument, and the status query overtakes them on
        // the other channel: poll until the response is there.
        try dmm.write("*IDN?")
        var stb: UInt8 = 0
        for _ in 0..<200 where stb & 0x10 == 0 {
            stb = try dmm.readSTB()
            if stb & 0x10 == 0 { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(stb & 0x10 == 0x10)
        #expect(try dmm.read() == Self.idn)
        // The status query carries RMT-delivered: the server forgets the response.
        #expect(try dmm.readSTB() & 0x10 == 0)
        try dmm.write("BOGUS:COMMAND")
        #expect(try dmm.query("ECHO? in step") == "in step")
        #expect(try dmm.readSTB() & 0x04 == 0x04)
        #expect(try dmm.query("SYST:ERR?").hasPrefix("-113"))
        #expect(try dmm.readSTB() == 0)
    }

    @Test func serviceRequestsOnTheAsynchronousChannelAreSkipped() throws {
        let server = try FakeServer("hislip", ["--fault", "srq"])
        let dmm = try Self.open(server)
        for i in 0..<5 {
            #expect(try dmm.query("ECHO? \(i)") == "\(i)")
        }
        #expect(try dmm.readSTB() == 0)
        try dmm.clear()
        #expect(try dmm.query("*IDN?") == Self.idn)
    }

    @Test func triggerReachesTheInstrument() throws {
        let server = try FakeServer("hislip")
        let dmm = try Self.open(server)
        try dmm.trigger()
        try dmm.trigger()
        try dmm.trigger()
        #expect(try dmm.query("TRG:COUN?") == "3")
    }

    @Test func overlappedModeDeliversPipelinedResponsesInOrder() throws {
        let server = try FakeServer("hislip", ["--overlap"])
        let dmm = try Self.open(server, ["timeout_ms": .i64(300)])
        try dmm.write("ECHO? first")
        try dmm.write("ECHO? second")
        #expect(try dmm.read() == "first")
        #expect(try dmm.read() == "second")
        // A response whose read timed out is stale once the next message is sent.
        #expect(Self.failure { _ = try dmm.query("SLOW? 500") }?.status == .timeout)
        #expect(try dmm.query("ECHO? third") == "third")
        try dmm.clear()
        #expect(try dmm.query("*IDN?") == Self.idn)
    }

    @Test func aClearThatIsNeverAcknowledgedTimesOut() throws {
        let server = try FakeServer("hislip", ["--fault", "no-clear-ack"])
        let dmm = try Self.open(server, ["timeout_ms": .i64(200)])
        let error = Self.failure { try dmm.clear() }
        #expect(error?.status == .timeout)
        #expect(error?.message.contains("clear") == true)
    }

    // MARK: - Locks

    @Test func exclusiveLocksBetweenTwoSessions() throws {
        let server = try FakeServer("hislip")
        let first = try Self.open(server, ["lock": .bool(true)])
        #expect(try first.query("*IDN?") == Self.idn)

        // Busy at once with lock_timeout_ms 0.
        let busy = Self.failure {
            _ = try Self.open(server, ["lock": .bool(true), "lock_timeout_ms": .i64(0)])
        }
        #expect(busy?.status == .busy)
        #expect(busy?.message.contains("locked by another client") == true)

        // A session without the lock waits: its query times out while the lock is held.
        let other = try Self.open(server, ["timeout_ms": .i64(200)])
        #expect(Self.failure { _ = try other.query("ECHO? held") }?.status == .timeout)

        // A session waiting for the lock gets it once the holder closes.
        let waiter = Self.inBackground {
            try Self.open(server, ["lock": .bool(true), "lock_timeout_ms": .i64(5000)])
        }
        Thread.sleep(forTimeInterval: 0.1)
        first.close()
        let second = try waiter.value()
        #expect(try second.query("ECHO? mine") == "mine")
        second.close()

        // The held-back query was answered late; its response is dropped.
        try other.setTimeout(milliseconds: 2000)
        #expect(try other.query("ECHO? later") == "later")
        let third = try Self.open(server, ["lock": .bool(true), "lock_timeout_ms": .i64(0)])
        #expect(try third.query("*IDN?") == Self.idn)
    }

    /// A write that times out part-way (the server holds it back for another session's lock)
    /// keeps the framing: the rest of the message goes out before the device clear.
    @Test func aWriteTimeoutKeepsTheStreamInStepForTheClear() throws {
        let server = try FakeServer("hislip")
        let holder = try Self.open(server, ["lock": .bool(true)])
        let writer = try Self.open(server, ["timeout_ms": .i64(300)])
        let huge = "ECHO? " + String(repeating: "x", count: 32 << 20)
        let error = Self.failure { try writer.write(huge) }
        #expect(error?.status == .timeout)
        #expect(error?.message.contains("bytes sent") == true)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { holder.close() }
        try writer.setTimeout(milliseconds: 3000)
        try writer.clear()
        #expect(try writer.query("ECHO? ok") == "ok")
    }

    // MARK: - Failures

    @Test func fatalErrorEndsTheSessionAndSaysWhy() throws {
        let server = try FakeServer("hislip", ["--fault", "fatal"])
        let dmm = try Self.open(server)
        #expect(try dmm.query("*IDN?") == Self.idn)
        let first = Self.failure { _ = try dmm.query("ECHO? x") }
        #expect(first?.status == .io)
        #expect(first?.message.contains("FatalError 0") == true)
        #expect(first?.message.contains("fault injected") == true)
        let later = Self.failure { _ = try dmm.readSTB() }
        #expect(later?.status == .closed)
        #expect(later?.message.contains("FatalError") == true)
    }

    @Test func anErrorMessageFailsTheCallButKeepsTheSession() throws {
        let server = try FakeServer("hislip", ["--fault", "error-reply"])
        let dmm = try Self.open(server)
        let error = Self.failure { _ = try dmm.query("*IDN?") }
        #expect(error?.status == .instrument)
        #expect(error?.vendorCode == 2)
        #expect(error?.message.contains("Error 2 (unrecognized control code)") == true)
        #expect(error?.message.contains("fault injected") == true)
        #expect(try dmm.query("*IDN?") == Self.idn)
    }

    @Test func vendorSpecificMessagesAreSkipped() throws {
        let server = try FakeServer("hislip", ["--fault", "vendor-message"])
        let dmm = try Self.open(server)
        for i in 0..<10 {
            #expect(try dmm.query("ECHO? \(i)") == "\(i)")
        }
    }

    @Test func aServerKilledMidCallIsAnIOError() throws {
        let server = try FakeServer("hislip")
        let dmm = try Self.open(server, ["timeout_ms": .i64(5000)])
        #expect(try dmm.query("*IDN?") == Self.idn)
        let pid = server.pid
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { kill(pid, SIGKILL) }
        let error = Self.failure { _ = try dmm.query("SLOW? 3000") }
        #expect(error?.status == .io)
        #expect(error?.message.contains("lost") == true)
        #expect(Self.failure { _ = try dmm.query("*IDN?") }?.status == .closed)
        server.stop()
    }

    @Test(arguments: ["bad-prologue", "oversized"])
    func aBrokenStreamFromTheServerIsAProtocolViolation(fault: String) throws {
        let server = try FakeServer("hislip", ["--fault", fault])
        let dmm = try Self.open(server)
        let error = Self.failure { _ = try dmm.query("*IDN?") }
        #expect(error?.status == .protocolViolation)
        #expect(error?.message.contains(fault == "oversized" ? "more than the limit" : "\"HS\"") == true)
        #expect(Self.failure { _ = try dmm.query("*IDN?") }?.status == .closed)
    }

    @Test func openHasADeadlineAndExplainsRefusals() throws {
        // Initialize never answered: the connect deadline ends the open.
        let silent = try FakeServer("hislip", ["--fault", "silent-init"])
        let timeout = Self.failure { _ = try Self.open(silent, ["connect_timeout_ms": .i64(300)]) }
        #expect(timeout?.status == .timeout)
        #expect(timeout?.message.contains("Initialize") == true)

        // A device the server does not have.
        let server = try FakeServer("hislip", ["--max-sessions", "1"])
        let unknown = Self.failure { _ = try Self.open(server, subaddress: "hislip7") }
        #expect(unknown?.status == .io)
        #expect(unknown?.message.contains("FatalError 3") == true)
        #expect(unknown?.message.contains("hislip7") == true)

        // Too many sessions.
        let dmm = try Self.open(server)
        let crowded = Self.failure { _ = try Self.open(server) }
        #expect(crowded?.status == .busy)
        dmm.close()

        // Nothing listening.
        let closedPort = server.port
        server.stop()
        #expect(Self.failure { _ = try TestPlugins.registry.open("TCPIP::127.0.0.1::hislip0,\(closedPort)::INSTR") }?.status == .io)
    }

    // MARK: - Independent client

    /// pyvisa-py's HiSLIP client against the fake: *IDN?, a DATA? block, read_stb, clear.
    @Test func pyvisaPySpeaksToTheFake() throws {
        let server = try FakeServer("hislip")
        let program = """
            import json, sys, pyvisa
            rm = pyvisa.ResourceManager('@py')
            inst = rm.open_resource(f'TCPIP::127.0.0.1::hislip0,{sys.argv[1]}::INSTR')
            inst.timeout = 2000
            out = {'idn': inst.query('*IDN?')}
            data = inst.query_binary_values('DATA? 100000', datatype='B', container=bytes)
            out['block'] = data == bytes(i % 256 for i in range(100000))
            inst.write('BOGUS')
            inst.query('ECHO? in step')
            out['stb'] = inst.read_stb()
            inst.clear()
            out['after_clear'] = inst.query('ECHO? ok')
            inst.close()
            print(json.dumps(out))
            """
        let result = try #require(try TestPython.json(program, [String(server.port)]) as? [String: Any])
        #expect(result["idn"] as? String == Self.idn)
        #expect(result["block"] as? Bool == true)
        #expect(result["stb"] as? Int == 4)
        #expect(result["after_clear"] as? String == "ok")
    }
}

/// The lan driver's typed lock and remote/local operations over HiSLIP, through the host.
extension HiSLIPTests {
    @Test func lockOperationsThroughTheHost() throws {
        let server = try FakeServer("hislip")
        let a = try Self.open(server)
        let b = try Self.open(server)
        defer {
            a.close()
            b.close()
        }
        try a.call("lock")
        do {
            try b.call("lock", .i64(0))
            Issue.record("a second lock must be refused")
        } catch let e as DriverError {
            #expect(e.status == .busy, "\(e)")
        }
        try a.call("unlock")
        try b.call("lock", .i64(0))
        try b.call("remote")
        try b.call("local")
        try b.call("unlock")
        #expect(throws: DriverError.self) { try b.call("unlock") }  // holds none
        #expect(try b.query("*IDN?").hasPrefix("Litmus,FakeInstrument"))
    }
}
