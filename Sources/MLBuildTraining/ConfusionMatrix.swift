/// Counts of a classifier's outcomes. Binary (K = 2): the four named counts, `rows` is
/// scikit-learn's layout [[tn, fp], [fn, tp]]. Multi-class (K ≥ 3): `rows[t][p]` counts rows of
/// true class t predicted as p (scikit-learn's `confusion_matrix(y, pred, labels=range(K))`).
///
/// JSON: binary {"falseNegatives": .., "falsePositives": .., "trueNegatives": .., "truePositives": ..}
/// exactly as before multi-class existed; multi-class {"classCount": K, "rows": [[..]..]}.
public struct ConfusionMatrix: Codable, Sendable, Equatable {
    public var trueNegatives: Int
    public var falsePositives: Int
    public var falseNegatives: Int
    public var truePositives: Int
    /// The K×K counts when K ≥ 3 (nil for binary, whose counts are the four fields above).
    private var multiclassRows: [[Int]]?

    public init(trueNegatives: Int, falsePositives: Int, falseNegatives: Int, truePositives: Int) {
        self.trueNegatives = trueNegatives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.truePositives = truePositives
        multiclassRows = nil
    }

    /// A K×K matrix (rows = true class); K = 2 gives the binary form.
    public init(rows: [[Int]]) {
        if rows.count == 2, rows.allSatisfy({ $0.count == 2 }) {
            self.init(trueNegatives: rows[0][0], falsePositives: rows[0][1], falseNegatives: rows[1][0], truePositives: rows[1][1])
        } else {
            self.init(trueNegatives: 0, falsePositives: 0, falseNegatives: 0, truePositives: 0)
            multiclassRows = rows
        }
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

    /// Counts from class indices 0..<classCount (checked by the caller).
    init(labels: [Int], predicted: [Int], classCount: Int) {
        var counts = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
        for (label, guess) in zip(labels, predicted) { counts[label][guess] += 1 }
        self.init(rows: counts)
    }

    public var classCount: Int { multiclassRows?.count ?? 2 }

    public var rows: [[Int]] {
        multiclassRows ?? [[trueNegatives, falsePositives], [falseNegatives, truePositives]]
    }

    private enum CodingKeys: String, CodingKey {
        case trueNegatives, falsePositives, falseNegatives, truePositives, classCount, rows
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let rows = try c.decodeIfPresent([[Int]].self, forKey: .rows) {
            let k = try c.decode(Int.self, forKey: .classCount)
            guard k >= 3, rows.count == k, rows.allSatisfy({ $0.count == k }) else {
                throw TrainingError.invalidModel(reason: "confusion matrix: expected \(k)×\(k) counts with classCount >= 3")
            }
            self.init(rows: rows)
        } else {
            self.init(
                trueNegatives: try c.decode(Int.self, forKey: .trueNegatives),
                falsePositives: try c.decode(Int.self, forKey: .falsePositives),
                falseNegatives: try c.decode(Int.self, forKey: .falseNegatives),
                truePositives: try c.decode(Int.self, forKey: .truePositives))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let multiclassRows {
            try c.encode(multiclassRows.count, forKey: .classCount)
            try c.encode(multiclassRows, forKey: .rows)
        } else {
            try c.encode(trueNegatives, forKey: .trueNegatives)
            try c.encode(falsePositives, forKey: .falsePositives)
            try c.encode(falseNegatives, forKey: .falseNegatives)
            try c.encode(truePositives, forKey: .truePositives)
        }
    }
}
