/// The `features` rule's options (see docs/formats.md, "features options"):
///
///     label = churned
///     drop = customer_id
///     standardize = tenure, monthly_charges      minmax = ...      log1p = total_charges
///     one_hot = contract, internet_service
///     impute = total_charges:median, contract:mode, senior:constant=0
///     bucketize = tenure:0|12|24|48              (boundaries separated by '|')
///     split = 0.8    stratify = true             (or: test = dataset:OTHER, handled by the caller)
///     allow_pii = email                          (a `pii` column that may be a feature)
///     pseudonymize = zip                         (one_hot string columns fitted on HMAC tokens; the
///                                                 key, `pseudonymize_key`, is the caller's)
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
    /// `pii` columns the user allows as features (any other pii column must be dropped or an id).
    public var allowPII: [String]
    /// One-hot string columns whose values are replaced by HMAC-SHA-256 tokens before fitting.
    public var pseudonymize: [String] = []

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
        stratify: Bool = false, seed: UInt64 = 0, allowPII: [String] = []
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
        self.allowPII = allowPII
    }

    public static func == (a: FeatureSpec, b: FeatureSpec) -> Bool {
        a.label == b.label && a.drop == b.drop && a.standardize == b.standardize && a.minmax == b.minmax
            && a.oneHot == b.oneHot && a.log1p == b.log1p && a.impute.map(\.column) == b.impute.map(\.column)
            && a.impute.map(\.strategy) == b.impute.map(\.strategy) && a.bucketize.map(\.column) == b.bucketize.map(\.column)
            && a.bucketize.map(\.boundaries) == b.bucketize.map(\.boundaries) && a.split == b.split
            && a.stratify == b.stratify && a.seed == b.seed && a.allowPII == b.allowPII && a.pseudonymize == b.pseudonymize
    }

    /// The option keys read here (`test` is the caller's: it names another target).
    public static let keys: Set<String> = [
        "label", "drop", "standardize", "minmax", "one_hot", "log1p", "impute", "bucketize", "split", "stratify", "allow_pii",
        "pseudonymize",
    ]

    /// Reads Mlfile option values (lists as comma-separated text). `hasHoldout`: the target has
    /// `test = dataset:OTHER`, so `split` must not be given. Errors name the key and the Character
    /// offset of the bad item within the value; the first one is thrown (see `parsing`).
    public init(options: [String: String], seed: UInt64, hasHoldout: Bool = false) throws {
        let (spec, errors) = Self.parsing(options: options, seed: seed, hasHoldout: hasHoldout)
        if let first = errors.first { throw first }
        self = spec
    }

    /// Like `init(options:seed:hasHoldout:)`, with every problem (one per bad item or key)
    /// instead of the first, and the spec read from the good ones.
    public static func parsing(options: [String: String], seed: UInt64, hasHoldout: Bool = false) -> (spec: FeatureSpec, errors: [DatasetError]) {
        var errors: [DatasetError] = []
        let label = options["label"]?.trimmingCharacters(in: .whitespaces) ?? ""
        if label.isEmpty {
            errors.append(.option(key: "label", offset: nil, message: "a features target needs `label = COLUMN`"))
        }
        var spec = FeatureSpec(label: label, seed: seed)
        spec.drop = OptionList.split(options["drop"] ?? "")
        spec.standardize = OptionList.split(options["standardize"] ?? "")
        spec.minmax = OptionList.split(options["minmax"] ?? "")
        spec.oneHot = OptionList.split(options["one_hot"] ?? "")
        spec.log1p = OptionList.split(options["log1p"] ?? "")
        spec.allowPII = OptionList.split(options["allow_pii"] ?? "")
        spec.pseudonymize = OptionList.split(options["pseudonymize"] ?? "")
        for (item, offset) in OptionList.splitWithOffsets(options["impute"] ?? "") {
            guard let colon = item.firstIndex(of: ":") else {
                errors.append(.option(key: "impute", offset: offset, message: "'\(item)': expected COLUMN:STRATEGY (mean, median, mode or constant=VALUE)"))
                continue
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
                    errors.append(.option(key: "impute", offset: offset, message: "'\(item)': unknown strategy '\(how)' (expected mean, median, mode or constant=VALUE)"))
                    continue
                }
                strategy = .constant(String(how.dropFirst("constant=".count)).trimmingCharacters(in: .whitespaces))
            }
            if spec.impute.contains(where: { $0.column == column }) {
                errors.append(.option(key: "impute", offset: offset, message: "column '\(column)' given twice"))
                continue
            }
            spec.impute.append((column, strategy))
        }
        items: for (item, offset) in OptionList.splitWithOffsets(options["bucketize"] ?? "") {
            guard let colon = item.firstIndex(of: ":") else {
                errors.append(.option(key: "bucketize", offset: offset, message: "'\(item)': expected COLUMN:B1|B2|... (boundaries separated by '|')"))
                continue
            }
            let column = item[..<colon].trimmingCharacters(in: .whitespaces)
            let parts = item[item.index(after: colon)...].split(separator: "|", omittingEmptySubsequences: false)
            var bounds: [Double] = []
            for part in parts {
                guard let b = Double(part.trimmingCharacters(in: .whitespaces)), b.isFinite else {
                    errors.append(.option(key: "bucketize", offset: offset, message: "'\(item)': boundary '\(part)' is not a number"))
                    continue items
                }
                if let last = bounds.last, b <= last {
                    errors.append(.option(key: "bucketize", offset: offset, message: "'\(item)': boundaries must increase strictly"))
                    continue items
                }
                bounds.append(b)
            }
            if spec.bucketize.contains(where: { $0.column == column }) {
                errors.append(.option(key: "bucketize", offset: offset, message: "column '\(column)' given twice"))
                continue
            }
            spec.bucketize.append((column, bounds))
        }
        spec.split = hasHoldout ? nil : Self.defaultSplit
        if let v = options["split"] {
            if hasHoldout {
                errors.append(.option(key: "split", offset: nil, message: "give either `split` or `test = dataset:OTHER`, not both"))
            } else if let x = Double(v.trimmingCharacters(in: .whitespaces)), x > 0, x < 1 {
                spec.split = x
            } else {
                errors.append(.option(key: "split", offset: nil, message: "expected the train fraction, a number strictly between 0 and 1, got '\(v)'"))
            }
        }
        if let v = options["stratify"] {
            switch v.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "yes": spec.stratify = true
            case "false", "no": spec.stratify = false
            default: errors.append(.option(key: "stratify", offset: nil, message: "expected true or false, got '\(v)'"))
            }
            if hasHoldout, spec.stratify {
                errors.append(.option(key: "stratify", offset: nil, message: "stratify applies to a random split, not to `test = dataset:OTHER`"))
            }
        }
        return (spec, errors)
    }
}
