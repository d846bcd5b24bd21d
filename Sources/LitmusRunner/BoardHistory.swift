import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The boards a runner tested before in a data directory, to expect of the next board of the
/// same test: how many steps, how many vectors per step, how long (the median of the latest
/// finished runs). Earlier sessions count too: a new `litmus run` on the same data directory
/// knows the estimate from its first board.
///
/// The runner appends one JSON line per finished board to `<data>/runner-logs/boards.jsonl`:
/// which session and serial, for which station (its id), test command (as written, `{serial}`
/// not replaced) and sequence. The figures are rebuilt from those runs' own events (the event
/// log is the truth), so a board whose events are gone does not count. Runs started without
/// the runner (plain `swift test`) do not say their test command and are not used.
public struct BoardHistory: Sendable {
    /// What makes two boards "the same test".
    public struct Key: Codable, Sendable, Equatable {
        /// The station's id (not its file's path, which may be written differently).
        public var station: String
        public var command: [String]
        public var sequence: String?
    }

    struct Entry: Codable {
        var session: UUID
        var serial: String
        var key: Key
    }

    /// How many of the latest finished runs the estimate is the median of.
    public static let depth = 5

    public let dataDir: String
    public let key: Key
    /// The shapes of the latest finished runs of this test, oldest first (at most ``depth``).
    public private(set) var runs: [RunProgress.Expectation] = []

    var file: String { "\(dataDir)/runner-logs/boards.jsonl" }

    /// Reads the earlier boards of `key` from `dataDir` (none when there is no record yet; a
    /// damaged line is skipped).
    public init(dataDir: String, key: Key) {
        self.dataDir = dataDir
        self.key = key
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return }
        let decoder = JSONDecoder()
        let entries = text.split(separator: "\n").compactMap { try? decoder.decode(Entry.self, from: Data($0.utf8)) }
            .filter { $0.key == key }
        let reader = EventReader(dataDir: dataDir)
        // Newest first until enough finished runs are found.
        var found: [RunProgress.Expectation] = []
        // At most four times the depth is read: aborted or lost runs do not make it read the
        // whole history.
        for entry in entries.reversed().prefix(Self.depth * 4) where found.count < Self.depth {
            guard let events = try? reader.events(sessionID: entry.session).events else { continue }
            var progress = RunProgress(serial: entry.serial)
            for event in events { progress.apply(event) }
            if let outcome = progress.outcome, outcome != .aborted, progress.runID != nil {
                found.append(progress.expectation())
            }
        }
        runs = found.reversed()
    }

    /// What to expect of the next board: the latest run's steps and vectors, the median time.
    public var expectation: RunProgress.Expectation? {
        guard var latest = runs.last else { return nil }
        let seconds = runs.map(\.seconds).sorted()
        latest.seconds = seconds.count % 2 == 1 ? seconds[seconds.count / 2] : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
        return latest
    }

    /// Records a finished board (its run ended by itself, not aborted) for later estimates.
    public mutating func record(session: UUID, serial: String, progress: RunProgress) throws {
        guard let outcome = progress.outcome, outcome != .aborted, progress.runID != nil else { return }
        runs.append(progress.expectation())
        if runs.count > Self.depth { runs.removeFirst(runs.count - Self.depth) }
        var line = try JSONEncoder().encode(Entry(session: session, serial: serial, key: key))
        line.append(UInt8(ascii: "\n"))
        // One write per line with O_APPEND: two runners on one data directory do not mix lines.
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunnerError("cannot write \(file): \(String(cString: strerror(errno))). Fix: make the data directory writable") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw RunnerError("cannot write \(file): \(String(cString: strerror(errno)))") }
    }
}
