import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine

/// `build/exp/<id>/exp.json`, written by `exp run` for each variant and read by `exp show` and
/// `exp apply`. Canonical JSON (sorted keys), no clock, host or absolute path:
///
///     {"id": "exp-1a2b3c4d",
///      "parameters": {"model:churn.l2": "0.1"},
///      "targets": {"features:churn": {"status": "fresh"},
///                  "model:churn": {"status": "built", "metrics": {"auc": 0.84, …}}}}
///
/// `status` is the variant build's word for the target (fresh, restored, built, failed,
/// skipped); `metrics` are the numbers of the model's `metrics.json` (the confusion matrix left out).
struct ExperimentRecord: Sendable {
    static let directory = "build/exp"
    static let fileName = "exp.json"

    struct Target: Sendable {
        var status: String
        var metrics: [String: Double]?
    }

    var id: String
    var parameters: [String: String]
    var targets: [String: Target]

    var succeeded: Bool { targets.values.allSatisfy { $0.status != "failed" && $0.status != "skipped" } }

    static func path(of id: String) -> String { "\(directory)/\(id)/\(fileName)" }

    var json: JSONValue {
        var targets: [String: JSONValue] = [:]
        for (name, target) in self.targets {
            var members: [String: JSONValue] = ["status": .string(target.status)]
            if let metrics = target.metrics { members["metrics"] = .object(metrics.mapValues { .number($0) }) }
            targets[name] = .object(members)
        }
        return .object(["id": .string(id), "parameters": .object(parameters.mapValues { .string($0) }), "targets": .object(targets)])
    }

    func write() throws {
        try FileSystem.writeAtomically(Array(CanonicalJSON.serialize(json)), to: Self.path(of: id))
    }

    /// The numeric metrics of a model's `metrics.json` at `path`; nil when it cannot be read.
    static func metrics(at path: String) -> [String: Double]? {
        HistoryRecorder.readMetrics(at: path).map { list in
            Dictionary(list.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        }
    }

    static func read(_ id: String) throws -> ExperimentRecord {
        let path = path(of: id)
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError.message("cannot read \(path)") }
        guard case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: data),
              case .string(let recordedID)? = root["id"], case .object(let parameters)? = root["parameters"],
              case .object(let targets)? = root["targets"] else {
            throw CLIError.message("\(path) is not an exp.json written by mlbuild exp run")
        }
        var record = ExperimentRecord(id: recordedID, parameters: [:], targets: [:])
        for (name, value) in parameters { if case .string(let text) = value { record.parameters[name] = text } }
        for (name, value) in targets {
            guard case .object(let members) = value, case .string(let status)? = members["status"] else { continue }
            var metrics: [String: Double]?
            if case .object(let numbers)? = members["metrics"] {
                metrics = [:]
                for (metric, number) in numbers { if case .number(let x) = number { metrics?[metric] = x } }
            }
            record.targets[name] = Target(status: status, metrics: metrics)
        }
        return record
    }

    /// The ids of every recorded variant, sorted.
    static func knownIDs() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("exp-") && FileSystem.exists(path(of: $0)) }.sorted()
    }
}
