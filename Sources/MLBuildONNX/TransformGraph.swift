import MLBuildDatasets

/// The fitted transform (`transform.json`) as ONNX nodes: one graph input per feature column,
/// one block of feature columns per step, concatenated in the transform's order into a
/// `[N, d]` double tensor: the matrix `mlbuild predict` hands its model.
///
/// Everything runs in double, with the operations `FittedTransform` itself does, in its order
/// (impute → log1p → bucket one-hot | (x − center) / scale), so scaled features are the same
/// doubles as mlbuild's (Sub and Div are correctly rounded in both). Two differences, both in
/// the README: log1p is `Log(x + 1)` (ONNX has no Log1p; the answers differ in the last bits),
/// and a row mlbuild rejects (a null without impute, a value outside a category column's
/// declared list, log1p of a value <= −1) is scored anyway, since a graph cannot refuse a row.
enum TransformGraph {
    /// How one raw column is fed to the graph.
    struct Input {
        var name: String
        /// true: a string tensor `[N, 1]`; false: a double tensor `[N, 1]`.
        var isText: Bool
        var doc: String
    }

    /// Adds the transform's nodes; returns the graph inputs and the name of the `[N, d]` features.
    static func build(_ transform: FittedTransform, into graph: inout GraphBuilder) throws -> (inputs: [Input], features: String) {
        var inputs: [Input] = []
        var blocks: [String] = []
        for step in transform.steps {
            let column = step.column
            let prefix = "transform/\(column)"
            switch step.kind {
            case "one_hot":
                guard let categories = step.categories, !categories.isEmpty else {
                    throw ONNXExportError("transform step '\(column)': one_hot without categories")
                }
                inputs.append(Input(
                    name: column, isText: true,
                    doc: "string column '\(column)': one cell per row; \"\" is null\(step.imputeText.map { " (imputed as '\($0)')" } ?? ""); a value outside the categories is all zeros"))
                var text = column
                if let impute = step.imputeText {
                    let empty = graph.constant("\(prefix)/null", strings: [""], shape: [])
                    let isNull = graph.op("Equal", [text, empty], prefix: prefix)
                    let replacement = graph.constant("\(prefix)/impute", strings: [impute], shape: [])
                    text = graph.op("Where", [isNull, replacement, text], prefix: prefix)
                }
                // [N, 1] == [1, C] broadcasts to one indicator per category; unknown → all false.
                let list = graph.constant("\(prefix)/categories", strings: categories, shape: [1, categories.count])
                let hits = graph.op("Equal", [text, list], prefix: prefix)
                blocks.append(graph.op("Cast", [hits], prefix: prefix, attributes: [Attribute.int("to", Int(Onnx_TensorProto.DataType.double.rawValue))]))
            case "numeric", "bool", "buckets":
                let kind = step.kind == "bool" ? "bool (1 or 0)" : "number"
                inputs.append(Input(
                    name: column, isText: false,
                    doc: "\(kind) column '\(column)': one cell per row; NaN is null\(step.imputeValue.map { " (imputed as \(CanonicalJSON.format($0)))" } ?? "")"))
                var x = column
                if let impute = step.imputeValue {
                    let isNull = graph.op("IsNaN", [x], prefix: prefix)
                    let replacement = graph.constant("\(prefix)/impute", doubles: [impute], shape: [])
                    x = graph.op("Where", [isNull, replacement, x], prefix: prefix)
                }
                if step.log1p {
                    let one = graph.constant("\(prefix)/one", doubles: [1], shape: [])
                    x = graph.op("Log", [graph.op("Add", [x, one], prefix: prefix)], prefix: prefix)
                }
                if step.kind == "buckets" {
                    blocks.append(buckets(x, boundaries: step.boundaries ?? [], prefix: prefix, into: &graph))
                } else if step.kind == "numeric", let center = step.center, let scale = step.scale {
                    let c = graph.constant("\(prefix)/center", doubles: [center], shape: [])
                    let s = graph.constant("\(prefix)/scale", doubles: [scale], shape: [])
                    blocks.append(graph.op("Div", [graph.op("Sub", [x, c], prefix: prefix), s], prefix: prefix))
                } else {
                    blocks.append(x)
                }
            default:
                throw ONNXExportError("transform step '\(column)': unknown kind '\(step.kind)'")
            }
        }
        guard !blocks.isEmpty else { throw ONNXExportError("the transform makes no features; nothing to export") }
        let features = blocks.count == 1
            ? blocks[0]
            : graph.op("Concat", blocks, prefix: "transform", attributes: [Attribute.int("axis", 1)])
        return (inputs, features)
    }

    /// Bucket k = #{boundaries <= x} as a one-hot `[N, B + 1]` block (FittedTransform's rule).
    private static func buckets(_ x: String, boundaries: [Double], prefix: String, into graph: inout GraphBuilder) -> String {
        let bounds = graph.constant("\(prefix)/boundaries", doubles: boundaries, shape: [1, boundaries.count])
        let reached = graph.op("GreaterOrEqual", [x, bounds], prefix: prefix)
        let counted = graph.op("Cast", [reached], prefix: prefix, attributes: [Attribute.int("to", Int(Onnx_TensorProto.DataType.int64.rawValue))])
        let axis = graph.constant("\(prefix)/axis", int64s: [1], shape: [1])
        let index = graph.op("ReduceSum", [counted, axis], prefix: prefix, attributes: [Attribute.int("keepdims", 1)])
        // index [N, 1] == [0, 1, …, B] as [1, B + 1]: the one-hot row (onnxruntime's OneHot has
        // no double output, so the same Equal + Cast as a category one-hot).
        let positions = graph.constant("\(prefix)/buckets", int64s: (0 ... boundaries.count).map(Int64.init), shape: [1, boundaries.count + 1])
        let hits = graph.op("Equal", [index, positions], prefix: prefix)
        return graph.op("Cast", [hits], prefix: prefix, attributes: [Attribute.int("to", Int(Onnx_TensorProto.DataType.double.rawValue))])
    }
}
