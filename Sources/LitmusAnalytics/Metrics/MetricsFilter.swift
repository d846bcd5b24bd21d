import Foundation
import Litmus

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which runs and which results ``RunMetrics`` counts.
///
/// Run filters (part, station, phase, date range, serial pattern) choose runs; step and
/// measurement filters choose which steps and measurements the Pareto, capability and test
/// time tables consider (yields stay per run).
public struct MetricsFilter: Sendable {
    /// `part_id` or `dut_part_number`.
    public var part: String?
    /// `station_id`.
    public var station: String?
    /// `test_phase`.
    public var phase: String?
    /// Runs started at or after this time (µs since the epoch, UTC).
    public var from: Int64?
    /// Runs started before this time (µs since the epoch, UTC).
    public var to: Int64?
    /// A shell pattern on `dut_serial` (`SN00*`, `SN[0-4]?`).
    public var serial: String?
    /// `step_path` or `step_name`.
    public var step: String?
    /// `measurement_name`.
    public var measurement: String?

    public init(
        part: String? = nil, station: String? = nil, phase: String? = nil, from: Int64? = nil, to: Int64? = nil,
        serial: String? = nil, step: String? = nil, measurement: String? = nil
    ) {
        self.part = part
        self.station = station
        self.phase = phase
        self.from = from
        self.to = to
        self.serial = serial
        self.step = step
        self.measurement = measurement
    }

    /// Whether the serial matches the pattern (`fnmatch`).
    func serialMatches(_ serial: String) -> Bool {
        guard let pattern = self.serial else { return true }
        return fnmatch(pattern, serial, 0) == 0
    }

    /// Whether a file in these partitions may hold a matching run (`date=` and `station=`
    /// folders; the station folder is the sanitized id, so only an exact match prunes).
    func mayMatch(partitions: [String: String]) -> Bool {
        if let station, let folder = partitions["station"], folder != RunMaterializer.sanitize(station) { return false }
        if let date = partitions["date"], let day = Self.dayStart(date) {
            let dayEnd = day + 86_400_000_000
            if let from, dayEnd <= from { return false }
            if let to, day >= to { return false }
        }
        return true
    }

    /// Microseconds at the start of a UTC day `YYYY-MM-DD`, or nil.
    static func dayStart(_ text: String) -> Int64? {
        parseTime(text)
    }

    /// `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` as µs since the epoch.
    public static func parseTime(_ text: String) -> Int64? {
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) })
        guard parts.count == 3 || (parts.count == 6 && text.hasSuffix("Z")) else { return nil }
        guard let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var seconds = 0.0
        var minutes = 0
        var hours = 0
        if parts.count == 6 {
            guard let h = Int(parts[3]), let m = Int(parts[4]), let s = Double(parts[5]), (0..<24).contains(h), (0..<60).contains(m), s >= 0, s < 61 else {
                return nil
            }
            hours = h
            minutes = m
            seconds = s
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let whole = Int64(days) * 86_400 + Int64(hours * 3600 + minutes * 60)
        return whole * 1_000_000 + Int64((seconds * 1_000_000).rounded())
    }
}
