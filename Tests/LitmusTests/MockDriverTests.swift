import Foundation
import Testing

@testable import Litmus

/// The mock driver plugin, loaded through the ABI like any vendor's.
@Suite struct MockDriverTests {
    func mock(_ config: String, _ extra: [String: InstrumentValue] = [:]) throws -> Instrument {
        var options = extra
        options["config"] = .string(config)
        return try TestPlugins.registry.open("MOCK::dmm", options: options)
    }

    @Test func constantsOfEveryType() throws {
        let m = try mock(
            #"""
            {"measure_dc_voltage": 5.0, "read_count": 7, "output_enabled": true, "identify": "ACME,X1,42,1.0",
             "capture": [1.0, 2.5, -3], "read_raw": {"hex": "0a0dff00"}, "measure_current": {"value": 0.25}}
            """#)
        #expect(try m.call("measure_dc_voltage") == .f64(5))
        #expect(try m.call("read_count") == .i64(7))
        #expect(try m.call("output_enabled") == .bool(true))
        #expect(try m.call("identify") == .string("ACME,X1,42,1.0"))
        #expect(try m.call("capture") == .f64Array([1, 2.5, -3]))
        #expect(try m.call("read_raw") == .bytes([0x0A, 0x0D, 0xFF, 0x00]))
        #expect(try m.call("measure_current", .i64(2)) == .f64(0.25))
        #expect(try m.identify().model == "X1")
        try m.call("set_voltage", 3.3)  // void operations need no configuration
    }

    @Test func sequencesRepeatCycleOrError() throws {
        let m = try mock(
            #"""
            {"measure_dc_voltage": {"sequence": [1, 2, 3]},
             "measure_dc_current": {"sequence": [1, 2], "then": "cycle"},
             "measure_resistance": {"sequence": [10], "then": "error"}}
            """#)
        let v = try (0..<5).map { _ in try m.call("measure_dc_voltage").doubleValue! }
        #expect(v == [1, 2, 3, 3, 3])
        let i = try (0..<5).map { _ in try m.call("measure_dc_current").doubleValue! }
        #expect(i == [1, 2, 1, 2, 1])
        #expect(try m.call("measure_resistance") == .f64(10))
        let exhausted = try #require(throws: DriverError.self) { try m.call("measure_resistance") }
        #expect(exhausted.message.contains("exhausted after 1 call"))
    }

    @Test func noiseIsGaussianAndReproducibleWithASeed() throws {
        let config = #"{"measure_dc_voltage": {"nominal": 5.0, "sigma": 0.01, "seed": 7}}"#
        let a = try mock(config), b = try mock(config)
        let xs = try (0..<2000).map { _ in try a.call("measure_dc_voltage").doubleValue! }
        let ys = try (0..<2000).map { _ in try b.call("measure_dc_voltage").doubleValue! }
        #expect(xs == ys)
        let mean = xs.reduce(0, +) / Double(xs.count)
        let sd = (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
        #expect(abs(mean - 5.0) < 0.002)
        #expect(abs(sd - 0.01) < 0.002)
        #expect(Set(xs).count > 1900)
        let other = try mock(#"{"measure_dc_voltage": {"nominal": 5.0, "sigma": 0.01, "seed": 8}}"#)
        #expect(try other.call("measure_dc_voltage") != .f64(xs[0]))
    }

    @Test func lookupByFirstArgument() throws {
        let m = try mock(#"{"measure_voltage": {"lookup": {"1": 5.0, "2": 3.3}, "default": 0.0}, "measure_current": {"lookup": {"1": 0.5}}}"#)
        #expect(try m.call("measure_voltage", .i64(1)) == .f64(5))
        #expect(try m.call("measure_voltage", .i64(2)) == .f64(3.3))
        #expect(try m.call("measure_voltage", .i64(9)) == .f64(0))
        let miss = try #require(throws: DriverError.self) { try m.call("measure_current", .i64(3)) }
        #expect(miss.status == .notFound)
        #expect(miss.message.contains("3"))
    }

    /// Issue 12 #16: a lookup's `default` answers a given key it lacks, never an omitted
    /// argument (the real instrument would pick a channel the mock cannot know): that is a
    /// located error, not a silent 0.0.
    @Test func lookupNeverAnswersAnOmittedArgumentWithItsDefault() throws {
        let m = try mock(#"{"measure_voltage": {"lookup": {"1": 5.0, "2": 3.3}, "default": 0.0}}"#)
        #expect(try m.call("measure_voltage", .i64(9)) == .f64(0))
        let omitted = try #require(throws: DriverError.self) { try m.call("measure_voltage") }
        #expect(omitted.status == .notFound)
        #expect(omitted.message.contains("omitted"), "\(omitted)")
        #expect(omitted.message.contains("Fix:"), "\(omitted)")

        // A lookup patch over a configured constant: a given key it lacks falls through to the
        // constant (layering), an omitted one is the patch's error, never the constant.
        let layered = try mock(#"{"measure_voltage": 0.0}"#)
        let control = try #require(layered.mock)
        try control.patch("measure_voltage", json: #"{"lookup": {"1": 5.001}}"#)
        #expect(try layered.call("measure_voltage", .i64(1)) == .f64(5.001))
        #expect(try layered.call("measure_voltage", .i64(2)) == .f64(0))
        let patchedOmitted = try #require(throws: DriverError.self) { try layered.call("measure_voltage") }
        #expect(patchedOmitted.status == .notFound && patchedOmitted.message.contains("omitted"), "\(patchedOmitted)")
    }

    @Test func injectedErrorsForSomeCallsOrAlways() throws {
        let m = try mock(
            #"""
            {"measure_dc_voltage": {"sequence": [{"error": {"status": -4, "message": "DMM timed out"}},
                                                 {"error": {"status": -4, "message": "DMM timed out"}}, 5.0]},
             "measure_resistance": {"error": {"status": -1005, "message": "relay stuck"}}}
            """#)
        for _ in 0..<2 {
            let e = try #require(throws: DriverError.self) { try m.call("measure_dc_voltage") }
            #expect(e.status == .timeout)
            #expect(e.message == "DMM timed out")
        }
        #expect(try m.call("measure_dc_voltage") == .f64(5))
        for _ in 0..<3 {
            let e = try #require(throws: DriverError.self) { try m.call("measure_resistance") }
            #expect(e.status == DriverStatus(rawValue: -1005))
        }
    }

    @Test func unconfiguredValueOperationFailsNeverReturnsASilentDefault() throws {
        let m = try mock("{}")
        let e = try #require(throws: DriverError.self) { try m.call("measure_dc_voltage") }
        #expect(e.status == .notFound)
        #expect(e.message.contains("mock_config"))
        // State the mock keeps: output_enabled follows enable/disable.
        #expect(try m.call("output_enabled") == .bool(false))
        try m.call("enable_output")
        #expect(try m.call("output_enabled") == .bool(true))
    }

    @Test(arguments: [
        (#"{"measure_dc_voltage": {"nominl": 5}}"#, "nominl"),
        (#"{"measure_dc_voltage": "five"}"#, "measure_dc_voltage"),
        (#"{"read_count": 2.5}"#, "read_count"),
        (#"{"measure_dc_voltage": {"sequence": []}}"#, "measure_dc_voltage"),
        (#"{"measure_dc_voltage": 5.0"#, "JSON"),
        (#"[1, 2]"#, "object"),
    ])
    func invalidConfigurationIsALocatedErrorAtOpen(config: String, mentions: String) throws {
        let e = try #require(throws: DriverError.self) { try mock(config) }
        #expect(e.status == .invalidArgument)
        #expect(e.message.localizedCaseInsensitiveContains(mentions), "\(e)")
    }

    @Test func patchesStackAndExpire() throws {
        let m = try mock(#"{"measure_dc_voltage": 5.0}"#)
        let control = try #require(m.mock)
        let once = try control.patch("measure_dc_voltage", value: .f64(1), times: 1)
        let forever = try control.patch("measure_dc_current", value: .f64(0.5))
        #expect(try m.call("measure_dc_voltage") == .f64(1))
        #expect(try m.call("measure_dc_voltage") == .f64(5))
        #expect(try m.call("measure_dc_current") == .f64(0.5))
        #expect(try m.call("measure_dc_current") == .f64(0.5))
        try control.unpatch(forever)
        try control.unpatch(once)  // already expired: ignored
        #expect(throws: DriverError.self) { try m.call("measure_dc_current") }
        try control.patchError("measure_dc_voltage", status: .io, message: "cable pulled", times: 2)
        let top = try control.patch("measure_dc_voltage", json: #"{"sequence": [7, 8]}"#)
        #expect(try m.call("measure_dc_voltage") == .f64(7))  // newest patch answers first
        try control.unpatch(top)
        #expect(throws: DriverError.self) { try m.call("measure_dc_voltage") }
        try control.resetPatches()
        #expect(try m.call("measure_dc_voltage") == .f64(5))
        let bad = try #require(throws: DriverError.self) { try control.patch("measure_dc_voltage", json: "{nope") }
        #expect(bad.status == .invalidArgument)
    }

    @Test func callTraceRecordsEveryCall() throws {
        let m = try mock(#"{"measure_dc_voltage": 5.0}"#)
        let control = try #require(m.mock)
        try control.clearTrace()
        _ = try m.call("measure_dc_voltage")
        try m.call("set_voltage", 3.3, .i64(2))
        try control.patch("measure_dc_voltage", value: .f64(1), times: 1)
        _ = try m.call("measure_dc_voltage")
        _ = try? m.call("measure_resistance")
        let trace = try control.trace()
        #expect(trace.map(\.operation) == ["measure_dc_voltage", "set_voltage", "measure_dc_voltage", "measure_resistance"])
        #expect(trace.map(\.patched) == [false, false, true, false])
        #expect(trace[3].status == DriverStatus.notFound.rawValue)
        #expect(trace[1].json.contains("3.3"))
        try control.clearTrace()
        #expect(try control.trace().isEmpty)
    }

    @Test func standsInForAnotherDriversOperationTable() throws {
        // A mocked role answers the real driver's operations by name.
        let real = try TestPlugins.registry.driver(id: "example-dmm")
        let m = try TestPlugins.registry.openMock(
            emulating: real, name: "dmm", config: #"{"fetch_buffer": {"sequence": [[1, 2], [3]]}, "read_count": 4}"#)
        #expect(m.emulatedDriver?.id == "example-dmm")
        #expect(m.operations.map(\.name) == real.operations.map(\.name))
        #expect(try m.call("fetch_buffer", .i64(2)) == .f64Array([1, 2]))
        #expect(try m.call("read_count") == .i64(4))  // converted to the real table's type
        // The real table's parameters are checked before the mock sees the call.
        #expect(throws: DriverError.self) { try m.call("fetch_buffer", .i64(0)) }
        let unknown = try #require(throws: DriverError.self) { try m.call("measure_dc_voltag") }
        #expect(unknown.message.contains("(mocked)"))
    }
}
