import Foundation

/// Collects the nodes and constants of one ONNX graph in the order they are added.
///
/// Names are made from a prefix the caller chooses (the column or stage they belong to) and a
/// counter, so the same model always gives the same names in the same order: the serialized
/// bytes depend on nothing but the model.
struct GraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var counter = 0

    static let mlDomain = "ai.onnx.ml"

    /// A fresh value name: `prefix/N`, N counting every name this graph has made.
    mutating func name(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)/\(counter)"
    }

    /// Adds a node and returns the names of its outputs (`outputs` of them, or the names given).
    @discardableResult
    mutating func node(
        _ op: String, _ inputs: [String], prefix: String, domain: String = "", outputs: Int = 1,
        named outputNames: [String]? = nil, attributes: [Onnx_AttributeProto] = []
    ) -> [String] {
        let made = outputNames ?? (0 ..< outputs).map { _ in name("\(prefix)/\(op)") }
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = name("\(prefix)/\(op)/node")
        node.input = inputs
        node.output = made
        if !domain.isEmpty { node.domain = domain }
        node.attribute = attributes
        nodes.append(node)
        return made
    }

    /// One-output form of `node`.
    mutating func op(
        _ op: String, _ inputs: [String], prefix: String, domain: String = "", attributes: [Onnx_AttributeProto] = []
    ) -> String {
        node(op, inputs, prefix: prefix, domain: domain, attributes: attributes)[0]
    }

    /// A constant tensor (a graph initializer); returns its name.
    mutating func constant(_ prefix: String, doubles: [Double], shape: [Int]) -> String {
        constant(prefix, .double, shape: shape) { $0.doubleData = doubles }
    }

    mutating func constant(_ prefix: String, floats: [Float], shape: [Int]) -> String {
        constant(prefix, .float, shape: shape) { $0.floatData = floats }
    }

    mutating func constant(_ prefix: String, int64s: [Int64], shape: [Int]) -> String {
        constant(prefix, .int64, shape: shape) { $0.int64Data = int64s }
    }

    mutating func constant(_ prefix: String, strings: [String], shape: [Int]) -> String {
        constant(prefix, .string, shape: shape) { $0.stringData = strings.map { Data($0.utf8) } }
    }

    /// An initializer of `type` and `shape` whose values `fill` sets.
    private mutating func constant(
        _ prefix: String, _ type: Onnx_TensorProto.DataType, shape: [Int], fill: (inout Onnx_TensorProto) -> Void
    ) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = name(prefix)
        tensor.dataType = Int32(type.rawValue)
        tensor.dims = shape.map(Int64.init)
        fill(&tensor)
        initializers.append(tensor)
        return tensor.name
    }
}

/// Attribute constructors (the ONNX attribute kinds mlbuild's graphs use).
enum Attribute {
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }

    static func string(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }

    static func floats(_ name: String, _ values: [Float]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .floats
        a.floats = values
        return a
    }

    static func strings(_ name: String, _ values: [String]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .strings
        a.strings = values.map { Data($0.utf8) }
        return a
    }

    /// A double tensor attribute (the `*_as_tensor` attributes of ai.onnx.ml opset 3).
    static func doubles(_ name: String, _ values: [Double]) -> Onnx_AttributeProto {
        var tensor = Onnx_TensorProto()
        tensor.dataType = Int32(Onnx_TensorProto.DataType.double.rawValue)
        tensor.dims = [Int64(values.count)]
        tensor.doubleData = values
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .tensor
        a.t = tensor
        return a
    }
}
