import MLBuildTraining

/// Trees flattened into the ONNX-ML tree-ensemble arrays (shared by the regressor and the
/// classifier operator). Thresholds and leaf values stay doubles (the `*_as_tensor` attributes
/// of ai.onnx.ml opset 3) and the features are doubles, so every split compares the same two
/// doubles mlbuild compares: no row can fall on the other side of a split. Only the sum is
/// returned as float32 (the operators' output type). Tree `i` adds to target `i % targets`
/// (mlbuild's iteration-major multi-class order).
struct TreeEnsembleArrays {
    var treeIDs: [Int] = [], nodeIDs: [Int] = [], featureIDs: [Int] = [], modes: [String] = []
    var thresholds: [Double] = [], trueIDs: [Int] = [], falseIDs: [Int] = [], missingTrue: [Int] = []
    var leafTree: [Int] = [], leafNode: [Int] = [], leafTarget: [Int] = [], leafValue: [Double] = []

    init(trees: [RegressionTree], targets: Int) {
        for (t, tree) in trees.enumerated() {
            for (i, node) in tree.nodes.enumerated() {
                treeIDs.append(t)
                nodeIDs.append(i)
                if node.isLeaf {
                    featureIDs.append(0)
                    modes.append("LEAF")
                    thresholds.append(0)
                    trueIDs.append(0)
                    falseIDs.append(0)
                    missingTrue.append(0)
                    leafTree.append(t)
                    leafNode.append(i)
                    leafTarget.append(t % targets)
                    leafValue.append(node.value)
                } else {
                    featureIDs.append(node.feature)
                    modes.append("BRANCH_LEQ")
                    thresholds.append(node.threshold)
                    trueIDs.append(node.left)
                    falseIDs.append(node.right)
                    missingTrue.append(node.missingGoesLeft ? 1 : 0)
                }
            }
        }
    }

    /// The `nodes_*` attributes, in name order.
    var nodeAttributes: [Onnx_AttributeProto] {
        [
            Attribute.ints("nodes_falsenodeids", falseIDs),
            Attribute.ints("nodes_featureids", featureIDs),
            Attribute.ints("nodes_missing_value_tracks_true", missingTrue),
            Attribute.strings("nodes_modes", modes),
            Attribute.ints("nodes_nodeids", nodeIDs),
            Attribute.ints("nodes_treeids", treeIDs),
            Attribute.ints("nodes_truenodeids", trueIDs),
            Attribute.doubles("nodes_values_as_tensor", thresholds),
        ]
    }
}
