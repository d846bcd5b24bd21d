import Foundation

/// The instrument profiles and simulated-device files Litmus ships (`stations/profiles/` and
/// `stations/sim/` of the Litmus checkout), found by name from any project, and the lookup
/// that puts a project's own files first.
///
/// A station names a profile by its file stem (`profile: generic_scpi_dmm`) and a `sim`
/// device file by its stem too (`options: {description: bench_devices}`). The name is looked
/// up, in order:
///
/// 1. in the project: the station's `profile_paths` (default `profiles/` beside the station
///    file) for profiles, `sim/` beside the station file for device files;
/// 2. on `LITMUS_PROFILE_PATH` (profiles only);
/// 3. among the built-ins, in the Litmus checkout this library was compiled from (with a
///    package dependency, SwiftPM's checkout of Litmus), or on `LITMUS_BUILTIN_DIR` when the
///    binaries were moved away from their sources.
///
/// ```swift
/// let hit = BuiltinCatalog.find(.profile, name: "generic_scpi_dmm", projectDirectories: ["/bench/profiles"])
/// print(hit?.origin, hit?.path)      // builtin /…/litmus/stations/profiles/generic_scpi_dmm.yaml
/// ```
public enum BuiltinCatalog {
    /// What kind of file a name refers to.
    public enum Kind: String, Sendable, CaseIterable {
        /// An instrument profile (`profile:` of a role).
        case profile
        /// A simulated-device file of the `sim` driver (its `description` option).
        case simulatedDevices = "sim"

        /// The folder of this kind under `stations/`.
        public var folder: String {
            switch self {
            case .profile: "profiles"
            case .simulatedDevices: "sim"
            }
        }
    }

    /// Where a file found by name came from.
    public enum Origin: String, Sendable {
        /// The project's own folders.
        case project
        /// A directory of `LITMUS_PROFILE_PATH`.
        case environment
        /// The files Litmus ships.
        case builtin
    }

    /// A file found by name: what it is, where it is, and where it came from.
    public struct Entry: Sendable, Equatable {
        public var kind: Kind
        public var name: String
        /// The absolute path of the file.
        public var path: String
        public var origin: Origin
    }

    /// The id of the driver whose `description` option names a simulated-device file.
    public static let simDriverID = "sim"

    /// The environment variable naming the directory that holds `profiles/` and `sim/` in place
    /// of the checkout's `stations/` (for binaries installed away from their sources).
    public static let directoryVariable = "LITMUS_BUILTIN_DIR"

    /// The root of the Litmus checkout this library was compiled from (the directory of its
    /// `Package.swift`; with a package dependency, SwiftPM's checkout of Litmus); nil when the
    /// sources are gone (binaries copied elsewhere).
    public static let checkoutRoot: String? = {
        // …/Sources/Litmus/Station/BuiltinCatalog.swift -> …
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return System.fileKind(url.appendingPathComponent("Package.swift").path) == .file ? url.path : nil
    }()

    /// The `stations/` folder of that checkout, which holds the built-in `profiles/` and `sim/`.
    public static var checkoutDirectory: String? {
        checkoutRoot.map { ($0 as NSString).appendingPathComponent("stations") }
    }

    /// The directory of the built-in files of `kind`: under `LITMUS_BUILTIN_DIR` when set, else
    /// under the checkout's `stations/`.
    public static func builtinDirectory(
        _ kind: Kind, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        if let root = environment[directoryVariable], !root.isEmpty {
            return (root as NSString).appendingPathComponent(kind.folder)
        }
        return checkoutDirectory.map { ($0 as NSString).appendingPathComponent(kind.folder) }
    }

    /// Whether `text` is written as a name (letters, digits, `_` and `-`), not as a path.
    public static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 128
            && text.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
            }
    }

    /// The directories searched for `kind`, in order, each with its origin.
    public static func searchDirectories(
        _ kind: Kind, projectDirectories: [String], environmentDirectories: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [(directory: String, origin: Origin)] {
        projectDirectories.map { ($0, Origin.project) } + environmentDirectories.map { ($0, Origin.environment) }
            + (builtinDirectory(kind, environment: environment).map { [($0, Origin.builtin)] } ?? [])
    }

    /// The file `name` of `kind`: the first `<name>.yaml` of the search directories.
    public static func find(
        _ kind: Kind, name: String, projectDirectories: [String], environmentDirectories: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Entry? {
        for (directory, origin) in searchDirectories(
            kind, projectDirectories: projectDirectories, environmentDirectories: environmentDirectories,
            environment: environment)
        {
            let path = (directory as NSString).appendingPathComponent("\(name).yaml")
            if System.fileKind(path) == .file { return Entry(kind: kind, name: name, path: path, origin: origin) }
        }
        return nil
    }

    /// Every name available for `kind`, sorted (for "did you mean" and lists).
    public static func names(
        _ kind: Kind, projectDirectories: [String], environmentDirectories: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String] {
        let dirs = searchDirectories(
            kind, projectDirectories: projectDirectories, environmentDirectories: environmentDirectories,
            environment: environment)
        let names = dirs.flatMap { dir in
            System.directoryEntries(dir.directory).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        }
        return Array(Set(names)).sorted()
    }
}
