import Foundation
import Testing
@testable import MLBuildTraining

@Suite struct StratifiedFoldsTests {
    /// bench/train_multiclass_expected.py re-implements the documented draw order.
    @Test func matchesDocumentedDrawOrder() throws {
        let folds = try StratifiedFolds(labels: MulticlassData.y, classCount: 3, folds: 5, seed: 11)
        #expect(folds.testIndices[0] == [2, 10, 15, 16, 19, 20, 22, 25, 27, 33, 34, 47, 49, 56, 59, 63, 66, 67, 69, 80, 90, 91, 106, 110])
        // Every row in exactly one fold; train = the complement, ascending.
        #expect(folds.testIndices.flatMap { $0 }.sorted() == Array(0 ..< 120))
        let train = folds.trainIndices(fold: 2)
        #expect(train.count + folds.testIndices[2].count == 120 && train == train.sorted())
        #expect(Set(train).isDisjoint(with: folds.testIndices[2]))
    }

    /// sklearn's allocation: the sorted labels dealt round-robin, so per class the fold counts
    /// differ by at most one.
    @Test func classesSpreadEvenly() throws {
        let folds = try StratifiedFolds(labels: MulticlassData.y, classCount: 3, folds: 5, seed: 1)
        for c in 0 ..< 3 {
            let counts = folds.testIndices.map { fold in fold.filter { MulticlassData.y[$0] == Double(c) }.count }
            #expect(counts.max()! - counts.min()! <= 1)
        }
        #expect(try StratifiedFolds(labels: MulticlassData.y, classCount: 3, folds: 5, seed: 1) == folds)
        #expect(try StratifiedFolds(labels: MulticlassData.y, classCount: 3, folds: 5, seed: 2) != folds)
    }

    @Test func errors() {
        #expect(throws: TrainingError.invalidFolds(folds: 4, reason: "more folds than the 3 rows")) {
            try StratifiedFolds(labels: [0, 1, 0], classCount: 2, folds: 4, seed: 0)
        }
        #expect(throws: TrainingError.invalidFolds(folds: 1, reason: "cross-validation needs at least 2 folds")) {
            try StratifiedFolds(labels: [0, 1, 0], classCount: 2, folds: 1, seed: 0)
        }
        #expect(throws: TrainingError.invalidLabel(row: 1, value: 2, expected: "a class index from 0 to 1")) {
            try StratifiedFolds(labels: [0, 2, 0], classCount: 2, folds: 2, seed: 0)
        }
        // A class with fewer rows than folds is allowed, as in sklearn (a warning there).
        #expect(throws: Never.self) { try StratifiedFolds(labels: [0, 0, 0, 1], classCount: 2, folds: 3, seed: 0) }
    }

    /// TunedThresholdClassifierCV(LogisticRegression(solver="newton-cg"), scoring="f1", cv=<these folds>,
    /// thresholds=100).best_threshold_ on class 2 vs rest.
    @Test func maxF1MatchesScikitLearn() throws {
        let threshold = try ThresholdTuning.maxF1(
            algorithm: "logistic_regression", hyperparameters: ["tolerance": "1e-10"], seed: 11, x: MulticlassData.x,
            y: MulticlassData.binary, sampleWeights: nil, folds: 5)
        #expect(abs(threshold - 0.5181002704572047) < 1e-8)
    }

    @Test func numpyHelpers() {
        #expect(ThresholdTuning.linspace(0, 1, 5) == [0, 0.25, 0.5, 0.75, 1])
        #expect(ThresholdTuning.interpolate(0.5, [0, 1], [2, 4]) == 3)
        #expect(ThresholdTuning.interpolate(-1, [0, 1], [2, 4]) == 2)
        #expect(ThresholdTuning.interpolate(9, [0, 1], [2, 4]) == 4)
    }
}
