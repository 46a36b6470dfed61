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
///      "output": {"columns": [ID?, "prediction", "probability"? | "probability_<class>"…],
///                 "classes": [...]?, "threshold": 0.5?, "threshold_method": "fixed" | "max_f1"?},
///      "trees_kept": n?  (gradient boosting: boosting iterations kept, fewer with early stopping)
///      "metrics": {NAME: number, "confusion_matrix": [[tn, fp], [fn, tp]]?},
///      "lineage": {...}}
public struct ModelArtifact: Sendable {
    public static let format = "mlbuild-model"
    public static let formatVersion = 1
    /// A binary classifier without a `threshold` predicts `classes[1]` when the probability of
    /// class 1 is above this (scikit-learn's `predict`).
    public static let threshold = 0.5

    public var task: TrainingTask
    public var model: TrainedModel
    public var transform: FittedTransform
    /// The decision threshold of a binary classifier set by the Mlfile (`threshold = 0.35`, or
    /// chosen by `threshold = max_f1`): class 1 when the probability is at least this. nil: the
    /// default rule, above 0.5.
    public var decisionThreshold: Double?
    /// How `decisionThreshold` was set: `fixed` (a number in the Mlfile) or `max_f1`.
    public var thresholdMethod: String?

    public init(task: TrainingTask, model: TrainedModel, transform: FittedTransform,
                decisionThreshold: Double? = nil, thresholdMethod: String? = nil) {
        self.task = task
        self.model = model
        self.transform = transform
        self.decisionThreshold = decisionThreshold
        self.thresholdMethod = decisionThreshold == nil ? nil : (thresholdMethod ?? "fixed")
    }

    /// The id column kept with predictions (the first `id` column of the schema), or nil.
    public var idColumn: String? { transform.idColumns.first }

    /// Class names by label value (classification), from the label's encoding, else (a numeric
    /// label) the class numbers.
    public var classes: [String] {
        transform.label.classes ?? Self.numberedClasses(model.classCount ?? 2)
    }

    /// "0", "1", … "K−1": the classes of a numeric label.
    public static func numberedClasses(_ count: Int) -> [String] { (0 ..< count).map(String.init) }

    /// Whether this is a classifier of more than two classes (one probability per class).
    public var isMulticlass: Bool { task == .classification && (model.classCount ?? 2) > 2 }

    /// The threshold in force for a binary classifier (the default when the Mlfile set none).
    public var threshold: Double { decisionThreshold ?? Self.threshold }

    /// The class index a binary classifier predicts for the probability `p` of class 1.
    public func decide(_ p: Double) -> Int {
        if let decisionThreshold { return p >= decisionThreshold ? 1 : 0 }
        return p > Self.threshold ? 1 : 0
    }

    /// `probability_<class>` for each class of a multi-class model.
    public var probabilityColumns: [String] { classes.map { "probability_\($0)" } }

    public var outputColumns: [String] {
        let scores: [String]
        switch task {
        case .regression: scores = []
        case .classification:
            // A threshold the Mlfile set is recorded with every prediction it decided.
            scores = isMulticlass ? probabilityColumns : ["probability"] + (decisionThreshold == nil ? [] : ["threshold"])
        }
        return (idColumn.map { [$0] } ?? []) + ["prediction"] + scores
    }

    // MARK: - Writing

    /// model.json's `input.columns` (and `mlbuild serve`'s `/v1/models` input signature): each
    /// schema column with its type, nullability, categories and role (id, label, feature, ignored).
    public static func inputSignature(of transform: FittedTransform) -> [JSONValue] {
        let used = Set(transform.steps.map(\.column))
        return transform.schema.columns.map { column in
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
    }

    /// The whole document. `transformJSON` is transform.json's content as read (embedded as is).
    static func document(
        algorithm: String, hyperparameters: [(name: String, value: String)], task: TrainingTask,
        model: TrainedModel, transform: FittedTransform, transformJSON: JSONValue, metrics: JSONValue, lineage: JSONValue,
        decisionThreshold: Double? = nil, thresholdMethod: String? = nil
    ) throws -> JSONValue {
        let modelJSON = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(model))
        var parameters: [String: JSONValue] = [:]
        for (name, text) in hyperparameters {
            parameters[name] = text == "none" ? .null : text == "true" ? .bool(true) : text == "false" ? .bool(false)
                : Double(text).map { .number($0) } ?? .string(text)
        }
        let artifact = ModelArtifact(task: task, model: model, transform: transform,
                                     decisionThreshold: decisionThreshold, thresholdMethod: thresholdMethod)
        let columns = inputSignature(of: transform)
        var output: [String: JSONValue] = ["columns": .array(artifact.outputColumns.map { .string($0) })]
        if task == .classification {
            output["classes"] = .array(artifact.classes.map { .string($0) })
            if !artifact.isMulticlass {
                output["threshold"] = .number(artifact.threshold)
                if let method = artifact.thresholdMethod { output["threshold_method"] = .string(method) }
            }
        }
        var document: [String: JSONValue] = [
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
        ]
        if case .gradientBoosting(let booster) = model { document["trees_kept"] = .number(booster.iterations) }
        return .object(document)
    }

    // MARK: - Reading

    private struct Header: Decodable {
        var format: String?
        var format_version: Int?
    }

    private struct Envelope: Decodable {
        var algorithm: String?
        var task: TrainingTask
        var model: TrainedModel
        var transform: FittedTransform
        var input: JSONValue?
        var output: Output?

        struct Output: Decodable {
            var threshold: Double?
            var threshold_method: String?
            var raw: JSONValue

            init(from decoder: any Decoder) throws {
                raw = try JSONValue(from: decoder)
                let c = try decoder.container(keyedBy: Keys.self)
                threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
                threshold_method = try c.decodeIfPresent(String.self, forKey: .threshold_method)
            }

            enum Keys: String, CodingKey { case threshold, threshold_method }
        }
    }

    /// Reads and validates a model.json; errors name the file and the field at fault.
    public static func read(from path: String) throws -> ModelArtifact {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelArtifactError("\(path): cannot read: \(error.localizedDescription)")
        }
        return try decode(data, path: path)
    }

    /// Decodes and validates model.json bytes (`path` names the file in errors). Nothing is
    /// trusted that prediction reads: the format and version, every field's type, the embedded
    /// transform (`FittedTransform.problems`), the model's numbers (`TrainedModel.problems`), and
    /// that the three agree — transform width = feature names = model width, the task, the
    /// classes, and the `input`/`output` sections, which must describe this transform and model.
    public static func decode(_ data: Data, path: String) throws -> ModelArtifact {
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: data)
        } catch {
            throw ModelArtifactError("\(path): not an mlbuild model.json: \(DecodingFailure.describe(error, data: data))")
        }
        guard header.format == format, let version = header.format_version else {
            throw ModelArtifactError("\(path): not an mlbuild model.json (no \"format\": \"\(format)\" with a \"format_version\")")
        }
        guard version == formatVersion else {
            throw ModelArtifactError("\(path): model.json format version \(version) is not supported (this mlbuild reads version \(formatVersion))")
        }
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: data)
        } catch let error as TrainingError {
            // Thrown while decoding `model` (tree structure, unknown algorithm).
            throw invalid(path, ["model: \(error.description)"])
        } catch {
            throw invalid(path, [DecodingFailure.describe(error, data: data)])
        }
        var problems = envelope.transform.problems().map { "transform." + $0 }
        problems += envelope.model.problems().map { "model." + $0 }
        // A threshold other than the default is the Mlfile's, named by `threshold_method`.
        let method = envelope.output?.threshold_method
        let artifact = ModelArtifact(task: envelope.task, model: envelope.model, transform: envelope.transform,
                                     decisionThreshold: method == nil ? nil : envelope.output?.threshold, thresholdMethod: method)
        if let method, !["fixed", "max_f1"].contains(method) {
            problems.append("output.threshold_method: '\(method)' is not fixed or max_f1")
        }
        if let t = artifact.decisionThreshold, !(t > 0 && t < 1) {
            problems.append("output.threshold: \(t) is not a probability strictly between 0 and 1")
        }
        if let algorithm = envelope.algorithm, algorithm != envelope.model.algorithm {
            problems.append("algorithm: '\(algorithm)', but model.algorithm is '\(envelope.model.algorithm)'")
        }
        if envelope.task != envelope.model.task {
            problems.append("task: '\(envelope.task.rawValue)', but the \(envelope.model.algorithm) model is a \(envelope.model.task.rawValue) model")
        }
        let featureNames = envelope.transform.featureNames
        if envelope.model.featureCount != featureNames.count {
            problems.append("model: the model reads \(envelope.model.featureCount) features but transform.feature_names lists \(featureNames.count)")
        }
        if envelope.task == .classification, let classes = envelope.transform.label.classes, classes.count != (envelope.model.classCount ?? 2) {
            problems.append("transform.label.classes: \(classes.count) classes, but the model predicts \(envelope.model.classCount ?? 2)")
        }
        // `input` and `output` are derived from the transform and the task when the file is
        // written; a hand edit there changes nothing predict does, so it must not pass silently.
        if problems.isEmpty {
            let expected = try? document(
                algorithm: envelope.model.algorithm, hyperparameters: [], task: artifact.task, model: artifact.model,
                transform: artifact.transform, transformJSON: .null, metrics: .null, lineage: .null,
                decisionThreshold: artifact.decisionThreshold, thresholdMethod: artifact.thresholdMethod)
            if case .object(let members)? = expected {
                for key in ["input", "output"] {
                    let actual = key == "input" ? envelope.input : envelope.output?.raw
                    if let actual, let want = members[key], let difference = firstDifference(want, actual, path: key) {
                        problems.append(difference)
                    }
                }
            }
        }
        if !problems.isEmpty { throw invalid(path, problems) }
        return artifact
    }

    private static func invalid(_ path: String, _ problems: [String]) -> ModelArtifactError {
        let shown = problems.prefix(20).map { "  " + $0 }
        let more = problems.count > 20 ? ["  … and \(problems.count - 20) more"] : []
        return ModelArtifactError(
            (["\(path): invalid model.json (edited or corrupted? rebuild the model, or use a known-good copy):"] + shown + more)
                .joined(separator: "\n"))
    }

    /// Where `actual` first differs from `expected`, as `path: …`, or nil when they are equal.
    static func firstDifference(_ expected: JSONValue, _ actual: JSONValue, path: String) -> String? {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            for key in e.keys.sorted() {
                guard let value = a[key] else { return "\(path): missing field '\(key)'" }
                if let d = firstDifference(e[key] ?? .null, value, path: "\(path).\(key)") { return d }
            }
            if let extra = a.keys.sorted().first(where: { e[$0] == nil }) { return "\(path).\(extra): unexpected field" }
            return nil
        case (.array(let e), .array(let a)):
            for i in 0 ..< min(e.count, a.count) {
                if let d = firstDifference(e[i], a[i], path: "\(path)[\(i)]") { return d }
            }
            if e.count != a.count { return "\(path): \(a.count) items, but the model's transform makes \(e.count)" }
            return nil
        default:
            if expected == actual { return nil }
            return "\(path): \(shown(actual)), but the model's transform and task make \(shown(expected))"
        }
    }

    private static func shown(_ value: JSONValue) -> String {
        let text = String(decoding: CanonicalJSON.serialize(value), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.count > 120 ? String(text.prefix(120)) + "…" : text
    }
}

/// A model.json that cannot be used, or rows that cannot be scored; the message says why.
public struct ModelArtifactError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
