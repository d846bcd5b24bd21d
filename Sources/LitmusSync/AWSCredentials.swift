import Foundation

/// An access key, its secret and an optional session token. Never printed: its description
/// shows the key id's first four characters only.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// Where they came from (`environment`, `~/.aws/credentials [default]`…).
    public var source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, source: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.source = source
    }

    public var description: String { "\(accessKeyID.prefix(4))… from \(source)" }
}

/// Settings as the AWS command-line tools take them: environment first, then the shared
/// credentials and config files, for one profile.
///
/// - Profile: `--profile`, else `AWS_PROFILE`, else `default`.
/// - Credentials: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` (when no
///   profile was named on the command line), else the profile's section of the credentials file
///   (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`, section `[name]`), else of
///   the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`, section `[profile name]` or
///   `[default]`).
/// - Region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`.
/// - Endpoint: `--endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `endpoint_url`.
/// - CA bundle for TLS: `AWS_CA_BUNDLE` or the profile's `ca_bundle` (the system's otherwise).
public struct AWSSettings: Sendable {
    public var profile: String
    public var credentials: AWSCredentials
    public var region: String
    public var endpoint: String?
    public var caBundle: String?

    public static func resolve(
        profile explicitProfile: String? = nil, region explicitRegion: String? = nil, endpoint explicitEndpoint: String? = nil,
        environment env: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AWSSettings {
        let profile = explicitProfile ?? env["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let home = env["HOME"] ?? NSHomeDirectory()
        let credentialsPath = env["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let configPath = env["AWS_CONFIG_FILE"] ?? home + "/.aws/config"
        let credentialsFile = try INIFile.load(credentialsPath)
        let configFile = try INIFile.load(configPath)
        let fromCredentials = credentialsFile?.sections[profile]
        let fromConfig = configFile?.sections[profile == "default" ? "default" : "profile " + profile]
            ?? (profile == "default" ? nil : configFile?.sections[profile])

        var searched: [String] = []
        var credentials: AWSCredentials?
        if explicitProfile == nil, let id = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"], !id.isEmpty, !secret.isEmpty {
            credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"], source: "environment")
        }
        searched.append(explicitProfile == nil ? "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" : "(environment skipped: --profile given)")
        let places: [(INIFile?, [String: String]?, String, String)] = [
            (credentialsFile, fromCredentials, credentialsPath, "[\(profile)]"),
            (configFile, fromConfig, configPath, profile == "default" ? "[default]" : "[profile \(profile)]"),
        ]
        for (file, section, path, name) in places where credentials == nil {
            searched.append(file == nil ? "\(path) (absent)" : "\(path) \(name)")
            if let section, let id = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] {
                credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: section["aws_session_token"], source: "\(path) \(name)")
            }
        }
        guard let credentials else { throw SyncError.noCredentials(profile: profile, searched: searched) }

        func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
        let region = explicitRegion ?? nonEmpty(env["AWS_REGION"]) ?? nonEmpty(env["AWS_DEFAULT_REGION"]) ?? fromConfig?["region"] ?? "us-east-1"
        let endpoint = explicitEndpoint ?? nonEmpty(env["AWS_ENDPOINT_URL_S3"]) ?? nonEmpty(env["AWS_ENDPOINT_URL"]) ?? fromConfig?["endpoint_url"]
        let caBundle = nonEmpty(env["AWS_CA_BUNDLE"]) ?? fromConfig?["ca_bundle"]
        return AWSSettings(profile: profile, credentials: credentials, region: region, endpoint: endpoint, caBundle: caBundle)
    }
}

/// The INI dialect of `~/.aws/credentials` and `~/.aws/config`: `[section]` headers,
/// `key = value` lines, `#` and `;` comments. Nested (indented) sub-settings are skipped.
struct INIFile {
    var sections: [String: [String: String]] = [:]

    /// nil when the file does not exist.
    static func load(_ path: String) throws -> INIFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            (attributes[.size] as? Int ?? 0) <= 1 << 20
        else { throw SyncError.badConfigFile(path: path, line: 0, "larger than 1 MiB or unreadable. Fix: check the file") }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw SyncError.badConfigFile(path: path, line: 0, "not readable as UTF-8 text. Fix: check the file's permissions and encoding")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> INIFile {
        var file = INIFile()
        var current: String?
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if raw.first == " " || raw.first == "\t" { continue }  // a nested setting (s3 = …\n  addressing_style = path)
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw SyncError.badConfigFile(path: path, line: i + 1, "a section header without `]`. Fix: write [name]")
                }
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                if file.sections[current!] == nil { file.sections[current!] = [:] }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw SyncError.badConfigFile(path: path, line: i + 1, "expected `key = value`. Fix: correct or remove the line")
            }
            guard let section = current else {
                throw SyncError.badConfigFile(path: path, line: i + 1, "a setting before any [section]. Fix: put it under [default] or [profile name]")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            file.sections[section]![key] = value
        }
        return file
    }
}
