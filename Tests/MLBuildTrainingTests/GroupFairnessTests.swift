import Testing
@testable import MLBuildTraining

/// GroupFairness on rows small enough to count by hand (fairlearn's definitions; the CLI tests
/// compare with fairlearn itself).
@Suite struct GroupFairnessTests {
    // Groups: A rows 0–3, B rows 4–7, C rows 8–9 (no positives); D has no rows.
    let labels: [Double] = [1, 0, 1, 0, 1, 1, 0, 0, 0, 0]
    let predicted: [Double] = [1, 0, 0, 1, 1, 1, 1, 0, 0, 0]
    let scores = [0.9, 0.2, 0.4, 0.6, 0.8, 0.7, 0.9, 0.1, 0.3, 0.2]
    let group = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]

    @Test func perGroupRatesAndTheAggregates() throws {
        let fairness = try GroupFairness.compute(labels: labels, predicted: predicted, scores: scores, group: group, names: ["A", "B", "C", "D"])
        #expect(fairness.groups.map(\.name) == ["A", "B", "C"], "a group without rows is left out")
        #expect(fairness.groups.map(\.count) == [4, 4, 2])
        #expect(fairness.groups.map(\.positives) == [2, 2, 0])
        #expect(fairness.groups.map(\.selectionRate) == [0.5, 0.75, 0])
        #expect(fairness.groups.map(\.truePositiveRate) == [0.5, 1, 0], "no positives: 0, as scikit-learn's normalized confusion matrix")
        #expect(fairness.groups.map(\.falsePositiveRate) == [0.5, 0.5, 0])
        // A: positives score 0.9, 0.4; negatives 0.2, 0.6 → 3 of 4 pairs ordered.
        #expect(fairness.groups[0].auc == 0.75)
        #expect(fairness.groups[2].auc == nil, "one class: undefined")
        #expect(fairness.demographicParityDifference == 0.75)
        #expect(fairness.equalizedOddsDifference == 1, "the larger of the TPR spread (1) and the FPR spread (0.5)")
        #expect(fairness.disparateImpactRatio == 0)
        #expect(fairness.metrics == ["demographic_parity_difference": 0.75, "equalized_odds_difference": 1, "disparate_impact_ratio": 0])
    }

    @Test func theRatioIsUndefinedWhenNobodyIsSelected() throws {
        let fairness = try GroupFairness.compute(labels: labels, predicted: labels.map { _ in 0 }, scores: scores, group: group, names: ["A", "B", "C"])
        #expect(fairness.disparateImpactRatio == nil)
        #expect(fairness.demographicParityDifference == 0)
        #expect(fairness.metrics["disparate_impact_ratio"] == nil)
    }

    @Test func oneGroupHasNoDifferences() throws {
        let fairness = try GroupFairness.compute(labels: labels, predicted: predicted, scores: scores, group: labels.map { _ in 0 }, names: [nil])
        #expect(fairness.groups.count == 1 && fairness.groups[0].name == nil)
        #expect(fairness.demographicParityDifference == 0 && fairness.equalizedOddsDifference == 0 && fairness.disparateImpactRatio == 1)
    }

    @Test func badShapesAndIndicesThrow() {
        #expect(throws: TrainingError.self) {
            try GroupFairness.compute(labels: labels, predicted: predicted, scores: scores, group: [0], names: ["A"])
        }
        #expect(throws: TrainingError.self) {
            try GroupFairness.compute(labels: labels, predicted: predicted, scores: scores, group: group, names: ["A", "B"])
        }
        #expect(throws: TrainingError.self) {
            try GroupFairness.compute(labels: [2] + labels.dropFirst(), predicted: predicted, scores: scores, group: group, names: ["A", "B", "C"])
        }
    }
}
