import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A table for people and for pipes: columns padded with two spaces on a terminal, separated by
/// one tab otherwise (no padding, no colour), one row per line.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    static var standardOutputIsTerminal: Bool { isatty(1) == 1 }

    func render(aligned: Bool = TextTable.standardOutputIsTerminal) -> String {
        let all = [header] + rows
        guard aligned else { return all.map { $0.joined(separator: "\t") }.joined(separator: "\n") }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
