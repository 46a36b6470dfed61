import Foundation

/// The curves behind a classifier's plots, on the same labels (0/1) and scores (probability of
/// class 1) as `Metrics.classification`: ROC, precision–recall, calibration. A point is made at
/// each distinct score, from the highest down (ties move together), as scikit-learn's
/// `roc_curve(drop_intermediate=False)` and `precision_recall_curve` do.
public struct EvaluationCurves: Sendable, Equatable {
    /// ROC points from (0, 0) to (1, 1); `thresholds[0]` is +∞ (no row predicted positive),
    /// `thresholds[k]` the score at or above which rows count as positive. Empty when the labels
    /// hold one class (the rates are undefined).
    public var falsePositiveRates: [Double] = []
    public var truePositiveRates: [Double] = []
    public var thresholds: [Double] = []
    /// Precision–recall points by recall ascending, starting at (recall 0, precision 1) as
    /// scikit-learn ends its list; `prThresholds[0]` is +∞. Empty when there is no positive row.
    public var recalls: [Double] = []
    public var precisions: [Double] = []
    public var prThresholds: [Double] = []
    /// scikit-learn's average precision: Σₖ (Rₖ − Rₖ₋₁)·Pₖ over the thresholds; nil without positives.
    public var averagePrecision: Double?
    public var calibration: [CalibrationBin] = []

    /// One of 10 equal-width bins of predicted probability: [lower, upper), the last closed.
    public struct CalibrationBin: Sendable, Equatable {
        public var lower: Double
        public var upper: Double
        public var count: Int
        /// Mean predicted probability and fraction of positives in the bin; nil when empty.
        public var meanPredicted: Double?
        public var observedRate: Double?
    }

    public static let calibrationBins = 10

    public init(labels: [Double], scores: [Double]) throws {
        try Metrics.checkClassification(labels, scores)
        let positives = labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
        let negatives = labels.count - positives
        // Highest score first; the index breaks ties so the order is total (ties move together anyway).
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var tp = 0, fp = 0
        if positives > 0, negatives > 0 {
            falsePositiveRates = [0]
            truePositiveRates = [0]
            thresholds = [.infinity]
        }
        if positives > 0 {
            recalls = [0]
            precisions = [1]
            prThresholds = [.infinity]
        }
        var ap = 0.0
        var i = 0
        while i < order.count {
            let score = scores[order[i]]
            var j = i
            while j < order.count, scores[order[j]] == score {
                if labels[order[j]] == 1 { tp += 1 } else { fp += 1 }
                j += 1
            }
            if positives > 0, negatives > 0 {
                falsePositiveRates.append(Double(fp) / Double(negatives))
                truePositiveRates.append(Double(tp) / Double(positives))
                thresholds.append(score)
            }
            if positives > 0 {
                let recall = Double(tp) / Double(positives), precision = Double(tp) / Double(tp + fp)
                ap += (recall - (recalls.last ?? 0)) * precision
                recalls.append(recall)
                precisions.append(precision)
                prThresholds.append(score)
            }
            i = j
        }
        averagePrecision = positives > 0 ? ap : nil

        var counts = [Int](repeating: 0, count: Self.calibrationBins)
        var predicted = [Double](repeating: 0, count: Self.calibrationBins)
        var observed = [Int](repeating: 0, count: Self.calibrationBins)
        for (label, score) in zip(labels, scores) {
            let bin = min(max(Int(score * Double(Self.calibrationBins)), 0), Self.calibrationBins - 1)
            counts[bin] += 1
            predicted[bin] += score
            if label == 1 { observed[bin] += 1 }
        }
        calibration = (0 ..< Self.calibrationBins).map { k in
            CalibrationBin(
                lower: Double(k) / Double(Self.calibrationBins), upper: Double(k + 1) / Double(Self.calibrationBins), count: counts[k],
                meanPredicted: counts[k] > 0 ? predicted[k] / Double(counts[k]) : nil,
                observedRate: counts[k] > 0 ? Double(observed[k]) / Double(counts[k]) : nil)
        }
    }

    /// The area under the ROC points by the trapezoid rule (equal to `Metrics`' Mann–Whitney AUC
    /// up to rounding); nil when the curve is undefined.
    public var rocArea: Double? {
        guard falsePositiveRates.count > 1 else { return nil }
        var area = 0.0
        for k in 1 ..< falsePositiveRates.count {
            area += (falsePositiveRates[k] - falsePositiveRates[k - 1]) * (truePositiveRates[k] + truePositiveRates[k - 1]) / 2
        }
        return area
    }
}
