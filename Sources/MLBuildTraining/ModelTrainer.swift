/// The one entry point the build rules call: turns an Mlfile's algorithm name and textual
/// hyper-parameters into a fitted `TrainedModel`, rejecting unknown names and bad values with a
/// message naming them.
///
/// Hyper-parameters (text as written in the Mlfile; defaults follow scikit-learn):
///   logistic_regression  l2 = 1.0 (≥ 0), tolerance = 1e-06 (> 0), max_iterations = 100 (≥ 1)
///   linear_regression    alpha = 1.0 (≥ 0)
///   gradient_boosting    trees = 100, learning_rate = 0.1, max_leaf_nodes = 31, min_samples_leaf = 20,
///                        max_bins = 255 (2…255), l2 = 0.0, max_depth = none, subsample = 1.0 (0 < s ≤ 1),
///                        early_stopping = false (true | false), validation_fraction = 0.1 (0 < f < 1),
///                        n_iter_no_change = 10 (≥ 1), tolerance = 1e-07 (≥ 0; early stopping's)
///
/// Classification labels are class indices 0..<classCount; classCount ≥ 3 fits the multinomial
/// model of the algorithm (`MultinomialLogisticRegression`, multi-class `GradientBoosting`),
/// classCount 2 the binary one exactly as before.
public enum ModelTrainer {
    public static let algorithms = ["gradient_boosting", "linear_regression", "logistic_regression"]

    public static func train(
        algorithm: String, hyperparameters: [String: String], task: TrainingTask, seed: UInt64,
        x: Matrix, y: [Double]
    ) throws -> TrainedModel {
        try trainRecordingGain(algorithm: algorithm, hyperparameters: hyperparameters, task: task, seed: seed, x: x, y: y).model
    }

    /// `train`, plus what only training knows: a gradient-boosted model's total split gain per
    /// feature (nil for the other algorithms, whose importance is read from the model).
    public static func trainRecordingGain(
        algorithm: String, hyperparameters: [String: String], task: TrainingTask, seed: UInt64,
        x: Matrix, y: [Double]
    ) throws -> (model: TrainedModel, splitGain: [Double]?) {
        try trainRecordingGain(
            algorithm: algorithm, hyperparameters: hyperparameters, task: task, seed: seed, x: x, y: y,
            classCount: 2, sampleWeights: nil)
    }

    /// What `progress` counts for `algorithm`: boosting iterations (`trees`), Newton steps
    /// (`iterations`); nil for a closed-form fit, which reports nothing.
    public static func progressUnit(algorithm: String) -> String? {
        switch algorithm {
        case "gradient_boosting": return "trees"
        case "logistic_regression": return "iterations"
        default: return nil
        }
    }

    /// `trainRecordingGain` for any number of classes (ignored for regression) and optional
    /// per-row sample weights (nil = all 1; finite, ≥ 0, positive sum), e.g. from `ClassWeights`.
    /// `progress` hears how far the fit has got, in `progressUnit(algorithm:)`.
    public static func trainRecordingGain(
        algorithm: String, hyperparameters: [String: String], task: TrainingTask, seed: UInt64,
        x: Matrix, y: [Double], classCount: Int, sampleWeights: [Double]?, progress: TrainingProgress? = nil
    ) throws -> (model: TrainedModel, splitGain: [Double]?) {
        let values = try resolve(algorithm: algorithm, hyperparameters: hyperparameters)
        let classes = task == .classification ? classCount : 2
        if task == .classification, classCount < 2 {
            throw TrainingError.invalidHyperparameter(name: "classCount", value: "\(classCount)", expected: "at least 2 classes")
        }
        switch algorithm {
        case "logistic_regression":
            guard task == .classification else { throw TrainingError.unsupportedTask(algorithm: algorithm, task: task) }
            if classes >= 3 {
                let solver = MultinomialLogisticRegression(
                    l2: values.double("l2"), tolerance: values.double("tolerance"),
                    maxIterations: values.int("max_iterations"))
                return (.multinomialLogisticRegression(try solver.fit(x: x, y: y, classCount: classes, sampleWeights: sampleWeights,
                                                                      progress: progress)), nil)
            }
            let solver = LogisticRegression(
                l2: values.double("l2"), tolerance: values.double("tolerance"),
                maxIterations: values.int("max_iterations"))
            return (.logisticRegression(try solver.fit(x: x, y: y, sampleWeights: sampleWeights, progress: progress)), nil)
        case "linear_regression":
            guard task == .regression else { throw TrainingError.unsupportedTask(algorithm: algorithm, task: task) }
            if sampleWeights != nil {
                throw TrainingError.invalidHyperparameter(name: "sample weights", value: "given", expected: "none for linear_regression")
            }
            return (.linearRegression(try LinearRegression(alpha: values.double("alpha")).fit(x: x, y: y)), nil)
        default:
            let booster = GradientBoosting(
                trees: values.int("trees"), learningRate: values.double("learning_rate"),
                maxLeafNodes: values.int("max_leaf_nodes"), minSamplesLeaf: values.int("min_samples_leaf"),
                maxBins: values.int("max_bins"), l2: values.double("l2"), maxDepth: values.optionalInt("max_depth"),
                subsample: values.double("subsample"), seed: seed,
                earlyStopping: values.bool("early_stopping"), validationFraction: values.double("validation_fraction"),
                iterationsWithoutChange: values.int("n_iter_no_change"), tolerance: values.double("tolerance"))
            let (model, gain) = try booster.fitRecordingGain(x: x, y: y, task: task, classCount: classes, sampleWeights: sampleWeights,
                                                           progress: progress)
            return (.gradientBoosting(model), gain)
        }
    }

    /// Every hyper-parameter of `algorithm` with its effective value (defaults filled in) in
    /// canonical text ("0.10" and "0.1" both give "0.1"), sorted by name: for the model artifact
    /// and the action key.
    public static func resolvedHyperparameters(
        algorithm: String, hyperparameters: [String: String]
    ) throws -> [(name: String, value: String)] {
        let values = try resolve(algorithm: algorithm, hyperparameters: hyperparameters)
        return values.entries.keys.sorted().map { name in (name, values.entries[name]?.text ?? "") }
    }

    /// The accepted hyper-parameter names of `algorithm`, sorted.
    public static func hyperparameterNames(algorithm: String) throws -> [String] {
        try specs(for: algorithm).map(\.name).sorted()
    }

    // MARK: - Parsing

    private enum Kind {
        case double(minimum: Double, inclusive: Bool, maximum: Double?)
        case int(minimum: Int, maximum: Int?)
        case optionalInt(minimum: Int)
        case bool
        /// 0 < v < 1
        case openFraction
    }

    private struct Spec {
        var name: String
        var kind: Kind
        var defaultText: String
    }

    private enum Value {
        case double(Double)
        case int(Int)
        case bool(Bool)
        case none

        var text: String {
            switch self {
            case let .double(v): "\(v)"
            case let .int(v): "\(v)"
            case let .bool(v): v ? "true" : "false"
            case .none: "none"
            }
        }
    }

    private struct Resolved {
        var entries: [String: Value]
        // Names below come from the specs, so a missing entry is a programming error; fall back
        // to a neutral value rather than trapping.
        func double(_ name: String) -> Double {
            if case let .double(v)? = entries[name] { return v }
            return 0
        }
        func int(_ name: String) -> Int {
            if case let .int(v)? = entries[name] { return v }
            return 0
        }
        func bool(_ name: String) -> Bool {
            if case let .bool(v)? = entries[name] { return v }
            return false
        }
        func optionalInt(_ name: String) -> Int? {
            if case let .int(v)? = entries[name] { return v }
            return nil
        }
    }

    private static func specs(for algorithm: String) throws -> [Spec] {
        switch algorithm {
        case "logistic_regression":
            return [
                Spec(name: "l2", kind: .double(minimum: 0, inclusive: true, maximum: nil), defaultText: "1.0"),
                Spec(name: "tolerance", kind: .double(minimum: 0, inclusive: false, maximum: nil), defaultText: "1e-6"),
                Spec(name: "max_iterations", kind: .int(minimum: 1, maximum: nil), defaultText: "100"),
            ]
        case "linear_regression":
            return [Spec(name: "alpha", kind: .double(minimum: 0, inclusive: true, maximum: nil), defaultText: "1.0")]
        case "gradient_boosting":
            return [
                Spec(name: "trees", kind: .int(minimum: 1, maximum: nil), defaultText: "100"),
                Spec(name: "learning_rate", kind: .double(minimum: 0, inclusive: false, maximum: nil), defaultText: "0.1"),
                Spec(name: "max_leaf_nodes", kind: .int(minimum: 2, maximum: nil), defaultText: "31"),
                Spec(name: "min_samples_leaf", kind: .int(minimum: 1, maximum: nil), defaultText: "20"),
                Spec(name: "max_bins", kind: .int(minimum: 2, maximum: 255), defaultText: "255"),
                Spec(name: "l2", kind: .double(minimum: 0, inclusive: true, maximum: nil), defaultText: "0.0"),
                Spec(name: "max_depth", kind: .optionalInt(minimum: 1), defaultText: "none"),
                Spec(name: "subsample", kind: .double(minimum: 0, inclusive: false, maximum: 1), defaultText: "1.0"),
                Spec(name: "early_stopping", kind: .bool, defaultText: "false"),
                Spec(name: "validation_fraction", kind: .openFraction, defaultText: "0.1"),
                Spec(name: "n_iter_no_change", kind: .int(minimum: 1, maximum: nil), defaultText: "10"),
                Spec(name: "tolerance", kind: .double(minimum: 0, inclusive: true, maximum: nil), defaultText: "1e-7"),
            ]
        default:
            throw TrainingError.unknownAlgorithm(name: algorithm, accepted: algorithms)
        }
    }

    private static func resolve(algorithm: String, hyperparameters: [String: String]) throws -> Resolved {
        let specs = try specs(for: algorithm)
        let accepted = specs.map(\.name).sorted()
        for name in hyperparameters.keys.sorted() where !accepted.contains(name) {
            throw TrainingError.unknownHyperparameter(name: name, algorithm: algorithm, accepted: accepted)
        }
        var entries = [String: Value]()
        for spec in specs {
            let given = hyperparameters[spec.name]
            entries[spec.name] = try parse(given ?? spec.defaultText, spec: spec)
        }
        return Resolved(entries: entries)
    }

    private static func parse(_ raw: String, spec: Spec) throws -> Value {
        let text = raw.trimmingCharacters(in: .whitespaces)
        func invalid(_ expected: String) -> TrainingError {
            .invalidHyperparameter(name: spec.name, value: raw, expected: expected)
        }
        switch spec.kind {
        case let .double(minimum, inclusive, maximum):
            var expected = inclusive ? "a number >= \(format(minimum))" : "a number > \(format(minimum))"
            if let maximum { expected += " and <= \(format(maximum))" }
            guard let v = Double(text), v.isFinite else { throw invalid(expected) }
            guard inclusive ? v >= minimum : v > minimum else { throw invalid(expected) }
            if let maximum, v > maximum { throw invalid(expected) }
            return .double(v)
        case let .int(minimum, maximum):
            let expected = maximum.map { "an integer from \(minimum) to \($0)" } ?? "an integer >= \(minimum)"
            guard let v = Int(text), v >= minimum else { throw invalid(expected) }
            if let maximum, v > maximum { throw invalid(expected) }
            return .int(v)
        case let .optionalInt(minimum):
            if text == "none" { return .none }
            guard let v = Int(text), v >= minimum else { throw invalid("an integer >= \(minimum) or none") }
            return .int(v)
        case .bool:
            switch text {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw invalid("true or false")
            }
        case .openFraction:
            guard let v = Double(text), v > 0, v < 1 else { throw invalid("a number > 0 and < 1") }
            return .double(v)
        }
    }

    private static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)"
    }
}
