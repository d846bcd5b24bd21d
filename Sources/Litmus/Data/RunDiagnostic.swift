import Foundation
import LitmusJSON

/// Something wrong with the data of one run, recorded with the run: in its Parquet file (the
/// `run_diagnostics` column and the `litmus.diagnostics` key/value metadata), in
/// `litmus runs list` and `litmus runs show`.
///
/// Two sources: the event-log problems the reader tied to the run (``EventLogProblem``:
/// corrupted or undecodable lines, sequence gaps, a torn tail, duplicated lines), and what the
/// run's own events lack (no `run.started`: the run's identity is what the session and the
/// other events tell).
public struct RunDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// An ``EventLogProblem/Kind`` raw value (`corrupted`, `undecodable`, `sequenceGap`,
    /// `tornTail`, `duplicate`), or ``missingRunStarted``.
    public var kind: String
    public var message: String
    /// Where in the event log, for a problem found there.
    public var path: String?
    public var line: Int?
    public var offset: Int64?
    /// Whether events of the run were lost (the run's file lacks what they held).
    public var losesEvents: Bool

    /// The kind of a run whose `run.started` event is missing (lost or never written).
    public static let missingRunStarted = "missingRunStarted"

    public init(kind: String, message: String, path: String? = nil, line: Int? = nil, offset: Int64? = nil, losesEvents: Bool) {
        self.kind = kind
        self.message = message
        self.path = path
        self.line = line
        self.offset = offset
        self.losesEvents = losesEvents
    }

    /// A problem found in the event log.
    public init(_ problem: EventLogProblem) {
        self.init(
            kind: problem.kind.rawValue, message: problem.message, path: problem.path, line: problem.line,
            offset: problem.offset, losesEvents: problem.losesEvents)
    }

    /// `path:line (byte offset): kind: message`, or `kind: message`.
    public var description: String {
        if let path, let line, let offset { return "\(path):\(line) (byte \(offset)): \(kind): \(message)" }
        return "\(kind): \(message)"
    }

    /// The diagnostics as the `litmus.diagnostics` metadata value: a JSON array of objects
    /// with `kind`, `message`, `loses_events` and, for event-log problems, `path`, `line`,
    /// `offset`.
    static func json(_ diagnostics: [RunDiagnostic]) -> String {
        var j = JSONBuffer()
        j.beginArray()
        for d in diagnostics {
            j.beginObject()
            j.field("kind", d.kind)
            j.field("message", d.message)
            j.field("loses_events", d.losesEvents)
            j.field("path", d.path)
            j.field("line", d.line)
            j.field("offset", d.offset)
            j.endObject()
        }
        j.endArray()
        return String(decoding: j.bytes, as: UTF8.self)
    }
}

extension RunTable {
    /// Adds the run's diagnostics: the `run_diagnostics` column (on every row: the distinct
    /// kinds, sorted, comma-separated; null when the run's data is whole) and the
    /// `litmus.diagnostics` metadata (JSON array, `[]` when there are none).
    mutating func addDiagnostics(_ diagnostics: [RunDiagnostic]) {
        let column = addColumn("run_diagnostics", .string)
        let kinds = Set(diagnostics.map(\.kind)).sorted().joined(separator: ",")
        if diagnostics.isEmpty {
            columns[column].stringValues = []
            columns[column].stringIndices = Array(repeating: -1, count: rowCount)
        } else {
            columns[column].stringValues = [kinds]
            columns[column].stringIndices = Array(repeating: 0, count: rowCount)
        }
        metadata.removeAll { $0.0 == "litmus.diagnostics" }
        metadata.append(("litmus.diagnostics", RunDiagnostic.json(diagnostics)))
    }
}
