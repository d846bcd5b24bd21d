#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLitmusDriverABI
import Foundation
import Logging

/// A plugin file that loaded and passed validation.
public struct LoadedPlugin: Sendable {
    /// Canonical absolute path of the file.
    public var path: String
    public var name: String
    public var version: String
    /// The ABI minor negotiated with the plugin.
    public var abiMinor: Int
    public var drivers: [DriverInfo]
}

/// Loads driver plugin files: `dlopen`, the entry point, and validation of everything the
/// plugin returns. Plugins are never unloaded.
enum PluginLoader {
    /// The version of the host offered to plugins.
    static let hostVersion = "0.1.0"

    /// The host's loader lock: entry points run one at a time (thread contract rule 1).
    static let loaderLock = NSLock()
    private static let loadLock = NSLock()

    /// Every file entered so far, by canonical path: a plugin's entry point runs once per
    /// process (thread contract rule 1), so a second registry gets the first outcome. Guarded
    /// by `loadLock`, which serialises whole loads.
    nonisolated(unsafe) private static var outcomes: [String: Result<LoadedPlugin, PluginLoadError>] = [:]

    /// Loads and validates one file, once per process. Throws a ``PluginLoadError`` that names
    /// the file, the field and the fix.
    ///
    /// The plugin's log lines go to `logger` of the first load.
    static func load(path rawPath: String, logger: Logger) throws(PluginLoadError) -> LoadedPlugin {
        guard let path = System.realPath(rawPath), System.fileKind(path) == .file else {
            throw PluginLoadError(
                .unreadable, path: rawPath, problem: "no such file",
                fix: "check the path, LITMUS_PLUGIN_PATH and the station's plugin_paths")
        }
        // Before dlopen: loading runs the plugin's constructors. Not remembered: a location
        // fixed later loads then.
        try PluginTrust.check(file: path)
        loadLock.lock()
        defer { loadLock.unlock() }
        if let earlier = outcomes[path] { return try earlier.get() }
        let outcome: Result<LoadedPlugin, PluginLoadError>
        do {
            outcome = .success(try enter(path: path, logger: logger))
        } catch {
            outcome = .failure(error)
        }
        outcomes[path] = outcome
        return try outcome.get()
    }

    private static func enter(path: String, logger: Logger) throws(PluginLoadError) -> LoadedPlugin {
        guard System.isReadable(path) else {
            throw PluginLoadError(.unreadable, path: path, problem: "the file is not readable", fix: "chmod a+r \(path)")
        }
        let handle: UnsafeMutableRawPointer
        switch System.dlopenLocal(path) {
        case .success(let h): handle = h
        case .failure(let message):
            let header = System.fileHeader(path, count: 4)
            if header != [0x7F, 0x45, 0x4C, 0x46] || message.text.contains("invalid ELF header")
                || message.text.contains("file too short")
            {
                throw PluginLoadError(
                    .notASharedLibrary, path: path, problem: "not a shared library (\(message.text))",
                    fix: "build the driver with `cc -shared -fPIC ...` or a SwiftPM .dynamic library product, "
                        + "or move this file out of the plugin directory")
            }
            throw PluginLoadError(
                .loadFailed, path: path, problem: "dlopen failed: \(message.text)",
                fix: "install the libraries it needs (check with `ldd \(path)`) or rebuild it for this machine")
        }
        // Never dlclose: unloading Swift code is unsupported and drivers may keep threads.
        guard let symbol = System.symbol(handle, LITMUS_PLUGIN_ENTRY_SYMBOL) else {
            if let other = (2...9).first(where: { System.symbol(handle, "litmus_plugin_entry_v\($0)") != nil }) {
                throw PluginLoadError(
                    .versionMismatch, path: path, field: "litmus_plugin_entry_v\(other)",
                    problem: "built for Litmus driver ABI \(other).x; this host speaks ABI \(LITMUS_ABI_MAJOR).x",
                    fix: "upgrade litmus, or rebuild the plugin against litmus_driver.h \(LITMUS_ABI_MAJOR).x")
            }
            throw PluginLoadError(
                .missingEntry, path: path, field: LITMUS_PLUGIN_ENTRY_SYMBOL,
                problem: "exports no \(LITMUS_PLUGIN_ENTRY_SYMBOL): not a Litmus driver plugin",
                fix: "define the entry with LITMUS_PLUGIN_ENTRY(host, out, err) in C, or `@c @implementation "
                    + "func litmus_plugin_entry_v1` in Swift, and export it (visibility default)")
        }
        let entry = unsafeBitCast(symbol, to: litmus_plugin_entry_fn.self)
        let services = HostServicesTable.make(logger: logger, pluginPath: path)
        let hostInfo = makeHostInfo(services: services, path: path)

        var info = litmus_plugin_info()
        info.struct_size = UInt32(MemoryLayout<litmus_plugin_info>.size)
        let slots = CallSlots()
        let status = loaderLock.withLock { entry(hostInfo, &info, slots.errorPointer) }
        guard status == LITMUS_OK else {
            let failure = slots.failure(status, context: "")
            throw PluginLoadError(
                .entryFailed, path: path, field: LITMUS_PLUGIN_ENTRY_SYMBOL,
                problem: "the entry point failed with \(failure.status): \(failure.message)",
                fix: "see the plugin's documentation for what it needs at load time")
        }
        loaderLock.lock()
        defer { loaderLock.unlock() }
        let plugin = try DescriptorValidator(path: path, info: info, services: services).validate()
        // Per-driver log levels (LITMUS_LOG=<driver id>=debug) find the plugin by these names.
        LogLevels.register(pluginPath: path, pluginName: plugin.name, driverIDs: plugin.drivers.map(\.id))
        return plugin
    }

    /// The host information handed to one plugin; lives until process exit.
    private static func makeHostInfo(services: UnsafePointer<litmus_host_services>, path: String)
        -> UnsafePointer<litmus_host_info>
    {
        var host = litmus_host_info()
        host.struct_size = UInt32(MemoryLayout<litmus_host_info>.size)
        host.abi_major = UInt16(LITMUS_ABI_MAJOR)
        host.abi_minor = UInt16(LITMUS_ABI_MINOR)
        host.services = services
        host.plugin_path = UnsafePointer(strdup(path))
        host.host_name = UnsafePointer(strdup("litmus"))
        host.host_version = UnsafePointer(strdup(hostVersion))
        let p = UnsafeMutablePointer<litmus_host_info>.allocate(capacity: 1)
        p.initialize(to: host)
        return UnsafePointer(p)
    }
}

/// Checks everything a plugin returned from its entry point, and copies it into Swift.
private struct DescriptorValidator {
    let path: String
    let info: litmus_plugin_info
    let services: UnsafePointer<litmus_host_services>

    /// Sizes of the ABI 1.0 structs: anything smaller is rejected.
    static let driverDescMinSize =
        MemoryLayout<litmus_driver_desc>.offset(of: \.write_termination)! + MemoryLayout<UnsafeRawPointer>.size
    static let vtableMinSize =
        MemoryLayout<litmus_driver_vtable>.offset(of: \.get_extension)! + MemoryLayout<UnsafeRawPointer>.size
    static let operationMinSize =
        MemoryLayout<litmus_operation_desc>.offset(of: \.params)! + MemoryLayout<UnsafeRawPointer>.size
    static let paramMinSize =
        MemoryLayout<litmus_param_desc>.offset(of: \.choices)! + MemoryLayout<UnsafeRawPointer>.size

    func fail(
        _ code: PluginLoadError.Code = .invalidDescriptor, driver: String? = nil, field: String? = nil,
        _ problem: String, fix: String
    ) -> PluginLoadError {
        PluginLoadError(code, path: path, driverID: driver, field: field, problem: problem, fix: fix)
    }

    func validate() throws(PluginLoadError) -> LoadedPlugin {
        guard info.abi_major == UInt16(LITMUS_ABI_MAJOR) else {
            throw fail(
                .versionMismatch, field: "plugin_info.abi_major",
                "answered ABI major \(info.abi_major); this host speaks \(LITMUS_ABI_MAJOR)",
                fix: "set out->abi_major = LITMUS_ABI_MAJOR and rebuild against litmus_driver.h \(LITMUS_ABI_MAJOR).x")
        }
        guard info.abi_minor <= UInt16(LITMUS_ABI_MINOR) else {
            throw fail(
                .versionMismatch, field: "plugin_info.abi_minor",
                "answered ABI minor \(info.abi_minor), newer than this host's \(LITMUS_ABI_MAJOR).\(LITMUS_ABI_MINOR)",
                fix: "upgrade litmus, or answer min(own minor, host->abi_minor) and build with "
                    + "-DLITMUS_ABI_TARGET_MINOR=\(LITMUS_ABI_MINOR)")
        }
        let name = string(info.plugin_name) ?? ""
        guard !name.isEmpty else {
            throw fail(field: "plugin_info.plugin_name", "is NULL or empty", fix: "set out->plugin_name, e.g. \"litmus-acme\"")
        }
        let version = string(info.plugin_version) ?? ""
        guard !version.isEmpty else {
            throw fail(field: "plugin_info.plugin_version", "is NULL or empty", fix: "set out->plugin_version, e.g. \"1.0.0\"")
        }
        guard info.driver_count > 0, let drivers = info.drivers else {
            throw fail(
                field: "plugin_info.drivers", "the plugin registers no driver",
                fix: "set out->driver_count and out->drivers to the plugin's driver descriptors")
        }
        guard info.driver_count <= 4096 else {
            throw fail(field: "plugin_info.driver_count", "\(info.driver_count) drivers is implausible", fix: "check driver_count")
        }
        var result: [DriverInfo] = []
        var seen: Set<String> = []
        for i in 0..<Int(info.driver_count) {
            guard let desc = drivers[i] else {
                throw fail(field: "plugin_info.drivers[\(i)]", "is NULL", fix: "list exactly driver_count descriptors")
            }
            let driver = try validateDriver(desc, index: i)
            guard seen.insert(driver.id).inserted else {
                throw fail(
                    .duplicateDriver, driver: driver.id, field: "plugin_info.drivers[\(i)].id",
                    "the plugin registers driver id '\(driver.id)' twice", fix: "give every driver a unique id")
            }
            result.append(driver)
        }
        return LoadedPlugin(path: path, name: name, version: version, abiMinor: Int(info.abi_minor), drivers: result)
    }

    private func validateDriver(_ desc: UnsafePointer<litmus_driver_desc>, index: Int) throws(PluginLoadError)
        -> DriverInfo
    {
        let where_ = "plugin_info.drivers[\(index)]"
        let size = Int(UnsafeRawPointer(desc).load(as: UInt32.self))
        guard size >= Self.driverDescMinSize else {
            throw fail(
                .structTooSmall, field: "\(where_).struct_size",
                "is \(size) bytes; litmus_driver_desc of ABI 1.0 is at least \(Self.driverDescMinSize)",
                fix: "set struct_size = sizeof(litmus_driver_desc)")
        }
        let d = copy(desc, size: size)
        guard let id = string(d.id), isValidID(id) else {
            throw fail(
                field: "\(where_).id", "'\(string(d.id) ?? "NULL")' is not a valid driver id",
                fix: "use lower-case letters, digits and '-', starting with a letter or digit, e.g. \"acme-dmm\"")
        }
        func required(_ field: String, _ value: UnsafePointer<CChar>?) throws(PluginLoadError) -> String {
            guard let text = string(value), !text.isEmpty else {
                throw fail(driver: id, field: field, "is NULL or empty", fix: "set \(field) in the driver descriptor")
            }
            return text
        }
        let displayName = try required("display_name", d.display_name)
        let version = try required("version", d.version)
        let vendor = try required("vendor", d.vendor)
        let schemes = stringList(d.resource_schemes)
        guard !schemes.isEmpty else {
            throw fail(
                driver: id, field: "resource_schemes", "lists no resource scheme",
                fix: "set resource_schemes to a NULL-terminated list such as {\"TCPIP\", NULL}")
        }
        for scheme in schemes where !isValidScheme(scheme) {
            throw fail(
                driver: id, field: "resource_schemes", "'\(scheme)' is not a valid scheme",
                fix: "use the VISA interface type in upper case without a board number: TCPIP, USB, ASRL, GPIB, SIM")
        }
        guard let vtablePointer = d.vtable else {
            throw fail(driver: id, field: "vtable", "is NULL", fix: "point vtable at the driver's litmus_driver_vtable")
        }
        let vtSize = Int(UnsafeRawPointer(vtablePointer).load(as: UInt32.self))
        guard vtSize >= Self.vtableMinSize else {
            throw fail(
                .structTooSmall, driver: id, field: "vtable.struct_size",
                "is \(vtSize) bytes; litmus_driver_vtable of ABI 1.0 is at least \(Self.vtableMinSize)",
                fix: "set struct_size = sizeof(litmus_driver_vtable)")
        }
        // The host's own full-size copy: entries a plugin of an older minor lacks are NULL.
        var vt = copy(vtablePointer, size: vtSize)
        if info.abi_minor < 1 {
            vt.trigger = nil
            vt.discover = nil
        }
        guard vt.open != nil else {
            throw fail(driver: id, field: "vtable.open", "is NULL", fix: "every driver must implement open and close")
        }
        guard vt.close != nil else {
            throw fail(driver: id, field: "vtable.close", "is NULL", fix: "every driver must implement open and close")
        }
        let messageBased = d.flags & UInt32(LITMUS_DRIVER_MESSAGE_BASED) != 0
        if messageBased && (vt.write == nil || vt.read == nil) {
            throw fail(
                driver: id, field: vt.write == nil ? "vtable.write" : "vtable.read",
                "is NULL but the driver is flagged LITMUS_DRIVER_MESSAGE_BASED",
                fix: "implement write and read, or drop the LITMUS_DRIVER_MESSAGE_BASED flag")
        }
        let operations = try validateOperations(d, id: id)
        if !operations.isEmpty && vt.invoke == nil {
            throw fail(
                driver: id, field: "vtable.invoke", "is NULL but the driver declares \(operations.count) operations",
                fix: "implement invoke, or declare no operations")
        }
        if operations.isEmpty && !messageBased {
            throw fail(
                driver: id, field: "flags", "the driver has neither operations nor message I/O: nothing can use it",
                fix: "declare operations (with invoke), or flag LITMUS_DRIVER_MESSAGE_BASED (with write and read)")
        }
        let openOptions = try validateParams(
            d.open_options, count: Int(d.open_option_count), field: "open_options", driver: id)

        var support: DriverInfo.Support = []
        if vt.write != nil { support.insert(.write) }
        if vt.read != nil { support.insert(.read) }
        if vt.query != nil { support.insert(.query) }
        if vt.clear != nil { support.insert(.clear) }
        if vt.read_stb != nil { support.insert(.readSTB) }
        if vt.set_timeout != nil { support.insert(.setTimeout) }
        if vt.invoke != nil { support.insert(.invoke) }
        if vt.get_extension != nil { support.insert(.extensions) }
        if vt.trigger != nil { support.insert(.trigger) }
        if vt.discover != nil { support.insert(.discover) }

        var instrumentTypes: [String] = []
        if info.abi_minor >= 1, size >= MemoryLayout<litmus_driver_desc>.offset(of: \.instrument_types)! + 8 {
            instrumentTypes = stringList(d.instrument_types)
        }
        let vtCopy = UnsafeMutablePointer<litmus_driver_vtable>.allocate(capacity: 1)
        vtCopy.initialize(to: vt)
        var driver = DriverInfo(
            id: id, displayName: displayName, version: version, vendor: vendor, schemes: schemes,
            isMessageBased: messageBased, isSimulated: d.flags & UInt32(LITMUS_DRIVER_SIMULATED) != 0,
            openOptions: openOptions, operations: operations, selfTestResource: string(d.self_test_resource),
            readTermination: string(d.read_termination), writeTermination: string(d.write_termination),
            instrumentTypes: instrumentTypes, abiMinor: Int(info.abi_minor), supports: support, pluginPath: path,
            pluginName: string(info.plugin_name) ?? "", descriptor: desc, vtable: UnsafePointer(vtCopy),
            services: services)
        driver.operationsByName = Dictionary(uniqueKeysWithValues: operations.map { ($0.name, $0.index) })
        return driver
    }

    private func validateOperations(_ d: litmus_driver_desc, id: String) throws(PluginLoadError) -> [OperationInfo] {
        let table = try entries(
            d.operations, count: Int(d.operation_count), limit: 65536, minSize: Self.operationMinSize,
            field: "operations", type: "litmus_operation_desc", driver: id)
        var ops: [OperationInfo] = []
        var seen: Set<String> = []
        for (i, op) in table.enumerated() {
            let field = "operations[\(i)]"
            guard let name = string(op.name), isValidName(name) else {
                throw fail(
                    driver: id, field: "\(field).name", "'\(string(op.name) ?? "NULL")' is not a valid operation name",
                    fix: "use snake_case: lower-case letters, digits and '_', e.g. \"measure_dc_voltage\"")
            }
            guard seen.insert(name).inserted else {
                throw fail(
                    driver: id, field: "\(field).name", "operation '\(name)' is declared twice",
                    fix: "give every operation a unique name")
            }
            guard let result = ValueType(rawValue: op.result_type) else {
                throw fail(
                    driver: id, field: "\(field).result_type", "\(op.result_type) is not a litmus_type",
                    fix: "use LITMUS_T_VOID, F64, I64, BOOL, STR, F64_ARRAY or BYTES")
            }
            let params = try validateParams(op.params, count: Int(op.param_count), field: "\(field).params", driver: id)
            ops.append(
                OperationInfo(
                    name: name, index: i, params: params, result: result, resultUnit: string(op.result_unit),
                    flags: OperationInfo.Flags(rawValue: op.flags), help: string(op.help)))
        }
        return ops
    }

    private func validateParams(
        _ base: UnsafePointer<litmus_param_desc>?, count: Int, field: String, driver id: String
    ) throws(PluginLoadError) -> [ParameterInfo] {
        let table = try entries(
            base, count: count, limit: 1024, minSize: Self.paramMinSize, field: field, type: "litmus_param_desc", driver: id)
        var params: [ParameterInfo] = []
        var seen: Set<String> = []
        for (i, p) in table.enumerated() {
            let here = "\(field)[\(i)]"
            guard let name = string(p.name), isValidName(name) else {
                throw fail(
                    driver: id, field: "\(here).name", "'\(string(p.name) ?? "NULL")' is not a valid parameter name",
                    fix: "use snake_case, e.g. \"voltage\" or \"timeout_ms\"")
            }
            guard seen.insert(name).inserted else {
                throw fail(driver: id, field: "\(here).name", "'\(name)' is declared twice", fix: "rename one of them")
            }
            guard let type = ValueType(rawValue: p.type), type != .void else {
                throw fail(
                    driver: id, field: "\(here).type", "\(p.type) is not a parameter type",
                    fix: "use LITMUS_T_F64, I64, BOOL, STR, F64_ARRAY or BYTES")
            }
            var range: ClosedRange<Double>?
            if p.flags & UInt32(LITMUS_PARAM_HAS_RANGE) != 0 {
                guard !p.min.isNaN, !p.max.isNaN, p.min <= p.max else {
                    throw fail(
                        driver: id, field: "\(here).min/max", "range \(p.min)...\(p.max) is empty or NaN",
                        fix: "set min <= max, or clear LITMUS_PARAM_HAS_RANGE")
                }
                guard type == .f64 || type == .i64 else {
                    throw fail(
                        driver: id, field: "\(here).flags", "a range on a \(type) parameter",
                        fix: "ranges apply to F64 and I64 parameters only")
                }
                range = p.min...p.max
            }
            var choices: [String]?
            if p.choices != nil {
                guard type == .string else {
                    throw fail(
                        driver: id, field: "\(here).choices", "choices on a \(type) parameter",
                        fix: "choices apply to STR parameters only")
                }
                choices = stringList(p.choices)
            }
            params.append(
                ParameterInfo(
                    name: name, type: type, unit: string(p.unit), help: string(p.help),
                    isOptional: p.flags & UInt32(LITMUS_PARAM_OPTIONAL) != 0,
                    isChannel: p.flags & UInt32(LITMUS_PARAM_CHANNEL) != 0, range: range, choices: choices))
        }
        return params
    }

    // MARK: - Reading plugin memory

    /// The entries of a plugin table of extensible structs, each copied full-size: the count
    /// must be plausible, the pointer set, and every entry must carry the same struct_size (the
    /// table's stride), at least the ABI 1.0 size.
    private func entries<T>(
        _ base: UnsafePointer<T>?, count: Int, limit: Int, minSize: Int, field: String, type: String, driver id: String
    ) throws(PluginLoadError) -> [T] {
        guard count > 0 else { return [] }
        guard count <= limit else {
            throw fail(driver: id, field: field, "\(count) entries is implausible", fix: "check the count of \(field)")
        }
        guard let base else {
            throw fail(driver: id, field: field, "is NULL but its count is \(count)", fix: "point it at the table, or set the count to 0")
        }
        let stride = Int(UnsafeRawPointer(base).load(as: UInt32.self))
        guard stride >= minSize else {
            throw fail(
                .structTooSmall, driver: id, field: "\(field)[0].struct_size",
                "is \(stride) bytes; \(type) of ABI 1.0 is at least \(minSize)",
                fix: "set struct_size = sizeof(\(type)) in every entry")
        }
        var result: [T] = []
        result.reserveCapacity(count)
        for i in 0..<count {
            let raw = UnsafeRawPointer(base) + i * stride
            let size = Int(raw.load(as: UInt32.self))
            guard size == stride else {
                throw fail(
                    .structTooSmall, driver: id, field: "\(field)[\(i)].struct_size",
                    "is \(size); every entry of one table must have the same struct_size (\(stride))",
                    fix: "set struct_size = sizeof(\(type)) in every entry")
            }
            result.append(copy(raw.assumingMemoryBound(to: T.self), size: size))
        }
        return result
    }

    /// A full-size copy of a struct of which the plugin wrote `size` bytes; the rest is zero.
    private func copy<T>(_ pointer: UnsafePointer<T>, size: Int) -> T {
        let full = MemoryLayout<T>.size
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: full, alignment: MemoryLayout<T>.alignment)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: full)
        buffer.copyMemory(from: pointer, byteCount: min(size, full))
        return buffer.load(as: T.self)
    }

    private func string(_ p: UnsafePointer<CChar>?) -> String? {
        p.map { String(cString: $0) }
    }

    private func stringList(_ list: UnsafePointer<UnsafePointer<CChar>?>?) -> [String] {
        guard let list else { return [] }
        var items: [String] = []
        var i = 0
        while let item = list[i], i < 1024 {
            items.append(String(cString: item))
            i += 1
        }
        return items
    }

    private func isValidID(_ s: String) -> Bool {
        guard let first = s.utf8.first, s.utf8.count <= 64 else { return false }
        let ok = { (c: UInt8) in (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        return ok(first) && s.utf8.allSatisfy { ok($0) || $0 == 0x2D }
    }

    private func isValidName(_ s: String) -> Bool {
        guard let first = s.utf8.first, s.utf8.count <= 128 else { return false }
        let lower = { (c: UInt8) in c >= 0x61 && c <= 0x7A }
        return (lower(first) || first == 0x5F)
            && s.utf8.allSatisfy { lower($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    private func isValidScheme(_ s: String) -> Bool {
        guard let first = s.utf8.first, first >= 0x41 && first <= 0x5A, s.utf8.count <= 32 else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}
