import Foundation
import Testing

@testable import Litmus

/// The conformance kit, directly and through the `litmus` command-line tool.
@Suite struct ConformanceTests {
    @Test(arguments: ["mock", "example-c"])
    func inTreePluginsPass(name: String) {
        let report = ConformanceCheck.run(pluginAt: TestPlugins.path(name))
        #expect(report.passed, "\(report.rendered())")
        #expect(report.items.contains { $0.name.hasPrefix("operation ") && $0.outcome == .passed })
        #expect(report.rendered().hasSuffix("checks)"))
    }

    /// The out-of-tree fixture is an echo: everything passes, built for 1.1 and for 1.0, except
    /// its identity, since an echo of "*IDN?" is no identity (the old kit passed it).
    @Test func outOfTreePluginPassesAndOlderMinorTooButAnEchoIsNoIdentity() throws {
        for defines in [[], ["LITMUS_ABI_TARGET_MINOR=0"]] {
            let path = try TestPlugins.compile("out_of_tree.c", defines: defines, name: "liblitmus-oot-check\(defines.count)")
            let report = ConformanceCheck.run(pluginAt: path)
            let failed = report.items.filter { $0.outcome == .failed }
            #expect(failed.map(\.name) == ["identify (*IDN? through write + read)"], "\(report.rendered())")
            #expect(failed.first?.detail.contains("the reply \"*IDN?\" is not an IEEE 488.2 identity") == true)
            #expect(report.items.filter { $0.name.hasPrefix("operation ") && $0.name.contains("(") }.allSatisfy { $0.outcome == .passed }, "\(report.rendered())")
        }
    }

    @Test func brokenPluginFailsWithTheLoaderMessage() throws {
        let path = try TestPlugins.compile("bad_plugin.c", defines: ["BAD_NULL_OPEN"], name: "liblitmus-check-bad")
        let report = ConformanceCheck.run(pluginAt: path)
        #expect(!report.passed)
        #expect(report.rendered().contains("vtable.open: is NULL"))
        #expect(report.rendered().contains("Verdict: FAIL"))
    }

    // MARK: The CLI

    static let litmus = "\(TestPlugins.buildDirectory)/litmus"

    @Test func driversListShowsMockAndExampleC() throws {
        let result = try TestPlugins.run(Self.litmus, ["drivers", "list"])
        #expect(result.status == 0, "\(result.output)")
        for id in ["mock", "sim", "example-dmm"] {
            #expect(result.output.contains("\n\(id) "), "\(result.output)")
        }
        #expect(result.output.contains("liblitmus-example-c.so"))
    }

    @Test func driversInfoDescribesOperations() throws {
        let result = try TestPlugins.run(Self.litmus, ["drivers", "info", "example-dmm"])
        #expect(result.status == 0)
        #expect(result.output.contains("set_range(function: string {DCV|RES}"))
        let unknown = try TestPlugins.run(Self.litmus, ["drivers", "info", "exmaple-dmm"])
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("Did you mean 'example-dmm'?"))
    }

    @Test func driversCheckExitCodes() throws {
        let good = try TestPlugins.run(Self.litmus, ["drivers", "check", TestPlugins.path("mock"), TestPlugins.path("example-c")])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("Verdict: PASS"))
        let badPath = try TestPlugins.compile("bad_plugin.c", defines: ["BAD_NEWER_MINOR"], name: "liblitmus-cli-bad")
        let bad = try TestPlugins.run(Self.litmus, ["drivers", "check", badPath])
        #expect(bad.status == 1)
        #expect(bad.output.contains("answered ABI minor 99"))
        #expect(bad.output.contains("Verdict: FAIL"))
    }
}
