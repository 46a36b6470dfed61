import Foundation

/// Histogram-based gradient boosting (scikit-learn's HistGradientBoostingClassifier/Regressor
/// with early stopping off, same defaults). Log-loss for classification (baseline = log-odds of
/// the class-1 prior), squared error for regression (baseline = mean). Trees are grown by
/// `HistogramTreeGrower` on features binned by `FeatureBinner`; NaN is a missing value with its
/// own bin and a learned direction.
///
/// Randomness (the binning sample when n > 200,000, and the per-tree row subsample) draws from one
/// `SplitMix64(seed)` in a fixed order, so a fit is a pure function of (data, parameters, seed).
/// Subsample draws exactly round(subsample·n) rows without replacement by selection sampling.
public struct GradientBoosting: Sendable, Equatable {
    public var trees: Int
    public var learningRate: Double
    public var maxLeafNodes: Int
    public var minSamplesLeaf: Int
    public var maxBins: Int
    public var l2: Double
    public var maxDepth: Int?
    public var subsample: Double
    public var seed: UInt64

    public init(
        trees: Int = 100, learningRate: Double = 0.1, maxLeafNodes: Int = 31, minSamplesLeaf: Int = 20,
        maxBins: Int = 255, l2: Double = 0, maxDepth: Int? = nil, subsample: Double = 1.0, seed: UInt64 = 0
    ) {
        self.trees = trees
        self.learningRate = learningRate
        self.maxLeafNodes = maxLeafNodes
        self.minSamplesLeaf = minSamplesLeaf
        self.maxBins = maxBins
        self.l2 = l2
        self.maxDepth = maxDepth
        self.subsample = subsample
        self.seed = seed
    }

    public func fit(x: Matrix, y: [Double], task: TrainingTask) throws -> GradientBoostingModel {
        try fitRecordingGain(x: x, y: y, task: task).model
    }

    /// `fit`, also returning the total split gain per feature (`FeatureImportance`): summed over
    /// every split of every tree, in tree order, from the (G, H) sums the grower kept per node.
    /// The model is the same as `fit`'s; the gain is not part of it (model.json is unchanged).
    public func fitRecordingGain(x: Matrix, y: [Double], task: TrainingTask) throws -> (model: GradientBoostingModel, splitGain: [Double]) {
        try TrainingInput.validate(x: x, y: y, task: task, finiteFeatures: false)
        try checkParameters()
        guard x.columns > 0 else { throw TrainingError.noFeatures(algorithm: "gradient_boosting") }
        let n = x.rows, d = x.columns
        var rng = SplitMix64(seed: seed)
        let binner = FeatureBinner(fitting: x, maxBins: maxBins, rng: &rng)
        let (bins, binsByColumn, hasMissing) = binner.transform(x)
        let grower = HistogramTreeGrower(
            parameters: .init(maxLeafNodes: maxLeafNodes, maxDepth: maxDepth, minSamplesLeaf: minSamplesLeaf,
                              l2: l2, learningRate: learningRate),
            binner: binner, hasMissing: hasMissing, rowCount: n, featureCount: d)

        let chunks = FixedChunks(total: n)
        let mean = chunks.map { range in range.reduce(0.0) { $0 + y[$1] } }.reduce(0, +) / Double(n)
        let baseline: Double
        switch task {
        case .classification:
            let p = min(max(mean, Double.ulpOfOne), 1 - Double.ulpOfOne)
            baseline = log(p / (1 - p))
        case .regression:
            baseline = mean
        }
        var raw = [Double](repeating: baseline, count: n)
        var gradients = [SIMD2<Double>](repeating: .zero, count: n)
        let sampleSize = subsample >= 1 ? n : max(1, Int((subsample * Double(n)).rounded()))
        var indices = [UInt32](repeating: 0, count: sampleSize)
        var scratch = [UInt32](repeating: 0, count: sampleSize)
        var fitted = [RegressionTree]()
        fitted.reserveCapacity(trees)
        var splitGain = [Double](repeating: 0, count: d)

        for _ in 0 ..< trees {
            computeGradients(raw: raw, y: y, task: task, into: &gradients, chunks: chunks)
            if sampleSize == n {
                for i in 0 ..< n { indices[i] = UInt32(i) }
            } else {
                var needed = sampleSize, k = 0
                for row in 0 ..< n where needed > 0 {
                    if rng.nextUnit() * Double(n - row) < Double(needed) {
                        indices[k] = UInt32(row)
                        k += 1
                        needed -= 1
                    }
                }
            }
            let nodes = bins.withUnsafeBufferPointer { b in
                binsByColumn.withUnsafeBufferPointer { bc in
                    gradients.withUnsafeBufferPointer { g in
                        indices.withUnsafeMutableBufferPointer { idx in
                            scratch.withUnsafeMutableBufferPointer { s in
                                grower.grow(binsByRow: b, binsByColumn: bc, gradients: g, indices: idx, scratch: s,
                                            identity: sampleSize == n)
                            }
                        }
                    }
                }
            }
            for node in nodes where !node.isLeaf {
                let left = nodes[node.left], right = nodes[node.right]
                splitGain[node.feature] += left.sumGradient * left.sumGradient / (left.sumHessian + l2)
                    + right.sumGradient * right.sumGradient / (right.sumHessian + l2)
                    - node.sumGradient * node.sumGradient / (node.sumHessian + l2)
            }
            updateRaw(&raw, nodes: nodes, indices: indices, bins: bins, grower: grower, full: sampleSize == n, chunks: chunks)
            fitted.append(RegressionTree(nodes: nodes.map { node in
                node.isLeaf
                    ? TreeNode.leaf(value: node.value)
                    : TreeNode(feature: node.feature, threshold: binner.rawThreshold(feature: node.feature, bin: node.bin),
                               missingGoesLeft: node.missingGoesLeft, left: node.left, right: node.right, value: node.value)
            }))
        }
        return (GradientBoostingModel(task: task, featureCount: d, baseline: baseline, trees: fitted), splitGain)
    }

    /// Parameter checks for direct callers (ModelTrainer validates the user's text before this).
    func checkParameters() throws {
        func bad(_ name: String, _ value: String, _ expected: String) -> TrainingError {
            .invalidHyperparameter(name: name, value: value, expected: expected)
        }
        guard trees >= 1 else { throw bad("trees", "\(trees)", "an integer >= 1") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("learning_rate", "\(learningRate)", "a number > 0") }
        guard maxLeafNodes >= 2 else { throw bad("max_leaf_nodes", "\(maxLeafNodes)", "an integer >= 2") }
        guard minSamplesLeaf >= 1 else { throw bad("min_samples_leaf", "\(minSamplesLeaf)", "an integer >= 1") }
        guard (2 ... 255).contains(maxBins) else { throw bad("max_bins", "\(maxBins)", "an integer from 2 to 255") }
        guard l2 >= 0, l2.isFinite else { throw bad("l2", "\(l2)", "a number >= 0") }
        if let maxDepth, maxDepth < 1 { throw bad("max_depth", "\(maxDepth)", "an integer >= 1 or none") }
        guard subsample > 0, subsample <= 1 else { throw bad("subsample", "\(subsample)", "a number in (0, 1]") }
    }

    /// (g, h) of the loss at the current raw scores: log-loss g = p − y, h = p(1 − p);
    /// squared error g = raw − y, h = 1.
    private func computeGradients(raw: [Double], y: [Double], task: TrainingTask,
                                  into gradients: inout [SIMD2<Double>], chunks: FixedChunks) {
        raw.withUnsafeBufferPointer { r in
            y.withUnsafeBufferPointer { ys in
                gradients.withUnsafeMutableBufferPointer { g in
                    chunks.forEach { range in
                        for i in range {
                            switch task {
                            case .classification:
                                let p = sigmoid(r[i])
                                g[i] = SIMD2(p - ys[i], p * (1 - p))
                            case .regression:
                                g[i] = SIMD2(r[i] - ys[i], 1)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the new tree's leaf values to the raw scores: through the leaf slices when every row
    /// was in the sample, else by walking the tree on the binned rows.
    private func updateRaw(_ raw: inout [Double], nodes: [HistogramTreeGrower.Node], indices: [UInt32],
                           bins: [UInt8], grower: HistogramTreeGrower, full: Bool, chunks: FixedChunks) {
        let binner = grower.binner
        let d = grower.featureCount
        if full {
            for node in nodes where node.isLeaf {
                for i in node.start ..< node.end { raw[Int(indices[i])] += node.value }
            }
            return
        }
        let missingBin = binner.missingBin
        raw.withUnsafeMutableBufferPointer { r in
            bins.withUnsafeBufferPointer { b in
                chunks.forEach { range in
                    for row in range {
                        var i = 0
                        while !nodes[i].isLeaf {
                            let node = nodes[i]
                            let bin = Int(b[row * d + node.feature])
                            let goLeft = bin == missingBin ? node.missingGoesLeft : bin <= node.bin
                            i = goLeft ? node.left : node.right
                        }
                        r[row] += nodes[i].value
                    }
                }
            }
        }
    }
}
