import Foundation
import Litmus
import LitmusJSON

/// The history page's filters (`GET /api/history?serial=&part=&outcome=&from=&to=`), each
/// checked with a message that says what to type instead.
struct HistoryFilter {
    static let outcomes = ["passed", "failed", "errored", "aborted", "done", "skipped", "terminated", "running"]
    /// The most rows one answer lists (newest first).
    static let limit = 200

    var serial: String?
    var part: String?
    var outcome: String?
    /// `YYYY-MM-DD` (UTC), both inclusive.
    var from: String?
    var to: String?

    /// - Parameter query: the query's parameters (the first of each name).
    init(_ query: [String: String]) throws {
        func text(_ name: String) throws -> String? {
            guard let raw = query[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            guard raw.count <= 64, raw.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                throw ServeError(.invalid, "\(name): at most 64 printable characters")
            }
            return raw
        }
        serial = try text("serial")
        part = try text("part")
        outcome = try text("outcome")?.lowercased()
        if let outcome, !Self.outcomes.contains(outcome) {
            throw ServeError(.invalid, "outcome \(outcome) is not one of \(Self.outcomes.joined(separator: ", "))")
        }
        for name in ["from", "to"] {
            guard let value = try text(name) else { continue }
            guard value.count == 10, Timestamp(iso8601: value + "T00:00:00Z") != nil else {
                throw ServeError(.invalid, "\(name) \(value) is not a date: write it like 2026-12-07")
            }
            if name == "from" { from = value } else { to = value }
        }
    }

    /// The matching runs, newest first, at most ``limit``, as JSON.
    func rows(dataDir: String) throws -> String {
        let catalog: RunCatalog
        do { catalog = try RunCatalog(dataDir: dataDir) } catch { throw ServeError(.invalid, "cannot read the runs of \(dataDir): \(error)") }
        var j = JSONBuffer()
        j.beginObject()
        j.key(static: "runs")
        j.beginArray()
        var count = 0
        var more = false
        for s in catalog.summaries {
            let run = catalog.runs[s.runID]
            let partNumber = run?.started?.dutPartNumber ?? run?.started?.partID
            let day = s.startedAt.map { String($0.iso8601.prefix(10)) } ?? ""
            if let serial, !s.dutSerial.localizedCaseInsensitiveContains(serial) { continue }
            if let part, !(partNumber ?? "").localizedCaseInsensitiveContains(part) && !(run?.started?.partID ?? "").localizedCaseInsensitiveContains(part) { continue }
            if let outcome, (s.outcome?.rawValue ?? "running") != outcome { continue }
            if let from, day < from { continue }
            if let to, day > to { continue }
            if count == Self.limit {
                more = true
                break
            }
            count += 1
            j.beginObject()
            j.field("run_id", s.runID.uuidString.lowercased())
            j.field("serial", s.dutSerial)
            j.field("part", partNumber)
            j.field("station", s.stationID)
            j.field("phase", s.testPhase)
            j.field("operator", run?.started?.operatorID)
            j.field("started_at", s.startedAt?.iso8601)
            j.field("ended_at", s.endedAt?.iso8601)
            j.field("outcome", s.outcome?.rawValue ?? "running")
            j.field("measurements", s.measurements)
            j.field("failed", s.failedMeasurements)
            j.endObject()
        }
        j.endArray()
        j.field("more", more)
        j.endObject()
        return String(decoding: j.bytes, as: UTF8.self)
    }
}
