import Foundation
import Testing

@testable import LitmusSync

/// Credentials, region and endpoint resolved the way the AWS tools resolve them, from real
/// files in a temporary home.
@Suite struct AWSSettingsTests {
    let home: String

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-aws-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: home + "/.aws/" + name, atomically: true, encoding: .utf8)
    }

    @Test func theEnvironmentWinsUnlessAProfileIsNamed() throws {
        try write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n[ci]\naws_access_key_id=CIKEY\naws_secret_access_key=cisecret\n")
        let env = ["HOME": home, "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "tok"]
        let fromEnv = try AWSSettings.resolve(environment: env)
        #expect(fromEnv.credentials.accessKeyID == "ENVKEY" && fromEnv.credentials.sessionToken == "tok" && fromEnv.credentials.source == "environment")
        let named = try AWSSettings.resolve(profile: "ci", environment: env)
        #expect(named.credentials.accessKeyID == "CIKEY" && named.credentials.secretAccessKey == "cisecret")
        let viaVariable = try AWSSettings.resolve(environment: ["HOME": home, "AWS_PROFILE": "ci"])
        #expect(viaVariable.credentials.accessKeyID == "CIKEY")
        let fallback = try AWSSettings.resolve(environment: ["HOME": home])
        #expect(fallback.credentials.accessKeyID == "FILEKEY")
    }

    @Test func regionEndpointAndKeysComeFromTheConfigFileProfile() throws {
        try write("config", """
            [default]
            region = eu-central-1
            [profile minio]
            region = us-west-2
            endpoint_url = http://10.0.0.5:9000
            aws_access_key_id = MINIOKEY
            aws_secret_access_key = miniosecret
            s3 =
              addressing_style = path
            """)
        let s = try AWSSettings.resolve(profile: "minio", environment: ["HOME": home])
        #expect(s.region == "us-west-2" && s.endpoint == "http://10.0.0.5:9000" && s.credentials.accessKeyID == "MINIOKEY")
        #expect(s.credentials.source.hasSuffix(".aws/config [profile minio]"))
        let overridden = try AWSSettings.resolve(
            profile: "minio", region: "ap-south-1",
            environment: ["HOME": home, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"])
        #expect(overridden.region == "ap-south-1" && overridden.endpoint == "http://127.0.0.1:1")
    }

    @Test func noCredentialsSaysWhereItLookedAndNeverShowsASecret() throws {
        try write("credentials", "[other]\naws_access_key_id = K\naws_secret_access_key = topsecret\n")
        #expect {
            try AWSSettings.resolve(environment: ["HOME": home])
        } throws: { error in
            let text = "\(error)"
            return text.contains("no AWS credentials for profile `default`") && text.contains(".aws/credentials [default]")
                && text.contains("AWS_ACCESS_KEY_ID") && !text.contains("topsecret")
        }
        let found = try AWSSettings.resolve(profile: "other", environment: ["HOME": home])
        #expect(!"\(found.credentials)".contains("topsecret") && "\(found.credentials)".hasPrefix("K…"))
    }

    @Test func aBrokenConfigFileIsReportedWithItsLine() throws {
        try write("credentials", "[default]\naws_access_key_id = K\nthis line has no equals sign\n")
        #expect {
            try AWSSettings.resolve(environment: ["HOME": home])
        } throws: { error in
            "\(error)".contains(".aws/credentials:3: expected `key = value`")
        }
    }

    @Test func destinationsAreCheckedAndKeysKeepTheLayout() throws {
        let d = try S3Destination(url: "s3://fleet/lake/plant-a/", endpoint: "http://127.0.0.1:9000", region: "us-east-1")
        #expect(d.prefix == "lake/plant-a" && d.addressing == .path && d.host == "127.0.0.1:9000")
        #expect(d.key(for: "runs/date=2026-12-07/station=s/x.parquet") == "lake/plant-a/runs/date=2026-12-07/station=s/x.parquet")
        #expect(d.path(forKey: "lake/a=b") == "/fleet/lake/a%3Db")
        let aws = try S3Destination(url: "s3://fleet", endpoint: nil, region: "eu-west-1")
        #expect(aws.addressing == .virtualHosted && aws.host == "fleet.s3.eu-west-1.amazonaws.com" && aws.path(forKey: "k") == "/k")
        for bad in ["http://fleet", "s3://UPPER", "s3://ab", "s3://fleet/a//b", "s3://fleet/../x"] {
            #expect(throws: SyncError.self) { try S3Destination(url: bad, endpoint: nil, region: "us-east-1") }
        }
        #expect(throws: SyncError.self) { try S3Destination(url: "s3://fleet", endpoint: "ftp://host/x", region: "us-east-1") }
    }
}
