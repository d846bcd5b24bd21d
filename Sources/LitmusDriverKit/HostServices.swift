// Re-exported: a Swift plugin needs the ABI's C types (litmus_host_info...) for its entry point,
// and an outside package depending on the LitmusDriverKit product sees CLitmusDriverABI only so.
@_exported import CLitmusDriverABI

/// The host's services (`litmus_host_services`), as handed to the plugin's entry point.
///
/// Every function may be called from any thread. Setters copy what they are given.
public struct HostServices: @unchecked Sendable {
    public let table: UnsafePointer<litmus_host_services>

    public init(_ table: UnsafePointer<litmus_host_services>) { self.table = table }

    /// Log levels (`LITMUS_LOG_*`).
    public enum LogLevel: Int32, Sendable {
        case error = 1, warning, info, debug, trace
    }

    /// Whether a message of `level` would be kept; skip expensive formatting when not.
    public func isLogEnabled(_ level: LogLevel) -> Bool {
        guard table.pointee.log != nil else { return false }
        // No log_enabled means the host does not filter.
        guard let fn = table.pointee.log_enabled else { return true }
        return fn(table.pointee.host_ctx, level.rawValue) != 0
    }

    /// Logs one message.
    public func log(_ level: LogLevel, component: String, _ message: @autoclosure () -> String) {
        guard let fn = table.pointee.log, isLogEnabled(level) else { return }
        var text = message()
        text.withUTF8 { utf8 in
            component.withCString { comp in
                fn(table.pointee.host_ctx, level.rawValue, comp, UnsafeRawPointer(utf8.baseAddress)?
                    .assumingMemoryBound(to: CChar.self), utf8.count)
            }
        }
    }

    /// Fills the host's error object of the failing call.
    public func setError(_ err: OpaquePointer?, _ error: any Error) -> litmus_status {
        let failure = (error as? DriverFailure) ?? .failed(String(describing: error))
        guard let err, let fn = table.pointee.error_set else { return failure.status }
        var message = failure.message
        message.withUTF8 { utf8 in
            fn(err, failure.status, failure.vendorCode,
               UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self), utf8.count)
        }
        return failure.status
    }

    /// Hands a typed result to the host.
    @inlinable
    public func setResult(_ value: DriverValue, _ result: OpaquePointer?) {
        guard let result else { return }
        let t = table.pointee
        switch value {
        case .void: break
        case .f64(let v): t.result_f64?(result, v)
        case .i64(let v): t.result_i64?(result, v)
        case .bool(let v): t.result_bool?(result, v ? 1 : 0)
        case .string(var s):
            s.withUTF8 { utf8 in
                t.result_str?(result, UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self),
                              utf8.count)
            }
        case .f64Array(let a): a.withUnsafeBufferPointer { t.result_f64_array?(result, $0.baseAddress, $0.count) }
        case .bytes(let b): b.withUnsafeBufferPointer { t.result_bytes?(result, $0.baseAddress, $0.count) }
        }
    }
}
