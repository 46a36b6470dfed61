import MLBuildTraining

/// The seeded train/test split (documented so another implementation can reproduce it):
///
/// Plain: indices = [0, 1, …, n−1]; SplitMix64(seed).shuffle(&indices) (Fisher–Yates from the
/// last index down, `nextInt(below:)`); n_train = round(n × fraction) (halves away from zero),
/// clamped to [1, n−1]; train = the first n_train shuffled indices, test = the rest.
/// Stratified: classes = distinct label values in ascending order; one generator is used for
/// all classes in that order: each class's ascending row indices are shuffled and its first
/// round(count × fraction) go to train. Both index lists are finally sorted ascending.
public enum DataSplitter {
    public static func split(count n: Int, fraction: Double, seed: UInt64, strata: [Double]? = nil) -> (train: [Int], test: [Int]) {
        var rng = SplitMix64(seed: seed)
        // Which rows train; both lists are then read off in ascending order (the sort of the
        // documented algorithm, in one pass: the two parts cover 0..<n exactly once).
        var trains = [Bool](repeating: false, count: n)
        if let strata {
            var groups: [Double: [Int]] = [:]
            for i in 0 ..< n { groups[strata[i], default: []].append(i) }
            for key in groups.keys.sorted() {
                var members = groups[key] ?? []
                rng.shuffle(&members)
                let k = Int((Double(members.count) * fraction).rounded())
                for i in members[0 ..< k] { trains[i] = true }
            }
        } else {
            var indices = Array(0 ..< n)
            rng.shuffle(&indices)
            let k = n < 2 ? n : min(max(Int((Double(n) * fraction).rounded()), 1), n - 1)
            for i in indices[0 ..< k] { trains[i] = true }
        }
        var train: [Int] = []
        var test: [Int] = []
        let k = trains.reduce(0) { $0 + ($1 ? 1 : 0) }
        train.reserveCapacity(k)
        test.reserveCapacity(n - k)
        for i in 0 ..< n {
            if trains[i] { train.append(i) } else { test.append(i) }
        }
        return (train, test)
    }
}
