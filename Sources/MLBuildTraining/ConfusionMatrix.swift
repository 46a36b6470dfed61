/// Counts of a binary classifier's outcomes; `rows` is scikit-learn's layout [[tn, fp], [fn, tp]].
public struct ConfusionMatrix: Codable, Sendable, Equatable {
    public var trueNegatives: Int
    public var falsePositives: Int
    public var falseNegatives: Int
    public var truePositives: Int

    public init(trueNegatives: Int, falsePositives: Int, falseNegatives: Int, truePositives: Int) {
        self.trueNegatives = trueNegatives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.truePositives = truePositives
    }

    /// Counts from 0/1 labels and 0/1 predictions of equal length (checked by the caller).
    init(labels: [Double], predicted: [Double]) {
        var tn = 0, fp = 0, fn = 0, tp = 0
        for (label, guess) in zip(labels, predicted) {
            switch (label == 1, guess == 1) {
            case (false, false): tn += 1
            case (false, true): fp += 1
            case (true, false): fn += 1
            case (true, true): tp += 1
            }
        }
        self.init(trueNegatives: tn, falsePositives: fp, falseNegatives: fn, truePositives: tp)
    }

    public var rows: [[Int]] { [[trueNegatives, falsePositives], [falseNegatives, truePositives]] }
}
