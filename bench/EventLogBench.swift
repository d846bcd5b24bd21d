// Event log speed: measurement events through EventLog.emit, against baselines measured in the
// same run (encoding alone, and write(2) of the same bytes), printed as ratios.
import Foundation
import Litmus
import LitmusJSON

#if canImport(Glibc)
import Glibc
#endif

/// Prints the event log benchmark. Files go to a temporary directory, removed at the end.
func runEventLogBenchmark() {
    let n = 500_000
    let rounds = 3
    let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-bench-events-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: dataDir) }
    let session = UUID()
    let run = UUID()
    let event = Event(
        sessionID: session, runID: run,
        .measurement(
            Measurement(
                stepIndex: 3, stepPath: "power/rails", vectorIndex: 12, name: "vout", value: 3.2987654321, unit: "V",
                outcome: .passed, limitLow: 3.135, limitHigh: 3.465, comparator: .GELE, dutPin: "J1.3",
                instrumentRole: "dmm", instrumentChannel: "1")))
    var lineBytes: [UInt8] = []
    var scratch = JSONBuffer()
    var sample = event
    sample.writer = "bench-host-12345-0123abcd"
    sample.sequence = 123_456
    EventCoding.appendLine(sample, to: &lineBytes, scratch: &scratch)
    print("Event log (\(n) measurement events of ~\(lineBytes.count) bytes per round, best of \(rounds) rounds)")

    /// The best time of `rounds` runs of `body`, in ns per event.
    func best(_ count: Int, _ body: () throws -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = benchNanoseconds()
            do { try body() } catch {
                print("  error: \(error)")
                return .nan
            }
            best = min(best, Double(benchNanoseconds() - start) / Double(count))
        }
        return best
    }

    // Baseline 1: encoding alone, into a reused buffer (what emit cannot avoid).
    let encodeOnly = best(n) {
        var out: [UInt8] = []
        out.reserveCapacity(8 << 20)
        var json = JSONBuffer()
        var e = sample
        for i in 0..<n {
            e.sequence = Int64(i)
            EventCoding.appendLine(e, to: &out, scratch: &json)
            if out.count >= 4 << 20 { out.removeAll(keepingCapacity: true) }
        }
    }
    // Baseline 2: write(2) of the same bytes in 4 MiB chunks to a file, no sync.
    try? FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    let chunk = [UInt8]((0..<max(1, (4 << 20) / lineBytes.count)).flatMap { _ in lineBytes })
    let perChunk = chunk.count / lineBytes.count
    let rawWrite = best(n) {
        let path = "\(dataDir)/raw.jsonl"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            close(fd)
            unlink(path)
        }
        var left = n
        while left > 0 {
            let events = min(left, perChunk)
            chunk.withUnsafeBytes { raw in
                var done = 0
                let count = events * lineBytes.count
                while done < count {
                    let w = write(fd, raw.baseAddress! + done, count - done)
                    if w <= 0 { break }
                    done += w
                }
            }
            left -= events
        }
    }

    func row(_ label: String, _ ns: Double) {
        let numbers = String(format: "%7.0f ns/event %9.0f events/s %6.2fx encode-only", ns, 1e9 / ns, ns / encodeOnly)
        print("  \(label.padding(toLength: 54, withPad: " ", startingAt: 0)) \(numbers)")
    }
    row("encode only (baseline)", encodeOnly)
    row("write(2) of the same bytes, 4 MiB chunks (baseline)", rawWrite)

    func emitting(
        _ count: Int, durability: EventLog.Durability = .default, flushEvery: Int = 0, observer: Bool = false,
        threads: Int = 1, includeClose: Bool = false
    ) -> Double {
        var emitOnly = Double.infinity
        var withClose = Double.infinity
        for _ in 0..<rounds {
            do {
                let store = EventStore(dataDir: dataDir)
                let log = try store.eventLog(sessionID: session, durability: durability)
                if observer { log.addObserver { _ in } }
                let start = benchNanoseconds()
                if threads == 1 {
                    for i in 0..<count {
                        try log.emit(event)
                        if flushEvery > 0 && i % flushEvery == flushEvery - 1 { try log.flush() }
                    }
                } else {
                    DispatchQueue.concurrentPerform(iterations: threads) { _ in
                        for _ in 0..<(count / threads) { try? log.emit(event) }
                    }
                }
                let emitted = benchNanoseconds()
                try log.close()
                let closed = benchNanoseconds()
                emitOnly = min(emitOnly, Double(emitted - start) / Double(count))
                withClose = min(withClose, Double(closed - start) / Double(count))
                try? FileManager.default.removeItem(atPath: log.path)
            } catch {
                print("  error: \(error)")
                return .nan
            }
        }
        return includeClose ? withClose : emitOnly
    }

    row("emit, default durability (20 ms sync), buffered", emitting(n))
    row("emit + close (everything fsynced)", emitting(n, includeClose: true))
    row("emit with one no-op observer", emitting(n, observer: true))
    row("emit from 2 threads at once", emitting(n, threads: 2))
    row("emit, no background sync (syncInterval nil)", emitting(n, durability: EventLog.Durability(syncInterval: nil)))
    for every in [10_000, 1000, 100, 10] {
        let count = min(n, every * 500)
        row("emit + flush() every \(every) events", emitting(count, flushEvery: every))
    }
    row("emit, every event synced (Durability.everyEvent)", emitting(500, durability: .everyEvent))

    // Reading back: CRC check, JSON parse and decode of every line.
    do {
        let log = try EventStore(dataDir: dataDir).eventLog(sessionID: session)
        for _ in 0..<(n / 5) { try log.emit(event) }
        try log.close()
        var count = 0
        let read = best(n / 5) { count = try EventReader.read(files: [log.path]).events.count }
        row("read back: EventReader.read of \(count) events", read)
    } catch {
        print("  error: \(error)")
    }
}

/// Nanoseconds from a monotonic clock.
private func benchNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
