import Foundation
import Testing

@testable import LitmusSync

/// SigV4 against AWS's published example and against botocore's S3 signer (an independent
/// implementation, from the sync test venv) on requests like the ones a sync sends.
@Suite struct SigV4SignerTests {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    @Test func theAWSDocumentationExampleSignsAsPublished() {
        // "GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08" signed on
        // 2015-08-30T12:36:00Z with the documentation's example key.
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", source: "test"),
            region: "us-east-1", service: "iam")
        let headers = signer.sign(
            method: "GET", path: "/", query: [("Action", "ListUsers"), ("Version", "2010-05-08")],
            headers: [("Host", "iam.amazonaws.com"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            payloadSHA256: SigV4Signer.sha256Hex([UInt8]()), date: Date(timeIntervalSince1970: 1_440_938_160), sendsPayloadHash: false)
        let auth = headers.first { $0.0 == "Authorization" }?.1
        #expect(
            auth
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        )
    }

    @Test(arguments: [
        ("PUT", "lake/runs/date=2026-12-07/station=bench_mock/20261207T101010Z_abcd1234_SN 1+2.parquet", [(String, String)](), "session-token-xyz"),
        ("POST", "a/b/c.bin", [("uploads", "")], nil),
        ("PUT", "a/b/c.bin", [("partNumber", "3"), ("uploadId", "2~abc/def+ghi=")], nil),
        ("GET", "", [("uploads", ""), ("prefix", "lake/"), ("key-marker", "lake/x y")], nil),
    ] as [(String, String, [(String, String)], String?)])
    func signaturesMatchBotocoresS3Signer(method: String, key: String, query: [(String, String)], token: String?) throws {
        let python = Self.packageRoot + "/.venv-sync/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: python), "no \(python): run `make test` (scripts/setup.sh makes it)")
        let body = Array("payload \(method) \(key)".utf8)
        let credentials = AWSCredentials(accessKeyID: "AKIATEST", secretAccessKey: "secret/with+chars", sessionToken: token, source: "test")
        let destination = try S3Destination(url: "s3://fleet-data", endpoint: "http://127.0.0.1:9000", region: "eu-west-3")
        let path = destination.path(forKey: key.isEmpty ? nil : key)
        let date = Date(timeIntervalSince1970: 1_765_101_010)
        let signed = SigV4Signer(credentials: credentials, region: "eu-west-3").sign(
            method: method, path: path, query: query,
            headers: [("host", destination.host), ("content-md5", "bWQ1"), ("x-amz-meta-sha256", "abc")],
            payloadSHA256: SigV4Signer.sha256Hex(body), date: date)
        let ours = try #require(signed.first { $0.0 == "Authorization" }?.1)

        let queryText = query.map { $0.1.isEmpty && $0.0 == "uploads" ? "uploads" : SigV4Signer.encode($0.0) + "=" + SigV4Signer.encode($0.1) }
            .joined(separator: "&")
        let url = "http://127.0.0.1:9000" + path + (queryText.isEmpty ? "" : "?" + queryText)
        let program = """
            import sys, datetime, botocore.auth as ba
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            ba.get_current_datetime = lambda: datetime.datetime(2025, 12, 7, 9, 50, 10)
            method, url, body, token = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4] or None
            req = AWSRequest(method=method, url=url, data=body, headers={"Content-MD5": "bWQ1", "x-amz-meta-sha256": "abc"})
            ba.S3SigV4Auth(Credentials("AKIATEST", "secret/with+chars", token), "s3", "eu-west-3").add_auth(req)
            print(req.headers["Authorization"])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", program, method, url, String(decoding: body, as: UTF8.self), token ?? ""]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let theirs = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // botocore signs content-md5, host, the x-amz-* headers: the same set as ours.
        #expect(ours == theirs)
    }

    @Test func keysAreEncodedForThePathAndEverythingElseForTheQuery() {
        #expect(SigV4Signer.encodePath("runs/date=2026-12-07/a b+c~d.parquet") == "runs/date%3D2026-12-07/a%20b%2Bc~d.parquet")
        #expect(SigV4Signer.encode("a/b=c") == "a%2Fb%3Dc")
        #expect(SigV4Signer.encode("é") == "%C3%A9")
    }
}
