/// Why a plugin file was not loaded, or a driver in it was rejected: the file, the field
/// and the fix.
///
/// ```
/// /opt/litmus/plugins/liblitmus-acme.so: driver 'acme-dmm': vtable.open is NULL.
///   Fix: every driver must implement open and close; set vtable.open.
/// ```
public struct PluginLoadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// The file does not exist or cannot be read.
        public static let unreadable = Code(name: "unreadable")
        /// The file is not a shared library (or not one for this machine).
        public static let notASharedLibrary = Code(name: "not a shared library")
        /// dlopen failed for another reason (a missing dependency, an unresolved symbol).
        public static let loadFailed = Code(name: "load failed")
        /// The library exports no `litmus_plugin_entry_v1`.
        public static let missingEntry = Code(name: "missing entry symbol")
        /// The entry point returned an error.
        public static let entryFailed = Code(name: "entry point failed")
        /// ABI major or minor mismatch.
        public static let versionMismatch = Code(name: "ABI version mismatch")
        /// A struct is smaller than the ABI 1.0 size.
        public static let structTooSmall = Code(name: "struct too small")
        /// A required field or vtable entry is missing or malformed.
        public static let invalidDescriptor = Code(name: "invalid descriptor")
        /// Two drivers claim the same id.
        public static let duplicateDriver = Code(name: "duplicate driver id")
        /// The file, or a directory above it, may be written by someone other than root and
        /// this user (or is owned by someone else): refused before `dlopen` runs any of it.
        public static let untrusted = Code(name: "untrusted location")
        /// A relative entry on the plugin search path (`LITMUS_PLUGIN_PATH=.`): what it names
        /// changes with the current directory, so it is refused.
        public static let relativeSearchPath = Code(name: "relative search path")
    }

    public var code: Code
    /// The plugin file.
    public var path: String
    /// The driver id, when the problem is in one driver.
    public var driverID: String?
    /// The field at fault, e.g. `vtable.open` or `operations[2].params[0].type`.
    public var field: String?
    /// What is wrong.
    public var problem: String
    /// What to do about it.
    public var fix: String

    public init(
        _ code: Code, path: String, driverID: String? = nil, field: String? = nil, problem: String, fix: String
    ) {
        self.code = code
        self.path = path
        self.driverID = driverID
        self.field = field
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        var text = "\(path): "
        if let driverID { text += "driver '\(driverID)': " }
        if let field { text += "\(field): " }
        text += problem
        if !fix.isEmpty { text += "\n  Fix: \(fix)" }
        return text
    }
}
