import Foundation
import Litmus
import LitmusJSON
import LitmusParquet

/// Re-judges stored runs against another revision of a part (spec): every measurement whose
/// limit came from a characteristic gets the limit the new part gives under the same stimulus
/// conditions (the vector's `in_*` values), through ``ProductContext/limit(for:conditions:guardbandPct:)``,
/// the code that chose the limit at run time, and is judged again with ``Limit/judge(_:)``.
/// Stored files are only read.
///
/// ```swift
/// let part = try PartLoader.load(path: "parts/buck_3v3_revB.yaml").0
/// let result = try RunRejudge.run(lake: RunLake(root: "data"), part: part, guardbandPct: 10)
/// for board in result.changedBoards { print(board.serial, board.before, "->", board.after) }
/// ```
///
/// - Measurements without a `characteristic_id` (limits written in the test) keep their
///   verdict, as do those whose characteristic the new part lacks (counted in
///   ``Result/notInSpec``).
/// - A characteristic whose bands match none of the stored conditions gives `errored` and a
///   message (``Result/specProblems``): never a silent pass.
/// - A run's what-if verdict is the worst of its final attempts' what-if measurement verdicts
///   and of the failures its measurements did not cause (an errored step, an aborted run),
///   which a new spec cannot change. Retries are taken as they happened: the final attempt of
///   each vector is judged.
public enum RunRejudge {
    /// A measurement whose verdict changes.
    public struct ChangedMeasurement: Sendable, Equatable {
        public var runID: String
        public var serial: String
        public var step: String
        public var vectorIndex: Int64?
        public var measurement: String
        public var value: Double?
        public var conditions: String
        public var oldLow: Double?
        public var oldHigh: Double?
        public var newLow: Double?
        public var newHigh: Double?
        public var before: Outcome
        public var after: Outcome
    }

    /// A run's verdict before and after.
    public struct RunVerdict: Sendable, Equatable {
        public var runID: String
        public var serial: String
        public var station: String
        public var path: String
        public var startedAt: Int64
        public var before: Outcome
        public var after: Outcome
    }

    /// A board (DUT serial) whose final verdict (its last run's) changes.
    public struct BoardVerdict: Sendable, Equatable {
        public var serial: String
        public var runID: String
        public var before: Outcome
        public var after: Outcome
    }

    public struct Result: Sendable {
        public var part: String
        public var guardbandPct: Double
        /// Final-attempt measurements re-judged against the new part.
        public var rejudged: Int
        /// Measurements whose characteristic the new part lacks (verdict kept).
        public var notInSpec: Int
        /// Measurements with no characteristic (limits from the test; verdict kept).
        public var withoutSpec: Int
        public var changedMeasurements: [ChangedMeasurement]
        public var runs: [RunVerdict]
        public var changedRuns: [RunVerdict] { runs.filter { $0.before != $0.after } }
        public var changedBoards: [BoardVerdict]
        public var yieldBefore: RunMetrics.Yield
        public var yieldAfter: RunMetrics.Yield
        /// Distinct spec problems (no band matches the stored conditions, ...).
        public var specProblems: [String]
        /// Files that could not be read.
        public var problems: [String]
    }

    static let columns = [
        "run_id", "dut_serial", "station_id", "run_outcome", "run_started_at", "record_type", "is_final_attempt", "step_path",
        "step_retry", "step_outcome", "vector_index", "vector_retry", "vector_outcome", "measurement_name", "measurement_value",
        "measurement_outcome", "limit_low", "limit_high", "characteristic_id",
    ]

    /// Re-judges the runs of `lake` that match `filter` against `part`.
    ///
    /// - Throws: ``SpecLimitError`` for a guardband outside 0 ..< 100 %.
    public static func run(lake: RunLake, part: Part, guardbandPct: Double = 0, filter: MetricsFilter = MetricsFilter(), threads: Int = 2) throws -> Result {
        let product = try ProductContext(part: part, guardbandPct: guardbandPct)
        let files = lake.files.filter { filter.mayMatch(partitions: $0.partitions) }
        let stripes = max(1, min(threads, files.count))
        let partials = StripedWork.run(stripes: stripes) { stripe in
            var results = FileResults()
            var index = stripe
            while index < files.count {
                results.add(files[index], product: product, filter: filter)
                index += stripes
            }
            return results
        }
        var all = FileResults()
        for p in partials { all.merge(p) }
        let runs = all.runs.sorted { ($0.startedAt, $0.runID) < ($1.startedAt, $1.runID) }
        func records(_ after: Bool) -> [RunMetrics.RunRecord] {
            runs.map {
                RunMetrics.RunRecord(runID: $0.runID, serial: $0.serial, station: $0.station, outcome: (after ? $0.after : $0.before).rawValue, startedAt: $0.startedAt)
            }
        }
        var lastOfBoard: [String: RunVerdict] = [:]
        for run in runs where !run.serial.isEmpty { lastOfBoard[run.serial] = run }
        let boards = lastOfBoard.values.filter { $0.before != $0.after }.sorted { $0.serial < $1.serial }
            .map { BoardVerdict(serial: $0.serial, runID: $0.runID, before: $0.before, after: $0.after) }
        return Result(
            part: part.id, guardbandPct: guardbandPct, rejudged: all.rejudged, notInSpec: all.notInSpec, withoutSpec: all.withoutSpec,
            changedMeasurements: all.changed.sorted { ($0.runID, $0.step, $0.vectorIndex ?? -1, $0.measurement) < ($1.runID, $1.step, $1.vectorIndex ?? -1, $1.measurement) },
            runs: runs, changedBoards: boards, yieldBefore: RunMetrics.Scan.yield(records(false)),
            yieldAfter: RunMetrics.Scan.yield(records(true)), specProblems: all.specProblems.sorted(), problems: all.problems.sorted())
    }

    /// What the files of one thread gave.
    struct FileResults {
        var rejudged = 0
        var notInSpec = 0
        var withoutSpec = 0
        var changed: [ChangedMeasurement] = []
        var runs: [RunVerdict] = []
        var specProblems: Set<String> = []
        var problems: [String] = []

        mutating func merge(_ o: FileResults) {
            rejudged += o.rejudged
            notInSpec += o.notInSpec
            withoutSpec += o.withoutSpec
            changed += o.changed
            runs += o.runs
            specProblems.formUnion(o.specProblems)
            problems += o.problems
        }

        mutating func add(_ file: RunLake.File, product: ProductContext, filter: MetricsFilter) {
            do {
                let reader = try ParquetFileReader(path: file.path)
                let inputs = reader.metadata.columns.map(\.name).filter { $0.hasPrefix("in_") }
                let t = try RunFileTable.read(path: file.path, columns: RunRejudge.columns + inputs, reader: reader)
                guard t.rowCount > 0 else { return }
                try addRun(t, file: file, inputs: inputs, product: product, filter: filter)
            } catch {
                problems.append("\(error)")
            }
        }

        private mutating func addRun(_ t: RunFileTable, file: RunLake.File, inputs: [String], product: ProductContext, filter: MetricsFilter) throws {
            let runID = t.strings("run_id")[0] ?? file.path
            let serial = t.strings("dut_serial")[0] ?? ""
            let station = t.strings("station_id")[0] ?? ""
            let startedAt = t.timestamps("run_started_at")?[0] ?? 0
            if let wanted = filter.station, station != wanted { return }
            if let from = filter.from, startedAt < from { return }
            if let to = filter.to, startedAt >= to { return }
            if !filter.serialMatches(serial) { return }
            let stored = Outcome(rawValue: t.strings("run_outcome")[0] ?? "") ?? .aborted

            let type = t.strings("record_type")
            let final = t.bools("is_final_attempt") ?? RunMetrics.Scan.finalAttempts(t)
            let stepPath = t.strings("step_path")
            let stepRetry = t.ints("step_retry")
            let stepOutcome = t.strings("step_outcome")
            let vectorIndex = t.ints("vector_index")
            let vectorRetry = t.ints("vector_retry")
            let vectorOutcome = t.strings("vector_outcome")
            let name = t.strings("measurement_name")
            let value = t.optionalDoubles("measurement_value")
            let outcome = t.strings("measurement_outcome")
            let low = t.optionalDoubles("limit_low")
            let high = t.optionalDoubles("limit_high")
            let characteristic = t.strings("characteristic_id")
            let inputColumns = inputs.map { ($0, String($0.dropFirst(3)), t.columns[$0]) }

            struct Scope: Hashable {
                var path: Int32
                var stepRetry: Int64?
                var vector: Int64?
                var vectorRetry: Int64?
            }
            var worstStoredInVector: [Scope: Outcome] = [:]
            var worstStoredInStep: [Scope: Outcome] = [:]
            var after: Outcome?
            func worsen(_ o: Outcome) { after = after.map { max($0, o) } ?? o }
            var worstStoredAll: Outcome?

            for row in 0..<t.rowCount where final[row] ?? true {
                let kind = type[row]
                let stepScope = Scope(path: stepPath.indices[row], stepRetry: stepRetry?[row], vector: nil, vectorRetry: nil)
                guard kind == "measurement" else { continue }
                let before = Outcome(rawValue: outcome[row] ?? "") ?? .errored
                let vectorScope = Scope(path: stepScope.path, stepRetry: stepScope.stepRetry, vector: vectorIndex?[row], vectorRetry: vectorRetry?[row])
                worstStoredInVector[vectorScope] = max(worstStoredInVector[vectorScope] ?? before, before)
                worstStoredInStep[stepScope] = max(worstStoredInStep[stepScope] ?? before, before)
                worstStoredAll = max(worstStoredAll ?? before, before)
                var now = before
                if let id = characteristic[row] {
                    var conditions: [String: ParamValue] = [:]
                    for (_, key, column) in inputColumns {
                        guard let column, column.isValid(row) else { continue }
                        switch column.values {
                        case .double(let v): conditions[key] = .number(v[row])
                        case .boolean(let v): conditions[key] = .bool(v[row])
                        case .strings(let d, let i): conditions[key] = .text(d[Int(i[row])])
                        default: if let d = column.doubles() { conditions[key] = .number(d[row]) }
                        }
                    }
                    var newLimit: Limit?
                    do {
                        newLimit = try product.limit(for: id, conditions: conditions)
                        if newLimit == nil { notInSpec += 1 }
                    } catch {
                        specProblems.insert(error.description)
                        now = .errored
                    }
                    if let newLimit {
                        rejudged += 1
                        now = newLimit.judge(value?[row])
                    } else if now == .errored {
                        rejudged += 1
                    }
                    if now != before {
                        changed.append(ChangedMeasurement(
                            runID: runID, serial: serial, step: stepPath[row] ?? "", vectorIndex: vectorIndex?[row], measurement: name[row] ?? "",
                            value: value?[row], conditions: conditions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
                            oldLow: low?[row], oldHigh: high?[row], newLow: newLimit?.low, newHigh: newLimit?.high, before: before, after: now))
                    }
                } else {
                    withoutSpec += 1
                }
                worsen(now)
            }
            // Failures the measurements did not cause stay.
            for row in 0..<t.rowCount where final[row] ?? true {
                let stepScope = Scope(path: stepPath.indices[row], stepRetry: stepRetry?[row], vector: nil, vectorRetry: nil)
                switch type[row] {
                case "vector":
                    guard let o = Outcome(rawValue: vectorOutcome[row] ?? "") else { continue }
                    let scope = Scope(path: stepScope.path, stepRetry: stepScope.stepRetry, vector: vectorIndex?[row], vectorRetry: vectorRetry?[row])
                    worstStoredInStep[stepScope] = max(worstStoredInStep[stepScope] ?? o, o)
                    worstStoredAll = max(worstStoredAll ?? o, o)
                    if let worst = worstStoredInVector[scope], worst >= o { continue }
                    worsen(o)
                default:
                    continue
                }
            }
            for row in 0..<t.rowCount where (final[row] ?? true) && type[row] == "step" {
                guard let o = Outcome(rawValue: stepOutcome[row] ?? "") else { continue }
                let scope = Scope(path: stepPath.indices[row], stepRetry: stepRetry?[row], vector: nil, vectorRetry: nil)
                let worst = worstStoredInStep[scope]
                worstStoredAll = max(worstStoredAll ?? o, o)
                if let worst, worst >= o { continue }
                worsen(o)
            }
            if let worst = worstStoredAll, stored > worst { worsen(stored) }
            runs.append(RunVerdict(
                runID: runID, serial: serial, station: station, path: file.path, startedAt: startedAt, before: stored,
                after: after ?? stored))
        }
    }
}

extension RunRejudge.Result {
    /// The result as JSON.
    public func json() -> String {
        var j = JSONBuffer()
        j.beginObject()
        j.key("part"); j.value(part)
        j.key("guardband_pct"); j.value(guardbandPct)
        j.key("rejudged"); j.value(rejudged)
        j.key("not_in_spec"); j.value(notInSpec)
        j.key("without_spec"); j.value(withoutSpec)
        j.key("yield_before"); yieldBefore.write(to: &j)
        j.key("yield_after"); yieldAfter.write(to: &j)
        j.key("changed_boards")
        j.beginArray()
        for b in changedBoards {
            j.beginObject()
            j.key("serial"); j.value(b.serial)
            j.key("run_id"); j.value(b.runID)
            j.key("before"); j.value(b.before.rawValue)
            j.key("after"); j.value(b.after.rawValue)
            j.endObject()
        }
        j.endArray()
        j.key("changed_runs")
        j.beginArray()
        for r in changedRuns {
            j.beginObject()
            j.key("run_id"); j.value(r.runID)
            j.key("serial"); j.value(r.serial)
            j.key("station"); j.value(r.station)
            j.key("path"); j.value(r.path)
            j.key("before"); j.value(r.before.rawValue)
            j.key("after"); j.value(r.after.rawValue)
            j.endObject()
        }
        j.endArray()
        j.key("changed_measurements")
        j.beginArray()
        for m in changedMeasurements {
            j.beginObject()
            j.key("run_id"); j.value(m.runID)
            j.key("serial"); j.value(m.serial)
            j.key("step"); j.value(m.step)
            j.key("vector_index"); if let v = m.vectorIndex { j.value(v) } else { j.null() }
            j.key("measurement"); j.value(m.measurement)
            j.key("value"); j.finiteOrNull(m.value)
            j.key("conditions"); j.value(m.conditions)
            j.key("old_low"); j.finiteOrNull(m.oldLow)
            j.key("old_high"); j.finiteOrNull(m.oldHigh)
            j.key("new_low"); j.finiteOrNull(m.newLow)
            j.key("new_high"); j.finiteOrNull(m.newHigh)
            j.key("before"); j.value(m.before.rawValue)
            j.key("after"); j.value(m.after.rawValue)
            j.endObject()
        }
        j.endArray()
        j.key("spec_problems")
        j.beginArray()
        for p in specProblems { j.value(p) }
        j.endArray()
        j.key("problems")
        j.beginArray()
        for p in problems { j.value(p) }
        j.endArray()
        j.endObject()
        return String(decoding: j.bytes, as: UTF8.self)
    }

    /// The result as text for a terminal.
    public func text() -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f %%", x * 100) }
        func num(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "-" }
        var out: [String] = []
        out.append("Re-judged \(rejudged) measurements of \(runs.count) runs against part \(part) (guardband \(num(guardbandPct)) %); \(withoutSpec) had limits from the test and \(notInSpec) a characteristic the part lacks (verdicts kept).")
        out.append("Final yield: \(pct(yieldBefore.final)) -> \(pct(yieldAfter.final))   First-pass yield: \(pct(yieldBefore.firstPass)) -> \(pct(yieldAfter.firstPass))   Runs passed: \(yieldBefore.passedRuns) -> \(yieldAfter.passedRuns) of \(runs.count)")
        if changedBoards.isEmpty {
            out.append("No board's verdict would change.")
        } else {
            out.append("")
            out.append("Boards whose verdict would change (their last run):")
            out.append(TextTable.render(
                header: ["SERIAL", "RUN", "BEFORE", "AFTER"],
                rows: changedBoards.map { [$0.serial, String($0.runID.prefix(8)), $0.before.rawValue, $0.after.rawValue] }))
        }
        if !changedRuns.isEmpty {
            out.append("")
            out.append("Runs whose verdict would change:")
            out.append(TextTable.render(
                header: ["RUN", "SERIAL", "STATION", "BEFORE", "AFTER", "FILE"],
                rows: changedRuns.map { [String($0.runID.prefix(8)), $0.serial, $0.station, $0.before.rawValue, $0.after.rawValue, $0.path] }))
        }
        if !changedMeasurements.isEmpty {
            out.append("")
            out.append("Measurements whose verdict would change:")
            out.append(TextTable.render(
                header: ["RUN", "SERIAL", "STEP", "VEC", "MEASUREMENT", "VALUE", "CONDITIONS", "OLD LIMIT", "NEW LIMIT", "BEFORE", "AFTER"],
                rows: changedMeasurements.prefix(200).map { m in
                    [String(m.runID.prefix(8)), m.serial, m.step, m.vectorIndex.map { "\($0)" } ?? "-", m.measurement, num(m.value), m.conditions,
                     "[\(num(m.oldLow)), \(num(m.oldHigh))]", "[\(num(m.newLow)), \(num(m.newHigh))]", m.before.rawValue, m.after.rawValue]
                }))
            if changedMeasurements.count > 200 { out.append("… \(changedMeasurements.count - 200) more (use --json or --out)") }
        }
        for p in specProblems { out.append("spec problem: \(p)") }
        for p in problems { out.append("warning: \(p)") }
        return out.joined(separator: "\n")
    }
}
