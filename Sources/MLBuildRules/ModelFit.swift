import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildTraining

/// One fit of a model target's settings on some rows and its evaluation on others: what the
/// model does with the whole training split and each cross-validation fold with its part.
struct ModelFit {
    var algorithm: String
    /// Hyper-parameters as written, by name.
    var hyperparameters: [String: String]
    var options: ModelOptions

    struct Fitted {
        var model: TrainedModel
        var splitGain: [Double]?
        /// The decision threshold of a binary classifier when the Mlfile asks for one.
        var threshold: Double?
    }

    struct Evaluation {
        var metrics: Metrics
        /// Binary: P(class 1) per row; regression: the predictions; multi-class: empty.
        var scores: [Double]
        /// Multi-class: rows × classes.
        var probabilities: Matrix?
    }

    /// Fits on `x`, `y` (labels as class indices for classification), reporting the fit's
    /// steps to `progress` (trees, iterations) when given.
    func fit(x: Matrix, y: [Double], data: ModelTrainingData, seed: UInt64, progress: RuleProgress? = nil) throws -> Fitted {
        if data.task == .classification { try checkClasses(y, data: data) }
        let weights = data.task == .classification
            ? try options.sampleWeights(labels: y, classes: data.classes) : nil
        do {
            let trained = try ModelTrainer.trainRecordingGain(
                algorithm: algorithm, hyperparameters: hyperparameters, task: data.task, seed: seed, x: x, y: y,
                classCount: data.classCount, sampleWeights: weights,
                progress: progress.flatMap { progress in
                    ModelTrainer.progressUnit(algorithm: algorithm).map { unit in
                        { done, total in progress.report(done: Int64(done), total: Int64(total), unit: unit) }
                    }
                })
            var threshold: Double?
            switch options.threshold {
            case .fixed(let t)?: threshold = t
            case .maxF1?:
                threshold = try ThresholdTuning.maxF1(
                    algorithm: algorithm, hyperparameters: hyperparameters, seed: seed, x: x, y: y, sampleWeights: weights, folds: 5)
            case nil: break
            }
            return Fitted(model: trained.model, splitGain: trained.splitGain, threshold: threshold)
        } catch let error as TrainingError {
            throw RuleFailure("\(algorithm): \(error.description)")
        }
    }

    /// Scores `model` on `x` against `y`.
    func evaluate(_ fitted: Fitted, x: Matrix, y: [Double], data: ModelTrainingData) throws -> Evaluation {
        do {
            switch data.task {
            case .regression:
                let predictions = try fitted.model.predict(matrix: x)
                return Evaluation(metrics: try Metrics.regression(targets: y, predictions: predictions), scores: predictions)
            case .classification where data.isMulticlass:
                let probabilities = try fitted.model.predictProbabilities(matrix: x)
                return Evaluation(metrics: try Metrics.multiclass(labels: y, probabilities: probabilities), scores: [], probabilities: probabilities)
            case .classification:
                let scores = try fitted.model.predict(matrix: x)
                return Evaluation(metrics: try Metrics.classification(labels: y, probabilities: scores, threshold: fitted.threshold), scores: scores)
            }
        } catch let error as TrainingError {
            throw RuleFailure("\(algorithm): \(error.description)")
        }
    }

    /// Labels within the classes; a multi-class fit needs every class among its rows, and a
    /// threshold needs a binary model.
    private func checkClasses(_ y: [Double], data: ModelTrainingData) throws {
        let k = data.classCount
        var counts = [Int](repeating: 0, count: k)
        for label in y {
            guard label >= 0, label < Double(k), label == label.rounded() else {
                throw RuleFailure("label '\(data.transform.label.column)' has the value \(CanonicalJSON.format(label)), not a class index below \(k)")
            }
            counts[Int(label)] += 1
        }
        if data.isMulticlass {
            if let empty = counts.firstIndex(of: 0) {
                throw RuleFailure("class '\(data.classes[empty])' of label '\(data.transform.label.column)' has no training rows "
                                  + "(a \(k)-class model needs rows of every class)")
            }
            if options.threshold != nil {
                let at = options.locations["threshold"].map { "\($0): " } ?? ""
                throw RuleFailure("\(at)threshold applies to binary classifiers; label '\(data.transform.label.column)' has \(k) classes "
                                  + "(\(data.classes.joined(separator: ", "))), and a multi-class model predicts its most probable class")
            }
        }
    }
}
