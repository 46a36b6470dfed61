import Foundation
import MLBuildBasics

/// Histogram-based gradient boosting (scikit-learn's HistGradientBoostingClassifier/Regressor,
/// same defaults; early stopping off unless asked). Losses: binary log-loss (baseline = log-odds
/// of the class-1 prior), multinomial log-loss for K ≥ 3 classes (HalfMultinomialLoss: baseline =
/// log p_k − mean_j log p_j of the class priors, K trees per iteration each fitted to
/// g = p_k − y_k, h = p_k(1 − p_k), gradients taken once per iteration before its K trees),
/// squared error for regression (baseline = mean). Sample weights multiply g and h and weight
/// the baseline's averages, as scikit-learn's `sample_weight` (class weights arrive this way).
/// Trees are grown by `HistogramTreeGrower` on features binned by `FeatureBinner`; NaN is a
/// missing value with its own bin and a learned direction.
///
/// Early stopping (scikit-learn's with scoring="loss"): `ValidationSplit` holds out
/// ⌈validationFraction · n⌉ rows (stratified for classifiers) before binning; the binner and the
/// baseline see only the training part. The validation loss (mean, sample-weighted) is scored
/// at the baseline and after every iteration; training stops after the iteration at which none of
/// the last `iterationsWithoutChange` scores beats the one before them by more than `tolerance`
/// (sklearn's `_should_stop`). Every tree built up to the stop is kept.
///
/// Randomness draws from one `SplitMix64(seed)` in this order: the validation split (early
/// stopping only), the binning sample (n > 200,000), then each tree's row subsample in tree
/// order. A fit is a pure function of (data, parameters, seed). Subsample draws exactly
/// round(subsample·n) rows without replacement by selection sampling.
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
    public var earlyStopping: Bool
    public var validationFraction: Double
    public var iterationsWithoutChange: Int
    public var tolerance: Double

    public init(
        trees: Int = 100, learningRate: Double = 0.1, maxLeafNodes: Int = 31, minSamplesLeaf: Int = 20,
        maxBins: Int = 255, l2: Double = 0, maxDepth: Int? = nil, subsample: Double = 1.0, seed: UInt64 = 0,
        earlyStopping: Bool = false, validationFraction: Double = 0.1, iterationsWithoutChange: Int = 10,
        tolerance: Double = 1e-7
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
        self.earlyStopping = earlyStopping
        self.validationFraction = validationFraction
        self.iterationsWithoutChange = iterationsWithoutChange
        self.tolerance = tolerance
    }

    public func fit(x: Matrix, y: [Double], task: TrainingTask, classCount: Int = 2, sampleWeights: [Double]? = nil) throws
        -> GradientBoostingModel
    {
        try fitRecordingGain(x: x, y: y, task: task, classCount: classCount, sampleWeights: sampleWeights).model
    }

    /// `fit`, also returning the total split gain per feature (`FeatureImportance`): summed over
    /// every split of every tree (all classes), in tree order, from the (G, H) sums the grower kept
    /// per node. The model is the same as `fit`'s; the gain is not part of it.
    /// Classification labels are class indices 0..<classCount (`classCount` ≥ 3: multinomial).
    /// `progress(done, total)` is told after each boosting iteration (`trees` of them; a
    /// multi-class iteration grows one tree per class) and, when early stopping ends the fit
    /// sooner, `(iterations, iterations)` last.
    public func fitRecordingGain(
        x fullX: Matrix, y fullY: [Double], task: TrainingTask, classCount: Int = 2, sampleWeights fullWeights: [Double]? = nil,
        progress: TrainingProgress? = nil
    ) throws -> (model: GradientBoostingModel, splitGain: [Double]) {
        try TrainingInput.validate(x: fullX, y: fullY, task: task, finiteFeatures: false, classCount: classCount)
        try TrainingInput.validate(sampleWeights: fullWeights, rows: fullX.rows)
        try checkParameters()
        guard fullX.columns > 0 else { throw TrainingError.noFeatures(algorithm: "gradient_boosting") }
        let multiclass = task == .classification && classCount >= 3
        let k = multiclass ? classCount : 1
        var rng = SplitMix64(seed: seed)

        var x = fullX, y = fullY, weights = fullWeights
        var validation: (x: Matrix, y: [Double], weights: [Double]?)?
        if earlyStopping {
            let split = try ValidationSplit.indices(
                labels: fullY, classCount: task == .classification ? max(classCount, 2) : nil,
                fraction: validationFraction, rng: &rng)
            x = fullX.selecting(rows: split.train)
            y = split.train.map { fullY[$0] }
            weights = fullWeights.map { w in split.train.map { w[$0] } }
            validation = (fullX.selecting(rows: split.validation), split.validation.map { fullY[$0] },
                          fullWeights.map { w in split.validation.map { w[$0] } })
            try TrainingInput.validate(sampleWeights: weights, rows: x.rows)
        }

        let n = x.rows, d = x.columns
        let binner = FeatureBinner(fitting: x, maxBins: maxBins, rng: &rng)
        let (bins, hasMissing) = binner.transform(x)
        let layout = bins.withUnsafeBufferPointer {
            HistogramRowLayout(byColumn: $0, rows: n, features: d, stride: HistogramTreeGrower.binStride)
        }
        let grower = HistogramTreeGrower(
            parameters: .init(maxLeafNodes: maxLeafNodes, maxDepth: maxDepth, minSamplesLeaf: minSamplesLeaf,
                              l2: l2, learningRate: learningRate),
            binner: binner, hasMissing: hasMissing, rowCount: n, featureCount: d, layout: layout)

        let chunks = FixedChunks(total: n)
        let baselines = Self.baselines(y: y, weights: weights, task: task, classCount: k, chunks: chunks)
        var raw = [Double](repeating: 0, count: n * k)
        for i in 0 ..< n { for c in 0 ..< k { raw[i * k + c] = baselines[c] } }
        var gradients = [[SIMD2<Double>]](repeating: [SIMD2<Double>](repeating: .zero, count: n), count: k)
        let sampleSize = subsample >= 1 ? n : max(1, Int((subsample * Double(n)).rounded()))
        var indices = [UInt32](repeating: 0, count: sampleSize)
        var scratch = [UInt32](repeating: 0, count: sampleSize)
        var ordered = [SIMD2<Double>](repeating: .zero, count: sampleSize)
        var fitted = [RegressionTree]()
        fitted.reserveCapacity(trees * k)
        var splitGain = [Double](repeating: 0, count: d)

        var validationRaw = [Double]()
        var scores = [Double]()
        if let validation {
            validationRaw = [Double](repeating: 0, count: validation.x.rows * k)
            for i in 0 ..< validation.x.rows { for c in 0 ..< k { validationRaw[i * k + c] = baselines[c] } }
            scores.append(-Self.meanLoss(raw: validationRaw, y: validation.y, weights: validation.weights, task: task, classCount: k))
        }

        for iteration in 0 ..< trees {
            // A cancelled build (Ctrl-C) stops here, between trees; the caller discards the fit.
            try WorkBudget.current.checkCancellation()
            computeGradients(raw: raw, y: y, weights: weights, task: task, classCount: k, into: &gradients, chunks: chunks)
            for c in 0 ..< k {
                if sampleSize == n {
                    for i in 0 ..< n { indices[i] = UInt32(i) }
                } else {
                    var needed = sampleSize, m = 0
                    for row in 0 ..< n where needed > 0 {
                        if rng.nextUnit() * Double(n - row) < Double(needed) {
                            indices[m] = UInt32(row)
                            m += 1
                            needed -= 1
                        }
                    }
                }
                let nodes = bins.withUnsafeBufferPointer { bc in
                    gradients[c].withUnsafeBufferPointer { g in
                        indices.withUnsafeMutableBufferPointer { idx in
                            scratch.withUnsafeMutableBufferPointer { s in
                                ordered.withUnsafeMutableBufferPointer { o in
                                    grower.grow(binsByColumn: bc, gradients: g, indices: idx, scratch: s,
                                                ordered: o, identity: sampleSize == n)
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
                updateRaw(&raw, stride: k, offset: c, nodes: nodes, indices: indices, bins: bins, grower: grower,
                          full: sampleSize == n, chunks: chunks)
                fitted.append(RegressionTree(nodes: nodes.map { node in
                    node.isLeaf
                        ? TreeNode.leaf(value: node.value)
                        : TreeNode(feature: node.feature, threshold: binner.rawThreshold(feature: node.feature, bin: node.bin),
                                   missingGoesLeft: node.missingGoesLeft, left: node.left, right: node.right, value: node.value)
                }))
            }
            if let validation {
                let newTrees = fitted.suffix(k)
                validation.x.values.withUnsafeBufferPointer { xs in
                    for i in 0 ..< validation.x.rows {
                        let row = UnsafeBufferPointer(rebasing: xs[i * d ..< (i + 1) * d])
                        for (c, tree) in newTrees.enumerated() { validationRaw[i * k + c] += tree.value(row: row) }
                    }
                }
                scores.append(-Self.meanLoss(raw: validationRaw, y: validation.y, weights: validation.weights, task: task, classCount: k))
                if shouldStop(scores) {
                    progress?(iteration + 1, iteration + 1)
                    break
                }
            }
            progress?(iteration + 1, trees)
        }
        let model = GradientBoostingModel(
            task: task, featureCount: d, baseline: multiclass ? 0 : baselines[0], trees: fitted,
            classCount: multiclass ? k : 0, baselines: multiclass ? baselines : [])
        return (model, splitGain)
    }

    /// sklearn's `_should_stop` on validation scores (higher is better).
    func shouldStop(_ scores: [Double]) -> Bool {
        let reference = iterationsWithoutChange + 1
        guard scores.count >= reference else { return false }
        let referenceScore = scores[scores.count - reference] + tolerance
        return !scores.suffix(iterationsWithoutChange).contains { $0 > referenceScore }
    }

    /// The raw score before any tree: per class for multinomial, else one value.
    static func baselines(y: [Double], weights: [Double]?, task: TrainingTask, classCount k: Int, chunks: FixedChunks) -> [Double] {
        let n = y.count
        if k == 1 {
            let mean: Double
            if let weights {
                let sums = chunks.map { range in range.reduce(SIMD2<Double>.zero) { $0 + SIMD2(weights[$1] * y[$1], weights[$1]) } }
                let total = sums.reduce(SIMD2<Double>.zero, +)
                mean = total.x / total.y
            } else {
                mean = chunks.map { range in range.reduce(0.0) { $0 + y[$1] } }.reduce(0, +) / Double(n)
            }
            guard task == .classification else { return [mean] }
            let p = min(max(mean, Double.ulpOfOne), 1 - Double.ulpOfOne)
            return [log(p / (1 - p))]
        }
        var counts = [Double](repeating: 0, count: k)
        var total = 0.0
        for i in 0 ..< n {
            let w = weights?[i] ?? 1
            counts[Int(y[i])] += w
            total += w
        }
        let logs = counts.map { log(min(max($0 / total, Double.ulpOfOne), 1 - Double.ulpOfOne)) }
        let mean = logs.reduce(0, +) / Double(k)
        return logs.map { $0 - mean }
    }

    /// The loss early stopping scores (sklearn's `_loss(y, raw, sample_weight)`): weighted mean
    /// of log(1 + e^raw) − y·raw (binary), logsumexp(raw) − raw_y (multinomial), ½(y − raw)²
    /// (regression).
    static func meanLoss(raw: [Double], y: [Double], weights: [Double]?, task: TrainingTask, classCount k: Int) -> Double {
        var total = 0.0, weightSum = 0.0
        for i in 0 ..< y.count {
            let loss: Double
            if k > 1 {
                var m = -Double.infinity
                for c in 0 ..< k { m = max(m, raw[i * k + c]) }
                var s = 0.0
                for c in 0 ..< k { s += exp(raw[i * k + c] - m) }
                loss = m + log(s) - raw[i * k + Int(y[i])]
            } else if task == .classification {
                let z = raw[i]
                loss = max(z, 0) + log1p(exp(-abs(z))) - y[i] * z
            } else {
                loss = 0.5 * (y[i] - raw[i]) * (y[i] - raw[i])
            }
            let w = weights?[i] ?? 1
            total += w * loss
            weightSum += w
        }
        return total / weightSum
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
        guard validationFraction > 0, validationFraction < 1 else {
            throw bad("validation_fraction", "\(validationFraction)", "a number in (0, 1)")
        }
        guard iterationsWithoutChange >= 1 else { throw bad("n_iter_no_change", "\(iterationsWithoutChange)", "an integer >= 1") }
        guard tolerance >= 0, tolerance.isFinite else { throw bad("tolerance", "\(tolerance)", "a number >= 0") }
    }

    /// (g, h) per class of the loss at the current raw scores, times the row's weight:
    /// log-loss g = p − y, h = p(1 − p); multinomial g_k = p_k − [y = k], h_k = p_k(1 − p_k);
    /// squared error g = raw − y, h = 1.
    private func computeGradients(raw: [Double], y: [Double], weights: [Double]?, task: TrainingTask, classCount k: Int,
                                  into gradients: inout [[SIMD2<Double>]], chunks: FixedChunks) {
        if k > 1 {
            var probabilities = [Double](repeating: 0, count: raw.count)
            probabilities.withUnsafeMutableBufferPointer { out in
                raw.withUnsafeBufferPointer { r in
                    chunks.forEach { range in
                        for i in range { softmax(r, i * k, k, into: out) }
                    }
                }
            }
            for c in 0 ..< k {
                gradients[c].withUnsafeMutableBufferPointer { g in
                    chunks.forEach { range in
                        for i in range {
                            let p = probabilities[i * k + c], w = weights?[i] ?? 1
                            g[i] = SIMD2(p - (Int(y[i]) == c ? 1 : 0), p * (1 - p)) * w
                        }
                    }
                }
            }
            return
        }
        raw.withUnsafeBufferPointer { r in
            y.withUnsafeBufferPointer { ys in
                gradients[0].withUnsafeMutableBufferPointer { g in
                    chunks.forEach { range in
                        for i in range {
                            switch task {
                            case .classification:
                                let p = sigmoid(r[i])
                                g[i] = SIMD2(p - ys[i], p * (1 - p))
                            case .regression:
                                g[i] = SIMD2(r[i] - ys[i], 1)
                            }
                            if let weights { g[i] *= weights[i] }
                        }
                    }
                }
            }
        }
    }

    /// Adds the new tree's leaf values to the raw scores: through the leaf slices when every row
    /// was in the sample, else by walking the tree on the binned rows.
    private func updateRaw(_ raw: inout [Double], stride k: Int, offset c: Int, nodes: [HistogramTreeGrower.Node], indices: [UInt32],
                           bins: [UInt8], grower: HistogramTreeGrower, full: Bool, chunks: FixedChunks) {
        let binner = grower.binner
        let n = grower.rowCount
        if full {
            // Each row sits in exactly one leaf slice, so chunks of slice positions write disjoint
            // rows, one add each (no order to keep).
            let leaves = nodes.filter(\.isLeaf).sorted { $0.start < $1.start }
            raw.withUnsafeMutableBufferPointer { r in
                indices.withUnsafeBufferPointer { idx in
                    FixedChunks(total: idx.count, rowsPerChunk: 65_536).forEach { range in
                        for leaf in leaves where leaf.start < range.upperBound && leaf.end > range.lowerBound {
                            for i in max(leaf.start, range.lowerBound) ..< min(leaf.end, range.upperBound) {
                                r[Int(idx[i]) &* k &+ c] += leaf.value
                            }
                        }
                    }
                }
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
                            let bin = Int(b[node.feature * n + row])
                            let goLeft = bin == missingBin ? node.missingGoesLeft : bin <= node.bin
                            i = goLeft ? node.left : node.right
                        }
                        r[row * k + c] += nodes[i].value
                    }
                }
            }
        }
    }
}
