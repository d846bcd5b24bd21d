import Foundation
import Hummingbird
import Litmus
import LitmusAnalytics

/// One run read back from the event log: its page (``LitmusAnalytics/RunReport``, the report
/// of `litmus runs report`, with the screen's links around it) and its downloads.
enum RunView {
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

    /// The run page: the run's report with links back to the station and the history, and to
    /// its downloads. The report is self-contained (inline CSS and SVG, no script), so it is
    /// sent with a policy that allows its inline styles and nothing else.
    static func page(dataDir: String, id: String) throws -> Response {
        let run = try run(dataDir: dataDir, id: id)
        let base = "/runs/\(run.runID.uuidString.lowercased())/download/"
        let links = [
            RunReport.Link(label: "Station", href: "/"), RunReport.Link(label: "History", href: "/history"),
            RunReport.Link(label: "Download Parquet", href: base + "parquet"), RunReport.Link(label: "Download CSV", href: base + "csv"),
            RunReport.Link(label: "Download JSON", href: base + "json"),
        ]
        let html = RunReport(run: run, dataDir: dataDir).html(.init(links: links))
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
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
