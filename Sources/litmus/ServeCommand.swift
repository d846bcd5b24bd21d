import ArgumentParser
import Foundation
import LitmusRunner
import LitmusServe

/// `litmus serve`: the operator screen in the browser.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the station's operator screen in the browser: start boards, answer prompts, see verdicts and history.",
        discussion: """
            The browser and `litmus run` are two faces of one station runtime: the same bench check, \
            test command, event log and prompt channel (docs/serve.md).

              litmus serve --station stations/bench_mock.yaml -- .build/debug/litmus-example --serial {serial}

            Listens on 127.0.0.1:8080 by default. Any other address requires signing in: with the \
            engineer token printed once at start-up (or LITMUS_SERVE_TOKEN), or with --users FILE \
            (`name role token` lines, roles operator and engineer, mode 600).
            """)

    @Option(help: "The station file.") var station: String
    @Option(help: "A sequence file (as for litmus run).") var sequence: String?
    @Option(help: "The address and port to listen on (host:port; port 0 picks a free one).") var bind = "127.0.0.1:8080"
    @Option(name: .customLong("operator"), help: "The default operator id (each board may name its own).") var operatorID: String?
    @Option(help: "The test phase; production is refused while any role is mocked.") var phase = "development"
    @Option(name: .customLong("serial-pattern"), help: "A regular expression every serial must match whole.") var serialPattern: String?
    @Option(help: "Users who may sign in: a file of `name role token` lines (mode 600).") var users: String?
    @OptionGroup var data: DataDirOption
    @Argument(parsing: .postTerminator, help: "The test command (after --); {serial} is replaced by the board's serial.")
    var command: [String] = []

    /// `host:port`, `[v6]:port`, or a bare host (port 8080).
    static func parseBind(_ text: String) throws -> (host: String, port: Int) {
        var host = text, portText = "8080"
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw ValidationError("--bind \(text): an IPv6 address goes in brackets, like [::1]:8080") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") { portText = String(rest.dropFirst()) } else if !rest.isEmpty { throw ValidationError("--bind \(text): write [host]:port") }
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        }
        guard !host.isEmpty else { throw ValidationError("--bind \(text): no host; write e.g. 127.0.0.1:8080") }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ValidationError("--bind \(text): the port \(portText) is not a number from 0 to 65535")
        }
        return (host, port)
    }

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("give the test command after --, e.g. `litmus serve --station \(station) -- .build/debug/litmus-example --serial {serial}`")
        }
        _ = try Self.parseBind(bind)
    }

    func run() throws {
        let (host, port) = try Self.parseBind(bind)
        let server: StationServer
        do {
            server = try StationServer(
                .init(
                    runner: .init(
                        station: station, command: command, operatorID: operatorID, phase: phase, dataDir: data.path,
                        serialPattern: serialPattern, sequence: sequence),
                    host: host, port: port, usersFile: users, token: ProcessInfo.processInfo.environment["LITMUS_SERVE_TOKEN"]))
        } catch let error as RunnerError {
            FileHandle.standardError.write(Data("litmus serve: \(error)\n".utf8))
            throw ExitCode(3)
        }
        let token = server.generatedToken
        let signIn = server.signInRequired
        let failure = ErrorBox()
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            do {
                try await server.run { url in
                    var text = "litmus serve: station screen at \(url)\n"
                    if let token {
                        text += "litmus serve: sign in with this engineer token (shown once): \(token)\n"
                    } else if signIn {
                        text += "litmus serve: sign-in required (tokens of --users / LITMUS_SERVE_TOKEN)\n"
                    }
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
            } catch where !Task.isCancelled {
                failure.set("\(error)")
            } catch {}
            done.signal()
        }
        // Ctrl-C or SIGTERM: the open screens are let go, the board being tested is aborted
        // (its teardown runs), and the server stops.
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                server.stop()
                task.cancel()
            }
            source.resume()
            sources.append(source)
        }
        done.wait()
        withExtendedLifetime(sources) {}
        if let message = failure.get() {
            FileHandle.standardError.write(Data("litmus serve: \(message). Fix: check --bind (is the port in use?)\n".utf8))
            throw ExitCode(3)
        }
    }
}

/// An error handed from the server's task to the command.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ text: String) { lock.withLock { message = text } }
    func get() -> String? { lock.withLock { message } }
}
