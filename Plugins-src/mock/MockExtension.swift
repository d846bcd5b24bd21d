import CLitmusDriverABI
import LitmusDriverKit

/// What the `litmus.mock.v1` extension (`LITMUS_MOCK_EXTENSION_V1`) needs from a session.
/// Both the mock and the simulated SCPI sessions conform; a function that makes no sense for
/// one of them (invoke_named on a SIM session, patch_reply on a MOCK session) throws
/// `unsupported`.
protocol MockExtensionSession: AnyObject {
    /// Runs an operation by name, typed by the mock's table when the name is in it.
    func invokeNamed(_ name: String, arguments: Arguments) throws -> DriverValue
    /// Adds a patch from behaviour JSON; returns its id.
    func patch(_ target: String, behavior: [UInt8], times: Int32) throws -> UInt64
    /// Adds a reply patch for a SCPI command; returns its id.
    func patchReply(command: String, reply: String, times: Int32) throws -> UInt64
    /// Removes one patch; unknown ids are ignored.
    func unpatch(_ id: UInt64)
    /// Removes every patch.
    func resetPatches()
    /// Number of recorded calls.
    var traceCount: Int { get }
    /// Recorded call `index` as one JSON object.
    func traceJSON(at index: Int) throws -> String
    /// Empties the trace.
    func clearTrace()
}

/// Checks the `times` of a patch: -1 (until removed) or a positive count.
func checkPatchTimes(_ times: Int32) throws {
    guard times == -1 || times > 0 else {
        throw DriverFailure.invalidArgument(
            "patch times must be -1 (until removed) or a positive number of calls; got \(times)")
    }
}

/// The plugin's one `litmus_mock_v1` table, shared by the `mock` and `sim` drivers. Allocated
/// once and never freed, as the ABI requires of extension tables.
nonisolated(unsafe) let mockExtensionTable: UnsafeMutablePointer<litmus_mock_v1> = {
    let table = UnsafeMutablePointer<litmus_mock_v1>.allocate(capacity: 1)
    table.initialize(
        to: litmus_mock_v1(
            struct_size: UInt32(MemoryLayout<litmus_mock_v1>.size),
            invoke_named: MockExtension.invokeNamed,
            patch: MockExtension.patch,
            patch_reply: MockExtension.patchReply,
            unpatch: MockExtension.unpatch,
            reset_patches: MockExtension.resetPatches,
            trace_count: MockExtension.traceCount,
            trace_at: MockExtension.traceAt,
            trace_clear: MockExtension.traceClear))
    return table
}()

/// The C functions of the extension table. They find the session through its `SessionBox`;
/// a NULL session or a session of another driver is refused, never dereferenced blindly.
private enum MockExtension {
    /// Runs `body` on the session behind `s`, reporting failures through `err`.
    static func run(
        _ s: OpaquePointer?, _ err: OpaquePointer?, _ body: (any MockExtensionSession, SessionBox) throws -> Void
    ) -> litmus_status {
        guard let s else { return Int32(LITMUS_E_INVALID_ARGUMENT) }
        let box = SessionBox.from(s)
        guard let session = box.session as? MockExtensionSession else {
            return box.services.setError(
                err,
                DriverFailure.unsupported(
                    "\(LITMUS_MOCK_EXTENSION_V1) works on sessions of the litmus-mock plugin's drivers (mock, sim) only"))
        }
        do {
            try body(session, box)
            return Int32(LITMUS_OK)
        } catch {
            return box.services.setError(err, error)
        }
    }

    /// The session behind `s` for the functions that cannot report errors.
    static func session(_ s: OpaquePointer?) -> (any MockExtensionSession)? {
        s.flatMap { SessionBox.from($0).session as? MockExtensionSession }
    }

    static let invokeNamed: @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<litmus_value>?, Int, OpaquePointer?, OpaquePointer?
    ) -> litmus_status = { s, name, args, count, result, err in
        run(s, err) { session, box in
            guard let name else { throw DriverFailure.invalidArgument("invoke_named needs an operation name") }
            let value = try session.invokeNamed(String(cString: name), arguments: Arguments(args, count: count))
            box.services.setResult(value, result)
        }
    }

    static let patch: @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int, Int32, UnsafeMutablePointer<UInt64>?,
        OpaquePointer?
    ) -> litmus_status = { s, name, json, length, times, patchID, err in
        run(s, err) { session, _ in
            guard let name else { throw DriverFailure.invalidArgument("patch needs an operation name") }
            let text = json.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
            let id = try session.patch(String(cString: name), behavior: text, times: times)
            patchID?.pointee = id
        }
    }

    static let patchReply: @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<UInt64>?,
        OpaquePointer?
    ) -> litmus_status = { s, command, reply, times, patchID, err in
        run(s, err) { session, _ in
            guard let command, let reply else {
                throw DriverFailure.invalidArgument("patch_reply needs a command and a reply")
            }
            let id = try session.patchReply(command: String(cString: command), reply: String(cString: reply), times: times)
            patchID?.pointee = id
        }
    }

    static let unpatch: @convention(c) (OpaquePointer?, UInt64) -> Void = { s, id in
        session(s)?.unpatch(id)
    }

    static let resetPatches: @convention(c) (OpaquePointer?) -> Void = { s in
        session(s)?.resetPatches()
    }

    static let traceCount: @convention(c) (OpaquePointer?) -> Int = { s in
        session(s)?.traceCount ?? 0
    }

    static let traceAt: @convention(c) (OpaquePointer?, Int, OpaquePointer?, OpaquePointer?) -> litmus_status = {
        s, index, result, err in
        run(s, err) { session, box in
            box.services.setResult(.string(try session.traceJSON(at: index)), result)
        }
    }

    static let traceClear: @convention(c) (OpaquePointer?) -> Void = { s in
        session(s)?.clearTrace()
    }
}
