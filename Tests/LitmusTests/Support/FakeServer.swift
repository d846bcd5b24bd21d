import Foundation
import Testing

/// A `litmus-fake-instruments` server in a child process, for transport tests. It prints
/// `port <n>` once it listens; closing its standard input (``stop()``, or this object going
/// away) ends it, so a failed test never leaves a server behind.
final class FakeServer: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    /// The TCP port it listens on.
    private(set) var port = 0
    /// Everything it printed after the port line (its log, when it writes one).
    var pid: Int32 { process.processIdentifier }

    static var executable: String { TestPlugins.buildDirectory + "/litmus-fake-instruments" }

    /// Starts `litmus-fake-instruments <kind> <arguments...>` and waits for its port line.
    init(_ kind: String, _ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = [kind] + arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = ""
        let handle = output.fileHandleForReading
        while !line.hasSuffix("\n") {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { break }
            line += String(decoding: byte, as: UTF8.self)
        }
        let parts = line.split(separator: " ")
        guard parts.count == 2, parts[0] == "port", let p = Int(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) else {
            stop()
            throw FakeServerError(message: "litmus-fake-instruments \(kind) did not print its port (got \"\(line)\")")
        }
        port = p
    }

    /// Ends the server and waits for it.
    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { stop() }
    }
}

struct FakeServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
