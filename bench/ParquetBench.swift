// Parquet writer throughput on a realistic 30-column run table, as a ratio against a baseline
// measured in the same run: memcpy of the table's raw bytes (its PLAIN size: 8 bytes per
// number, 4 + UTF-8 length per string, none for nulls). A writer cannot be faster than
// touching its input once, so the ratio says how far from that floor it is, on whatever
// machine and load the numbers come from.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LitmusParquet

/// Runs the Parquet writer benchmark and prints its results (called from bench/main.swift).
func runParquetBenchmark() {
    ParquetBench.run()
}

private enum ParquetBench {
    static let columns = 30
    static let batchRows = 65_536

    /// Nanoseconds from the monotonic clock.
    static func clockNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// A test-run table: 10 low-cardinality strings, 10 doubles, 5 int64 and 5 timestamps,
    /// with the null rates of real runs (limits and notes mostly absent, error codes rare).
    static let schema = ParquetSchema(columns: [
        ParquetColumn(name: "run_id", type: .string),
        ParquetColumn(name: "test_name", type: .string),
        ParquetColumn(name: "step", type: .string),
        ParquetColumn(name: "status", type: .string),
        ParquetColumn(name: "unit", type: .string, nullable: true),
        ParquetColumn(name: "instrument", type: .string),
        ParquetColumn(name: "channel", type: .string, nullable: true),
        ParquetColumn(name: "operator", type: .string),
        ParquetColumn(name: "station", type: .string),
        ParquetColumn(name: "note", type: .string, nullable: true),
        ParquetColumn(name: "value", type: .double, nullable: true),
        ParquetColumn(name: "low_limit", type: .double, nullable: true),
        ParquetColumn(name: "high_limit", type: .double, nullable: true),
        ParquetColumn(name: "setpoint", type: .double, nullable: true),
        ParquetColumn(name: "temperature_c", type: .double, nullable: true),
        ParquetColumn(name: "voltage_v", type: .double),
        ParquetColumn(name: "current_a", type: .double),
        ParquetColumn(name: "duration_s", type: .double),
        ParquetColumn(name: "resistance_ohm", type: .double, nullable: true),
        ParquetColumn(name: "frequency_hz", type: .double, nullable: true),
        ParquetColumn(name: "seq", type: .int64),
        ParquetColumn(name: "iteration", type: .int64),
        ParquetColumn(name: "retries", type: .int64),
        ParquetColumn(name: "error_code", type: .int64, nullable: true),
        ParquetColumn(name: "site", type: .int64),
        ParquetColumn(name: "started_at", type: .timestampMicrosUTC),
        ParquetColumn(name: "finished_at", type: .timestampMicrosUTC),
        ParquetColumn(name: "measured_at", type: .timestampMicrosUTC, nullable: true),
        ParquetColumn(name: "calibrated_at", type: .timestampMicrosUTC, nullable: true),
        ParquetColumn(name: "trigger_at", type: .timestampMicrosUTC, nullable: true),
    ])

    struct Table {
        var batches: [[ParquetColumnData]]
        var rows: Int
        /// PLAIN-encoded size of the non-null values.
        var rawBytes: Int
    }

    /// Deterministic pseudo-random numbers (SplitMix64).
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func makeTable(rows: Int) -> Table {
        var random = Random(state: 42)
        let runID = ["run-2024-06-01T12:00:00Z-7f3a9c"]
        let tests = (0..<50).map { "test_\($0 < 25 ? "power" : "signal")_\($0)" }
        let steps = (0..<20).map { "step \($0): measure" }
        let statuses = ["PASS", "PASS", "PASS", "PASS", "PASS", "PASS", "PASS", "FAIL", "SKIP"]
        let units = ["V", "A", "Ohm", "Hz", "°C"]
        let instruments = ["dmm-34465A", "psu-E36313A", "scope-MSO58", "smu-2450"]
        let channels = (1...8).map { "CH\($0)" }
        let operators = ["alice", "bob", "chen"]
        let stations = ["bench-1", "bench-2"]
        let notes = (0..<100).map { "retest after fixture adjustment #\($0) — ok" }

        var table = Table(batches: [], rows: rows, rawBytes: 0)
        var start = 0
        let t0: Int64 = 1_717_243_200_000_000
        while start < rows {
            let n = min(batchRows, rows - start)
            var columns: [ParquetColumnData] = []
            func validity(_ nullRate: Double) -> [Bool] {
                (0..<n).map { _ in random.unit() >= nullRate }
            }
            func strings(_ pool: [String], nullRate: Double? = nil) -> ParquetColumnData {
                let values = (0..<n).map { _ in pool[random.below(pool.count)] }
                let valid = nullRate.map(validity)
                for (i, s) in values.enumerated() where valid?[i] ?? true { table.rawBytes += 4 + s.utf8.count }
                return .string(values, validity: valid)
            }
            func doubles(_ make: (Int) -> Double, nullRate: Double? = nil) -> ParquetColumnData {
                let valid = nullRate.map(validity)
                table.rawBytes += 8 * (valid?.filter { $0 }.count ?? n)
                return .double((0..<n).map { make(start + $0) }, validity: valid)
            }
            func ints(_ make: (Int) -> Int64, nullRate: Double? = nil, timestamps: Bool = false) -> ParquetColumnData {
                let valid = nullRate.map(validity)
                table.rawBytes += 8 * (valid?.filter { $0 }.count ?? n)
                let values = (0..<n).map { make(start + $0) }
                return timestamps ? .timestampMicros(values, validity: valid) : .int64(values, validity: valid)
            }
            columns.append(strings(runID))
            columns.append(strings(tests))
            columns.append(strings(steps))
            columns.append(strings(statuses))
            columns.append(strings(units, nullRate: 0.1))
            columns.append(strings(instruments))
            columns.append(strings(channels, nullRate: 0.3))
            columns.append(strings(operators))
            columns.append(strings(stations))
            columns.append(strings(notes, nullRate: 0.95))
            columns.append(doubles({ _ in 3.3 + (random.unit() - 0.5) * 0.01 }, nullRate: 0.05))
            columns.append(doubles({ _ in 3.2 }, nullRate: 0.6))
            columns.append(doubles({ _ in 3.4 }, nullRate: 0.6))
            columns.append(doubles({ row in Double(row % 10) * 0.5 }, nullRate: 0.4))
            columns.append(doubles({ _ in 25 + random.unit() * 2 }, nullRate: 0.5))
            columns.append(doubles({ _ in random.unit() * 12 }))
            columns.append(doubles({ _ in random.unit() * 0.5 }))
            columns.append(doubles({ _ in 0.001 + random.unit() * 0.01 }))
            columns.append(doubles({ _ in 1000 + random.unit() }, nullRate: 0.7))
            columns.append(doubles({ _ in 1e6 * (1 + random.unit() * 1e-6) }, nullRate: 0.7))
            columns.append(ints({ Int64($0) }))
            columns.append(ints({ Int64($0 / 1000) }))
            columns.append(ints({ _ in random.below(20) == 0 ? 1 : 0 }))
            columns.append(ints({ _ in Int64(random.below(5) + 100) }, nullRate: 0.95))
            columns.append(ints({ Int64($0 % 4) }))
            columns.append(ints({ t0 + Int64($0) * 1_000 }, timestamps: true))
            columns.append(ints({ t0 + Int64($0) * 1_000 + 800 }, timestamps: true))
            columns.append(ints({ t0 + Int64($0) * 1_000 + Int64(random.below(700)) }, nullRate: 0.1, timestamps: true))
            columns.append(ints({ _ in t0 - 86_400_000_000 * 30 }, nullRate: 0.5, timestamps: true))
            columns.append(ints({ t0 + Int64($0) * 1_000 + 50 }, nullRate: 0.5, timestamps: true))
            table.batches.append(columns)
            start += n
        }
        return table
    }

    struct Result {
        var seconds: Double
        /// Of `seconds`, the time in close(): last row group, footer, fsync, rename.
        var closeSeconds: Double
        var fileBytes: Int
    }

    /// Best of `rounds` writes of `table` to a fresh file (close included: fsync and rename).
    static func timeWrite(
        _ table: Table, compression: ParquetCompression, threads: Int, directory: String, rounds: Int
    ) -> Result {
        var best = Double.infinity
        var bestClose = Double.nan
        var size = 0
        for round in 0..<rounds {
            let path = "\(directory)/bench-\(round).parquet"
            let start = clockNanoseconds()
            var closeStart = start
            do {
                let writer = try ParquetWriter(
                    path: path, schema: schema,
                    options: ParquetWriterOptions(compression: compression, threads: threads, overwrite: true))
                for batch in table.batches {
                    try writer.write(rowCount: batch[0].values.count, columns: batch)
                }
                closeStart = clockNanoseconds()
                try writer.close()
            } catch {
                print("  benchmark write failed: \(error)")
                return Result(seconds: .nan, closeSeconds: .nan, fileBytes: 0)
            }
            let end = clockNanoseconds()
            let seconds = Double(end - start) / 1e9
            if seconds < best {
                best = seconds
                bestClose = Double(end - closeStart) / 1e9
            }
            var info = stat()
            if stat(path, &info) == 0 { size = Int(info.st_size) }
            unlink(path)
        }
        return Result(seconds: best, closeSeconds: bestClose, fileBytes: size)
    }

    /// Best of `rounds` memcpys of `bytes` bytes between two buffers (pre-faulted).
    static func timeMemcpy(bytes: Int, rounds: Int) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer {
            source.deallocate()
            target.deallocate()
        }
        memset(source, 0x5A, bytes)
        memset(target, 0, bytes)
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = clockNanoseconds()
            memcpy(target, source, bytes)
            best = min(best, Double(clockNanoseconds() - start) / 1e9)
        }
        if target.load(fromByteOffset: bytes / 2, as: UInt8.self) != 0x5A { print("  (memcpy check failed)") }
        return best
    }

    static func run() {
        let directory = "/tmp/litmus-parquet-bench-\(getpid())"
        mkdir(directory, 0o755)
        defer { rmdir(directory) }
        print("")
        print("Parquet writer, \(columns)-column run table (10 strings, 10 doubles, 5 int64, 5 timestamps; many nulls)")
        print("  writes in batches of \(batchRows) rows; best of 3 rounds; close() (fsync + rename) included")
        for rows in [100_000, 1_000_000] {
            let table = makeTable(rows: rows)
            let rawMB = Double(table.rawBytes) / 1e6
            let copy = timeMemcpy(bytes: table.rawBytes, rounds: 5)
            print(pad("  \(rows) rows, \(format(rawMB, 1)) MB raw (PLAIN size of the values)", 0))
            print(pad("    baseline: memcpy of the raw bytes", 40) + "\(format(copy * 1e3, 2)) ms"
                + "  (\(format(rawMB / copy / 1e3, 2)) GB/s)")
            let configurations: [(String, ParquetCompression, Int)] = [
                ("zstd(level: 1), 1 thread (default)", .zstd(level: 1), 1),
                ("zstd(level: 1), threads: 2", .zstd(level: 1), 2),
                ("uncompressed, 1 thread", .uncompressed, 1),
                ("uncompressed, threads: 2", .uncompressed, 2),
            ]
            for (name, compression, threads) in configurations {
                let result = timeWrite(table, compression: compression, threads: threads, directory: directory, rounds: 3)
                let rowsPerSecond = Double(rows) / result.seconds
                print(pad("    \(name)", 40)
                    + "\(format(result.seconds * 1e3, 1)) ms  \(format(rowsPerSecond / 1e6, 2)) M rows/s"
                    + "  \(format(rawMB / result.seconds, 0)) MB/s raw"
                    + "  = \(format(result.seconds / copy, 0))x memcpy"
                    + "  (close \(format(result.closeSeconds * 1e3, 1)) ms; file \(format(Double(result.fileBytes) / 1e6, 1)) MB)")
            }
        }
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if decimals == 0 {
            text = "\(Int(rounded))"
        } else if let dot = text.firstIndex(of: ".") {
            let have = text.distance(from: dot, to: text.endIndex) - 1
            if have < decimals { text += String(repeating: "0", count: decimals - have) }
        }
        return text
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
