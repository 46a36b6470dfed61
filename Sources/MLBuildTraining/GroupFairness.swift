/// How a binary classifier's decisions differ across the groups of one sensitive column, with
/// fairlearn's definitions (`fairlearn.metrics`, 0.15), so that its numbers can be checked
/// against fairlearn's on the same predictions:
///
/// - per group: the row count; `selection_rate`, the share of rows predicted 1; the true and
///   false positive rates (0 for a group without positives, resp. negatives, as scikit-learn's
///   `confusion_matrix(normalize="true")`, which fairlearn uses, gives); ROC AUC of the scores
///   (nil when the group holds one class);
/// - `demographic_parity_difference`: largest minus smallest selection rate;
/// - `equalized_odds_difference`: the larger of the true positive rates' and the false positive
///   rates' between-group differences (fairlearn's default `agg="worst_case"`);
/// - `disparate_impact_ratio`: smallest over largest selection rate (fairlearn's
///   `demographic_parity_ratio`), nil when no group has a row predicted 1 (0/0).
///
/// Counts are integers and every rate is one division of two of them, so the numbers equal
/// numpy's to the last bit; only the AUC's summation order differs from scikit-learn's.
public struct GroupFairness: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        /// The group's value as text; nil for the rows where the column is null.
        public var name: String?
        public var count: Int
        public var positives: Int
        public var selectionRate: Double
        public var truePositiveRate: Double
        public var falsePositiveRate: Double
        public var auc: Double?
    }

    /// In the order of `names` given to `compute`, groups without rows left out.
    public var groups: [Group]
    public var demographicParityDifference: Double
    public var equalizedOddsDifference: Double
    public var disparateImpactRatio: Double?

    /// The aggregate metrics' names, as gates and metrics.json spell them.
    public static let metricNames = ["demographic_parity_difference", "disparate_impact_ratio", "equalized_odds_difference"]

    /// `labels` and `predicted`: 0/1 per row; `scores`: P(class 1) per row; `group`: per row an
    /// index into `names`.
    public static func compute(labels: [Double], predicted: [Double], scores: [Double], group: [Int], names: [String?]) throws -> GroupFairness {
        try Metrics.checkClassification(labels, scores)
        guard predicted.count == labels.count, group.count == labels.count else {
            throw TrainingError.shapeMismatch(what: "rows of predictions and groups vs labels", expected: labels.count,
                                              actual: predicted.count == labels.count ? group.count : predicted.count)
        }
        var rows = [[Int]](repeating: [], count: names.count)
        for (row, index) in group.enumerated() {
            guard names.indices.contains(index) else {
                throw TrainingError.invalidLabel(row: row, value: Double(index), expected: "a group index below \(names.count)")
            }
            rows[index].append(row)
        }
        var groups: [Group] = []
        for (index, members) in rows.enumerated() where !members.isEmpty {
            var selected = 0, positives = 0, truePositives = 0, falsePositives = 0
            for row in members {
                let decision = predicted[row] == 1
                if decision { selected += 1 }
                if labels[row] == 1 {
                    positives += 1
                    if decision { truePositives += 1 }
                } else if decision {
                    falsePositives += 1
                }
            }
            let negatives = members.count - positives
            groups.append(Group(
                name: names[index], count: members.count, positives: positives,
                selectionRate: Double(selected) / Double(members.count),
                truePositiveRate: positives > 0 ? Double(truePositives) / Double(positives) : 0,
                falsePositiveRate: negatives > 0 ? Double(falsePositives) / Double(negatives) : 0,
                auc: Metrics.rocAUCUnchecked(members.map { labels[$0] }, members.map { scores[$0] })))
        }
        func spread(_ values: [Double]) -> Double { (values.max() ?? 0) - (values.min() ?? 0) }
        let selection = groups.map(\.selectionRate)
        let largest = selection.max() ?? 0
        return GroupFairness(
            groups: groups,
            demographicParityDifference: spread(selection),
            equalizedOddsDifference: max(spread(groups.map(\.truePositiveRate)), spread(groups.map(\.falsePositiveRate))),
            disparateImpactRatio: largest > 0 ? (selection.min() ?? 0) / largest : nil)
    }

    /// The aggregate metrics by name (`disparate_impact_ratio` absent when undefined).
    public var metrics: [String: Double] {
        var out = ["demographic_parity_difference": demographicParityDifference, "equalized_odds_difference": equalizedOddsDifference]
        if let disparateImpactRatio { out["disparate_impact_ratio"] = disparateImpactRatio }
        return out
    }
}
