import MLBuildTraining

/// A model's raw scores as ONNX-ML nodes, on the `[N, d]` double features of `TransformGraph`.
///
/// Both kinds of model go through a *regressor* operator that returns the raw scores `[N, T]`
/// (T = 1 for regression and binary models, K for K classes); the probabilities are made from
/// them by `OutputGraph` with Sigmoid or Softmax, exactly as mlbuild does. One path for all
/// three tasks, and no reliance on how a runtime reads TreeEnsembleClassifier's binary
/// special cases (one score column for two classes), which is where runtimes have differed.
enum ModelGraph {
    /// Linear scores `x · w_t + b_t` with LinearRegressor (coefficients row-major, T × d).
    /// ONNX-ML stores the weights as float32 and onnxruntime runs LinearRegressor on float32
    /// inputs only, so the features are cast first: scores carry float rounding (about 1e-7
    /// relative; measured in the tests).
    static func linear(
        features: String, coefficients: [Double], intercepts: [Double], output: String?, into graph: inout GraphBuilder
    ) -> String {
        let narrowed = graph.op("Cast", [features], prefix: "model", attributes: [Attribute.int("to", Int(Onnx_TensorProto.DataType.float.rawValue))])
        return graph.node(
            "LinearRegressor", [narrowed], prefix: "model", domain: GraphBuilder.mlDomain,
            named: output.map { [$0] },
            attributes: [
                Attribute.floats("coefficients", coefficients.map { Float($0) }),
                Attribute.floats("intercepts", intercepts.map { Float($0) }),
                Attribute.string("post_transform", "NONE"),
                Attribute.int("targets", intercepts.count),
            ])[0]
    }

    /// The sum of the trees' leaf values plus the baselines, with TreeEnsembleRegressor.
    /// Tree `i` adds to target `i % targets` (mlbuild's iteration-major multi-class order).
    /// Thresholds, leaf values and baselines go in the double `*_as_tensor` attributes
    /// (ai.onnx.ml opset 3) and the features are doubles, so every split compares the same two
    /// doubles mlbuild compares: no row can fall on the other side of a split. Only the sum is
    /// returned as float32 (the operator's output type).
    static func trees(
        features: String, trees: [RegressionTree], baselines: [Double], output: String?, into graph: inout GraphBuilder
    ) -> String {
        let targets = baselines.count
        var treeIDs: [Int] = [], nodeIDs: [Int] = [], featureIDs: [Int] = [], modes: [String] = []
        var thresholds: [Double] = [], trueIDs: [Int] = [], falseIDs: [Int] = [], missingTrue: [Int] = []
        var leafTree: [Int] = [], leafNode: [Int] = [], leafTarget: [Int] = [], leafValue: [Double] = []
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
        return graph.node(
            "TreeEnsembleRegressor", [features], prefix: "model", domain: GraphBuilder.mlDomain,
            named: output.map { [$0] },
            attributes: [
                Attribute.string("aggregate_function", "SUM"),
                Attribute.doubles("base_values_as_tensor", baselines),
                Attribute.int("n_targets", targets),
                Attribute.ints("nodes_falsenodeids", falseIDs),
                Attribute.ints("nodes_featureids", featureIDs),
                Attribute.ints("nodes_missing_value_tracks_true", missingTrue),
                Attribute.strings("nodes_modes", modes),
                Attribute.ints("nodes_nodeids", nodeIDs),
                Attribute.ints("nodes_treeids", treeIDs),
                Attribute.ints("nodes_truenodeids", trueIDs),
                Attribute.doubles("nodes_values_as_tensor", thresholds),
                Attribute.string("post_transform", "NONE"),
                Attribute.ints("target_ids", leafTarget),
                Attribute.ints("target_nodeids", leafNode),
                Attribute.ints("target_treeids", leafTree),
                Attribute.doubles("target_weights_as_tensor", leafValue),
            ])[0]
    }
}
