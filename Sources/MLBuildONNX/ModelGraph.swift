import MLBuildTraining

/// A model's raw scores as ONNX-ML nodes, on the `[N, d]` double features of `TransformGraph`.
///
/// Regressors use `LinearRegressor` / `TreeEnsembleRegressor` and their output is the
/// prediction. Classifiers use `LinearClassifier` / `TreeEnsembleClassifier` with
/// post_transform NONE, so the operator yields raw scores; `OutputGraph` turns those into
/// probabilities with Sigmoid or Softmax, exactly as mlbuild does. The operator's own label
/// output is left unused: its binary rule (score > 0, or > 0.5 when all weights are positive)
/// is not mlbuild's (P > 0.5 or >= a threshold), so the label is always made by `OutputGraph`.
///
/// Binary models are given in the operators' one-score form (one weight row, or one class id,
/// with two class labels). onnxruntime then outputs `[N, 2]` with the raw score `s` in column 1
/// and `1 - s` or `-s` in column 0 (measured with onnxruntime 1.32: `1 - s` for
/// LinearClassifier; for TreeEnsembleClassifier `1 - s` when every leaf value is positive, `-s`
/// otherwise), so column 1 is taken: the raw log-odds of class 1 in every case.
enum ModelGraph {
    /// Linear scores `x · w_t + b_t` (coefficients row-major, T × d): `[N, T]`.
    /// ONNX-ML stores the weights as float32 and onnxruntime runs the linear operators on float32
    /// inputs, so the features are cast first: scores carry float rounding (about 1e-7
    /// relative; measured in the tests).
    static func linearRegressor(
        features: String, coefficients: [Double], intercepts: [Double], output: String, into graph: inout GraphBuilder
    ) -> String {
        let narrowed = narrow(features, into: &graph)
        return graph.node(
            "LinearRegressor", [narrowed], prefix: "model", domain: GraphBuilder.mlDomain,
            named: [output],
            attributes: [
                Attribute.floats("coefficients", coefficients.map { Float($0) }),
                Attribute.floats("intercepts", intercepts.map { Float($0) }),
                Attribute.string("post_transform", "NONE"),
                Attribute.int("targets", intercepts.count),
            ])[0]
    }

    /// Raw class scores with LinearClassifier: `[N, 1]` (binary: the log-odds of class 1, from
    /// one weight row) or `[N, K]` (K weight rows, row k = class k).
    static func linearClassifier(
        features: String, coefficients: [Double], intercepts: [Double], classCount: Int, into graph: inout GraphBuilder
    ) -> String {
        let narrowed = narrow(features, into: &graph)
        let scores = graph.node(
            "LinearClassifier", [narrowed], prefix: "model", domain: GraphBuilder.mlDomain, outputs: 2,
            attributes: [
                Attribute.ints("classlabels_ints", Array(0 ..< classCount)),
                Attribute.floats("coefficients", coefficients.map { Float($0) }),
                Attribute.floats("intercepts", intercepts.map { Float($0) }),
                Attribute.string("post_transform", "NONE"),
            ])[1]
        return classCount == 2 ? secondColumn(scores, into: &graph) : scores
    }

    /// The sum of the trees' leaf values plus the baselines, with TreeEnsembleRegressor: `[N, T]`.
    static func treeRegressor(
        features: String, trees: [RegressionTree], baselines: [Double], output: String, into graph: inout GraphBuilder
    ) -> String {
        let ensemble = TreeEnsembleArrays(trees: trees, targets: baselines.count)
        return graph.node(
            "TreeEnsembleRegressor", [features], prefix: "model", domain: GraphBuilder.mlDomain,
            named: [output],
            attributes: [
                Attribute.string("aggregate_function", "SUM"),
                Attribute.doubles("base_values_as_tensor", baselines),
                Attribute.int("n_targets", baselines.count),
            ] + ensemble.nodeAttributes + [
                Attribute.string("post_transform", "NONE"),
                Attribute.ints("target_ids", ensemble.leafTarget),
                Attribute.ints("target_nodeids", ensemble.leafNode),
                Attribute.ints("target_treeids", ensemble.leafTree),
                Attribute.doubles("target_weights_as_tensor", ensemble.leafValue),
            ])[0]
    }

    /// Raw class scores with TreeEnsembleClassifier: `[N, 1]` (binary: one class id, one
    /// baseline; the log-odds of class 1) or `[N, K]` (tree i adds to class i % K).
    static func treeClassifier(
        features: String, trees: [RegressionTree], baselines: [Double], classCount: Int, into graph: inout GraphBuilder
    ) -> String {
        let ensemble = TreeEnsembleArrays(trees: trees, targets: baselines.count)
        let scores = graph.node(
            "TreeEnsembleClassifier", [features], prefix: "model", domain: GraphBuilder.mlDomain, outputs: 2,
            attributes: [
                Attribute.doubles("base_values_as_tensor", baselines),
                Attribute.ints("class_ids", ensemble.leafTarget),
                Attribute.ints("class_nodeids", ensemble.leafNode),
                Attribute.ints("class_treeids", ensemble.leafTree),
                Attribute.doubles("class_weights_as_tensor", ensemble.leafValue),
                Attribute.ints("classlabels_int64s", Array(0 ..< classCount)),
            ] + ensemble.nodeAttributes + [
                Attribute.string("post_transform", "NONE"),
            ])[1]
        return classCount == 2 ? secondColumn(scores, into: &graph) : scores
    }

    private static func narrow(_ features: String, into graph: inout GraphBuilder) -> String {
        graph.op("Cast", [features], prefix: "model", attributes: [Attribute.int("to", Int(Onnx_TensorProto.DataType.float.rawValue))])
    }

    /// Column 1 of a binary classifier's `[N, 2]` scores, as `[N, 1]`.
    private static func secondColumn(_ scores: String, into graph: inout GraphBuilder) -> String {
        let one = graph.constant("model/class1", int64s: [1], shape: [1])
        return graph.op("Gather", [scores, one], prefix: "model", attributes: [Attribute.int("axis", 1)])
    }
}
