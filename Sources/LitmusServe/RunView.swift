import Foundation
import Hummingbird
import Litmus
import LitmusJSON

/// One run read back from the event log, for the run page and its downloads.
///
/// TODO(RunReport): the run page's full rendering (steps, vectors, traceability, charts across
/// the sweep, decimated waveform plots) is `LitmusAnalytics.RunReport` of issue 18; until it is
/// merged, the page draws the run's table from ``json(dataDir:id:)`` with a small script.
enum RunView {
    /// The most rows of a run sent to the page (the downloads have all of them).
    static let rowLimit = 20_000

    /// The run whose id is `id` (a whole UUID).
    static func run(dataDir: String, id: String) throws -> RunAccumulator {
        guard let uuid = UUID(uuidString: id) else {
            throw ServeError(.invalid, "\(id.prefix(40)) is not a run id (a UUID like 0f8c2a1e-...)")
        }
        let catalog: RunCatalog
        do { catalog = try RunCatalog(dataDir: dataDir) } catch { throw ServeError(.invalid, "cannot read the runs of \(dataDir): \(error)") }
        guard let run = catalog.runs[uuid] else { throw ServeError(.notFound, "no run \(id.lowercased()) in \(dataDir)") }
        return run
    }

    /// The run as JSON: identity, instruments, mocks, diagnostics, and its table (column names
    /// and rows).
    static func json(dataDir: String, id: String) throws -> String {
        let run = try run(dataDir: dataDir, id: id)
        let table = RunTable(run: run)
        var j = JSONBuffer()
        j.beginObject()
        j.field("run_id", run.runID.uuidString.lowercased())
        j.field("serial", run.started?.dutSerial)
        j.field("part", run.started?.dutPartNumber ?? run.started?.partID)
        j.field("station", run.started?.stationID)
        j.field("phase", run.started?.testPhase)
        j.field("operator", run.started?.operatorID)
        j.field("started_at", run.startedAt?.iso8601)
        j.field("ended_at", run.endedAt?.iso8601)
        j.field("outcome", run.ended?.outcome.rawValue ?? "running")
        j.field("reason", run.ended?.reason)
        j.key(static: "instruments")
        j.beginArray()
        for i in run.instruments {
            j.beginObject()
            j.field("role", i.role)
            j.field("driver", i.driver)
            j.field("resource", i.resource)
            j.field("mocked", i.mocked)
            j.field("identity", [i.manufacturer, i.model, i.serial, i.firmware].compactMap { $0 }.joined(separator: " ").nilIfEmpty)
            j.field("calibration_due", i.calibrationDue)
            j.endObject()
        }
        j.endArray()
        j.key(static: "mocks")
        j.beginArray()
        for m in run.mockPatches { j.value("\(m.role).\(m.operation): \(m.behavior) (\(m.scope))") }
        j.endArray()
        j.key(static: "diagnostics")
        j.beginArray()
        for d in run.diagnostics { j.value(d.description) }
        j.endArray()
        j.key(static: "columns")
        j.beginArray()
        for c in table.columns { j.value(c.name) }
        j.endArray()
        j.key(static: "rows")
        j.beginArray()
        for row in 0..<min(table.rowCount, rowLimit) {
            j.beginArray()
            for c in table.columns {
                if c.valid[row] { j.value(c.json(row)) } else { j.null() }
            }
            j.endArray()
        }
        j.endArray()
        j.field("row_count", table.rowCount)
        j.endObject()
        return String(decoding: j.bytes, as: UTF8.self)
    }

    /// The run's data as a file: `parquet` (its run file, written now if it was not yet),
    /// `csv` or `json` (JSON Lines), as `litmus runs export` writes them.
    static func download(dataDir: String, id: String, format: String) throws -> Response {
        let run = try run(dataDir: dataDir, id: id)
        let name = "\(RunMaterializer.sanitize(run.started?.dutSerial ?? "run"))-\(run.runID.uuidString.lowercased().prefix(8))"
        let body: ByteBuffer
        let type: String
        switch format {
        case "parquet":
            guard run.isEnded else { throw ServeError(.conflict, "the run has not ended: its Parquet file is written at its end") }
            let path: String
            do { path = try RunMaterializer.materialize(run, dataDir: dataDir).path } catch {
                throw ServeError(.invalid, "cannot write the run's Parquet file: \(error)")
            }
            guard let real = ServeFiles.inside(path, folder: dataDir), let data = FileManager.default.contents(atPath: real) else {
                throw ServeError(.notFound, "the run's Parquet file is not inside the data folder \(dataDir)")
            }
            body = ByteBuffer(bytes: data)
            type = "application/vnd.apache.parquet"
        case "csv":
            body = ByteBuffer(string: RunTable(run: run).csv())
            type = "text/csv; charset=utf-8"
        case "json":
            body = ByteBuffer(string: RunTable(run: run).jsonLines())
            type = "application/x-ndjson; charset=utf-8"
        default:
            throw ServeError(.notFound, "no download \(format.prefix(20)): parquet, csv or json")
        }
        let ext = format == "json" ? "jsonl" : format
        return Response(
            status: .ok,
            headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name).\(ext)\"", .cacheControl: "no-store"],
            body: .init(byteBuffer: body))
    }
}
