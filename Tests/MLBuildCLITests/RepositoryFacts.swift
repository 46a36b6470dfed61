import Foundation

/// Facts the README states about the repository, read from the files that decide them.
enum RepositoryFacts {
    /// The Debian packages `scripts/install-deps` installs: its `packages=(…)` line, and the
    /// `packages+=(…)` lines it adds with `--tests` and with `--bench` (each under its
    /// `if [[ "${1:-}" == "--FLAG" ]]` line).
    static func installDepsPackages(_ script: String) -> (base: [String], tests: [String], bench: [String]) {
        var base: [String] = [], tests: [String] = [], bench: [String] = []
        var flag = ""
        for line in script.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("if "), let match = line.firstMatch(of: #/== "(--[a-z]+)"/#) { flag = String(match.output.1) }
            if line.hasPrefix("packages=("), line.hasSuffix(")") {
                base += line.dropFirst("packages=(".count).dropLast().split(separator: " ").map(String.init)
            } else if line.hasPrefix("packages+=("), line.hasSuffix(")") {
                let names = line.dropFirst("packages+=(".count).dropLast().split(separator: " ").map(String.init)
                if flag == "--bench" { bench += names } else { tests += names }
            }
        }
        return (base, tests, bench)
    }

    /// The `backticked` names in the last cell of the README table row starting with `row`.
    static func readmePackages(_ readme: String, row: String) -> [String] {
        guard let line = readme.split(separator: "\n").first(where: { $0.hasPrefix(row) }) else { return [] }
        let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let last = cells.last else { return [] }
        return last.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// The test targets named (`…Tests`) in the README's layout, below its `Tests/` line.
    static func readmeTestTargets(_ readme: String) -> Set<String> {
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("Tests/") }) else { return [] }
        var names: Set<String> = []
        for line in lines[start...].dropFirst().prefix(while: { $0.hasPrefix(" ") }) {
            for match in line.matches(of: #/[A-Z][A-Za-z]*Tests/#) { names.insert(String(match.output)) }
        }
        return names
    }

    /// The first line of `excerpt` (and its offset) that does not follow from the lines before
    /// it; nil when the excerpt holds. An excerpt is runs of consecutive lines of `source`, in
    /// order; blank and comment lines of the source may be left out anywhere, other lines only
    /// where the excerpt has a line holding only `…` (and before its first line).
    static func firstLineNotInOrder(_ excerpt: [String], of source: String) -> (Int, String)? {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var next = lines.startIndex
        var skipping = true
        for (offset, line) in excerpt.enumerated() {
            if line.trimmingCharacters(in: .whitespaces) == "…" {
                skipping = true
                continue
            }
            var found: Int?
            if skipping {
                found = lines[next...].firstIndex(of: line)
            } else {
                var index = next
                while index < lines.endIndex && lines[index] != line && isBlankOrComment(lines[index]) { index += 1 }
                found = index < lines.endIndex && lines[index] == line ? index : nil
            }
            guard let found else { return (offset, line) }
            next = found + 1
            skipping = false
        }
        return nil
    }

    private static func isBlankOrComment(_ line: String) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || trimmed.hasPrefix("#")
    }
}
