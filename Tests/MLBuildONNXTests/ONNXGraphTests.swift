import Foundation
import MLBuildDatasets
@testable import MLBuildONNX
import MLBuildTraining
import SwiftProtobuf
import Testing

/// The graph `ONNXExporter` writes, read back with the generated ONNX types: which inputs,
/// operators, constants and outputs it has, and that its bytes depend on the model only.
@Suite("ONNX graph")
struct ONNXGraphTests {
    /// Every kind of transform step: standardize with impute (x), log1p + minmax (t), buckets (b),
    /// bool with impute (flag), one-hot of a string column with impute (city).
    static let transformJSON = """
    {"version": 1,
     "schema": [{"name": "id", "type": "string", "id": true, "unique": true},
                {"name": "x", "type": "float", "nullable": true},
                {"name": "t", "type": "float"},
                {"name": "b", "type": "int"},
                {"name": "flag", "type": "bool", "nullable": true},
                {"name": "city", "type": "string", "nullable": true},
                {"name": "y", "type": "bool"}],
     "options": {"max_null_fraction": 1, "min_rows": 0, "unique": [], "null_values": ["NA"], "true_values": [],
                 "false_values": [], "max_psi": 0.2},
     "label": {"column": "y", "type": "bool", "classes": ["false", "true"]},
     "id_columns": ["id"],
     "steps": [
       {"column": "x", "kind": "numeric", "impute_value": 2.5, "log1p": false, "scaling": "standardize", "center": 1.5, "scale": 2},
       {"column": "t", "kind": "numeric", "log1p": true, "scaling": "minmax", "center": 0, "scale": 4},
       {"column": "b", "kind": "buckets", "log1p": false, "boundaries": [0, 10]},
       {"column": "flag", "kind": "bool", "impute_value": 1, "log1p": false},
       {"column": "city", "kind": "one_hot", "impute_text": "paris", "log1p": false, "categories": ["lyon", "paris"]}],
     "feature_names": ["x", "t", "b[-inf,0)", "b[0,10)", "b[10,inf)", "flag", "city=lyon", "city=paris"]}
    """

    static func transform() throws -> FittedTransform {
        try JSONDecoder().decode(FittedTransform.self, from: Data(transformJSON.utf8))
    }

    static let logistic = TrainedModel.logisticRegression(LogisticRegressionModel(
        coefficients: [0.5, -1.25, 0.1, 0.2, 0.3, 0.75, -0.5, 0.25], intercept: -0.125, iterations: 7, converged: true))

    /// One stump on x at 0.1 + 0.2 (not a float32: the export must keep it as a double).
    static let stumpThreshold = 0.1 + 0.2
    static func boosting(_ task: TrainingTask) -> TrainedModel {
        .gradientBoosting(GradientBoostingModel(
            task: task, featureCount: 8, baseline: -0.5,
            trees: [
                RegressionTree(nodes: [
                    TreeNode(feature: 0, threshold: stumpThreshold, missingGoesLeft: true, left: 1, right: 2, value: 0),
                    .leaf(value: -0.25), .leaf(value: 0.75),
                ]),
                RegressionTree(nodes: [
                    TreeNode(feature: 7, threshold: 0.5, missingGoesLeft: false, left: 1, right: 2, value: 0),
                    .leaf(value: 0.125), .leaf(value: -0.0625),
                ]),
            ]))
    }

    static func proto(_ model: TrainedModel, classes: [String]? = ["false", "true"], threshold: Double? = nil) throws -> Onnx_ModelProto {
        let bytes = try ONNXExporter.export(
            model: model, transform: transform(), classes: classes, threshold: threshold, graphName: "model:test", producerVersion: "9.9.9")
        return try Onnx_ModelProto(serializedBytes: bytes)
    }

    static func attribute(_ node: Onnx_NodeProto, _ name: String) -> Onnx_AttributeProto? {
        node.attribute.first { $0.name == name }
    }

    @Test func logisticGraphGoesFromRawColumnsToLabelAndProbabilities() throws {
        let model = try Self.proto(Self.logistic)
        #expect(model.irVersion == 9)
        #expect(model.producerName == "mlbuild")
        #expect(model.producerVersion == "9.9.9")
        #expect(model.opsetImport.map { "\($0.domain)=\($0.version)" } == ["=19", "ai.onnx.ml=3"])
        let graph = model.graph
        #expect(graph.name == "model:test")
        // One input per feature column, in the transform's order; no id or label input.
        #expect(graph.input.map(\.name) == ["x", "t", "b", "flag", "city"])
        #expect(graph.input.map { $0.type.tensorType.elemType } == [11, 11, 11, 11, 8])  // 11 double, 8 string
        #expect(graph.input.allSatisfy { $0.type.tensorType.shape.dim.map(\.dimParam) == ["N", ""] })
        #expect(graph.output.map(\.name) == ["label", "probabilities"])
        #expect(graph.output[1].type.tensorType.shape.dim[1].dimValue == 2)
        #expect(graph.node.map(\.opType) == [
            "IsNaN", "Where", "Sub", "Div",  // x: impute, standardize
            "Add", "Log", "Sub", "Div",  // t: log1p, minmax
            "GreaterOrEqual", "Cast", "ReduceSum", "Equal", "Cast",  // b: buckets
            "IsNaN", "Where",  // flag: impute
            "Equal", "Where", "Equal", "Cast",  // city: impute, one-hot
            "Concat", "Cast", "LinearClassifier", "Gather",  // raw log-odds: column 1 of the classifier's scores
            "Sigmoid", "Sub", "Concat", "Greater", "Cast", "Reshape", "Gather",
        ])
        let linear = try #require(graph.node.first { $0.opType == "LinearClassifier" })
        #expect(linear.domain == "ai.onnx.ml")
        #expect(Self.attribute(linear, "coefficients")?.floats == [0.5, -1.25, 0.1, 0.2, 0.3, 0.75, -0.5, 0.25])
        #expect(Self.attribute(linear, "intercepts")?.floats == [-0.125])
        #expect(Self.attribute(linear, "classlabels_ints")?.ints == [0, 1])
        #expect(Self.attribute(linear, "post_transform")?.s == Data("NONE".utf8))
        // The operator's scores (output 1) feed a Gather of column 1; its label (output 0) is unused.
        #expect(linear.output.count == 2)
        let column = try #require(graph.node.first { $0.opType == "Gather" && $0.input.first == linear.output[1] })
        let index = try #require(graph.initializer.first { $0.name == column.input[1] })
        #expect(index.int64Data == [1])
        #expect(Self.attribute(column, "axis")?.i == 1)
        #expect(!graph.node.contains { $0.input.contains(linear.output[0]) })
        #expect(graph.node.first { $0.opType == "Sigmoid" }?.input == column.output)
        // The constants hold the fitted values exactly (as doubles).
        let constants = Dictionary(graph.initializer.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let doubles = graph.initializer.filter { $0.dataType == 11 }.map(\.doubleData)
        #expect(doubles.contains([2.5]) && doubles.contains([1.5]) && doubles.contains([2]) && doubles.contains([0, 10]))
        let categories = try #require(graph.initializer.first { $0.dims == [1, 2] && $0.dataType == 8 })
        #expect(categories.stringData.map { String(decoding: $0, as: UTF8.self) } == ["lyon", "paris"])
        let classes = try #require(constants.values.first { $0.dims == [2] && $0.dataType == 8 })
        #expect(classes.stringData.map { String(decoding: $0, as: UTF8.self) } == ["false", "true"])
        #expect(model.metadataProps.map(\.key) == ["mlbuild.algorithm", "mlbuild.classes", "mlbuild.decision", "mlbuild.task"])
        #expect(model.metadataProps.first { $0.key == "mlbuild.decision" }?.value == "P(true) > 0.5")
    }

    @Test func aChosenThresholdDecidesWithGreaterOrEqual() throws {
        let graph = try Self.proto(Self.logistic, threshold: 0.35).graph
        #expect(graph.node.contains { $0.opType == "GreaterOrEqual" && $0.input.contains { $0.hasPrefix("output/threshold") } })
        #expect(!graph.node.contains { $0.opType == "Greater" })
        let cut = try #require(graph.initializer.first { $0.name.hasPrefix("output/threshold") })
        #expect(cut.floatData == [0.35])
    }

    @Test func bytesDependOnlyOnTheModel() throws {
        let transform = try Self.transform()
        func export(_ model: TrainedModel, _ classes: [String]) throws -> [UInt8] {
            try ONNXExporter.export(model: model, transform: transform, classes: classes, graphName: "model:a", producerVersion: "1")
        }
        let first = try export(Self.boosting(.classification), ["no", "yes"])
        #expect(try export(Self.boosting(.classification), ["no", "yes"]) == first)
        #expect(try export(Self.boosting(.classification), ["No", "yes"]) != first)
        // No wall clock anywhere: the same bytes a second later.
        Thread.sleep(forTimeInterval: 1.1)
        #expect(try export(Self.boosting(.classification), ["no", "yes"]) == first)
    }

    @Test func treeThresholdsLeafValuesAndBaselineStayDoubles() throws {
        #expect(Double(Float(Self.stumpThreshold)) != Self.stumpThreshold)
        let graph = try Self.proto(Self.boosting(.classification)).graph
        let ensemble = try #require(graph.node.first { $0.opType == "TreeEnsembleClassifier" })
        #expect(ensemble.domain == "ai.onnx.ml")
        #expect(Self.attribute(ensemble, "nodes_values_as_tensor")?.t.doubleData == [Self.stumpThreshold, 0, 0, 0.5, 0, 0])
        #expect(Self.attribute(ensemble, "nodes_modes")?.strings.map { String(decoding: $0, as: UTF8.self) }
            == ["BRANCH_LEQ", "LEAF", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"])
        #expect(Self.attribute(ensemble, "nodes_featureids")?.ints == [0, 0, 0, 7, 0, 0])
        #expect(Self.attribute(ensemble, "nodes_truenodeids")?.ints == [1, 0, 0, 1, 0, 0])
        #expect(Self.attribute(ensemble, "nodes_falsenodeids")?.ints == [2, 0, 0, 2, 0, 0])
        #expect(Self.attribute(ensemble, "nodes_missing_value_tracks_true")?.ints == [1, 0, 0, 0, 0, 0])
        #expect(Self.attribute(ensemble, "nodes_treeids")?.ints == [0, 0, 0, 1, 1, 1])
        #expect(Self.attribute(ensemble, "class_weights_as_tensor")?.t.doubleData == [-0.25, 0.75, 0.125, -0.0625])
        // Binary: one class id and one baseline (the one-score form); column 1 is the raw score.
        #expect(Self.attribute(ensemble, "class_ids")?.ints == [0, 0, 0, 0])
        #expect(Self.attribute(ensemble, "class_nodeids")?.ints == [1, 2, 1, 2])
        #expect(Self.attribute(ensemble, "class_treeids")?.ints == [0, 0, 1, 1])
        #expect(Self.attribute(ensemble, "classlabels_int64s")?.ints == [0, 1])
        #expect(Self.attribute(ensemble, "base_values_as_tensor")?.t.doubleData == [-0.5])
        #expect(Self.attribute(ensemble, "post_transform")?.s == Data("NONE".utf8))
        #expect(Self.attribute(ensemble, "nodes_values") == nil)
        #expect(Self.attribute(ensemble, "class_weights") == nil)
        #expect(Self.attribute(ensemble, "base_values") == nil)
        #expect(graph.node.contains { $0.opType == "Gather" && $0.input.first == ensemble.output[1] })
    }

    /// The model operator each task and algorithm exports to, and where its scores go.
    @Test func classifiersUseTheClassifierOperatorsAndRegressorsTheRegressorOnes() throws {
        let linearRegression = TrainedModel.linearRegression(LinearRegressionModel(coefficients: Array(repeating: 0.5, count: 8), intercept: 1))
        let linear3 = Scores(kind: .linear(coefficients: ONNXMultiClassTests.coefficients, intercepts: ONNXMultiClassTests.intercepts), classCount: 3)
        let trees3 = Scores(kind: .trees(ONNXMultiClassTests.trees, baselines: ONNXMultiClassTests.baselines), classCount: 3)
        func modelOps(_ graph: Onnx_GraphProto) -> [String] {
            graph.node.filter { $0.domain == GraphBuilder.mlDomain }.map(\.opType)
        }
        func multiClass(_ scores: Scores) throws -> Onnx_GraphProto {
            try ONNXExporter.modelProto(
                scores: scores, task: .classification, algorithm: "test", transform: Self.transform(),
                classes: ONNXMultiClassTests.classes, threshold: nil, graphName: "g", producerVersion: "1").graph
        }
        #expect(modelOps(try Self.proto(Self.logistic).graph) == ["LinearClassifier"])
        #expect(modelOps(try Self.proto(Self.boosting(.classification)).graph) == ["TreeEnsembleClassifier"])
        #expect(modelOps(try Self.proto(linearRegression, classes: nil).graph) == ["LinearRegressor"])
        #expect(modelOps(try Self.proto(Self.boosting(.regression), classes: nil).graph) == ["TreeEnsembleRegressor"])
        for (scores, op) in [(linear3, "LinearClassifier"), (trees3, "TreeEnsembleClassifier")] {
            let graph = try multiClass(scores)
            #expect(modelOps(graph) == [op])
            let node = try #require(graph.node.first { $0.opType == op })
            let labels = op == "LinearClassifier" ? "classlabels_ints" : "classlabels_int64s"
            #expect(Self.attribute(node, labels)?.ints == [0, 1, 2])
            // K classes: the [N, K] scores go straight to Softmax (no column taken).
            #expect(graph.node.first { $0.opType == "Softmax" }?.input == [node.output[1]])
        }
        let trees = try #require(try multiClass(trees3).node.first { $0.opType == "TreeEnsembleClassifier" })
        #expect(Self.attribute(trees, "class_ids")?.ints == [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2])
        #expect(Self.attribute(trees, "base_values_as_tensor")?.t.doubleData == ONNXMultiClassTests.baselines)
    }

    @Test func regressorsOutputVariableOnly() throws {
        let model = try Self.proto(Self.boosting(.regression), classes: nil)
        #expect(model.graph.output.map(\.name) == ["variable"])
        #expect(model.graph.node.last?.opType == "TreeEnsembleRegressor")
        #expect(model.graph.node.last?.output == ["variable"])
        #expect(!model.graph.node.contains { $0.opType == "Sigmoid" || $0.opType == "Gather" })
        #expect(model.metadataProps.map(\.key) == ["mlbuild.algorithm", "mlbuild.task"])
    }

    @Test func anEnsembleWithoutTreesIsItsBaseline() throws {
        let empty = TrainedModel.gradientBoosting(GradientBoostingModel(task: .regression, featureCount: 8, baseline: 42.5, trees: []))
        let graph = try Self.proto(empty, classes: nil).graph
        let ensemble = try #require(graph.node.first { $0.opType == "TreeEnsembleRegressor" })
        #expect(Self.attribute(ensemble, "nodes_modes")?.strings == [Data("LEAF".utf8)])
        #expect(Self.attribute(ensemble, "target_weights_as_tensor")?.t.doubleData == [0])
        #expect(Self.attribute(ensemble, "base_values_as_tensor")?.t.doubleData == [42.5])
    }

    @Test func aModelOfAnotherWidthIsRefusedNamingBothWidths() throws {
        let narrow = TrainedModel.linearRegression(LinearRegressionModel(coefficients: [1, 2, 3], intercept: 0))
        let error = #expect(throws: ONNXExportError.self) {
            _ = try ONNXExporter.export(model: narrow, transform: Self.transform(), classes: nil, graphName: "g", producerVersion: "1")
        }
        #expect(error?.description == "the model reads 3 features but the transform makes 8")
    }

    @Test func wrongClassCountIsRefused() throws {
        let error = #expect(throws: ONNXExportError.self) {
            _ = try Self.proto(Self.logistic, classes: ["a", "b", "c"])
        }
        #expect(error?.description == "the model has 2 classes but 3 class names were given")
    }
}
