import Foundation

/// How much each feature (matrix column) matters to a fitted model, by one of two definitions:
/// - `totalSplitGain` (gradient boosting): the sum, over every split on the feature in every
///   tree, of the split's gain G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ) (HistogramTreeGrower's,
///   without the ½), recorded while training — a tree alone does not hold its gradients.
/// - `standardizedCoefficient` (logistic and linear regression): coefficient × the feature's
///   standard deviation on the training rows (population form, divisor n), i.e. the change of
///   the linear score for a one-standard-deviation change of the feature. Signed. For a
///   multinomial model: Σ_k |w_kj| × sd_j, the magnitudes summed over classes (unsigned: a
///   feature pushes some classes up and others down).
///   Multi-class boosting's split gain is summed over the trees of every class.
public struct FeatureImportance: Sendable, Equatable {
    public enum Definition: String, Sendable {
        case totalSplitGain = "total_split_gain"
        case standardizedCoefficient = "standardized_coefficient"
    }

    public var definition: Definition
    /// One value per matrix column.
    public var values: [Double]

    public init(definition: Definition, values: [Double]) {
        self.definition = definition
        self.values = values
    }

    /// The importance of `model`'s features. `splitGain` is what training recorded for a
    /// gradient-boosted model (nil otherwise); `x` is the training matrix.
    public static func of(_ model: TrainedModel, splitGain: [Double]?, x: Matrix) -> FeatureImportance? {
        switch model {
        case let .logisticRegression(m):
            return standardized(m.coefficients, x: x)
        case let .multinomialLogisticRegression(m):
            let d = m.featureCount
            let summed = (0 ..< d).map { j in (0 ..< m.classCount).reduce(0.0) { $0 + abs(m.coefficients[$1 * d + j]) } }
            return standardized(summed, x: x)
        case let .linearRegression(m):
            return standardized(m.coefficients, x: x)
        case .gradientBoosting:
            guard let splitGain, splitGain.count == model.featureCount else { return nil }
            return FeatureImportance(definition: .totalSplitGain, values: splitGain)
        }
    }

    static func standardized(_ coefficients: [Double], x: Matrix) -> FeatureImportance? {
        guard coefficients.count == x.columns, x.rows > 0 else { return nil }
        let n = Double(x.rows), d = x.columns
        var sums = [Double](repeating: 0, count: d)
        for r in 0 ..< x.rows {
            for c in 0 ..< d { sums[c] += x.values[r * d + c] }
        }
        let means = sums.map { $0 / n }
        var squares = [Double](repeating: 0, count: d)
        for r in 0 ..< x.rows {
            for c in 0 ..< d {
                let delta = x.values[r * d + c] - means[c]
                squares[c] += delta * delta
            }
        }
        let values = (0 ..< d).map { c in coefficients[c] * (squares[c] / n).squareRoot() }
        return FeatureImportance(definition: .standardizedCoefficient, values: values)
    }
}
