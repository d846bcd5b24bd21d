import Foundation
import Testing

@testable import Litmus

@Suite struct PluginLoaderTests {
    @Test func loadsTheBuiltMockAndExampleCPlugins() throws {
        let registry = TestPlugins.registry
        let mock = try registry.driver(id: "mock")
        #expect(mock.schemes == ["MOCK"])
        #expect(mock.isSimulated)
        #expect(mock.pluginPath.hasSuffix("liblitmus-mock.so"))
        #expect(mock.supports.contains(.invoke))
        #expect(mock.operation(named: "measure_dc_voltage")?.result == .f64)
        let sim = try registry.driver(id: "sim")
        #expect(sim.isMessageBased)
        #expect(sim.readTermination == "\n")
        let example = try registry.driver(id: "example-dmm")
        #expect(example.schemes == ["EXAMPLE"])
        #expect(example.abiMinor == 2)
        #expect(example.instrumentTypes == ["dmm"])
        #expect(example.supports.contains([.write, .read, .clear, .readSTB, .setTimeout, .invoke, .trigger, .discover]))
        #expect(!example.supports.contains(.query))
        #expect(try example.discover().map(\.resource) == ["EXAMPLE::dmm0::INSTR"])
        #expect(try sim.discover().map(\.resource) == ["SIM::dmm::INSTR", "SIM::psu::INSTR"])
        #expect(throws: DriverError.self) { try mock.discover() }
    }

    @Test func theSameFileThroughTwoPathsLoadsOnce() throws {
        let registry = DriverRegistry()
        let first = try registry.loadPlugin(at: TestPlugins.path("example-c"))
        let link = "\(TestPlugins.scratch)/liblitmus-example-link-\(UUID().uuidString).so"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: TestPlugins.path("example-c"))
        let second = try registry.loadPlugin(at: link)
        #expect(first.path == second.path)
        #expect(registry.plugins.count == 1)
    }

    @Test func searchPathScansDirectoriesForLitmusPluginFiles() throws {
        let dir = "\(TestPlugins.pluginScratch)/search-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let plugin = try TestPlugins.compile("out_of_tree.c", name: "liblitmus-oot")
        try FileManager.default.copyItem(atPath: plugin, toPath: "\(dir)/liblitmus-oot.so")
        // Not named liblitmus-*: ignored in a directory scan.
        try Data("not a plugin".utf8).write(to: URL(fileURLWithPath: "\(dir)/libother.so"))
        let registry = DriverRegistry()
        registry.loadSearchPath(["\(dir)/does-not-exist", dir])
        #expect(registry.diagnostics.isEmpty)
        #expect(registry.drivers.map(\.id) == ["oot-counter"])

        let env = ["LITMUS_PLUGIN_PATH": "/nowhere:\(dir)"]
        let path = DriverRegistry.searchPath(extra: ["/station/plugins"], environment: env)
        #expect(Array(path.prefix(3)) == ["/nowhere", dir, "/station/plugins"])
        #expect(path.count == 4)  // then the directory of the running binary
    }

    @Test func outOfTreeCPluginBuiltWithCCLoadsAndWorks() throws {
        let registry = DriverRegistry()
        let path = try TestPlugins.compile("out_of_tree.c", name: "liblitmus-oot")
        let plugin = try registry.loadPlugin(at: path)
        #expect(plugin.name == "litmus-oot")
        #expect(plugin.abiMinor == 2)
        let oot = try registry.open("OOT::counter::INSTR")
        #expect(oot.driver.id == "oot-counter")
        #expect(try oot.call("add", 1.5, 2.25) == .f64(3.75))
        #expect(try oot.call("add", .i64(2), .i64(3)) == .f64(5))  // integers widen to f64
        #expect(try oot.call("echo", "héllo ✓") == .string("héllo ✓"))
        #expect(try oot.call("negate", true) == .bool(false))
        #expect(try oot.call("scale", .f64Array([1, -2.5, 0])) == .f64Array([2, -5, 0]))
        #expect(try oot.call("bytes_len", .bytes([0, 10, 13, 255])) == .i64(4))
        #expect(try oot.call("count") == .i64(6))
        let error = try #require(throws: DriverError.self) { try oot.call("fail", .i64(-1003)) }
        #expect(error.status == DriverStatus(rawValue: -1003))
        #expect(error.status.isVendorSpecific)
        #expect(error.vendorCode == 42)
        #expect(error.message == "requested failure -1003")
        #expect(error.context.contains("oot-counter OOT::counter::INSTR fail"))
        try oot.write("ping")
        #expect(try oot.read() == "ping")
    }

    @Test func olderMinorPluginWithSmallerStructsStillLoadsAndWorks() throws {
        let registry = DriverRegistry()
        let path = try TestPlugins.compile("out_of_tree.c", defines: ["LITMUS_ABI_TARGET_MINOR=0"], name: "liblitmus-oot-minor0")
        let plugin = try registry.loadPlugin(at: path)
        #expect(plugin.abiMinor == 0)
        let driver = try registry.driver(id: "oot-counter")
        #expect(driver.instrumentTypes.isEmpty)  // a 1.1 field, absent in 1.0
        #expect(!driver.supports.contains(.trigger))
        #expect(!driver.supports.contains(.discover))
        let oot = try registry.open("OOT::counter::INSTR")
        #expect(try oot.call("add", 2.0, 3.0) == .f64(5))
        let error = try #require(throws: DriverError.self) { try oot.trigger() }
        #expect(error.status == .unsupported)
    }

    /// Each broken plugin is rejected with a message naming the field and the fix.
    @Test(arguments: [
        ("BAD_WRONG_MAJOR", PluginLoadError.Code.versionMismatch, "plugin_info.abi_major", "answered ABI major 2"),
        ("BAD_NEWER_MINOR", .versionMismatch, "plugin_info.abi_minor", "answered ABI minor 99, newer than this host's 1.2"),
        ("BAD_SMALL_DRIVER_STRUCT", .structTooSmall, "plugin_info.drivers[0].struct_size", "is 8 bytes"),
        ("BAD_SMALL_VTABLE", .structTooSmall, "vtable.struct_size", "is 8 bytes"),
        ("BAD_NULL_OPEN", .invalidDescriptor, "vtable.open", "is NULL"),
        ("BAD_NULL_INVOKE", .invalidDescriptor, "vtable.invoke", "is NULL but the driver declares 1 operations"),
        ("BAD_DUPLICATE_IN_PLUGIN", .duplicateDriver, "plugin_info.drivers[1].id", "registers driver id"),
        ("BAD_ENTRY_FAILS", .entryFailed, "litmus_plugin_entry_v1", "license file missing"),
        ("BAD_NO_DRIVERS", .invalidDescriptor, "plugin_info.drivers", "registers no driver"),
        ("BAD_BAD_ID", .invalidDescriptor, "plugin_info.drivers[0].id", "'Bad ID!' is not a valid driver id"),
        ("BAD_NO_SCHEMES", .invalidDescriptor, "resource_schemes", "lists no resource scheme"),
        ("BAD_NULL_OP_NAME", .invalidDescriptor, "operations[0].name", "'NULL' is not a valid operation name"),
    ])
    func rejectsBrokenPlugin(define: String, code: PluginLoadError.Code, field: String, problem: String) throws {
        let path = try TestPlugins.compile("bad_plugin.c", defines: [define], name: "liblitmus-\(define.lowercased())")
        let error = try #require(throws: PluginLoadError.self) { try DriverRegistry().loadPlugin(at: path) }
        #expect(error.code == code)
        #expect(error.field == field)
        #expect(error.problem.contains(problem), "\(error)")
        #expect(!error.fix.isEmpty)
        #expect(error.description.hasPrefix(path + ": "))
        #expect(error.description.contains("Fix: "))
    }

    @Test func theValidVariantOfTheBadFixtureLoads() throws {
        let path = try TestPlugins.compile("bad_plugin.c", name: "liblitmus-fixture-ok")
        let registry = DriverRegistry()
        try registry.loadPlugin(at: path)
        let instrument = try registry.open("FIXTURE::ok::INSTR")
        #expect(try instrument.call("ping") == .bool(true))
    }

    @Test func missingEntrySymbolIsRejected() throws {
        let path = try TestPlugins.compile("no_entry.c", name: "liblitmus-no-entry")
        let error = try #require(throws: PluginLoadError.self) { try DriverRegistry().loadPlugin(at: path) }
        #expect(error.code == .missingEntry)
        #expect(error.problem.contains("exports no litmus_plugin_entry_v1"))
    }

    @Test func aFileThatIsNotASharedLibraryIsRejected() throws {
        let path = "\(TestPlugins.pluginScratch)/liblitmus-text-\(UUID().uuidString).so"
        try Data("this is a text file, not an ELF object\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: PluginLoadError.self) { try DriverRegistry().loadPlugin(at: path) }
        #expect(error.code == .notASharedLibrary)
        #expect(error.fix.contains("cc -shared -fPIC"))

        let missing = try #require(throws: PluginLoadError.self) {
            try DriverRegistry().loadPlugin(at: "/no/such/liblitmus-x.so")
        }
        #expect(missing.code == .unreadable)
    }

    @Test func twoPluginsClaimingOneDriverIDIsAnErrorNamingBothFiles() throws {
        let a = try TestPlugins.compile("bad_plugin.c", defines: [#"DRIVER_ID="dup-driver""#], name: "liblitmus-dup-a")
        let bDir = "\(TestPlugins.pluginScratch)/dup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: bDir, withIntermediateDirectories: true)
        let b = "\(bDir)/liblitmus-dup-b.so"
        try FileManager.default.copyItem(atPath: a, toPath: b)
        let registry = DriverRegistry()
        registry.loadSearchPath([a, b])
        let problem = try #require(registry.diagnostics.first)
        #expect(problem.code == .duplicateDriver)
        #expect(problem.description.contains(System.realPath(a)!))
        #expect(problem.description.contains(System.realPath(b)!))
        let error = try #require(throws: DriverError.self) { try registry.driver(id: "dup-driver") }
        #expect(error.message.contains("declared by two plugins"))
        #expect(error.message.contains(System.realPath(b)!))
    }

    @Test func unknownDriverAndSchemeErrorsListWhatExists() throws {
        let registry = TestPlugins.registry
        let byID = try #require(throws: DriverError.self) { try registry.driver(id: "mokc") }
        #expect(byID.message.contains("Did you mean 'mock'?"))
        #expect(byID.message.contains("example-dmm"))
        let byScheme = try #require(throws: DriverError.self) { try registry.open("GPIB0::5::INSTR") }
        #expect(byScheme.status == .notFound)
        #expect(byScheme.message.contains("MOCK"))
        // Scheme matching is case-insensitive and ignores the board number.
        #expect(try registry.driver(forResource: "sim0::dmm::instr").id == "sim")
    }
}
