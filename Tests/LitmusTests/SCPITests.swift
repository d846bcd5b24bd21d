import Foundation
import Testing

@testable import Litmus

/// SCPI helpers over a message transport: the simulated SCPI driver, loaded through the ABI.
@Suite struct SCPITests {
    /// A simulated device whose responses are exactly the bytes a test needs.
    static let description: String = {
        let yaml = """
            devices:
              blocks:
                identity: "Litmus,SIM-BLOCKS,B0001,2.0"
                eom: "\\n"
                dialogues:
                  - {q: "CURVe?", block: {length: 1000, pattern: ramp}}
                  - {q: "NLCR?", block: {hex: "0a0d0a0d000a"}}
                  - {q: "EMPTY?", block: {hex: ""}}
                  - {q: "INDEF?", block: {indefinite: true, hex: "01020a0d03"}}
                  - {q: "TRUNC?", raw_hex: "233135616263"}  # "#15abc": 3 of 5 bytes
                  - {q: "BADHDR?", raw_hex: "23413132330a"}
                  - {q: "NOTBLOCK?", r: "1.25"}
                  - {q: "BIG?", block: {length: 1048576, pattern: ramp}}
                  - {q: "LIST?", r: "1.5,-2.5E-3,+9.9E37"}
                  - {q: "NAN?", r: "1.0,abc"}
                  - {q: "QUOTED?", r: "\\"a;b\\",2"}
              crlf:
                identity: "Litmus,SIM-CRLF,C0001,1.0"
                eom: "\\r\\n"
                dialogues:
                  - {q: "TWO?", r: "first\\r\\nsecond"}
                  - {q: "CURVe?", block: {hex: "0d0a0d0a"}}
            """
        let path = "\(TestPlugins.scratch)/scpi-devices-\(UUID().uuidString).yaml"
        try! Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }()

    func open(_ device: String = "blocks", _ options: [String: InstrumentValue] = [:]) throws -> Instrument {
        var all = options
        all["description"] = .string(Self.description)
        return try TestPlugins.registry.open("SIM::\(device)::INSTR", options: all)
    }

    // MARK: Binary blocks

    @Test(arguments: [
        [String: InstrumentValue](),
        ["max_read_chunk": .i64(1)],
        ["max_read_chunk": .i64(7), "stream": .bool(true)],
        ["stream": .bool(true)],
    ])
    func definiteBlockWithNewlinesInsideIsReadByLength(options: [String: InstrumentValue]) throws {
        let sim = try open("blocks", options)
        let ramp = try sim.queryBinaryBlock("CURV?")
        #expect(ramp == (0..<1000).map { UInt8($0 % 256) })
        #expect(ramp.contains(0x0A) && ramp.contains(0x0D))
        #expect(try sim.queryBinaryBlock("NLCR?") == [0x0A, 0x0D, 0x0A, 0x0D, 0x00, 0x0A])
        #expect(try sim.queryBinaryBlock("EMPTY?") == [])
        // The terminator after each block was consumed: the next query lines up.
        #expect(try sim.query("*IDN?") == "Litmus,SIM-BLOCKS,B0001,2.0")
    }

    @Test func megabyteBlockArrivesWhole() throws {
        let sim = try open()
        let data = try sim.queryBinaryBlock("BIG?")
        #expect(data.count == 1_048_576)
        #expect(data[1_048_575] == UInt8(1_048_575 % 256))
    }

    @Test func indefiniteBlockRunsToEndOfMessage() throws {
        let sim = try open()
        #expect(try sim.queryBinaryBlock("INDEF?") == [0x01, 0x02, 0x0A, 0x0D, 0x03])
        #expect(try sim.query("*OPC?") == "1")
    }

    @Test func truncatedBlockFailsClearlyAndClearRecovers() throws {
        let sim = try open()
        let ended = try #require(throws: DriverError.self) { try sim.queryBinaryBlock("TRUNC?") }
        #expect(ended.status == .protocolViolation)
        #expect(ended.message.contains("ended after 3 of 5 bytes"))
        try sim.clear()
        #expect(try sim.query("*IDN?").hasPrefix("Litmus,SIM-BLOCKS"))

        // On a byte stream there is no END: the missing bytes end in a timeout.
        let stream = try open("blocks", ["stream": .bool(true)])
        let timedOut = try #require(throws: DriverError.self) { try stream.queryBinaryBlock("TRUNC?") }
        #expect(timedOut.status == .timeout)
        #expect(timedOut.context.contains("3 of 5 bytes received"))
        try stream.clear()
        #expect(try stream.query("*IDN?").hasPrefix("Litmus,SIM-BLOCKS"))
    }

    @Test func malformedBlockHeadersAreProtocolErrors() throws {
        let sim = try open()
        let bad = try #require(throws: DriverError.self) { try sim.queryBinaryBlock("BADHDR?") }
        #expect(bad.status == .protocolViolation)
        #expect(bad.message.contains("invalid block header"))
        let notBlock = try #require(throws: DriverError.self) { try sim.queryBinaryBlock("NOTBLOCK?") }
        #expect(notBlock.message.contains("expected a binary block starting with '#'"))
        try sim.clear()
        #expect(try sim.query("*OPC?") == "1")
    }

    // MARK: Termination

    @Test(arguments: [1, 2, 3, 5])
    func multiByteTerminatorSplitAcrossReads(chunk: Int) throws {
        let sim = try open("crlf", ["max_read_chunk": .i64(Int64(chunk)), "stream": .bool(true), "read_termination": "\r\n"])
        // One response holding two messages: the bytes after the first terminator are kept.
        try sim.write("TWO?")
        #expect(try sim.read() == "first")
        #expect(try sim.read() == "second")
        #expect(try sim.query("*IDN?") == "Litmus,SIM-CRLF,C0001,1.0")
        #expect(try sim.queryBinaryBlock("CURV?") == [0x0D, 0x0A, 0x0D, 0x0A])
        #expect(try sim.query("*OPC?") == "1")
    }

    @Test func endOfMessageEndsAReadWithoutATerminator() throws {
        let sim = try open("blocks", ["read_termination": ""])
        #expect(sim.readTermination == nil)
        // The device still sends "\n" before END; with no read termination it is data.
        #expect(try sim.query("*IDN?") == "Litmus,SIM-BLOCKS,B0001,2.0\n")
    }

    @Test func runawayResponseIsBoundedByMaxMessageSize() throws {
        // A terminator that never occurs in the ramp: the response never ends.
        let sim = try open("blocks", ["stream": .bool(true), "read_termination": "\u{07}\u{07}"])
        sim.maxMessageSize = 4096
        let error = try #require(throws: DriverError.self) { _ = try sim.query("BIG?") }
        #expect(error.status == .protocolViolation)
        #expect(error.message.contains("exceeds maxMessageSize (4096 bytes)"))
        try sim.clear()
        sim.readTermination = Array("\n".utf8)
        #expect(try sim.query("*OPC?") == "1")
    }

    // MARK: Responses

    @Test func compoundResponsesSplitOutsideQuotes() throws {
        let sim = try open()
        let reply = try sim.query("*IDN?;*OPC?")
        #expect(SCPIResponse.split(reply) == ["Litmus,SIM-BLOCKS,B0001,2.0", "1"])
        #expect(SCPIResponse.split(try sim.query("QUOTED?")) == ["\"a;b\",2"])
        #expect(SCPIResponse.split("a; b ;c") == ["a", "b", "c"])
    }

    @Test func numbersAndIdentity() throws {
        let sim = try open()
        #expect(try sim.queryNumbers("LIST?") == [1.5, -2.5e-3, 9.9e37])
        #expect(try sim.queryNumber("NOTBLOCK?") == 1.25)
        let error = try #require(throws: DriverError.self) { try sim.queryNumbers("NAN?") }
        #expect(error.message.contains("field 2 of the response is not a number: \"abc\""))
        #expect(error.context.contains("NAN?"))
        let identity = try sim.identify()
        #expect(identity == InstrumentIdentity(manufacturer: "Litmus", model: "SIM-BLOCKS", serial: "B0001", firmware: "2.0"))
    }

    @Test(arguments: [
        ("Keysight Technologies,34465A,MY12345,A.02.14-02.40", InstrumentIdentity(manufacturer: "Keysight Technologies", model: "34465A", serial: "MY12345", firmware: "A.02.14-02.40")),
        (" RIGOL , DS1104Z ,, 00.04.04 \n", InstrumentIdentity(manufacturer: "RIGOL", model: "DS1104Z", serial: nil, firmware: "00.04.04")),
        ("OnlyMaker", InstrumentIdentity(manufacturer: "OnlyMaker")),
        ("A,B,C,D,extra,fields", InstrumentIdentity(manufacturer: "A", model: "B", serial: "C", firmware: "D")),
        ("", InstrumentIdentity()),
    ])
    func parsesIDN(text: String, expected: InstrumentIdentity) {
        #expect(InstrumentIdentity(idn: text) == expected)
    }

    @Test func parsesErrorQueueEntries() throws {
        #expect(SCPIError(response: "-113,\"Undefined header\"\n") == SCPIError(code: -113, message: "Undefined header"))
        #expect(SCPIError(response: "-222,\"Data out of range;VOLT 99\"") == SCPIError(code: -222, message: "Data out of range", detail: "VOLT 99"))
        #expect(SCPIError(response: "+0,\"No error\"")?.code == 0)
        #expect(SCPIError(response: "101,\"Say \"\"hi\"\"\"")?.message == "Say \"hi\"")
        #expect(SCPIError(response: "garbage") == nil)
        #expect(SCPIError(code: -222, message: "x").kind == "execution error")
        #expect(SCPIError(code: 5, message: "x").kind == "device-defined error")
    }

    @Test func drainsTheErrorQueueIntoTypedErrors() throws {
        let sim = try open()
        try sim.write("BOGUS:CMD")
        try sim.write("ALSO:BOGUS 3")
        let failure = try #require(throws: InstrumentErrors.self) { try sim.checkErrors() }
        #expect(failure.errors.map(\.code) == [-113, -113])
        #expect(!failure.truncated)
        #expect(failure.description.contains("reported 2 errors"))
        try sim.checkErrors()  // now empty

        for _ in 0..<5 { try sim.write("NOPE") }
        let (errors, truncated) = try sim.drainErrors(limit: 3)
        #expect(errors.count == 3 && truncated)
    }
}
