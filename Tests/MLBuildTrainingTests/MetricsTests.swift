import Foundation
import Testing
@testable import MLBuildTraining

@Suite struct MetricsTests {
    @Test func aucWithoutTies() throws {
        #expect(try Metrics.rocAUC(labels: [0, 0, 1, 1], scores: [0.1, 0.4, 0.35, 0.8]) == 0.75)
    }

    /// Positive/negative pairs: (0.5 vs 0.5) counts ½, the other three pairs 1 → 3.5 / 4.
    @Test func aucWithTiesUsesAverageRanks() throws {
        #expect(try Metrics.rocAUC(labels: [0, 1, 0, 1], scores: [0.5, 0.5, 0.2, 0.9]) == 0.875)
        #expect(try Metrics.rocAUC(labels: [0, 1, 0, 1], scores: [0.3, 0.3, 0.3, 0.3]) == 0.5)
    }

    @Test func aucUndefinedForOneClass() throws {
        #expect(try Metrics.rocAUC(labels: [1, 1], scores: [0.2, 0.9]) == nil)
        let metrics = try Metrics.classification(labels: [1, 1], probabilities: [0.2, 0.9])
        #expect(metrics["auc"] == nil)
    }

    @Test func logLossAndClipping() throws {
        let loss = try Metrics.logLoss(labels: [1, 0], probabilities: [0.8, 0.3])
        #expect(loss == -(log(0.8) + log(0.7)) / 2)
        // p = 1 for a negative is clipped to 1 − ε: loss −log(ε)·(1/1) computed on 1 − (1 − ε).
        let clipped = try Metrics.logLoss(labels: [0], probabilities: [1])
        #expect(abs(clipped - 36.04365338911715) < 1e-9)
    }

    /// Predicted class 1 iff p > 0.5: [0, 1, 1, 0, 0] against labels [0, 0, 1, 1, 1].
    @Test func confusionPrecisionRecallF1() throws {
        let metrics = try Metrics.classification(labels: [0, 0, 1, 1, 1], probabilities: [0.2, 0.6, 0.7, 0.4, 0.5])
        #expect(metrics.confusionMatrix?.rows == [[1, 1], [2, 1]])
        #expect(metrics["accuracy"] == 0.4)
        #expect(metrics["precision"] == 0.5)
        #expect(metrics["recall"] == 1.0 / 3)
        #expect(metrics["f1"] == 0.4)
        #expect(metrics.sorted.map(\.name) == ["accuracy", "auc", "f1", "log_loss", "precision", "recall"])
    }

    @Test func zeroDivisionGivesZero() throws {
        let metrics = try Metrics.classification(labels: [0, 1, 1], probabilities: [0.1, 0.2, 0.3])
        #expect(metrics["precision"] == 0)
        #expect(metrics["recall"] == 0)
        #expect(metrics["f1"] == 0)
        let noPositives = try Metrics.classification(labels: [0, 0], probabilities: [0.1, 0.2])
        #expect(noPositives["recall"] == 0 && noPositives["f1"] == 0 && noPositives["accuracy"] == 1)
    }

    @Test func regressionMetrics() throws {
        let metrics = try Metrics.regression(targets: [1, 2, 3], predictions: [1, 2, 5])
        #expect(metrics["rmse"] == (4.0 / 3).squareRoot())
        #expect(metrics["mae"] == 2.0 / 3)
        #expect(metrics["r2"] == -1)
        #expect(try Metrics.regression(targets: [2, 2], predictions: [2, 2])["r2"] == 1)
        #expect(try Metrics.regression(targets: [2, 2], predictions: [2, 3])["r2"] == 0)
    }

    @Test func mismatchedLengthsAreErrors() {
        #expect(throws: TrainingError.self) { try Metrics.classification(labels: [0, 1], probabilities: [0.5]) }
        #expect(throws: TrainingError.self) { try Metrics.regression(targets: [], predictions: []) }
    }
}
