/// One violated validation rule: which column, which rule, how many rows, the first lines.
public struct Violation: Sendable, Equatable {
    /// nil for dataset-level rules (`min_rows`, `unique(...)` over several columns).
    public var column: String?
    /// Stable rule id: type, utf8, not_null, min, max, category, unique, max_null_fraction, min_rows.
    public var rule: String
    /// The rule as the user wrote it, e.g. `min=0`, `category(a, b)`, `unique(a, b)`.
    public var detail: String
    /// Offending rows (or, for min_rows, the row count).
    public var count: Int
    /// The first (at most 5) offending physical line numbers, ascending.
    public var lines: [Int]
    /// The first offending cell's text, when there is one.
    public var example: String?
    /// Extra context (e.g. `30 of 100 rows null (0.3)`).
    public var note: String?

    public static let maxLines = 5

    public init(column: String?, rule: String, detail: String, count: Int, lines: [Int], example: String? = nil, note: String? = nil) {
        self.column = column
        self.rule = rule
        self.detail = detail
        self.count = count
        self.lines = lines
        self.example = example
        self.note = note
    }

    /// e.g. `column 'tenure': min=0 violated by 2 rows (lines 4, 9; first value '-3')`.
    public var description: String {
        let subject = column.map { "column '\($0)'" } ?? "dataset"
        var out = "\(subject): \(detail) violated"
        if let note { out += ": \(note)" } else { out += " by \(count) row\(count == 1 ? "" : "s")" }
        var parts: [String] = []
        if !lines.isEmpty {
            let list = lines.map(String.init).joined(separator: ", ")
            parts.append(count > lines.count ? "first lines \(list)" : (lines.count == 1 ? "line \(list)" : "lines \(list)"))
        }
        if let example { parts.append("first value '\(example)'") }
        if !parts.isEmpty { out += " (" + parts.joined(separator: "; ") + ")" }
        return out
    }
}

/// Counts one rule's offending rows, keeping the first lines and value.
struct ViolationTally: Sendable {
    var count = 0
    var lines: [Int] = []
    var example: String?

    @inline(__always)
    mutating func add(line: Int, example: @autoclosure () -> String?) {
        if count == 0 { self.example = example() }
        count += 1
        if lines.count < Violation.maxLines { lines.append(line) }
    }
}
