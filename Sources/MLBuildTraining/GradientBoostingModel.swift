import Foundation

/// A fitted gradient-boosted ensemble: raw(x) = baseline + Σ_trees tree(x); the prediction is
/// σ(raw) for classification (probability of class 1) and raw for regression.
/// Multi-class (`classCount` K ≥ 3): trees are stored iteration-major, tree i belongs to class
/// i % K, and P(k|x) = softmax_k(baselines[k] + Σ trees of class k); `baseline` is then 0.
/// JSON: {"baseline": x, "featureCount": d, "task": "classification"|"regression",
///        "trees": [{"nodes": [TreeNode…]}…]}, plus "baselines": [K values] and "classCount": K
/// only when K ≥ 3 (binary and regression models encode exactly as before).
public struct GradientBoostingModel: Codable, Sendable, Equatable {
    public var task: TrainingTask
    public var featureCount: Int
    public var baseline: Double
    public var trees: [RegressionTree]
    /// 0 for binary classification and regression (one raw score); K ≥ 3 for multi-class.
    public var classCount: Int
    /// The K per-class starting scores of a multi-class model (empty otherwise).
    public var baselines: [Double]

    public init(task: TrainingTask, featureCount: Int, baseline: Double, trees: [RegressionTree],
                classCount: Int = 0, baselines: [Double] = []) {
        self.task = task
        self.featureCount = featureCount
        self.baseline = baseline
        self.trees = trees
        self.classCount = classCount
        self.baselines = baselines
    }

    public var isMulticlass: Bool { classCount >= 3 }

    /// Boosting iterations: trees per class.
    public var iterations: Int { classCount >= 3 ? trees.count / classCount : trees.count }

    private enum CodingKeys: String, CodingKey { case task, featureCount, baseline, trees, classCount, baselines }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(task, forKey: .task)
        try c.encode(featureCount, forKey: .featureCount)
        try c.encode(baseline, forKey: .baseline)
        try c.encode(trees, forKey: .trees)
        if isMulticlass {
            try c.encode(classCount, forKey: .classCount)
            try c.encode(baselines, forKey: .baselines)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        task = try c.decode(TrainingTask.self, forKey: .task)
        featureCount = try c.decode(Int.self, forKey: .featureCount)
        baseline = try c.decode(Double.self, forKey: .baseline)
        trees = try c.decode([RegressionTree].self, forKey: .trees)
        classCount = try c.decodeIfPresent(Int.self, forKey: .classCount) ?? 0
        baselines = try c.decodeIfPresent([Double].self, forKey: .baselines) ?? []
        guard featureCount >= 0 else { throw TrainingError.invalidModel(reason: "negative featureCount") }
        if classCount != 0 || !baselines.isEmpty {
            guard classCount >= 3, task == .classification, baselines.count == classCount, trees.count % classCount == 0 else {
                throw TrainingError.invalidModel(reason: "multi-class gradient boosting needs classCount >= 3, task classification, classCount baselines and a multiple of classCount trees (classCount \(classCount), \(baselines.count) baselines, \(trees.count) trees)")
            }
        }
        for (i, tree) in trees.enumerated() { try tree.validate(featureCount: featureCount, index: i) }
    }

    public func predict(row: [Double]) throws -> Double {
        try requireSingleScore()
        guard row.count == featureCount else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: featureCount, actual: row.count)
        }
        return row.withUnsafeBufferPointer { predict($0) }
    }

    /// Batches of at least this many rows are scored through a `FlatForest`.
    static let flattenFromRows = 32

    public func predict(matrix: Matrix) throws -> [Double] {
        try requireSingleScore()
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

    private func requireSingleScore() throws {
        if isMulticlass {
            throw TrainingError.invalidModel(reason: "a \(classCount)-class model has one probability per class: use predictProbabilities")
        }
    }

    /// Multi-class: rows × K class probabilities (row-major), each row summing to 1.
    public func predictProbabilities(matrix: Matrix) throws -> Matrix {
        guard isMulticlass else {
            let p = try predict(matrix: matrix)
            guard task == .classification else { throw TrainingError.invalidModel(reason: "a regression model has no class probabilities") }
            return Matrix(rows: p.count, columns: 2, values: p.flatMap { [1 - $0, $0] })
        }
        guard matrix.columns == featureCount else {
            throw TrainingError.shapeMismatch(what: "number of features", expected: featureCount, actual: matrix.columns)
        }
        let k = classCount, d = featureCount
        var raw = [Double](repeating: 0, count: matrix.rows * k)
        // Per row and class, baseline then the class's trees in order, on either path: the same
        // sums whatever the batch size, so row and batch answers agree bit for bit.
        if matrix.rows < Self.flattenFromRows || d == 0 {
            matrix.values.withUnsafeBufferPointer { xs in
                for i in 0 ..< matrix.rows {
                    let row = UnsafeBufferPointer(rebasing: xs[i * d ..< (i + 1) * d])
                    for c in 0 ..< k { raw[i * k + c] = baselines[c] }
                    for (t, tree) in trees.enumerated() { raw[i * k + t % k] += tree.value(row: row) }
                }
            }
        } else {
            let forest = FlatForest(trees)
            matrix.values.withUnsafeBufferPointer { xs in
                raw.withUnsafeMutableBufferPointer { r in
                    FixedChunks(total: matrix.rows, rowsPerChunk: 4096).forEach { range in
                        for i in range {
                            forest.sums(starts: baselines, classCount: k, row: xs.baseAddress! + i * d, into: r.baseAddress! + i * k)
                        }
                    }
                }
            }
        }
        return Matrix(rows: matrix.rows, columns: k, values: softmaxRows(raw, rows: matrix.rows, classCount: k))
    }
}
