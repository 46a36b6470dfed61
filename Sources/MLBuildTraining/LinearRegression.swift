/// Ridge regression in closed form: minimizes Σ_i (y_i − x_i·w − b)² + alpha‖w‖² (scikit-learn's
/// `Ridge(alpha)`), intercept unpenalized by centering X and y, solved by Cholesky of
/// XcᵀXc + alpha·I.
public struct LinearRegression: Sendable, Equatable {
    public var alpha: Double

    public init(alpha: Double = 1.0) {
        self.alpha = alpha
    }

    public func fit(x: Matrix, y: [Double]) throws -> LinearRegressionModel {
        try TrainingInput.validate(x: x, y: y, task: .regression, finiteFeatures: true)
        let n = x.rows, d = x.columns
        let ones = [Double](repeating: 1, count: n)
        // Column sums and Σy via the same fixed-order pass (center 0, vector 1 gives Σ x_j and n).
        let (_, sums) = x.gramAndMoment(center: [Double](repeating: 0, count: d), weights: nil, vector: ones, gram: false)
        let mean = sums[0 ..< d].map { $0 / Double(n) }
        let yMean = FixedChunks(total: n).map { range in range.reduce(0.0) { $0 + y[$1] } }.reduce(0, +) / Double(n)
        let centered = y.map { $0 - yMean }
        let (gram, moment) = x.gramAndMoment(center: mean, weights: nil, vector: centered, gram: true)
        // Drop the ones column: the centered system is d×d.
        let p = d + 1
        var a = [Double](repeating: 0, count: d * d)
        for j in 0 ..< d {
            for k in 0 ..< d { a[j * d + k] = gram[j * p + k] }
            a[j * d + j] += alpha
        }
        var coefficients = [Double](repeating: 0, count: d)
        if d > 0 {
            guard let factor = Cholesky(a, size: d) else {
                throw TrainingError.singularSystem(
                    algorithm: "linear_regression",
                    hint: "features are collinear or constant; use alpha > 0")
            }
            coefficients = factor.solve(Array(moment[0 ..< d]))
        }
        var intercept = yMean
        for j in 0 ..< d { intercept -= mean[j] * coefficients[j] }
        return LinearRegressionModel(coefficients: coefficients, intercept: intercept)
    }
}
