/// A value after `${…}` substitution, still knowing where each character came from so that
/// errors about a list item or a bad number point at the exact column.
public struct ResolvedValue: Sendable {
    /// Unicode scalars of the substituted text; fragments (lines) joined by one space.
    public let scalars: [Unicode.Scalar]
    /// `(line, column)` of each scalar; a substituted `${…}` maps all its scalars to the `$`.
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

    public func diagnostic(_ message: String, notes: [String] = []) -> Diagnostic {
        source.diagnostic(message, at: location, notes: notes)
    }

    /// One item of a list value, unquoted, with where it starts.
    public struct Item: Sendable {
        public var text: String
        public var location: SourceLocation
    }

    /// The value as a scalar: surrounding white space dropped; a value that is one double-quoted
    /// string is unquoted and unescaped (`\"`, `\\`, `\n`, `\t`).
    public func scalarValue() throws -> String {
        let (lo, hi) = trimmed(0, scalars.count)
        return try unquote(lo, hi)
    }

    /// The value as a comma-separated list. Commas inside quotes or parentheses do not split
    /// (`category(a,b)`); empty items are dropped; each item is trimmed and unquoted.
    public func listItems() throws -> [Item] {
        var items: [Item] = []
        var depth = 0
        var quote: Unicode.Scalar? = nil
        var start = 0
        var i = 0
        func flush(_ end: Int) throws {
            let (lo, hi) = trimmed(start, end)
            if hi > lo { items.append(Item(text: try unquote(lo, hi), location: location(at: lo))) }
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
        return items
    }

    private func trimmed(_ lo: Int, _ hi: Int) -> (Int, Int) {
        var lo = lo, hi = hi
        while lo < hi, scalars[lo].properties.isWhitespace { lo += 1 }
        while hi > lo, scalars[hi - 1].properties.isWhitespace { hi -= 1 }
        return (lo, hi)
    }

    private func unquote(_ lo: Int, _ hi: Int) throws -> String {
        guard hi - lo >= 2, scalars[lo] == "\"", scalars[hi - 1] == "\"", closingQuote(from: lo) == hi - 1 else {
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
