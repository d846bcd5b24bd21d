import CLitmusDriverABI
import Foundation
import Logging

/// The host-owned object behind `litmus_error *`: filled by the driver through `error_set`.
struct ErrorSlot {
    var status: Int32 = 0
    var vendorCode: Int32 = 0
    var message: [UInt8] = []
    var isSet = false

    mutating func reset() {
        if isSet {
            isSet = false
            status = 0
            vendorCode = 0
            message.removeAll(keepingCapacity: true)
        }
    }
}

/// The host-owned object behind `litmus_result *`: filled by the driver through `result_*`.
struct ResultSlot {
    var type: ValueType = .void
    var f64: Double = 0
    var i64: Int64 = 0
    var bool = false
    var bytes: [UInt8] = []
    var doubles: [Double] = []

    mutating func reset() { type = .void }

    /// The value the driver set, copied out.
    var value: InstrumentValue {
        switch type {
        case .void: .void
        case .f64: .f64(f64)
        case .i64: .i64(i64)
        case .bool: .bool(bool)
        case .string: .string(String(decoding: bytes, as: UTF8.self))
        case .f64Array: .f64Array(doubles)
        case .bytes: .bytes(bytes)
        }
    }
}

/// Where a plugin's log lines go: the host context behind `host_ctx`.
final class PluginLogContext: @unchecked Sendable {
    let logger: Logger
    let pluginPath: String
    /// ``threshold()``'s cache: the level for ``LogLevels/generation``.
    let cacheLock = NSLock()
    var cachedGeneration = -1
    var cachedLevel = Logger.Level.info
    init(logger: Logger, pluginPath: String) {
        self.logger = logger
        self.pluginPath = pluginPath
    }
}

/// Builds the services table handed to one plugin. Tables and contexts live until the process
/// exits, like the plugins themselves.
enum HostServicesTable {
    static func make(logger: Logger, pluginPath: String) -> UnsafePointer<litmus_host_services> {
        let context = PluginLogContext(logger: logger, pluginPath: pluginPath)
        var t = litmus_host_services()
        t.struct_size = UInt32(MemoryLayout<litmus_host_services>.size)
        t.host_ctx = Unmanaged.passRetained(context).toOpaque()
        t.log = { ctx, level, component, msg, len in
            guard let ctx else { return }
            let context = Unmanaged<PluginLogContext>.fromOpaque(ctx).takeUnretainedValue()
            let comp = component.map { String(cString: $0) } ?? "driver"
            // The levels are per driver (LITMUS_LOG, --log-level), not the logger's own.
            guard context.shows(hostLogLevel(level), component: comp) else { return }
            let text = msg.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: len), as: UTF8.self) } ?? ""
            // Straight to the handler: the level was decided above, maybe below the logger's own.
            context.logger.handler.log(
                event: LogEvent(
                    level: hostLogLevel(level), message: "\(comp): \(text)",
                    metadata: ["plugin": .string(context.pluginPath)], source: "Litmus", file: #fileID,
                    function: #function, line: #line))
        }
        t.log_enabled = { ctx, level in
            guard let ctx else { return 0 }
            let context = Unmanaged<PluginLogContext>.fromOpaque(ctx).takeUnretainedValue()
            return hostLogLevel(level) >= context.threshold() ? 1 : 0
        }
        t.error_set = { err, status, vendor, msg, len in
            guard let err else { return }
            let slot = UnsafeMutablePointer<ErrorSlot>(err)
            slot.pointee.isSet = true
            slot.pointee.status = status
            slot.pointee.vendorCode = vendor
            slot.pointee.message.removeAll(keepingCapacity: true)
            if let msg, len > 0 {
                slot.pointee.message.append(
                    contentsOf: UnsafeRawBufferPointer(start: msg, count: min(len, 1 << 20)))
            }
        }
        t.result_f64 = { r, v in
            guard let r else { return }
            let slot = UnsafeMutablePointer<ResultSlot>(r)
            slot.pointee.type = .f64
            slot.pointee.f64 = v
        }
        t.result_i64 = { r, v in
            guard let r else { return }
            let slot = UnsafeMutablePointer<ResultSlot>(r)
            slot.pointee.type = .i64
            slot.pointee.i64 = v
        }
        t.result_bool = { r, v in
            guard let r else { return }
            let slot = UnsafeMutablePointer<ResultSlot>(r)
            slot.pointee.type = .bool
            slot.pointee.bool = v != 0
        }
        t.result_str = { r, p, len in
            guard let r else { return }
            let slot = UnsafeMutablePointer<ResultSlot>(r)
            slot.pointee.type = .string
            slot.pointee.bytes.removeAll(keepingCapacity: true)
            if let p, len > 0 { slot.pointee.bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: len)) }
        }
        t.result_f64_array = { r, p, n in
            guard let r else { return }
            let slot = UnsafeMutablePointer<ResultSlot>(r)
            slot.pointee.type = .f64Array
            slot.pointee.doubles = p.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? []
        }
        t.result_bytes = { r, p, n in
            guard let r else { return }
            let slot = UnsafeMutablePointer<ResultSlot>(r)
            slot.pointee.type = .bytes
            slot.pointee.bytes.removeAll(keepingCapacity: true)
            if let p, n > 0 { slot.pointee.bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n)) }
        }
        // ABI 1.2: the host I/O services.
        HostIO.makeServices(into: &t)
        let table = UnsafeMutablePointer<litmus_host_services>.allocate(capacity: 1)
        table.initialize(to: t)
        return UnsafePointer(table)
    }
}

/// The swift-log level of a `LITMUS_LOG_*` level.
private func hostLogLevel(_ level: Int32) -> Logger.Level {
    switch level {
    case Int32(LITMUS_LOG_ERROR): .error
    case Int32(LITMUS_LOG_WARNING): .warning
    case Int32(LITMUS_LOG_INFO): .info
    case Int32(LITMUS_LOG_DEBUG): .debug
    default: .trace
    }
}

/// The error and result slots one call (or one session's calls, which are serialised) uses.
final class CallSlots {
    let error: UnsafeMutablePointer<ErrorSlot>
    let result: UnsafeMutablePointer<ResultSlot>

    init() {
        error = .allocate(capacity: 1)
        error.initialize(to: ErrorSlot())
        result = .allocate(capacity: 1)
        result.initialize(to: ResultSlot())
    }

    deinit {
        error.deinitialize(count: 1)
        error.deallocate()
        result.deinitialize(count: 1)
        result.deallocate()
    }

    var errorPointer: OpaquePointer { OpaquePointer(error) }
    var resultPointer: OpaquePointer { OpaquePointer(result) }

    /// The driver's error for a failed call, with a fallback when it set none.
    func failure(_ status: Int32, context: @autoclosure () -> String) -> DriverError {
        let slot = error.pointee
        let text = slot.isSet && !slot.message.isEmpty
            ? String(decoding: slot.message, as: UTF8.self)
            : "the driver reported \(DriverStatus(rawValue: status)) without a message"
        return DriverError(DriverStatus(rawValue: status), text, vendorCode: slot.isSet ? slot.vendorCode : 0,
                           context: context())
    }
}
