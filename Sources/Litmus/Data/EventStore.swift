import Foundation

/// The events of a data directory: opens event logs (writers) and readers.
///
/// ```swift
/// let store = EventStore(dataDir: "data")
/// let log = try store.eventLog(sessionID: session)     // a new file, for this writer only
/// ...
/// let result = try store.events(sessionID: session)    // every writer's events, merged
/// ```
///
/// Layout (Hive-style partitions, so DuckDB's
/// `read_json_auto('events/*/*/*.jsonl', hive_partitioning = true)` reads a whole directory):
///
/// ```
/// <dataDir>/events/date=YYYY-MM-DD/session=<session uuid>/<writer>.jsonl
/// ```
///
/// Each call to ``eventLog(sessionID:durability:)`` makes a new writer with its own file: two
/// logs never share a file, in one process or across processes.
public final class EventStore: Sendable {
    public let dataDir: String

    public init(dataDir: String) {
        self.dataDir = dataDir
    }

    /// `<dataDir>/events`.
    public var eventsDirectory: String { EventStore.eventsDirectory(dataDir: dataDir) }

    /// A new event log (a new writer and file) for a session.
    ///
    /// - Throws: ``EventLogError`` (`.createFailed`, `.lockFailed`).
    public func eventLog(sessionID: UUID, durability: EventLog.Durability = .default) throws -> EventLog {
        try EventLog(dataDir: dataDir, sessionID: sessionID, durability: durability)
    }

    /// A reader of this directory's events.
    public var reader: EventReader { EventReader(dataDir: dataDir) }

    /// The sessions with event files, oldest date first.
    public func sessions() -> [EventReader.Session] { reader.sessions() }

    /// Every event of a session, merged across its writers, with the problems found.
    public func events(sessionID: UUID) throws -> EventReader.ReadResult { try reader.events(sessionID: sessionID) }

    /// The events of a session appended after `position` (follow mode).
    public func tail(sessionID: UUID, from position: EventReader.TailPosition = .start) throws -> EventReader.TailResult {
        try reader.tail(sessionID: sessionID, from: position)
    }

    // MARK: Layout

    /// `<dataDir>/events`.
    public static func eventsDirectory(dataDir: String) -> String {
        dataDir.hasSuffix("/") ? "\(dataDir)events" : "\(dataDir)/events"
    }

    /// `<dataDir>/events/date=<date>/session=<lower-case uuid>`.
    public static func sessionDirectory(dataDir: String, date: String, sessionID: UUID) -> String {
        "\(eventsDirectory(dataDir: dataDir))/date=\(date)/session=\(sessionID.uuidString.lowercased())"
    }

    /// Creates `path` and its missing parents with mode 0755 and syncs the parent of each
    /// directory it creates, so a crash cannot lose a directory entry (and the files in it).
    static func makeDirectories(_ path: String) throws(SystemCallError) {
        var missing: [String] = []
        var current = path
        while !current.isEmpty, current != "/", System.fileKind(current) != .directory {
            missing.append(current)
            current = parentDirectory(current)
        }
        for directory in missing.reversed() {
            if try System.makeDirectory(directory, mode: 0o755) {
                try System.syncDirectory(parentDirectory(directory))
            }
        }
    }

    /// The directory holding `path` (`.` for a bare name).
    static func parentDirectory(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }
}
