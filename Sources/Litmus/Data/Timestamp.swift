import CLitmusSupport

/// A point in time, in microseconds since 1970-01-01T00:00:00Z (UTC), the resolution of the
/// event log and of Parquet `TIMESTAMP(MICROS, UTC)` columns.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// The current wall-clock time.
    ///
    /// Read from the CPU's time-stamp counter, re-anchored on `CLOCK_REALTIME` every
    /// millisecond, where the kernel's own clocksource is that counter (`LITMUS_CLOCK=syscall`
    /// reads the kernel's clock on every call instead): cheaper than `clock_gettime`, which
    /// matters to a channel logging single samples (docs/channels.md has the figures).
    /// Within a thread it never goes back, unless the system clock is set back.
    public static func now() -> Timestamp {
        Timestamp(microseconds: litmus_realtime_ns() / 1000)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }

    /// Seconds from `self` to `other`.
    public func seconds(to other: Timestamp) -> Double { Double(other.microseconds - microseconds) / 1e6 }

    /// `2026-11-26T15:27:44.123456Z`
    public var iso8601: String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(27)
        appendISO8601(to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    public var description: String { iso8601 }

    /// The UTC calendar date, `2026-11-26`.
    public var date: String { String(iso8601.prefix(10)) }

    /// `20261126T152744Z`, for file names.
    public var compact: String {
        let (y, m, d, hh, mm, ss, _) = components
        return String(format4(y)) + pad2(m) + pad2(d) + "T" + pad2(hh) + pad2(mm) + pad2(ss) + "Z"
    }

    /// Year, month, day, hour, minute, second, microsecond (UTC, proleptic Gregorian).
    var components: (Int, Int, Int, Int, Int, Int, Int) {
        let micros = microseconds
        var days = micros / 86_400_000_000
        var rest = micros % 86_400_000_000
        if rest < 0 {
            rest += 86_400_000_000
            days -= 1
        }
        // Civil from days (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let second = rest / 1_000_000
        return (
            Int(y), Int(m), Int(d), Int(second / 3600), Int(second / 60 % 60), Int(second % 60),
            Int(rest % 1_000_000)
        )
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes).
    func appendISO8601(to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { t in
            writeISO8601(into: t)
            out.append(contentsOf: UnsafeBufferPointer(t))
        }
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` into exactly 27 bytes.
    func writeISO8601(into t: UnsafeMutableBufferPointer<UInt8>) {
        let (y, m, d, hh, mm, ss, us) = components
        func put(_ value: Int, _ at: Int, _ count: Int) {
            var v = value
            for i in stride(from: at + count - 1, through: at, by: -1) {
                t[i] = UInt8(ascii: "0") &+ UInt8(v % 10)
                v /= 10
            }
        }
        put(y, 0, 4)
        t[4] = UInt8(ascii: "-")
        put(m, 5, 2)
        t[7] = UInt8(ascii: "-")
        put(d, 8, 2)
        t[10] = UInt8(ascii: "T")
        put(hh, 11, 2)
        t[13] = UInt8(ascii: ":")
        put(mm, 14, 2)
        t[16] = UInt8(ascii: ":")
        put(ss, 17, 2)
        t[19] = UInt8(ascii: ".")
        put(us, 20, 6)
        t[26] = UInt8(ascii: "Z")
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (or `+00:00`). Returns nil for anything else.
    public init?(iso8601 text: String) {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard b.count >= 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54 || b[10] == 0x20, b[13] == 0x3A,
            b[16] == 0x3A, let y = num(0, 4), let m = num(5, 2), let d = num(8, 2), let hh = num(11, 2),
            let mm = num(14, 2), let ss = num(17, 2), (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60,
            ss < 61
        else { return nil }
        var i = 19
        var micros = 0
        if i < b.count && b[i] == 0x2E {
            i += 1
            var scale = 100_000
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                micros += Int(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        let rest = String(decoding: b[i...], as: UTF8.self)
        guard rest == "Z" || rest == "+00:00" else { return nil }
        // Days from civil.
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = Int64(era * 146_097 + doe - 719_468)
        microseconds = ((days * 86400 + Int64(hh * 3600 + mm * 60 + ss)) * 1_000_000) + Int64(micros)
    }
}

private func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
private func format4(_ v: Int) -> String { String(repeating: "0", count: max(0, 4 - String(v).count)) + String(v) }
