import Foundation

/// Something wrong in an event file, found by ``EventReader``: where it is (file, line, byte
/// offset) and what it is. The reader skips the bad bytes and keeps reading.
public struct EventLogProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The end of a file holds an incomplete line (no newline) or lines with a bad
        /// checksum and no good line after them: what a crash mid-write leaves. Skipped; the
        /// events in it were never acknowledged.
        case tornTail
        /// A line with a bad checksum followed by good lines: damage inside the file.
        case corrupted
        /// A line whose checksum is right but whose JSON is not a valid event (``field``
        /// names the member, when known): written by a newer or a broken writer.
        case undecodable
        /// A writer's sequence numbers skip or go back (``writer``; the message says which
        /// numbers): events of that writer are missing (or out of order).
        case sequenceGap
        /// A line that repeats an event already read (same event id, writer and sequence), as
        /// a copy or a replay of the file's bytes leaves it. Skipped: the event counts once.
        case duplicate
        /// The file's lines end with CR LF (or CR alone) instead of LF, as a text conversion
        /// leaves them (unix2dos, an editor, git's autocrlf). The lines are read with the CR
        /// removed (checksums are of the line without it): nothing is lost.
        case lineEndings

        /// Whether events were lost to the problem (bytes that could not be read as events, or
        /// a sequence that skips). A torn tail loses only events never acknowledged (a crash
        /// mid-write); duplicates and CR line endings lose nothing.
        public var losesEvents: Bool {
            switch self {
            case .corrupted, .undecodable: true
            case .tornTail, .sequenceGap, .duplicate, .lineEndings: false
            }
        }
    }

    public var kind: Kind
    /// The event file.
    public var path: String
    /// The 1-based line number where the problem starts.
    public var line: Int
    /// The byte offset in the file where the problem starts.
    public var offset: Int64
    /// How many bytes are skipped (0 for a sequence gap).
    public var length: Int
    /// For `.undecodable`: the JSON member that is wrong, when known.
    public var field: String?
    /// For `.sequenceGap` and `.duplicate`: the writer.
    public var writer: String?
    /// The run the problem concerns, when the reader can tell: the run named in the bad
    /// bytes, the run of the event after a sequence gap or of a duplicate, else the nearest run
    /// around the bad bytes in the same file. nil for file-wide problems (line endings) and
    /// for bytes no run's events are near.
    public var runID: UUID?
    /// For `.sequenceGap`: how many events are missing (0 when the sequence goes back).
    public var missingEvents: Int64 = 0
    public var message: String

    public init(
        _ kind: Kind, path: String, line: Int, offset: Int64, length: Int, field: String? = nil,
        writer: String? = nil, runID: UUID? = nil, missingEvents: Int64 = 0, message: String
    ) {
        self.kind = kind
        self.path = path
        self.line = line
        self.offset = offset
        self.length = length
        self.field = field
        self.writer = writer
        self.runID = runID
        self.missingEvents = missingEvents
        self.message = message
    }

    /// Whether events were lost to this problem: ``Kind/losesEvents``, or a sequence gap with
    /// events missing.
    public var losesEvents: Bool { kind.losesEvents || missingEvents > 0 }

    /// `path:line (byte offset): kind: message`
    public var description: String { "\(path):\(line) (byte \(offset)): \(kind.rawValue): \(message)" }
}
