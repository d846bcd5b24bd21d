import Foundation
import LitmusJSON

extension RunTable {
    /// The table as CSV: a header of column names, then one line per row (RFC 4180 quoting;
    /// a null is an empty field). What `litmus runs export --csv` and the web screen's
    /// download write.
    public func csv() -> String {
        var out = columns.map { Self.csvField($0.name) }.joined(separator: ",") + "\n"
        for row in 0..<rowCount {
            out += columns.map { c in c.valid[row] ? Self.csvField(Self.text(c.json(row)) ?? "") : "" }.joined(separator: ",") + "\n"
        }
        return out
    }

    /// The table as JSON Lines: one object per row with its non-null columns.
    public func jsonLines() -> String {
        var out = ""
        for row in 0..<rowCount {
            var j = JSONBuffer()
            j.beginObject()
            for c in columns where c.valid[row] {
                j.key(c.name)
                j.value(c.json(row))
            }
            j.endObject()
            out += String(decoding: j.bytes, as: UTF8.self) + "\n"
        }
        return out
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
