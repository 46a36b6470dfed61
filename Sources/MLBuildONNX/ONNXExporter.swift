import Foundation
import MLBuildDatasets
import MLBuildTraining
import SwiftProtobuf

/// A built model as one ONNX model (`model.onnx`): raw columns in, predictions out.
///
/// Graph inputs: one per feature column of the transform, in the transform's order, named after
/// the column: `[N, 1]` double for number and bool columns (bool as 1/0; NaN = null), `[N, 1]`
/// string for string and category columns ("" = null). Id, label and dropped columns are not
/// inputs. Then the fitted transform (`TransformGraph`), the model's raw scores (`ModelGraph`)
/// and:
///   - classifiers: `probabilities` float `[N, K]` (column k = class k, rows sum to 1) and
///     `label` string `[N]`, the class name `mlbuild predict` prints (binary: `classes[1]` when
///     P(class 1) > 0.5, or >= the model's threshold when it has one; K classes: the most
///     probable, the lowest index on ties);
///   - regressors: `variable` float `[N, 1]`.
/// Opsets: ai.onnx 19, ai.onnx.ml 3; IR version 9. The bytes depend only on the model, the
/// transform and the arguments (fixed node order and names, no timestamps).
public enum ONNXExporter {
    public static let irVersion: Int64 = 9
    public static let opset: Int64 = 19
    public static let mlOpset: Int64 = 3

    /// The serialized ModelProto.
    /// - Parameters:
    ///   - classes: class names by class index (classifiers); ignored for regressors.
    ///   - threshold: nil: class 1 iff P(class 1) > 0.5; t: class 1 iff P(class 1) >= t
    ///     (binary models only; the contract's decision rule).
    ///   - graphName: the graph's name, e.g. `model:churn`.
    ///   - producerVersion: mlbuild's version.
    public static func export(
        model: TrainedModel, transform: FittedTransform, classes: [String]?, threshold: Double? = nil,
        graphName: String, producerVersion: String
    ) throws -> [UInt8] {
        let proto = try modelProto(
            model: model, transform: transform, classes: classes, threshold: threshold, graphName: graphName,
            producerVersion: producerVersion)
        do {
            return Array(try proto.serializedBytes() as [UInt8])
        } catch {
            throw ONNXExportError("cannot serialize the ONNX model: \(error)")
        }
    }

    static func modelProto(
        model: TrainedModel, transform: FittedTransform, classes: [String]?, threshold: Double?,
        graphName: String, producerVersion: String
    ) throws -> Onnx_ModelProto {
        let problems = model.problems()
        if let first = problems.first { throw ONNXExportError("the model cannot be exported: \(first)") }
        guard model.featureCount == transform.featureNames.count else {
            throw ONNXExportError("the model reads \(model.featureCount) features but the transform makes \(transform.featureNames.count)")
        }
        return try modelProto(
            scores: Scores(model), task: model.task, algorithm: model.algorithm, transform: transform, classes: classes,
            threshold: threshold, graphName: graphName, producerVersion: producerVersion)
    }

    /// The model from its scores (what the tests call for score shapes no trainer makes yet).
    static func modelProto(
        scores: Scores, task: TrainingTask, algorithm: String, transform: FittedTransform, classes: [String]?, threshold: Double?,
        graphName: String, producerVersion: String
    ) throws -> Onnx_ModelProto {
        var graph = GraphBuilder()
        let (inputs, features) = try TransformGraph.build(transform, into: &graph)
        var outputs: [Onnx_ValueInfoProto] = []
        switch task {
        case .regression:
            scores.addRegression(features: features, output: "variable", into: &graph)
            outputs.append(valueInfo("variable", .float, [nil, 1], doc: "the predicted value"))
        case .classification:
            let names = classes ?? ["0", "1"]
            guard names.count == scores.classCount else {
                throw ONNXExportError("the model has \(scores.classCount) classes but \(names.count) class names were given")
            }
            let raw = scores.addClassScores(features: features, into: &graph)
            OutputGraph.classify(raw: raw, classes: names, threshold: threshold, into: &graph)
            outputs.append(valueInfo("label", .string, [nil], doc: "the predicted class, as mlbuild predict prints it"))
            outputs.append(valueInfo(
                "probabilities", .float, [nil, names.count],
                doc: "P(class k) in column k; classes: \(names.joined(separator: ", "))"))
        }
        var g = Onnx_GraphProto()
        g.name = graphName
        g.node = graph.nodes
        g.initializer = graph.initializers
        g.input = inputs.map { valueInfo($0.name, $0.isText ? .string : .double, [nil, 1], doc: $0.doc) }
        g.output = outputs
        g.docString = "mlbuild \(algorithm) (\(task.rawValue)) on raw columns: the fitted transform, then the model"

        var proto = Onnx_ModelProto()
        proto.irVersion = irVersion
        proto.producerName = "mlbuild"
        proto.producerVersion = producerVersion
        proto.graph = g
        proto.opsetImport = [opsetID("", opset), opsetID(GraphBuilder.mlDomain, mlOpset)]
        proto.metadataProps = metadata(algorithm: algorithm, task: task, classes: task == .classification ? (classes ?? ["0", "1"]) : nil, threshold: threshold)
        return proto
    }

    /// Sorted by key. Read by tools that show model metadata (Netron, onnxruntime's modelmeta).
    private static func metadata(algorithm: String, task: TrainingTask, classes: [String]?, threshold: Double?) -> [Onnx_StringStringEntryProto] {
        var entries: [(String, String)] = [("mlbuild.algorithm", algorithm), ("mlbuild.task", task.rawValue)]
        if let classes {
            entries.append(("mlbuild.classes", String(decoding: CanonicalJSON.serialize(.array(classes.map { .string($0) })), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
            if classes.count == 2 {
                entries.append(("mlbuild.decision", threshold.map { "P(\(classes[1])) >= \(CanonicalJSON.format($0))" } ?? "P(\(classes[1])) > 0.5"))
            }
        }
        return entries.sorted { $0.0 < $1.0 }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
    }

    private static func opsetID(_ domain: String, _ version: Int64) -> Onnx_OperatorSetIdProto {
        var id = Onnx_OperatorSetIdProto()
        id.domain = domain
        id.version = version
        return id
    }

    /// A tensor value: element type and shape (nil = the symbolic batch dimension `N`).
    static func valueInfo(_ name: String, _ type: Onnx_TensorProto.DataType, _ shape: [Int?], doc: String) -> Onnx_ValueInfoProto {
        var tensorShape = Onnx_TensorShapeProto()
        tensorShape.dim = shape.map { size in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let size { dim.dimValue = Int64(size) } else { dim.dimParam = "N" }
            return dim
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(type.rawValue)
        tensor.shape = tensorShape
        var typeProto = Onnx_TypeProto()
        typeProto.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = typeProto
        info.docString = doc
        return info
    }
}

/// A model reduced to what its ONNX scores need: linear weights or trees, per target.
struct Scores {
    enum Kind {
        case linear(coefficients: [Double], intercepts: [Double])
        case trees([RegressionTree], baselines: [Double])
    }

    var kind: Kind
    /// 2 for binary classifiers (one raw score), K for K classes, 0 for regressors.
    var classCount: Int

    init(kind: Kind, classCount: Int) {
        self.kind = kind
        self.classCount = classCount
    }

    init(_ model: TrainedModel) throws {
        switch model {
        case let .logisticRegression(m):
            kind = .linear(coefficients: m.coefficients, intercepts: [m.intercept])
            classCount = 2
        case let .multinomialLogisticRegression(m):
            // K × d row-major, row k = class k: LinearClassifier's own layout (class-major).
            kind = .linear(coefficients: m.coefficients, intercepts: m.intercepts)
            classCount = m.classCount
        case let .linearRegression(m):
            kind = .linear(coefficients: m.coefficients, intercepts: [m.intercept])
            classCount = 0
        case let .gradientBoosting(m):
            // An ensemble with no trees (early stopping can keep none) is its baselines: one
            // leaf of 0, since the tree-ensemble operators need a node.
            let trees = m.trees.isEmpty ? [RegressionTree(nodes: [.leaf(value: 0)])] : m.trees
            if m.isMulticlass {
                kind = .trees(trees, baselines: m.baselines)
                classCount = m.classCount
            } else {
                kind = .trees(trees, baselines: [m.baseline])
                classCount = m.task == .classification ? 2 : 0
            }
        }
    }

    /// A regressor's prediction, `[N, 1]`, named `output`.
    func addRegression(features: String, output: String, into graph: inout GraphBuilder) {
        switch kind {
        case let .linear(coefficients, intercepts):
            _ = ModelGraph.linearRegressor(features: features, coefficients: coefficients, intercepts: intercepts, output: output, into: &graph)
        case let .trees(trees, baselines):
            _ = ModelGraph.treeRegressor(features: features, trees: trees, baselines: baselines, output: output, into: &graph)
        }
    }

    /// A classifier's raw scores: `[N, 1]` (binary: the log-odds of class 1) or `[N, K]`.
    func addClassScores(features: String, into graph: inout GraphBuilder) -> String {
        switch kind {
        case let .linear(coefficients, intercepts):
            ModelGraph.linearClassifier(
                features: features, coefficients: coefficients, intercepts: intercepts, classCount: classCount, into: &graph)
        case let .trees(trees, baselines):
            ModelGraph.treeClassifier(features: features, trees: trees, baselines: baselines, classCount: classCount, into: &graph)
        }
    }
}
