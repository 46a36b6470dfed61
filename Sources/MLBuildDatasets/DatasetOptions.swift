/// Dataset-level rules and cell spellings (the `dataset` kind's options besides `source`,
/// `schema` and `baseline`).
public struct DatasetOptions: Sendable, Equatable, Codable {
    /// Per column: fail when nulls / rows exceeds this. 1.0 (the default) turns the check off.
    public var maxNullFraction: Double
    /// Fail when the dataset has fewer rows. 0 (the default) turns the check off.
    public var minRows: Int
    /// A combined key: no two rows may share all these columns' values. Empty = off.
    public var uniqueKey: [String]
    /// Extra null spellings, matched exactly against the trimmed cell. Empty and
    /// whitespace-only cells are always null.
    public var nullValues: [String]
    /// Extra bool spellings, matched case-insensitively, added to the defaults
    /// (true/false, yes/no, 1/0, t/f, y/n).
    public var trueValues: [String]
    public var falseValues: [String]
    /// PSI threshold against `baseline` (default 0.2).
    public var maxPSI: Double

    public static let defaultTrueValues = ["true", "yes", "1", "t", "y"]
    public static let defaultFalseValues = ["false", "no", "0", "f", "n"]

    public init(
        maxNullFraction: Double = 1.0, minRows: Int = 0, uniqueKey: [String] = [], nullValues: [String] = [],
        trueValues: [String] = [], falseValues: [String] = [], maxPSI: Double = 0.2
    ) {
        self.maxNullFraction = maxNullFraction
        self.minRows = minRows
        self.uniqueKey = uniqueKey
        self.nullValues = nullValues
        self.trueValues = trueValues
        self.falseValues = falseValues
        self.maxPSI = maxPSI
    }

    enum CodingKeys: String, CodingKey {
        case maxNullFraction = "max_null_fraction", minRows = "min_rows", uniqueKey = "unique"
        case nullValues = "null_values", trueValues = "true_values", falseValues = "false_values"
        case maxPSI = "max_psi"
    }

    /// The option keys this type reads from an Mlfile `dataset` target.
    public static let keys: Set<String> = [
        "max_null_fraction", "min_rows", "unique", "null_values", "true_values", "false_values", "max_psi",
    ]

    /// Reads options from Mlfile values (lists are comma-separated text). Keys not in `keys` are
    /// ignored here (the caller owns the other keys and unknown-key errors). Throws the first
    /// `DatasetError.option` (naming the key) that `parsing` finds.
    public init(options: [String: String]) throws {
        let (parsed, errors) = Self.parsing(options: options)
        if let first = errors.first { throw first }
        self = parsed
    }

    /// Like `init(options:)`, with every problem instead of the first, and the options read
    /// from the good values (the defaults for the bad ones).
    public static func parsing(options: [String: String]) -> (options: DatasetOptions, errors: [DatasetError]) {
        var parsed = DatasetOptions()
        var errors: [DatasetError] = []
        if let v = options["max_null_fraction"] {
            if let x = Double(v.trimmingCharacters(in: .whitespaces)), x >= 0, x <= 1 {
                parsed.maxNullFraction = x
            } else {
                errors.append(.option(key: "max_null_fraction", offset: nil, message: "expected a number in [0, 1], got '\(v)'"))
            }
        }
        if let v = options["min_rows"] {
            if let x = Int(v.trimmingCharacters(in: .whitespaces)), x >= 0 {
                parsed.minRows = x
            } else {
                errors.append(.option(key: "min_rows", offset: nil, message: "expected a non-negative integer, got '\(v)'"))
            }
        }
        if let v = options["max_psi"] {
            if let x = Double(v.trimmingCharacters(in: .whitespaces)), x >= 0, x.isFinite {
                parsed.maxPSI = x
            } else {
                errors.append(.option(key: "max_psi", offset: nil, message: "expected a non-negative number, got '\(v)'"))
            }
        }
        if let v = options["unique"] { parsed.uniqueKey = OptionList.split(v) }
        if let v = options["null_values"] { parsed.nullValues = OptionList.split(v) }
        if let v = options["true_values"] { parsed.trueValues = OptionList.split(v) }
        if let v = options["false_values"] { parsed.falseValues = OptionList.split(v) }
        errors += parsed.problems()
        return (parsed, errors)
    }

    /// Checks the options are consistent on their own (not against a schema).
    public func validate() throws {
        if let first = problems().first { throw first }
    }

    /// Every inconsistency `validate()` would throw the first of.
    public func problems() -> [DatasetError] {
        var out: [DatasetError] = []
        let t = Set((Self.defaultTrueValues + trueValues).map { $0.lowercased() })
        let f = Set((Self.defaultFalseValues + falseValues).map { $0.lowercased() })
        if let both = t.intersection(f).sorted().first {
            out.append(.option(key: "true_values", offset: nil, message: "'\(both)' is both a true and a false spelling"))
        }
        for dup in Dictionary(grouping: uniqueKey, by: { $0 }).filter({ $0.value.count > 1 }).keys.sorted() {
            out.append(.option(key: "unique", offset: nil, message: "column '\(dup)' listed twice"))
        }
        return out
    }

    /// Checks the options against a schema: every `unique` column is declared.
    public func validate(against schema: Schema) throws {
        if let first = problems(against: schema).first { throw first }
    }

    /// Every `unique` column the schema does not declare.
    public func problems(against schema: Schema) -> [DatasetError] {
        uniqueKey.filter { schema.index(of: $0) == nil }.map {
            .option(key: "unique", offset: nil, message: "column '\($0)' is not declared in the schema")
        }
    }
}

/// Comma-separated option lists: items trimmed, empty items dropped.
enum OptionList {
    static func split(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
    }

    /// Items with their Character offsets into `text` (for option errors with a caret).
    static func splitWithOffsets(_ text: String) -> [(item: String, offset: Int)] {
        var out: [(String, Int)] = []
        var offset = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let lead = part.prefix { $0.isWhitespace || $0.isNewline }.count
            let item = part.trimmingCharacters(in: .whitespacesAndNewlines)
            if !item.isEmpty { out.append((item, offset + lead)) }
            offset += part.count + 1
        }
        return out
    }
}
