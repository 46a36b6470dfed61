/// Raw scores → `probabilities` and `label`, as mlbuild turns them into a prediction.
enum OutputGraph {
    /// `raw` is `[N, 1]` (binary: the log-odds of class 1) or `[N, K]` (K classes).
    static func classify(raw: String, classes: [String], threshold: Double?, into graph: inout GraphBuilder) {
        let prefix = "output"
        let index: String
        if classes.count == 2 {
            let p1 = graph.op("Sigmoid", [raw], prefix: prefix)
            let one = graph.constant("\(prefix)/one", floats: [1], shape: [])
            let p0 = graph.op("Sub", [one, p1], prefix: prefix)
            graph.node("Concat", [p0, p1], prefix: prefix, named: ["probabilities"], attributes: [Attribute.int("axis", 1)])
            // mlbuild's rule: P(class 1) > 0.5 by default, >= t for a chosen threshold t.
            let cut = graph.constant("\(prefix)/threshold", floats: [Float(threshold ?? 0.5)], shape: [])
            let decided = graph.op(threshold == nil ? "Greater" : "GreaterOrEqual", [p1, cut], prefix: prefix)
            index = graph.op("Cast", [decided], prefix: prefix, attributes: [Attribute.int("to", Int(Onnx_TensorProto.DataType.int64.rawValue))])
        } else {
            let probabilities = graph.node("Softmax", [raw], prefix: prefix, named: ["probabilities"], attributes: [Attribute.int("axis", 1)])[0]
            // keepdims 1 gives [N, 1]; select_last_index 0: the lowest index wins a tie.
            index = graph.op("ArgMax", [probabilities], prefix: prefix, attributes: [
                Attribute.int("axis", 1), Attribute.int("keepdims", 1), Attribute.int("select_last_index", 0),
            ])
        }
        let names = graph.constant("\(prefix)/classes", strings: classes, shape: [classes.count])
        let flat = graph.constant("\(prefix)/flat", int64s: [-1], shape: [1])
        let indices = graph.op("Reshape", [index, flat], prefix: prefix)
        graph.node("Gather", [names, indices], prefix: prefix, named: ["label"], attributes: [Attribute.int("axis", 0)])
    }
}
