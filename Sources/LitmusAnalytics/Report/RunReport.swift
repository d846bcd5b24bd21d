import Foundation
import Litmus
import LitmusJSON

/// A human-readable report of one run: one self-contained HTML file (inline CSS and SVG, no
/// script, no external asset) that a browser opens, prints or saves as PDF.
///
/// It reads the run's table, the content of its Parquet file (``RunTable``): the identity
/// (DUT, part, station, operator, phase, git), the verdict, each step with its vectors and
/// measurements (limits, verdict colours, retries), traceability (pin, fixture connection,
/// instrument, channel, and the instrument's calibration from the station inventory), mocks,
/// diagnostics, a chart of each measurement against its limits across the sweep, and plots of
/// the channel data the run's observations refer to (`channel://` URIs), decimated to min/max
/// per pixel.
///
/// ```swift
/// let report = try RunReport.load(dataDir: "data", runID: "3f2a9c1b")
/// try report.html().write(toFile: "run.html", atomically: true, encoding: .utf8)
///
/// // or from a run already at hand (the operator screen's run page):
/// let page = RunReport(run: catalog.runs[id]!, dataDir: "data").html(.init(links: downloads))
/// ```
public struct RunReport: Sendable {
    /// Resolves a `channel://` URI to its samples (``ChannelStore/read(dataDir:uri:tolerateCorruption:)``
    /// in a data directory, or anything else that holds them).
    public typealias ChannelReader = @Sendable (ChannelURI) throws -> ChannelData

    /// What goes into the HTML, and how big it gets.
    public struct Options: Sendable {
        /// The page title; nil for `Run <serial> <verdict>`.
        public var title: String?
        /// Links shown under the title (downloads of the run's Parquet, CSV, JSON...).
        public var links: [Link]
        /// The width of each chart in pixels (its height is fixed).
        public var chartWidth: Int
        /// At most this many measurement charts (one per step and measurement name), in run order.
        public var maxCharts: Int
        /// A histogram beside a measurement's chart when it has at least this many values.
        public var histogramMinimum: Int
        /// At most this many channel plots.
        public var maxChannelPlots: Int
        /// Per channel, at most this many waveforms or arrays are drawn.
        public var maxTracesPerChannel: Int
        /// The time printed as "generated"; nil for now.
        public var generatedAt: Timestamp?
        /// At most this many measurement rows are listed (then failures only, up to twice as
        /// many), so a huge run still gives a page a browser opens; the charts show every value.
        public var maxMeasurementRows: Int

        public init(
            title: String? = nil, links: [Link] = [], chartWidth: Int = 720, maxCharts: Int = 200,
            histogramMinimum: Int = 20, maxChannelPlots: Int = 24, maxTracesPerChannel: Int = 4,
            generatedAt: Timestamp? = nil, maxMeasurementRows: Int = 20_000
        ) {
            self.title = title
            self.links = links
            self.chartWidth = chartWidth
            self.maxCharts = maxCharts
            self.histogramMinimum = histogramMinimum
            self.maxChannelPlots = maxChannelPlots
            self.maxTracesPerChannel = maxTracesPerChannel
            self.generatedAt = generatedAt
            self.maxMeasurementRows = max(0, maxMeasurementRows)
        }
    }

    /// A link in the report's header.
    public struct Link: Sendable {
        public var label: String
        public var href: String
        public init(label: String, href: String) {
            self.label = label
            self.href = href
        }
    }

    /// The run's table (its Parquet file's content and metadata).
    public let table: RunTable
    let channels: ChannelReader?
    let content: Content

    /// A report of the run in `table`; `channels` resolves the channel data its observations
    /// refer to (nil: channel data is listed, not plotted).
    public init(table: RunTable, channels: ChannelReader? = nil) {
        self.table = table
        self.channels = channels
        self.content = Content(table)
    }

    /// A report of a run read from the event log (``RunCatalog``), with channel data from
    /// `dataDir` when given.
    public init(run: RunAccumulator, dataDir: String?) {
        self.init(table: RunTable(run: run), channels: dataDir.map(Self.channelReader(dataDir:)))
    }

    /// A report of a run read from the event log, with channel data from `channels`.
    public init(run: RunAccumulator, channels: ChannelReader?) {
        self.init(table: RunTable(run: run), channels: channels)
    }

    /// Reads channel data from a data directory, tolerating damage (the report then says what
    /// was skipped).
    public static func channelReader(dataDir: String) -> ChannelReader {
        { uri in try ChannelStore.read(dataDir: dataDir, uri: uri, tolerateCorruption: true) }
    }

    /// The report of the run whose id is or starts with `runID` (at least 4 characters) in
    /// `dataDir`.
    ///
    /// - Throws: ``RunReportError`` when the data directory has no such run, or several.
    public static func load(dataDir: String, runID: String) throws -> RunReport {
        guard FileManager.default.fileExists(atPath: dataDir + "/events") else {
            throw RunReportError(
                "\(dataDir): no event log here (no \(dataDir)/events)",
                fix: "give the data directory the runs were written to with --data-dir, or set LITMUS_DATA_DIR")
        }
        let catalog = try RunCatalog(dataDir: dataDir)
        let run: RunAccumulator
        do { run = try catalog.run(matching: runID) } catch {
            throw RunReportError("\(dataDir): \(error)", fix: "`litmus runs list --data-dir \(dataDir)` lists the run ids")
        }
        return RunReport(run: run, dataDir: dataDir)
    }

    /// The run id.
    public var runID: String { content.run["run_id"] ?? "" }
    /// The run's outcome (`passed`, `failed`, ... `aborted`).
    public var outcome: String { content.run["run_outcome"] ?? "aborted" }
    /// The number of measurement rows (every attempt).
    public var measurementCount: Int { content.measurementRows }

    /// Writes ``html(_:)`` to `path` (atomically).
    public func write(to path: String, options: Options = Options()) throws {
        do {
            try Data(html(options).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw RunReportError("cannot write the report to \(path): \(error.localizedDescription)", fix: "choose a writable path")
        }
    }
}

/// Why a report could not be made: what went wrong and what to do.
public struct RunReportError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var fix: String

    public init(_ message: String, fix: String) {
        self.message = message
        self.fix = fix
    }

    public var description: String { "\(message). Fix: \(fix)" }
}

// MARK: - The run's content, read from its table

extension RunReport {
    /// A string column read from its dictionary form.
    struct Strings {
        let values: [String]
        let rows: [Int32]
        init(_ c: RunTable.Column?) {
            if let c, c.type == .string {
                values = c.stringValues
                rows = c.stringIndices
            } else {
                values = []
                rows = []
            }
        }
        subscript(row: Int) -> String? {
            guard row < rows.count else { return nil }
            let k = rows[row]
            return k >= 0 ? values[Int(k)] : nil
        }
    }

    /// A double, int64 or timestamp column as doubles / integers with validity.
    struct Numbers {
        let column: RunTable.Column?
        init(_ c: RunTable.Column?) { column = c }
        func double(_ row: Int) -> Double? {
            guard let c = column, row < c.valid.count, c.valid[row] else { return nil }
            switch c.type {
            case .double: return c.doubles[row]
            case .int64, .timestamp: return Double(c.ints[row])
            default: return nil
            }
        }
        func int(_ row: Int) -> Int64? {
            guard let c = column, row < c.valid.count, c.valid[row] else { return nil }
            switch c.type {
            case .int64, .timestamp: return c.ints[row]
            case .double: return Int64(exactly: c.doubles[row])
            default: return nil
            }
        }
        func bool(_ row: Int) -> Bool? {
            guard let c = column, c.type == .bool, row < c.valid.count, c.valid[row] else { return nil }
            return c.bools[row]
        }
    }

    /// A vector attempt and its measurement rows.
    struct VectorAttempt {
        var row: Int
        var index: Int64
        var retry: Int64
        var isFinal: Bool
        var measurements: [Int] = []
    }

    /// A step attempt: its step-scope measurement rows, its vector attempts.
    struct StepAttempt {
        var row: Int
        var path: String
        var retry: Int64
        var isFinal: Bool
        var measurements: [Int] = []
        var vectors: [VectorAttempt] = []
    }

    /// A channel URI an observation recorded, and where.
    struct ChannelReference {
        var uri: String
        var column: String
        var row: Int
    }

    /// Everything the HTML shows, found in one pass over the table.
    struct Content: Sendable {
        /// The run row's string columns (and `run_id`).
        var run: [String: String] = [:]
        var steps: [StepAttempt] = []
        var measurementRows = 0
        var failedFinal = 0
        var passedFinal = 0
        var retriedVectors = 0
        var channelReferences: [ChannelReference] = []
        /// Parsed metadata.
        var custom: [(String, String)] = []
        var instruments: [[String: JSONValue]] = []
        var mockPatches: [[String: JSONValue]] = []
        var mocked = false
        var diagnostics: [[String: JSONValue]] = []
        var units: [String: String] = [:]

        init(_ table: RunTable) {
            let type = Strings(table.column("record_type"))
            let final = Numbers(table.column("is_final_attempt"))
            let stepPath = Strings(table.column("step_path"))
            let stepRetry = Numbers(table.column("step_retry"))
            let vectorIndex = Numbers(table.column("vector_index"))
            let vectorRetry = Numbers(table.column("vector_retry"))
            let outcome = Strings(table.column("measurement_outcome"))
            for c in table.columns where c.type == .string && !c.name.hasPrefix("in_") && !c.name.hasPrefix("out_") {
                if let v = Strings(c)[0] { run[c.name] = v }
            }
            for row in 0..<table.rowCount {
                switch type[row] {
                case "step":
                    steps.append(
                        StepAttempt(
                            row: row, path: stepPath[row] ?? "", retry: stepRetry.int(row) ?? 0,
                            isFinal: final.bool(row) ?? true))
                case "vector":
                    if steps.isEmpty { steps.append(StepAttempt(row: row, path: "", retry: 0, isFinal: true)) }
                    let v = VectorAttempt(
                        row: row, index: vectorIndex.int(row) ?? 0, retry: vectorRetry.int(row) ?? 0,
                        isFinal: final.bool(row) ?? true)
                    if v.retry > 0 { retriedVectors += 1 }
                    steps[steps.count - 1].vectors.append(v)
                case "measurement":
                    measurementRows += 1
                    if steps.isEmpty { steps.append(StepAttempt(row: row, path: "", retry: 0, isFinal: true)) }
                    let s = steps.count - 1
                    if vectorIndex.int(row) != nil, !steps[s].vectors.isEmpty {
                        steps[s].vectors[steps[s].vectors.count - 1].measurements.append(row)
                    } else {
                        steps[s].measurements.append(row)
                    }
                    if final.bool(row) ?? true {
                        switch outcome[row] {
                        case "passed": passedFinal += 1
                        case "failed", "errored": failedFinal += 1
                        default: break
                        }
                    }
                default:
                    break
                }
            }
            // Channel data: every distinct channel:// value of an out_ column, where first seen.
            var seen = Set<String>()
            for c in table.columns where c.name.hasPrefix("out_") && c.type == .string {
                let s = Strings(c)
                let wanted = s.values.map { $0.hasPrefix("channel://") }
                guard wanted.contains(true) else { continue }
                var firstRow = [Int](repeating: -1, count: s.values.count)
                for (row, k) in s.rows.enumerated() where k >= 0 && firstRow[Int(k)] < 0 { firstRow[Int(k)] = row }
                for (k, value) in s.values.enumerated() where wanted[k] && firstRow[k] >= 0 && !seen.contains(value) {
                    seen.insert(value)
                    channelReferences.append(ChannelReference(uri: value, column: c.name, row: firstRow[k]))
                }
            }
            channelReferences.sort { $0.row < $1.row }

            for (key, value) in table.metadata {
                let parsed = try? JSONValue.parse(Array(value.utf8))
                switch key {
                case "litmus.run":
                    if let meta = parsed?["metadata"]?.objectValue {
                        custom = meta.map { ($0.key, RunTable.text($0.value) ?? "") }.sorted { $0.0 < $1.0 }
                    }
                case "litmus.instruments": instruments = Self.objects(parsed)
                case "litmus.mock_patches": mockPatches = Self.objects(parsed)
                case "litmus.mocked": mocked = value == "true"
                case "litmus.diagnostics": diagnostics = Self.objects(parsed)
                case "litmus.units":
                    for (k, v) in parsed?.objectValue ?? [] { if let u = v.stringValue { units[k] = u } }
                default: break
                }
            }
        }

        static func objects(_ value: JSONValue?) -> [[String: JSONValue]] {
            (value?.arrayValue ?? []).compactMap { item in
                item.objectValue.map { Dictionary($0.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }) }
            }
        }
    }
}
