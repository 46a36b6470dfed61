import MLBuildCore
import MLBuildDatasets
import MLBuildEngine

/// Turns a Character offset into an Mlfile value's text (what `SchemaParseError` and
/// `DatasetError.option` report) back into an Mlfile line and column, so that errors about one
/// item of a long multi-line value point at that item.
///
/// The value's text is its fragments (lines) joined by one space, so an offset is mapped through
/// the list item that holds it: the item's own location, moved right along the item when the
/// source line really holds the text up to the offset (it does unless the item spans lines or
/// holds a `${…}` substitution; then the item's start is the answer).
enum DatasetValueLocator {
    static func location(in value: ResolvedValue, offset: Int) -> SourceLocation {
        let characters = Array(value.text)
        let offset = max(0, min(offset, characters.count))
        // Start offsets of the items as the schema and option parsers split them: commas outside
        // parentheses and double quotes.
        var starts: [Int] = [0]
        var depth = 0
        var inQuotes = false
        for (i, c) in characters.enumerated() {
            if inQuotes {
                if c == "\"" { inQuotes = false }
            } else if c == "\"" {
                inQuotes = true
            } else if c == "(" {
                depth += 1
            } else if c == ")" {
                depth = max(0, depth - 1)
            } else if c == ",", depth == 0 {
                starts.append(i + 1)
            }
        }
        // Non-empty items only, as `listItems()` keeps them.
        var nonEmpty: [(start: Int, end: Int)] = []
        for (n, start) in starts.enumerated() {
            let end = n + 1 < starts.count ? starts[n + 1] - 1 : characters.count
            var first = start
            while first < end, characters[first].isWhitespace { first += 1 }
            if first < end { nonEmpty.append((first, end)) }
        }
        guard let items = try? value.listItems(), items.count == nonEmpty.count, !items.isEmpty else {
            return value.location
        }
        let index = nonEmpty.lastIndex { $0.start <= offset } ?? 0
        let item = items[index]
        let delta = offset - nonEmpty[index].start
        guard delta > 0 else { return item.location }
        let line = item.location.line
        let lines = value.source.lines
        guard line >= 1, line <= lines.count else { return item.location }
        let sourceScalars = Array(lines[line - 1].unicodeScalars)
        let wanted = Array(String(characters[nonEmpty[index].start ..< offset]).unicodeScalars)
        let from = item.location.column - 1
        guard from >= 0, from + wanted.count <= sourceScalars.count,
              Array(sourceScalars[from ..< from + wanted.count]) == wanted
        else { return item.location }
        return item.location.advanced(by: wanted.count)
    }

    /// A diagnostic at `offset` into `value` (at the value itself when the offset is unknown).
    static func diagnostic(_ message: String, in value: ResolvedValue, offset: Int?) -> Diagnostic {
        guard let offset else { return value.diagnostic(message) }
        return value.source.diagnostic(message, at: location(in: value, offset: offset))
    }
}

extension DatasetValueLocator {
    /// The diagnostic for an error the data library threw while reading a target's options:
    /// `DatasetError.option` points at the offending item of that key's value.
    static func diagnostic(for error: Error, in configuration: TargetConfiguration) -> Diagnostic {
        guard case let DatasetError.option(key, offset, message) = error else {
            return configuration.target.diagnostic("\(error)")
        }
        guard let value = configuration.value(key) else {
            return configuration.target.diagnostic("'\(key)': \(message)")
        }
        return diagnostic("'\(key)': \(message)", in: value, offset: offset)
    }
}
