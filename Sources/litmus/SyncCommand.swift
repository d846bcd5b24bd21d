import ArgumentParser
import Foundation
import LitmusJSON
import LitmusSync

/// Where and how to sync: shared by `litmus sync` and `litmus runs-daemon --sync-to`.
struct SyncTargetOptions: ParsableArguments {
    @Option(name: .customLong("endpoint"), help: "S3 API endpoint, e.g. http://127.0.0.1:9000 (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, the profile's endpoint_url, else AWS S3).")
    var endpoint: String?
    @Option(help: "Region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region, else us-east-1).")
    var region: String?
    @Option(help: "Profile of ~/.aws/credentials and ~/.aws/config (default: $AWS_PROFILE, else default).")
    var profile: String?
    @Flag(help: "Address the bucket in the path (default with --endpoint) or as a host name (default on AWS).")
    var addressing: AddressingFlag?
    @Option(help: "Files uploaded at once.")
    var concurrency = 8
    @Option(help: "Files larger than this many MiB go in multipart uploads.")
    var multipartThreshold = 16
    @Option(help: "Part size of multipart uploads, MiB (at least 5).")
    var partSize = 8
    @Option(help: "Attempts per request before giving up (retries back off on 5xx, timeouts, dropped connections).")
    var attempts = 8
    @Option(help: "Seconds to wait for the next bytes of a reply before retrying.")
    var readTimeout = 30.0

    enum AddressingFlag: String, EnumerableFlag {
        case pathStyle, virtualHosted
    }

    /// The syncer for `url`, credentials resolved the way the AWS tools resolve them.
    func makeSync(url: String, dataDir: String) throws -> LakeSync {
        let settings = try AWSSettings.resolve(profile: profile, region: region, endpoint: endpoint)
        let destination = try S3Destination(
            url: url, endpoint: settings.endpoint, region: settings.region,
            addressing: addressing.map { $0 == .pathStyle ? .path : .virtualHosted })
        var clientOptions = S3Client.Options()
        clientOptions.attempts = max(1, attempts)
        clientOptions.readTimeout = readTimeout
        let client = try S3Client(destination: destination, credentials: settings.credentials, caBundle: settings.caBundle, options: clientOptions)
        var options = LakeSync.Options()
        options.concurrency = max(1, concurrency)
        options.multipartThreshold = Int64(max(0, multipartThreshold)) << 20
        options.partSize = Int64(max(1, partSize)) << 20
        return try LakeSync(dataDir: dataDir, destination: destination, client: client, options: options)
    }
}

/// `litmus sync --to s3://bucket/prefix`
struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Upload the data directory's finished runs, event logs and channel data to S3-compatible storage.",
        discussion: """
            Keys keep the Hive layout (<prefix>/runs/date=…/station=…/…parquet), so DuckDB, Spark, Trino or Athena \
            read every station's runs with read_parquet('s3://bucket/prefix/runs/**/*.parquet', hive_partitioning=true). \
            Each upload is checked (Content-MD5, ETag, x-amz-meta-sha256) before it is recorded in the cursor \
            <data>/sync/<destination>.jsonl; an interrupted sync resumes with no file missing or sent twice. \
            Nothing local is deleted. Credentials come from the environment or ~/.aws (never printed).
            """)
    @Option(help: "Destination, s3://bucket[/prefix].") var to: String
    @OptionGroup var data: DataDirOption
    @OptionGroup var target: SyncTargetOptions
    @Flag(help: "Keep syncing every --interval seconds until Ctrl-C.") var watch = false
    @Option(help: "Seconds between passes with --watch.") var interval: Double = 10
    @Flag(help: "Print the pass's report as JSON.") var json = false

    func run() throws {
        let sync: LakeSync
        do {
            sync = try target.makeSync(url: to, dataDir: data.path)
        } catch let e as SyncError {
            printError("error: \(e)")
            throw ExitCode(2)
        }
        if !watch {
            let report = try pass(sync)
            if !report.succeeded { throw ExitCode.failure }
            return
        }
        print("syncing \(data.path) to \(sync.destination) every \(interval) s (Ctrl-C to stop)")
        while true {
            _ = try? pass(sync)
            Thread.sleep(forTimeInterval: interval)
        }
    }

    private func pass(_ sync: LakeSync) throws -> LakeSync.Report {
        let report: LakeSync.Report
        do {
            report = try sync.syncOnce()
        } catch let e as SyncError {
            printError("error: \(e)")
            throw ExitCode.failure
        }
        SyncCommand.show(report, json: json, verbose: !watch)
        return report
    }

    static func show(_ report: LakeSync.Report, json: Bool, verbose: Bool) {
        for w in report.warnings { printError("warning: \(w)") }
        for f in report.failures { printError("failed: \(f)") }
        if json {
            var o = "{\"uploaded\":[" + report.uploaded.map { JSONText.quoted($0) }.joined(separator: ",") + "]"
            o += ",\"found_in_bucket\":[" + report.foundInBucket.map { JSONText.quoted($0) }.joined(separator: ",") + "]"
            o += ",\"up_to_date\":\(report.upToDate),\"bytes_uploaded\":\(report.bytesUploaded),\"aborted_multipart\":\(report.abortedMultipart)"
            o += ",\"retries\":\(report.retries),\"failures\":[" + report.failures.map { JSONText.quoted($0) }.joined(separator: ",") + "]"
            o += ",\"seconds\":\(report.seconds)}"
            Swift.print(o)
            return
        }
        if verbose || !report.uploaded.isEmpty || !report.failures.isEmpty { Swift.print(report) }
    }
}
