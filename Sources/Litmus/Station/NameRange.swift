/// Name ranges, for part pins (`GPIO[0:7]` is GPIO0 … GPIO7, `GPIO[0,2,4:6]` is GPIO0, GPIO2,
/// GPIO4, GPIO5, GPIO6) and instrument channels (`CH[1:4]`, or a bare `1:4`). Ends are inclusive, a range may count down (`D[3:0]`), and a leading zero
/// pads to its width (`D[00:03]` is D00 … D03). Text may follow the brackets (`LED[0:1]_N`).
enum NameRange {
    struct Failure: Error, Equatable { var message: String }

    /// Largest number of names one range may produce.
    static let limit = 1024

    /// The names `text` stands for, or nil when it is not a range. A bare `first:last` of
    /// whole numbers (`1:4`) is read as `[1:4]`.
    static func expand(_ text: String) throws(Failure) -> [String]? {
        if !text.contains("["), !text.contains("]"), text.contains(":"),
            text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ":" || $0 == "," || $0 == " ") })
        {
            return try expand("[\(text)]")
        }
        guard let open = text.firstIndex(of: "["), let close = text.lastIndex(of: "]"), open < close else { return nil }
        let prefix = text[..<open]
        let inside = text[text.index(after: open)..<close]
        let suffix = text[text.index(after: close)...]
        if inside.contains("[") || inside.contains("]") || suffix.contains("[") || suffix.contains("]") {
            throw Failure(message: "only one [...] group is allowed")
        }
        if inside.trimmingSpaces.isEmpty { throw Failure(message: "the brackets are empty") }
        var names: [String] = []
        for item in inside.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
            guard (1...2).contains(ends.count) else {
                throw Failure(message: "\"\(item.trimmingSpaces)\" is not an index or a range first:last (steps are not supported)")
            }
            var numbers: [Int] = []
            for end in ends {
                guard !end.isEmpty, end.count <= 6, end.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(end) else {
                    throw Failure(message: "\"\(end)\" is not an index (write whole numbers such as 0:7)")
                }
                numbers.append(v)
            }
            let width = ends[0].count > 1 && ends[0].hasPrefix("0") ? ends[0].count : 0
            let first = numbers[0], last = numbers.last!
            let indices = first <= last ? Array(first...last) : Array((last...first).reversed())
            if names.count + indices.count > limit {
                throw Failure(message: "the range gives more than \(limit) names")
            }
            for i in indices {
                let digits = String(i)
                names.append(prefix + String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits + suffix)
            }
        }
        return names
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

extension String {
    fileprivate var trimmingSpaces: String { Substring(self).trimmingSpaces }
}
