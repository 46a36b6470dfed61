/// Stratified k-fold assignment of rows to folds: scikit-learn's
/// `StratifiedKFold(n_splits=folds, shuffle=True)` semantics with mlbuild's PRNG.
///
/// Allocation (sklearn's, deterministic): sort the labels; fold f receives, of each class, as many
/// rows as class has among the sorted positions f, f + folds, f + 2·folds, … — so every class is
/// spread over the folds as evenly as possible and fold sizes differ by at most one.
/// Assignment (the only randomness): for each class in index order, the list of fold numbers
/// (fold 0 repeated by its allocation, then fold 1, …) is shuffled by `SplitMix64.shuffle`
/// (Fisher–Yates from the last position down, `nextInt(below:)`), and the class's rows, in
/// ascending row order, take those folds in turn. One `SplitMix64(seed)` serves all classes.
///
/// Errors: fewer than 2 folds, more folds than rows, a label that is not a class index. A class
/// with fewer rows than folds is allowed (sklearn only warns): some folds then lack it.
public struct StratifiedFolds: Sendable, Equatable {
    public let folds: Int
    public let rowCount: Int
    /// Per fold, its test rows in ascending order.
    public let testIndices: [[Int]]

    public init(labels: [Double], classCount: Int, folds: Int, seed: UInt64) throws {
        let n = labels.count
        guard folds >= 2 else { throw TrainingError.invalidFolds(folds: folds, reason: "cross-validation needs at least 2 folds") }
        guard folds <= n else { throw TrainingError.invalidFolds(folds: folds, reason: "more folds than the \(n) rows") }
        guard classCount >= 1 else { throw TrainingError.invalidFolds(folds: folds, reason: "no classes") }
        var members = [[Int]](repeating: [], count: classCount)
        for (row, label) in labels.enumerated() {
            guard let c = Int(exactly: label), (0 ..< classCount).contains(c) else {
                throw TrainingError.invalidLabel(row: row, value: label, expected: "a class index from 0 to \(classCount - 1)")
            }
            members[c].append(row)
        }
        // allocation[f][c]: rows of class c in fold f, from the sorted labels dealt round-robin.
        var allocation = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: folds)
        var position = 0
        for c in 0 ..< classCount {
            for _ in members[c] {
                allocation[position % folds][c] += 1
                position += 1
            }
        }
        var rng = SplitMix64(seed: seed)
        var foldOf = [Int](repeating: 0, count: n)
        for c in 0 ..< classCount {
            var assignment = [Int]()
            for f in 0 ..< folds { assignment += [Int](repeating: f, count: allocation[f][c]) }
            rng.shuffle(&assignment)
            for (row, fold) in zip(members[c], assignment) { foldOf[row] = fold }
        }
        var test = [[Int]](repeating: [], count: folds)
        for row in 0 ..< n { test[foldOf[row]].append(row) }
        self.folds = folds
        rowCount = n
        testIndices = test
    }

    /// The rows outside fold `fold`, ascending.
    public func trainIndices(fold: Int) -> [Int] {
        var inFold = [Bool](repeating: false, count: rowCount)
        for row in testIndices[fold] { inFold[row] = true }
        return (0 ..< rowCount).filter { !inFold[$0] }
    }
}
