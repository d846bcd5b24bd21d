// litmus-test-producer: a process that writes an event log, for the crash tests
// (Tests/LitmusTests/Data/CrashTests.swift). It reports on stdout, one line at a time, with
// write(2) so nothing sits in a stdio buffer when it is killed:
//
//   litmus-test-producer crash <dataDir> <session-uuid>
//       prints "path <file>", then emits RunStarted and measurements (with a step.ended every
//       97 events) until killed, printing "ack <sequence>" each time the durable sequence grows.
//   litmus-test-producer flush <dataDir> <session-uuid> <count>
//       emits RunStarted and <count> measurements, flush()es, prints "flushed <sequence> <file>",
//       then waits (with the log open) until killed or until stdin closes.
//   litmus-test-producer hold-lock <lockdir> <resource> <station> <role> <seconds>
//       takes the resource lock (ResourceLocks, trying once), prints "locked", holds it for
//       <seconds> (a negative number: until stdin closes), releases it and exits 0; prints the
//       error to stderr and exits 3 when the lock cannot be taken (Station/ResourceLockTests).
//   litmus-test-producer one-run <dataDir>
//       one production run with the default settings (git identity of the current directory,
//       host name): a TestRunLogger, one step with one limited measurement, finalize, close;
//       prints "run <parquet file>" and exits 0 (the cold-start benchmark, bench/ColdStartBench).
//   litmus-test-producer board <measurements-per-second> <count>
//       a board's run as the station runner starts it (LITMUS_SESSION_ID, LITMUS_DATA_DIR,
//       LITMUS_DUT_SERIAL from the environment): one step with <count> measurements paced at
//       the given rate (0: as fast as it can), then the run ends passed (bench/ServeBench).
import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#endif

func say(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + done, bytes.count - done) }
        if n > 0 {
            done += n
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            exit(3)
        }
    }
}

func fail(_ text: String) -> Never {
    FileHandle.standardError.write(Data("litmus-test-producer: \(text)\n".utf8))
    exit(2)
}

let usage = """
    usage: litmus-test-producer crash <dataDir> <session-uuid>
           litmus-test-producer flush <dataDir> <session-uuid> <count>
           litmus-test-producer hold-lock <lockdir> <resource> <station> <role> <seconds>
           litmus-test-producer one-run <dataDir>
           litmus-test-producer board <measurements-per-second> <count>
    """

let arguments = CommandLine.arguments

// Strict arguments: --help prints the usage and exits 0; anything else that is not one of the
// forms above prints the usage and exits 2, before anything is written.
if arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
    print(usage)
    exit(0)
}
let expectedCount = ["crash": 4, "flush": 5, "hold-lock": 7, "one-run": 3, "board": 4]
guard arguments.count >= 2, let expected = expectedCount[arguments[1]], arguments.count == expected else {
    fail(
        (arguments.count >= 2 && expectedCount[arguments[1]] == nil
            ? "unknown mode '\(arguments[1])'" : "wrong number of arguments") + "\n" + usage)
}

if arguments[1] == "hold-lock" {
    guard let seconds = Double(arguments[6]) else {
        fail("<seconds> must be a number\n" + usage)
    }
    let locks = ResourceLocks(directory: arguments[2])
    do {
        let lease = try locks.acquire(resource: arguments[3], station: arguments[4], role: arguments[5])
        say("locked")
        if seconds < 0 {
            _ = FileHandle.standardInput.readDataToEndOfFile()
        } else if seconds > 0 {
            Thread.sleep(forTimeInterval: seconds)
        }
        lease.release()
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(3)
    }
}
if arguments[1] == "one-run" {
    guard !arguments[2].isEmpty else { fail("<dataDir> must not be empty\n" + usage) }
    do {
        let logger = try TestRunLogger(RunIdentity(dutSerial: "SN-COLD", stationID: "bench", testPhase: "production"), dataDir: arguments[2])
        let harness = try TestHarness(logger: logger, stepName: "cold", limits: ["vout": try Limit.between(3.2, 3.4, unit: "V")])
        try harness.step("cold") { _ = try harness.measure("vout", 3.3) }
        try logger.finalize()
        try logger.close()
        guard let file = logger.runFile else { fail("the run's Parquet file was not written") }
        say("run \(file)")
        exit(0)
    } catch {
        fail("\(error)")
    }
}
if arguments[1] == "board" {
    let env = ProcessInfo.processInfo.environment
    guard let rate = Double(arguments[2]), rate >= 0, let count = Int(arguments[3]), count >= 0 else {
        fail("board needs a rate (>= 0) and a count (>= 0)\n" + usage)
    }
    guard let session = env["LITMUS_SESSION_ID"].flatMap(UUID.init(uuidString:)), let dataDir = env["LITMUS_DATA_DIR"],
        let serial = env["LITMUS_DUT_SERIAL"]
    else {
        fail("board runs under the station runner: LITMUS_SESSION_ID, LITMUS_DATA_DIR and LITMUS_DUT_SERIAL must be set")
    }
    do {
        let log = try EventStore(dataDir: dataDir).eventLog(sessionID: session)
        let run = UUID()
        _ = try log.append(Event(sessionID: session, runID: run, .runStarted(RunStarted(dutSerial: serial, stationID: "bench_mock"))))
        _ = try log.append(Event(sessionID: session, runID: run, .stepStarted(StepStarted(name: "stream", index: 0))))
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let start = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        for i in 0..<count {
            if rate > 0 {
                // Paced against the start, so a late measurement does not slow the rest.
                clock_gettime(CLOCK_MONOTONIC, &ts)
                let wait = start + Double(i) / rate - (Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
                if wait > 0 { usleep(UInt32(wait * 1e6)) }
            }
            _ = try log.append(
                Event(
                    sessionID: session, runID: run,
                    .measurement(Measurement(stepIndex: 0, stepPath: "stream", name: "m", value: Double(i), unit: "V", outcome: .passed, limitLow: -1, limitHigh: 1e12))))
        }
        _ = try log.append(Event(sessionID: session, runID: run, .stepEnded(StepEnded(name: "stream", index: 0, outcome: .passed))))
        _ = try log.append(Event(sessionID: session, runID: run, .runEnded(RunEnded(outcome: .passed))))
        try log.close()
        exit(0)
    } catch {
        fail("\(error)")
    }
}
guard let session = UUID(uuidString: arguments[3]) else {
    fail("<session-uuid> must be a UUID\n" + usage)
}
let mode = arguments[1]
let store = EventStore(dataDir: arguments[2])
let run = UUID()

func measurement(_ sequence: Int64) -> Event {
    Event(
        sessionID: session, runID: run,
        .measurement(
            Measurement(
                stepIndex: sequence / 97, stepPath: "crash", vectorIndex: sequence % 97, name: "m\(sequence)",
                value: Double(sequence), unit: "V", outcome: .passed, limitLow: -1, limitHigh: 1e12)))
}

do {
    let log = try store.eventLog(sessionID: session)
    var next: Int64 = 0
    func emit(_ event: Event) throws {
        let sequence = try log.append(event)
        guard sequence == next else { fail("sequence \(sequence), expected \(next)") }
        next += 1
    }
    switch mode {
    case "crash":
        log.onDurable { say("ack \($0)") }
        say("path \(log.path)")
        try emit(Event(sessionID: session, runID: run, .runStarted(RunStarted(dutSerial: "SN-CRASH"))))
        while true {
            if next % 97 == 0 {
                try emit(Event(sessionID: session, runID: run, .stepEnded(StepEnded(name: "crash", index: next / 97, outcome: .passed))))
            } else {
                try emit(measurement(next))
            }
            if next % 50 == 0 { usleep(300) }
        }
    case "flush":
        guard let count = Int(arguments[4]) else { fail("flush needs a count\n" + usage) }
        try emit(Event(sessionID: session, runID: run, .runStarted(RunStarted(dutSerial: "SN-FLUSH"))))
        for _ in 0..<count { try emit(measurement(next)) }
        try log.flush()
        say("flushed \(log.durableSequence) \(log.path)")
        // Keep the log open (and locked) until killed or told to stop.
        _ = FileHandle.standardInput.readDataToEndOfFile()
        try log.close()
        say("closed")
    default:
        fail("unknown mode \(mode)")
    }
} catch {
    fail("\(error)")
}
