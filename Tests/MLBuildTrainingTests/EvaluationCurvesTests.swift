import Foundation
import Testing
@testable import MLBuildTraining

/// The data behind the model plots: ROC and precision–recall points as scikit-learn's
/// `roc_curve(drop_intermediate=False)` / `precision_recall_curve` make them, calibration bins,
/// split gain recorded while boosting, standardized coefficients, histograms and samples.
@Suite struct EvaluationCurvesTests {
    /// sklearn: roc_curve([0,0,1,1], [0.1,0.4,0.35,0.8]) → fpr [0,0,0.5,0.5,1], tpr [0,0.5,0.5,1,1];
    /// average_precision_score → 0.8333…; roc_auc_score → 0.75.
    @Test func rocAndPrecisionRecallMatchScikitLearn() throws {
        let labels = [0.0, 0, 1, 1], scores = [0.1, 0.4, 0.35, 0.8]
        let curves = try EvaluationCurves(labels: labels, scores: scores)
        #expect(curves.falsePositiveRates == [0, 0, 0.5, 0.5, 1])
        #expect(curves.truePositiveRates == [0, 0.5, 0.5, 1, 1])
        #expect(curves.thresholds == [.infinity, 0.8, 0.4, 0.35, 0.1])
        #expect(curves.rocArea == 0.75)
        #expect(try Metrics.rocAUC(labels: labels, scores: scores) == 0.75)
        #expect(curves.recalls == [0, 0.5, 0.5, 1, 1])
        #expect(curves.precisions == [1, 1, 0.5, 2.0 / 3.0, 0.5])
        #expect(abs((curves.averagePrecision ?? 0) - 5.0 / 6.0) < 1e-15)
    }

    @Test func tiedScoresMoveTogether() throws {
        let curves = try EvaluationCurves(labels: [0, 1, 1, 0], scores: [0.5, 0.5, 0.9, 0.2])
        #expect(curves.falsePositiveRates == [0, 0, 0.5, 1])
        #expect(curves.truePositiveRates == [0, 0.5, 1, 1])
        #expect(curves.rocArea == (try Metrics.rocAUC(labels: [0, 1, 1, 0], scores: [0.5, 0.5, 0.9, 0.2])))
    }

    @Test func oneClassHasNoROC() throws {
        let negatives = try EvaluationCurves(labels: [0, 0], scores: [0.2, 0.7])
        #expect(negatives.falsePositiveRates.isEmpty && negatives.rocArea == nil)
        #expect(negatives.recalls.isEmpty && negatives.averagePrecision == nil)
        let positives = try EvaluationCurves(labels: [1, 1], scores: [0.2, 0.7])
        #expect(positives.rocArea == nil)
        #expect(positives.averagePrecision == 1)
        #expect(throws: TrainingError.self) { try EvaluationCurves(labels: [0, 2], scores: [0.1, 0.2]) }
        #expect(throws: TrainingError.self) { try EvaluationCurves(labels: [0, 1], scores: [0.1, .nan]) }
    }

    @Test func calibrationHasTenEqualWidthBins() throws {
        let curves = try EvaluationCurves(labels: [0, 1, 0, 1, 1], scores: [0.05, 0.15, 0.12, 0.95, 1.0])
        #expect(curves.calibration.count == 10)
        #expect(curves.calibration.map(\.count) == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2])
        #expect(curves.calibration[0].lower == 0 && curves.calibration[9].upper == 1)
        #expect(curves.calibration[1].meanPredicted == (0.15 + 0.12) / 2 && curves.calibration[1].observedRate == 0.5)
        #expect(curves.calibration[2].meanPredicted == nil && curves.calibration[2].observedRate == nil)
        #expect(curves.calibration[9].observedRate == 1)
    }

    /// The stump of GradientBoostingTests: g = ±2, h = 1 on 100 rows each side, λ = 0 →
    /// gain 200²/100 + 200²/100 − 0 = 800. A constant feature is never split on: gain 0.
    @Test func boostingRecordsTheTotalSplitGainWithoutChangingTheModel() throws {
        let x = Matrix(rows: 200, columns: 2, values: (0 ..< 200).flatMap { [Double($0), 7] })
        let y = (0 ..< 200).map { $0 < 100 ? 1.0 : 5.0 }
        let booster = GradientBoosting(trees: 1, learningRate: 1, maxLeafNodes: 2, minSamplesLeaf: 1)
        let (model, gain) = try booster.fitRecordingGain(x: x, y: y, task: .regression)
        #expect(gain == [800, 0])
        #expect(model == (try booster.fit(x: x, y: y, task: .regression)))
        let trained = try ModelTrainer.trainRecordingGain(
            algorithm: "gradient_boosting", hyperparameters: ["trees": "5"], task: .regression, seed: 1, x: x, y: y)
        #expect(trained.model == (try ModelTrainer.train(
            algorithm: "gradient_boosting", hyperparameters: ["trees": "5"], task: .regression, seed: 1, x: x, y: y)))
        let importance = try #require(FeatureImportance.of(trained.model, splitGain: trained.splitGain, x: x))
        #expect(importance.definition == .totalSplitGain)
        #expect(importance.values[0] > 800 && importance.values[1] == 0)
    }

    /// Column [1, 2, 3, 4]: sd (divisor n) √1.25; column [5, 5, 5, 5]: sd 0.
    @Test func linearImportanceIsTheStandardizedCoefficient() throws {
        let x = Matrix(rows: 4, columns: 2, values: [1, 5, 2, 5, 3, 5, 4, 5])
        let model = TrainedModel.linearRegression(LinearRegressionModel(coefficients: [-2, 3], intercept: 1))
        let importance = try #require(FeatureImportance.of(model, splitGain: nil, x: x))
        #expect(importance.definition == .standardizedCoefficient)
        #expect(importance.values == [-2 * 1.25.squareRoot(), 0])
        #expect(FeatureImportance.of(.gradientBoosting(GradientBoostingModel(task: .regression, featureCount: 2, baseline: 0, trees: [])),
                                     splitGain: nil, x: x) == nil)
    }

    @Test func histogramsAndSamples() {
        let histogram = ValueHistogram([0, 1, 2, 3, 4, 10], bins: 5)
        #expect(histogram.edges == [0, 2, 4, 6, 8, 10])
        #expect(histogram.counts == [2, 2, 1, 0, 1])
        #expect(ValueHistogram([3, 3], bins: 5).edges == [2.5, 3.5])
        #expect(ValueHistogram([3, 3], bins: 5).counts == [2])
        #expect(PlotSample.rows(count: 5) == [0, 1, 2, 3, 4])
        #expect(PlotSample.rows(count: 10, limit: 4) == [0, 2, 5, 7])
        #expect(PlotSample.rows(count: 4500).count == 2000)
    }
}
