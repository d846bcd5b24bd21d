import Foundation
import LitmusJSON

/// Something wrong with the data of one run, recorded with the run: in its Parquet file (the
/// `run_diagnostics` column and the `litmus.diagnostics` key/value metadata), in
/// `litmus runs list` and `litmus runs show`.
///
/// Three sources: the event-log problems the reader tied to the run (``EventLogProblem``:
/// corrupted or undecodable lines, sequence gaps, a torn tail, duplicated lines), what the
/// run's own events lack (no `run.started`: the run's identity is what the session and the
/// other events tell), and the warnings and errors the run recorded itself (``Diagnostic``
/// events: a measurement that could not be traced to one connection, a demoted test phase).
public struct RunDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// An ``EventLogProblem/Kind`` raw value (`corrupted`, `undecodable`, `sequenceGap`,
    /// `tornTail`, `duplicate`), ``missingRunStarted``, or the `source` of a diagnostic the run
    /// recorded (`traceability`, `test_phase`, `limits`...).
    public var kind: String
    /// `warning` or `error`: an error when events were lost.
    public var level: Diagnostic.Level
    public var message: String
    /// For a diagnostic the run recorded: the details it gave.
    public var details: JSONValue?
    /// Where in the event log, for a problem found there.
    public var path: String?
    public var line: Int?
    public var offset: Int64?
    /// Whether events of the run were lost (the run's file lacks what they held).
    public var losesEvents: Bool

    /// The kind of a run whose `run.started` event is missing (lost or never written).
    public static let missingRunStarted = "missingRunStarted"

    public init(
        kind: String, level: Diagnostic.Level? = nil, message: String, details: JSONValue? = nil, path: String? = nil,
        line: Int? = nil, offset: Int64? = nil, losesEvents: Bool
    ) {
        self.kind = kind
        self.level = level ?? (losesEvents ? .error : .warning)
        self.message = message
        self.details = details
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

    /// A warning or error the run recorded itself.
    public init(_ recorded: Diagnostic) {
        self.init(
            kind: recorded.source, level: recorded.level, message: recorded.message, details: recorded.details,
            losesEvents: false)
    }

    /// Whether this is about the run's data (the event log, a missing `run.started`) rather
    /// than a warning the run recorded itself.
    public var isDataProblem: Bool { path != nil || losesEvents || kind == Self.missingRunStarted }

    /// `path:line (byte offset): kind: message`, or `kind: message`.
    public var description: String {
        if let path, let line, let offset { return "\(path):\(line) (byte \(offset)): \(kind): \(message)" }
        return "\(kind): \(message)"
    }

    /// The diagnostics as the `litmus.diagnostics` metadata value: a JSON array of objects
    /// with `kind`, `level`, `message`, `loses_events`; for event-log problems `path`, `line`,
    /// `offset`; for diagnostics the run recorded, `source` (= `kind`) and `details`.
    static func json(_ diagnostics: [RunDiagnostic]) -> String {
        var j = JSONBuffer()
        j.beginArray()
        for d in diagnostics {
            j.beginObject()
            j.field("kind", d.kind)
            j.field("level", d.level.rawValue)
            j.field("message", d.message)
            j.field("loses_events", d.losesEvents)
            if d.isDataProblem {
                j.field("path", d.path)
                j.field("line", d.line)
                j.field("offset", d.offset)
            } else {
                j.field("source", d.kind)
                if let details = d.details {
                    j.key("details")
                    j.value(details)
                }
            }
            j.endObject()
        }
        j.endArray()
        return String(decoding: j.bytes, as: UTF8.self)
    }
}

extension RunTable {
    /// Adds the run's diagnostics: the `run_diagnostics` column (on every row: the distinct
    /// kinds of data problems, sorted, comma-separated; null when the run's data is whole) and
    /// the `litmus.diagnostics` metadata (JSON array of every diagnostic, `[]` when there are
    /// none).
    mutating func addDiagnostics(_ diagnostics: [RunDiagnostic]) {
        let column = addColumn("run_diagnostics", .string)
        let damage = diagnostics.filter(\.isDataProblem)
        let kinds = Set(damage.map(\.kind)).sorted().joined(separator: ",")
        if damage.isEmpty {
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
