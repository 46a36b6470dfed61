/// Choosing a binary classifier's decision threshold on its training rows.
public enum ThresholdTuning {
    /// Thresholds compared per fold and over all folds (sklearn's `thresholds=100`).
    public static let gridSize = 100

    /// The threshold t (class 1 iff p ≥ t) that maximizes F1, with the semantics of scikit-learn's
    /// `TunedThresholdClassifierCV(scoring="f1", cv=StratifiedKFold(folds), thresholds=100)`:
    /// 1. `StratifiedFolds(labels: y, classCount: 2, folds:, seed:)`; for each fold the model is
    ///    fitted on the other folds (same algorithm, hyper-parameters, seed and sample weights)
    ///    and scores its fold's rows;
    /// 2. per fold, F1 on that fold's rows at 100 evenly spaced thresholds from its lowest to its
    ///    highest score (`linspace`);
    /// 3. a global grid of 100 thresholds from the lowest to the highest per-fold threshold; each
    ///    fold's F1 curve is linearly interpolated onto it (`np.interp`, flat beyond the ends),
    ///    and the curves are averaged over folds;
    /// 4. the grid threshold with the highest mean F1, the lowest on ties (`argmax`).
    /// F1 is unweighted (sklearn's scorer ignores sample weights unless routed).
    public static func maxF1(
        algorithm: String, hyperparameters: [String: String], seed: UInt64, x: Matrix, y: [Double],
        sampleWeights: [Double]?, folds: Int
    ) throws -> Double {
        let split = try StratifiedFolds(labels: y, classCount: 2, folds: folds, seed: seed)
        try TrainingInput.validate(sampleWeights: sampleWeights, rows: x.rows)
        var curves = [(thresholds: [Double], scores: [Double])]()
        for fold in 0 ..< folds {
            let train = split.trainIndices(fold: fold), test = split.testIndices[fold]
            let (model, _) = try ModelTrainer.trainRecordingGain(
                algorithm: algorithm, hyperparameters: hyperparameters, task: .classification, seed: seed,
                x: x.selecting(rows: train), y: train.map { y[$0] }, classCount: 2,
                sampleWeights: sampleWeights.map { w in train.map { w[$0] } })
            let scores = try model.predict(matrix: x.selecting(rows: test))
            let labels = test.map { y[$0] }
            let thresholds = linspace(scores.min() ?? 0, scores.max() ?? 1, gridSize)
            curves.append((thresholds, thresholds.map { Metrics.f1(labels: labels, scores: scores, threshold: $0) }))
        }
        let low = curves.map { $0.thresholds.first ?? 0 }.min() ?? 0
        let high = curves.map { $0.thresholds.last ?? 1 }.max() ?? 1
        let grid = linspace(low, high, gridSize)
        var best = 0, bestScore = -Double.infinity
        for (i, t) in grid.enumerated() {
            let mean = curves.reduce(0.0) { $0 + interpolate(t, $1.thresholds, $1.scores) } / Double(curves.count)
            if mean > bestScore { bestScore = mean; best = i }
        }
        return grid[best]
    }

    /// numpy's `linspace(a, b, count)`: a + i·(b − a)/(count − 1), the last value exactly b.
    static func linspace(_ a: Double, _ b: Double, _ count: Int) -> [Double] {
        let step = (b - a) / Double(count - 1)
        return (0 ..< count).map { $0 == count - 1 ? b : a + Double($0) * step }
    }

    /// numpy's `interp(t, xs, ys)` for ascending xs: linear between neighbours, flat outside;
    /// among equal xs (a fold whose scores are all equal) the last one's value.
    static func interpolate(_ t: Double, _ xs: [Double], _ ys: [Double]) -> Double {
        guard let first = xs.first, let last = xs.last else { return 0 }
        if t < first { return ys[0] }
        if t >= last { return ys[ys.count - 1] }
        var j = 0
        while j + 1 < xs.count, xs[j + 1] <= t { j += 1 }
        let x0 = xs[j], x1 = xs[j + 1]
        return x1 > x0 ? ys[j] + (ys[j + 1] - ys[j]) * (t - x0) / (x1 - x0) : ys[j + 1]
    }
}
