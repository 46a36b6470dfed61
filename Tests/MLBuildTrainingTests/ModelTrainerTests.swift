import Foundation
import Testing
@testable import MLBuildTraining

@Suite struct ModelTrainerTests {
    static let x = Matrix(rows: 4, columns: 1, values: [0, 1, 2, 3])
    static let labels: [Double] = [0, 1, 0, 1]

    @Test func unknownHyperparameterNamesItAndTheAcceptedOnes() {
        do {
            _ = try ModelTrainer.train(algorithm: "gradient_boosting", hyperparameters: ["learning_rat": "0.1"],
                                       task: .classification, seed: 0, x: Self.x, y: Self.labels)
            Issue.record("expected an error")
        } catch let error as TrainingError {
            #expect(error == .unknownHyperparameter(
                name: "learning_rat", algorithm: "gradient_boosting",
                accepted: ["early_stopping", "l2", "learning_rate", "max_bins", "max_depth", "max_leaf_nodes", "min_samples_leaf",
                           "n_iter_no_change", "subsample", "tolerance", "trees", "validation_fraction"]))
            #expect(error.description.contains("'learning_rat'"))
            #expect(error.description.contains("learning_rate"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test(arguments: [
        ("gradient_boosting", "trees", "-1"), ("gradient_boosting", "subsample", "1.5"),
        ("gradient_boosting", "subsample", "0"), ("gradient_boosting", "max_bins", "300"),
        ("gradient_boosting", "learning_rate", "abc"), ("gradient_boosting", "max_depth", "0"),
        ("logistic_regression", "l2", "-1"), ("logistic_regression", "tolerance", "0"),
        ("logistic_regression", "max_iterations", "2.5"), ("linear_regression", "alpha", "nan"),
    ])
    func badValueNamesTheHyperparameter(algorithm: String, name: String, value: String) {
        let task: TrainingTask = algorithm == "linear_regression" ? .regression : .classification
        do {
            _ = try ModelTrainer.train(algorithm: algorithm, hyperparameters: [name: value], task: task, seed: 0,
                                       x: Self.x, y: Self.labels)
            Issue.record("expected an error")
        } catch let TrainingError.invalidHyperparameter(badName, badValue, _) {
            #expect(badName == name && badValue == value)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func unknownAlgorithmAndTaskMismatch() {
        #expect(throws: TrainingError.unknownAlgorithm(name: "svm", accepted: ModelTrainer.algorithms)) {
            try ModelTrainer.train(algorithm: "svm", hyperparameters: [:], task: .classification, seed: 0, x: Self.x, y: Self.labels)
        }
        #expect(throws: TrainingError.unsupportedTask(algorithm: "logistic_regression", task: .regression)) {
            try ModelTrainer.train(algorithm: "logistic_regression", hyperparameters: [:], task: .regression, seed: 0, x: Self.x, y: Self.labels)
        }
    }

    @Test func resolvedHyperparametersAreSortedCanonicalAndComplete() throws {
        let resolved = try ModelTrainer.resolvedHyperparameters(
            algorithm: "gradient_boosting", hyperparameters: ["learning_rate": "0.10", "max_depth": "6"])
        #expect(resolved.map(\.name) == [
            "early_stopping", "l2", "learning_rate", "max_bins", "max_depth", "max_leaf_nodes", "min_samples_leaf", "n_iter_no_change",
            "subsample", "tolerance", "trees", "validation_fraction",
        ])
        #expect(resolved.map(\.value) == ["false", "0.0", "0.1", "255", "6", "31", "20", "10", "1.0", "1e-07", "100", "0.1"])
        let logistic = try ModelTrainer.resolvedHyperparameters(algorithm: "logistic_regression", hyperparameters: [:])
        #expect(logistic.map { "\($0.name)=\($0.value)" } == ["l2=1.0", "max_iterations=100", "tolerance=1e-06"])
    }

    @Test(arguments: ["logistic_regression", "linear_regression", "gradient_boosting"])
    func modelsRoundTripThroughJSON(algorithm: String) throws {
        let (x, y) = TestData.logistic(rows: 300, columns: 3, seed: 31)
        let task: TrainingTask = algorithm == "linear_regression" ? .regression : .classification
        let model = try ModelTrainer.train(algorithm: algorithm, hyperparameters: algorithm == "gradient_boosting" ? ["trees": "5"] : [:],
                                           task: task, seed: 3, x: x, y: y)
        #expect(model.algorithm == algorithm && model.task == task && model.featureCount == 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(model)
        let decoded = try JSONDecoder().decode(TrainedModel.self, from: data)
        #expect(decoded == model)
        #expect(try encoder.encode(decoded) == data)
        let predictions = try model.predict(matrix: x)
        #expect(try decoded.predict(matrix: x) == predictions)
        #expect(try decoded.predict(row: [x[0, 0], x[0, 1], x[0, 2]]) == predictions[0])
        #expect(throws: TrainingError.self) { try decoded.predict(row: [1, 2]) }
    }

    @Test(arguments: ["logistic_regression", "gradient_boosting"])
    func singleClassLabelsGiveConfidentPredictions(algorithm: String) throws {
        let (x, _) = TestData.logistic(rows: 100, columns: 2, seed: 41)
        let ones = [Double](repeating: 1, count: 100)
        let model = try ModelTrainer.train(algorithm: algorithm, hyperparameters: [:], task: .classification,
                                           seed: 0, x: x, y: ones)
        let p = try model.predict(matrix: x)
        #expect(p.allSatisfy { $0 > 0.99 && $0 <= 1 })
    }
}
