import Foundation
import LitmusParquet

/// Yield, failure Pareto, capability and test time over the run files of a lake.
///
/// ```swift
/// let metrics = try RunMetrics.compute(lake: RunLake(root: "data"), filter: MetricsFilter(station: "bench1"))
/// print(metrics.yield.firstPass, metrics.capability.first?.cpk ?? .nan)
/// ```
///
/// Definitions (each run file is one run):
/// - A unit is a DUT serial (a run with an empty serial is a unit of its own). Its runs are
///   ordered by `run_started_at`. A run passes when its `run_outcome` is `passed`.
/// - First-pass yield: units whose first run passed / units. Final yield: units whose last run
///   passed / units. Retest rate: units with more than one run / units.
/// - Only final attempts count (`is_final_attempt`): a vector that failed and passed on a retry
///   counts once, as passed. Files without the column get it computed from the retry numbers.
/// - Pareto: failed measurements (final attempts) by measurement name, step path, DUT pin and
///   station, most first.
/// - Capability: per step path, measurement name, unit and limit (low, high), over the final
///   attempts' finite values ordered by `measured_at`: mean; overall sigma s (n − 1); within
///   sigma from the average moving range (MR̄ / 1.128); Cp = (USL − LSL) / 6σ_within,
///   Cpk = min(USL − mean, mean − LSL) / 3σ_within (one-sided with one limit); Pp, Ppk the
///   same with s. Undefined (nil) with fewer than 2 values or a zero sigma.
/// - Test time per step: `step_ended_at − step_started_at` of every step attempt, retries
///   included (they took time).
public struct RunMetrics: Sendable {
    /// Run and unit counts and the yields.
    public struct Yield: Sendable, Equatable {
        public var runs: Int
        public var passedRuns: Int
        public var failedRuns: Int
        /// Runs that neither passed nor failed (errored, aborted, terminated, skipped, done).
        public var otherRuns: Int
        public var units: Int
        public var firstPassUnits: Int
        public var finalPassUnits: Int
        public var retestedUnits: Int
        /// Fractions of units (0...1); 0 without units.
        public var firstPass: Double { units == 0 ? 0 : Double(firstPassUnits) / Double(units) }
        public var final: Double { units == 0 ? 0 : Double(finalPassUnits) / Double(units) }
        public var retestRate: Double { units == 0 ? 0 : Double(retestedUnits) / Double(units) }
    }

    /// One bar of a Pareto.
    public struct ParetoEntry: Sendable, Equatable {
        public var key: String
        public var failures: Int
        /// Share of all failures of the Pareto (0...1), and the running total.
        public var share: Double
        public var cumulative: Double
    }

    /// Capability of one measurement under one limit.
    public struct Capability: Sendable {
        public var step: String
        public var measurement: String
        public var unit: String?
        public var low: Double?
        public var high: Double?
        public var count: Int
        public var failures: Int
        public var mean: Double
        public var sigma: Double
        public var sigmaWithin: Double?
        public var min: Double
        public var max: Double
        public var cp: Double?
        public var cpk: Double?
        public var pp: Double?
        public var ppk: Double?
        public var histogram: Histogram
    }

    /// Counts of values in equal bins over `[lower, upper]` (which include the limits).
    public struct Histogram: Sendable, Equatable {
        public var lower: Double
        public var upper: Double
        public var counts: [Int]
    }

    /// Time spent in one step (every attempt).
    public struct StepTime: Sendable, Equatable {
        public var step: String
        public var attempts: Int
        public var totalSeconds: Double
        public var meanSeconds: Double
        public var minSeconds: Double
        public var maxSeconds: Double
    }

    public var yield: Yield
    /// Measurements counted (final attempts matching the filter) and how many failed.
    public var measurements: Int
    public var failedMeasurements: Int
    public var paretoByMeasurement: [ParetoEntry]
    public var paretoByStep: [ParetoEntry]
    public var paretoByPin: [ParetoEntry]
    public var paretoByStation: [ParetoEntry]
    /// Worst Cpk first (undefined last).
    public var capability: [Capability]
    /// Most total time first.
    public var stepTimes: [StepTime]
    /// Files that could not be read, with why; the rest is counted.
    public var problems: [String]
    /// Files read (after partition pruning) and runs counted.
    public var filesRead: Int

    /// Bins of every capability histogram.
    public static let histogramBins = 20

    /// The columns metrics read from each run file.
    static let runColumns = [
        "run_id", "dut_serial", "dut_part_number", "part_id", "station_id", "test_phase", "run_outcome", "run_started_at",
    ]
    static let rowColumns = [
        "record_type", "is_final_attempt", "step_path", "step_name", "step_retry", "step_started_at", "step_ended_at",
        "vector_index", "vector_retry", "measurement_name", "measurement_value", "measurement_unit", "measurement_outcome",
        "limit_low", "limit_high", "dut_pin", "measured_at",
    ]

    /// Computes the metrics of the runs in `lake` that match `filter`, reading files on
    /// `threads` threads.
    public static func compute(lake: RunLake, filter: MetricsFilter = MetricsFilter(), threads: Int = 2) -> RunMetrics {
        let files = lake.files.filter { filter.mayMatch(partitions: $0.partitions) }
        let stripes = max(1, min(threads, files.count))
        let partials = StripedWork.run(stripes: stripes) { stripe in
            var scan = Scan()
            var index = stripe
            while index < files.count {
                scan.add(file: files[index], fileIndex: index, filter: filter)
                index += stripes
            }
            return scan
        }
        var total = Scan()
        for partial in partials { total.merge(partial) }
        return total.finish(filesRead: files.count)
    }
}

// MARK: - Scanning files

extension RunMetrics {
    /// A run's identity, for yields.
    struct RunRecord {
        var runID: String
        var serial: String
        var station: String
        var outcome: String
        var startedAt: Int64
    }

    struct CapabilityKey: Hashable {
        var step: String
        var measurement: String
        var unit: String?
        var low: Double?
        var high: Double?
    }

    /// A value with its order key: `measured_at`, then the run's id, then the row. The run is
    /// its index in the scan's `runs` (no String to retain per sample: a lake holds millions).
    struct Sample {
        var measuredAt: Int64
        var run: Int32
        var row: Int32
        var value: Double
    }

    struct CapabilityData {
        var samples: [Sample] = []
        var failures = 0
    }

    /// What the files of one thread hold.
    struct Scan {
        var runs: [RunRecord] = []
        var measurements = 0
        var failed = 0
        var byMeasurement: [String: Int] = [:]
        var byStep: [String: Int] = [:]
        var byPin: [String: Int] = [:]
        var byStation: [String: Int] = [:]
        var capability: [CapabilityKey: CapabilityData] = [:]
        var stepTimes: [String: [Double]] = [:]
        var problems: [String] = []

        mutating func add(file: RunLake.File, fileIndex: Int, filter: MetricsFilter) {
            do {
                let reader = try ParquetFileReader(path: file.path)
                let head = try RunFileTable.read(path: file.path, columns: RunMetrics.runColumns, reader: reader)
                guard head.rowCount > 0 else { return }
                let runID = head.strings("run_id")[0] ?? file.path
                let serial = head.strings("dut_serial")[0] ?? ""
                let station = head.strings("station_id")[0] ?? file.partitions["station"] ?? ""
                let startedAt = head.timestamps("run_started_at")?[0] ?? 0
                if let part = filter.part, head.strings("part_id")[0] != part, head.strings("dut_part_number")[0] != part { return }
                if let wanted = filter.station, station != wanted { return }
                if let phase = filter.phase, head.strings("test_phase")[0] != phase { return }
                if let from = filter.from, startedAt < from { return }
                if let to = filter.to, startedAt >= to { return }
                if !filter.serialMatches(serial) { return }
                runs.append(RunRecord(
                    runID: runID, serial: serial, station: station, outcome: head.strings("run_outcome")[0] ?? "", startedAt: startedAt))

                let t = try RunFileTable.read(path: file.path, columns: RunMetrics.rowColumns, reader: reader)
                addRows(t, run: Int32(runs.count - 1), station: station, filter: filter)
            } catch {
                problems.append("\(error)")
            }
        }

        mutating func addRows(_ t: RunFileTable, run: Int32, station: String, filter: MetricsFilter) {
            let n = t.rowCount
            let type = t.strings("record_type")
            let isMeasurement = type.matcher("measurement")
            let isStep = type.matcher("step")
            let final = t.bools("is_final_attempt") ?? Self.finalAttempts(t)
            let stepPath = t.strings("step_path")
            let stepName = t.strings("step_name")
            let name = t.strings("measurement_name")
            let outcome = t.strings("measurement_outcome")
            let failedOutcome = outcome.matcher("failed")
            let unit = t.strings("measurement_unit")
            let pin = t.strings("dut_pin")
            let value = t.optionalDoubles("measurement_value")
            let low = t.optionalDoubles("limit_low")
            let high = t.optionalDoubles("limit_high")
            let measuredAt = t.timestamps("measured_at")
            let stepStart = t.timestamps("step_started_at")
            let stepEnd = t.timestamps("step_ended_at")
            func stepMatches(_ row: Int) -> Bool {
                guard let wanted = filter.step else { return true }
                return stepPath[row] == wanted || stepName[row] == wanted
            }
            // Capability groups of this file, keyed by dictionary indices and bit patterns (cheap
            // to hash), merged into `capability` once per group at the end.
            struct LocalKey: Hashable {
                var step: Int32
                var name: Int32
                var unit: Int32
                var low: UInt64
                var high: UInt64
            }
            var local: [LocalKey: Int] = [:]
            var groups: [(key: CapabilityKey, data: CapabilityData)] = []
            let absent = UInt64(0x7FF8_DEAD_0000_0000)
            for row in 0..<n {
                if isMeasurement(row) {
                    guard final[row] ?? true, stepMatches(row) else { continue }
                    if let wanted = filter.measurement, name[row] != wanted { continue }
                    measurements += 1
                    let failedHere = failedOutcome(row)
                    if failedHere {
                        failed += 1
                        byMeasurement[name[row] ?? "", default: 0] += 1
                        byStep[stepPath[row] ?? "", default: 0] += 1
                        byPin[pin[row] ?? "(no pin)", default: 0] += 1
                        byStation[station, default: 0] += 1
                    }
                    let lo = low?[row]
                    let hi = high?[row]
                    guard lo != nil || hi != nil, let v = value?[row], v.isFinite else { continue }
                    let localKey = LocalKey(
                        step: stepPath.indices[row], name: name.indices[row], unit: unit.indices[row],
                        low: lo?.bitPattern ?? absent, high: hi?.bitPattern ?? absent)
                    let group: Int
                    if let known = local[localKey] {
                        group = known
                    } else {
                        group = groups.count
                        local[localKey] = group
                        groups.append((CapabilityKey(step: stepPath[row] ?? "", measurement: name[row] ?? "", unit: unit[row], low: lo, high: hi), CapabilityData()))
                    }
                    groups[group].data.samples.append(Sample(measuredAt: measuredAt?[row] ?? 0, run: run, row: Int32(row), value: v))
                    if failedHere { groups[group].data.failures += 1 }
                } else if isStep(row) {
                    guard stepMatches(row), filter.measurement == nil,
                        let start = stepStart?[row], let end = stepEnd?[row]
                    else { continue }
                    stepTimes[stepPath[row] ?? "", default: []].append(Double(end - start) / 1e6)
                }
            }
            for (key, data) in groups {
                capability[key, default: CapabilityData()].samples += data.samples
                capability[key]!.failures += data.failures
            }
        }

        /// `is_final_attempt` for files written before the column existed: a vector row (and its
        /// measurements) is final when no attempt of the same (step_path, vector_index) has a
        /// higher vector_retry; a step row (and its step-scope measurements) likewise by
        /// step_path and step_retry.
        static func finalAttempts(_ t: RunFileTable) -> OptionalColumn<Bool> {
            let n = t.rowCount
            let path = t.strings("step_path")
            let vector = t.ints("vector_index")
            let vectorRetry = t.ints("vector_retry")
            let stepRetry = t.ints("step_retry")
            struct Key: Hashable {
                var path: Int32
                var vector: Int64?
            }
            var highest: [Key: Int64] = [:]
            func key(_ row: Int) -> (Key, Int64?) {
                let v = vector?[row]
                return (Key(path: path.indices[row], vector: v), v == nil ? stepRetry?[row] : vectorRetry?[row])
            }
            for row in 0..<n {
                let (k, retry) = key(row)
                if let retry { highest[k] = max(highest[k] ?? retry, retry) }
            }
            var out = [Bool](repeating: true, count: n)
            for row in 0..<n {
                let (k, retry) = key(row)
                if let retry, let top = highest[k], retry < top { out[row] = false }
            }
            return OptionalColumn(values: out, validity: nil)
        }

        mutating func merge(_ other: Scan) {
            // The other scan's samples name its runs by their index in its `runs`.
            let offset = Int32(runs.count)
            runs += other.runs
            measurements += other.measurements
            failed += other.failed
            byMeasurement.merge(other.byMeasurement, uniquingKeysWith: +)
            byStep.merge(other.byStep, uniquingKeysWith: +)
            byPin.merge(other.byPin, uniquingKeysWith: +)
            byStation.merge(other.byStation, uniquingKeysWith: +)
            for (key, data) in other.capability {
                capability[key, default: CapabilityData()].samples += data.samples.lazy.map { sample in
                    var moved = sample
                    moved.run += offset
                    return moved
                }
                capability[key]!.failures += data.failures
            }
            stepTimes.merge(other.stepTimes, uniquingKeysWith: +)
            problems += other.problems
        }

        func finish(filesRead: Int) -> RunMetrics {
            let runIDs = runs.map(\.runID)
            return RunMetrics(
                yield: Self.yield(runs), measurements: measurements, failedMeasurements: failed,
                paretoByMeasurement: Self.pareto(byMeasurement), paretoByStep: Self.pareto(byStep),
                paretoByPin: Self.pareto(byPin), paretoByStation: Self.pareto(byStation),
                capability: capability.map { Self.capability($0.key, $0.value, runIDs: runIDs) }.sorted(by: Self.worseFirst),
                stepTimes: stepTimes.map { Self.stepTime($0.key, $0.value) }.sorted {
                    ($0.totalSeconds, $1.step) > ($1.totalSeconds, $0.step)
                },
                problems: problems.sorted(), filesRead: filesRead)
        }

        static func yield(_ runs: [RunRecord]) -> Yield {
            var units: [String: [RunRecord]] = [:]
            for run in runs { units[run.serial.isEmpty ? "run:" + run.runID : run.serial, default: []].append(run) }
            var y = Yield(
                runs: runs.count, passedRuns: runs.filter { $0.outcome == "passed" }.count,
                failedRuns: runs.filter { $0.outcome == "failed" }.count, otherRuns: 0, units: units.count, firstPassUnits: 0,
                finalPassUnits: 0, retestedUnits: 0)
            y.otherRuns = y.runs - y.passedRuns - y.failedRuns
            for (_, list) in units {
                let ordered = list.sorted { ($0.startedAt, $0.runID) < ($1.startedAt, $1.runID) }
                if ordered.first?.outcome == "passed" { y.firstPassUnits += 1 }
                if ordered.last?.outcome == "passed" { y.finalPassUnits += 1 }
                if ordered.count > 1 { y.retestedUnits += 1 }
            }
            return y
        }

        static func pareto(_ counts: [String: Int]) -> [ParetoEntry] {
            let total = counts.values.reduce(0, +)
            var running = 0
            return counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { key, count in
                running += count
                return ParetoEntry(
                    key: key, failures: count, share: Double(count) / Double(max(total, 1)),
                    cumulative: Double(running) / Double(max(total, 1)))
            }
        }

        static func stepTime(_ step: String, _ seconds: [Double]) -> StepTime {
            let total = seconds.reduce(0, +)
            return StepTime(
                step: step, attempts: seconds.count, totalSeconds: total, meanSeconds: total / Double(seconds.count),
                minSeconds: seconds.min() ?? 0, maxSeconds: seconds.max() ?? 0)
        }

        static func worseFirst(_ a: Capability, _ b: Capability) -> Bool {
            switch (a.cpk, b.cpk) {
            case (let x?, let y?) where x != y: return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return (a.step, a.measurement, a.low ?? -.infinity) < (b.step, b.measurement, b.low ?? -.infinity)
            }
        }

        /// `runIDs[i]`: the id of the run a sample with `run == i` came from.
        static func capability(_ key: CapabilityKey, _ data: CapabilityData, runIDs: [String]) -> Capability {
            let samples = data.samples.sorted { a, b in
                if a.measuredAt != b.measuredAt { return a.measuredAt < b.measuredAt }
                if a.run != b.run {
                    let x = runIDs[Int(a.run)], y = runIDs[Int(b.run)]
                    if x != y { return x < y }
                }
                return a.row < b.row
            }
            let values = samples.map(\.value)
            let stats = CapabilityStatistics(values: values, low: key.low, high: key.high)
            return Capability(
                step: key.step, measurement: key.measurement, unit: key.unit, low: key.low, high: key.high, count: values.count,
                failures: data.failures, mean: stats.mean, sigma: stats.sigma, sigmaWithin: stats.sigmaWithin,
                min: values.min() ?? .nan, max: values.max() ?? .nan, cp: stats.cp, cpk: stats.cpk, pp: stats.pp, ppk: stats.ppk,
                histogram: CapabilityStatistics.histogram(values, low: key.low, high: key.high, bins: RunMetrics.histogramBins))
        }
    }
}
