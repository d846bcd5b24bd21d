import Foundation
import Litmus
import struct Litmus.Measurement
import LitmusJSON
import Testing

/// What a test body uses inside a Litmus test (a test under ``LitmusStationTrait``): the
/// pytest plugin's fixtures as task-local functions.
///
/// ```swift
/// @Test(.litmusLimits(["vout": .between(3.2, 3.4, unit: "V")]), arguments: try Sweep.product(Axis("vin", [5, 12])))
/// func outputVoltage(_ point: Vector) throws {
///     try Litmus.use(point)
///     try Litmus.instrument("psu").call("set_voltage", .f64(point.double("vin")!))
///     try Litmus.verify("vout", try Litmus.pins["VOUT"].instrument.call("measure_dc_voltage").doubleValue)
/// }
/// ```
///
/// Calling these outside a Litmus test throws ``LitmusTestingError`` naming the missing trait.
/// The state is per case and task-local: child tasks of the test body see it, detached tasks
/// do not.
public enum Litmus {
    static func scope(_ what: String) throws -> LitmusCaseScope {
        guard let scope = LitmusCaseScope.current else {
            let hint = LitmusTestScope.current == nil ? "" : " (it was called outside the test body's task: use a child task, not Task.detached)"
            throw LitmusTestingError(
                "Litmus.\(what) works only inside a test with a Litmus station: add .litmusStation(\"stations/<bench>.yaml\", dutSerial: ...) to the test or its @Suite\(hint)")
        }
        return scope
    }

    // MARK: Measurements

    /// Records a measurement and judges it against its limit: the explicit `limit`, else the
    /// test's limits (traits, sidecar), else the part's spec for the case's parameters. A
    /// failure becomes a Swift Testing issue naming the value, the limit, the DUT pin and the
    /// instrument, and the test fails (unless a retry passes); the test body goes on.
    ///
    /// - Throws: ``LitmusTestingError`` when no limit applies (write one: a verify without a
    ///   limit judges nothing); errors of the event log.
    @discardableResult
    public static func verify(
        _ name: String, _ value: Double?, unit: String? = nil, limit: Limit? = nil, pin: String? = nil, connection: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Outcome {
        let scope = try scope("verify")
        try scope.start(from: sourceLocation)
        let m = try scope.harness.measurement(name, value, unit: unit, limit: limit, pin: pin, connection: connection)
        if m.outcome == .done {
            throw LitmusTestingError(
                "no limit for \"\(name)\" (recorded unchecked): add it to .litmusLimits, the sidecar file, or the part's characteristics; use Litmus.measure to record without judging")
        }
        if m.outcome == .failed || m.outcome == .errored { scope.fail(describe(m, scope: scope), at: sourceLocation) }
        return m.outcome
    }

    /// Records a value with its limit (if one resolves) but never judges it: the outcome is
    /// `done` (`errored` without a value). Never fails the test.
    @discardableResult
    public static func measure(
        _ name: String, _ value: Double?, unit: String? = nil, limit: Limit? = nil, pin: String? = nil, connection: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Outcome {
        let scope = try scope("measure")
        try scope.start(from: sourceLocation)
        return try scope.harness.measurement(name, value, unit: unit, limit: limit, pin: pin, connection: connection, judge: false).outcome
    }

    /// The issue text of a failed verdict: value, limit, where it was measured, the case.
    static func describe(_ m: Measurement, scope: LitmusCaseScope) -> String {
        let unit = m.unit.map { " \($0)" } ?? ""
        let value = m.value.map { "\(RangeExpander.format($0))\(unit)" } ?? "no value"
        var text = "\(m.name) = \(value) \(m.outcome == .failed ? "is outside its limit" : "could not be judged")"
        let low = m.limitLow.map(RangeExpander.format), high = m.limitHigh.map(RangeExpander.format)
        switch (low, high) {
        case let (l?, h?): text += ": limit \(l)...\(h)\(unit)"
        case let (l?, nil): text += ": limit >= \(l)\(unit)"
        case let (nil, h?): text += ": limit <= \(h)\(unit)"
        case (nil, nil): if m.outcome == .failed, let n = m.limitNominal { text += ": limit == \(RangeExpander.format(n))\(unit)" }
        }
        if let c = m.comparator, low != nil || high != nil { text += " (\(c.rawValue))" }
        if let id = m.characteristicID { text += ", characteristic \(id)" }
        if let ref = m.specRef { text += " [\(ref)]" }
        var place: [String] = []
        if let pin = m.dutPin { place.append("DUT pin \(pin)") }
        if let c = m.fixtureConnection { place.append("connection \(c)") }
        if let role = m.instrumentRole {
            var instrument = "instrument \(role)"
            if let r = m.instrumentResource { instrument += " (\(r))" }
            if let ch = m.instrumentChannel { instrument += " channel \(ch)" }
            place.append(instrument)
        }
        if !place.isEmpty { text += "; " + place.joined(separator: ", ") }
        let params = scope.harness.context.allParams.map { "\($0.name)=\($0.value)" }
        if !params.isEmpty { text += "; vector " + params.joined(separator: ", ") }
        return text
    }

    // MARK: The case and its context

    /// Gives a parameterized test's case its sweep point: its parameters become the vector's
    /// `in_*` columns and the conditions of spec limits. Call it first in the test body.
    public static func use(_ vector: Vector) throws {
        try scope("use").use(vector)
    }

    /// The case's context (vector scope): `configure`, `observe`, `param`, `changed`, `last`.
    public static var context: Context {
        get throws {
            let scope = try scope("context")
            try scope.start(from: nil)
            return scope.harness.context
        }
    }

    /// Records an observation of the case: a scalar, text, a flag, or an array of samples (to
    /// the channel store; the row gets its `channel://` URI).
    public static func observe(_ name: String, _ value: ObservedValue, unit: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let scope = try scope("observe")
        try scope.start(from: sourceLocation)
        try scope.harness.context.observe(name, value, unit: unit)
    }

    /// Appends one sample to the run's channel `name` (a time series: temperature, current
    /// over a soak) and returns its `channel://` URI; record it with ``observe(_:_:unit:sourceLocation:)``
    /// to put it on the case's row.
    @discardableResult
    public static func stream(_ name: String, _ value: Double, unit: String? = nil) throws -> String {
        let scope = try scope("stream")
        guard let store = scope.harness.channelStore else {
            throw LitmusTestingError("Litmus.stream(\"\(name)\"): the run has no channel store (it has no data directory)")
        }
        return try store.channel(name, type: .f64, unit: unit).append(value).description
    }

    /// Records a diagnostic value (a firmware version, a register dump) in the case.
    public static func record(_ key: String, _ value: ObservedValue, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let scope = try scope("record")
        try scope.start(from: sourceLocation)
        let json: JSONValue
        switch value {
        case .number(let v): json = .number(JSONNumber(v))
        case .text(let s): json = .string(s)
        case .bool(let b): json = .bool(b)
        case .samples(let s): json = .array(s.map { .number(JSONNumber($0)) })
        }
        try scope.harness.record(key, json)
    }

    /// Asks the operator the named prompt of `.litmusPrompts` and records question and answer.
    @discardableResult
    public static func prompt(_ key: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> PromptAnswer {
        let scope = try scope("prompt")
        guard let p = scope.test.configuration.prompts[key] else {
            let known = scope.test.configuration.prompts.keys.sorted()
            throw LitmusTestingError(
                "no prompt \"\(key)\": add it with .litmusPrompts([\"\(key)\": .confirm(\"...\")])\(known.isEmpty ? "" : "; known: \(known.joined(separator: ", "))")")
        }
        try scope.start(from: sourceLocation)
        return try scope.harness.prompt(p.message, kind: p.kind, choices: p.choices, timeout: p.timeout, image: p.image)
    }

    // MARK: The bench

    /// The instrument of a station role (a mocked role answers like the real one).
    public static func instrument(_ role: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Instrument {
        let scope = try scope("instrument")
        try scope.start(from: sourceLocation)
        return try scope.test.run.bench.station.instrument(role)
    }

    /// DUT pins through the fixture: `try Litmus.pins["VOUT"]` resolves the connection, the
    /// instrument and its channel, and closes the connection's switch route for the rest of
    /// the attempt.
    public static var pins: LitmusPins {
        get throws { LitmusPins(scope: try scope("pins")) }
    }

    /// The fixture connections the test is bound to (`.litmusConnections`, and those of the
    /// pins of `.litmusCharacteristics`), resolved like ``pins``.
    public static var connections: [LitmusPin] {
        get throws {
            let scope = try scope("connections")
            let config = scope.test.run.bench.configuration
            let site = scope.harness.site
            var names = scope.test.configuration.connections
            for id in scope.test.configuration.characteristics {
                guard let c = config.part?.characteristic(id) else { continue }
                for pin in c.pins {
                    if let t = try? config.trace(pin: pin, function: c.function, site: site), !names.contains(t.connection) {
                        names.append(t.connection)
                    }
                }
            }
            return try names.map { try LitmusPins(scope: scope).connection($0) }
        }
    }

    /// The open bench (configuration, roles, identity and calibration records).
    public static var station: OpenStation { get throws { try scope("station").test.run.bench.station } }

    /// The part under test, if the station has one.
    public static var part: Part? { get throws { try scope("part").test.run.bench.configuration.part } }

    /// The test's limits by name (traits and sidecar, merged).
    public static var limits: [String: Limit] { get throws { try scope("limits").test.configuration.limits } }

    /// The run's custom metadata (`set`, `get`), stored with the run.
    public static var run: RunContext { get throws { try scope("run").test.run.logger.runContext } }

    /// The run's identity (DUT serial, station, phase...).
    public static var runIdentity: RunIdentity { get throws { try scope("runIdentity").test.run.logger.identity } }
}

/// DUT pins of the bench's fixture; see ``Litmus/pins``.
public struct LitmusPins {
    let scope: LitmusCaseScope

    /// The connection to `pin` (a part pin key such as `VOUT`); `function` picks one when
    /// several connections reach the pin (`dc_voltage`, `dc_current`).
    public subscript(pin: String, function function: String? = nil) -> LitmusPin {
        get throws {
            try scope.start(from: nil)
            let config = scope.test.run.bench.configuration
            do {
                return try resolve(try config.trace(pin: pin, function: function, site: scope.harness.site))
            } catch let error as TraceError {
                throw LitmusTestingError("Litmus.pins[\"\(pin)\"]: \(error.message)")
            }
        }
    }

    /// The fixture connection called `name`.
    public func connection(_ name: String) throws -> LitmusPin {
        try scope.start(from: nil)
        let config = scope.test.run.bench.configuration
        do {
            return try resolve(try config.trace(connection: name, site: scope.harness.site))
        } catch let error as TraceError {
            throw LitmusTestingError("Litmus connection \"\(name)\": \(error.message)")
        }
    }

    private func resolve(_ trace: TraceLocation) throws -> LitmusPin {
        if let route = trace.route { try scope.close(route) }
        return LitmusPin(trace: trace, instrument: try scope.test.run.bench.station.instrument(trace.role))
    }
}

/// A DUT pin as wired on the fixture: the connection, the instrument and its channel.
public struct LitmusPin: Sendable {
    /// Pin key, designator, net, connection, role, channel, terminal, resource, route.
    public let trace: TraceLocation
    /// The instrument the connection goes to.
    public let instrument: Instrument

    /// The instrument channel (for channel parameters), if the connection names one.
    public var channel: String? { trace.channel }
    /// The station role.
    public var role: String { trace.role }
    /// The fixture connection's name.
    public var connection: String { trace.connection }

    /// ``Litmus/verify(_:_:unit:limit:pin:connection:sourceLocation:)`` traced through this connection.
    @discardableResult
    public func verify(_ name: String, _ value: Double?, unit: String? = nil, limit: Limit? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        try Litmus.verify(name, value, unit: unit, limit: limit, connection: trace.connection, sourceLocation: sourceLocation)
    }
}
