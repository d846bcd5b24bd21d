#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Whether a plugin may be loaded from where it is: checked before `dlopen`, because loading
/// a plugin runs its code (its constructors run inside `dlopen`, before any entry point).
///
/// As ssh and sudo check their files: the file and every directory above it, up to `/`,
/// must be owned by root or by the user running litmus, and writable by no one else: no
/// other write bit, and no group write bit unless the group is the owner's private group
/// (its one member is the owner, as with a umask of 002 on Debian and Ubuntu; Debian's ssh
/// accepts the same). A sticky directory owned by root or the user (such as `/tmp`) is safe
/// *above* the path: no one else can rename, remove or replace the entry of yours inside it.
/// It is not safe as a search directory itself, since anyone can add a plugin there. The check
/// is made on the resolved path (symbolic links followed), which is the path then handed to
/// `dlopen`.
enum PluginTrust {
    /// Throws ``PluginLoadError/Code/untrusted`` when the file at `path` (absolute, resolved)
    /// or a directory above it may be written by someone other than root and this user.
    static func check(file path: String) throws(PluginLoadError) {
        if let problem = problem(path, isFile: true) {
            throw refusal(path, problem)
        }
    }

    /// The same check for a search directory (its files are checked as they are loaded).
    static func check(directory path: String) throws(PluginLoadError) {
        if let problem = problem(path, isFile: false) {
            throw refusal(path, problem)
        }
    }

    private static func refusal(_ path: String, _ problem: (what: String, fix: String)) -> PluginLoadError {
        PluginLoadError(
            .untrusted, path: path,
            problem: "refused before loading any of its code: \(problem.what), so someone else could put their "
                + "own code in its place",
            fix: "\(problem.fix); or install the plugin in a directory that only you or root can write "
                + "(e.g. /usr/local/lib/litmus, or a directory of your own) and name that one")
    }

    /// What makes `path` unsafe, and the fix; nil when it is safe. Walks from `path` up to `/`.
    static func problem(_ path: String, isFile: Bool) -> (what: String, fix: String)? {
        guard path.hasPrefix("/") else {
            return ("the path is relative", "name it by an absolute path")
        }
        let me = geteuid()
        var current = path
        var first = true
        while true {
            var st = stat()
            guard lstat(current, &st) == 0 else {
                return ("\(current) cannot be examined (\(String(cString: strerror(errno))))", "check the path")
            }
            let kind = st.st_mode & S_IFMT
            let what = first ? (isFile ? "the file" : "the directory") : "the directory \(current) above it"
            if kind == S_IFLNK {
                return ("\(what) changed into a symbolic link while it was checked", "check who is changing it")
            }
            if first && isFile && kind != S_IFREG {
                return ("it is not a regular file", "name the shared library itself")
            }
            if !first || !isFile, kind != S_IFDIR {
                return ("\(current) is not a directory", "check the path")
            }
            if st.st_uid != 0 && st.st_uid != me {
                return (
                    "\(what) belongs to uid \(st.st_uid), neither root nor this user (uid \(me))",
                    "chown it to root or to yourself (chown root \(current))"
                )
            }
            // Above the path (not the search directory itself), a sticky directory protects the
            // entry below it, which was checked to be root's or this user's.
            let protectsEntryBelow = !first && st.st_mode & S_ISVTX != 0
            if !protectsEntryBelow,
                st.st_mode & 0o002 != 0 || (st.st_mode & 0o020 != 0 && !isPrivateGroup(st.st_gid, of: st.st_uid))
            {
                let mode = String(st.st_mode & 0o7777, radix: 8)
                let who = st.st_mode & 0o002 != 0 ? "every user" : "its group"
                let fix =
                    st.st_mode & S_ISVTX != 0
                    ? "name a directory of your own inside \(current) instead: a sticky directory still lets anyone add plugins to it"
                    : "remove that write permission (chmod go-w \(current))"
                return ("\(what) is writable by \(who) (mode \(mode))", fix)
            }
            first = false
            if current == "/" { return nil }
            let cut = current.lastIndex(of: "/")!
            current = cut == current.startIndex ? "/" : String(current[..<cut])
        }
    }

    private static let accountsLock = NSLock()

    /// Whether group `gid` has exactly one member, `owner`: as its primary group or as its
    /// only listed member (a group with no member at all is not private: such groups serve
    /// setgid programs).
    static func isPrivateGroup(_ gid: gid_t, of owner: uid_t) -> Bool {
        // getpwent walks one process-wide cursor; getgrgid and getpwuid share static buffers.
        accountsLock.lock()
        defer { accountsLock.unlock() }
        guard let group = getgrgid(gid), let account = getpwuid(owner) else { return false }
        let ownerName = String(cString: account.pointee.pw_name)
        var members = 0
        setpwent()
        defer { endpwent() }
        while let entry = getpwent() {
            guard entry.pointee.pw_gid == gid else { continue }
            if entry.pointee.pw_uid != owner { return false }
            members += 1
        }
        if let list = group.pointee.gr_mem, let first = list[0] {
            if String(cString: first) != ownerName || list[1] != nil { return false }
            members += 1
        }
        return members > 0
    }
}
