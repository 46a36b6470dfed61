import Foundation

/// A fitted logistic regression: P(y = 1 | x) = σ(x·coefficients + intercept).
/// JSON: {"coefficients": [..], "converged": bool, "intercept": x, "iterations": n}.
public struct LogisticRegressionModel: Codable, Sendable, Equatable {
    public var coefficients: [Double]
    public var intercept: Double
    /// Newton steps taken.
    public var iterations: Int
    /// Whether the gradient tolerance was reached within the iteration budget.
    public var converged: Bool

    public init(coefficients: [Double], intercept: Double, iterations: Int, converged: Bool) {
        self.coefficients = coefficients
        self.intercept = intercept
        self.iterations = iterations
        self.converged = converged
    }

    public var featureCount: Int { coefficients.count }

    public func decisionFunction(row: [Double]) throws -> Double {
        guard row.count == coefficients.count else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: coefficients.count, actual: row.count)
        }
        // Same summation order as the batch path, so row and matrix predictions agree bit for bit.
        let theta = coefficients + [intercept]
        return row.withUnsafeBufferPointer { xs in
            theta.withUnsafeBufferPointer { th in linearScore(xs, 0, row.count, th) }
        }
    }

    public func predictProbability(row: [Double]) throws -> Double {
        sigmoid(try decisionFunction(row: row))
    }

    public func predictProbability(matrix: Matrix) throws -> [Double] {
        guard matrix.columns == coefficients.count else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: coefficients.count, actual: matrix.columns)
        }
        let theta = coefficients + [intercept]
        var out = [Double](repeating: 0, count: matrix.rows)
        matrix.values.withUnsafeBufferPointer { xs in
            theta.withUnsafeBufferPointer { th in
                out.withUnsafeMutableBufferPointer { o in
                    FixedChunks(total: matrix.rows).forEach { range in
                        for row in range { o[row] = sigmoid(linearScore(xs, row * matrix.columns, matrix.columns, th)) }
                    }
                }
            }
        }
        return out
    }
}

/// 1 / (1 + e^−z) without overflow for large |z|.
@inline(__always)
func sigmoid(_ z: Double) -> Double {
    z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
}
