import Foundation
import MLBuildDatasets
import MLBuildTraining

/// `build/model/NAME/model.json`: a trained model that describes itself — everything
/// `mlbuild predict` needs (the fitted transform, the model) and everything an auditor needs
/// (hyper-parameters, metrics, lineage). Canonical JSON (keys sorted, fixed number format), so
/// equal builds give equal bytes. Documented in docs/formats.md ("model.json").
///
///     {"format": "mlbuild-model", "format_version": 1,
///      "algorithm": "logistic_regression", "hyperparameters": {NAME: number | null},
///      "task": "classification" | "regression",
///      "model": <TrainedModel JSON: {"algorithm", "model": {...}}>,
///      "transform": <the features target's transform.json, embedded>,
///      "input": {"columns": [{"name", "type", "categories"?, "nullable", "role"}], "id_column": NAME | null,
///                "label": NAME},
///      "output": {"columns": [ID?, "prediction", "probability"?], "classes": [...]?, "threshold": 0.5?},
///      "metrics": {NAME: number, "confusion_matrix": [[tn, fp], [fn, tp]]?},
///      "lineage": {...}}
public struct ModelArtifact: Sendable {
    public static let format = "mlbuild-model"
    public static let formatVersion = 1
    /// A classifier predicts `classes[1]` when the probability of class 1 is above this.
    public static let threshold = 0.5

    public var task: TrainingTask
    public var model: TrainedModel
    public var transform: FittedTransform

    public init(task: TrainingTask, model: TrainedModel, transform: FittedTransform) {
        self.task = task
        self.model = model
        self.transform = transform
    }

    /// The id column kept with predictions (the first `id` column of the schema), or nil.
    public var idColumn: String? { transform.idColumns.first }

    /// Class names by label value (classification), from the label's encoding.
    public var classes: [String] {
        transform.label.classes ?? ["0", "1"]
    }

    public var outputColumns: [String] {
        (idColumn.map { [$0] } ?? []) + ["prediction"] + (task == .classification ? ["probability"] : [])
    }

    // MARK: - Writing

    /// The whole document. `transformJSON` is transform.json's content as read (embedded as is).
    static func document(
        algorithm: String, hyperparameters: [(name: String, value: String)], task: TrainingTask,
        model: TrainedModel, transform: FittedTransform, transformJSON: JSONValue, metrics: JSONValue, lineage: JSONValue
    ) throws -> JSONValue {
        let modelJSON = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(model))
        var parameters: [String: JSONValue] = [:]
        for (name, text) in hyperparameters {
            parameters[name] = text == "none" ? .null : Double(text).map { .number($0) } ?? .string(text)
        }
        let artifact = ModelArtifact(task: task, model: model, transform: transform)
        let used = Set(transform.steps.map(\.column))
        let columns: [JSONValue] = transform.schema.columns.map { column in
            var object: [String: JSONValue] = [
                "name": .string(column.name), "type": .string(column.type.name), "nullable": .bool(column.nullable),
            ]
            if case .category(let values) = column.type { object["categories"] = .array(values.map { .string($0) }) }
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
            object["role"] = .string(role)
            return .object(object)
        }
        var output: [String: JSONValue] = ["columns": .array(artifact.outputColumns.map { .string($0) })]
        if task == .classification {
            output["classes"] = .array(artifact.classes.map { .string($0) })
            output["threshold"] = .number(threshold)
        }
        return .object([
            "format": .string(format),
            "format_version": .number(formatVersion),
            "algorithm": .string(algorithm),
            "hyperparameters": .object(parameters),
            "task": .string(task.rawValue),
            "model": modelJSON,
            "transform": transformJSON,
            "input": .object([
                "columns": .array(columns),
                "id_column": artifact.idColumn.map { .string($0) } ?? .null,
                "label": .string(transform.label.column),
            ]),
            "output": .object(output),
            "metrics": metrics,
            "lineage": lineage,
        ])
    }

    // MARK: - Reading

    private struct Envelope: Decodable {
        var format: String?
        var format_version: Int?
        var task: TrainingTask
        var model: TrainedModel
        var transform: FittedTransform
    }

    /// Reads a model.json; errors name the file.
    public static func read(from path: String) throws -> ModelArtifact {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelArtifactError("\(path): cannot read: \(error.localizedDescription)")
        }
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: data)
        } catch {
            throw ModelArtifactError("\(path): not a valid mlbuild model.json: \(error)")
        }
        guard envelope.format == format, let version = envelope.format_version else {
            throw ModelArtifactError("\(path): not an mlbuild model.json (no \"format\": \"\(format)\")")
        }
        guard version == formatVersion else {
            throw ModelArtifactError("\(path): model.json format version \(version) is not supported (this mlbuild reads version \(formatVersion))")
        }
        guard envelope.model.featureCount == envelope.transform.featureNames.count else {
            throw ModelArtifactError("\(path): the model expects \(envelope.model.featureCount) features but the transform makes \(envelope.transform.featureNames.count)")
        }
        return ModelArtifact(task: envelope.task, model: envelope.model, transform: envelope.transform)
    }
}

/// A model.json that cannot be used, or rows that cannot be scored; the message says why.
public struct ModelArtifactError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
