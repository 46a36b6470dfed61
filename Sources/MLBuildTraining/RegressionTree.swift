/// A binary regression tree stored as an array of nodes, root first; every child index is larger
/// than its parent's (checked by `validate`), so walking it always terminates.
public struct RegressionTree: Codable, Sendable, Equatable {
    public var nodes: [TreeNode]

    public init(nodes: [TreeNode]) {
        self.nodes = nodes
    }

    /// The leaf value reached by `row` (whose length the caller has checked).
    @inline(__always)
    func value(row: UnsafeBufferPointer<Double>) -> Double {
        var i = 0
        while true {
            let node = nodes[i]
            if node.feature < 0 { return node.value }
            let x = row[node.feature]
            let goLeft = x.isNaN ? node.missingGoesLeft : min(x, .greatestFiniteMagnitude) <= node.threshold
            i = goLeft ? node.left : node.right
        }
    }

    /// Throws when a decoded tree could crash or loop at prediction time.
    func validate(featureCount: Int, index: Int) throws {
        guard !nodes.isEmpty else { throw TrainingError.invalidModel(reason: "tree \(index) has no nodes") }
        for (i, node) in nodes.enumerated() {
            if node.feature < 0 {
                guard node.feature == -1, node.left == -1, node.right == -1 else {
                    throw TrainingError.invalidModel(reason: "tree \(index), node \(i): malformed leaf")
                }
            } else {
                guard node.feature < featureCount else {
                    throw TrainingError.invalidModel(reason: "tree \(index), node \(i): feature \(node.feature) out of range (\(featureCount) features)")
                }
                guard node.left > i, node.left < nodes.count, node.right > i, node.right < nodes.count,
                      !node.threshold.isNaN
                else {
                    throw TrainingError.invalidModel(reason: "tree \(index), node \(i): bad child index or threshold")
                }
            }
        }
    }
}
