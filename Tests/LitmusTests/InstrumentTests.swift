import Dispatch
import Foundation
import Testing

@testable import Litmus

/// The instrument handle and its one dispatch point, through the example C driver and the mock.
@Suite struct InstrumentTests {
    func example() throws -> Instrument {
        try TestPlugins.registry.open("EXAMPLE::dmm0::INSTR", options: ["serial": "SN-42", "timeout_ms": .i64(500)])
    }

    @Test func typedOperationsOfTheExampleCDriver() throws {
        let dmm = try example()
        #expect(try dmm.call("measure_dc_voltage").doubleValue != nil)
        #expect(try dmm.call("measure_resistance").doubleValue != nil)
        #expect(try dmm.call("is_autorange").boolValue != nil)
        try dmm.call("set_range", "RES", 1000.0)
        try dmm.call("set_range", named: ["function": "DCV"])
        let buffer = try #require(try dmm.call("fetch_buffer", .i64(5)).arrayValue)
        #expect(buffer.count == 5)
        #expect(try dmm.call("read_calibration_blob").bytesValue?.isEmpty == false)
        #expect(try dmm.call("read_count").intValue != nil)
        #expect(try dmm.identify().serial == "SN-42")
    }

    @Test func argumentsAreCheckedBeforeTheyReachTheDriver() throws {
        let dmm = try example()
        let missing = try #require(throws: DriverError.self) { try dmm.call("set_range") }
        #expect(missing.status == .invalidArgument)
        #expect(missing.message.contains("needs argument 'function'"))
        let choice = try #require(throws: DriverError.self) { try dmm.call("set_range", "RESS") }
        #expect(choice.message.contains("is not one of DCV, RES. Did you mean 'RES'?"))
        let type = try #require(throws: DriverError.self) { try dmm.call("set_range", 5.0) }
        #expect(type.message.contains("must be string, got f64"))
        let range = try #require(throws: DriverError.self) { try dmm.call("fetch_buffer", .i64(0)) }
        #expect(range.message.contains("is outside 1...100000"))
        let tooMany = try #require(throws: DriverError.self) { try dmm.call("measure_dc_voltage", 1.0) }
        #expect(tooMany.message.contains("takes 0 arguments, got 1"))
        let unknown = try #require(throws: DriverError.self) { try dmm.call("measure_dc_voltag") }
        #expect(unknown.status == .notFound)
        #expect(unknown.message.contains("Did you mean 'measure_dc_voltage'?"))
        #expect(unknown.message.contains("Operations: measure_dc_voltage"))
        let named = try #require(throws: DriverError.self) { try dmm.call("set_range", named: ["fuction": "DCV"]) }
        #expect(named.message.contains("has no parameter 'fuction'. Did you mean 'function'?"))
        // An integral f64 is accepted for an i64 parameter; a fractional one is not.
        #expect(try dmm.call("fetch_buffer", 2.0).arrayValue?.count == 2)
        #expect(throws: DriverError.self) { try dmm.call("fetch_buffer", 2.5) }
    }

    @Test func openOptionsAreTypedAgainstTheDriver() throws {
        let typo = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("EXAMPLE::dmm0::INSTR", options: ["seriall": "x"])
        }
        #expect(typo.message.contains("unknown open option 'seriall'. Did you mean 'serial'?"))
        let type = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("EXAMPLE::dmm0::INSTR", options: ["nplc": "fast"])
        }
        #expect(type.message.contains("open option 'nplc' must be f64, got string"))
        let range = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("EXAMPLE::dmm0::INSTR", options: ["nplc": 1000.0])
        }
        #expect(range.message.contains("is outside 0.01...100") || range.message.contains("outside"))
        let badResource = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("EXAMPLE::", driver: "example-dmm")
        }
        #expect(badResource.context.hasPrefix("open example-dmm EXAMPLE::"))
    }

    @Test func messageIOAndSessionControlOfTheExampleCDriver() throws {
        let dmm = try example()
        #expect(try dmm.query("*IDN?").contains("SN-42"))
        try dmm.write("MEAS:VOLT:DC?")
        #expect(try dmm.readSTB() & 0x10 != 0)  // MAV: a response is waiting
        try dmm.clear()
        #expect(try dmm.readSTB() & 0x10 == 0)
        let timeout = try #require(throws: DriverError.self) { try dmm.read() }
        #expect(timeout.status == .timeout)
        try dmm.write("NOT:A:COMMAND")
        let errors = try #require(throws: InstrumentErrors.self) { try dmm.checkErrors() }
        #expect(errors.errors.first?.code == -113)
        try dmm.trigger()
    }

    @Test func closedSessionsFailClearlyAndCloseIsIdempotent() throws {
        let dmm = try example()
        dmm.close()
        dmm.close()
        #expect(!dmm.isOpen)
        let error = try #require(throws: DriverError.self) { try dmm.call("measure_dc_voltage") }
        #expect(error.status == .closed)
    }

    @Test func unsupportedEntriesAreReportedNotCalled() throws {
        let mock = try TestPlugins.registry.open("MOCK::plain")
        let stb = try #require(throws: DriverError.self) { try mock.readSTB() }
        #expect(stb.status == .unsupported)
        let write = try #require(throws: DriverError.self) { try mock.write("*IDN?") }
        #expect(write.status == .unsupported)
        #expect(write.message.contains("not message-based"))
    }

    /// Interceptors see every typed call and can answer it themselves.
    final class Recorder: CallInterceptor, @unchecked Sendable {
        let lock = NSLock()
        var seen: [String] = []
        var override: InstrumentValue?
        func intercept(_ request: CallRequest, proceed: (CallRequest) throws -> InstrumentValue) throws -> InstrumentValue {
            lock.withLock { seen.append("\(request.operation.name)(\(request.arguments.map(\.description).joined(separator: ",")))") }
            if let override = lock.withLock({ override }) { return override }
            return try proceed(request)
        }
    }

    @Test func everyCallGoesThroughTheInterceptorChain() throws {
        let dmm = try example()
        let outer = Recorder(), inner = Recorder()
        dmm.interceptors = [outer, inner]
        _ = try dmm.call("fetch_buffer", .i64(2))
        inner.override = .f64(42)
        #expect(try dmm.call("measure_dc_voltage") == .f64(42))
        #expect(outer.seen == ["fetch_buffer(2)", "measure_dc_voltage()"])
        #expect(inner.seen == outer.seen)
    }

    @Test func asyncCallsRunOffTheCooperativePool() async throws {
        let dmm = try example()
        async let a = dmm.call("measure_dc_voltage")
        async let b = dmm.query("*IDN?")
        let (volts, idn) = try await (a, b)
        #expect(volts.doubleValue != nil)
        #expect(idn.contains("SN-42"))
        // The blocking call ran on the instrument's own serial queue.
        let queue = try await dmm.run { _ in DispatchQueue.getSpecific(key: Instrument.queueKey) }
        #expect(queue == "EXAMPLE::dmm0::INSTR")
    }

    @Test func sessionsOfOneDriverRunInParallel() async throws {
        let instruments = try (0..<4).map { _ in try example() }
        let sums = try await withThrowingTaskGroup(of: Double.self) { group in
            for dmm in instruments {
                group.addTask {
                    var sum = 0.0
                    for _ in 0..<200 { sum += try await dmm.call("measure_dc_voltage").doubleValue ?? .nan }
                    return sum
                }
            }
            return try await group.reduce(into: [Double]()) { $0.append($1) }
        }
        #expect(sums.count == 4)
        #expect(sums.allSatisfy { $0.isFinite })
    }
}
