import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine

/// `features NAME` — fitted feature transforms and train/test matrices from a dataset.
///
///     features churn
///         dataset = dataset:churn
///         label = churned
///         drop = customer_id
///         one_hot = contract, internet_service, payment_method
///         standardize = monthly_charges
///         log1p = total_charges
///         impute = total_charges:median
///         bucketize = tenure:6|12|24|48
///         split = 0.8
///         stratify = true
///
/// Or `test = dataset:OTHER` (a holdout of the same schema) instead of `split`/`stratify`.
/// Transforms are fitted on the training rows only. Writes `build/features/NAME/`: `train.bin`,
/// `test.bin`, `transform.json`, `feature_names.json`, `split.json` (docs/formats.md) and
/// `lineage.json` (the datasets' output digests, which `model` targets copy into model.json).
/// The split is seeded with the target's seed.
public struct FeaturesRule: Rule {
    public static let kind = "features"
    public static let version = 2  // 2: text cells must be UTF-8, overflow-free statistics, validated transforms (issue 8)
    /// The train/test split is drawn with the seed (split.json records it).
    public static let usesSeed = true
    public static let summary = "fits feature transforms on a dataset's training split and writes train/test matrices"
    public static let keys: [RuleKey] = [
        RuleKey("dataset", required: true, summary: "dataset:NAME to read"),
        RuleKey("label", required: true, summary: "the target column"),
        RuleKey("drop", .list, summary: "columns left out"),
        RuleKey("standardize", .list, summary: "numeric columns scaled to (x - mean) / std"),
        RuleKey("minmax", .list, summary: "numeric columns scaled to (x - min) / (max - min)"),
        RuleKey("one_hot", .list, summary: "category or string columns, one indicator per value"),
        RuleKey("impute", .list, summary: "COLUMN:mean|median|mode|constant=VALUE, fills nulls"),
        RuleKey("log1p", .list, summary: "numeric columns replaced by ln(1 + x) before scaling"),
        RuleKey("bucketize", .list, summary: "COLUMN:B1|B2|…, one indicator per bucket"),
        RuleKey("split", summary: "train fraction of the seeded random split (default 0.8)"),
        RuleKey("stratify", summary: "keep class ratios in both parts of the split (default false)"),
        RuleKey("test", summary: "dataset:OTHER used as the test set instead of a split"),
        RuleKey("allow_pii", .list, summary: "pii columns allowed as features (any other pii column must be dropped)"),
        RuleKey("pseudonymize", .list, summary: "one_hot string columns fitted on HMAC-SHA-256 tokens of their values; predict and serve need the key (docs/responsible.md)"),
        RuleKey("pseudonymize_key", acceptsSecrets: true, summary: "the HMAC key for pseudonymize: ${secret:NAME}, never written in the Mlfile"),
    ]

    public let name: String
    public let dataset: LocatedReference
    public let holdout: LocatedReference?
    public let spec: FeatureSpec
    /// The secret holding `pseudonymize`'s key.
    public let pseudonymizeSecret: String?

    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        name = configuration.reference.name
        let dataset = diagnostics.attempt { try configuration.reference("dataset", kind: DatasetRule.kind) } ?? nil
        // Never built without one (a missing or bad `dataset` is an Mlfile error).
        self.dataset = dataset ?? LocatedReference(TargetReference(kind: DatasetRule.kind, name: ""), at: configuration.target.nameLocation)
        holdout = diagnostics.attempt { try configuration.reference("test", kind: DatasetRule.kind) } ?? nil
        if let holdout, holdout.reference == dataset?.reference {
            diagnostics.add(configuration.diagnostic("test", "the test dataset must differ from the training dataset"))
        }
        var raw: [String: String] = [:]
        for key in FeatureSpec.keys.sorted() {
            guard let value = configuration.value(key) else { continue }
            raw[key] = value.text
        }
        let hasHoldout = configuration.has("test")
        if hasHoldout, configuration.has("stratify") {
            diagnostics.add(configuration.diagnostic("stratify", "'stratify' applies to a random split; with 'test = dataset:…' every row of the dataset trains"))
            raw["stratify"] = nil  // reported here, not again by FeatureSpec
        }
        let (spec, errors) = FeatureSpec.parsing(options: raw, seed: configuration.seed, hasHoldout: hasHoldout)
        for error in errors {
            if let diagnostic = DatasetValueLocator.diagnostic(for: error, in: configuration) { diagnostics.add(diagnostic) }
        }
        self.spec = spec
        pseudonymizeSecret = DatasetRule.pseudonymization(configuration, schema: nil, diagnostics: &diagnostics).secret
        implicitDependencies = [dataset, holdout].compactMap { $0 }
    }

    /// A pii column that would be a feature, or an `allow_pii` item that is no pii column, when
    /// the dataset's schema is in the Mlfile (a `schema_file` is read at build time, where
    /// `FeatureBuilder.check` finds the same problems).
    public func check(against rules: [TargetReference: any Rule], configuration: TargetConfiguration,
                      diagnostics: inout DiagnosticCollector) {
        guard let datasetRule = rules[dataset.reference] as? DatasetRule, let schema = datasetRule.schema,
              configuration.value("dataset") != nil else { return }
        let allowed = (try? configuration.list("allow_pii")) ?? []
        for problem in FeatureBuilder.piiProblems(spec, schema: schema) {
            if let name = problem.allowed, let item = allowed.first(where: { $0.text == name }) {
                diagnostics.add(configuration.target.source.diagnostic("'allow_pii': \(problem.message.dropFirst("allow_pii: ".count)) of \(dataset.reference)",
                                                                       at: item.location))
            } else {
                diagnostics.add(configuration.diagnostic("dataset", "\(dataset.reference): \(problem.message)"))
            }
        }
        for item in (try? configuration.list("pseudonymize")) ?? [] {
            if let problem = FeatureBuilder.pseudonymizeProblem(item.text, spec: spec, schema: schema) {
                diagnostics.add(configuration.target.source.diagnostic("'pseudonymize': \(problem) of \(dataset.reference)", at: item.location))
            }
        }
    }

    /// The datasets it reads that were named well (a bad name is reported, not depended on).
    public let implicitDependencies: [LocatedReference]

    public var inputs: [InputPattern] { [] }

    public var outputs: [String] { [Self.directory(name)] }

    /// `build/features/NAME`.
    public static func directory(_ name: String) -> String { "build/features/\(name)" }

    /// On the build's work budget, not Swift's cooperative pool (see WorkBudget).
    public func run(_ context: RuleContext) async throws {
        try await context.budget.run { try self.runOnBudget(context) }
    }

    func runOnBudget(_ context: RuleContext) throws {
        let workspace = URL(fileURLWithPath: context.workspace)
        let output = workspace.appendingPathComponent(try context.outputDirectory())
        do {
            let (table, schemaFile) = try DatasetBuilder.load(
                directory: workspace.appendingPathComponent(try context.outputDirectory(of: dataset.reference)))
            let test = try holdout.map {
                try DatasetBuilder.load(directory: workspace.appendingPathComponent(try context.outputDirectory(of: $0.reference))).table
            }
            var key: (secret: String, key: [UInt8])?
            if !spec.pseudonymize.isEmpty {
                guard let secret = pseudonymizeSecret, let value = context.secrets[secret], !value.isEmpty else {
                    throw RuleFailure("pseudonymize_key: the secret \(pseudonymizeSecret ?? "") is not set (export it in the environment mlbuild runs in)")
                }
                key = (secret, Array(value.utf8))
            }
            let result = try FeatureBuilder.build(
                dataset: table, schemaFile: schemaFile, holdout: test, spec: spec, outputDirectory: output, pseudonymizeKey: key)
            try FeaturesLineage(context: context, dataset: dataset.reference, holdout: holdout?.reference)
                .write(to: output.appendingPathComponent(FeaturesLineage.fileName))
            context.output.append(line:
                "\(result.trainRows.count) train rows, \(result.testRows.count) test rows, \(result.transform.featureNames.count) features")
        } catch let error as DatasetError {
            throw RuleFailure("\(error.description)")
        }
    }
}
