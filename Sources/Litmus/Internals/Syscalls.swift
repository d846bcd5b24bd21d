#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the system calls the loader uses; one place to read them.
enum System {
    /// `dlopen(path, RTLD_NOW | RTLD_LOCAL)`; the text of `dlerror()` on failure.
    static func dlopenLocal(_ path: String) -> Result<UnsafeMutableRawPointer, DynamicLoaderMessage> {
        _ = dlerror()
        if let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) { return .success(handle) }
        return .failure(DynamicLoaderMessage(text: dlerror().map { String(cString: $0) } ?? "dlopen failed"))
    }

    /// `dlsym(handle, name)`.
    static func symbol(_ handle: UnsafeMutableRawPointer, _ name: String) -> UnsafeMutableRawPointer? {
        dlsym(handle, name)
    }

    /// The canonical absolute path, or nil when the file does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The path of the running executable.
    static func executablePath() -> String? {
        #if os(Linux)
        return realPath("/proc/self/exe")
        #else
        return CommandLine.arguments.first.flatMap(realPath)
        #endif
    }

    enum FileKind { case missing, directory, file }

    static func fileKind(_ path: String) -> FileKind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        return (st.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }

    static func isReadable(_ path: String) -> Bool { access(path, R_OK) == 0 }

    /// The names in a directory, sorted; empty when it cannot be read.
    static func directoryEntries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The first bytes of a file (to tell an ELF file from anything else).
    static func fileHeader(_ path: String, count: Int) -> [UInt8] {
        guard let f = fopen(path, "rb") else { return [] }
        defer { fclose(f) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = fread(&bytes, 1, count, f)
        return Array(bytes.prefix(n))
    }
}

struct DynamicLoaderMessage: Error {
    var text: String
}
