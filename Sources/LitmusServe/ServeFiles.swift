import Foundation

/// The only files the web screen serves: pictures from the station file's folder (prompt
/// images) and run files from the data folder. A path is resolved (symbolic links too) and
/// refused unless it stays inside its folder.
enum ServeFiles {
    /// Picture types a prompt may show, with their content types.
    static let pictures: [String: String] = [
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "svg": "image/svg+xml",
    ]

    /// The real path of `relative` inside `folder` (both resolved), or nil when it is absolute,
    /// leaves the folder (`..`, a link pointing out), is not a picture, or does not exist.
    static func resolve(_ relative: String, under folder: String) -> String? {
        guard !relative.isEmpty, relative.count <= 1024, !relative.hasPrefix("/"), !relative.contains("\0") else { return nil }
        guard pictures[(relative as NSString).pathExtension.lowercased()] != nil else { return nil }
        return inside(folder + "/" + relative, folder: folder)
    }

    /// `path` resolved, when it is an existing regular file inside `folder` (resolved).
    static func inside(_ path: String, folder: String) -> String? {
        let root = (URL(fileURLWithPath: folder).standardizedFileURL.path as NSString).resolvingSymlinksInPath
        let real = (URL(fileURLWithPath: path).standardizedFileURL.path as NSString).resolvingSymlinksInPath
        guard real.hasPrefix(root.hasSuffix("/") ? root : root + "/") else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return real
    }
}
