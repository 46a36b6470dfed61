import Foundation

/// A fitted multinomial (softmax) logistic regression over K ≥ 3 classes:
/// P(k | x) = softmax_k(x·w_k + b_k), w_k = coefficients[k·d ..< (k+1)·d] (row-major K×d),
/// b_k = intercepts[k]. The fitted intercepts sum to 0 (as scikit-learn's do).
/// JSON: {"classCount": K, "coefficients": [K·d], "converged": bool, "featureCount": d,
///        "intercepts": [K], "iterations": n}; decoding checks the shapes.
public struct MultinomialLogisticRegressionModel: Codable, Sendable, Equatable {
    public var classCount: Int
    public var featureCount: Int
    public var coefficients: [Double]
    public var intercepts: [Double]
    /// Newton steps taken.
    public var iterations: Int
    public var converged: Bool

    public init(classCount: Int, featureCount: Int, coefficients: [Double], intercepts: [Double], iterations: Int, converged: Bool) {
        self.classCount = classCount
        self.featureCount = featureCount
        self.coefficients = coefficients
        self.intercepts = intercepts
        self.iterations = iterations
        self.converged = converged
    }

    private enum CodingKeys: String, CodingKey { case classCount, featureCount, coefficients, intercepts, iterations, converged }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            classCount: try c.decode(Int.self, forKey: .classCount), featureCount: try c.decode(Int.self, forKey: .featureCount),
            coefficients: try c.decode([Double].self, forKey: .coefficients), intercepts: try c.decode([Double].self, forKey: .intercepts),
            iterations: try c.decode(Int.self, forKey: .iterations), converged: try c.decode(Bool.self, forKey: .converged))
        guard classCount >= 3, featureCount >= 0, coefficients.count == classCount * featureCount, intercepts.count == classCount else {
            throw TrainingError.invalidModel(reason: "multinomial logistic regression needs classCount >= 3, classCount × featureCount coefficients and classCount intercepts (classCount \(classCount), featureCount \(featureCount), \(coefficients.count) coefficients, \(intercepts.count) intercepts)")
        }
    }

    /// The K linear scores of one row.
    public func decisionFunction(row: [Double]) throws -> [Double] {
        try predictRaw(Matrix(rows: 1, columns: row.count, values: row))
    }

    public func predictProbabilities(row: [Double]) throws -> [Double] {
        try predictProbabilities(matrix: Matrix(rows: 1, columns: row.count, values: row)).values
    }

    /// rows × K probabilities, row-major.
    public func predictProbabilities(matrix: Matrix) throws -> Matrix {
        let raw = try predictRaw(matrix)
        return Matrix(rows: matrix.rows, columns: classCount, values: softmaxRows(raw, rows: matrix.rows, classCount: classCount))
    }

    /// Per class, `linearScore` over [w_k, b_k]: the solver's own summation order.
    func predictRaw(_ matrix: Matrix) throws -> [Double] {
        guard matrix.columns == featureCount else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: featureCount, actual: matrix.columns)
        }
        let k = classCount, d = featureCount
        var theta = [Double]()
        theta.reserveCapacity(k * (d + 1))
        for c in 0 ..< k { theta += coefficients[c * d ..< (c + 1) * d]; theta.append(intercepts[c]) }
        var raw = [Double](repeating: 0, count: matrix.rows * k)
        matrix.values.withUnsafeBufferPointer { xs in
            theta.withUnsafeBufferPointer { th in
                raw.withUnsafeMutableBufferPointer { r in
                    FixedChunks(total: matrix.rows, rowsPerChunk: 4096).forEach { range in
                        for i in range {
                            for c in 0 ..< k {
                                r[i * k + c] = linearScore(xs, i * d, d, UnsafeBufferPointer(rebasing: th[c * (d + 1) ..< (c + 1) * (d + 1)]))
                            }
                        }
                    }
                }
            }
        }
        return raw
    }
}
