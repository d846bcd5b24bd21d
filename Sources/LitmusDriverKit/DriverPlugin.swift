#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLitmusDriverABI

/// A plugin made of Swift drivers: it builds the C descriptor tables once and answers the
/// entry point. Keep exactly one in a global of the plugin and call ``enter(_:_:_:)`` from
/// the entry point:
///
/// ```swift
/// let plugin = DriverPlugin(name: "acme-dmm", version: "1.0.0", drivers: [acmeDriver])
///
/// @c @implementation
/// public func litmus_plugin_entry_v1(
///     _ host: UnsafePointer<litmus_host_info>?, _ out: UnsafeMutablePointer<litmus_plugin_info>?,
///     _ err: OpaquePointer?
/// ) -> litmus_status {
///     plugin.enter(host, out, err)
/// }
/// ```
///
/// DriverKit keeps no global state of its own, so it can be linked into several plugins of one
/// process: every table lives in the plugin's own `DriverPlugin`.
public final class DriverPlugin: @unchecked Sendable {
    /// Per-driver state that C callbacks reach through `driver_ctx`.
    final class Holder {
        let description: DriverDescription
        var services: HostServices?
        init(_ description: DriverDescription) { self.description = description }
    }

    public let name: String
    public let version: String
    private let holders: [Holder]
    private let driverTable: UnsafeMutablePointer<UnsafePointer<litmus_driver_desc>?>
    private let cName: UnsafePointer<CChar>
    private let cVersion: UnsafePointer<CChar>

    public init(name: String, version: String, drivers: [DriverDescription]) {
        self.name = name
        self.version = version
        self.cName = immortal(name)!
        self.cVersion = immortal(version)!
        self.holders = drivers.map(Holder.init)
        driverTable = .allocate(capacity: max(1, drivers.count))
        for (i, holder) in holders.enumerated() {
            driverTable[i] = UnsafePointer(makeDriverDesc(holder))
        }
    }

    /// Answers `litmus_plugin_entry_v1`: checks the host's version, records its services and
    /// fills `out` without writing past `out.struct_size`.
    public func enter(
        _ host: UnsafePointer<litmus_host_info>?, _ out: UnsafeMutablePointer<litmus_plugin_info>?,
        _ err: OpaquePointer?
    ) -> litmus_status {
        guard let host, let out else { return Int32(LITMUS_E_INVALID_ARGUMENT) }
        let servicesEnd = MemoryLayout<litmus_host_info>.offset(of: \.services)! + MemoryLayout<UnsafeRawPointer>.size
        guard Int(host.pointee.struct_size) >= servicesEnd, let table = host.pointee.services else {
            return Int32(LITMUS_E_ABI)
        }
        let services = HostServices(table)
        guard host.pointee.abi_major == UInt16(LITMUS_ABI_MAJOR) else {
            return services.setError(
                err,
                DriverFailure(
                    status: Int32(LITMUS_E_ABI),
                    "\(name) speaks Litmus driver ABI \(LITMUS_ABI_MAJOR).x; the host offered \(host.pointee.abi_major).\(host.pointee.abi_minor)"
                ))
        }
        guard Int(out.pointee.struct_size) >= MemoryLayout<litmus_plugin_info>.size else {
            return services.setError(
                err,
                DriverFailure(
                    status: Int32(LITMUS_E_ABI),
                    "litmus_plugin_info from the host is \(out.pointee.struct_size) bytes; \(name) needs \(MemoryLayout<litmus_plugin_info>.size)"
                ))
        }
        for holder in holders { holder.services = services }
        out.pointee.abi_major = UInt16(LITMUS_ABI_MAJOR)
        out.pointee.abi_minor = min(UInt16(LITMUS_ABI_MINOR), host.pointee.abi_minor)
        out.pointee.plugin_name = cName
        out.pointee.plugin_version = cVersion
        out.pointee.driver_count = UInt32(holders.count)
        out.pointee.drivers = UnsafePointer(driverTable)
        return Int32(LITMUS_OK)
    }

    // MARK: - C tables

    private func makeDriverDesc(_ holder: Holder) -> UnsafeMutablePointer<litmus_driver_desc> {
        let d = holder.description
        let desc = UnsafeMutablePointer<litmus_driver_desc>.allocate(capacity: 1)
        desc.initialize(to: litmus_driver_desc())
        desc.pointee.struct_size = UInt32(MemoryLayout<litmus_driver_desc>.size)
        var flags: UInt32 = 0
        if d.capabilities.contains(.messages) { flags |= UInt32(LITMUS_DRIVER_MESSAGE_BASED) }
        if d.isSimulated { flags |= UInt32(LITMUS_DRIVER_SIMULATED) }
        desc.pointee.flags = flags
        desc.pointee.id = immortal(d.id)
        desc.pointee.display_name = immortal(d.displayName)
        desc.pointee.version = immortal(d.version)
        desc.pointee.vendor = immortal(d.vendor)
        desc.pointee.resource_schemes = immortalList(d.schemes)
        desc.pointee.open_option_count = UInt32(d.openOptions.count)
        desc.pointee.open_options = makeParams(d.openOptions)
        desc.pointee.operation_count = UInt32(d.operations.count)
        desc.pointee.operations = makeOperations(d.operations)
        desc.pointee.vtable = makeVtable(d)
        desc.pointee.driver_ctx = Unmanaged.passUnretained(holder).toOpaque()
        desc.pointee.self_test_resource = immortal(d.selfTestResource)
        desc.pointee.read_termination = immortal(d.readTermination)
        desc.pointee.write_termination = immortal(d.writeTermination)
        desc.pointee.instrument_types = d.instrumentTypes.isEmpty ? nil : immortalList(d.instrumentTypes)
        return desc
    }

    private func makeParams(_ params: [ParameterDescription]) -> UnsafePointer<litmus_param_desc>? {
        guard !params.isEmpty else { return nil }
        let table = UnsafeMutablePointer<litmus_param_desc>.allocate(capacity: params.count)
        for (i, p) in params.enumerated() {
            var c = litmus_param_desc()
            c.struct_size = UInt32(MemoryLayout<litmus_param_desc>.size)
            c.type = p.type.rawValue
            c.name = immortal(p.name)
            c.unit = immortal(p.unit)
            c.help = immortal(p.help)
            var flags: UInt32 = 0
            if p.optional { flags |= UInt32(LITMUS_PARAM_OPTIONAL) }
            if p.isChannel { flags |= UInt32(LITMUS_PARAM_CHANNEL) }
            if let range = p.range {
                flags |= UInt32(LITMUS_PARAM_HAS_RANGE)
                c.min = range.lowerBound
                c.max = range.upperBound
            }
            c.flags = flags
            c.choices = p.choices.map(immortalList)
            (table + i).initialize(to: c)
        }
        return UnsafePointer(table)
    }

    private func makeOperations(_ ops: [OperationDescription]) -> UnsafePointer<litmus_operation_desc>? {
        guard !ops.isEmpty else { return nil }
        let table = UnsafeMutablePointer<litmus_operation_desc>.allocate(capacity: ops.count)
        for (i, op) in ops.enumerated() {
            var c = litmus_operation_desc()
            c.struct_size = UInt32(MemoryLayout<litmus_operation_desc>.size)
            c.name = immortal(op.name)
            c.result_type = op.result.rawValue
            c.result_unit = immortal(op.resultUnit)
            c.help = immortal(op.help)
            c.flags = op.flags.rawValue
            c.param_count = UInt32(op.params.count)
            c.params = makeParams(op.params)
            (table + i).initialize(to: c)
        }
        return UnsafePointer(table)
    }

    private func makeVtable(_ d: DriverDescription) -> UnsafePointer<litmus_driver_vtable> {
        var vt = litmus_driver_vtable()
        vt.struct_size = UInt32(MemoryLayout<litmus_driver_vtable>.size)
        vt.open = Thunks.open
        vt.close = Thunks.close
        let caps = d.capabilities
        if caps.contains(.messages) {
            vt.write = Thunks.write
            vt.read = Thunks.read
        }
        if caps.contains(.query) { vt.query = Thunks.query }
        if caps.contains(.clear) { vt.clear = Thunks.clear }
        if caps.contains(.readStatusByte) { vt.read_stb = Thunks.readSTB }
        if caps.contains(.timeout) { vt.set_timeout = Thunks.setTimeout }
        if caps.contains(.trigger) { vt.trigger = Thunks.trigger }
        if !d.operations.isEmpty { vt.invoke = Thunks.invoke }
        if !d.extensions.isEmpty { vt.get_extension = Thunks.getExtension }
        if d.discover != nil { vt.discover = Thunks.discover }
        let p = UnsafeMutablePointer<litmus_driver_vtable>.allocate(capacity: 1)
        p.initialize(to: vt)
        return UnsafePointer(p)
    }
}

/// The C entry points shared by every Swift driver; they find the Swift objects through
/// `driver_ctx` and the session pointer.
private enum Thunks {
    static func holder(_ desc: UnsafePointer<litmus_driver_desc>?) -> DriverPlugin.Holder? {
        guard let ctx = desc?.pointee.driver_ctx else { return nil }
        return Unmanaged<DriverPlugin.Holder>.fromOpaque(ctx).takeUnretainedValue()
    }

    @inline(__always)
    static func box(_ s: OpaquePointer?) -> SessionBox {
        Unmanaged<SessionBox>.fromOpaque(UnsafeRawPointer(s!)).takeUnretainedValue()
    }

    static let open: @convention(c) (
        UnsafePointer<litmus_driver_desc>?, UnsafePointer<CChar>?, UnsafePointer<litmus_kv>?, Int,
        UnsafeMutablePointer<OpaquePointer?>?, OpaquePointer?
    ) -> litmus_status = { desc, resource, options, count, out, err in
        guard let holder = holder(desc), let services = holder.services, let out, let resource else {
            return Int32(LITMUS_E_INVALID_ARGUMENT)
        }
        do {
            let request = DriverDescription.OpenRequest(
                resource: String(cString: resource), options: OpenOptions(options, count: count),
                services: services)
            let session = try holder.description.open(request)
            let box = SessionBox(session: session, services: services, driver: holder.description)
            out.pointee = OpaquePointer(Unmanaged.passRetained(box).toOpaque())
            return Int32(LITMUS_OK)
        } catch {
            return services.setError(err, error)
        }
    }

    static let close: @convention(c) (OpaquePointer?) -> Void = { s in
        guard let s else { return }
        let box = Unmanaged<SessionBox>.fromOpaque(UnsafeRawPointer(s)).takeRetainedValue()
        box.session.close()
    }

    static let write: @convention(c) (
        OpaquePointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?, OpaquePointer?
    ) -> litmus_status = { s, data, len, written, err in
        let box = box(s)
        do {
            let n = try box.session.write(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : len))
            written?.pointee = n
            return Int32(LITMUS_OK)
        } catch {
            written?.pointee = 0
            return box.services.setError(err, error)
        }
    }

    static let read: @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?, OpaquePointer?
    ) -> litmus_status = { s, buf, cap, got, err in
        let box = box(s)
        do {
            let outcome = try box.session.read(into: UnsafeMutableRawBufferPointer(start: buf, count: buf == nil ? 0 : cap))
            got?.pointee = outcome.count
            return outcome.status
        } catch {
            got?.pointee = 0
            return box.services.setError(err, error)
        }
    }

    static let query: @convention(c) (
        OpaquePointer?, UnsafePointer<UInt8>?, Int, OpaquePointer?, OpaquePointer?
    ) -> litmus_status = { s, cmd, len, reply, err in
        let box = box(s)
        do {
            let value = try box.session.query(UnsafeRawBufferPointer(start: cmd, count: cmd == nil ? 0 : len))
            box.services.setResult(value, reply)
            return Int32(LITMUS_OK)
        } catch {
            return box.services.setError(err, error)
        }
    }

    static let clear: @convention(c) (OpaquePointer?, OpaquePointer?) -> litmus_status = { s, err in
        let box = box(s)
        do {
            try box.session.clear()
            return Int32(LITMUS_OK)
        } catch { return box.services.setError(err, error) }
    }

    static let readSTB: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, OpaquePointer?) -> litmus_status = {
        s, stb, err in
        let box = box(s)
        do {
            stb?.pointee = try box.session.readStatusByte()
            return Int32(LITMUS_OK)
        } catch { return box.services.setError(err, error) }
    }

    static let setTimeout: @convention(c) (OpaquePointer?, UInt32, OpaquePointer?) -> litmus_status = { s, ms, err in
        let box = box(s)
        do {
            try box.session.setTimeout(milliseconds: ms)
            return Int32(LITMUS_OK)
        } catch { return box.services.setError(err, error) }
    }

    static let trigger: @convention(c) (OpaquePointer?, OpaquePointer?) -> litmus_status = { s, err in
        let box = box(s)
        do {
            try box.session.trigger()
            return Int32(LITMUS_OK)
        } catch { return box.services.setError(err, error) }
    }

    static let invoke: @convention(c) (
        OpaquePointer?, UInt32, UnsafePointer<litmus_value>?, Int, OpaquePointer?, OpaquePointer?
    ) -> litmus_status = { s, op, args, count, result, err in
        let box = box(s)
        do {
            let value = try box.session.invoke(operation: Int(op), arguments: Arguments(args, count: count))
            box.services.setResult(value, result)
            return Int32(LITMUS_OK)
        } catch {
            return box.services.setError(err, error)
        }
    }

    static let getExtension: @convention(c) (UnsafePointer<litmus_driver_desc>?, UnsafePointer<CChar>?) -> UnsafeRawPointer? = {
        desc, name in
        guard let holder = holder(desc), let name else { return nil }
        return holder.description.extensions[String(cString: name)]
    }

    static let discover: @convention(c) (
        UnsafePointer<litmus_driver_desc>?, litmus_found_fn?, UnsafeMutableRawPointer?, OpaquePointer?
    ) -> litmus_status = { desc, found, ctx, err in
        guard let holder = holder(desc), let services = holder.services, let discover = holder.description.discover,
            let found
        else { return Int32(LITMUS_E_UNSUPPORTED) }
        do {
            for item in try discover() {
                var resource = item.resource
                var text = item.description
                resource.withUTF8 { r in
                    text.withUTF8 { t in
                        found(
                            ctx, UnsafeRawPointer(r.baseAddress)?.assumingMemoryBound(to: CChar.self), r.count,
                            UnsafeRawPointer(t.baseAddress)?.assumingMemoryBound(to: CChar.self), t.count)
                    }
                }
            }
            return Int32(LITMUS_OK)
        } catch {
            return services.setError(err, error)
        }
    }
}

/// A C string that lives until the process exits (descriptor tables are never freed).
func immortal(_ s: String?) -> UnsafePointer<CChar>? {
    guard let s else { return nil }
    return UnsafePointer(strdup(s))
}

/// A NULL-terminated list of immortal C strings.
func immortalList(_ items: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
    let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: items.count + 1)
    for (i, item) in items.enumerated() { list[i] = immortal(item) }
    list[items.count] = nil
    return UnsafePointer(list)
}
