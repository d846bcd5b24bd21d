import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The test code's version, from the git repository around a directory: its commit (with
/// `-dirty` when tracked files are modified), its branch and its `origin` remote, as
/// `git rev-parse HEAD`, `git rev-parse --abbrev-ref HEAD`, `git remote get-url origin` and
/// `git status --porcelain --untracked-files=no` give them.
///
/// Read once per process and directory: a process runs the code it started with, and a run
/// must not pay for `git` (a production station starts hundreds of runs). Commit, branch and
/// remote come from the repository's files (`HEAD`, loose refs, `packed-refs`, `config`,
/// worktree `gitdir:` and `commondir` files) without a subprocess; the dirty state costs one
/// `git status` child (``ChildProcess``). Where the files leave a doubt (a `GIT_*` variable
/// that moves the repository, another owner, config includes or URL rewrites, reftable
/// storage, an ambiguous branch name) that piece is asked of `git` itself.
enum GitInfo {
    struct Info: Sendable, Equatable {
        var commit: String?
        var branch: String?
        var remote: String?
    }

    /// Runs `git -C <directory> <arguments>`: its trimmed output, nil when it fails or
    /// prints nothing.
    typealias Runner = (_ directory: String, _ arguments: [String]) -> String?

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: Info?] = [:]

    /// The version of the repository around `directory` (nil outside a repository, or in a
    /// repository without a commit), read once per process and directory.
    static func current(directory: String = FileManager.default.currentDirectoryPath, reader: (String) -> Info? = { read(directory: $0) })
        -> Info?
    {
        if let known = lock.withLock({ cache[directory] }) { return known }
        let info = reader(directory)
        lock.withLock { cache[directory] = info }
        return info
    }

    /// Reads the version now (no cache); `git` is asked only for the dirty state and for what
    /// the files leave in doubt.
    static func read(directory: String, git: Runner = runGit) -> Info? {
        func variable(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        let moving = ["GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM",
                      "GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS"]
        guard !moving.contains(where: { variable($0) != nil }) else { return fromGit(directory, git) }
        switch GitRepository.discover(from: directory) {
        case .none: return nil
        case .unsure: return fromGit(directory, git)
        case .found(var repository):
            guard let commit = repository.headCommit() else { return nil }
            let remote = repository.remoteURL("origin", home: variable("HOME"), xdg: variable("XDG_CONFIG_HOME"))
            var info = Info(
                commit: commit, branch: repository.headBranch() ?? git(directory, ["rev-parse", "--abbrev-ref", "HEAD"]),
                remote: repository.remoteNeedsGit ? git(directory, ["remote", "get-url", "origin"]) : remote)
            if isDirty(directory, git) { info.commit = commit + "-dirty" }
            return info
        }
    }

    /// Everything from `git` itself: the fallback when the files leave a doubt.
    private static func fromGit(_ directory: String, _ git: Runner) -> Info? {
        guard let commit = git(directory, ["rev-parse", "HEAD"]) else { return nil }
        var info = Info(
            commit: commit, branch: git(directory, ["rev-parse", "--abbrev-ref", "HEAD"]),
            remote: git(directory, ["remote", "get-url", "origin"]))
        if isDirty(directory, git) { info.commit = commit + "-dirty" }
        return info
    }

    private static func isDirty(_ directory: String, _ git: Runner) -> Bool {
        git(directory, ["status", "--porcelain", "--untracked-files=no"]) != nil
    }

    /// The real `git`, started with ``ChildProcess``.
    static func runGit(_ directory: String, _ arguments: [String]) -> String? {
        guard let result = try? ChildProcess.run("git", ["-C", directory] + arguments), result.status == 0 else { return nil }
        let text = String(decoding: result.output, as: UTF8.self).gitTrimmed
        return text.isEmpty ? nil : text
    }
}

/// A git repository's files, read directly: enough to name the checked-out commit, branch and
/// a remote's URL without starting `git`.
struct GitRepository {
    /// The directory with this checkout's `HEAD` (`.git`, or `.git/worktrees/<name>`).
    let gitDirectory: String
    /// The directory with the shared refs, `packed-refs` and `config`.
    let commonDirectory: String
    /// Whether the configuration can change what `git remote get-url` prints (includes, a URL
    /// rewrite that applies): then `git` is asked.
    private(set) var remoteNeedsGit = false

    enum Discovery {
        /// No repository around the directory (as far as git would look).
        case none
        /// A repository whose files git reads differently than plain files say (bare, another
        /// owner, reftable, config includes): ask `git`.
        case unsure
        case found(GitRepository)
    }

    /// Looks for `.git` in `directory` and its parents, like git: not across file systems.
    static func discover(from directory: String) -> Discovery {
        var dir = System.realPath(directory) ?? directory
        var st = stat()
        guard stat(dir, &st) == 0 else { return .none }
        let device = st.st_dev
        while true {
            let dotGit = dir == "/" ? "/.git" : dir + "/.git"
            var gitStat = stat()
            if lstat(dotGit, &gitStat) == 0 {
                let isDirectory = (gitStat.st_mode & S_IFMT) == S_IFDIR
                var gitDirectory = dotGit
                if !isDirectory {
                    guard let text = readText(dotGit), text.hasPrefix("gitdir:") else { return .unsure }
                    let target = text.dropFirst("gitdir:".count).gitTrimmed
                    gitDirectory = target.hasPrefix("/") ? target : (dir == "/" ? "/" : dir + "/") + target
                }
                guard System.fileKind(gitDirectory + "/HEAD") == .file else { return .unsure }
                // git refuses a repository another user owns (safe.directory): let it decide.
                var owner = stat()
                guard stat(dir, &owner) == 0, owner.st_uid == geteuid(), stat(gitDirectory, &owner) == 0, owner.st_uid == geteuid()
                else { return .unsure }
                var common = gitDirectory
                if let relative = readText(gitDirectory + "/commondir")?.gitTrimmed,
                    !relative.isEmpty
                {
                    common = relative.hasPrefix("/") ? relative : gitDirectory + "/" + relative
                }
                var repository = GitRepository(gitDirectory: gitDirectory, commonDirectory: common)
                guard repository.checkConfig() else { return .unsure }
                return .found(repository)
            }
            // A bare repository (or a git directory itself): git would use it; ask git.
            if System.fileKind(dir + "/HEAD") == .file, System.fileKind(dir + "/objects") == .directory,
                System.fileKind(dir + "/refs") == .directory
            {
                return .unsure
            }
            guard dir != "/", let slash = dir.lastIndex(of: "/") else { return .none }
            let parent = slash == dir.startIndex ? "/" : String(dir[..<slash])
            var parentStat = stat()
            guard stat(parent, &parentStat) == 0, parentStat.st_dev == device else { return .none }
            dir = parent
        }
    }

    private init(gitDirectory: String, commonDirectory: String) {
        self.gitDirectory = gitDirectory
        self.commonDirectory = commonDirectory
    }

    /// False when the repository's configuration changes how refs are stored or named.
    private mutating func checkConfig() -> Bool {
        let config = (Self.readText(commonDirectory + "/config") ?? "").lowercased()
        if config.contains("refstorage") || config.contains("warnambiguousrefs") { return false }
        if config.contains("[include") { remoteNeedsGit = true }
        return true
    }

    // MARK: HEAD

    /// The commit `HEAD` names, nil when it names none (a branch with no commit yet).
    func headCommit() -> String? {
        guard let head = Self.readText(gitDirectory + "/HEAD")?.gitTrimmed else { return nil }
        return resolve(head, depth: 0)
    }

    /// What `git rev-parse --abbrev-ref HEAD` prints: the branch's short name, `HEAD` when
    /// detached; nil when git must be asked (a short name that other refs make ambiguous).
    func headBranch() -> String? {
        guard let head = Self.readText(gitDirectory + "/HEAD")?.gitTrimmed else { return nil }
        guard head.hasPrefix("ref:") else { return "HEAD" }
        let ref = head.dropFirst(4).gitTrimmed
        guard ref.hasPrefix("refs/heads/") else { return nil }
        let short = String(ref.dropFirst("refs/heads/".count))
        // git shortens only when no other ref spelling of the short name exists.
        for other in [short, "refs/" + short, "refs/tags/" + short, "refs/remotes/" + short, "refs/remotes/\(short)/HEAD"]
        where refExists(other) {
            return nil
        }
        return short
    }

    private func resolve(_ value: String, depth: Int) -> String? {
        if value.hasPrefix("ref:") {
            guard depth < 5 else { return nil }
            let name = value.dropFirst(4).gitTrimmed
            guard let target = refValue(name) else { return nil }
            return resolve(target, depth: depth + 1)
        }
        return Self.isObjectName(value) ? value : nil
    }

    /// A ref's content: the loose file (this checkout's, then the shared one), else its
    /// `packed-refs` line.
    private func refValue(_ name: String) -> String? {
        guard !name.contains(".."), !name.hasPrefix("/") else { return nil }
        for directory in [gitDirectory, commonDirectory] {
            if let text = Self.readText(directory + "/" + name)?.gitTrimmed, !text.isEmpty {
                return text
            }
        }
        return packedRefs[name]
    }

    private func refExists(_ name: String) -> Bool {
        for directory in [gitDirectory, commonDirectory] where System.fileKind(directory + "/" + name) == .file { return true }
        return packedRefs[name] != nil
    }

    /// `packed-refs`: ref name -> object name.
    private var packedRefs: [String: String] {
        var refs: [String: String] = [:]
        guard let text = Self.readText(commonDirectory + "/packed-refs") else { return refs }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("^") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { refs[String(parts[1]).gitTrimmed] = String(parts[0]) }
        }
        return refs
    }

    // MARK: Remotes

    /// The first `url` of `[remote "<name>"]` in the repository's config; nil (and
    /// ``remoteNeedsGit`` set) when a `url.<base>.insteadOf` rule of any config rewrites it or
    /// a config includes another file.
    mutating func remoteURL(_ name: String, home: String?, xdg: String?) -> String? {
        guard !remoteNeedsGit else { return nil }
        var paths = ["/etc/gitconfig"]
        if let xdg, !xdg.isEmpty { paths.append(xdg + "/git/config") } else if let home { paths.append(home + "/.config/git/config") }
        if let home { paths.append(home + "/.gitconfig") }
        let globals = paths.compactMap { Self.readText($0) }
        if globals.contains(where: { $0.lowercased().contains("[include") }) {
            remoteNeedsGit = true
            return nil
        }
        guard let config = Self.readText(commonDirectory + "/config"),
            let url = Self.configValue(config, section: "remote", subsection: name, key: "url"), !url.isEmpty
        else { return nil }
        if (globals + [config]).contains(where: { Self.insteadOfPrefixes($0).contains { url.hasPrefix($0) } }) {
            remoteNeedsGit = true
            return nil
        }
        return url
    }

    /// The `insteadOf` values of the `[url "..."]` sections of git config text.
    static func insteadOfPrefixes(_ text: String) -> [String] {
        guard text.lowercased().contains("insteadof") else { return [] }
        var prefixes: [String] = []
        var inURL = false
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.gitTrimmed
            if line.hasPrefix("[") {
                let header = line.dropFirst().lowercased()
                inURL = header.hasPrefix("url ") || header.hasPrefix("url\"") || header.hasPrefix("url.")
                continue
            }
            guard inURL, let equals = line.firstIndex(of: "="), line[..<equals].gitTrimmed.lowercased() == "insteadof" else { continue }
            let value = parseValue(line[line.index(after: equals)...])
            if !value.isEmpty { prefixes.append(value) }
        }
        return prefixes
    }

    /// The first value of `section.subsection.key` in git config text (section and key names
    /// are case-insensitive, the subsection is not); quotes, escapes and comments handled.
    static func configValue(_ text: String, section: String, subsection: String, key: String) -> String? {
        var inSection = false
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.gitTrimmed
            if line.hasPrefix("[") {
                guard let close = line.firstIndex(of: "]") else { inSection = false; continue }
                let header = line[line.index(after: line.startIndex)..<close].gitTrimmed
                if let quote = header.firstIndex(of: "\"") {
                    let name = header[..<quote].gitTrimmed
                    let sub = header[header.index(after: quote)...].dropLast(header.hasSuffix("\"") ? 1 : 0)
                    inSection = name.lowercased() == section && sub.replacingOccurrences(of: "\\\"", with: "\"") == subsection
                } else {
                    inSection = header.lowercased() == "\(section).\(subsection.lowercased())"
                }
                continue
            }
            guard inSection, !line.hasPrefix("#"), !line.hasPrefix(";") else { continue }
            let name: Substring
            let rest: Substring
            if let equals = line.firstIndex(of: "=") {
                name = line[..<equals]
                rest = line[line.index(after: equals)...]
            } else {
                name = Substring(line)
                rest = ""
            }
            guard name.gitTrimmed.lowercased() == key else { continue }
            return parseValue(rest)
        }
        return nil
    }

    private static func parseValue(_ raw: Substring) -> String {
        var out = ""
        var quoted = false
        var pendingSpace = ""
        var iterator = raw.makeIterator()
        while let c = iterator.next() {
            if c == "\"" {
                quoted.toggle()
            } else if c == "\\" {
                guard let next = iterator.next() else { break }
                out += pendingSpace
                pendingSpace = ""
                switch next {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "b": if !out.isEmpty { out.removeLast() }
                default: out.append(next)
                }
            } else if !quoted && (c == "#" || c == ";") {
                break
            } else if !quoted && (c == " " || c == "\t") {
                if !out.isEmpty { pendingSpace.append(c) }
            } else {
                out += pendingSpace
                pendingSpace = ""
                out.append(c)
            }
        }
        return out
    }

    // MARK: Files

    static func isObjectName(_ text: String) -> Bool {
        (text.utf8.count == 40 || text.utf8.count == 64) && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A small text file's content, nil when it cannot be read.
    static func readText(_ path: String) -> String? {
        guard let bytes = try? System.readWholeFile(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Without leading and trailing ASCII blanks and line ends (git's files are ASCII there;
    /// cheaper than Foundation's character sets on a cold start).
    fileprivate var gitTrimmed: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[first...last])
    }
}
