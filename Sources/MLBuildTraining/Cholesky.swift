/// The Cholesky factor L of a symmetric positive-definite matrix A = L Lᵀ, used to solve the
/// normal equations of ridge regression and the Newton systems of logistic regression.
struct Cholesky: Sendable {
    let size: Int
    /// Row-major lower triangle (upper part zero).
    private(set) var lower: [Double]

    /// Factors the row-major `size`×`size` symmetric matrix `a` (only its lower triangle is read);
    /// nil when it is not numerically positive definite.
    init?(_ a: [Double], size: Int) {
        self.size = size
        var l = [Double](repeating: 0, count: size * size)
        for j in 0 ..< size {
            var diag = a[j * size + j]
            for k in 0 ..< j { diag -= l[j * size + k] * l[j * size + k] }
            // A pivot that lost all but ~12 digits of its diagonal entry means the columns are
            // (numerically) dependent; treat it as singular rather than return noise.
            guard diag > 1e-12 * abs(a[j * size + j]), diag.isFinite else { return nil }
            let root = diag.squareRoot()
            l[j * size + j] = root
            for i in (j + 1) ..< max(j + 1, size) {
                var s = a[i * size + j]
                for k in 0 ..< j { s -= l[i * size + k] * l[j * size + k] }
                l[i * size + j] = s / root
            }
        }
        lower = l
    }

    /// Solves A x = b by forward then backward substitution.
    func solve(_ b: [Double]) -> [Double] {
        var y = b
        for i in 0 ..< size {
            var s = y[i]
            for k in 0 ..< i { s -= lower[i * size + k] * y[k] }
            y[i] = s / lower[i * size + i]
        }
        for i in stride(from: size - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1) ..< max(i + 1, size) { s -= lower[k * size + i] * y[k] }
            y[i] = s / lower[i * size + i]
        }
        return y
    }
}
