import Foundation
import Testing
@testable import MLBuildTraining

/// Expected numbers: bench/train_multiclass_expected.py (scikit-learn 1.7.2
/// HistGradientBoostingClassifier(max_iter=15, min_samples_leaf=5, max_leaf_nodes=8)). sklearn
/// keeps gradients and hessians in float32, so leaf values agree to ~1e-9, not to the last bit.
@Suite struct MulticlassGradientBoostingTests {
    static let booster = GradientBoosting(trees: 15, maxLeafNodes: 8, minSamplesLeaf: 5)

    static func close(_ a: [Double], _ b: [Double], _ tolerance: Double) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    static func rows(_ p: Matrix, _ rows: [Int]) -> [Double] {
        rows.flatMap { r in (0 ..< p.columns).map { p[r, $0] } }
    }

    @Test func matchesScikitLearn() throws {
        let model = try Self.booster.fit(x: MulticlassData.x, y: MulticlassData.y, task: .classification, classCount: 3)
        #expect(model.classCount == 3 && model.trees.count == 45 && model.iterations == 15)
        // _baseline_prediction
        #expect(Self.close(model.baselines, [0.10615124370617807, -0.21230248741235647, 0.10615124370617807], 1e-15))
        let p = try model.predictProbabilities(matrix: MulticlassData.x)
        #expect(Self.close(Self.rows(p, [0, 1, 2, 60]), [
            0.9262816051964274, 0.038417903061222926, 0.03530049174234978, 0.1101646288678564, 0.8618142517175376,
            0.028021119414606086, 0.028078347358972407, 0.0210763007597078, 0.9508453518813198, 0.04368951174085606,
            0.8973107026008406, 0.05899978565830347,
        ], 1e-8))
        let metrics = try Metrics.multiclass(labels: MulticlassData.y, probabilities: p)
        #expect(abs((metrics["log_loss"] ?? 0) - 0.20988271290040478) < 1e-8)
    }

    /// class_weight="balanced": weights scale g, h and the baseline's class frequencies.
    @Test func balancedClassWeightsMatchScikitLearn() throws {
        let weights = ClassWeights.sampleWeights(
            labels: MulticlassData.y, classWeights: ClassWeights.balanced(labels: MulticlassData.y, classCount: 3))
        let model = try Self.booster.fit(x: MulticlassData.x, y: MulticlassData.y, task: .classification, classCount: 3,
                                         sampleWeights: weights)
        let p = try model.predictProbabilities(matrix: MulticlassData.x)
        #expect(Self.close(Self.rows(p, [0, 60]), [
            0.9085270913437881, 0.05239377824360068, 0.03907913041261107, 0.0590893196600535, 0.8859579060157272,
            0.05495277432421936,
        ], 1e-8))
    }

    /// sklearn fitted on mlbuild's own validation split (ValidationSplit, seed 7, fraction 0.2,
    /// re-implemented in the script and passed as X_val/y_val): the same number of iterations
    /// and the same final validation loss.
    @Test(arguments: [
        ("multiclass", 3, 13, -0.7586807901305174), ("binary", 2, 18, -0.3108409791002284),
        ("regression", 0, 28, -0.04142851934797676),
    ])
    func earlyStoppingMatchesScikitLearn(name: String, classes: Int, iterations: Int, lastScore: Double) throws {
        let x = MulticlassData.x
        let y: [Double]
        let task: TrainingTask
        switch classes {
        case 3: y = MulticlassData.y; task = .classification
        case 2: y = MulticlassData.binary; task = .classification
        default:
            y = (0 ..< x.rows).map { i in x[i, 0] * 2 - x[i, 2] + 0.3 * sin(Double(i) * 2.1) }
            task = .regression
        }
        var rng = SplitMix64(seed: 7)
        let split = try ValidationSplit.indices(labels: y, classCount: classes == 0 ? nil : classes, fraction: 0.2, rng: &rng)
        let expectedFirstRows: [String: [Int]] = [
            "multiclass": [1, 5, 11, 20, 22, 29, 30, 32], "binary": [0, 5, 12, 14, 17, 19, 20, 24],
            "regression": [2, 8, 13, 20, 27, 32, 34, 44],
        ]
        #expect(Array(split.validation.prefix(8)) == expectedFirstRows[name])
        #expect(split.validation.count == 24)
        let booster = GradientBoosting(trees: 200, learningRate: 0.3, maxLeafNodes: 4, minSamplesLeaf: 10, seed: 7,
                                       earlyStopping: true, validationFraction: 0.2, iterationsWithoutChange: 5)
        let model = try booster.fit(x: x, y: y, task: task, classCount: max(classes, 2))
        #expect(model.iterations == iterations)
        // Score the kept model on the validation rows as sklearn's validation_score_[-1].
        let vx = x.selecting(rows: split.validation), vy = split.validation.map { y[$0] }
        var raw = [Double]()
        let k = classes == 3 ? 3 : 1
        for r in 0 ..< vx.rows {
            let row = Array(vx.values[r * 3 ..< r * 3 + 3])
            for c in 0 ..< k { raw.append(k == 3 ? model.baselines[c] : model.baseline) }
            row.withUnsafeBufferPointer { b in
                for (t, tree) in model.trees.enumerated() { raw[r * k + t % k] += tree.value(row: b) }
            }
        }
        let loss = GradientBoosting.meanLoss(raw: raw, y: vy, weights: nil, task: task, classCount: k)
        #expect(abs(-loss - lastScore) < 1e-8)
    }

    @Test func binaryModelJSONUnchangedAndMulticlassRoundTrips() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let binary = try GradientBoosting(trees: 3, minSamplesLeaf: 5).fit(x: MulticlassData.x, y: MulticlassData.binary, task: .classification)
        let text = String(decoding: try encoder.encode(TrainedModel.gradientBoosting(binary)), as: UTF8.self)
        #expect(!text.contains("classCount") && !text.contains("baselines"))
        let old = #"{"algorithm":"gradient_boosting","model":{"baseline":0.5,"featureCount":1,"task":"classification","trees":[{"nodes":[{"feature":-1,"left":-1,"missingGoesLeft":false,"right":-1,"threshold":0,"value":0.25}]}]}}"#
        let decoded = try JSONDecoder().decode(TrainedModel.self, from: Data(old.utf8))
        #expect(String(decoding: try encoder.encode(decoded), as: UTF8.self) == old)
        #expect(decoded.classCount == 2)

        let multi = try Self.booster.fit(x: MulticlassData.x, y: MulticlassData.y, task: .classification, classCount: 3)
        let json = try encoder.encode(TrainedModel.gradientBoosting(multi))
        let back = try JSONDecoder().decode(TrainedModel.self, from: json)
        #expect(back == .gradientBoosting(multi))
        #expect(back.classCount == 3 && back.problems().isEmpty)
        #expect(throws: TrainingError.self) { try back.predict(matrix: MulticlassData.x) }
        let mangled = String(decoding: json, as: UTF8.self).replacingOccurrences(of: #""classCount":3"#, with: #""classCount":4"#)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(TrainedModel.self, from: Data(mangled.utf8)) }
    }

    /// 36,000 rows: several FixedChunks; the same bytes twice, and row-wise = batch scores.
    @Test func identicalAcrossRunsAndBatchSizes() throws {
        var values = [Double](), labels = [Double]()
        for copy in 0 ..< 300 {
            values += MulticlassData.x.values.map { $0 + Double(copy % 7) * 1e-3 }
            labels += MulticlassData.y
        }
        let big = Matrix(rows: 36_000, columns: 3, values: values)
        let booster = GradientBoosting(trees: 5, subsample: 0.5, seed: 3)
        let a = try booster.fitRecordingGain(x: big, y: labels, task: .classification, classCount: 3)
        let b = try booster.fitRecordingGain(x: big, y: labels, task: .classification, classCount: 3)
        #expect(a.model == b.model && a.splitGain == b.splitGain)
        let batch = try a.model.predictProbabilities(matrix: big)
        let one = try TrainedModel.gradientBoosting(a.model).predictProbabilities(row: Array(big.values[300 ..< 303]))
        #expect(Array(batch.values[300 ..< 303]) == one)
        let importance = try #require(FeatureImportance.of(.gradientBoosting(a.model), splitGain: a.splitGain, x: big))
        #expect(importance.values.count == 3 && importance.values.allSatisfy { $0 >= 0 })
    }

    @Test func hyperparametersAndBadInputs() throws {
        let resolved = try ModelTrainer.resolvedHyperparameters(algorithm: "gradient_boosting", hyperparameters: ["early_stopping": "true"])
        let table = Dictionary(uniqueKeysWithValues: resolved.map { ($0.name, $0.value) })
        #expect(table["early_stopping"] == "true" && table["validation_fraction"] == "0.1")
        #expect(table["n_iter_no_change"] == "10" && table["tolerance"] == "1e-07")
        #expect(throws: TrainingError.invalidHyperparameter(name: "early_stopping", value: "yes", expected: "true or false")) {
            try ModelTrainer.resolvedHyperparameters(algorithm: "gradient_boosting", hyperparameters: ["early_stopping": "yes"])
        }
        #expect(throws: TrainingError.invalidHyperparameter(name: "validation_fraction", value: "1", expected: "a number > 0 and < 1")) {
            try ModelTrainer.resolvedHyperparameters(algorithm: "gradient_boosting", hyperparameters: ["validation_fraction": "1"])
        }
        #expect(throws: TrainingError.invalidLabel(row: 2, value: 3, expected: "a class index from 0 to 2")) {
            try Self.booster.fit(x: Matrix(rows: 3, columns: 1, values: [0, 1, 2]), y: [0, 1, 3], task: .classification, classCount: 3)
        }
        #expect(throws: TrainingError.invalidSampleWeight(row: 0, value: .infinity)) {
            try Self.booster.fit(x: Matrix(rows: 3, columns: 1, values: [0, 1, 2]), y: [0, 1, 2], task: .classification, classCount: 3,
                                 sampleWeights: [.infinity, 1, 1])
        }
    }
}
