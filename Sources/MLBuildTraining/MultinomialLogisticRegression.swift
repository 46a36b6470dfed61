import Foundation
import MLBuildBasics

/// L2-penalized multinomial (softmax) logistic regression over K ≥ 3 classes, fitted by Newton's
/// method with a Cholesky solve on all K·(d+1) parameters.
///
/// Objective (scikit-learn's `LogisticRegression(C = 1/l2)` with lbfgs, multinomial):
///   Σ_i s_i · (−log p_{y_i}(x_i)) + (l2/2) Σ_k ‖w_k‖²      (intercepts not penalized)
/// with sample weights s_i (1 when none; class weights arrive as sample weights, as in sklearn).
/// Softmax is unchanged by adding one vector to every class, so the loss alone has a flat
/// direction; the penalty pins the coefficients (their class mean is 0 at the optimum) but not
/// the intercepts. Like sklearn's (started at 0, moved by gradients that sum to 0 over classes),
/// ours sum to 0: the solver minimizes the objective plus (γ/2)·Σ_j (Σ_k θ_kj)² over every
/// parameter column j, a term that is 0 exactly on the zero-sum solutions, so the optimum is the
/// unique zero-sum optimum of the original objective and the Hessian is positive definite.
/// γ = Σ s_i / K (the loss Hessian's scale).
///
/// Why Newton: for K·(d+1) ≤ ~1,000 parameters one Hessian is K(K+1)/2 blocked passes over X
/// and the solve is cheap; Newton reaches a 1e-6 gradient in ~10 steps, exactly reproducibly.
/// Convergence: max |∂(objective/Σs)/∂θ| ≤ `tolerance`, else `converged` = false after
/// `maxIterations` steps. Backtracking (Armijo) keeps every step a decrease.
public struct MultinomialLogisticRegression: Sendable, Equatable {
    public var l2: Double
    public var tolerance: Double
    public var maxIterations: Int

    public init(l2: Double = 1.0, tolerance: Double = 1e-6, maxIterations: Int = 100) {
        self.l2 = l2
        self.tolerance = tolerance
        self.maxIterations = maxIterations
    }

    /// `y` holds class indices 0..<classCount (classCount ≥ 3).
    /// `progress` as `LogisticRegression.fit`'s: after each step, then `(iterations, iterations)`.
    public func fit(x: Matrix, y: [Double], classCount k: Int, sampleWeights: [Double]? = nil,
                    progress: TrainingProgress? = nil) throws -> MultinomialLogisticRegressionModel {
        guard k >= 3 else {
            throw TrainingError.invalidHyperparameter(name: "classCount", value: "\(k)", expected: "at least 3 classes (binary uses LogisticRegression)")
        }
        try TrainingInput.validate(x: x, y: y, task: .classification, finiteFeatures: true, classCount: k)
        try TrainingInput.validate(sampleWeights: sampleWeights, rows: x.rows)
        let n = x.rows, d = x.columns, p = d + 1, size = k * p
        let weights = sampleWeights ?? [Double](repeating: 1, count: n)
        let labels = y.map { Int($0) }
        let weightSum = weights.reduce(0, +)
        let coupling = weightSum / Double(k)

        // Start at W = 0 with the intercepts of the weighted class priors (centred): the optimum
        // of the intercepts alone.
        var priors = [Double](repeating: 0, count: k)
        for i in 0 ..< n { priors[labels[i]] += weights[i] }
        let logs = priors.map { log(min(max($0 / weightSum, 1e-12), 1)) }
        let meanLog = logs.reduce(0, +) / Double(k)
        var theta = [Double](repeating: 0, count: size)
        for c in 0 ..< k { theta[c * p + d] = logs[c] - meanLog }

        let zeroCenter = [Double](repeating: 0, count: d)
        var state = evaluate(x: x, labels: labels, weights: weights, theta: theta, classCount: k, coupling: coupling)
        var iterations = 0
        var converged = false
        while true {
            // A cancelled build (Ctrl-C) stops here, between Newton steps; the caller discards the fit.
            try WorkBudget.current.checkCancellation()
            var gradient = [Double](repeating: 0, count: size)
            var residuals = [[Double]]()
            for c in 0 ..< k {
                let residual = (0 ..< n).map { i in weights[i] * (state.probabilities[i * k + c] - (labels[i] == c ? 1 : 0)) }
                residuals.append(residual)
                let (_, moment) = x.gramAndMoment(center: zeroCenter, weights: nil, vector: residual, gram: false)
                for j in 0 ..< p { gradient[c * p + j] = moment[j] }
            }
            addPenaltyGradient(&gradient, theta: theta, classCount: k, features: d, coupling: coupling)
            let scaledNorm = gradient.reduce(0) { max($0, abs($1)) } / weightSum
            if scaledNorm <= tolerance { converged = true; break }
            if iterations >= maxIterations { break }

            var hessian = [Double](repeating: 0, count: size * size)
            for c in 0 ..< k {
                for l in 0 ... c {
                    let blockWeights = (0 ..< n).map { i in
                        let pc = state.probabilities[i * k + c], pl = state.probabilities[i * k + l]
                        return weights[i] * pc * ((c == l ? 1 : 0) - pl)
                    }
                    let (block, _) = x.gramAndMoment(center: zeroCenter, weights: blockWeights, vector: residuals[c], gram: true)
                    for a in 0 ..< p {
                        for b in 0 ..< p {
                            hessian[(c * p + a) * size + l * p + b] = block[a * p + b]
                            hessian[(l * p + b) * size + c * p + a] = block[a * p + b]
                        }
                    }
                }
            }
            for c in 0 ..< k {
                for j in 0 ..< d { hessian[(c * p + j) * size + c * p + j] += l2 }
                for l in 0 ..< k { for j in 0 ..< p { hessian[(c * p + j) * size + l * p + j] += coupling } }
            }
            guard let step = LogisticRegression.newtonStep(hessian: hessian, gradient: gradient, size: size) else { break }

            let slope = zip(gradient, step).reduce(0) { $0 + $1.0 * $1.1 }
            guard let next = BacktrackingLineSearch.search(
                from: theta, step: step, slope: slope, objective: state.objective,
                evaluate: { evaluate(x: x, labels: labels, weights: weights, theta: $0, classCount: k, coupling: coupling) },
                objectiveOf: { $0.objective }) else { break }  // no decrease possible: at machine precision
            theta = next.theta
            state = next.point
            iterations += 1
            progress?(iterations, maxIterations)
        }
        progress?(iterations, iterations)
        var coefficients = [Double](), intercepts = [Double]()
        for c in 0 ..< k {
            coefficients += theta[c * p ..< c * p + d]
            intercepts.append(theta[c * p + d])
        }
        return MultinomialLogisticRegressionModel(
            classCount: k, featureCount: d, coefficients: coefficients, intercepts: intercepts,
            iterations: iterations, converged: converged)
    }

    private func addPenaltyGradient(_ gradient: inout [Double], theta: [Double], classCount k: Int, features d: Int, coupling: Double) {
        let p = d + 1
        for j in 0 ..< p {
            var column = 0.0
            for c in 0 ..< k { column += theta[c * p + j] }
            for c in 0 ..< k {
                gradient[c * p + j] += coupling * column + (j < d ? l2 * theta[c * p + j] : 0)
            }
        }
    }

    private struct EvaluatedPoint {
        var objective: Double
        var probabilities: [Double]
    }

    /// Weighted loss plus both penalties, and the class probabilities, at one parameter vector.
    private func evaluate(x: Matrix, labels: [Int], weights: [Double], theta: [Double], classCount k: Int, coupling: Double) -> EvaluatedPoint {
        let n = x.rows, d = x.columns, p = d + 1
        var probabilities = [Double](repeating: 0, count: n * k)
        let chunks = FixedChunks(total: n)
        let losses = x.values.withUnsafeBufferPointer { xs in
            theta.withUnsafeBufferPointer { th in
                probabilities.withUnsafeMutableBufferPointer { out in
                    chunks.map { range -> Double in
                        var loss = 0.0
                        var z = [Double](repeating: 0, count: k)
                        for row in range {
                            var m = -Double.infinity
                            for c in 0 ..< k {
                                z[c] = linearScore(xs, row * d, d, UnsafeBufferPointer(rebasing: th[c * p ..< (c + 1) * p]))
                                m = max(m, z[c])
                            }
                            var sum = 0.0
                            for c in 0 ..< k { sum += exp(z[c] - m) }
                            // −log softmax_y = logsumexp(z) − z_y
                            loss += weights[row] * (m + log(sum) - z[labels[row]])
                            for c in 0 ..< k { out[row * k + c] = exp(z[c] - m) / sum }
                        }
                        return loss
                    }
                }
            }
        }
        var penalty = 0.0, couplingTerm = 0.0
        for j in 0 ..< p {
            var column = 0.0
            for c in 0 ..< k {
                column += theta[c * p + j]
                if j < d { penalty += theta[c * p + j] * theta[c * p + j] }
            }
            couplingTerm += column * column
        }
        return EvaluatedPoint(
            objective: losses.reduce(0, +) + 0.5 * l2 * penalty + 0.5 * coupling * couplingTerm,
            probabilities: probabilities)
    }
}
