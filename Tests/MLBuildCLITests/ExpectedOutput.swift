import Foundation

/// How a documented command's output is compared with a real run's (docs/README.md, "Checked
/// examples"): line by line, after trailing blanks are cut and volatile values (durations) are
/// replaced on both sides; `…` in a documented line matches any text, and a line holding only
/// `…` matches any number of lines. A non-zero exit status is the last line, `[exit N]`.
enum ExpectedOutput {
    /// One step of an alignment of documented lines with real ones.
    enum Edit: Equatable {
        /// A documented line that matches a real one (its text, masks and all, is kept).
        case match(String)
        /// A documented `…` line and the real lines it stands for.
        case elided(String, [String])
        /// A documented line that no real line matches.
        case missing(String)
        /// A real line that no documented line matches.
        case unexpected(String)
        /// A documented line that changed into a real one.
        case changed(String, String)
    }

    /// The real output as documented lines: the text's lines (trailing blanks cut, trailing
    /// empty lines dropped), then `[exit N]` when the status is not 0.
    static func lines(of output: String, status: Int32) -> [String] {
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map { trimmingTrailingBlanks(String($0)) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        if status != 0 { lines.append("[exit \(status)]") }
        return lines
    }

    /// Whether `documented` describes `actual` exactly.
    static func matches(_ documented: [String], _ actual: [String]) -> Bool {
        matches(align(documented, actual))
    }

    /// Whether an alignment found every line where it was documented.
    static func matches(_ edits: [Edit]) -> Bool {
        edits.allSatisfy { edit in
            switch edit {
            case .match, .elided: return true
            case .missing, .unexpected, .changed: return false
            }
        }
    }

    /// The cheapest alignment (fewest missing, unexpected and changed lines). Ties prefer a
    /// match, so an unchanged line keeps its documented text when the update mode rewrites the
    /// block, then a changed line, so a new line takes the old one's place even next to a `…`.
    static func align(_ documented: [String], _ actual: [String]) -> [Edit] {
        let n = documented.count, m = actual.count
        let unreachable = Int.max / 2
        // cost[i][j]: the cheapest alignment of documented[i...] with actual[j...].
        var cost = Array(repeating: Array(repeating: unreachable, count: m + 1), count: n + 1)
        for j in 0...m { cost[n][j] = m - j }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m, through: 0, by: -1) {
                if isElision(documented[i]) {
                    cost[i][j] = min(cost[i + 1][j], j < m ? cost[i][j + 1] : unreachable)
                    continue
                }
                var best = 1 + cost[i + 1][j]
                if j < m {
                    best = min(best, 1 + cost[i][j + 1], 1 + cost[i + 1][j + 1])
                    if lineMatches(documented[i], actual[j]) { best = min(best, cost[i + 1][j + 1]) }
                }
                cost[i][j] = best
            }
        }
        var edits: [Edit] = []
        var i = 0, j = 0
        var elided: [String] = []
        while i < n || j < m {
            if i == n {
                edits.append(.unexpected(actual[j])); j += 1
            } else if isElision(documented[i]) {
                if cost[i][j] == cost[i + 1][j] {
                    edits.append(.elided(documented[i], elided)); elided = []; i += 1
                } else {
                    elided.append(actual[j]); j += 1
                }
            } else if j < m && lineMatches(documented[i], actual[j]) && cost[i][j] == cost[i + 1][j + 1] {
                edits.append(.match(documented[i])); i += 1; j += 1
            } else if j < m && cost[i][j] == 1 + cost[i + 1][j + 1] {
                edits.append(.changed(documented[i], actual[j])); i += 1; j += 1
            } else if cost[i][j] == 1 + cost[i + 1][j] {
                edits.append(.missing(documented[i])); i += 1
            } else {
                edits.append(.unexpected(actual[j])); j += 1
            }
        }
        return edits
    }

    /// The block's lines after an update: documented lines that still match are kept as written
    /// (with their masks), missing ones dropped, unexpected real lines taken in.
    static func rewritten(_ edits: [Edit]) -> [String] {
        edits.compactMap { edit in
            switch edit {
            case .match(let line), .elided(let line, _), .unexpected(let line), .changed(_, let line): return line
            case .missing: return nil
            }
        }
    }

    /// A readable difference: `-` documented only, `+` real only, two spaces for both.
    static func difference(_ edits: [Edit]) -> String {
        edits.map { edit in
            switch edit {
            case .match(let line): return "  " + line
            case .elided(let line, let lines): return "  " + line + "   (\(lines.count) lines)"
            case .missing(let line): return "- " + line
            case .unexpected(let line): return "+ " + line
            case .changed(let old, let new): return "- " + old + "\n+ " + new
            }
        }.joined(separator: "\n")
    }

    /// A documented line standing for any number of real lines: `…` alone (indentation allowed).
    static func isElision(_ line: String) -> Bool {
        line.trimmingCharacters(in: .whitespaces) == "…"
    }

    /// Whether one documented line describes one real line: equal after volatile values are
    /// replaced, where each `…` matches any text (none included).
    static func lineMatches(_ documented: String, _ actual: String) -> Bool {
        let pattern = normalized(trimmingTrailingBlanks(documented))
        let text = normalized(trimmingTrailingBlanks(actual))
        let parts = pattern.split(separator: "…", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return pattern == text }
        guard let first = parts.first, let last = parts.last,
              text.hasPrefix(first), text.count >= first.count + last.count, text.hasSuffix(last)
        else { return false }
        // Leftmost matching of the middle parts is enough when the only wildcard is "any text".
        var rest = text.dropFirst(first.count).dropLast(last.count)
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }

    /// Durations (`(0.42s)`, `in 0.52s`, `"seconds":0.12`) differ on every run: each is replaced
    /// by a fixed one on both sides, so the docs may show a real value and still match.
    static func normalized(_ line: String) -> String {
        line.replacing(#/\b[0-9]+\.[0-9]+s\b/#, with: "0.00s")
            .replacing(#/"seconds":[0-9.eE+-]+/#, with: #""seconds":0"#)
    }

    private static func trimmingTrailingBlanks(_ line: String) -> String {
        var line = Substring(line)
        while let last = line.last, last == " " || last == "\t" || last == "\r" { line.removeLast() }
        return String(line)
    }
}
