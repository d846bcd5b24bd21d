import Foundation
import Litmus
import LitmusJSON
import LitmusRunner

/// What the web screen shows of one board: its steps with status, the current vector, the
/// measurements as they became durable, the progress, and at the end the verdict. Built only
/// from the run's events (``apply(_:)``), so a reloaded tab or a restarted server gets the same
/// board from the event log.
///
/// Each event it takes also becomes a message for the open screens (``apply(_:)`` returns it):
/// the screens apply the same change to their copy.
struct LiveBoard: Sendable {
    /// The most measurements kept for the screen (the run file has all of them): a run that
    /// logs a million measurements keeps the server's memory flat.
    static let measurementLimit = 500

    struct Step: Sendable {
        var index: Int64
        var path: String
        var name: String
        var role: String?
        var outcome: Outcome?
        var error: String?
    }

    let serial: String
    var operatorID: String?
    var sessionID: UUID?
    /// Whether this server started the board (false: found in the event log at start-up).
    var startedHere: Bool
    var progress: RunProgress
    var steps: [Step] = []
    var vector: (step: String, index: Int64, retry: Int64, params: String)?
    var measurements: [Litmus.Measurement] = []
    var measurementTotal = 0
    /// Set once the board has ended: its verdict and why.
    var verdict: (outcome: Outcome, reason: String?)?
    var runFile: String?

    init(serial: String, operatorID: String?, expected: RunProgress.Expectation?, startedHere: Bool = true) {
        self.serial = serial
        self.operatorID = operatorID
        self.startedHere = startedHere
        progress = RunProgress(serial: serial, expected: expected)
    }

    /// Takes one event of the board's session; returns the message for the screens (nil when
    /// the event changes nothing they show).
    mutating func apply(_ event: Event) -> Message? {
        progress.apply(event)
        if sessionID == nil { sessionID = event.sessionID }
        if let runID = progress.runID, let other = event.runID, other != runID { return nil }
        var j = JSONBuffer()
        switch event.body {
        case .runStarted(let r):
            guard progress.runID == event.runID else { return nil }
            j.beginObject()
            j.field("run_id", event.runID?.uuidString.lowercased())
            j.field("started_at", event.occurredAt.microseconds / 1000)
            j.field("part", r.dutPartNumber)
            j.endObject()
            return Message(type: "run", json: j)
        case .stepStarted(let s):
            steps.append(Step(index: s.index, path: s.path, name: s.name, role: s.role))
            vector = nil
            Self.write(steps.last!, &j)
            return Message(type: "step", json: j)
        case .stepEnded(let s):
            guard let i = steps.lastIndex(where: { $0.path == s.path }) else { return nil }
            steps[i].outcome = s.outcome
            steps[i].error = s.error
            Self.write(steps[i], &j)
            return Message(type: "step", json: j)
        case .vectorStarted(let v):
            let params = v.params.map { "\($0.name)=\(RunTable.text($0.value) ?? "")\($0.unit.map { " \($0)" } ?? "")" }.joined(separator: " ")
            vector = (v.stepPath, v.index, v.retry, params)
            Self.writeVector(vector!, &j)
            return Message(type: "vector", json: j)
        case .measurement(let m):
            guard progress.runID != nil else { return nil }
            measurementTotal += 1
            measurements.append(m)
            if measurements.count > Self.measurementLimit { measurements.removeFirst(measurements.count - Self.measurementLimit) }
            // `at`: when it was measured (µs), for the latency benchmark.
            Self.write(m, &j, total: measurementTotal, at: event.occurredAt.microseconds)
            return Message(type: "measurement", json: j)
        case .runEnded:
            return nil  // the verdict comes with the board's end (the process may still fail)
        default:
            return nil
        }
    }

    /// Ends the board with the runner's verdict; the message carries the failing
    /// measurements and today's yield.
    mutating func end(_ board: StationRunner.Board?, outcome: Outcome, reason: String?, yield: YieldCounter) -> Message {
        verdict = (outcome, reason)
        if let board {
            progress = board.progress
            runFile = board.runFile
        }
        var j = JSONBuffer()
        j.beginObject()
        writeVerdict(&j)
        j.key(static: "yield")
        yield.write(&j)
        j.endObject()
        return Message(type: "verdict", json: j)
    }

    /// The whole board, for a screen that connects (or reconnects) now.
    func write(_ j: inout JSONBuffer, now: Timestamp = .now()) {
        j.beginObject()
        j.field("serial", serial)
        j.field("operator", operatorID)
        j.field("session_id", sessionID?.uuidString.lowercased())
        j.field("run_id", progress.runID?.uuidString.lowercased())
        j.field("started_here", startedHere)
        j.field("started_at", progress.startedAt.map { $0.microseconds / 1000 })
        j.field("expected_steps", progress.expected?.steps)
        j.field("expected_seconds", progress.expected?.seconds)
        j.field("measurement_total", measurementTotal)
        j.key(static: "steps")
        j.beginArray()
        for s in steps { Self.write(s, &j) }
        j.endArray()
        if let vector {
            j.key(static: "vector")
            Self.writeVector(vector, &j)
        }
        j.key(static: "measurements")
        j.beginArray()
        for m in measurements { Self.write(m, &j) }
        j.endArray()
        if verdict != nil {
            j.key(static: "verdict")
            j.beginObject()
            writeVerdict(&j)
            j.endObject()
        }
        j.endObject()
    }

    private func writeVerdict(_ j: inout JSONBuffer) {
        guard let verdict else { return }
        j.field("serial", serial)
        j.field("outcome", verdict.outcome.rawValue)
        j.field("reason", verdict.reason)
        j.field("run_id", progress.runID?.uuidString.lowercased())
        j.key(static: "failures")
        j.beginArray()
        for f in progress.failures {
            j.beginObject()
            j.field("step", f.step)
            j.field("name", f.name)
            j.field("value", f.valueText)
            j.field("limit", f.limitText)
            j.field("outcome", f.outcome.rawValue)
            j.field("pin", f.pin)
            j.field("instrument", f.instrument)
            j.field("attempt", f.attempt)
            j.field("vector", f.vectorIndex)
            j.endObject()
        }
        j.endArray()
        j.key(static: "skipped")
        j.beginArray()
        for s in progress.skippedSteps {
            j.beginObject()
            j.field("path", s.path)
            j.field("reason", s.reason)
            j.endObject()
        }
        j.endArray()
    }

    static func write(_ s: Step, _ j: inout JSONBuffer) {
        j.beginObject()
        j.field("index", s.index)
        j.field("path", s.path)
        j.field("name", s.name)
        j.field("role", s.role)
        j.field("outcome", s.outcome?.rawValue)
        j.field("error", s.error)
        j.endObject()
    }

    static func writeVector(_ v: (step: String, index: Int64, retry: Int64, params: String), _ j: inout JSONBuffer) {
        j.beginObject()
        j.field("step", v.step)
        j.field("index", v.index)
        j.field("retry", v.retry)
        j.field("params", v.params)
        j.endObject()
    }

    static func write(_ m: Litmus.Measurement, _ j: inout JSONBuffer, total: Int? = nil, at: Int64? = nil) {
        j.beginObject()
        j.field("total", total)
        j.field("at", at)
        j.field("step", m.stepPath)
        j.field("name", m.name)
        j.field("value", m.value.map { $0.isFinite ? $0 : nil } ?? nil)
        j.field("text", m.value.map(Self.format) ?? "-")
        j.field("unit", m.unit)
        j.field("outcome", m.outcome.rawValue)
        j.field("low", m.limitLow)
        j.field("high", m.limitHigh)
        j.field("comparator", m.comparator?.rawValue)
        j.field("pin", m.dutPin)
        j.field("connection", m.fixtureConnection)
        j.field("instrument", m.instrumentRole)
        j.field("channel", m.instrumentChannel)
        j.field("vector", m.vectorIndex)
        j.field("attempt", m.retry + 1)
        j.endObject()
    }

    /// At most 10 significant digits, as the terminal shows numbers.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return String(format: "%.10g", value)
    }
}

/// One message for the open screens: a server-sent event `type` with a JSON object.
struct Message: Sendable {
    var type: String
    var data: String

    init(type: String, json: JSONBuffer) {
        self.type = type
        data = String(decoding: json.bytes, as: UTF8.self)
    }

    init(type: String, data: String) {
        self.type = type
        self.data = data
    }
}

/// Today's boards at this station: tested, passed, failed (errored and aborted count as
/// tested only). Rebuilt from the event log at start-up.
struct YieldCounter: Sendable {
    var day: String
    var tested = 0
    var passed = 0
    var failed = 0

    static func today() -> String { String(Timestamp.now().iso8601.prefix(10)) }

    mutating func count(_ outcome: Outcome, on day: String = YieldCounter.today()) {
        if day != self.day { self = YieldCounter(day: day) }
        tested += 1
        if outcome == .passed || outcome == .done { passed += 1 }
        if outcome == .failed { failed += 1 }
    }

    func write(_ j: inout JSONBuffer) {
        j.beginObject()
        j.field("day", day)
        j.field("tested", tested)
        j.field("passed", passed)
        j.field("failed", failed)
        j.endObject()
    }
}
