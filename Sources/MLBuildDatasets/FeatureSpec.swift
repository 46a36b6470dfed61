/// The `features` rule's options (see docs/formats.md, "features options"):
///
///     label = churned
///     drop = customer_id
///     standardize = tenure, monthly_charges      minmax = ...      log1p = total_charges
///     one_hot = contract, internet_service
///     impute = total_charges:median, contract:mode, senior:constant=0
///     bucketize = tenure:0|12|24|48              (boundaries separated by '|')
///     split = 0.8    stratify = true             (or: test = dataset:OTHER, handled by the caller)
public struct FeatureSpec: Sendable, Equatable {
    public var label: String
    public var drop: [String]
    public var standardize: [String]
    public var minmax: [String]
    public var oneHot: [String]
    public var log1p: [String]
    /// Per column, in the order written.
    public var impute: [(column: String, strategy: ImputeStrategy)]
    /// Per column: strictly increasing boundaries.
    public var bucketize: [(column: String, boundaries: [Double])]
    /// Train fraction of a random split; nil when a holdout dataset is the test set.
    public var split: Double?
    public var stratify: Bool
    public var seed: UInt64

    public static let defaultSplit = 0.8

    public enum ImputeStrategy: Sendable, Equatable {
        case mean, median, mode
        /// The replacement as raw cell text, read with the column's type.
        case constant(String)

        var name: String {
            switch self {
            case .mean: "mean"
            case .median: "median"
            case .mode: "mode"
            case .constant(let v): "constant=\(v)"
            }
        }
    }

    public init(
        label: String, drop: [String] = [], standardize: [String] = [], minmax: [String] = [], oneHot: [String] = [],
        log1p: [String] = [], impute: [(column: String, strategy: ImputeStrategy)] = [],
        bucketize: [(column: String, boundaries: [Double])] = [], split: Double? = FeatureSpec.defaultSplit,
        stratify: Bool = false, seed: UInt64 = 0
    ) {
        self.label = label
        self.drop = drop
        self.standardize = standardize
        self.minmax = minmax
        self.oneHot = oneHot
        self.log1p = log1p
        self.impute = impute
        self.bucketize = bucketize
        self.split = split
        self.stratify = stratify
        self.seed = seed
    }

    public static func == (a: FeatureSpec, b: FeatureSpec) -> Bool {
        a.label == b.label && a.drop == b.drop && a.standardize == b.standardize && a.minmax == b.minmax
            && a.oneHot == b.oneHot && a.log1p == b.log1p && a.impute.map(\.column) == b.impute.map(\.column)
            && a.impute.map(\.strategy) == b.impute.map(\.strategy) && a.bucketize.map(\.column) == b.bucketize.map(\.column)
            && a.bucketize.map(\.boundaries) == b.bucketize.map(\.boundaries) && a.split == b.split
            && a.stratify == b.stratify && a.seed == b.seed
    }

    /// The option keys read here (`test` is the caller's: it names another target).
    public static let keys: Set<String> = [
        "label", "drop", "standardize", "minmax", "one_hot", "log1p", "impute", "bucketize", "split", "stratify",
    ]

    /// Reads Mlfile option values (lists as comma-separated text). `hasHoldout`: the target has
    /// `test = dataset:OTHER`, so `split` must not be given. Errors name the key and the Character
    /// offset of the bad item within the value.
    public init(options: [String: String], seed: UInt64, hasHoldout: Bool = false) throws {
        guard let label = options["label"]?.trimmingCharacters(in: .whitespaces), !label.isEmpty else {
            throw DatasetError.option(key: "label", offset: nil, message: "a features target needs `label = COLUMN`")
        }
        self.init(label: label, seed: seed)
        drop = OptionList.split(options["drop"] ?? "")
        standardize = OptionList.split(options["standardize"] ?? "")
        minmax = OptionList.split(options["minmax"] ?? "")
        oneHot = OptionList.split(options["one_hot"] ?? "")
        log1p = OptionList.split(options["log1p"] ?? "")
        for (item, offset) in OptionList.splitWithOffsets(options["impute"] ?? "") {
            guard let colon = item.firstIndex(of: ":") else {
                throw DatasetError.option(key: "impute", offset: offset, message: "'\(item)': expected COLUMN:STRATEGY (mean, median, mode or constant=VALUE)")
            }
            let column = item[..<colon].trimmingCharacters(in: .whitespaces)
            let how = item[item.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let strategy: ImputeStrategy
            switch how {
            case "mean": strategy = .mean
            case "median": strategy = .median
            case "mode": strategy = .mode
            default:
                guard how.hasPrefix("constant=") else {
                    throw DatasetError.option(key: "impute", offset: offset, message: "'\(item)': unknown strategy '\(how)' (expected mean, median, mode or constant=VALUE)")
                }
                strategy = .constant(String(how.dropFirst("constant=".count)).trimmingCharacters(in: .whitespaces))
            }
            if impute.contains(where: { $0.column == column }) {
                throw DatasetError.option(key: "impute", offset: offset, message: "column '\(column)' given twice")
            }
            impute.append((column, strategy))
        }
        for (item, offset) in OptionList.splitWithOffsets(options["bucketize"] ?? "") {
            guard let colon = item.firstIndex(of: ":") else {
                throw DatasetError.option(key: "bucketize", offset: offset, message: "'\(item)': expected COLUMN:B1|B2|... (boundaries separated by '|')")
            }
            let column = item[..<colon].trimmingCharacters(in: .whitespaces)
            let parts = item[item.index(after: colon)...].split(separator: "|", omittingEmptySubsequences: false)
            var bounds: [Double] = []
            for part in parts {
                guard let b = Double(part.trimmingCharacters(in: .whitespaces)), b.isFinite else {
                    throw DatasetError.option(key: "bucketize", offset: offset, message: "'\(item)': boundary '\(part)' is not a number")
                }
                if let last = bounds.last, b <= last {
                    throw DatasetError.option(key: "bucketize", offset: offset, message: "'\(item)': boundaries must increase strictly")
                }
                bounds.append(b)
            }
            if bucketize.contains(where: { $0.column == column }) {
                throw DatasetError.option(key: "bucketize", offset: offset, message: "column '\(column)' given twice")
            }
            bucketize.append((column, bounds))
        }
        if let v = options["split"] {
            if hasHoldout {
                throw DatasetError.option(key: "split", offset: nil, message: "give either `split` or `test = dataset:OTHER`, not both")
            }
            guard let x = Double(v.trimmingCharacters(in: .whitespaces)), x > 0, x < 1 else {
                throw DatasetError.option(key: "split", offset: nil, message: "expected the train fraction, a number strictly between 0 and 1, got '\(v)'")
            }
            split = x
        } else {
            split = hasHoldout ? nil : Self.defaultSplit
        }
        if let v = options["stratify"] {
            switch v.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "yes": stratify = true
            case "false", "no": stratify = false
            default: throw DatasetError.option(key: "stratify", offset: nil, message: "expected true or false, got '\(v)'")
            }
            if hasHoldout, stratify {
                throw DatasetError.option(key: "stratify", offset: nil, message: "stratify applies to a random split, not to `test = dataset:OTHER`")
            }
        }
    }
}
