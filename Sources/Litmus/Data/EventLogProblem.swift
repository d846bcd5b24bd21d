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
        /// numbers): events of that writer are missing (or repeated).
        case sequenceGap
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
    /// For `.sequenceGap`: the writer.
    public var writer: String?
    public var message: String

    public init(
        _ kind: Kind, path: String, line: Int, offset: Int64, length: Int, field: String? = nil,
        writer: String? = nil, message: String
    ) {
        self.kind = kind
        self.path = path
        self.line = line
        self.offset = offset
        self.length = length
        self.field = field
        self.writer = writer
        self.message = message
    }

    /// `path:line (byte offset): kind: message`
    public var description: String { "\(path):\(line) (byte \(offset)): \(kind.rawValue): \(message)" }
}
