/// Checks shared by every solver before it touches the numbers, so that bad data fails with the
/// row and column at fault instead of producing NaN weights.
enum TrainingInput {
    static func validate(x: Matrix, y: [Double], task: TrainingTask, finiteFeatures: Bool) throws {
        guard x.rows > 0 else { throw TrainingError.emptyData }
        guard y.count == x.rows else {
            throw TrainingError.shapeMismatch(what: "number of labels vs feature rows", expected: x.rows, actual: y.count)
        }
        for (row, label) in y.enumerated() {
            switch task {
            case .classification:
                guard label == 0 || label == 1 else {
                    throw TrainingError.invalidLabel(row: row, value: label, expected: "0 or 1")
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
}
