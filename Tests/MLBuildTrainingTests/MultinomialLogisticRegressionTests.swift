import Foundation
import Testing
@testable import MLBuildTraining

/// Expected numbers: bench/train_multiclass_expected.py (scikit-learn 1.7.2, LogisticRegression
/// with solver="newton-cg", tol=1e-12: the default lbfgs objective, solved to a 1e-16 gradient;
/// lbfgs itself stops near 1e-8 and differs from the optimum in the 7th digit).
@Suite struct MultinomialLogisticRegressionTests {
    static func close(_ a: [Double], _ b: [Double], _ tolerance: Double) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    /// LogisticRegression(C=1.0).fit(x, y): coef_ (3×3 row-major), intercept_, log_loss on x.
    @Test func matchesScikitLearn() throws {
        let model = try MultinomialLogisticRegression(tolerance: 1e-10).fit(x: MulticlassData.x, y: MulticlassData.y, classCount: 3)
        #expect(model.converged)
        #expect(Self.close(model.coefficients, [
            -2.054289217302341, 2.0886394800902304, 0.23916699461457688, 0.12685861705825288, -0.07774548870418183,
            0.6289253154894651, 1.927430600244089, -2.0108939913860486, -0.8680923101040423,
        ], 1e-9))
        #expect(Self.close(model.intercepts, [-0.05279781793442882, 0.48720741781844434, -0.4344095998840168], 1e-9))
        #expect(abs(model.intercepts.reduce(0, +)) < 1e-12)
        let p = try model.predictProbabilities(matrix: MulticlassData.x)
        let metrics = try Metrics.multiclass(labels: MulticlassData.y, probabilities: p)
        #expect(abs((metrics["log_loss"] ?? 0) - 0.48010951322949313) < 1e-10)
    }

    /// class_weight="balanced", C=0.5: sklearn multiplies each row's loss by its class weight.
    @Test func balancedClassWeightsMatchScikitLearn() throws {
        let weights = ClassWeights.sampleWeights(
            labels: MulticlassData.y, classWeights: ClassWeights.balanced(labels: MulticlassData.y, classCount: 3))
        let model = try MultinomialLogisticRegression(l2: 2, tolerance: 1e-10)
            .fit(x: MulticlassData.x, y: MulticlassData.y, classCount: 3, sampleWeights: weights)
        #expect(Self.close(model.coefficients, [
            -1.5229972278519068, 1.612845133154774, 0.3380310246890186, 0.08633244886320164, -0.06293994831959954,
            0.5293752982698829, 1.4366647789887048, -1.5499051848351755, -0.8674063229589026,
        ], 1e-9))
        #expect(Self.close(model.intercepts, [-0.11581651183476968, 0.5250904773380338, -0.40927396550326645], 1e-9))
    }

    /// Binary, class_weight={0: 1, 1: 3}.
    @Test func binarySampleWeightsMatchScikitLearn() throws {
        let y = MulticlassData.binary
        let model = try LogisticRegression(tolerance: 1e-10)
            .fit(x: MulticlassData.x, y: y, sampleWeights: ClassWeights.sampleWeights(labels: y, classWeights: [1, 3]))
        #expect(Self.close(model.coefficients, [2.74445244036993, -2.7366880109695186, -1.332720405267168], 1e-9))
        #expect(abs(model.intercept - -0.6461619917352699) < 1e-9)
        // Weights of 1 are no weights, bit for bit.
        let plain = try LogisticRegression().fit(x: MulticlassData.x, y: y)
        let ones = try LogisticRegression().fit(x: MulticlassData.x, y: y, sampleWeights: [Double](repeating: 1, count: y.count))
        #expect(plain == ones)
    }

    /// Rows × 20 copies: FixedChunks splits them into several chunks; the model must not depend
    /// on how many threads run them, nor on the run.
    @Test func identicalAcrossRunsAndChunking() throws {
        var values = [Double](), labels = [Double]()
        for _ in 0 ..< 300 { values += MulticlassData.x.values; labels += MulticlassData.y }
        let big = Matrix(rows: 36_000, columns: 3, values: values)
        let a = try MultinomialLogisticRegression().fit(x: big, y: labels, classCount: 3)
        let b = try MultinomialLogisticRegression().fit(x: big, y: labels, classCount: 3)
        #expect(a == b)
        #expect(FixedChunks(total: 36_000).count > 1)
        let probabilities = try a.predictProbabilities(matrix: big)
        let row = try a.predictProbabilities(row: Array(big.values[0 ..< 3]))
        #expect(Array(probabilities.values[0 ..< 3]) == row)
    }

    @Test func trainedModelJSONRoundTripsAndBinaryBytesAreUnchanged() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let multi = try ModelTrainer.trainRecordingGain(
            algorithm: "logistic_regression", hyperparameters: [:], task: .classification, seed: 1,
            x: MulticlassData.x, y: MulticlassData.y, classCount: 3, sampleWeights: nil).model
        #expect(multi.classCount == 3 && multi.algorithm == "logistic_regression")
        let json = try encoder.encode(multi)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.hasPrefix(#"{"algorithm":"logistic_regression","model":{"classCount":3,"coefficients":["#))
        #expect(try JSONDecoder().decode(TrainedModel.self, from: json) == multi)
        #expect(multi.problems().isEmpty)
        #expect(throws: TrainingError.self) { try multi.predict(row: [0, 0, 0]) }
        let rows = try multi.predictProbabilities(matrix: MulticlassData.x)
        #expect(rows.columns == 3 && (0 ..< rows.rows).allSatisfy { r in abs((0 ..< 3).reduce(0) { $0 + rows[r, $1] } - 1) < 1e-12 })

        // A model.json written before multi-class existed decodes and re-encodes to the same bytes.
        let old = #"{"algorithm":"logistic_regression","model":{"coefficients":[0.5,-1.25],"converged":true,"intercept":0.125,"iterations":6}}"#
        let decoded = try JSONDecoder().decode(TrainedModel.self, from: Data(old.utf8))
        #expect(String(decoding: try encoder.encode(decoded), as: UTF8.self) == old)
        #expect(decoded.classCount == 2)
        #expect(try decoded.predictProbabilities(row: [0, 0]) == [1 - 1 / (1 + exp(-0.125)), 1 / (1 + exp(-0.125))])
    }

    @Test func badShapesFailToDecode() {
        let bad = #"{"algorithm":"logistic_regression","model":{"classCount":3,"coefficients":[1,2],"converged":true,"featureCount":1,"intercepts":[0,0,0],"iterations":1}}"#
        #expect(throws: TrainingError.self) { try JSONDecoder().decode(TrainedModel.self, from: Data(bad.utf8)) }
    }

    @Test func badInputsAreErrors() {
        #expect(throws: TrainingError.invalidLabel(row: 1, value: 3, expected: "a class index from 0 to 2")) {
            try MultinomialLogisticRegression().fit(x: Matrix(rows: 3, columns: 1, values: [0, 1, 2]), y: [0, 3, 1], classCount: 3)
        }
        #expect(throws: TrainingError.invalidSampleWeight(row: 2, value: -1)) {
            try MultinomialLogisticRegression().fit(x: Matrix(rows: 3, columns: 1, values: [0, 1, 2]), y: [0, 2, 1], classCount: 3,
                                                    sampleWeights: [1, 1, -1])
        }
        #expect(throws: TrainingError.zeroSampleWeights) {
            try LogisticRegression().fit(x: Matrix(rows: 2, columns: 1, values: [0, 1]), y: [0, 1], sampleWeights: [0, 0])
        }
        #expect(throws: TrainingError.invalidLabel(row: 0, value: 2, expected: "0 or 1")) {
            try ModelTrainer.trainRecordingGain(
                algorithm: "logistic_regression", hyperparameters: [:], task: .classification, seed: 0,
                x: Matrix(rows: 2, columns: 1, values: [0, 1]), y: [2, 1], classCount: 2, sampleWeights: nil)
        }
    }

    @Test func featureImportanceSumsMagnitudesOverClasses() throws {
        let model = MultinomialLogisticRegressionModel(
            classCount: 3, featureCount: 2, coefficients: [1, -2, -3, 0.5, 2, 1.5], intercepts: [0, 0, 0], iterations: 1, converged: true)
        let x = Matrix(rows: 2, columns: 2, values: [0, 10, 2, 10])  // sd 1 and 0
        let importance = try #require(FeatureImportance.of(.multinomialLogisticRegression(model), splitGain: nil, x: x))
        #expect(importance.definition == .standardizedCoefficient)
        #expect(importance.values == [6, 0])
    }
}

@Suite struct MulticlassModelChecksTests {
    @Test func problemsNameTheNewFields() {
        let lr = MultinomialLogisticRegressionModel(
            classCount: 3, featureCount: 1, coefficients: [1, .nan, 2], intercepts: [0, 0], iterations: 1, converged: true)
        #expect(TrainedModel.multinomialLogisticRegression(lr).problems() == [
            "model.coefficients[1]: not a finite number",
            "model.intercepts: 2 values, expected classCount = 3",
        ])
        let leaf = RegressionTree(nodes: [TreeNode.leaf(value: 0.5)])
        let gb = GradientBoostingModel(task: .classification, featureCount: 1, baseline: 0, trees: [leaf, leaf, leaf, leaf],
                                       classCount: 3, baselines: [0, .infinity, 0])
        #expect(TrainedModel.gradientBoosting(gb).problems() == [
            "model.baselines[1]: not a finite number",
            "model.trees: 4 trees is not a multiple of classCount = 3",
        ])
    }

    /// The trainer picks the multinomial model for 3+ classes and the binary one for 2.
    @Test func trainerChoosesByClassCount() throws {
        for algorithm in ["logistic_regression", "gradient_boosting"] {
            let multi = try ModelTrainer.trainRecordingGain(
                algorithm: algorithm, hyperparameters: algorithm == "gradient_boosting" ? ["trees": "3", "min_samples_leaf": "5"] : [:],
                task: .classification, seed: 0, x: MulticlassData.x, y: MulticlassData.y, classCount: 3, sampleWeights: nil)
            #expect(multi.model.classCount == 3)
            #expect(try multi.model.predictProbabilities(matrix: MulticlassData.x).columns == 3)
            let binary = try ModelTrainer.trainRecordingGain(
                algorithm: algorithm, hyperparameters: algorithm == "gradient_boosting" ? ["trees": "3", "min_samples_leaf": "5"] : [:],
                task: .classification, seed: 0, x: MulticlassData.x, y: MulticlassData.binary, classCount: 2, sampleWeights: nil)
            let old = try ModelTrainer.trainRecordingGain(
                algorithm: algorithm, hyperparameters: algorithm == "gradient_boosting" ? ["trees": "3", "min_samples_leaf": "5"] : [:],
                task: .classification, seed: 0, x: MulticlassData.x, y: MulticlassData.binary)
            #expect(binary.model == old.model && binary.model.classCount == 2)
        }
        let stopped = try ModelTrainer.trainRecordingGain(
            algorithm: "gradient_boosting",
            hyperparameters: ["trees": "200", "learning_rate": "0.3", "max_leaf_nodes": "4", "min_samples_leaf": "10",
                              "early_stopping": "true", "validation_fraction": "0.2", "n_iter_no_change": "5"],
            task: .classification, seed: 7, x: MulticlassData.x, y: MulticlassData.y, classCount: 3, sampleWeights: nil)
        guard case let .gradientBoosting(model) = stopped.model else { Issue.record("not boosting"); return }
        #expect(model.iterations == 13 && model.trees.count == 39)  // as the sklearn comparison above
    }
}
