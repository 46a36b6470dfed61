#if canImport(Glibc)
import Glibc
#endif

/// Rows printed as a table: columns aligned with two spaces on a terminal, tab-separated (no
/// padding, no colour) when standard output is a pipe or file, so scripts can split on tabs.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(aligned: Bool = isatty(1) == 1) -> String {
        let all = [header] + rows
        guard aligned else { return all.map { $0.joined(separator: "\t") + "\n" }.joined() }
        var widths = [Int](repeating: 0, count: header.count)
        for row in all { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return all.map { row in
            var line = ""
            for (i, cell) in row.enumerated() {
                let last = i == row.count - 1
                line += last ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }
            return line + "\n"
        }.joined()
    }
}
