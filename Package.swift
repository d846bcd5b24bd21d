// swift-tools-version: 6.1
//
// Litmus for Swift: a hardware-test framework whose instrument drivers are plugins loaded with
// dlopen through the C ABI in Sources/CLitmusDriverABI/include/litmus_driver.h.
import PackageDescription

/// Swift plugins are never unloaded: unloading Swift code is unsupported, so mark them nodelete.
let pluginLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "-z", "-Xlinker", "nodelete"])
]

let package = Package(
    name: "litmus",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Litmus", targets: ["Litmus"]),
        .library(name: "LitmusDriverKit", targets: ["LitmusDriverKit"]),
        .library(name: "LitmusParquet", targets: ["LitmusParquet"]),
        // Reading runs back: metrics, re-judging, reports.
        .library(name: "LitmusAnalytics", targets: ["LitmusAnalytics"]),
        // Swift Testing integration: station trait, limits/retry/mocks traits, Litmus.verify.
        .library(name: "LitmusTesting", targets: ["LitmusTesting"]),
        // The station runtime under `litmus run`.
        .library(name: "LitmusRunner", targets: ["LitmusRunner"]),
        // Store-and-forward of the data directory to S3-compatible object storage.
        .library(name: "LitmusSync", targets: ["LitmusSync"]),
        .executable(name: "litmus", targets: ["litmus"]),
        // The harness recipe on the mock bench: the README's main job.
        .executable(name: "litmus-example", targets: ["LitmusExample"]),
        .executable(name: "litmus-bench", targets: ["LitmusBench"]),
        .executable(name: "litmus-test-producer", targets: ["LitmusTestProducer"]),
        // Driver plugins: each is its own shared library, liblitmus-<name>.so, found by the
        // loader next to the litmus binary or on LITMUS_PLUGIN_PATH.
        .library(name: "litmus-mock", type: .dynamic, targets: ["LitmusMockDriver", "LitmusPluginLinkage"]),
        .library(name: "litmus-example-c", type: .dynamic, targets: ["LitmusExampleCDriver"]),
        .library(name: "litmus-lan", type: .dynamic, targets: ["LitmusLANDriver", "LitmusPluginLinkage"]),
        .library(name: "litmus-serial", type: .dynamic, targets: ["LitmusSerialDriver", "LitmusPluginLinkage"]),
        .library(name: "litmus-usbtmc", type: .dynamic, targets: ["LitmusUSBTMCDriver", "LitmusPluginLinkage"]),
        // The same plugins for a package that depends on Litmus: it wraps each one it uses in a
        // `.dynamic` product of its own (docs/starter.md), which SwiftPM builds next to its test
        // binary. Never link these into a test or executable target: every plugin exports the
        // same entry symbol.
        .library(name: "LitmusMockDriver", targets: ["LitmusMockDriver"]),
        .library(name: "LitmusLANDriver", targets: ["LitmusLANDriver"]),
        .library(name: "LitmusSerialDriver", targets: ["LitmusSerialDriver"]),
        .library(name: "LitmusUSBTMCDriver", targets: ["LitmusUSBTMCDriver"]),
        // Test servers that speak the instrument protocols (raw SCPI socket, VXI-11, HiSLIP).
        .executable(name: "litmus-fake-instruments", targets: ["LitmusFakeInstruments"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The web operator screen (`litmus serve`): only LitmusServe and the CLI depend on it.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Fleet sync to S3-compatible storage (LitmusSync only): HTTP client and SigV4 hashing.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The C ABI between host and plugins: a header, nothing else.
        .target(name: "CLitmusDriverABI", path: "Sources/CLitmusDriverABI"),

        // A strict JSON parser and JSON text helpers, shared by the core and the mock plugin
        // (linked into both; holds no globals).
        .target(name: "LitmusJSON"),

        // The one bounded YAML reader (size, alias expansion, scalar and nesting limits checked
        // before composing), shared by the core and the mock plugin (linked into both; no globals).
        .target(name: "LitmusYAML", dependencies: ["Yams"]),

        // Helpers for writing a driver plugin in Swift. Linked into plugins; holds no globals.
        .target(name: "LitmusDriverKit", dependencies: ["CLitmusDriverABI"]),

        // Small C helpers of the core (CRC-32C).
        .target(name: "CLitmusSupport"),

        // zstd compression for Parquet pages (Debian: libzstd-dev).
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // gzip (inflate) for Parquet pages written by other tools (Debian: zlib1g-dev).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // A standalone Parquet writer and reader (no dependency on the rest of Litmus).
        .target(name: "LitmusParquet", dependencies: ["CZstd", "CZlib"]),

        // The core library: plugin loader and registry, instruments, SCPI helpers.
        .target(
            name: "Litmus",
            dependencies: [
                "CLitmusDriverABI",
                "CLitmusSupport",
                "LitmusJSON",
                "LitmusParquet",
                "LitmusYAML",
                "Yams",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Swift Testing integration: traits and task-local Litmus functions over the harness.
        .target(name: "LitmusTesting", dependencies: ["Litmus", "LitmusJSON"]),

        // The station runtime: the production loop, process supervision, progress from the
        // event log, the prompt channel (no HTTP, no terminal UI).
        .target(name: "LitmusRunner", dependencies: ["Litmus"]),

        // Reading runs back: reports and SVG charts, metrics over a lake of run files, re-judging
        // against a new spec (Report/, Charts/, Lake/, Metrics/, Rejudge/).
        .target(name: "LitmusAnalytics", dependencies: ["Litmus", "LitmusParquet", "LitmusJSON"]),

        // The web operator screen on the station runner (`litmus serve`): HTTP, server-sent
        // events, hand-written pages. The core and the test target do not depend on it.
        .target(
            name: "LitmusServe",
            dependencies: [
                "Litmus", "LitmusAnalytics", "LitmusJSON", "LitmusRunner",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Store-and-forward of a data directory to S3-compatible object storage (`litmus sync`):
        // its own target so the core does not depend on an HTTP client.
        .target(
            name: "LitmusSync",
            dependencies: [
                "Litmus",
                "LitmusJSON",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // The command-line tool.
        .executableTarget(
            name: "litmus",
            dependencies: [
                "Litmus",
                "LitmusAnalytics",
                "LitmusJSON",
                "LitmusRunner",
                "LitmusServe",
                "LitmusSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(name: "LitmusExample", dependencies: ["Litmus"]),

        // Driver plugins. Their targets carry no unsafe flags, so a package depending on Litmus by
        // URL may use them; `-z nodelete` comes with this package's own .so products through
        // LitmusPluginLinkage (and the host opens every plugin RTLD_NODELETE anyway).
        .target(name: "LitmusPluginLinkage", path: "Plugins-src/linkage", linkerSettings: pluginLinkerSettings),
        .target(
            name: "LitmusMockDriver",
            dependencies: ["LitmusDriverKit", "LitmusJSON", "LitmusYAML", "Yams"],
            path: "Plugins-src/mock"
        ),
        .target(
            name: "LitmusExampleCDriver",
            dependencies: ["CLitmusDriverABI"],
            path: "Plugins-src/example-c",
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-pedantic", "-std=c11"])]
        ),

        // libusb-1.0 (Debian: libusb-1.0-0-dev), for the USBTMC plugin.
        .systemLibrary(
            name: "CLibUSB", path: "Sources/CLibUSB", pkgConfig: "libusb-1.0", providers: [.apt(["libusb-1.0-0-dev"])]),

        // Transport plugins. Their protocol layers (message codecs, state machines with no I/O
        // of their own) are separate libraries so tests and the fake instruments use them too.
        .target(name: "LitmusLANProtocol", path: "Plugins-src/lan/Protocol"),
        .target(
            name: "LitmusLANDriver",
            dependencies: ["LitmusDriverKit", "LitmusLANProtocol"],
            path: "Plugins-src/lan",
            exclude: ["Protocol"]
        ),
        .target(
            name: "LitmusSerialDriver",
            dependencies: ["LitmusDriverKit"],
            path: "Plugins-src/serial"
        ),
        .target(name: "LitmusUSBTMCProtocol", path: "Plugins-src/usbtmc/Protocol"),
        .target(
            name: "LitmusUSBTMCDriver",
            dependencies: ["LitmusDriverKit", "LitmusUSBTMCProtocol", "CLibUSB"],
            path: "Plugins-src/usbtmc",
            exclude: ["Protocol"]
        ),
        .executableTarget(
            name: "LitmusFakeInstruments", dependencies: ["LitmusLANProtocol"], path: "Tests/FakeInstruments"),

        // Benchmarks: ratios against a baseline measured in the same run.
        .target(name: "CBenchFloor", path: "bench/CFloor"),
        .executableTarget(
            name: "LitmusBench",
            dependencies: [
                "Litmus", "LitmusAnalytics", "LitmusTesting", "LitmusRunner", "LitmusParquet", "LitmusJSON", "Yams", "CBenchFloor", "LitmusLANProtocol",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench",
            exclude: ["CFloor", "anchor"]),
        .executableTarget(name: "LitmusTestProducer", dependencies: ["Litmus"], path: "Tests/Producer"),

        .testTarget(
            name: "LitmusTests", dependencies: ["Litmus", "LitmusAnalytics", "LitmusTesting", "LitmusRunner", "LitmusYAML", "LitmusLANProtocol", "LitmusUSBTMCProtocol"],
            exclude: ["Fixtures", "Testing/LitmusTestingFixtures.litmus.yaml", "Serve/serve_browser.py", "Serve/serve_http.py"]),
        // The example of writing tests with Swift Testing on the mock bench (README).
        // Sidecar files are read from the source tree (next to the test file), not bundled.
        .testTarget(name: "LitmusExampleTests", dependencies: ["LitmusTesting"], exclude: ["PowerBoardTests.litmus.yaml"]),
        .testTarget(name: "LitmusParquetTests", dependencies: ["LitmusParquet"]),
        // Signing, credentials and the cursor of LitmusSync (its end-to-end tests against an S3
        // server run the real `litmus sync` from LitmusTests, which does not link the HTTP client).
        .testTarget(name: "LitmusSyncTests", dependencies: ["LitmusSync"]),
    ]
)
