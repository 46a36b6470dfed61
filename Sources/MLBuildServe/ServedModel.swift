import Crypto
import Foundation
import MLBuildDatasets
import MLBuildRules

/// A model the server answers for: its artifact, loaded and verified by the same code
/// `mlbuild predict` reads a model.json with, and the SHA-256 of the exact bytes it came from
/// (what `/v1/models` and every prediction report as `model_digest`, so a client can tell which
/// build answered).
public struct ServedModel: Sendable {
    public var name: String
    /// The path as the user gave it (shown in errors and in `/v1/models`).
    public var path: String
    public var artifact: ModelArtifact
    /// `sha256:<hex>` of model.json's bytes.
    public var digest: String

    public init(name: String, path: String, artifact: ModelArtifact, digest: String) {
        self.name = name
        self.path = path
        self.artifact = artifact
        self.digest = digest
    }

    /// Reads `path` once, digests those bytes and decodes the same bytes (no second read that a
    /// concurrent rebuild could change in between).
    public static func load(name: String, path: String) throws -> ServedModel {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelArtifactError("\(path): cannot read: \(error.localizedDescription)")
        }
        let digest = "sha256:" + SHA256.hash(data: data).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        let artifact = try ModelArtifact.decode(data, path: path)
        return ServedModel(name: name, path: path, artifact: artifact, digest: digest)
    }

    /// `/v1/models` entry: what a client needs to build a request.
    var summary: JSONValue {
        let transform = artifact.transform
        let used = Set(transform.steps.map(\.column))
        let columns: [JSONValue] = transform.schema.columns.map { column in
            // Same roles as model.json's `input.columns` (ModelArtifact.document).
            let role: String
            if transform.idColumns.contains(column.name) {
                role = "id"
            } else if column.name == transform.label.column {
                role = "label"
            } else if used.contains(column.name) {
                role = "feature"
            } else {
                role = "ignored"
            }
            var object: [String: JSONValue] = [
                "name": .string(column.name), "type": .string(column.type.name), "nullable": .bool(column.nullable),
                "role": .string(role),
            ]
            if case .category(let values) = column.type { object["categories"] = .array(values.map { .string($0) }) }
            return .object(object)
        }
        var object: [String: JSONValue] = [
            "name": .string(name),
            "digest": .string(digest),
            "algorithm": .string(artifact.model.algorithm),
            "task": .string(artifact.task.rawValue),
            "input_columns": .array(columns),
            "output_columns": .array(artifact.outputColumns.map { .string($0) }),
        ]
        if artifact.task == .classification { object["classes"] = .array(artifact.classes.map { .string($0) }) }
        return .object(object)
    }
}
