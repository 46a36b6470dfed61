/// A value after `${…}` substitution, still knowing where each character came from so that
/// errors about a list item or a bad number point at the exact column.
public struct ResolvedValue: Sendable {
    /// Unicode scalars of the substituted text; fragments (lines) joined by one space.
    public let scalars: [Unicode.Scalar]
    /// `(line, column)` of each scalar (columns count bytes); a substituted `${…}` maps all its
    /// scalars to the `$`.
    let positions: [Position]
    public let source: SourceFile
    /// Where the value starts (used when it is empty).
    public let start: SourceLocation

    struct Position: Sendable {
        var line: Int32
        var column: Int32
    }

    /// Private-use scalars that stand for `${secret:NAME}`, so that no later step can confuse a
    /// secret reference with text; only the task runner swaps in the value.
    public static let secretOpen: Unicode.Scalar = "\u{E000}"
    public static let secretClose: Unicode.Scalar = "\u{E001}"

    public var text: String { Self.string(scalars[...]) }

    /// Builds a String from scalars; ASCII (nearly every Mlfile value) goes through one UTF-8
    /// buffer, which is several times faster than appending to a UnicodeScalarView.
    static func string(_ slice: ArraySlice<Unicode.Scalar>) -> String {
        if slice.allSatisfy({ $0.isASCII }) {
            return String(unsafeUninitializedCapacity: slice.count) { buffer in
                var i = 0
                for scalar in slice {
                    buffer[i] = UInt8(truncatingIfNeeded: scalar.value)
                    i += 1
                }
                return i
            }
        }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: slice)
        return String(s)
    }

    public var isEmpty: Bool { scalars.isEmpty }

    func location(at index: Int) -> SourceLocation {
        guard index >= 0, index < positions.count else { return start }
        return source.location(line: Int(positions[index].line), column: Int(positions[index].column))
    }

    public var location: SourceLocation { scalars.isEmpty ? start : location(at: 0) }

    /// Where the scalar at `index` was written; `end` (one past the last scalar of a range) is
    /// just after the scalar before it, on that scalar's line.
    func location(at index: Int, end: Int) -> SourceLocation {
        if index < end { return location(at: index) }
        guard end > 0, end <= scalars.count else { return start }
        return location(at: end - 1).advanced(by: UTF8.width(scalars[end - 1]))
    }

    /// Where the character at `offset` into `text` was written (what a parser of the whole
    /// value, such as schema text, reports), mapped through each character's own position: right
    /// on continuation lines, and at the `$` for text a `${…}` put there. `offset == text.count`
    /// is just after the last character.
    public func location(atCharacterOffset offset: Int) -> SourceLocation {
        location(at: Self.scalarCount(text, characters: offset), end: scalars.count)
    }

    /// Unicode scalars in the first `characters` Characters of `text`.
    static func scalarCount(_ text: String, characters: Int) -> Int {
        text.prefix(max(0, characters)).unicodeScalars.count
    }

    public func diagnostic(_ message: String, notes: [String] = []) -> Diagnostic {
        source.diagnostic(message, at: location, notes: notes)
    }

    /// One item of a list value, unquoted, with where it starts.
    public struct Item: Sendable {
        public var text: String
        public var location: SourceLocation
        /// The value it came from, its scalars there (quotes included), and whether it was one
        /// quoted string: what maps a place in `text` back to the Mlfile.
        let value: ResolvedValue
        let range: Range<Int>
        let quoted: Bool

        /// Where the character at `offset` into `text` was written (`offset == text.count`: just
        /// after the item). Never past the end of a line: a part of an item on a continuation line
        /// points there, not beyond the end of the line the item starts on.
        public func location(atCharacterOffset offset: Int) -> SourceLocation {
            var wanted = ResolvedValue.scalarCount(text, characters: offset)
            var index = range.lowerBound
            if quoted {
                // Skip the opening quote; an escape is two scalars in the value, one in `text`.
                index += 1
                while wanted > 0, index < range.upperBound - 1 {
                    index += value.scalars[index] == "\\" && index + 2 < range.upperBound ? 2 : 1
                    wanted -= 1
                }
            } else {
                index += wanted
            }
            return value.location(at: min(index, range.upperBound), end: range.upperBound)
        }
    }

    /// The value as a scalar: surrounding white space dropped; a value that is one double-quoted
    /// string is unquoted and unescaped (`\"`, `\\`, `\n`, `\t`).
    public func scalarValue() throws -> String {
        try scalarItem().text
    }

    /// The value as one item (`scalarValue()` with where each of its characters was written).
    func scalarItem() throws -> Item {
        let (lo, hi) = trimmed(0, scalars.count)
        return try item(lo, hi)
    }

    private func item(_ lo: Int, _ hi: Int) throws -> Item {
        Item(text: try unquote(lo, hi), location: hi > lo ? location(at: lo) : location, value: self, range: lo..<hi, quoted: isQuoted(lo, hi))
    }

    /// The value as a comma-separated list. Commas inside quotes or parentheses do not split
    /// (`category(a,b)`); empty items are dropped; each item is trimmed and unquoted.
    public func listItems() throws -> [Item] {
        var items: [Item] = []
        try forEachListItem { lo, hi in items.append(try item(lo, hi)) }
        return items
    }

    /// `listItems().map(\.text)` without making each item's location and back-reference: what
    /// the action key and the rules' path checks read for every target of every run.
    public func listTexts() throws -> [String] {
        var texts: [String] = []
        try forEachListItem { lo, hi in texts.append(try unquote(lo, hi)) }
        return texts
    }

    /// Each list item's text with where it starts (`listItems()` without the rest of each item).
    public func listTextsAndLocations() throws -> [(text: String, location: SourceLocation)] {
        var out: [(text: String, location: SourceLocation)] = []
        try forEachListItem { lo, hi in out.append((try unquote(lo, hi), location(at: lo))) }
        return out
    }

    /// Calls `body` with the scalar range of each non-empty, trimmed list item, in order.
    private func forEachListItem(_ body: (Int, Int) throws -> Void) throws {
        var depth = 0
        var quote: Unicode.Scalar? = nil
        var start = 0
        var i = 0
        func flush(_ end: Int) throws {
            let (lo, hi) = trimmed(start, end)
            if hi > lo { try body(lo, hi) }
        }
        while i < scalars.count {
            let c = scalars[i]
            if let q = quote {
                if c == "\\", q == "\"" { i += 2; continue }
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "(" {
                depth += 1
            } else if c == ")" {
                depth = max(0, depth - 1)
            } else if c == ",", depth == 0 {
                try flush(i)
                start = i + 1
            }
            i += 1
        }
        try flush(scalars.count)
    }

    private func trimmed(_ lo: Int, _ hi: Int) -> (Int, Int) {
        var lo = lo, hi = hi
        while lo < hi, Self.isWhitespace(scalars[lo]) { lo += 1 }
        while hi > lo, Self.isWhitespace(scalars[hi - 1]) { hi -= 1 }
        return (lo, hi)
    }

    /// `Unicode.Scalar.Properties.isWhitespace`, answered without the property tables for ASCII
    /// (nearly every Mlfile character): the table lookup was a tenth of loading a 10,000-target
    /// Mlfile. ASCII white space is U+0009…U+000D and U+0020.
    @inlinable
    public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x80 ? scalar.value == 32 || (scalar.value >= 9 && scalar.value <= 13) : scalar.properties.isWhitespace
    }

    /// The scalars without surrounding white space: what `scalarValue()` returns for a value
    /// that is not one quoted string.
    public var trimmedScalars: ArraySlice<Unicode.Scalar> {
        let (lo, hi) = trimmed(0, scalars.count)
        return scalars[lo..<hi]
    }

    /// Whether the value (trimmed) is one double-quoted string, which `scalarValue()` unquotes.
    public var isOneQuotedString: Bool {
        let (lo, hi) = trimmed(0, scalars.count)
        return isQuoted(lo, hi)
    }

    /// Whether `lo..<hi` is one double-quoted string.
    private func isQuoted(_ lo: Int, _ hi: Int) -> Bool {
        hi - lo >= 2 && scalars[lo] == "\"" && scalars[hi - 1] == "\"" && closingQuote(from: lo) == hi - 1
    }

    private func unquote(_ lo: Int, _ hi: Int) throws -> String {
        guard isQuoted(lo, hi) else {
            return Self.string(scalars[lo..<hi])
        }
        var out = String.UnicodeScalarView()
        var i = lo + 1
        while i < hi - 1 {
            let c = scalars[i]
            if c == "\\", i + 1 < hi - 1 {
                let n = scalars[i + 1]
                switch n {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"", "\\", "$", "#", ",": out.append(n)
                default:
                    throw source.diagnostic("unknown escape '\\\(n)' in a quoted string", at: location(at: i))
                }
                i += 2
            } else {
                out.append(c)
                i += 1
            }
        }
        return String(out)
    }

    /// Index of the `"` closing the string opened at `open`, or nil.
    private func closingQuote(from open: Int) -> Int? {
        var i = open + 1
        while i < scalars.count {
            if scalars[i] == "\\" { i += 2; continue }
            if scalars[i] == "\"" { return i }
            i += 1
        }
        return nil
    }
}
