/// Any fitted model, as the integrator stores it in `model.json` and loads it back to predict.
///
/// JSON (encode with `.sortedKeys` for byte-stable artifacts):
///   {"algorithm": "logistic_regression" | "linear_regression" | "gradient_boosting",
///    "model": <LogisticRegressionModel | LinearRegressionModel | GradientBoostingModel>}
/// Decoding validates the model (tree indices, feature counts) so that a corrupted file fails
/// with a message instead of crashing at prediction time.
public enum TrainedModel: Codable, Sendable, Equatable {
    case logisticRegression(LogisticRegressionModel)
    case linearRegression(LinearRegressionModel)
    case gradientBoosting(GradientBoostingModel)

    public var algorithm: String {
        switch self {
        case .logisticRegression: "logistic_regression"
        case .linearRegression: "linear_regression"
        case .gradientBoosting: "gradient_boosting"
        }
    }

    public var task: TrainingTask {
        switch self {
        case .logisticRegression: .classification
        case .linearRegression: .regression
        case let .gradientBoosting(model): model.task
        }
    }

    public var featureCount: Int {
        switch self {
        case let .logisticRegression(model): model.featureCount
        case let .linearRegression(model): model.featureCount
        case let .gradientBoosting(model): model.featureCount
        }
    }

    /// Probability of class 1 for classifiers, the predicted value for regressors.
    public func predict(row: [Double]) throws -> Double {
        switch self {
        case let .logisticRegression(model): try model.predictProbability(row: row)
        case let .linearRegression(model): try model.predict(row: row)
        case let .gradientBoosting(model): try model.predict(row: row)
        }
    }

    public func predict(matrix: Matrix) throws -> [Double] {
        switch self {
        case let .logisticRegression(model): try model.predictProbability(matrix: matrix)
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
        case let .gradientBoosting(model):
            check(model.baseline, "baseline")
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
            self = .logisticRegression(try c.decode(LogisticRegressionModel.self, forKey: .model))
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
        case let .linearRegression(model): try c.encode(model, forKey: .model)
        case let .gradientBoosting(model): try c.encode(model, forKey: .model)
        }
    }
}
