import Foundation

extension Metrics {
    /// The names `multiclass` computes, sorted (`auc` is absent when a class has no rows).
    public static let multiclassNames = [
        "accuracy", "auc", "f1_macro", "f1_weighted", "log_loss", "precision_macro", "precision_weighted",
        "recall_macro", "recall_weighted",
    ]

    /// Metrics of a K-class classifier (K = `probabilities.columns` ≥ 2): labels are class indices
    /// 0..<K, `probabilities` one row per label. Conventions are scikit-learn's:
    /// - predicted class = argmax of the row, the lowest index on ties (`np.argmax`);
    /// - precision/recall/f1 per class with 0 for a zero denominator (f1 = 2tp/(2tp+fp+fn));
    ///   `_macro` averages over the classes present in the labels or the predictions (sklearn's
    ///   default `labels`), `_weighted` weights each class by its number of true rows;
    /// - `log_loss`: mean of −log p_{y_i} with p clipped to [ε, 1 − ε], ε = 2.22e-16, not
    ///   renormalised after clipping (sklearn 1.7's `log_loss(y, P, labels=range(K))`);
    /// - `auc`: mean over classes of the ROC AUC of "class k vs the rest" on column k
    ///   (`roc_auc_score(y, P, multi_class="ovr", average="macro")`); absent when a class has no
    ///   rows (sklearn refuses then).
    public static func multiclass(labels: [Double], probabilities: Matrix) throws -> Metrics {
        let k = probabilities.columns, n = labels.count
        guard n > 0 else { throw TrainingError.emptyData }
        guard k >= 2 else {
            throw TrainingError.shapeMismatch(what: "number of probability columns (classes)", expected: 2, actual: k)
        }
        guard probabilities.rows == n else {
            throw TrainingError.shapeMismatch(what: "number of probability rows vs labels", expected: n, actual: probabilities.rows)
        }
        var truth = [Int](repeating: 0, count: n)
        for (i, label) in labels.enumerated() {
            guard let c = Int(exactly: label), (0 ..< k).contains(c) else {
                throw TrainingError.invalidLabel(row: i, value: label, expected: "a class index from 0 to \(k - 1)")
            }
            truth[i] = c
        }
        for (i, value) in probabilities.values.enumerated() where !value.isFinite {
            throw TrainingError.nonFiniteValue(what: "probability of class \(i % k)", row: i / k)
        }
        var predicted = [Int](repeating: 0, count: n)
        var loss = 0.0
        let eps = Double.ulpOfOne
        for i in 0 ..< n {
            var best = 0
            for c in 1 ..< k where probabilities[i, c] > probabilities[i, best] { best = c }
            predicted[i] = best
            loss -= log(min(max(probabilities[i, truth[i]], eps), 1 - eps))
        }
        let confusion = ConfusionMatrix(labels: truth, predicted: predicted, classCount: k)
        let counts = confusion.rows
        var precision = [Double](), recall = [Double](), f1 = [Double](), support = [Double]()
        var correct = 0
        for c in 0 ..< k {
            let tp = Double(counts[c][c])
            let trueCount = Double(counts[c].reduce(0, +))
            let predictedCount = Double((0 ..< k).reduce(0) { $0 + counts[$1][c] })
            correct += counts[c][c]
            guard trueCount > 0 || predictedCount > 0 else { continue }  // not among sklearn's labels
            precision.append(predictedCount > 0 ? tp / predictedCount : 0)
            recall.append(trueCount > 0 ? tp / trueCount : 0)
            f1.append(trueCount + predictedCount > 0 ? 2 * tp / (trueCount + predictedCount) : 0)
            support.append(trueCount)
        }
        func macro(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        func weighted(_ v: [Double]) -> Double { zip(v, support).reduce(0) { $0 + $1.0 * $1.1 } / Double(n) }
        var values: [String: Double] = [
            "accuracy": Double(correct) / Double(n),
            "precision_macro": macro(precision), "recall_macro": macro(recall), "f1_macro": macro(f1),
            "precision_weighted": weighted(precision), "recall_weighted": weighted(recall), "f1_weighted": weighted(f1),
            "log_loss": loss / Double(n),
        ]
        var aucs = [Double]()
        for c in 0 ..< k {
            let binary = truth.map { $0 == c ? 1.0 : 0.0 }
            let column = (0 ..< n).map { probabilities[$0, c] }
            guard let auc = rocAUCUnchecked(binary, column) else { break }
            aucs.append(auc)
        }
        if aucs.count == k { values["auc"] = macro(aucs) }
        return Metrics(values: values, confusionMatrix: confusion)
    }
}
