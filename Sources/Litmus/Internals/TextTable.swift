/// Plain-text tables for terminal output: columns padded to their widest cell, two spaces
/// apart, the last column left unpadded. Used by the `litmus` commands and the analytics
/// reports (`litmus metrics`, `litmus runs rejudge`).
public enum TextTable {
    /// The header line and one line per row, joined with newlines (no trailing newline).
    public static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
