import CLitmusSupport
import Foundation
import LitmusJSON

/// The JSON Lines form of events: one object per line, the envelope first, the body's fields
/// after it, and a CRC-32C of the line last:
///
/// ```
/// {"schema":1,"type":"measurement","id":"…","at":"2026-11-26T15:27:44.123456Z","session_id":"…",
///  "run_id":"…","writer":"…","seq":12,"name":"vout",…,"crc":"1a2b3c4d"}
/// ```
///
/// The CRC covers the bytes of the line with the `,"crc":"…"` member removed (so `…,"seq":12,…}`),
/// which lets a reader detect a torn or corrupted line while jq and DuckDB read the line as
/// ordinary JSON.
public enum EventCoding {
    /// `,"crc":"xxxxxxxx"}` is the last 18 bytes of every line (before the newline).
    static let crcSuffixCount = 18

    /// Appends one event as a line (with its newline) to `out`.
    public static func appendLine(_ event: Event, to out: inout [UInt8], scratch json: inout JSONBuffer) {
        var encoder = EventLineEncoder()
        json.removeAll()
        encoder.appendLine(event, writer: event.writer, sequence: event.sequence, to: &json)
        json.withBytes { out.append(contentsOf: $0) }
    }

    /// One event as a line of text (without the newline).
    public static func line(_ event: Event) -> String {
        var out: [UInt8] = []
        var json = JSONBuffer()
        appendLine(event, to: &out, scratch: &json)
        return String(decoding: out.dropLast(), as: UTF8.self)
    }

    /// Whether a line's CRC matches its content. `line` excludes the newline.
    static func checksumMatches(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard line.count > crcSuffixCount + 2 else { return false }
        let suffixStart = line.count - crcSuffixCount
        let suffix = UnsafeBufferPointer(rebasing: line[suffixStart...])
        guard suffix.starts(with: #","crc":""#.utf8), suffix[16] == UInt8(ascii: "\""), suffix[17] == UInt8(ascii: "}")
        else { return false }
        var stored: UInt32 = 0
        for b in suffix[8..<16] {
            guard let v = hexDigitValue(b) else { return false }
            stored = stored << 4 | UInt32(v)
        }
        var crc = litmus_crc32c(0, line.baseAddress, suffixStart)
        var brace = UInt8(ascii: "}")
        crc = litmus_crc32c(crc, &brace, 1)
        return crc == stored
    }

    /// Decodes one line (CRC already checked).
    ///
    /// - Throws: ``EventDecodingError`` naming the field.
    public static func decode(line: some Collection<UInt8>) throws -> Event {
        let object: JSONValue
        do {
            object = try JSONValue.parse(line)
        } catch {
            throw EventDecodingError(field: nil, problem: "not JSON: \(error)")
        }
        let f = Fields(object)
        let schema = try f.int("schema")
        guard schema <= Int64(Event.schemaVersion) else {
            throw EventDecodingError(
                field: "schema", problem: "schema \(schema) is newer than this reader's \(Event.schemaVersion): upgrade litmus")
        }
        let type = try f.string("type")
        let body = try decodeBody(type: type, f)
        var event = Event(
            sessionID: try f.uuid("session_id"), runID: try f.optUUID("run_id"), body,
            occurredAt: try f.timestamp("at"), id: try f.uuid("id"))
        event.writer = try f.string("writer")
        event.sequence = try f.int("seq")
        return event
    }

    // MARK: Bodies

    static func encodeBody(_ body: EventBody, into j: inout JSONBuffer) {
        switch body {
        case .sessionStarted(let e):
            j.field("station_id", e.stationID)
            j.field("station_name", e.stationName)
            j.field("station_type", e.stationType)
            j.field("station_location", e.stationLocation)
            j.field("hostname", e.hostname)
            j.field("pid", e.pid)
            if let t = e.processStartedAt { j.timestampField("process_started_at", t) }
            j.field("client", e.client)
            j.field("operator_id", e.operatorID)
            j.field("operator_name", e.operatorName)
            j.field("fixture_id", e.fixtureID)
            j.field("lease_seconds", e.leaseSeconds)
        case .sessionEnded(let e):
            j.field("reason", e.reason)
        case .runStarted(let e):
            j.field("dut_serial", e.dutSerial)
            j.field("dut_part_number", e.dutPartNumber)
            j.field("dut_revision", e.dutRevision)
            j.field("dut_lot", e.dutLot)
            j.field("part_id", e.partID)
            j.field("part_name", e.partName)
            j.field("part_revision", e.partRevision)
            j.field("station_id", e.stationID)
            j.field("station_name", e.stationName)
            j.field("station_type", e.stationType)
            j.field("station_location", e.stationLocation)
            j.field("hostname", e.hostname)
            j.field("operator_id", e.operatorID)
            j.field("operator_name", e.operatorName)
            j.field("fixture_id", e.fixtureID)
            j.field("test_phase", e.testPhase)
            j.field("product", e.product)
            j.field("project", e.project)
            j.field("git_commit", e.gitCommit)
            j.field("git_branch", e.gitBranch)
            j.field("git_remote", e.gitRemote)
            j.field("site_index", e.siteIndex)
            j.field("site_name", e.siteName)
            j.key(static: "metadata")
            j.beginObject()
            for (k, v) in e.metadata.sorted(by: { $0.key < $1.key }) { j.member(k, v) }
            j.endObject()
        case .runMetadata(let e):
            j.field("key", e.key)
            j.field("value", e.value)
        case .runEnded(let e):
            j.field("outcome", e.outcome.rawValue)
            j.field("reason", e.reason)
        case .runMaterialized(let e):
            j.field("path", e.path)
            j.field("rows", e.rows)
            j.field("materializer", e.materializer)
        case .stepStarted(let e):
            j.field("step_name", e.name)
            j.field("step_index", e.index)
            j.field("step_path", e.path)
            j.field("description", e.description)
            j.field("retry", e.retry)
            j.field("code_file", e.code?.file)
            j.field("code_function", e.code?.function)
            j.field("code_line", e.code?.line)
            j.field("step_role", e.role)
        case .stepEnded(let e):
            j.field("step_name", e.name)
            j.field("step_index", e.index)
            j.field("step_path", e.path)
            j.field("retry", e.retry)
            j.field("outcome", e.outcome.rawValue)
            j.field("error", e.error)
        case .vectorStarted(let e):
            j.field("step_index", e.stepIndex)
            j.field("step_path", e.stepPath)
            j.field("vector_index", e.index)
            j.field("retry", e.retry)
            j.key(static: "params")
            j.namedValues(e.params)
        case .vectorEnded(let e):
            j.field("step_index", e.stepIndex)
            j.field("step_path", e.stepPath)
            j.field("vector_index", e.index)
            j.field("retry", e.retry)
            j.field("outcome", e.outcome.rawValue)
            j.field("error", e.error)
            if !e.params.isEmpty {
                j.key(static: "params")
                j.namedValues(e.params)
            }
        case .measurement(let m):
            encodeMeasurement(m, into: &j)
        case .observation(let o):
            j.field("step_index", o.stepIndex)
            j.field("step_path", o.stepPath)
            j.field("vector_index", o.vectorIndex)
            j.field("retry", o.retry)
            j.field("name", o.value.name)
            j.field("value", o.value.value)
            j.field("unit", o.value.unit)
            j.field("dut_pin", o.dutPin)
        case .record(let r):
            j.field("step_index", r.stepIndex)
            j.field("vector_index", r.vectorIndex)
            j.field("key", r.key)
            j.field("value", r.value)
        case .promptOpened(let p):
            j.field("prompt_id", p.promptID)
            j.field("kind", p.kind)
            j.field("message", p.message)
            j.key(static: "choices")
            j.value(.array(p.choices.map(JSONValue.string)))
            j.field("timeout_seconds", p.timeoutSeconds)
        case .promptAnswered(let p):
            j.field("prompt_id", p.promptID)
            j.field("response", p.response)
            j.field("value", p.value)
            j.field("source", p.source)
            j.field("duration_seconds", p.durationSeconds)
        case .instrumentConnected(let i):
            j.field("role", i.role)
            j.field("driver", i.driver)
            j.field("resource", i.resource)
            j.field("mocked", i.mocked)
            j.field("manufacturer", i.manufacturer)
            j.field("model", i.model)
            j.field("serial", i.serial)
            j.field("firmware", i.firmware)
            j.field("cal_due", i.calibrationDue)
            j.field("cal_last", i.calibrationLast)
            j.field("cal_certificate", i.calibrationCertificate)
            j.field("cal_lab", i.calibrationLab)
        case .instrumentDisconnected(let i):
            j.field("role", i.role)
            j.field("resource", i.resource)
        case .instrumentCall(let c):
            j.field("role", c.role)
            j.field("operation", c.operation)
            j.key(static: "args")
            j.value(.array(c.arguments))
            j.field("result", c.result)
            j.field("error", c.error)
            j.field("duration_us", c.durationMicroseconds)
            j.field("mocked", c.mocked)
        case .mockPatchApplied(let p):
            j.field("role", p.role)
            j.field("operation", p.operation)
            j.field("behavior", p.behavior)
            j.field("times", p.times)
            j.field("scope", p.scope)
        case .channelStarted(let c):
            j.field("channel_id", c.channelID)
            j.field("value_type", c.valueType)
            j.field("unit", c.unit)
            j.field("instrument_role", c.instrumentRole)
        case .channelEnded(let c):
            j.field("channel_id", c.channelID)
            j.field("reason", c.reason)
            j.field("samples", c.samples)
        case .diagnostic(let d):
            j.field("source", d.source)
            j.field("message", d.message)
            j.field("details", d.details)
        }
    }

    /// A measurement's members, the most frequent event's: all in one reserved piece.
    private static func encodeMeasurement(_ m: borrowing Measurement, into j: inout JSONBuffer) {
        j.withRawWriter(reserving: measurementRoom(m)) { w in
            w.field("step_index", m.stepIndex)
            w.field("step_path", m.stepPath)
            w.field("vector_index", m.vectorIndex)
            w.field("retry", m.retry)
            w.field("name", m.name)
            w.key(static: "value")
            if let v = m.value { w.value(v) } else { w.null() }
            w.field("unit", m.unit)
            w.field("outcome", m.outcome.rawValue)
            w.field("limit_low", m.limitLow)
            w.field("limit_high", m.limitHigh)
            w.field("limit_nominal", m.limitNominal)
            w.field("limit_tolerance", m.limitTolerance)
            w.field("comparator", m.comparator?.rawValue)
            w.field("characteristic_id", m.characteristicID)
            w.field("spec_ref", m.specRef)
            w.field("dut_pin", m.dutPin)
            w.field("fixture_connection", m.fixtureConnection)
            w.field("instrument_role", m.instrumentRole)
            w.field("instrument_resource", m.instrumentResource)
            w.field("instrument_channel", m.instrumentChannel)
            if let t = m.measuredAt { w.timestampField("measured_at", t) }
        }
    }

    /// Room for a measurement's members (see ``encodeMeasurement(_:into:)``).
    private static func measurementRoom(_ m: borrowing Measurement) -> Int {
        var strings = m.stepPath.utf8.count + m.name.utf8.count + (m.unit?.utf8.count ?? 0)
        strings += (m.characteristicID?.utf8.count ?? 0) + (m.specRef?.utf8.count ?? 0) + (m.dutPin?.utf8.count ?? 0)
        strings += m.fixtureConnection?.utf8.count ?? 0
        strings += (m.instrumentRole?.utf8.count ?? 0) + (m.instrumentResource?.utf8.count ?? 0)
        strings += m.instrumentChannel?.utf8.count ?? 0
        return measurementFixedRoom + 6 * strings
    }

    /// Room for the longest outcome and comparator names (plain ASCII letters: no escapes).
    private static let enumRoom = (Outcome.allCases.map(\.rawValue.utf8.count).max() ?? 0)
        + (Comparator.allCases.map(\.rawValue.utf8.count).max() ?? 0)

    /// Room for a measurement's member names, numbers, timestamp, outcome and comparator, and
    /// the quotes and commas of its 12 strings: everything but the other strings' bytes.
    private static let measurementFixedRoom: Int = {
        let keys: [StaticString] = [
            "step_index", "step_path", "vector_index", "retry", "name", "value", "unit", "outcome", "limit_low",
            "limit_high", "limit_nominal", "limit_tolerance", "comparator", "characteristic_id", "spec_ref", "dut_pin",
            "fixture_connection", "instrument_role", "instrument_resource", "instrument_channel", "measured_at",
        ]
        return keys.reduce(0) { $0 + JSONRawWriter.room(key: $1) } + 8 * JSONRawWriter.numberRoom + 29 + 12 * 3 + enumRoom
    }()

    static func decodeBody(type: String, _ f: Fields) throws -> EventBody {
        switch type {
        case "session.started":
            return .sessionStarted(
                SessionStarted(
                    stationID: try f.optString("station_id"), stationName: try f.optString("station_name"),
                    stationType: try f.optString("station_type"), stationLocation: try f.optString("station_location"),
                    hostname: try f.string("hostname"), pid: try f.int("pid"),
                    processStartedAt: try f.optTimestamp("process_started_at"), client: try f.optString("client"),
                    operatorID: try f.optString("operator_id"), operatorName: try f.optString("operator_name"),
                    fixtureID: try f.optString("fixture_id"), leaseSeconds: try f.optDouble("lease_seconds")))
        case "session.ended":
            return .sessionEnded(SessionEnded(reason: try f.optString("reason")))
        case "run.started":
            var metadata: [String: String] = [:]
            for (k, v) in f["metadata"]?.objectValue ?? [] { metadata[k] = v.stringValue ?? "\(v)" }
            return .runStarted(
                RunStarted(
                    dutSerial: try f.string("dut_serial"), dutPartNumber: try f.optString("dut_part_number"),
                    dutRevision: try f.optString("dut_revision"), dutLot: try f.optString("dut_lot"),
                    partID: try f.optString("part_id"), partName: try f.optString("part_name"),
                    partRevision: try f.optString("part_revision"), stationID: try f.optString("station_id"),
                    stationName: try f.optString("station_name"), stationType: try f.optString("station_type"),
                    stationLocation: try f.optString("station_location"), hostname: try f.optString("hostname"),
                    operatorID: try f.optString("operator_id"), operatorName: try f.optString("operator_name"),
                    fixtureID: try f.optString("fixture_id"), testPhase: try f.optString("test_phase"),
                    product: try f.optString("product"), project: try f.optString("project"),
                    gitCommit: try f.optString("git_commit"), gitBranch: try f.optString("git_branch"),
                    gitRemote: try f.optString("git_remote"), siteIndex: try f.optInt("site_index") ?? 0,
                    siteName: try f.optString("site_name"), metadata: metadata))
        case "run.metadata":
            return .runMetadata(RunMetadata(key: try f.string("key"), value: try f.string("value")))
        case "run.ended":
            return .runEnded(RunEnded(outcome: try f.outcome("outcome"), reason: try f.optString("reason")))
        case "run.materialized":
            return .runMaterialized(
                RunMaterialized(path: try f.string("path"), rows: try f.int("rows"), materializer: try f.string("materializer")))
        case "step.started":
            let file = try f.optString("code_file"), function = try f.optString("code_function"),
                line = try f.optInt("code_line")
            return .stepStarted(
                StepStarted(
                    name: try f.string("step_name"), index: try f.int("step_index"), path: try f.string("step_path"),
                    description: try f.optString("description"), retry: try f.optInt("retry") ?? 0,
                    code: file == nil && function == nil && line == nil
                        ? nil : CodeLocation(file: file, function: function, line: line),
                    role: try f.optString("step_role")))
        case "step.ended":
            return .stepEnded(
                StepEnded(
                    name: try f.string("step_name"), index: try f.int("step_index"), path: try f.string("step_path"),
                    retry: try f.optInt("retry") ?? 0, outcome: try f.outcome("outcome"), error: try f.optString("error")))
        case "vector.started":
            return .vectorStarted(
                VectorStarted(
                    stepIndex: try f.int("step_index"), stepPath: try f.string("step_path"),
                    index: try f.int("vector_index"), retry: try f.optInt("retry") ?? 0,
                    params: try f.namedValues("params")))
        case "vector.ended":
            return .vectorEnded(
                VectorEnded(
                    stepIndex: try f.int("step_index"), stepPath: try f.string("step_path"),
                    index: try f.int("vector_index"), retry: try f.optInt("retry") ?? 0,
                    outcome: try f.outcome("outcome"), error: try f.optString("error"),
                    params: try f.namedValues("params")))
        case "measurement":
            return .measurement(
                Measurement(
                    stepIndex: try f.int("step_index"), stepPath: try f.string("step_path"),
                    vectorIndex: try f.optInt("vector_index"), retry: try f.optInt("retry") ?? 0,
                    name: try f.string("name"), value: try f.optDouble("value"), unit: try f.optString("unit"),
                    outcome: try f.outcome("outcome"), limitLow: try f.optDouble("limit_low"),
                    limitHigh: try f.optDouble("limit_high"), limitNominal: try f.optDouble("limit_nominal"),
                    limitTolerance: try f.optDouble("limit_tolerance"),
                    comparator: try f.optString("comparator").map { c in
                        guard let v = Comparator(rawValue: c) else {
                            throw EventDecodingError(field: "comparator", problem: "unknown comparator \(c)")
                        }
                        return v
                    },
                    characteristicID: try f.optString("characteristic_id"), specRef: try f.optString("spec_ref"),
                    dutPin: try f.optString("dut_pin"), fixtureConnection: try f.optString("fixture_connection"),
                    instrumentRole: try f.optString("instrument_role"),
                    instrumentResource: try f.optString("instrument_resource"),
                    instrumentChannel: try f.optString("instrument_channel"),
                    measuredAt: try f.optTimestamp("measured_at")))
        case "observation":
            return .observation(
                Observation(
                    stepIndex: try f.optInt("step_index"), stepPath: try f.optString("step_path"),
                    vectorIndex: try f.optInt("vector_index"), retry: try f.optInt("retry") ?? 0,
                    NamedValue(try f.string("name"), f["value"] ?? .null, unit: try f.optString("unit")),
                    dutPin: try f.optString("dut_pin")))
        case "record":
            return .record(
                Record(
                    stepIndex: try f.optInt("step_index"), vectorIndex: try f.optInt("vector_index"),
                    key: try f.string("key"), value: f["value"] ?? .null))
        case "prompt.opened":
            return .promptOpened(
                PromptOpened(
                    promptID: try f.string("prompt_id"), kind: try f.string("kind"), message: try f.string("message"),
                    choices: (f["choices"]?.arrayValue ?? []).compactMap(\.stringValue),
                    timeoutSeconds: try f.optDouble("timeout_seconds")))
        case "prompt.answered":
            return .promptAnswered(
                PromptAnswered(
                    promptID: try f.string("prompt_id"), response: try f.string("response"),
                    value: try f.optString("value"), source: try f.string("source"),
                    durationSeconds: try f.optDouble("duration_seconds") ?? 0))
        case "instrument.connected":
            return .instrumentConnected(
                InstrumentConnected(
                    role: try f.string("role"), driver: try f.string("driver"), resource: try f.string("resource"),
                    mocked: f["mocked"]?.boolValue ?? false, manufacturer: try f.optString("manufacturer"),
                    model: try f.optString("model"), serial: try f.optString("serial"),
                    firmware: try f.optString("firmware"), calibrationDue: try f.optString("cal_due"),
                    calibrationLast: try f.optString("cal_last"),
                    calibrationCertificate: try f.optString("cal_certificate"), calibrationLab: try f.optString("cal_lab")))
        case "instrument.disconnected":
            return .instrumentDisconnected(InstrumentDisconnected(role: try f.string("role"), resource: try f.string("resource")))
        case "instrument.call":
            return .instrumentCall(
                InstrumentCall(
                    role: try f.string("role"), operation: try f.string("operation"),
                    arguments: f["args"]?.arrayValue ?? [], result: f["result"],
                    error: try f.optString("error"), durationMicroseconds: try f.optInt("duration_us") ?? 0,
                    mocked: f["mocked"]?.boolValue ?? false))
        case "mock.patch_applied":
            return .mockPatchApplied(
                MockPatchApplied(
                    role: try f.string("role"), operation: try f.string("operation"), behavior: try f.string("behavior"),
                    times: try f.optInt("times"), scope: try f.string("scope")))
        case "channel.started":
            return .channelStarted(
                ChannelStarted(
                    channelID: try f.string("channel_id"), valueType: try f.string("value_type"),
                    unit: try f.optString("unit"), instrumentRole: try f.optString("instrument_role")))
        case "channel.ended":
            return .channelEnded(
                ChannelEnded(channelID: try f.string("channel_id"), reason: try f.string("reason"), samples: try f.int("samples")))
        case "diagnostic.warning", "diagnostic.error":
            return .diagnostic(
                Diagnostic(
                    level: type == "diagnostic.error" ? .error : .warning, source: try f.string("source"),
                    message: try f.string("message"), details: f["details"]))
        default:
            throw EventDecodingError(field: "type", problem: "unknown event type '\(type)'")
        }
    }
}

/// Why a line could not be decoded into an event.
public struct EventDecodingError: Error, CustomStringConvertible, Sendable {
    public var field: String?
    public var problem: String
    public var description: String { field.map { "field '\($0)': \(problem)" } ?? problem }
}

/// Typed access to the members of one decoded line.
struct Fields {
    let object: JSONValue
    /// The members (an event has a few dozen at most: a linear search beats hashing them).
    let list: [(key: String, value: JSONValue)]
    init(_ object: JSONValue) {
        self.object = object
        self.list = object.objectValue ?? []
    }
    subscript(_ k: String) -> JSONValue? { list.first { $0.key == k }?.value }

    func missing(_ k: String) -> EventDecodingError { EventDecodingError(field: k, problem: "missing") }
    func wrong(_ k: String, _ expected: String) -> EventDecodingError {
        EventDecodingError(field: k, problem: "expected \(expected), found \(self[k]?.kindDescription ?? "nothing")")
    }

    func string(_ k: String) throws -> String {
        guard let v = self[k] else { throw missing(k) }
        guard let s = v.stringValue else { throw wrong(k, "a string") }
        return s
    }
    func optString(_ k: String) throws -> String? {
        guard let v = self[k], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw wrong(k, "a string") }
        return s
    }
    func int(_ k: String) throws -> Int64 {
        guard let v = self[k] else { throw missing(k) }
        guard let i = v.intValue else { throw wrong(k, "an integer") }
        return i
    }
    func optInt(_ k: String) throws -> Int64? {
        guard let v = self[k], !v.isNull else { return nil }
        guard let i = v.intValue else { throw wrong(k, "an integer") }
        return i
    }
    func optDouble(_ k: String) throws -> Double? {
        guard let v = self[k], !v.isNull else { return nil }
        guard let d = v.doubleValue else { throw wrong(k, "a number") }
        return d
    }
    func uuid(_ k: String) throws -> UUID {
        guard let u = Fields.parseUUID(try string(k)) else { throw wrong(k, "a UUID") }
        return u
    }
    func optUUID(_ k: String) throws -> UUID? {
        guard let s = try optString(k) else { return nil }
        guard let u = Fields.parseUUID(s) else { throw wrong(k, "a UUID") }
        return u
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in either case (Foundation's parser goes through
    /// sscanf: too slow for every event read back).
    static func parseUUID(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { u -> UUID? in
            guard u.count == 36, u[8] == 0x2D, u[13] == 0x2D, u[18] == 0x2D, u[23] == 0x2D else { return nil }
            var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let ok = withUnsafeMutableBytes(of: &bytes) { out -> Bool in
                var i = 0
                for o in 0..<16 {
                    if i == 8 || i == 13 || i == 18 || i == 23 { i += 1 }
                    guard let hi = hexDigitValue(u[i]), let lo = hexDigitValue(u[i + 1]) else { return false }
                    out[o] = hi << 4 | lo
                    i += 2
                }
                return true
            }
            return ok ? UUID(uuid: bytes) : nil
        }
    }
    func timestamp(_ k: String) throws -> Timestamp {
        guard let t = Timestamp(iso8601: try string(k)) else { throw wrong(k, "an ISO 8601 UTC time") }
        return t
    }
    func optTimestamp(_ k: String) throws -> Timestamp? {
        guard let s = try optString(k) else { return nil }
        guard let t = Timestamp(iso8601: s) else { throw wrong(k, "an ISO 8601 UTC time") }
        return t
    }
    func outcome(_ k: String) throws -> Outcome {
        let s = try string(k)
        guard let o = Outcome(rawValue: s) else { throw wrong(k, "an outcome (\(Outcome.allCases.map(\.rawValue).joined(separator: ", ")))") }
        return o
    }
    func namedValues(_ k: String) throws -> [NamedValue] {
        guard let items = self[k]?.arrayValue else { return [] }
        return try items.map { item in
            guard let name = item["name"]?.stringValue else { throw wrong(k, "[{name, value, unit}]") }
            return NamedValue(name, item["value"] ?? .null, unit: item["unit"]?.stringValue)
        }
    }
}

/// Encodes the events of one writer into lines, keeping as bytes what repeats from one event
/// to the next: the session and run ids with the writer, and the date and time of the current
/// second. The lines are exactly those of a fresh encoding.
struct EventLineEncoder {
    /// `,"session_id":"…"` (`,"run_id":"…"`) `,"writer":"…","seq":` for ``idsKey``.
    private var ids: [UInt8] = []
    private var idsKey: (session: UUID, run: UUID?, writer: String)?
    /// `YYYY-MM-DDTHH:MM:SS.` of the second ``second`` (as seconds since the epoch).
    private var secondText = [UInt8](repeating: 0, count: 20)
    private var second = Int64.min

    /// Appends one event as a line (with its newline) to `out`, with the writer and sequence
    /// given here (the log's own, without copying the event to set them).
    mutating func appendLine(_ event: Event, writer: String, sequence: Int64, to out: inout JSONBuffer) {
        updateIDs(event.sessionID, event.runID, writer)
        let (seconds, fraction) = event.occurredAt.microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        if (fraction < 0 ? seconds - 1 : seconds) != second { updateSecond(fraction < 0 ? seconds - 1 : seconds) }
        let micros = fraction < 0 ? fraction + 1_000_000 : fraction

        // The envelope, in one piece: {"schema":1,"type":"…","id":"…","at":"…",<ids><seq>
        // (room: 73 bytes of text, 36 of id, 26 of time and two numbers of up to 20 digits).
        let start = out.count
        var type = event.type
        type.withUTF8 { type in
            ids.withUnsafeBufferPointer { ids in
                secondText.withUnsafeBufferPointer { secondText in
                    out.withRawWriter(reserving: 160 + type.count + ids.count) { w in
                        w.raw(#"{"schema":"#)
                        w.raw { JSONRawWriter.writeDecimal(Int64(Event.schemaVersion), at: $0) }
                        w.raw(#","type":""#)
                        w.raw(type)
                        w.raw(#"","id":""#)
                        w.raw { writeUUID(event.id, at: $0) }
                        w.raw(#"","at":""#)
                        w.raw(secondText)
                        w.raw { writeSixDigits(micros, at: $0) }
                        w.raw(#"Z""#)
                        w.raw(ids)
                        w.raw { JSONRawWriter.writeDecimal(sequence, at: $0) }
                        w.valueWritten()
                    }
                }
            }
        }
        EventCoding.encodeBody(event.body, into: &out)
        out.endObject()
        // The CRC of the line as it is, then its closing brace becomes `,"crc":"xxxxxxxx"}`
        // and the newline.
        let crc = out.withBytes { all in litmus_crc32c(0, all.baseAddress! + start, all.count - start) }
        out.removeLast(1)
        out.withRawWriter(reserving: 19) { w in
            w.raw(#","crc":""#)
            w.raw { p in
                for i in 0..<8 { p[i] = lowerHexDigit(UInt8((crc >> UInt32(28 - 4 * i)) & 0xF)) }
                return 8
            }
            w.raw("\"}\n")
        }
    }

    /// Makes ``ids`` those of the session, run and writer given.
    private mutating func updateIDs(_ session: UUID, _ run: UUID?, _ writer: String) {
        if let key = idsKey, key.session == session, key.run == run, key.writer == writer { return }
        var json = JSONBuffer(capacity: 256)
        json.valueWritten()  // every member here follows the envelope's first ones
        json.uuidField("session_id", session)
        if let run { json.uuidField("run_id", run) }
        json.field("writer", writer)
        json.key(static: "seq")
        ids = json.bytes
        idsKey = (session, run, writer)
    }

    /// Makes ``secondText`` the date and time of `whole` seconds since the epoch.
    private mutating func updateSecond(_ whole: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { text in
            Timestamp(microseconds: whole * 1_000_000).writeISO8601(into: text)
            for i in 0..<20 { secondText[i] = text[i] }
        }
        second = whole
    }
}

/// Writes `value` (0..<1,000,000) as six digits at `p`; returns 6.
private func writeSixDigits(_ value: Int64, at p: UnsafeMutablePointer<UInt8>) -> Int {
    var v = value
    for i in stride(from: 5, through: 0, by: -1) {
        p[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
        v /= 10
    }
    return 6
}

/// The two lower-case hexadecimal digits of every byte value, in order.
private let hexPairs: StaticString = """
    000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
    202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\
    404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\
    606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
    808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\
    a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
    c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf\
    e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
    """

/// Writes `u` in its 36-character lower-case text form at `p`; returns 36.
private func writeUUID(_ u: UUID, at p: UnsafeMutablePointer<UInt8>) -> Int {
    let pairs = UnsafeRawPointer(hexPairs.utf8Start)
    withUnsafeBytes(of: u.uuid) { bytes in
        var at = 0
        for i in 0..<16 {
            if i == 4 || i == 6 || i == 8 || i == 10 {
                p[at] = UInt8(ascii: "-")
                at += 1
            }
            let pair = pairs.loadUnaligned(fromByteOffset: 2 * Int(bytes[i]), as: UInt16.self)
            UnsafeMutableRawPointer(p + at).storeBytes(of: pair, as: UInt16.self)
            at += 2
        }
    }
    return 36
}

extension JSONRawWriter {
    /// `"name":"2026-11-26T15:27:44.123456Z"`: room for `name` and 29 bytes.
    mutating func timestampField(_ name: StaticString, _ t: Timestamp) {
        key(static: name)
        raw { writeQuotedTimestamp(t, at: $0) }
        valueWritten()
    }
}

/// Writes `"2026-11-26T15:27:44.123456Z"` (29 bytes, quotes included) at `p`; returns 29.
private func writeQuotedTimestamp(_ t: Timestamp, at p: UnsafeMutablePointer<UInt8>) -> Int {
    p[0] = UInt8(ascii: "\"")
    t.writeISO8601(into: UnsafeMutableBufferPointer(start: p + 1, count: 27))
    p[28] = UInt8(ascii: "\"")
    return 29
}

extension JSONBuffer {
    /// `"name":"<uuid, lower case>"`, written in place.
    mutating func uuidField(_ name: StaticString, _ u: UUID) {
        withRawWriter(reserving: JSONRawWriter.room(key: name) + 38) { w in
            w.key(static: name)
            w.raw(#"""#)
            w.raw { writeUUID(u, at: $0) }
            w.raw(#"""#)
            w.valueWritten()
        }
    }

    /// `"name":"2026-11-26T15:27:44.123456Z"`, written in place.
    mutating func timestampField(_ name: StaticString, _ t: Timestamp) {
        withRawWriter(reserving: JSONRawWriter.room(key: name) + 29) { $0.timestampField(name, t) }
    }

    /// `[{"name":…,"value":…,"unit":…}]`
    mutating func namedValues(_ values: [NamedValue]) {
        beginArray()
        for v in values {
            beginObject()
            field("name", v.name)
            key("value")
            value(v.value)
            field("unit", v.unit)
            endObject()
        }
        endArray()
    }
}
