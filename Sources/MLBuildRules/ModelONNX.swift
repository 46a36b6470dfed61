import MLBuildONNX

/// A model artifact as ONNX bytes (`mlbuild export --format onnx`, and `formats = onnx` on a model
/// target, which writes `build/model/NAME/model.onnx`): the code both share, so they agree.
public enum ModelONNX {
    public static let fileName = "model.onnx"
    /// What a model target's `formats` key accepts; `json` (model.json) is always written.
    public static let formats = ["json", "onnx"]

    /// - Parameter graphName: the graph's name, `model:NAME`.
    public static func bytes(of artifact: ModelArtifact, graphName: String) throws -> [UInt8] {
        if let pseudonymized = artifact.transform.pseudonymized {
            throw ONNXExportError("column '\(pseudonymized.columns[0])' was pseudonymized by the features target: an ONNX graph "
                                  + "cannot compute its HMAC-SHA-256 tokens from raw values (pseudonymize it on the dataset instead)")
        }
        return try ONNXExporter.export(
            model: artifact.model, transform: artifact.transform,
            classes: artifact.task == .classification ? artifact.classes : nil,
            threshold: artifact.task == .classification ? artifact.decisionThreshold : nil, graphName: graphName, producerVersion: MLBuildRulesVersion.current)
    }
}
