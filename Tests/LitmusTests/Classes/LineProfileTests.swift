import Foundation
import Testing

@testable import Litmus

/// Line-protocol profiles (issue 16 item 2): a non-SCPI instrument driven by a profile alone,
/// over the LAN driver on loopback to `litmus-fake-instruments line-psu`. Before, a profile
/// refused a query without `?`, had no way to read `V1=15.002` or to see `E03 SYNTAX` as an
/// error, and always used the driver's termination.
@Suite struct LineProfileTests {
    /// The shipped profile's base, with extra operations that provoke the supply's errors.
    static let probeProfile: String = {
        let shipped = (try? String(contentsOfFile: LinePSUBench.shippedProfiles + "/acme_line_psu.yaml", encoding: .utf8)) ?? ""
        return shipped.replacingOccurrences(of: "id: acme_line_psu\n", with: "id: probe_psu\n") + """
              bogus:
                write: "FOO {x}"
                params: {x: {type: i64}}
              voltage_of:
                query: "VOUT{n}"
                params: {n: {type: i64}}
                reply: "V{n}={value:number V}"
                returns: f64
              misread:
                query: "VOUT1"
                reply: "X1={value:number V}"
                returns: f64

            """
    }()

    @Test func setsAndReadsBackTypedValuesWithoutQuestionMarks() throws {
        let fixture = try LinePSUBench()
        let psu = try fixture.psu
        // The identity came from the profile's `identify` (`ID`), not *IDN?.
        #expect(fixture.bench.roles[0].identity?.manufacturer == "ACME PS-2000")
        #expect(fixture.bench.report.warnings.isEmpty, "\(fixture.bench.report)")

        try psu.call("set_voltage", 15.0, "1")
        try psu.call("set_voltage", 4.5, "2")
        try psu.call("set_current_limit", 0.25, "2")
        #expect(try psu.call("voltage_setpoint", "1") == .f64(15))
        #expect(try psu.call("voltage_setpoint", "2") == .f64(4.5))
        #expect(try psu.call("output_enabled", "1") == .bool(false))
        #expect(try psu.call("measure_voltage", "1") == .f64(0))
        try psu.call("enable_output", "1")
        #expect(try psu.call("output_enabled", "1") == .bool(true))
        #expect(try psu.call("output_enabled", "2") == .bool(false))
        #expect(try psu.call("measure_voltage", "1") == .f64(15.002))
        #expect(try psu.call("measure_voltage") == .f64(15.002))  // the channel's default: 1
        // `I1=15.002mA`, read through the unit of {value:number A}.
        let amps = try #require(try psu.call("measure_current", "1").doubleValue)
        #expect(abs(amps - 0.015002) < 1e-12)
        try psu.call("disable_output", "1")
        #expect(try psu.call("output_enabled", "1") == .bool(false))

        // What went over the wire: plain lines, no SCPI query or error-queue traffic.
        let received = fixture.received
        #expect(received.first == "ID", "\(received)")
        #expect(received.contains("VSET1 15"))
        #expect(received.contains("ISET2 0.25"))
        #expect(received.contains("OUT1 1"))
        #expect(received.contains("VOUT1"))
        #expect(!received.contains { $0.contains("?") }, "\(received)")
    }

    @Test func errorRepliesBecomeDriverErrorsWithTheInstrumentsText() throws {
        let fixture = try LinePSUBench(profile: "probe_psu", profiles: ["probe_psu": Self.probeProfile])
        let psu = try fixture.psu

        // A write whose acknowledgement is an error reply.
        do {
            try psu.call("bogus", .i64(7))
            Issue.record("FOO 7 must fail")
        } catch let e as DriverError {
            #expect(e.status == .instrument)
            #expect(e.vendorCode == 3)
            #expect(e.message == "'bogus': the instrument answered \"E03 SYNTAX\" to \"FOO 7\"", "\(e)")
        }
        // A query answered with an error reply.
        do {
            _ = try psu.call("voltage_of", .i64(3))
            Issue.record("VOUT3 must fail")
        } catch let e as DriverError {
            #expect(e.status == .instrument)
            #expect(e.vendorCode == 4)
            #expect(e.message.contains("\"E04 CHANNEL\" to \"VOUT3\""), "\(e)")
        }
        // A reply that matches neither the error reply nor the operation's pattern.
        do {
            _ = try psu.call("misread")
            Issue.record("a reply of another shape must fail")
        } catch let e as DriverError {
            #expect(e.status == .protocolViolation)
            #expect(e.message.contains("the reply \"V1=0.000\" to \"VOUT1\" does not match \"X1={value:number V}\": at character 1 expected \"X1=\""), "\(e)")
        }
        // The session stays in step after each error: the next call reads its own reply.
        try psu.call("set_voltage", 2.5, "2")
        #expect(try psu.call("voltage_setpoint", "2") == .f64(2.5))
        #expect(try psu.call("voltage_of", .i64(2)) == .f64(0))

        // Arguments the profile refuses are never sent.
        #expect(throws: DriverError.self) { try psu.call("set_voltage", 31.0, "1") }
        #expect(throws: DriverError.self) { try psu.call("set_voltage", 1.0, "3") }
        #expect(!fixture.received.contains { $0.hasPrefix("VSET1 31") || $0.hasPrefix("VSET3") }, "\(fixture.received)")
    }

    @Test func theRolesTerminationWinsOverTheProfiles() throws {
        // The supply ends lines with \r; a role that insists on \n never sees a reply end.
        let fixture = try LinePSUBench(roleOptions: "    options: {read_termination: \"\\n\", timeout_ms: 300}")
        #expect(fixture.bench.roles[0].identity == nil)
        #expect(throws: DriverError.self) { try fixture.psu.call("output_enabled", "1") }
    }

    // MARK: - Reply patterns

    @Test func patternsReadTypedCapturesWithUnits() throws {
        let volts = try ReplyPattern("V{channel}={value:number V}")
        for (reply, expected) in [("V1=15.002", 15.002), ("V1=15.002V", 15.002), ("V1=15002mV", 15.002), ("V1= 1.5e1 V", nil), ("  V1=-2.5 V\r\n", -2.5)] {
            let result = volts.match(reply, sent: ["channel": "1"])
            if let expected {
                #expect(result == .success(["value": .f64(expected)]), "\(reply)")
            } else {
                #expect(throws: (any Error).self, "\(reply)") { try result.get() }
            }
        }
        #expect(volts.match("V2=1", sent: ["channel": "1"]) == .failure(.init(position: 2, expected: "\"1\" (the channel sent)")))
        #expect(volts.match("V1=1.0 volts", sent: ["channel": "1"]) == .failure(.init(position: 7, expected: "the end of the reply")))

        let error = try ReplyPattern("E{code:integer} {message:string}")
        #expect(error.match("E03 SYNTAX ERROR") == .success(["code": .i64(3), "message": .string("SYNTAX ERROR")]))
        #expect(try ReplyPattern("OUT{n}={on:bool}").match("OUT2=off", sent: ["n": "2"]) == .success(["on": .bool(false)]))
        #expect(try ReplyPattern("{name:string},{serial:string},FW{fw:number}").match("ACME PS-2000,SN1234,FW1.2")
            == .success(["name": .string("ACME PS-2000"), "serial": .string("SN1234"), "fw": .f64(1.2)]))
        #expect(try ReplyPattern("{{{x:integer}}}").match("{42}") == .success(["x": .i64(42)]))

        // A long hostile reply is one linear pass: no backtracking over a string capture.
        let long = String(repeating: "E", count: 1 << 20)
        #expect(error.match(long) == .failure(.init(position: 2, expected: "an integer for {code}")))
        #expect(try ReplyPattern("{a:string}x{b:string}y").match(String(repeating: "x", count: 1 << 20)) != .success([:]))
    }

    @Test func badPatternsAreRefusedWithTheReason() {
        for (text, message) in [
            ("V{value:float}", "{value:float}: the capture type must be number, integer, bool or string"),
            ("{a:string}{b:integer}", "the string capture {a:string} must be followed by literal text or end the pattern"),
            ("{x:integer V}", "{x:integer V}: only a number capture has a unit"),
            ("V{x:number}={x:number}", "the capture {x} appears twice"),
            ("V{", "'{' without a closing '}' (write {{ for a literal brace)"),
            ("{Chan}", "{Chan} is not a parameter name (lower-case letters, digits and '_')"),
        ] {
            #expect(throws: ReplyPatternError(message), "\(text)") { try ReplyPattern(text) }
        }
    }

    // MARK: - Profile files

    func errors(_ yaml: String) throws -> [String] {
        let reader = ConfigReader()
        let node = try reader.parse(yaml, file: "p.yaml")
        #expect(InstrumentProfile.parse(node, id: "p", reader: reader) == nil)
        return reader.report.errors.map(\.description)
    }

    @Test func lineProfileMistakesAreLocatedWithTheFix() throws {
        let actual = try errors("""
            protocol: line
            error_query: "ERR"
            acknowledge: "OK {channel}"
            error_reply: "E{code:string};"
            operations:
              a: {query: "VOUT{ch}", params: {ch: {type: string}}, reply: "V{channel}={value:number}", returns: f64}
              b: {query: "STAT", reply: "{on:bool}", returns: f64}
              c: {query: "IOUT", reply: "{value:number mA}", returns: f64, unit: A}
              d: {query_block: "DATA", reply: "{value:number}"}
            """)
        #expect(actual == [
            "p.yaml:3:14: acknowledge: {channel} names a parameter, but `acknowledge` is shared by every write. Fix: give the operation its own `reply:` to echo a parameter",
            "p.yaml:4:14: error_reply: the capture {code} is the instrument's error number. Fix: write {code:integer}",
            "p.yaml:2:14: error_query: `error_query` drains an SCPI error queue, and this profile speaks a line protocol. Fix: describe the instrument's error replies with `error_reply`, e.g. \"E{code:integer} {message:string}\"",
            "p.yaml:6:63: operations.a.reply: {channel} is not a parameter of 'a'. Fix: echo a parameter (ch), or capture the text: {channel:string}",
            "p.yaml:7:29: operations.b.reply: the capture {on:bool} cannot give the result type f64. Fix: capture a number, or change `returns`",
            "p.yaml:8:29: operations.c.reply: the capture reads mA, but the operation's unit is A. Fix: use one unit in both places",
            "p.yaml:9:35: operations.d.reply: a `query_block` reply is a binary block, not text. Fix: remove `reply`, or use `query:`",
        ])
        // The same queries in an SCPI profile: a query needs its '?'.
        #expect(try errors("operations: {a: {query: \"VOUT1\", returns: f64}}").first?.contains("sends no query") == true)
    }

    @Test func lineProfileRoundTrips() throws {
        let reader = ConfigReader()
        let original = try #require(InstrumentProfile.load(path: LinePSUBench.shippedProfiles + "/acme_line_psu.yaml", reader: reader))
        #expect(reader.report.isEmpty, "\(reader.report)")
        #expect(original.dialect == .line)
        #expect(original.readTermination == "\r" && original.writeTermination == "\r")
        #expect(original.classes == ["dc_power_supply"])
        let text = ConfigEncoding.string(original.yaml())
        let again = InstrumentProfile.parse(try reader.parse(text, file: "again.yaml"), id: original.id, reader: reader)
        #expect(reader.report.isEmpty, "\(reader.report)")
        #expect(again == original, "\(text)")
    }
}
