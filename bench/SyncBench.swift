// Fleet sync: upload throughput of a day of runs to an S3 API server on loopback (moto's
// standalone server from .venv-sync), `litmus sync` against `aws s3 sync` (the AWS CLI, same
// venv) of the same folder to the same server, interleaved, best of the rounds. Both start as
// processes, both upload every file to a fresh prefix; a second pass with nothing new is timed too.
import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#endif

func runSyncBenchmark() {
    let runs = 400, steps = 5, perStep = 20, rounds = 3
    print("Fleet sync: a day of runs (\(runs) runs x \(steps) steps x \(perStep) measurements: run files and event logs) to a loopback S3 server (moto), best of \(rounds)")
    var venv: String?
    var url = URL(fileURLWithPath: benchDirectory())
    for _ in 0..<5 where venv == nil {
        let candidate = url.appendingPathComponent(".venv-sync").path
        if FileManager.default.isExecutableFile(atPath: candidate + "/bin/moto_server") { venv = candidate }
        url.deleteLastPathComponent()
    }
    guard let venv, FileManager.default.isExecutableFile(atPath: venv + "/bin/aws") else {
        print("  skipped: .venv-sync (moto, awscli) is not installed: `make bench` or scripts/setup.sh installs it")
        return
    }
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-sync-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    var server: Process?
    defer {
        if let server, server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
    }
    do {
        // The day: real runs written by the harness (event log, then Parquet on disk).
        let data = root + "/data"
        let names = (0..<perStep).map { "m\($0)" }
        let limits = Dictionary(uniqueKeysWithValues: try names.map { ($0, try Limit.between(3.2, 3.4, unit: "V")) })
        for i in 0..<runs {
            let identity = RunIdentity(
                dutSerial: "SN\(i)", stationID: "bench", testPhase: "production", gitCommit: "0", gitBranch: "none", gitRemote: "none", git: false)
            let logger = try TestRunLogger(identity, dataDir: data)
            let harness = try TestHarness(logger: logger, stepName: "production", limits: limits)
            for s in 0..<steps {
                try harness.step("step\(s)") { for name in names { try harness.measure(name, 3.3) } }
            }
            try logger.finalize()
            try logger.close()
        }
        var files = 0
        var bytes = 0
        if let e = FileManager.default.enumerator(atPath: data) {
            for case let p as String in e {
                if let a = try? FileManager.default.attributesOfItem(atPath: data + "/" + p), a[.type] as? FileAttributeType == .typeRegular {
                    files += 1
                    bytes += a[.size] as? Int ?? 0
                }
            }
        }

        // The server.
        let port = try benchFreePort()
        let moto = Process()
        moto.executableURL = URL(fileURLWithPath: venv + "/bin/moto_server")
        moto.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        moto.standardOutput = FileHandle.nullDevice
        moto.standardError = FileHandle.nullDevice
        try moto.run()
        server = moto
        let endpoint = "http://127.0.0.1:\(port)"
        setenv("AWS_ACCESS_KEY_ID", "bench", 1)
        setenv("AWS_SECRET_ACCESS_KEY", "bench", 1)
        setenv("AWS_DEFAULT_REGION", "us-east-1", 1)
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1)
        var ready = false
        for _ in 0..<300 where !ready {
            ready = (try? benchCapture(venv + "/bin/aws", ["--endpoint-url", endpoint, "s3", "mb", "s3://bench-day"]))?.status == 0
            if !ready { usleep(100_000) }
        }
        guard ready else { throw BenchError(message: "moto_server did not answer on \(endpoint)") }

        let litmus = benchDirectory() + "/litmus"
        var bestAWS = Double.infinity, bestLitmus = Double.infinity, noopAWS = Double.infinity, noopLitmus = Double.infinity
        for r in 0..<rounds {
            func timed(_ path: String, _ arguments: [String]) throws -> Double {
                let t0 = now()
                let result = try benchCapture(path, arguments)
                guard result.status == 0 else { throw BenchError(message: "\(path) \(arguments.joined(separator: " ")) failed: \(result.output)") }
                return Double(now() - t0) / 1e9
            }
            let aws = [venv + "/bin/aws", "--endpoint-url", endpoint, "s3", "sync", data, "s3://bench-day/aws-\(r)", "--exclude", "sync/*", "--only-show-errors"]
            bestAWS = min(bestAWS, try timed(aws[0], Array(aws.dropFirst())))
            noopAWS = min(noopAWS, try timed(aws[0], Array(aws.dropFirst())))
            let ours = [litmus, "sync", "--to", "s3://bench-day/litmus-\(r)", "--endpoint", endpoint, "--data-dir", data]
            bestLitmus = min(bestLitmus, try timed(ours[0], Array(ours.dropFirst())))
            noopLitmus = min(noopLitmus, try timed(ours[0], Array(ours.dropFirst())))
        }
        let mib = Double(bytes) / 1_048_576
        print(String(format: "  the day: %d files, %.1f MiB", files, mib))
        print(String(format: "  %@ %7.2f s  %7.1f MiB/s  %6.0f files/s", "aws s3 sync (baseline)".padding(toLength: 44, withPad: " ", startingAt: 0) as NSString, bestAWS, mib / bestAWS, Double(files) / bestAWS))
        print(String(format: "  %@ %7.2f s  %7.1f MiB/s  %6.0f files/s  %5.2fx the baseline's throughput",
                     "litmus sync".padding(toLength: 44, withPad: " ", startingAt: 0) as NSString, bestLitmus, mib / bestLitmus, Double(files) / bestLitmus, bestAWS / bestLitmus))
        print(String(format: "  %@ %7.2f s", "aws s3 sync again, nothing new (baseline)".padding(toLength: 44, withPad: " ", startingAt: 0) as NSString, noopAWS))
        print(String(format: "  %@ %7.2f s  %5.2fx the baseline's time", "litmus sync again, nothing new".padding(toLength: 44, withPad: " ", startingAt: 0) as NSString, noopLitmus, noopLitmus / noopAWS))
    } catch {
        print("error: \(error)")
    }
}
