/// All trees of an ensemble flattened into parallel arrays (children as absolute indices), built
/// once per batch prediction so the per-row walk touches no nested arrays or reference counts.
struct FlatForest {
    var roots: [Int] = []
    var feature: [Int] = []
    var threshold: [Double] = []
    var missingGoesLeft: [Bool] = []
    var left: [Int] = []
    var right: [Int] = []
    var value: [Double] = []

    init(_ trees: [RegressionTree]) {
        for tree in trees {
            let base = feature.count
            roots.append(base)
            for node in tree.nodes {
                feature.append(node.feature)
                threshold.append(node.threshold)
                missingGoesLeft.append(node.missingGoesLeft)
                left.append(node.isLeaf ? -1 : base + node.left)
                right.append(node.isLeaf ? -1 : base + node.right)
                value.append(node.value)
            }
        }
    }

    /// Σ over trees of the leaf value reached by `row`, added to `start` tree by tree (the same
    /// order as `RegressionTree.value`, so results match the per-row path bit for bit).
    func sum(start: Double, row: UnsafePointer<Double>) -> Double {
        var raw = start
        for root in roots {
            var i = root
            while feature[i] >= 0 {
                let x = row[feature[i]]
                let goLeft = x.isNaN ? missingGoesLeft[i] : min(x, .greatestFiniteMagnitude) <= threshold[i]
                i = goLeft ? left[i] : right[i]
            }
            raw += value[i]
        }
        return raw
    }

    /// Multi-class: out[c] = starts[c] + Σ over the trees of class c (tree t belongs to class
    /// t % K) of the leaf reached by `row`, added tree by tree in order, as the per-row path does.
    func sums(starts: [Double], classCount k: Int, row: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        for c in 0 ..< k { out[c] = starts[c] }
        for (t, root) in roots.enumerated() {
            var i = root
            while feature[i] >= 0 {
                let x = row[feature[i]]
                let goLeft = x.isNaN ? missingGoesLeft[i] : min(x, .greatestFiniteMagnitude) <= threshold[i]
                i = goLeft ? left[i] : right[i]
            }
            out[t % k] += value[i]
        }
    }
}
