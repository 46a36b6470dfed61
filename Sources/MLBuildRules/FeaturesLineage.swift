import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine

/// `build/features/NAME/lineage.json`: which dataset outputs a features target was made from.
/// A `model` target sees only its direct dependency (the features), so the datasets' digests
/// travel through this file into model.json's lineage.
///
///     {"datasets": [{"files": {PATH: SHA256, …}, "outputs_digest": SHA256, "role": "train" | "test",
///                    "sources": [{"path": "data/churn.csv", "role": "source", "sha256": HEX}, …],
///                    "target": "dataset:NAME"}, …],
///      "version": 1}
///
/// `outputs_digest` is the dataset's output-manifest digest (what dependents hash into their
/// action keys); `files` are its output files' content digests by workspace-relative path.
struct FeaturesLineage {
    static let fileName = "lineage.json"

    var datasets: [JSONValue]

    init(context: RuleContext, dataset: TargetReference, holdout: TargetReference?) throws {
        var datasets: [JSONValue] = []
        for (reference, role) in [(dataset, "train")] + (holdout.map { [($0, "test")] } ?? []) {
            guard let result = context.dependencies[reference] else {
                throw RuleFailure("internal: \(context.target) has no result for its dependency \(reference)")
            }
            datasets.append(Self.describe(reference, result, role: role))
        }
        self.datasets = datasets
    }

    /// One dependency's digests as a JSON object.
    static func describe(_ reference: TargetReference, _ result: ActionResult, role: String?) -> JSONValue {
        var files: [String: JSONValue] = [:]
        for output in result.outputs { files[output.path] = .string(output.digest?.hex ?? "") }
        var object: [String: JSONValue] = [
            "target": .string(reference.description),
            "outputs_digest": .string(result.manifestDigest.hex),
            "files": .object(files),
        ]
        if let role { object["role"] = .string(role) }
        // A dataset's source files (its lineage.json), so that a model names the bytes it came from.
        if let lineage = result.outputs.first(where: { $0.path.hasSuffix("/\(DatasetRule.lineageFileName)") && reference.kind == DatasetRule.kind }),
           let bytes = try? FileSystem.readBytes(lineage.path),
           case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), let sources = fields["sources"] {
            object["sources"] = sources
        }
        return .object(object)
    }

    func write(to url: URL) throws {
        try AtomicFile.write(CanonicalJSON.serialize(.object(["datasets": .array(datasets), "version": .number(1)])), to: url)
    }
}
