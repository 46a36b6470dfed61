import Foundation

/// A fitted gradient-boosted ensemble: raw(x) = baseline + Σ_trees tree(x); the prediction is
/// σ(raw) for classification (probability of class 1) and raw for regression.
/// JSON: {"baseline": x, "featureCount": d, "task": "classification"|"regression",
///        "trees": [{"nodes": [TreeNode…]}…]}.
public struct GradientBoostingModel: Codable, Sendable, Equatable {
    public var task: TrainingTask
    public var featureCount: Int
    public var baseline: Double
    public var trees: [RegressionTree]

    public init(task: TrainingTask, featureCount: Int, baseline: Double, trees: [RegressionTree]) {
        self.task = task
        self.featureCount = featureCount
        self.baseline = baseline
        self.trees = trees
    }

    private enum CodingKeys: String, CodingKey { case task, featureCount, baseline, trees }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        task = try c.decode(TrainingTask.self, forKey: .task)
        featureCount = try c.decode(Int.self, forKey: .featureCount)
        baseline = try c.decode(Double.self, forKey: .baseline)
        trees = try c.decode([RegressionTree].self, forKey: .trees)
        guard featureCount >= 0 else { throw TrainingError.invalidModel(reason: "negative featureCount") }
        for (i, tree) in trees.enumerated() { try tree.validate(featureCount: featureCount, index: i) }
    }

    public func predict(row: [Double]) throws -> Double {
        guard row.count == featureCount else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: featureCount, actual: row.count)
        }
        return row.withUnsafeBufferPointer { predict($0) }
    }

    /// Batches of at least this many rows are scored through a `FlatForest`.
    static let flattenFromRows = 32

    public func predict(matrix: Matrix) throws -> [Double] {
        guard matrix.columns == featureCount else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: featureCount, actual: matrix.columns)
        }
        var out = [Double](repeating: 0, count: matrix.rows)
        let d = matrix.columns
        guard d > 0 else {  // no columns, no row pointer: every row is the same empty row
            return try [Double](repeating: predict(row: []), count: matrix.rows)
        }
        // Flattening costs about what walking a few dozen rows through the nested trees does;
        // a server's one-row requests were spending a third of their time on it. Both walks add
        // the trees in the same order, so the answer is the same bit for bit either way.
        if matrix.rows < Self.flattenFromRows {
            matrix.values.withUnsafeBufferPointer { xs in
                for r in 0 ..< matrix.rows { out[r] = predict(UnsafeBufferPointer(rebasing: xs[r * d ..< (r + 1) * d])) }
            }
            return out
        }
        let forest = FlatForest(trees)
        let classification = task == .classification
        matrix.values.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { o in
                FixedChunks(total: matrix.rows, rowsPerChunk: 4096).forEach { range in
                    for r in range {
                        let raw = forest.sum(start: baseline, row: xs.baseAddress! + r * d)
                        o[r] = classification ? sigmoid(raw) : raw
                    }
                }
            }
        }
        return out
    }

    @inline(__always)
    private func predict(_ row: UnsafeBufferPointer<Double>) -> Double {
        var raw = baseline
        for tree in trees { raw += tree.value(row: row) }
        return task == .classification ? sigmoid(raw) : raw
    }
}
