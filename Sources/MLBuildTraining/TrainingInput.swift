/// Checks shared by every solver before it touches the numbers, so that bad data fails with the
/// row and column at fault instead of producing NaN weights.
enum TrainingInput {
    /// Classification labels are class indices 0..<classCount (0 or 1 for binary).
    static func validate(x: Matrix, y: [Double], task: TrainingTask, finiteFeatures: Bool, classCount: Int = 2) throws {
        guard x.rows > 0 else { throw TrainingError.emptyData }
        guard y.count == x.rows else {
            throw TrainingError.shapeMismatch(what: "number of labels vs feature rows", expected: x.rows, actual: y.count)
        }
        for (row, label) in y.enumerated() {
            switch task {
            case .classification:
                if classCount <= 2 {
                    guard label == 0 || label == 1 else {
                        throw TrainingError.invalidLabel(row: row, value: label, expected: "0 or 1")
                    }
                } else {
                    guard let c = Int(exactly: label), (0 ..< classCount).contains(c) else {
                        throw TrainingError.invalidLabel(row: row, value: label, expected: "a class index from 0 to \(classCount - 1)")
                    }
                }
            case .regression:
                guard label.isFinite else { throw TrainingError.nonFiniteValue(what: "target", row: row) }
            }
        }
        if finiteFeatures {
            for (i, value) in x.values.enumerated() where !value.isFinite {
                throw TrainingError.nonFiniteFeature(row: i / x.columns, column: i % x.columns)
            }
        } else {
            // NaN means missing; infinities are accepted by the binner but rarely intended.
            for (i, value) in x.values.enumerated() where value.isInfinite {
                throw TrainingError.nonFiniteFeature(row: i / x.columns, column: i % x.columns)
            }
        }
    }

    /// nil (every row weighs 1) or one finite weight ≥ 0 per row with a positive sum.
    static func validate(sampleWeights: [Double]?, rows: Int) throws {
        guard let sampleWeights else { return }
        guard sampleWeights.count == rows else {
            throw TrainingError.shapeMismatch(what: "number of sample weights vs rows", expected: rows, actual: sampleWeights.count)
        }
        var sum = 0.0
        for (row, w) in sampleWeights.enumerated() {
            guard w.isFinite, w >= 0 else { throw TrainingError.invalidSampleWeight(row: row, value: w) }
            sum += w
        }
        guard sum > 0 else { throw TrainingError.zeroSampleWeights }
    }
}
