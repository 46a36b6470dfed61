/// Any fitted model, as the integrator stores it in `model.json` and loads it back to predict.
///
/// JSON (encode with `.sortedKeys` for byte-stable artifacts):
///   {"algorithm": "logistic_regression" | "linear_regression" | "gradient_boosting",
///    "model": <LogisticRegressionModel | MultinomialLogisticRegressionModel | LinearRegressionModel
///              | GradientBoostingModel>}
/// A "logistic_regression" model object with a "classCount" key is the multinomial one.
/// Multi-class models (K ≥ 3) predict through `predictProbabilities`; their `predict` throws
/// (there is no single score to return).
/// Decoding validates the model (tree indices, feature counts) so that a corrupted file fails
/// with a message instead of crashing at prediction time.
public enum TrainedModel: Codable, Sendable, Equatable {
    case logisticRegression(LogisticRegressionModel)
    case multinomialLogisticRegression(MultinomialLogisticRegressionModel)
    case linearRegression(LinearRegressionModel)
    case gradientBoosting(GradientBoostingModel)

    public var algorithm: String {
        switch self {
        case .logisticRegression, .multinomialLogisticRegression: "logistic_regression"
        case .linearRegression: "linear_regression"
        case .gradientBoosting: "gradient_boosting"
        }
    }

    public var task: TrainingTask {
        switch self {
        case .logisticRegression, .multinomialLogisticRegression: .classification
        case .linearRegression: .regression
        case let .gradientBoosting(model): model.task
        }
    }

    public var featureCount: Int {
        switch self {
        case let .logisticRegression(model): model.featureCount
        case let .multinomialLogisticRegression(model): model.featureCount
        case let .linearRegression(model): model.featureCount
        case let .gradientBoosting(model): model.featureCount
        }
    }

    /// nil for regression, 2 for binary classifiers, K for multi-class.
    public var classCount: Int? {
        switch self {
        case .logisticRegression: 2
        case let .multinomialLogisticRegression(model): model.classCount
        case .linearRegression: nil
        case let .gradientBoosting(model): model.task == .regression ? nil : (model.isMulticlass ? model.classCount : 2)
        }
    }

    /// Class probabilities, rows × classCount row-major, each row summing to 1 (binary: [1 − p, p]).
    /// Throws for regressors.
    public func predictProbabilities(matrix: Matrix) throws -> Matrix {
        switch self {
        case let .multinomialLogisticRegression(model):
            return try model.predictProbabilities(matrix: matrix)
        case let .gradientBoosting(model) where model.isMulticlass:
            return try model.predictProbabilities(matrix: matrix)
        default:
            guard task == .classification else {
                throw TrainingError.invalidModel(reason: "\(algorithm) regression has no class probabilities")
            }
            let p = try predict(matrix: matrix)
            return Matrix(rows: p.count, columns: 2, values: p.flatMap { [1 - $0, $0] })
        }
    }

    public func predictProbabilities(row: [Double]) throws -> [Double] {
        try predictProbabilities(matrix: Matrix(rows: 1, columns: row.count, values: row)).values
    }

    private func singleScoreError(_ k: Int) -> TrainingError {
        .invalidModel(reason: "a \(k)-class model has one probability per class: use predictProbabilities")
    }

    /// Probability of class 1 for binary classifiers, the predicted value for regressors; throws
    /// for multi-class models (use `predictProbabilities`).
    public func predict(row: [Double]) throws -> Double {
        switch self {
        case let .logisticRegression(model): try model.predictProbability(row: row)
        case let .multinomialLogisticRegression(model): throw singleScoreError(model.classCount)
        case let .linearRegression(model): try model.predict(row: row)
        case let .gradientBoosting(model): try model.predict(row: row)
        }
    }

    public func predict(matrix: Matrix) throws -> [Double] {
        switch self {
        case let .logisticRegression(model): try model.predictProbability(matrix: matrix)
        case let .multinomialLogisticRegression(model): throw singleScoreError(model.classCount)
        case let .linearRegression(model): try model.predict(matrix: matrix)
        case let .gradientBoosting(model): try model.predict(matrix: matrix)
        }
    }

    /// Every number a prediction reads must be finite: each problem names its field, relative to
    /// this model's JSON (`model.coefficients[3]: …`). Empty for any model the trainers produce.
    /// (JSON itself cannot spell NaN or infinity, but a model may be built in memory.)
    public func problems() -> [String] {
        var out: [String] = []
        func check(_ values: [Double], _ field: String) {
            if let k = values.firstIndex(where: { !$0.isFinite }) { out.append("model.\(field)[\(k)]: not a finite number") }
        }
        func check(_ value: Double, _ field: String) {
            if !value.isFinite { out.append("model.\(field): not a finite number") }
        }
        switch self {
        case let .logisticRegression(model):
            check(model.coefficients, "coefficients")
            check(model.intercept, "intercept")
        case let .linearRegression(model):
            check(model.coefficients, "coefficients")
            check(model.intercept, "intercept")
        case let .multinomialLogisticRegression(model):
            check(model.coefficients, "coefficients")
            check(model.intercepts, "intercepts")
            if model.classCount < 3 { out.append("model.classCount: \(model.classCount) is below 3") }
            if model.coefficients.count != model.classCount * model.featureCount {
                out.append("model.coefficients: \(model.coefficients.count) values, expected classCount × featureCount = \(model.classCount * model.featureCount)")
            }
            if model.intercepts.count != model.classCount {
                out.append("model.intercepts: \(model.intercepts.count) values, expected classCount = \(model.classCount)")
            }
        case let .gradientBoosting(model):
            check(model.baseline, "baseline")
            check(model.baselines, "baselines")
            if model.isMulticlass {
                if model.baselines.count != model.classCount {
                    out.append("model.baselines: \(model.baselines.count) values, expected classCount = \(model.classCount)")
                }
                if model.trees.count % model.classCount != 0 {
                    out.append("model.trees: \(model.trees.count) trees is not a multiple of classCount = \(model.classCount)")
                }
            } else if model.classCount != 0 {
                out.append("model.classCount: \(model.classCount) (expected 0 for one score, or >= 3)")
            }
            if model.featureCount < 0 { out.append("model.featureCount: \(model.featureCount) is negative") }
            for (t, tree) in model.trees.enumerated() {
                for (i, node) in tree.nodes.enumerated() {
                    check(node.value, "trees[\(t)].nodes[\(i)].value")
                    if !node.isLeaf { check(node.threshold, "trees[\(t)].nodes[\(i)].threshold") }
                }
            }
        }
        return out
    }

    private enum CodingKeys: String, CodingKey { case algorithm, model }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let algorithm = try c.decode(String.self, forKey: .algorithm)
        switch algorithm {
        case "logistic_regression":
            let fields = try c.nestedContainer(keyedBy: AnyKey.self, forKey: .model)
            if fields.contains(AnyKey(stringValue: "classCount")) {
                self = .multinomialLogisticRegression(try c.decode(MultinomialLogisticRegressionModel.self, forKey: .model))
            } else {
                self = .logisticRegression(try c.decode(LogisticRegressionModel.self, forKey: .model))
            }
        case "linear_regression":
            self = .linearRegression(try c.decode(LinearRegressionModel.self, forKey: .model))
        case "gradient_boosting":
            self = .gradientBoosting(try c.decode(GradientBoostingModel.self, forKey: .model))
        default:
            throw TrainingError.unknownAlgorithm(name: algorithm, accepted: ModelTrainer.algorithms)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(algorithm, forKey: .algorithm)
        switch self {
        case let .logisticRegression(model): try c.encode(model, forKey: .model)
        case let .multinomialLogisticRegression(model): try c.encode(model, forKey: .model)
        case let .linearRegression(model): try c.encode(model, forKey: .model)
        case let .gradientBoosting(model): try c.encode(model, forKey: .model)
        }
    }
}

/// A coding key for peeking at which fields a model object has.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
