import Crypto
import Foundation
import MLBuildDatasets
import MLBuildRules

/// A model the server answers for: its artifact, loaded and verified by the same code
/// `mlbuild predict` reads a model.json with, and the SHA-256 of the exact bytes it came from
/// (what `/v1/models` and every prediction report as `model_digest`, so a client can tell which
/// build answered). A value: a reload makes a new one and swaps it in (`ModelRegistry`), so a
/// request in flight keeps the model it started with.
public struct ServedModel: Sendable {
    public var name: String
    /// The path as the user gave it (shown in errors and logs).
    public var path: String
    public let artifact: ModelArtifact
    /// `artifact.transform`'s row mapper, made (and the transform checked) once at load.
    public let mapper: RawRowMapper
    /// The transform's schema columns, as JSON request keys are matched against them.
    let rowColumns: JSONRowColumns
    /// `sha256:<hex>` of model.json's bytes.
    public var digest: String
    /// model.json's `metrics` and `lineage` members as stored (already covered by `digest`).
    public var metrics: JSONValue
    public var lineage: JSONValue
    /// metrics.json beside model.json, when there is one that reads: gates and row counts.
    public var evaluation: JSONValue?

    public init(name: String, path: String, artifact: ModelArtifact, digest: String,
                metrics: JSONValue = .null, lineage: JSONValue = .null, evaluation: JSONValue? = nil) {
        self.name = name
        self.path = path
        self.artifact = artifact
        self.mapper = RawRowMapper(transform: artifact.transform)
        self.rowColumns = JSONRowColumns(artifact.transform.schema.columns.map(\.name))
        self.digest = digest
        self.metrics = metrics
        self.lineage = lineage
        self.evaluation = evaluation
    }

    /// Reads the file once, digests those bytes, checks them against every expected digest, then
    /// decodes the same bytes (no second read that a concurrent rebuild could change in between).
    /// Every refusal names the file and the digest that was read (and the one expected).
    public static func load(_ source: ModelSource) throws -> ServedModel {
        let path = source.path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelLoadError("\(path): cannot read: \(error.localizedDescription)")
        }
        let digest = digestOf(data)
        let expected: [DigestExpectation]
        do {
            expected = try source.expectations()
        } catch let error as ModelLoadError {
            throw ModelLoadError("\(error.description) (the file's digest is \(digest))")
        }
        for expectation in expected where expectation.digest != digest {
            throw ModelLoadError(
                "\(path): digest \(digest) does not match \(expectation.digest) expected by \(expectation.source); not serving it")
        }
        let artifact: ModelArtifact
        do {
            artifact = try ModelArtifact.decode(data, path: path)
        } catch let error as ModelArtifactError {
            throw ModelLoadError("\(error.description)\n  (\(path) has digest \(digest))")
        }
        var metrics = JSONValue.null, lineage = JSONValue.null
        if case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: data) {
            metrics = members["metrics"] ?? .null
            lineage = members["lineage"] ?? .null
        }
        let model = ServedModel(name: source.name, path: path, artifact: artifact, digest: digest,
                                metrics: metrics, lineage: lineage, evaluation: evaluation(besides: path))
        // A model fitted on tokens cannot answer a raw row without the key: refused at load, not
        // at every request.
        if let missing = model.mapper.missingKey { throw ModelLoadError("\(path): \(missing)") }
        return model
    }

    static func digestOf(_ data: Data) -> String {
        "sha256:" + SHA256.hash(data: data).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// `fairness`, `gates`, `test_rows` and `train_rows` of the metrics.json next to model.json (written
    /// with it by the model rule), or nil when there is none. Informational: not digest-checked.
    static func evaluation(besides path: String) -> JSONValue? {
        let url = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("metrics.json")
        guard let data = try? Data(contentsOf: url),
              case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: data) else { return nil }
        var kept: [String: JSONValue] = [:]
        for key in ["fairness", "gates", "test_rows", "train_rows"] { kept[key] = members[key] }
        return kept.isEmpty ? nil : .object(kept)
    }

    /// `/v1/models` entry: what a client needs to build a request, and what it is talking to.
    var summary: JSONValue {
        let columns = ModelArtifact.inputSignature(of: artifact.transform)
        var object: [String: JSONValue] = [
            "name": .string(name),
            "digest": .string(digest),
            "algorithm": .string(artifact.model.algorithm),
            "task": .string(artifact.task.rawValue),
            "input_columns": .array(columns),
            "output_columns": .array(artifact.outputColumns.map { .string($0) }),
            "metrics": metrics,
            "lineage": lineageSummary,
        ]
        if artifact.task == .classification { object["classes"] = .array(artifact.classes.map { .string($0) }) }
        if artifact.task == .classification, !artifact.isMulticlass {
            object["threshold"] = .number(artifact.threshold)
            if let method = artifact.thresholdMethod { object["threshold_method"] = .string(method) }
        }
        // `fairness = …` models: per column and group, on the test split (its own member, as
        // metrics.json has it).
        if case .object(var members)? = evaluation {
            if let fairness = members.removeValue(forKey: "fairness") { object["fairness"] = fairness }
            object["evaluation"] = .object(members)
        }
        return .object(object)
    }

    /// model.json's lineage without the per-file lists: who built it, under which key, from
    /// which features and datasets (their output digests).
    var lineageSummary: JSONValue {
        guard case .object(let l) = lineage else { return .null }
        var summary: [String: JSONValue] = [:]
        for key in ["target", "action_key", "seed", "mlbuild_version"] { summary[key] = l[key] }
        func upstream(_ value: JSONValue) -> JSONValue {
            guard case .object(let u) = value else { return .null }
            var kept: [String: JSONValue] = [:]
            for key in ["target", "role", "outputs_digest"] { kept[key] = u[key] }
            return .object(kept)
        }
        if let features = l["features"] { summary["features"] = upstream(features) }
        if case .array(let datasets)? = l["datasets"] { summary["datasets"] = .array(datasets.map(upstream)) }
        return .object(summary)
    }
}
