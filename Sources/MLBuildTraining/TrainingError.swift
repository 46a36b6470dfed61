/// Everything that can go wrong while training, predicting or scoring. Each case names the thing at
/// fault (hyper-parameter, row, column) so that the integrator can prefix it with the Mlfile location.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownAlgorithm(name: String, accepted: [String])
    case unknownHyperparameter(name: String, algorithm: String, accepted: [String])
    case invalidHyperparameter(name: String, value: String, expected: String)
    case unsupportedTask(algorithm: String, task: TrainingTask)
    case emptyData
    case noFeatures(algorithm: String)
    case shapeMismatch(what: String, expected: Int, actual: Int)
    case invalidLabel(row: Int, value: Double, expected: String)
    case nonFiniteFeature(row: Int, column: Int)
    case nonFiniteValue(what: String, row: Int)
    case singularSystem(algorithm: String, hint: String)
    case invalidModel(reason: String)
    case invalidSampleWeight(row: Int, value: Double)
    case zeroSampleWeights
    case invalidFolds(folds: Int, reason: String)

    public var description: String {
        switch self {
        case let .unknownAlgorithm(name, accepted):
            return "unknown algorithm '\(name)' (accepted: \(accepted.joined(separator: ", ")))"
        case let .unknownHyperparameter(name, algorithm, accepted):
            return "unknown hyper-parameter '\(name)' for \(algorithm) (accepted: \(accepted.joined(separator: ", ")))"
        case let .invalidHyperparameter(name, value, expected):
            return "invalid value '\(value)' for hyper-parameter '\(name)': expected \(expected)"
        case let .unsupportedTask(algorithm, task):
            return "algorithm \(algorithm) does not support \(task.rawValue)"
        case .emptyData:
            return "no training rows"
        case let .noFeatures(algorithm):
            return "\(algorithm) needs at least one feature column"
        case let .shapeMismatch(what, expected, actual):
            return "\(what): expected \(expected), got \(actual)"
        case let .invalidLabel(row, value, expected):
            return "row \(row): label \(value) is not \(expected)"
        case let .nonFiniteFeature(row, column):
            return "row \(row), feature column \(column): value is NaN or infinite (this algorithm needs finite features; gradient_boosting accepts missing values)"
        case let .nonFiniteValue(what, row):
            return "row \(row): \(what) is NaN or infinite"
        case let .singularSystem(algorithm, hint):
            return "\(algorithm): the system is singular (\(hint))"
        case let .invalidModel(reason):
            return "invalid model: \(reason)"
        case let .invalidSampleWeight(row, value):
            return "row \(row): sample weight \(value) is not a finite number >= 0"
        case .zeroSampleWeights:
            return "the sample weights sum to 0 (every row would be ignored)"
        case let .invalidFolds(folds, reason):
            return "\(folds) folds: \(reason)"
        }
    }
}
