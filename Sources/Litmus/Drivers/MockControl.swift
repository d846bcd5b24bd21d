import CLitmusDriverABI
import LitmusJSON

/// Patches and the call trace of a mock or simulated session, through the driver's
/// `litmus.mock.v1` extension. Get one from ``Instrument/mock``.
///
/// ```swift
/// let patch = try dmm.mock!.patch("measure_dc_voltage", value: .f64(4.2), times: 1)
/// try dmm.call("measure_dc_voltage")   // 4.2, once
/// try dmm.mock!.unpatch(patch)
/// ```
public struct MockControl: @unchecked Sendable {
    let instrument: Instrument
    let table: UnsafePointer<litmus_mock_v1>

    /// Identifies one patch for ``unpatch(_:)``.
    public struct Patch: Hashable, Sendable {
        public let id: UInt64
    }

    /// Adds a patch: the newest applicable patch answers `operation`.
    ///
    /// - Parameters:
    ///   - behavior: JSON in the mock_config grammar (`5.0`, `{"sequence": [...]}`,
    ///     `{"nominal": 5, "sigma": 0.01}`, `{"lookup": {...}}`, `{"error": {...}}`).
    ///   - times: how many calls it answers; nil until it is removed.
    @discardableResult
    public func patch(_ operation: String, json behavior: String, times: Int? = nil) throws -> Patch {
        guard let fn = table.pointee.patch else { throw unsupported("patch") }
        return try instrument.withSession("mock patch \(operation)") { s in
            var id: UInt64 = 0
            var json = behavior
            let status = json.withUTF8 { utf8 in
                operation.withCString { op in
                    fn(s, op, UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self), utf8.count,
                       Int32(clamping: times ?? -1), &id, instrument.slots.errorPointer)
                }
            }
            if status < 0 { throw instrument.slots.failure(status, context: "\(instrument.context) mock patch \(operation)") }
            return Patch(id: id)
        }
    }

    /// Patches `operation` to return `value`.
    @discardableResult
    public func patch(_ operation: String, value: InstrumentValue, times: Int? = nil) throws -> Patch {
        try patch(operation, json: Self.json(value), times: times)
    }

    /// Patches `operation` to fail with `status` and `message`.
    @discardableResult
    public func patchError(_ operation: String, status: DriverStatus, message: String, times: Int? = nil) throws -> Patch {
        var json = JSONBuffer(capacity: 64 + message.utf8.count)
        json.value(.object([("error", .object([("status", .int(Int64(status.rawValue))), ("message", .string(message))]))]))
        return try patch(operation, json: String(decoding: json.bytes, as: UTF8.self), times: times)
    }

    /// On a simulated SCPI session: the next `times` queries matching `command` answer `reply`.
    @discardableResult
    public func patchReply(_ command: String, reply: String, times: Int? = nil) throws -> Patch {
        guard let fn = table.pointee.patch_reply else { throw unsupported("patch_reply") }
        return try instrument.withSession("mock patch_reply \(command)") { s in
            var id: UInt64 = 0
            let status = command.withCString { c in
                reply.withCString { r in fn(s, c, r, Int32(clamping: times ?? -1), &id, instrument.slots.errorPointer) }
            }
            if status < 0 { throw instrument.slots.failure(status, context: "\(instrument.context) mock patch_reply") }
            return Patch(id: id)
        }
    }

    /// Removes one patch.
    public func unpatch(_ patch: Patch) throws {
        guard let fn = table.pointee.unpatch else { throw unsupported("unpatch") }
        try instrument.withSession("mock unpatch") { s in fn(s, patch.id) }
    }

    /// Removes every patch; the configured behaviour stays.
    public func resetPatches() throws {
        guard let fn = table.pointee.reset_patches else { throw unsupported("reset_patches") }
        try instrument.withSession("mock reset") { s in fn(s) }
    }

    /// Every call the session recorded, oldest first.
    public func trace() throws -> [MockTraceEntry] {
        guard let count = table.pointee.trace_count, let at = table.pointee.trace_at else { throw unsupported("trace") }
        return try instrument.withSession("mock trace") { s in
            let n = count(s)
            var entries: [MockTraceEntry] = []
            entries.reserveCapacity(n)
            for i in 0..<n {
                instrument.slots.result.pointee.reset()
                let status = at(s, i, instrument.slots.resultPointer, instrument.slots.errorPointer)
                if status < 0 { throw instrument.slots.failure(status, context: "\(instrument.context) mock trace") }
                entries.append(MockTraceEntry(json: String(decoding: instrument.slots.result.pointee.bytes, as: UTF8.self)))
            }
            return entries
        }
    }

    /// Empties the trace.
    public func clearTrace() throws {
        guard let fn = table.pointee.trace_clear else { throw unsupported("trace_clear") }
        try instrument.withSession("mock trace_clear") { s in fn(s) }
    }

    private func unsupported(_ what: String) -> DriverError {
        DriverError(.unsupported, "the mock extension of driver '\(instrument.driver.id)' has no \(what)", context: instrument.context)
    }

    /// A value in the mock_config JSON grammar.
    static func json(_ value: InstrumentValue) -> String {
        let v: JSONValue
        switch value {
        case .void: v = .null
        case .f64(let x): v = .double(x)
        case .i64(let x): v = .int(x)
        case .bool(let x): v = .bool(x)
        case .string(let s): v = .string(s)
        case .f64Array(let a): v = .array(a.map(JSONValue.double))
        case .bytes(let b): v = .object([("bytes", .array(b.map { .int(Int64($0)) }))])
        }
        var json = JSONBuffer(capacity: 32)
        json.value(v)
        return String(decoding: json.bytes, as: UTF8.self)
    }
}

/// One recorded call of a mock or simulated session.
public struct MockTraceEntry: Sendable, CustomStringConvertible {
    /// The entry as the driver rendered it (one JSON object).
    public let json: String
    /// The operation name, or `write` / `read` on a simulated SCPI session.
    public let operation: String
    /// The status the call returned (0 on success).
    public let status: Int32
    /// Whether a patch answered it.
    public let patched: Bool
    /// The bytes written or read on a simulated SCPI session, as text.
    public let data: String?

    init(json: String) {
        self.json = json
        let object = (try? JSONValue.parse(Array(json.utf8))) ?? .object([])
        operation = object["op"]?.stringValue ?? ""
        status = Int32(clamping: object["status"]?.intValue ?? 0)
        patched = object["patched"]?.boolValue ?? false
        data = object["data"]?.stringValue
    }

    public var description: String { json }
}

extension Instrument {
    /// The mock extension (patches and call trace), when the driver provides `litmus.mock.v1`.
    public var mock: MockControl? {
        mockTable.map { MockControl(instrument: self, table: $0) }
    }
}
