/// A fitted linear model: ŷ = x·coefficients + intercept.
/// JSON: {"coefficients": [..], "intercept": x}.
public struct LinearRegressionModel: Codable, Sendable, Equatable {
    public var coefficients: [Double]
    public var intercept: Double

    public init(coefficients: [Double], intercept: Double) {
        self.coefficients = coefficients
        self.intercept = intercept
    }

    public var featureCount: Int { coefficients.count }

    public func predict(row: [Double]) throws -> Double {
        guard row.count == coefficients.count else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: coefficients.count, actual: row.count)
        }
        let theta = coefficients + [intercept]
        return row.withUnsafeBufferPointer { xs in
            theta.withUnsafeBufferPointer { th in linearScore(xs, 0, row.count, th) }
        }
    }

    public func predict(matrix: Matrix) throws -> [Double] {
        guard matrix.columns == coefficients.count else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: coefficients.count, actual: matrix.columns)
        }
        let theta = coefficients + [intercept]
        var out = [Double](repeating: 0, count: matrix.rows)
        matrix.values.withUnsafeBufferPointer { xs in
            theta.withUnsafeBufferPointer { th in
                out.withUnsafeMutableBufferPointer { o in
                    FixedChunks(total: matrix.rows).forEach { range in
                        for row in range { o[row] = linearScore(xs, row * matrix.columns, matrix.columns, th) }
                    }
                }
            }
        }
        return out
    }
}
