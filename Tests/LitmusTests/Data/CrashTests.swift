import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// Real processes writing real logs: the test producer (Tests/Producer) is killed with SIGKILL
/// at random points, and every event it saw acknowledged (durable) must be in its file.
@Suite(.serialized) struct CrashTests {
    typealias S = EventSamples

    static var producer: String { "\(TestPlugins.buildDirectory)/litmus-test-producer" }

    /// A running producer with its stdout.
    final class Producer {
        let process = Process()
        let output = Pipe()
        let input = Pipe()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: CrashTests.producer)
            process.arguments = arguments
            process.standardOutput = output
            process.standardInput = input
            try process.run()
        }

        /// Reads stdout until a line starting with `prefix` (nil at end of output).
        func waitForLine(_ prefix: String) -> String? {
            var text = ""
            while true {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { return nil }
                text += String(decoding: data, as: UTF8.self)
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            }
        }

        /// SIGKILL, then everything it printed.
        func kill() -> String {
            Glibc.kill(process.processIdentifier, SIGKILL)
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
    }

    @Test func acknowledgedEventsSurviveSIGKILL() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashTests.producer), "build litmus-test-producer first")
        var generator = SystemRandomNumberGenerator()
        let started = Date()
        var trials = 0
        var checked = 0
        var acknowledged = 0
        var torn = 0
        while trials < 24 || (Date().timeIntervalSince(started) < 6 && trials < 60) {
            trials += 1
            let dir = S.freshDirectory("crash")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let session = UUID()
            let delay = UInt32.random(in: 0...250_000, using: &generator)  // µs
            let producer = try Producer(["crash", dir, session.uuidString])
            usleep(delay)
            let output = producer.kill()
            let lines = output.split(separator: "\n")
            let acks = lines.compactMap { $0.hasPrefix("ack ") ? Int64($0.dropFirst(4)) : nil }
            let context = "trial \(trials), killed after \(delay) µs"
            guard let pathLine = lines.first(where: { $0.hasPrefix("path ") }) else {
                // Killed before the log existed: whatever is there must still read cleanly.
                let result = try EventReader.events(dataDir: dir, sessionID: session)
                #expect(result.problems.allSatisfy { $0.kind == .tornTail }, "\(context): \(result.problems)")
                continue
            }
            let path = String(pathLine.dropFirst(5))
            #expect(acks == acks.sorted(), "\(context): acknowledgements only grow")
            #expect(!EventReader.isWriterAlive(path: path), "\(context): the lock died with the process")
            let result = try EventReader.events(dataDir: dir, sessionID: session)
            #expect(result.files == [path], "\(context)")
            // At most a torn tail: no corruption, no gap.
            #expect(result.problems.allSatisfy { $0.kind == .tornTail } && result.problems.count <= 1, "\(context): \(result.problems)")
            torn += result.problems.count
            let sequences = result.events.map(\.sequence)
            #expect(sequences == Array(0..<Int64(sequences.count)), "\(context): events are 0, 1, 2... with no gap")
            if let last = acks.last {
                // Zero acknowledged events lost.
                #expect(Int64(sequences.count) > last, "\(context): acknowledged up to \(last), found \(sequences.count) events")
                acknowledged += Int(last) + 1
            }
            // Every event is what the producer wrote for its sequence.
            for event in result.events {
                switch event.body {
                case .runStarted(let r): #expect(event.sequence == 0 && r.dutSerial == "SN-CRASH")
                case .stepEnded(let s): #expect(event.sequence % 97 == 0 && s.index == event.sequence / 97)
                case .measurement(let m): #expect(m.name == "m\(event.sequence)" && m.value == Double(event.sequence))
                default: Issue.record("\(context): unexpected \(event.type)")
                }
            }
            checked += 1
        }
        #expect(trials >= 20)
        #expect(checked >= 10, "most trials got as far as creating the log")
        #expect(acknowledged > 0, "some events were acknowledged before the kill")
        print("crash test: \(trials) trials, \(checked) logs checked, \(acknowledged) acknowledged events, none lost; \(torn) torn tails")
    }

    @Test func flushedEventsAreVisibleToAnotherProcess() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashTests.producer), "build litmus-test-producer first")
        let dir = S.freshDirectory("crash-flush")
        let session = UUID()
        let producer = try Producer(["flush", dir, session.uuidString, "1000"])
        let line = try #require(producer.waitForLine("flushed "), "the producer reported its flush")
        let parts = line.split(separator: " ")
        let durable = try #require(Int64(parts[1]))
        let path = String(parts[2])
        #expect(durable == 1000)
        // The producer is alive, its log open and locked; this process reads what it flushed.
        #expect(EventReader.isWriterAlive(path: path))
        let result = try EventReader.events(dataDir: dir, sessionID: session)
        #expect(result.problems.isEmpty)
        #expect(result.events.count == 1001)
        #expect(result.events.last?.sequence == 1000)
        // Closing cleanly (stdin closed) says so.
        try producer.input.fileHandleForWriting.close()
        #expect(producer.waitForLine("closed") != nil)
        producer.process.waitUntilExit()
        #expect(producer.process.terminationStatus == 0)
        #expect(!EventReader.isWriterAlive(path: path))
        #expect(try EventReader.events(dataDir: dir, sessionID: session).events.count == 1001)
    }
}
