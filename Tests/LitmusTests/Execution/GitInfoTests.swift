import Foundation
import Testing

@testable import Litmus

/// The git identity of a run: read from the repository's files (no subprocess for commit,
/// branch and remote), the dirty state from one real `git status`, once per process and
/// directory. Every case compares with what the real `git` prints in a real scratch
/// repository (issue 13: four Foundation `Process` children per run cost ~60 ms a run).
@Suite struct GitInfoTests {
    /// A fresh scratch directory outside any repository.
    private func scratch(_ name: String = #function) throws -> String {
        let dir = "\(TestPlugins.scratch)/git-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs the real git; fails the test when it fails.
    @discardableResult
    private func git(_ directory: String, _ arguments: String...) throws -> String {
        let result = try ChildProcess.run(
            "git", ["-C", directory, "-c", "user.name=Litmus Test", "-c", "user.email=test@example.invalid"] + arguments)
        guard result.status == 0 else {
            throw HarnessError("git \(arguments.joined(separator: " ")) failed in \(directory) with status \(result.status)")
        }
        return String(decoding: result.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A repository with two commits on `main`, a clean tree and an `origin` remote.
    private func repository(_ name: String = #function) throws -> String {
        let repo = try scratch(name) + "/repo"
        try FileManager.default.createDirectory(atPath: repo + "/sub/dir", withIntermediateDirectories: true)
        try git(repo, "init", "-q", "-b", "main")
        try "one\n".write(toFile: repo + "/file.txt", atomically: true, encoding: .utf8)
        try git(repo, "add", "file.txt")
        try git(repo, "commit", "-q", "-m", "one")
        try "two\n".write(toFile: repo + "/file.txt", atomically: true, encoding: .utf8)
        try git(repo, "commit", "-q", "-am", "two")
        try git(repo, "remote", "add", "origin", "https://example.invalid/litmus/bench.git")
        return repo
    }

    /// What the four git commands the identity stands for print.
    private func reference(_ directory: String) -> GitInfo.Info? {
        guard let commit = GitInfo.runGit(directory, ["rev-parse", "HEAD"]) else { return nil }
        let dirty = GitInfo.runGit(directory, ["status", "--porcelain", "--untracked-files=no"]) != nil
        return GitInfo.Info(
            commit: dirty ? commit + "-dirty" : commit, branch: GitInfo.runGit(directory, ["rev-parse", "--abbrev-ref", "HEAD"]),
            remote: GitInfo.runGit(directory, ["remote", "get-url", "origin"]))
    }

    /// `GitInfo.read`, recording every git command it starts.
    private func read(_ directory: String) -> (info: GitInfo.Info?, calls: [[String]]) {
        let calls = CallLog()
        let info = GitInfo.read(directory: directory) { dir, arguments in
            calls.append(arguments)
            return GitInfo.runGit(dir, arguments)
        }
        return (info, calls.all)
    }

    @Test func commitBranchAndRemoteComeFromTheFilesAndOnlyTheDirtyStateFromGit() throws {
        let repo = try repository()
        let (info, calls) = read(repo)
        #expect(info != nil)
        #expect(info == reference(repo))
        #expect(info?.branch == "main")
        #expect(info?.remote == "https://example.invalid/litmus/bench.git")
        #expect(calls == [["status", "--porcelain", "--untracked-files=no"]])
    }

    @Test func readOncePerProcessAndDirectory() throws {
        let repo = try repository()
        let reads = CallLog()
        for _ in 0..<5 {
            _ = GitInfo.current(directory: repo) { directory in
                reads.append([directory])
                return GitInfo.read(directory: directory)
            }
        }
        #expect(reads.all.count == 1)
        #expect(GitInfo.current(directory: repo) == reference(repo))
    }

    @Test func agreesWithGitInEveryLayout() throws {
        let repo = try repository()
        // From a subdirectory.
        #expect(read(repo + "/sub/dir").info == reference(repo + "/sub/dir"))
        // A modified tracked file: -dirty.
        try "three\n".write(toFile: repo + "/file.txt", atomically: true, encoding: .utf8)
        let dirty = read(repo).info
        #expect(dirty?.commit?.hasSuffix("-dirty") == true)
        #expect(dirty == reference(repo))
        try git(repo, "checkout", "-q", "--", "file.txt")
        // Refs packed (no loose ref file left).
        try git(repo, "pack-refs", "--all", "--prune")
        #expect(!FileManager.default.fileExists(atPath: repo + "/.git/refs/heads/main"))
        #expect(read(repo).info == reference(repo))
        // A linked worktree on another branch: `.git` is a `gitdir:` file, refs are shared.
        let worktree = repo + "-worktree"
        try git(repo, "worktree", "add", "-q", "-b", "feature/x", worktree)
        try "four\n".write(toFile: worktree + "/file.txt", atomically: true, encoding: .utf8)
        try git(worktree, "commit", "-q", "-am", "four")
        let inWorktree = read(worktree).info
        #expect(inWorktree?.branch == "feature/x")
        #expect(inWorktree == reference(worktree))
        #expect(read(repo).info == reference(repo))
        // Detached HEAD: the branch is "HEAD".
        try git(repo, "checkout", "-q", "--detach")
        #expect(read(repo).info?.branch == "HEAD")
        #expect(read(repo).info == reference(repo))
        try git(repo, "checkout", "-q", "main")
        // A tag named like the branch: git says "heads/main"; so do we (by asking git).
        try git(repo, "tag", "main")
        #expect(read(repo).info?.branch == "heads/main")
        #expect(read(repo).info == reference(repo))
    }

    @Test func remoteURLWithQuotesAndCommentsReadsLikeGit() throws {
        let repo = try repository()
        let configPath = repo + "/.git/config"
        var config = try String(contentsOfFile: configPath, encoding: .utf8)
        config = config.replacingOccurrences(
            of: "url = https://example.invalid/litmus/bench.git",
            with: #"URL = "https://example.invalid/a \"b\" c.git"  ; the bench's remote"#)
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let info = read(repo).info
        #expect(info?.remote == #"https://example.invalid/a "b" c.git"#)
        #expect(info == reference(repo))
    }

    @Test func aURLRewriteThatAppliesIsLeftToGit() throws {
        let repo = try repository()
        try git(repo, "config", "url.https://mirror.invalid/.insteadOf", "https://example.invalid/")
        let (info, calls) = read(repo)
        #expect(info?.remote == "https://mirror.invalid/litmus/bench.git")
        #expect(info == reference(repo))
        #expect(calls.contains(["remote", "get-url", "origin"]))
        // A rule for other URLs changes nothing: the file is enough.
        try git(repo, "config", "--unset", "url.https://mirror.invalid/.insteadOf")
        try git(repo, "config", "url.https://mirror.invalid/.insteadOf", "https://elsewhere.invalid/")
        let other = read(repo)
        #expect(other.info == reference(repo))
        #expect(!other.calls.contains(["remote", "get-url", "origin"]))
    }

    @Test func nothingOutsideARepositoryOrBeforeTheFirstCommit() throws {
        let plain = try scratch()
        let outside = read(plain)
        #expect(outside.info == nil)
        #expect(outside.calls.isEmpty)
        #expect(reference(plain) == nil)

        let empty = plain + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try git(empty, "init", "-q", "-b", "main")
        #expect(read(empty).info == nil)
        #expect(reference(empty) == nil)
    }

    @Test func runIdentityTakesTheIdentityFromTheProcessWideRead() throws {
        // The working directory of the test process is the package (a git checkout or not):
        // whatever it is, a RunIdentity agrees with the cached read and git is not asked again.
        let directory = FileManager.default.currentDirectoryPath
        let expected = GitInfo.current(directory: directory)
        let calls = CallLog()
        let again = GitInfo.current(directory: directory) { _ in
            calls.append([])
            return nil
        }
        #expect(calls.all.isEmpty)
        #expect(again == expected)
        let identity = RunIdentity(dutSerial: "SN1")
        #expect(identity.gitCommit == expected?.commit)
        #expect(identity.gitBranch == expected?.branch)
        #expect(identity.gitRemote == expected?.remote)
    }
}

/// A thread-safe list of calls.
private final class CallLog: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [[String]] = []
    func append(_ call: [String]) { lock.withLock { calls.append(call) } }
    var all: [[String]] { lock.withLock { calls } }
}
