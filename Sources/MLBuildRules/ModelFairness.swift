import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildTraining

/// `fairness = gender, senior_citizen` on a binary classification model: how its decisions on
/// the test split differ across the groups of each listed dataset column (`GroupFairness`:
/// fairlearn's definitions), written to metrics.json's `fairness` member:
///
///     "fairness": {"COLUMN": {"demographic_parity_difference": X, "disparate_impact_ratio": X | null,
///                             "equalized_odds_difference": X,
///                             "groups": [{"auc": X | null, "count": N, "false_positive_rate": X,
///                                         "group": "VALUE" | null, "positives": N,
///                                         "selection_rate": X, "true_positive_rate": X}, …]}, …}
///
/// and, over the listed columns, the worst of each aggregate among the model's metrics (largest
/// difference, smallest ratio), which gates name: `gate = demographic_parity_difference <= 0.1`.
///
/// The columns are the dataset's, not the features': a sensitive attribute is usually dropped
/// from the features. A model sees its features' outputs, so with `fairness` it also depends on
/// the datasets they were made from (`derivedDependencies`) and reads the test rows' values
/// there, through the features' split.json (`test_rows`) and lineage.json (which dataset).
public struct ModelFairness: Sendable {
    /// The columns as written, with where.
    var columns: [ResolvedValue.Item]

    /// Groups a column may have among the test rows: a sensitive attribute is a handful of
    /// groups (gender, an age band), not an id.
    static let maximumGroups = 100

    init(configuration: TargetConfiguration, task: TrainingTask?, diagnostics: inout DiagnosticCollector) {
        var columns: [ResolvedValue.Item] = []
        for item in diagnostics.attempt({ try configuration.list("fairness") }) ?? [] {
            if columns.contains(where: { $0.text == item.text }) {
                diagnostics.add(configuration.target.source.diagnostic("'fairness' lists column '\(item.text)' twice", at: item.location))
                continue
            }
            columns.append(item)
        }
        if task == .regression, !columns.isEmpty {
            diagnostics.add(configuration.diagnostic("fairness", "fairness applies to classification models (selection rates of predicted classes), not to regression"))
        }
        self.columns = columns
    }

    var isEmpty: Bool { columns.isEmpty }
    var names: [String] { columns.map(\.text) }

    /// Why a column cannot group the test rows, or nil: it must be a column of the dataset
    /// other than the label, and a bool, category, int or string (a float has no groups); a pii
    /// column only when its values are in the schema anyway (bool, category), since group names
    /// go into metrics.json and the report.
    static func problem(column name: String, schema: Schema, label: String) -> String? {
        guard let column = schema.columns.first(where: { $0.name == name }) else {
            return "'\(name)' is not a column of the dataset (columns: \(schema.columns.map(\.name).joined(separator: ", ")))"
        }
        if name == label { return "'\(name)' is the label; fairness compares groups of another column" }
        switch column.type {
        case .float:
            return "'\(name)' is a float column; fairness needs groups (a bool, category, int or string column)"
        case .int where column.isPII, .string where column.isPII:
            return "'\(name)' is a pii \(column.type.name) column: its values would be the group names in metrics.json and the report "
                + "(declare it a category, or leave it out)"
        default:
            return nil
        }
    }

    /// The features' datasets, once every target is made: the test rows are read there.
    func datasets(of features: TargetReference, among rules: [TargetReference: any Rule], at location: SourceLocation) -> [LocatedReference] {
        guard !isEmpty, let rule = rules[features] as? FeaturesRule else { return [] }
        return rule.implicitDependencies.map { LocatedReference($0.reference, at: location) }
    }

    /// The listed columns against the features' dataset's inline schema (a `schema_file` is
    /// read at run time, where `groups` finds the same problems).
    func check(features: TargetReference, rules: [TargetReference: any Rule], source: SourceFile, diagnostics: inout DiagnosticCollector) {
        guard !isEmpty, let featuresRule = rules[features] as? FeaturesRule else { return }
        let dataset = featuresRule.holdout?.reference ?? featuresRule.dataset.reference
        guard let schema = (rules[dataset] as? DatasetRule)?.schema else { return }
        for item in columns {
            if let problem = Self.problem(column: item.text, schema: schema, label: featuresRule.spec.label) {
                diagnostics.add(source.diagnostic("'fairness': \(problem) of \(dataset)", at: item.location))
            }
        }
    }

    /// One column's groups over the test rows: per test row (test.bin's order) the index of
    /// its group in `names`, sorted (nil, the null rows, last).
    struct Grouping {
        var column: String
        var names: [String?]
        var group: [Int]
    }

    /// Reads each listed column's values for the test rows from the dataset they came from.
    func groups(_ context: RuleContext, features: TargetReference, data: ModelTrainingData) throws -> [Grouping] {
        let (dataset, testRows) = try Self.testRows(data: data)
        let directory: String
        do { directory = try context.outputDirectory(of: dataset) } catch {
            throw RuleFailure("fairness: \(dataset) is not among \(context.target)'s dependencies (an Mlfile edit since the last full load?); run the build again")
        }
        let table: ColumnarTable
        do {
            table = try DatasetBuilder.load(directory: URL(fileURLWithPath: context.workspace).appendingPathComponent(directory)).table
        } catch let error as DatasetError {
            throw RuleFailure("fairness: cannot read \(dataset)'s outputs: \(error.description)")
        }
        guard testRows.count == data.test.features.rows else {
            throw RuleFailure("fairness: \(features)'s split.json lists \(testRows.count) test rows, its test.bin holds \(data.test.features.rows)")
        }
        var out: [Grouping] = []
        for item in columns {
            if let problem = Self.problem(column: item.text, schema: table.schema, label: data.transform.label.column) {
                throw RuleFailure("\(item.location): 'fairness': \(problem) of \(dataset)")
            }
            guard let column = table.column(named: item.text) else { continue }  // checked just above
            var values: [String?] = []
            values.reserveCapacity(testRows.count)
            for row in testRows {
                guard row >= 0, row < table.rowCount else {
                    throw RuleFailure("fairness: \(features)'s split.json names row \(row); \(dataset) has \(table.rowCount) rows")
                }
                values.append(column.text(at: row))
            }
            let distinct = Set(values)
            guard distinct.count <= Self.maximumGroups else {
                throw RuleFailure("\(item.location): 'fairness': column '\(item.text)' has \(distinct.count) distinct values among the "
                                  + "\(testRows.count) test rows (at most \(Self.maximumGroups)); a sensitive attribute must be a few groups")
            }
            let names = Self.ordered(distinct, type: column.spec.type)
            let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
            out.append(Grouping(column: item.text, names: names, group: values.map { index[$0] ?? 0 }))
        }
        return out
    }

    /// Group order: numbers by value, a category's in its declared order, false before true,
    /// text in UTF-8 order; the null group last.
    public static func ordered(_ values: Set<String?>, type: ColumnType) -> [String?] {
        let present = values.compactMap { $0 }
        let sorted: [String]
        switch type {
        case .int: sorted = present.sorted { (Int64($0) ?? 0, $0) < (Int64($1) ?? 0, $1) }
        case .category(let declared): sorted = declared.filter { values.contains($0) }
        case .bool: sorted = ["false", "true"].filter { values.contains($0) }
        default: sorted = present.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        }
        return sorted.map { Optional($0) } + (values.contains(nil) ? [nil] : [])
    }

    /// The dataset the test rows were drawn from (the holdout, else the split one) and the rows.
    static func testRows(data: ModelTrainingData) throws -> (TargetReference, [Int]) {
        struct Split: Decodable { var test_rows: [Int] }
        guard case .object(let lineage) = data.upstream, case .array(let datasets)? = lineage["datasets"] else {
            throw RuleFailure("fairness: the features' lineage.json names no dataset")
        }
        func dataset(role: String) -> TargetReference? {
            for case .object(let entry) in datasets where entry["role"] == .string(role) {
                if case .string(let name)? = entry["target"] { return TargetReference(parsing: name) }
            }
            return nil
        }
        guard let reference = dataset(role: "test") ?? dataset(role: "train") else {
            throw RuleFailure("fairness: the features' lineage.json names no dataset")
        }
        let url = data.directory.appendingPathComponent("split.json")
        do {
            return (reference, try JSONDecoder().decode(Split.self, from: Data(contentsOf: url)).test_rows)
        } catch {
            throw RuleFailure("fairness: cannot read \(url.path): \(error)")
        }
    }

    /// Each column's fairness and the worst aggregates over the columns.
    static func evaluate(_ groupings: [Grouping], labels: [Double], scores: [Double], threshold: Double?) throws
        -> (json: JSONValue, worst: [String: Double]) {
        let predicted = Metrics.decisions(probabilities: scores, threshold: threshold)
        var members: [String: JSONValue] = [:]
        var worst: [String: Double] = [:]
        for grouping in groupings {
            let fairness: GroupFairness
            do {
                fairness = try GroupFairness.compute(labels: labels, predicted: predicted, scores: scores, group: grouping.group, names: grouping.names)
            } catch let error as TrainingError {
                throw RuleFailure("fairness: \(grouping.column): \(error.description)")
            }
            members[grouping.column] = .object([
                "demographic_parity_difference": .number(fairness.demographicParityDifference),
                "equalized_odds_difference": .number(fairness.equalizedOddsDifference),
                "disparate_impact_ratio": .optional(fairness.disparateImpactRatio),
                "groups": .array(fairness.groups.map { group in
                    .object([
                        "group": group.name.map { .string($0) } ?? .null,
                        "count": .number(group.count),
                        "positives": .number(group.positives),
                        "selection_rate": .number(group.selectionRate),
                        "true_positive_rate": .number(group.truePositiveRate),
                        "false_positive_rate": .number(group.falsePositiveRate),
                        "auc": .optional(group.auc),
                    ])
                }),
            ])
            for (name, value) in fairness.metrics {
                let ratio = name == "disparate_impact_ratio"
                worst[name] = worst[name].map { ratio ? min($0, value) : max($0, value) } ?? value
            }
        }
        return (.object(members), worst)
    }
}
