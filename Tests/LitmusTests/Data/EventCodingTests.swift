import Foundation
import LitmusJSON
import Testing

@testable import Litmus

/// Events of every type, for round trips and file tests.
enum EventSamples {
    static let session = UUID(uuidString: "6F1E3C52-93A4-4C1B-8D3E-2A8C9B7F0E11")!
    static let run = UUID(uuidString: "0B7C2A9E-5D14-4E8F-A6B3-91C0D2E4F5A6")!
    static let at = Timestamp(microseconds: 1_795_700_864_123_456)  // 2026-11-26T...Z

    /// One event, named for test output.
    struct Sample: Sendable, CustomTestStringConvertible {
        var name: String
        var event: Event
        var testDescription: String { name }
    }

    static func event(_ body: EventBody, _ n: Int = 0) -> Event {
        var e = Event(
            sessionID: session, runID: run, body, occurredAt: Timestamp(microseconds: at.microseconds + Int64(n)),
            id: UUID())
        e.writer = "host-1-0000abcd"
        e.sequence = Int64(n)
        return e
    }

    /// Every body case with every field set (optionals non-nil, collections non-empty).
    static let full: [Sample] = {
        let details: JSONValue = .object([
            ("code", .number(JSONNumber(Int64(-42)))), ("ratio", .number(JSONNumber(0.125))), ("ok", .bool(true)),
            ("none", .null), ("list", .array([.string("a\"b"), .number(JSONNumber(Int64(7)))])),
        ])
        let bodies: [EventBody] = [
            .sessionStarted(
                SessionStarted(
                    stationID: "st-1", stationName: "Bench 1", stationType: "ict", stationLocation: "Line 3",
                    hostname: "bench1.example", pid: 4242, processStartedAt: Timestamp(microseconds: 1_795_700_000_000_001),
                    client: "swift-testing", operatorID: "op7", operatorName: "Ada", fixtureID: "fx-9", leaseSeconds: 900.5)),
            .sessionEnded(SessionEnded(reason: "finished")),
            .runStarted(
                RunStarted(
                    dutSerial: "SN-0001", dutPartNumber: "PN-1", dutRevision: "B", dutLot: "L42", partID: "part-1",
                    partName: "PSU", partRevision: "3", stationID: "st-1", stationName: "Bench 1", stationType: "ict",
                    stationLocation: "Line 3", hostname: "bench1", operatorID: "op7", operatorName: "Ada",
                    fixtureID: "fx-9", testPhase: "production", product: "psu", project: "litmus", gitCommit: "abc123",
                    gitBranch: "main", gitRemote: "git@example:psu.git", siteIndex: 2, siteName: "left",
                    metadata: ["lot \"quoted\"": "x\ny", "temp": "25C"])),
            .runMetadata(RunMetadata(key: "ambient", value: "23.5C")),
            .runEnded(RunEnded(outcome: .failed, reason: "orphaned")),
            .runMaterialized(RunMaterialized(path: "runs/date=2026-11-26/x.parquet", rows: 1234, materializer: "parquet")),
            .stepStarted(
                StepStarted(
                    name: "rails", index: 3, path: "power/rails", description: "Check the rails", retry: 1,
                    code: CodeLocation(file: "Tests/PSU.swift", function: "rails()", line: 88))),
            .stepEnded(StepEnded(name: "rails", index: 3, path: "power/rails", retry: 1, outcome: .errored, error: "boom")),
            .vectorStarted(
                VectorStarted(
                    stepIndex: 3, stepPath: "power/rails", index: 7, retry: 2,
                    params: [
                        NamedValue("vin", .number(JSONNumber(12.5)), unit: "V"), NamedValue("mode", .string("CC")),
                        NamedValue("count", .number(JSONNumber(Int64(3)))), NamedValue("on", .bool(false)),
                    ])),
            .vectorEnded(
                VectorEnded(stepIndex: 3, stepPath: "power/rails", index: 7, retry: 2, outcome: .passed, error: "late")),
            .measurement(
                Measurement(
                    stepIndex: 3, stepPath: "power/rails", vectorIndex: 7, retry: 2, name: "vout", value: 3.2987654321,
                    unit: "V", outcome: .passed, limitLow: 3.135, limitHigh: 3.465, limitNominal: 3.3, comparator: .GTLT,
                    characteristicID: "VOUT_3V3", specRef: "DS-12 §4.2", dutPin: "J1.3", fixtureConnection: "TP3",
                    instrumentRole: "dmm", instrumentResource: "TCPIP::10.0.0.5::INSTR", instrumentChannel: "1",
                    measuredAt: Timestamp(microseconds: 1_795_700_864_000_001))),
            .observation(
                Observation(
                    stepIndex: 3, stepPath: "power/rails", vectorIndex: 7, retry: 1,
                    NamedValue("ripple", .string("channel://abc/1"), unit: "mV"), dutPin: "J1.4")),
            .record(Record(stepIndex: 3, vectorIndex: 7, key: "debug", value: details)),
            .promptOpened(
                PromptOpened(
                    promptID: "p1", kind: "choice", message: "Pick \"one\"\nplease", choices: ["a", "b c"],
                    timeoutSeconds: 30)),
            .promptAnswered(
                PromptAnswered(promptID: "p1", response: "answered", value: "b c", source: "operator", durationSeconds: 4.25)),
            .instrumentConnected(
                InstrumentConnected(
                    role: "dmm", driver: "keysight-344xx", resource: "USB0::1::2::INSTR", mocked: true,
                    manufacturer: "Keysight", model: "34465A", serial: "MY123", firmware: "3.0", calibrationDue: "2027-01-01",
                    calibrationLast: "2026-01-01", calibrationCertificate: "C-77", calibrationLab: "Lab A")),
            .instrumentDisconnected(InstrumentDisconnected(role: "dmm", resource: "USB0::1::2::INSTR")),
            .instrumentCall(
                InstrumentCall(
                    role: "psu", operation: "set_voltage", arguments: [.number(JSONNumber(3.3)), .string("CH1")],
                    result: .object([("ok", .bool(true))]), error: "timeout", durationMicroseconds: 1500, mocked: true)),
            .mockPatchApplied(MockPatchApplied(role: "dmm", operation: "measure", behavior: "return 5", times: 3, scope: "step")),
            .channelStarted(ChannelStarted(channelID: "ch-1", valueType: "f64", unit: "V", instrumentRole: "scope")),
            .channelEnded(ChannelEnded(channelID: "ch-1", reason: "session_ended", samples: 1_000_000)),
            .diagnostic(Diagnostic(level: .warning, source: "harness", message: "slow", details: details)),
            .diagnostic(Diagnostic(level: .error, source: "driver", message: "gone", details: .string("x"))),
        ]
        return bodies.enumerated().map { i, body in Sample(name: "full \(body.type)", event: event(body, i)) }
    }()

    /// Every body case with every optional nil (and collections empty).
    static let minimal: [Sample] = {
        let bodies: [EventBody] = [
            .sessionStarted(SessionStarted(hostname: "h", pid: 1)),
            .sessionEnded(SessionEnded()),
            .runStarted(RunStarted(dutSerial: "")),
            .runMetadata(RunMetadata(key: "", value: "")),
            .runEnded(RunEnded(outcome: .aborted)),
            .runMaterialized(RunMaterialized(path: "p", rows: 0, materializer: "m")),
            .stepStarted(StepStarted(name: "s", index: 0)),
            .stepEnded(StepEnded(name: "s", index: 0, outcome: .done)),
            .vectorStarted(VectorStarted(stepIndex: 0, stepPath: "s", index: 0)),
            .vectorEnded(VectorEnded(stepIndex: 0, stepPath: "s", index: 0, outcome: .skipped)),
            .measurement(Measurement(stepIndex: 0, stepPath: "s", name: "m", value: nil, outcome: .done)),
            .observation(Observation(NamedValue("o", .null))),
            .record(Record(key: "k", value: .null)),
            .promptOpened(PromptOpened(promptID: "p", kind: "confirm", message: "")),
            .promptAnswered(PromptAnswered(promptID: "p", response: "timed_out", value: nil, source: "auto", durationSeconds: 0)),
            .instrumentConnected(InstrumentConnected(role: "r", driver: "d", resource: "x", mocked: false)),
            .instrumentDisconnected(InstrumentDisconnected(role: "r", resource: "x")),
            .instrumentCall(
                InstrumentCall(role: "r", operation: "o", arguments: [], result: nil, durationMicroseconds: 0, mocked: false)),
            .mockPatchApplied(MockPatchApplied(role: "r", operation: "o", behavior: "b", times: nil, scope: "run")),
            .channelStarted(ChannelStarted(channelID: "c", valueType: "bool")),
            .channelEnded(ChannelEnded(channelID: "c", reason: "retention_prune", samples: 0)),
            .diagnostic(Diagnostic(level: .warning, source: "", message: "")),
            .diagnostic(Diagnostic(level: .error, source: "", message: "")),
        ]
        return bodies.enumerated().map { i, body in
            var e = event(body, i)
            e.runID = nil
            return Sample(name: "minimal \(body.type)", event: e)
        }
    }()

    /// A measurement event with a distinct value, for file tests.
    static func measurement(session: UUID = session, _ i: Int, at: Timestamp = .now()) -> Event {
        Event(
            sessionID: session, runID: run,
            .measurement(
                Measurement(
                    stepIndex: 1, stepPath: "s", vectorIndex: Int64(i % 7), name: "m\(i)", value: Double(i) * 0.5,
                    unit: "V", outcome: .passed, limitLow: 0, limitHigh: 1e9)),
            occurredAt: at)
    }

    /// The case name of a body: an exhaustive switch, so a new case must be added here (and
    /// to the samples above) or this file stops compiling.
    static func caseName(_ body: EventBody) -> String {
        switch body {
        case .sessionStarted: "sessionStarted"
        case .sessionEnded: "sessionEnded"
        case .runStarted: "runStarted"
        case .runMetadata: "runMetadata"
        case .runEnded: "runEnded"
        case .runMaterialized: "runMaterialized"
        case .stepStarted: "stepStarted"
        case .stepEnded: "stepEnded"
        case .vectorStarted: "vectorStarted"
        case .vectorEnded: "vectorEnded"
        case .measurement: "measurement"
        case .observation: "observation"
        case .record: "record"
        case .promptOpened: "promptOpened"
        case .promptAnswered: "promptAnswered"
        case .instrumentConnected: "instrumentConnected"
        case .instrumentDisconnected: "instrumentDisconnected"
        case .instrumentCall: "instrumentCall"
        case .mockPatchApplied: "mockPatchApplied"
        case .channelStarted: "channelStarted"
        case .channelEnded: "channelEnded"
        case .diagnostic(let d): "diagnostic.\(d.level.rawValue)"
        }
    }
    static let allCaseNames: Set<String> = [
        "sessionStarted", "sessionEnded", "runStarted", "runMetadata", "runEnded", "runMaterialized", "stepStarted",
        "stepEnded", "vectorStarted", "vectorEnded", "measurement", "observation", "record", "promptOpened",
        "promptAnswered", "instrumentConnected", "instrumentDisconnected", "instrumentCall", "mockPatchApplied",
        "channelStarted", "channelEnded", "diagnostic.warning", "diagnostic.error",
    ]

    /// Field-by-field equality of two events (Event is not Equatable).
    static func same(_ a: Event, _ b: Event) -> Bool {
        a.id == b.id && a.occurredAt == b.occurredAt && a.sessionID == b.sessionID && a.runID == b.runID
            && a.writer == b.writer && a.sequence == b.sequence && sameBody(a.body, b.body)
    }

    static func sameBody(_ a: EventBody, _ b: EventBody) -> Bool {
        switch (a, b) {
        case (.sessionStarted(let x), .sessionStarted(let y)): x == y
        case (.sessionEnded(let x), .sessionEnded(let y)): x == y
        case (.runStarted(let x), .runStarted(let y)): x == y
        case (.runMetadata(let x), .runMetadata(let y)): x == y
        case (.runEnded(let x), .runEnded(let y)): x == y
        case (.runMaterialized(let x), .runMaterialized(let y)): x == y
        case (.stepStarted(let x), .stepStarted(let y)): x == y
        case (.stepEnded(let x), .stepEnded(let y)): x == y
        case (.vectorStarted(let x), .vectorStarted(let y)): x == y
        case (.vectorEnded(let x), .vectorEnded(let y)): x == y
        case (.measurement(let x), .measurement(let y)): x == y
        case (.observation(let x), .observation(let y)): x == y
        case (.record(let x), .record(let y)): x == y
        case (.promptOpened(let x), .promptOpened(let y)): x == y
        case (.promptAnswered(let x), .promptAnswered(let y)): x == y
        case (.instrumentConnected(let x), .instrumentConnected(let y)): x == y
        case (.instrumentDisconnected(let x), .instrumentDisconnected(let y)): x == y
        case (.instrumentCall(let x), .instrumentCall(let y)): x == y
        case (.mockPatchApplied(let x), .mockPatchApplied(let y)): x == y
        case (.channelStarted(let x), .channelStarted(let y)): x == y
        case (.channelEnded(let x), .channelEnded(let y)): x == y
        case (.diagnostic(let x), .diagnostic(let y)): x == y
        default: false
        }
    }

    /// Encodes one event to its line bytes (with the newline).
    static func lineBytes(_ event: Event) -> [UInt8] {
        var out: [UInt8] = []
        var json = JSONBuffer()
        EventCoding.appendLine(event, to: &out, scratch: &json)
        return out
    }

    /// Whether a line (without newline) passes the CRC check.
    static func checksumMatches(_ line: [UInt8]) -> Bool {
        line.withUnsafeBufferPointer { EventCoding.checksumMatches($0) }
    }

    /// A line for arbitrary JSON object text, with a correct CRC (computed by the reference
    /// CRC-32C below, not by the code under test).
    static func sealed(_ objectText: String) -> [UInt8] {
        let bytes = Array(objectText.utf8)
        let crc = referenceCRC32C(bytes)
        let hex = String(crc, radix: 16)
        let text = String(objectText.dropLast()) + #","crc":""# + String(repeating: "0", count: 8 - hex.count) + hex + "\"}"
        return Array(text.utf8)
    }

    /// Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the reference.
    static func referenceCRC32C(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    /// A fresh directory under the test scratch directory.
    static func freshDirectory(_ name: String) -> String {
        let dir = "\(TestPlugins.scratch)/\(name)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

@Suite struct EventCodingTests {
    typealias Sample = EventSamples.Sample

    @Test func samplesCoverEveryEventType() {
        #expect(Set(EventSamples.full.map { EventSamples.caseName($0.event.body) }) == EventSamples.allCaseNames)
        #expect(Set(EventSamples.minimal.map { EventSamples.caseName($0.event.body) }) == EventSamples.allCaseNames)
    }

    @Test(arguments: EventSamples.full + EventSamples.minimal)
    func roundTrip(_ sample: Sample) throws {
        let bytes = EventSamples.lineBytes(sample.event)
        #expect(bytes.last == UInt8(ascii: "\n"))
        let line = Array(bytes.dropLast())
        #expect(!line.contains(UInt8(ascii: "\n")), "one event, one line")
        #expect(EventSamples.checksumMatches(line))
        let decoded = try EventCoding.decode(line: line)
        #expect(EventSamples.same(decoded, sample.event), "\(String(decoding: line, as: UTF8.self))")
        // The text form is the same line.
        #expect(EventCoding.line(sample.event) == String(decoding: line, as: UTF8.self))
        // The CRC is a CRC-32C of the line without its crc member.
        let withoutCRC = Array(line.dropLast(18)) + [UInt8(ascii: "}")]
        let hex = String(decoding: line.suffix(10).prefix(8), as: UTF8.self)
        #expect(UInt32(hex, radix: 16) == EventSamples.referenceCRC32C(withoutCRC))
    }

    @Test func sessionEventsNeverCarryARunID() throws {
        let e = Event(sessionID: UUID(), runID: UUID(), .sessionStarted(SessionStarted(hostname: "h", pid: 1)))
        #expect(e.runID == nil)
        #expect(!EventCoding.line(e).contains("run_id"))
    }

    @Test func everyFlippedBitFailsTheChecksum() {
        let line = Array(EventSamples.lineBytes(EventSamples.full[10].event).dropLast())
        for i in line.indices {
            for bit in [0, 3, 7] {
                var damaged = line
                damaged[i] ^= UInt8(1 << bit)
                #expect(!EventSamples.checksumMatches(damaged), "flip of bit \(bit) at byte \(i) not detected")
            }
        }
        #expect(!EventSamples.checksumMatches(Array(line.dropLast())), "a truncated line")
        #expect(!EventSamples.checksumMatches([]))
    }

    @Test func specialDoublesAndStringsRoundTrip() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t cr \r nul \u{0} bell \u{7} del \u{7F} Ω µ 😀 é \u{2028}"
        let values: [Double] = [.nan, .infinity, -.infinity, -0.0, 0, 1e-300, -1e300, .greatestFiniteMagnitude,
                                .leastNonzeroMagnitude, 0.1, 1.0 / 3.0, 123_456_789_012_345_680]
        for (i, value) in values.enumerated() {
            let m = Measurement(
                stepIndex: 0, stepPath: nasty, name: nasty, value: value, unit: nasty, outcome: .failed,
                limitLow: -.infinity, limitHigh: .infinity, limitNominal: value, dutPin: nasty)
            var e = Event(sessionID: UUID(), .measurement(m))
            e.writer = nasty
            e.sequence = Int64(i)
            let line = Array(EventSamples.lineBytes(e).dropLast())
            #expect(!line.contains(UInt8(ascii: "\n")))
            #expect(EventSamples.checksumMatches(line))
            let decoded = try EventCoding.decode(line: line)
            guard case .measurement(let d) = decoded.body else {
                Issue.record("not a measurement")
                continue
            }
            #expect(d.name == nasty && d.unit == nasty && d.stepPath == nasty && d.dutPin == nasty)
            #expect(decoded.writer == nasty)
            #expect(d.limitLow == -.infinity && d.limitHigh == .infinity)
            let got = try #require(d.value)
            if value.isNaN {
                #expect(got.isNaN && d.limitNominal!.isNaN)
            } else {
                #expect(got == value && got.sign == value.sign, "\(value) read back as \(got)")
            }
        }
        // Strings inside free-form JSON values, keys included.
        let record = Record(key: nasty, value: .object([(nasty, .array([.string(nasty), .number(JSONNumber(-0.5))]))]))
        let e = EventSamples.event(.record(record))
        let decoded = try EventCoding.decode(line: Array(EventSamples.lineBytes(e).dropLast()))
        #expect(EventSamples.same(decoded, e))
    }

    @Test func validCRCButWrongJSONNamesTheField() throws {
        let good = EventCoding.line(EventSamples.full[10].event)
        // Drop the crc member, change a field's type, and seal it again.
        let object = String(good.dropLast(18)) + "}"
        let wrong = object.replacingOccurrences(of: #""step_index":3"#, with: #""step_index":"three""#)
        #expect(wrong != object)
        let line = EventSamples.sealed(wrong)
        #expect(EventSamples.checksumMatches(line))
        #expect {
            try EventCoding.decode(line: line)
        } throws: { error in
            (error as? EventDecodingError)?.field == "step_index"
        }
        let unknown = EventSamples.sealed(object.replacingOccurrences(of: #""type":"measurement""#, with: #""type":"nope""#))
        #expect {
            try EventCoding.decode(line: unknown)
        } throws: { error in
            (error as? EventDecodingError)?.field == "type"
        }
    }

    @Test func aLogsEncoderWritesTheLinesOfAFreshEncoding() throws {
        // One encoder for a whole log keeps the ids, the writer and the current second as
        // bytes: its lines must not depend on what it encoded before.
        var encoder = EventLineEncoder()
        var out = JSONBuffer()
        let sessions = [UUID(), UUID()], runs = [UUID(), UUID()]
        let times: [Int64] = [
            1_764_000_000_999_999, 1_764_000_001_000_000, 1_764_000_001_000_001, 1_764_000_000_500_000, 0, -1, -1_000_000,
            -1_000_001, 253_402_300_799_999_999,
        ]
        var sequence: Int64 = 0
        for (i, sample) in (EventSamples.full + EventSamples.minimal).enumerated() {
            for time in [times[i % times.count], times[(i + 3) % times.count]] {
                var event = Event(
                    sessionID: sessions[i % 2], runID: i % 3 == 0 ? nil : runs[i / 2 % 2], sample.event.body,
                    occurredAt: Timestamp(microseconds: time), id: sample.event.id)
                event.writer = i % 4 == 0 ? "w\"q" : "writer-1"
                event.sequence = sequence
                out.removeAll()
                encoder.appendLine(event, writer: event.writer, sequence: sequence, to: &out)
                #expect(out.withBytes { Array($0) } == EventSamples.lineBytes(event))
                sequence += 997
            }
        }
    }

    @Test func pythonJSONReadsEveryLine() throws {
        let dir = EventSamples.freshDirectory("coding-python")
        let samples = EventSamples.full + EventSamples.minimal
        var bytes: [UInt8] = []
        for s in samples { bytes += EventSamples.lineBytes(s.event) }
        let path = "\(dir)/all.jsonl"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let script = """
            import json, sys
            rows = []
            for line in open(sys.argv[1], encoding="utf-8"):
                o = json.loads(line)
                rows.append([o["type"], str(o["seq"]), o["id"], o["session_id"], o["crc"]])
            print(json.dumps(rows))
            """
        let rows = try #require(try TestPython.json(script, [path]) as? [[String]])
        try #require(rows.count == samples.count)
        for (row, sample) in zip(rows, samples) {
            #expect(row[0] == sample.event.type)
            #expect(row[1] == "\(sample.event.sequence)")
            #expect(row[2] == sample.event.id.uuidString.lowercased())
            #expect(row[3] == sample.event.sessionID.uuidString.lowercased())
            #expect(row[4].count == 8)
        }
    }
}
