import Foundation

/// The files `litmus init` writes: a Swift package that depends on Litmus, with a mock bench
/// and tests that pass with `swift test` at once. `litmus new-test` writes ``newTest(_:station:)``.
struct StarterTemplate {
    /// How the package depends on Litmus.
    enum Dependency {
        /// `.package(path:)`: a checkout on this machine.
        case path(String)
        /// `.package(url:, from:)`: a tagged release.
        case url(String, version: String)

        /// The package identity SwiftPM gives Litmus: the last path component (`.git` dropped).
        var identity: String {
            let text: String
            switch self {
            case .path(let p): text = p
            case .url(let u, _): text = u
            }
            var last = String(text.split(separator: "/").last ?? "litmus")
            if last.hasSuffix(".git") { last.removeLast(4) }
            return last.lowercased()
        }

        var manifestLine: String {
            switch self {
            case .path(let p): ".package(path: \(swiftString(p)))"
            case .url(let u, let v): ".package(url: \(swiftString(u)), from: \(swiftString(v)))"
            }
        }
    }

    /// The package name (the directory's name).
    var name: String
    /// The test target's name, `<Name>Tests` in UpperCamelCase.
    var testTarget: String
    var dependency: Dependency
    /// With the worked example: fixture, part, sequence and the board tests.
    var starter: Bool

    init(directory: String, dependency: Dependency, starter: Bool) {
        name = (directory as NSString).lastPathComponent
        testTarget = Self.typeName(name) + "Tests"
        self.dependency = dependency
        self.starter = starter
    }

    /// `name` as an UpperCamelCase Swift type name: `my-board` -> `MyBoard`.
    static func typeName(_ name: String) -> String {
        let words = name.split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }
        let joined = words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        guard let first = joined.first else { return "Board" }
        return first.isNumber ? "Board" + joined : joined
    }

    /// Every file, by path relative to the package directory, in the order written.
    func files() -> [(path: String, contents: String)] {
        var files: [(String, String)] = [
            ("Package.swift", packageManifest),
            (".gitignore", gitignore),
            ("README.md", readme),
            ("Plugins/mock/MockPlugin.swift", mockPlugin),
            ("stations/bench.yaml", bench),
        ]
        if starter {
            files += [
                ("stations/fixtures/board_fixture.yaml", fixture),
                ("stations/parts/board.yaml", part),
                ("stations/sequences/board.yaml", sequence),
                ("Tests/\(testTarget)/BoardTests.swift", boardTests),
                ("Tests/\(testTarget)/BoardTests.litmus.yaml", boardSidecar),
                ("Tests/\(testTarget)/BoardSequence.swift", boardSequence),
            ]
        } else {
            let first = Self.newTest("FirstTests", station: "stations/bench.yaml")
            files += first.map { ("Tests/\(testTarget)/\($0.path)", $0.contents) }
        }
        return files
    }

    // MARK: - The package

    var packageManifest: String {
        let litmus = dependency.identity
        return """
            // swift-tools-version: 6.1
            // \(name): hardware tests on Litmus. `swift test` runs them on the mock bench (stations/).
            import Foundation
            import PackageDescription

            // Sidecar files (limits and sweeps beside each test file) are read from the source tree
            // when the tests run, not compiled.
            let testDirectory = Context.packageDirectory + "/Tests/\(testTarget)"
            let sidecars = ((try? FileManager.default.contentsOfDirectory(atPath: testDirectory)) ?? [])
                .filter { $0.hasSuffix(".litmus.yaml") }

            let package = Package(
                name: \(swiftString(name)),
                platforms: [.macOS(.v14)],
                products: [
                    // The driver plugins the stations use, one `.dynamic` product each: SwiftPM builds
                    // liblitmus-mock.so next to the test binary, where Litmus looks for plugins. Never
                    // make a test target depend on one (every plugin exports the same entry symbol).
                    .library(name: "litmus-mock", type: .dynamic, targets: ["LitmusMockPlugin"]),
                ],
                dependencies: [
                    \(dependency.manifestLine),
                ],
                targets: [
                    // The mock and sim drivers (the mock bench's instruments).
                    .target(
                        name: "LitmusMockPlugin", dependencies: [.product(name: "LitmusMockDriver", package: \(swiftString(litmus)))],
                        path: "Plugins/mock"),
                    .testTarget(
                        name: \(swiftString(testTarget)), dependencies: [.product(name: "LitmusTesting", package: \(swiftString(litmus)))],
                        exclude: sidecars),
                ]
            )

            """
    }

    var gitignore: String {
        """
        .build/
        Package.resolved
        # Run files (Parquet, event logs) written by the tests.
        /data/

        """
    }

    var readme: String {
        let tests = starter ? "`Tests/\(testTarget)/BoardTests.swift`" : "`Tests/\(testTarget)/FirstTests.swift`"
        return """
            # \(name)

            Hardware tests written with Litmus and Swift Testing. They run on a
            mock bench (`stations/bench.yaml`: simulated instruments), so they pass on any machine.

            ```sh
            swift test                    # build, run the tests on the bench, write data/*.parquet
            litmus new-test PowerTests    # add Tests/\(testTarget)/PowerTests.swift and its sidecar
            ```

            - \(tests): the tests; limits and sweep points in the `.litmus.yaml` file beside it.
            - `stations/`: the bench (\(starter ? "station, fixture, part, sequence" : "station")). Profiles and
              simulated devices named without a path (`profile: generic_scpi_dmm`,
              `description: bench_devices`) come from Litmus unless `stations/profiles/` or
              `stations/sim/` has a file of that name. `litmus station check stations/bench.yaml`
              says where each came from.
            - On hardware: point the roles of a station file at real resources and run
              `LITMUS_STATION=stations/<yours>.yaml swift test`.

            """
    }

    var mockPlugin: String {
        """
        // The `mock` and `sim` driver plugin, built from Litmus as liblitmus-mock.so (see
        // Package.swift). This file is empty on purpose: the code is Litmus's LitmusMockDriver.

        """
    }

    // MARK: - The bench

    var bench: String {
        let links =
            starter
            ? """
            fixture: fixtures/board_fixture.yaml
            part: parts/board.yaml

            """ : ""
        return """
            # The mock bench: simulated SCPI instruments (the `sim` driver), driven through Litmus's
            # generic profiles. Both are named, not pathed: a file of that name in profiles/ or sim/
            # beside this station wins over the one Litmus ships.
            #
            #   litmus station check stations/bench.yaml --open
            name: "Mock bench"
            \(links)instruments:
              psu:
                type: psu
                resource: "SIM::psu::INSTR"
                profile: generic_scpi_psu
                options: {description: bench_devices}
              dmm:
                type: dmm
                resource: "SIM::dmm::INSTR"
                profile: generic_scpi_dmm
                options: {description: bench_devices}

            """
    }

    var fixture: String {
        """
        # The wiring between the bench and the board: instrument role + channel -> board pin.
        part: board
        connections:
          vin_supply: {instrument: psu, channel: "1", pin: VIN, function: dc_voltage}
          vin_current: {instrument: psu, channel: "1", pin: VIN, function: dc_current}
          vout_sense: {instrument: dmm, pin: VOUT, function: dc_voltage}

        """
    }

    var part: String {
        """
        # The product spec: pins, and the characteristics tests are judged against.
        name: "3.3 V regulator board"
        part_number: "PN-0001"
        pins:
          VIN: {designator: J1.1, role: power}
          GND: {designator: J1.2, role: ground}
          VOUT: {designator: J1.3, role: power}
        characteristics:
          vout:
            pin: VOUT
            function: dc_voltage
            direction: output
            unit: V
            bands:
              - when: {vin: {min: 4.5, max: 13}}
                nominal: 3.3
                accuracy: {pct_reading: 2}
          iq:
            pin: VIN
            function: dc_current
            direction: input
            unit: A
            bands:
              - max: 0.005      # one-sided: at most 5 mA

        """
    }

    var sequence: String {
        """
        # The line's order for BoardSequence.swift: edit it to change what runs, without recompiling.
        #
        #   litmus run --station stations/bench.yaml --sequence stations/sequences/board.yaml -- \\
        #     .build/debug/\(name)PackageTests.xctest --testing-library swift-testing --filter BoardSequence
        steps:
          - test: powerOn
            role: setup
          - test: outputVoltage
            retry: 1
          - test: powerOff
            role: teardown

        """
    }

    // MARK: - The tests

    var boardTests: String {
        """
        // The board's tests on the bench: `swift test` runs them in source order (.serialized); the
        // run's Parquet file is written to data/ when the process ends. Limits in code, in the part's
        // spec (stations/parts/board.yaml) and in BoardTests.litmus.yaml (editable without recompiling).
        import Litmus
        import LitmusTesting
        import Testing

        @Suite(.serialized, .litmusStation("stations/bench.yaml", dutSerial: "SN0001", autoPrompts: true), .litmusSidecar())
        struct BoardTests {
            /// Power the board; the supply's read-back is judged against a limit written here.
            @Test(.litmusSetup, .litmusLimits(["vin": .between(4.9, 5.1, unit: "V")]))
            func powerOn() throws {
                let psu = try Litmus.instrument("psu")
                try psu.call("set_voltage", .f64(5.0))
                try psu.call("enable_output")
                try Litmus.verify("vin", try psu.call("measure_voltage").doubleValue, connection: "vin_supply")
            }

            /// The output rail at each input voltage of the sidecar, judged by the part's spec.
            @Test(.litmusCharacteristics(["vout"]), arguments: try Sweep.sidecar(test: "outputVoltage"))
            func outputVoltage(_ point: Vector) throws {
                try Litmus.use(point)
                try Litmus.instrument("psu").call("set_voltage", .f64(point.double("vin")!))
                let vout = try Litmus.pins["VOUT", function: "dc_voltage"]
                try vout.verify("vout", try vout.instrument.call("measure_dc_voltage").doubleValue)
            }

            /// Quiescent current: the part's one-sided limit (at most 5 mA).
            @Test func quiescentCurrent() throws {
                try Litmus.verify("iq", try Litmus.instrument("psu").call("measure_current").doubleValue)
            }

            /// Output off, whatever happened before: a teardown step.
            @Test(.litmusTeardown)
            func powerOff() throws {
                try Litmus.instrument("psu").call("disable_output")
            }
        }

        """
    }

    var boardSidecar: String {
        """
        # Limits and sweep points for BoardTests.swift, read when the tests run. `tests.<function>`
        # applies to that test; `defaults` to every test of the suite.
        tests:
          outputVoltage:
            vectors: {vin: [5.0, 12.0]}

        """
    }

    var boardSequence: String {
        """
        // The same steps, in the order stations/sequences/board.yaml gives (`litmus run --sequence`;
        // see the command there). Skipped by a plain `swift test`.
        import Foundation
        import Litmus
        import LitmusTesting
        import Testing

        @Suite(
            .enabled(if: ProcessInfo.processInfo.environment["LITMUS_SEQUENCE"] != nil),
            .litmusStation("stations/bench.yaml", dutSerial: "SN0001-SEQ", autoPrompts: true),
            .litmusSequenced("stations/sequences/board.yaml"))
        struct BoardSequence {
            @Test func powerOn() throws {
                try Litmus.instrument("psu").call("set_voltage", .f64(5.0))
                try Litmus.instrument("psu").call("enable_output")
            }

            @Test(.serialized, .litmusCharacteristics(["vout"]), arguments: try Sweep.product(Axis("vin", [5.0, 12.0])))
            func outputVoltage(_ point: Vector) throws {
                try Litmus.use(point)
                let vout = try Litmus.pins["VOUT", function: "dc_voltage"]
                try vout.verify("vout", try vout.instrument.call("measure_dc_voltage").doubleValue)
            }

            @Test func powerOff() throws {
                try Litmus.instrument("psu").call("disable_output")
            }
        }

        """
    }

    /// A new test suite `name` on `station` and its sidecar: the files `litmus new-test` adds
    /// (paths relative to the test target's directory).
    static func newTest(_ name: String, station: String) -> [(path: String, contents: String)] {
        let swift = """
            // \(name): `swift test --filter \(name)` runs it on the bench. Limits and sweep points are in
            // \(name).litmus.yaml beside this file (editable without recompiling).
            import Litmus
            import LitmusTesting
            import Testing

            @Suite(.serialized, .litmusStation(\(swiftString(station)), dutSerial: "SN0001", autoPrompts: true), .litmusSidecar())
            struct \(name) {
                /// A reading of the DMM, judged by the limit of the sidecar file.
                @Test func dmmReading() throws {
                    try Litmus.verify("dmm_reading", try Litmus.instrument("dmm").call("measure_dc_voltage").doubleValue)
                }
            }

            """
        let sidecar = """
            # Limits and sweep points for \(name).swift, read when the tests run.
            tests:
              dmmReading:
                limits:
                  dmm_reading: {low: 3.2, high: 3.4, unit: V}

            """
        return [("\(name).swift", swift), ("\(name).litmus.yaml", sidecar)]
    }
}

/// `text` as a Swift string literal.
func swiftString(_ text: String) -> String {
    var out = "\""
    for c in text.unicodeScalars {
        switch c {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}
