import Foundation
@testable import LitmusTesting
import LitmusYAML
import Testing

@testable import Litmus

/// Every YAML reader is bounded (issue 12 item 1): nested aliases, huge scalars, deep nesting
/// and huge files get a located error naming the limit, never a crash, a hang or memory
/// exhaustion. Without the bound, the depth-7 file below took 38 s and 756 MB in
/// `litmus station check`, and depth 8 aborted with "failed to allocate".
@Suite struct YAMLLimitsTests {
    /// The issue's "billion laughs" file: level 0 is a list of ten scalars, each further level
    /// a list of ten aliases of the level before, so level `depth` stands for 10^(depth+1)
    /// values. About 2.6 KB at depth 9.
    static func aliasBomb(depth: Int) -> String {
        var lines = ["l0: &l0 [" + Array(repeating: "lol", count: 10).joined(separator: ", ") + "]"]
        for level in 1...depth {
            lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `text` to a fresh file in the test scratch directory.
    static func write(_ text: String, _ name: String) throws -> String {
        let path = "\(TestPlugins.scratch)/yaml-limits-\(UUID().uuidString)-\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// One error, located in `file` (line and column > 0), naming `limit`.
    static func expectLimitError(_ errors: [ConfigError], file: String, limit: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(errors.count == 1, "\(errors)", sourceLocation: sourceLocation)
        guard let e = errors.first else { return }
        #expect(e.file == file, "\(e)", sourceLocation: sourceLocation)
        #expect(e.line > 0 && e.column > 0, "\(e)", sourceLocation: sourceLocation)
        #expect(e.problem.contains("YAML limit \(limit)"), "\(e)", sourceLocation: sourceLocation)
        #expect(e.fix.contains("LITMUS_YAML_LIMITS=\(limit)="), "\(e)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [7, 8, 9])
    func aliasBombIsRefusedByEveryCoreReader(depth: Int) throws {
        let text = Self.aliasBomb(depth: depth)
        #expect(text.utf8.count < 3000)
        let path = try Self.write(text, "bomb\(depth).yaml")

        // A station (the file `litmus station check` reads).
        let (station, report) = StationConfiguration.load(station: path, registry: TestPlugins.registry, environment: [:])
        #expect(station == nil)
        Self.expectLimitError(report.errors, file: path, limit: "nodes")
        // The bomb is refused at the first alias that goes past the limit (level 5, the
        // first level worth more than 250,000 values), not after expanding anything.
        #expect(report.errors.first?.line == 6, "\(report)")

        // A fixture, a part, an instrument profile.
        for load in [
            { (r: ConfigReader) in _ = Fixture.load(path: path, reader: r) },
            { (r: ConfigReader) in _ = PartLoader.load(path: path, reader: r) },
            { (r: ConfigReader) in _ = InstrumentProfile.load(path: path, reader: r) },
        ] {
            let reader = ConfigReader(environment: [:])
            load(reader)
            Self.expectLimitError(reader.report.errors, file: path, limit: "nodes")
        }

        // A harness config and a sidecar file, read from the file and from text.
        for result in [
            Result { try HarnessConfig.load(path: path) }.map { _ in () },
            Result { try HarnessConfig.loadSidecar(path: path) }.map { _ in () },
        ] {
            guard case .failure(let report as ConfigReport) = result else {
                Issue.record("the bomb was accepted")
                continue
            }
            Self.expectLimitError(report.errors, file: path, limit: "nodes")
        }
        let fromText = try #require(throws: ConfigReport.self) { try HarnessConfig.parse(text, file: "<bomb>") }
        Self.expectLimitError(fromText.errors, file: "<bomb>", limit: "nodes")

        // A mock behaviour written in YAML (LitmusTesting).
        let mock = LitmusMock.yaml(text)
        guard case .failure(let failure) = mock.value else {
            Issue.record("LitmusMock.yaml accepted the bomb")
            return
        }
        #expect("\(failure)".contains("YAML limit nodes"), "\(failure)")
    }

    @Test(arguments: [7, 8, 9])
    func aliasBombIsRefusedBySimulatedDeviceFiles(depth: Int) throws {
        // The mock plugin reads `description` files itself (it cannot link the core): through
        // the real plugin, opened by the registry.
        let path = try Self.write("devices:\n  dmm:\n    identity: x\nbomb:\n" + Self.aliasBomb(depth: depth).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n", "simbomb\(depth).yaml")
        let error = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("SIM::dmm::INSTR", options: ["description": .string(path)])
        }
        #expect(error.status == .invalidArgument)
        #expect(error.message.contains("\(path):10:"), "\(error.message)")
        #expect(error.message.contains("YAML limit nodes"), "\(error.message)")
        #expect(error.message.contains("LITMUS_YAML_LIMITS=nodes="), "\(error.message)")
    }

    @Test func aTenMegabyteScalarIsRefused() throws {
        let big = String(repeating: "x", count: 10 << 20)
        let path = try Self.write("id: big\nname: Big\ndescription: \"\(big)\"\n", "big.yaml")
        let reader = ConfigReader(environment: [:])
        _ = Station.load(path: path, reader: reader)
        // 10 MB is past the file limit (8 MiB): refused before parsing.
        Self.expectLimitError(reader.report.errors, file: path, limit: "file_bytes")

        // The same scalar in a file allowed to be that large: refused as a scalar, located at it.
        let roomy = ConfigReader(environment: ["LITMUS_YAML_LIMITS": "file_bytes=20000000"])
        _ = Station.load(path: path, reader: roomy)
        Self.expectLimitError(roomy.report.errors, file: path, limit: "scalar_bytes")
        #expect(roomy.report.errors.first.map { ($0.line, $0.column) } ?? (0, 0) == (3, 14))

        // And through the mock plugin.
        let sim = try Self.write("devices:\n  dmm:\n    identity: \"\(String(repeating: "y", count: 2 << 20))\"\n", "bigsim.yaml")
        let error = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("SIM::dmm::INSTR", options: ["description": .string(sim)])
        }
        #expect(error.message.contains("\(sim):3:15"), "\(error.message)")
        #expect(error.message.contains("YAML limit scalar_bytes"), "\(error.message)")
    }

    @Test func largeValuesWithinTheLimitStayCheap() throws {
        // A 1 MB profile id (within scalar_bytes) once took 40 s: "did you mean" compared it
        // with every profile name by edit distance. Now no typo is looked for in so long a word.
        let big = String(repeating: "x", count: 1_000_000)
        #expect(Suggest.closest(to: big, in: ["generic_scpi_dmm", "generic_scpi_psu"]) == nil)
        #expect(Suggest.closest(to: "generic_scpi_dm", in: ["generic_scpi_dmm", big]) == "generic_scpi_dmm")
        let s = try StationScratch()
        try s.write("station.yaml", simStation(id: "station").replacingOccurrences(of: "profile: generic_scpi_dmm", with: "profile: \(big)"))
        let (_, report) = s.load("station.yaml")
        let error = try #require(report.errors.first { $0.keyPath == "instruments.dmm.profile" }, "\(report)")
        #expect(error.line == 6 && !error.fix.contains("did you mean"), "\(error.fix)")

        // A simulated device's command pattern: SCPI headers are short, a 1 MB one took seconds.
        let sim = try Self.write("devices:\n  dmm:\n    dialogues:\n      - {q: \"\(String(repeating: "A", count: 2000))?\", r: \"1\"}\n", "longq.yaml")
        let simError = try #require(throws: DriverError.self) {
            try TestPlugins.registry.open("SIM::dmm::INSTR", options: ["description": .string(sim)])
        }
        #expect(simError.message.contains("\(sim):4:13"), "\(simError.message)")
        #expect(simError.message.contains("at most 1024"), "\(simError.message)")
    }

    @Test func endlessFilesAreReadNoFurtherThanTheLimit() throws {
        // /dev/zero never ends: the reader stops at the limit instead of exhausting memory.
        let reader = ConfigReader(environment: [:])
        _ = Station.load(path: "/dev/zero", reader: reader)
        Self.expectLimitError(reader.report.errors, file: "/dev/zero", limit: "file_bytes")
    }

    @Test func otherLimitsAreLocatedAndNamed() throws {
        // Nesting: 500 levels (composing recursively that deep could overflow a thread's stack).
        let deep = try Self.write("a: " + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "\n", "deep.yaml")
        let r1 = ConfigReader(environment: [:])
        _ = Station.load(path: deep, reader: r1)
        Self.expectLimitError(r1.report.errors, file: deep, limit: "depth")
        // 100,000 levels: libyaml's own nesting limit (1,000) answers first, located.
        let deeper = try Self.write("a: " + String(repeating: "[", count: 100_000) + "\n", "deeper.yaml")
        let r0 = ConfigReader(environment: [:])
        _ = Station.load(path: deeper, reader: r0)
        #expect(r0.report.errors.count == 1 && r0.report.errors.allSatisfy { $0.line == 1 && $0.column > 0 }, "\(r0.report)")

        // Alias count: 10,001 aliases of one small scalar (few values, many aliases).
        let many = try Self.write("a: &a 1\nb: [" + Array(repeating: "*a", count: 10_001).joined(separator: ",") + "]\n", "aliases.yaml")
        let r2 = ConfigReader(environment: [:])
        _ = Station.load(path: many, reader: r2)
        Self.expectLimitError(r2.report.errors, file: many, limit: "aliases")

        // Expanded text: a 900 KB scalar repeated by 100 aliases is 90 MB of text.
        let text = try Self.write(
            "a: &a \"\(String(repeating: "z", count: 900_000))\"\nb: [" + Array(repeating: "*a", count: 100).joined(separator: ",") + "]\n",
            "text.yaml")
        let r3 = ConfigReader(environment: [:])
        _ = Station.load(path: text, reader: r3)
        Self.expectLimitError(r3.report.errors, file: text, limit: "text_bytes")
        #expect(r3.report.errors.first?.line == 2)
    }

    @Test func limitsCanBeRaisedAndTheVariableIsChecked() throws {
        // Depth 4: 111,111 values, within the default; refused below 1,000 values.
        let path = try Self.write(Self.aliasBomb(depth: 4), "small.yaml")
        let tight = ConfigReader(environment: ["LITMUS_YAML_LIMITS": "nodes=1000"])
        #expect(tight.limits.nodes == 1000)
        #expect(throws: ConfigError.self) { try tight.load(path) }
        let node = try ConfigReader(environment: [:]).load(path)
        #expect(try node.entries().count == 5)

        let bad = ConfigReader(environment: ["LITMUS_YAML_LIMITS": "nodes=lots"])
        let error = try #require(throws: ConfigError.self) { try bad.load(path) }
        #expect(error.problem.contains("LITMUS_YAML_LIMITS=nodes=lots"), "\(error)")
        #expect(error.problem.contains("file_bytes, scalar_bytes, nodes, aliases, text_bytes, depth"), "\(error)")
    }
}
