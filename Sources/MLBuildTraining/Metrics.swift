import Foundation

/// Evaluation metrics by the names users write in gates (`gate = auc >= 0.80`).
///
/// Classification (labels 0/1, probabilities of class 1, predicted class 1 iff p > 0.5 as in
/// scikit-learn's `predict`, or iff p ≥ t for a decision threshold t as in scikit-learn's
/// `FixedThresholdClassifier`): accuracy, precision, recall, f1, auc, log_loss, plus the confusion
/// matrix. Multi-class (`multiclass`, see there): accuracy, macro and weighted
/// precision/recall/f1, log_loss, one-vs-rest macro auc, K×K confusion matrix. Regression: rmse, mae, r2. Conventions follow scikit-learn: precision/recall/f1 are 0
/// when their denominator is 0; ROC AUC gives tied scores their average rank (equal to the
/// trapezoid rule) and is absent from `values` when only one class is present; log loss clips
/// probabilities to [ε, 1 − ε] with ε = 2.22e-16; r2 is 1 for a perfect fit of a constant target,
/// else 0 when the target is constant.
public struct Metrics: Codable, Sendable, Equatable {
    public static let classificationNames = ["accuracy", "auc", "f1", "log_loss", "precision", "recall"]
    public static let regressionNames = ["mae", "r2", "rmse"]

    public var values: [String: Double]
    public var confusionMatrix: ConfusionMatrix?

    public init(values: [String: Double], confusionMatrix: ConfusionMatrix? = nil) {
        self.values = values
        self.confusionMatrix = confusionMatrix
    }

    public subscript(name: String) -> Double? { values[name] }

    /// Names and values sorted by name (for deterministic artifacts).
    public var sorted: [(name: String, value: Double)] {
        values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// `threshold` nil: class 1 iff p > 0.5; a threshold t: class 1 iff p ≥ t. Only the
    /// decision (accuracy, precision, recall, f1, confusion) depends on it; auc and log_loss don't.
    public static func classification(labels: [Double], probabilities: [Double], threshold: Double? = nil) throws -> Metrics {
        try checkClassification(labels, probabilities)
        if let threshold, !(threshold.isFinite) {
            throw TrainingError.invalidHyperparameter(name: "threshold", value: "\(threshold)", expected: "a finite number")
        }
        let predicted = decisions(probabilities: probabilities, threshold: threshold)
        let confusion = ConfusionMatrix(labels: labels, predicted: predicted)
        let tp = Double(confusion.truePositives), fp = Double(confusion.falsePositives)
        let fn = Double(confusion.falseNegatives), tn = Double(confusion.trueNegatives)
        let precision = tp + fp > 0 ? tp / (tp + fp) : 0
        let recall = tp + fn > 0 ? tp / (tp + fn) : 0
        var values: [String: Double] = [
            "accuracy": (tp + tn) / Double(labels.count),
            "precision": precision,
            "recall": recall,
            // 2tp / (2tp + fp + fn): sklearn's form, 0 when there are no positives at all.
            "f1": 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0,
            "log_loss": logLossUnchecked(labels, probabilities),
        ]
        if let auc = rocAUCUnchecked(labels, probabilities) { values["auc"] = auc }
        return Metrics(values: values, confusionMatrix: confusion)
    }

    /// The predicted classes (0/1) of the binary decision `classification` scores: class 1 iff
    /// p > 0.5 without a threshold, iff p ≥ t with one.
    public static func decisions(probabilities: [Double], threshold: Double?) -> [Double] {
        probabilities.map { p in
            if let threshold { return p >= threshold ? 1.0 : 0.0 }
            return p > 0.5 ? 1.0 : 0.0
        }
    }

    public static func regression(targets: [Double], predictions: [Double]) throws -> Metrics {
        guard !targets.isEmpty else { throw TrainingError.emptyData }
        guard targets.count == predictions.count else {
            throw TrainingError.shapeMismatch(what: "number of predictions vs targets", expected: targets.count, actual: predictions.count)
        }
        for (i, (t, p)) in zip(targets, predictions).enumerated() {
            guard t.isFinite else { throw TrainingError.nonFiniteValue(what: "target", row: i) }
            guard p.isFinite else { throw TrainingError.nonFiniteValue(what: "prediction", row: i) }
        }
        let n = Double(targets.count)
        var squared = 0.0, absolute = 0.0, sum = 0.0
        for (t, p) in zip(targets, predictions) {
            squared += (t - p) * (t - p)
            absolute += abs(t - p)
            sum += t
        }
        let mean = sum / n
        var total = 0.0
        for t in targets { total += (t - mean) * (t - mean) }
        let r2 = total > 0 ? 1 - squared / total : (squared == 0 ? 1 : 0)
        return Metrics(values: ["rmse": (squared / n).squareRoot(), "mae": absolute / n, "r2": r2])
    }

    /// F1 of class 1 with the decision p ≥ threshold (0 when there are no positives at all).
    static func f1(labels: [Double], scores: [Double], threshold: Double) -> Double {
        var tp = 0.0, fp = 0.0, fn = 0.0
        for (label, score) in zip(labels, scores) {
            let guess = score >= threshold
            if guess { if label == 1 { tp += 1 } else { fp += 1 } } else if label == 1 { fn += 1 }
        }
        return 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0
    }

    /// ROC AUC; nil when `labels` hold a single class (undefined).
    public static func rocAUC(labels: [Double], scores: [Double]) throws -> Double? {
        try checkClassification(labels, scores)
        return rocAUCUnchecked(labels, scores)
    }

    public static func logLoss(labels: [Double], probabilities: [Double]) throws -> Double {
        try checkClassification(labels, probabilities)
        return logLossUnchecked(labels, probabilities)
    }

    /// Labels 0/1, as many finite scores as labels, at least one row.
    static func checkClassification(_ labels: [Double], _ scores: [Double]) throws {
        guard !labels.isEmpty else { throw TrainingError.emptyData }
        guard labels.count == scores.count else {
            throw TrainingError.shapeMismatch(what: "number of scores vs labels", expected: labels.count, actual: scores.count)
        }
        for (i, (label, score)) in zip(labels, scores).enumerated() {
            guard label == 0 || label == 1 else { throw TrainingError.invalidLabel(row: i, value: label, expected: "0 or 1") }
            guard score.isFinite else { throw TrainingError.nonFiniteValue(what: "score", row: i) }
        }
    }

    /// Mann–Whitney form: (Σ ranks of positives − P(P+1)/2) / (P·N), ties sharing their average
    /// rank. Ranks and sums are integers or halves, exact in Double far beyond 10⁶ rows.
    static func rocAUCUnchecked(_ labels: [Double], _ scores: [Double]) -> Double? {
        let positives = labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            var tiedPositives = 0
            while j < order.count, scores[order[j]] == scores[order[i]] {
                if labels[order[j]] == 1 { tiedPositives += 1 }
                j += 1
            }
            // Ranks i+1 … j (1-based) averaged.
            rankSum += Double(tiedPositives) * Double(i + 1 + j) / 2
            i = j
        }
        let p = Double(positives)
        return (rankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }

    private static func logLossUnchecked(_ labels: [Double], _ probabilities: [Double]) -> Double {
        let eps = Double.ulpOfOne
        var total = 0.0
        for (label, probability) in zip(labels, probabilities) {
            let p = min(max(probability, eps), 1 - eps)
            total -= label == 1 ? log(p) : log(1 - p)
        }
        return total / Double(labels.count)
    }
}
