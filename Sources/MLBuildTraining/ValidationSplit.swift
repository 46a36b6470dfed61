/// The held-out rows early stopping scores on: scikit-learn's
/// `train_test_split(test_size=fraction, stratify=y if classifier)` semantics with mlbuild's PRNG.
///
/// Size: ⌈fraction · n⌉ validation rows (sklearn's rounding of `test_size`). Classification
/// (`classCount` given): class c gets ⌊size · count_c / n⌋ rows, and the rows still missing go one
/// each to the classes with the largest remainders (ties to the lower class; sklearn breaks these
/// ties at random). Draw order: for each class in index order, a Fisher–Yates shuffle
/// (`SplitMix64.shuffle`) of that class's row indices in ascending order; its first rows are
/// held out. Regression: one shuffle of 0..<n, the first `size` rows held out. Both parts are
/// returned in ascending row order.
enum ValidationSplit {
    static func indices(labels: [Double], classCount: Int?, fraction: Double, rng: inout SplitMix64) throws
        -> (train: [Int], validation: [Int])
    {
        let n = labels.count
        let size = Int((fraction * Double(n)).rounded(.up))
        guard size >= 1, size < n else {
            throw TrainingError.invalidHyperparameter(
                name: "validation_fraction", value: "\(fraction)",
                expected: "a fraction leaving at least one validation and one training row of \(n)")
        }
        var held = [Bool](repeating: false, count: n)
        if let classCount {
            var members = [[Int]](repeating: [], count: classCount)
            for (i, label) in labels.enumerated() { members[Int(label)].append(i) }
            var quota = members.map { size * $0.count / n }
            var missing = size - quota.reduce(0, +)
            let byRemainder = (0 ..< classCount).sorted { a, b in
                let ra = size * members[a].count % n, rb = size * members[b].count % n
                return ra != rb ? ra > rb : a < b
            }
            for c in byRemainder where missing > 0 && quota[c] < members[c].count {
                quota[c] += 1
                missing -= 1
            }
            for c in 0 ..< classCount {
                var rows = members[c]
                rng.shuffle(&rows)
                for i in rows.prefix(quota[c]) { held[i] = true }
            }
        } else {
            var rows = Array(0 ..< n)
            rng.shuffle(&rows)
            for i in rows.prefix(size) { held[i] = true }
        }
        let validation = (0 ..< n).filter { held[$0] }
        let train = (0 ..< n).filter { !held[$0] }
        return (train, validation)
    }
}
