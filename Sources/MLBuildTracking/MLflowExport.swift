import Foundation
import MLBuildCore
import MLBuildHistory

/// Logs the model targets of one history run to MLflow: one MLflow run per model target, in one
/// experiment per Mlfile.
///
/// What an MLflow run holds (docs/experiments.md, "MLflow"):
/// - `run_name` = the target (`model:churn`), `start_time` = the history run's start, `end_time`
///   its end, status FINISHED (FAILED when the target failed or was skipped);
/// - params = the target's Mlfile parameters as the history recorded them (a secret is `<secret>`
///   there, never its value), values cut at MLflow's 6000 characters;
/// - metrics = every metric of the target, timestamp = the run's end, step 0;
/// - tags: `mlbuild.target`, `mlbuild.run_id`, `mlbuild.action_key`, `mlbuild.status`,
///   `mlflow.source.git.commit` + `mlbuild.git_dirty`, `mlflow.source.name` (the Mlfile),
///   `mlflow.user`, `mlbuild.experiment` (an `exp run` variant's id), and one
///   `mlbuild.output.<path>` = `sha256:<hex>` per output file;
/// - artifacts: model.json, metrics.json and plots/* through the server's artifact proxy, only
///   the files whose bytes in the workspace still have the recorded digest.
///
/// Idempotent: a target already exported from the same history run (found by its
/// `mlbuild.run_id` and `mlbuild.target` tags) is skipped; one left RUNNING by an interrupted
/// export is completed.
public struct MLflowExport: Sendable {
    /// The history's kind of model targets.
    public static let modelKind = "model"
    /// MLflow's limits on a param value and a tag value (characters).
    static let maxParamValue = 6000
    static let maxTagValue = 8000

    public struct Exported: Sendable, Equatable {
        public var target: String
        public var mlflowRunID: String
        /// False when an earlier export had logged it.
        public var isNew: Bool
        /// Artifact paths uploaded (relative to the MLflow run's artifact root).
        public var artifacts: [String]
    }

    public struct Outcome: Sendable {
        public var experimentName: String
        public var experimentID: String
        public var runs: [Exported]
        /// At most one line each: artifacts that were not uploaded, and why.
        public var warnings: [String]
    }

    public let client: MLflowClient
    public let experimentName: String
    /// Where the outputs named by the history are read for upload.
    public let workspaceRoot: String
    /// The bound on the whole export, in seconds.
    public let deadline: Double

    public init(client: MLflowClient, experimentName: String, workspaceRoot: String, deadline: Double = 120) {
        self.client = client
        self.experimentName = experimentName
        self.workspaceRoot = workspaceRoot
        self.deadline = deadline
    }

    /// `mlbuild/<name of the workspace directory>`: the default experiment of a workspace.
    public static func defaultExperimentName(workspaceRoot: String) -> String {
        let name = URL(fileURLWithPath: workspaceRoot).standardizedFileURL.lastPathComponent
        return "mlbuild/" + (name.isEmpty || name == "/" ? "workspace" : name)
    }

    /// Exports the model targets of `detail` within `deadline` seconds.
    public func export(_ detail: RunDetail) async throws -> Outcome {
        let seconds = deadline
        return try await withThrowingTaskGroup(of: Outcome?.self) { group in
            group.addTask { try await self.exportUnbounded(detail) }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                throw MLflowError.deadlineExceeded(seconds: Int(seconds))
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let outcome = next { return outcome }
            }
            throw MLflowError.deadlineExceeded(seconds: Int(seconds))
        }
    }

    private func exportUnbounded(_ detail: RunDetail) async throws -> Outcome {
        let experimentID = try await client.experimentID(named: experimentName)
        var outcome = Outcome(experimentName: experimentName, experimentID: experimentID, runs: [], warnings: [])
        var artifactProblem: String?
        var artifactsUsable = true
        for target in detail.targets where target.kind == Self.modelKind {
            try Task.checkCancellation()
            let filter = "tags.`mlbuild.run_id` = \(Self.quoted(String(detail.run.id))) and tags.`mlbuild.target` = \(Self.quoted(target.target))"
            let existing = try await client.searchRuns(experimentID: experimentID, filter: filter)
            if let done = existing.first(where: { $0.status != "RUNNING" }), let id = done.id {
                outcome.runs.append(Exported(target: target.target, mlflowRunID: id, isNew: false, artifacts: []))
                continue
            }
            let run: (id: String, artifactURI: String?)
            if let unfinished = existing.first, let id = unfinished.id {
                run = (id, unfinished.artifact_uri)
            } else {
                run = try await client.createRun(CreateRunRequest(
                    experiment_id: experimentID, run_name: target.target, start_time: Self.milliseconds(detail.run.startedAt) ?? 0,
                    tags: [MLflowKeyValue(key: "mlbuild.run_id", value: String(detail.run.id)),
                           MLflowKeyValue(key: "mlbuild.target", value: target.target)]))
            }
            let (runID, artifactURI) = run
            let batch = Self.batch(detail.run, target)
            try await client.logBatch(runID: runID, params: batch.params, metrics: batch.metrics, tags: batch.tags)

            var uploaded: [String] = []
            if artifactsUsable {
                let files = Self.artifacts(of: target)
                if !files.isEmpty, let uri = artifactURI, client.artifactURL(artifactURI: uri, path: "x") != nil {
                    for file in files {
                        guard let bytes = FileManager.default.contents(atPath: "\(workspaceRoot)/\(file.output.path)"),
                              "sha256:" + ContentDigest.of(bytes).hex == Self.taggedDigest(file.output.digest)
                        else {
                            artifactProblem = artifactProblem ?? "\(file.output.path) changed since run \(detail.run.id): not uploaded"
                            continue
                        }
                        guard let url = client.artifactURL(artifactURI: uri, path: file.artifactPath) else { continue }
                        do {
                            try await client.upload(bytes, to: url)
                            uploaded.append(file.artifactPath)
                        } catch let error as MLflowError {
                            // The server does not take artifacts (no proxy, 404/503…): params and
                            // metrics still go; artifacts are not tried again.
                            artifactsUsable = false
                            artifactProblem = "artifacts not uploaded: \(error)"
                            break
                        }
                    }
                } else if !files.isEmpty {
                    artifactsUsable = false
                    artifactProblem = "artifacts not uploaded: the server's artifact location "
                        + "'\(artifactURI.map { MLflowClient.redacted($0) } ?? "none")' is not served through its artifact proxy "
                        + "(start mlflow server with --serve-artifacts)"
                }
            }
            let failed = target.status == "failed" || target.status == "skipped"
            try await client.updateRun(UpdateRunRequest(
                run_id: runID, status: failed ? "FAILED" : "FINISHED",
                end_time: Self.milliseconds(detail.run.finishedAt ?? detail.run.startedAt) ?? 0))
            outcome.runs.append(Exported(target: target.target, mlflowRunID: runID, isNew: true, artifacts: uploaded))
        }
        if let artifactProblem { outcome.warnings.append(artifactProblem) }
        return outcome
    }

    // MARK: Request building

    /// The params, metrics and tags logged for `target` of `run`.
    static func batch(_ run: RunSummary, _ target: TargetRecord) -> (params: [MLflowKeyValue], metrics: [MLflowMetric], tags: [MLflowKeyValue]) {
        let params = target.params.map { MLflowKeyValue(key: key($0.name), value: String($0.value.prefix(maxParamValue))) }
        let timestamp = milliseconds(run.finishedAt ?? run.startedAt) ?? 0
        // JSON has no NaN or infinity: such a metric is left out.
        let metrics = target.metrics.filter { $0.value.isFinite }
            .map { MLflowMetric(key: key($0.name), value: $0.value, timestamp: timestamp, step: 0) }
        var tags = [
            MLflowKeyValue(key: "mlbuild.target", value: target.target),
            MLflowKeyValue(key: "mlbuild.run_id", value: String(run.id)),
            MLflowKeyValue(key: "mlbuild.status", value: target.status),
            MLflowKeyValue(key: "mlflow.source.name", value: run.mlfilePath),
            MLflowKeyValue(key: "mlflow.user", value: run.user),
        ]
        if let actionKey = target.actionKey { tags.append(MLflowKeyValue(key: "mlbuild.action_key", value: actionKey)) }
        if let commit = run.gitRevision { tags.append(MLflowKeyValue(key: "mlflow.source.git.commit", value: commit)) }
        if let dirty = run.gitDirty { tags.append(MLflowKeyValue(key: "mlbuild.git_dirty", value: dirty ? "true" : "false")) }
        if let experiment = run.experiment { tags.append(MLflowKeyValue(key: "mlbuild.experiment", value: experiment)) }
        for output in target.outputs {
            tags.append(MLflowKeyValue(key: key("mlbuild.output." + output.path), value: taggedDigest(output.digest)))
        }
        return (params, metrics, tags.map { MLflowKeyValue(key: $0.key, value: String($0.value.prefix(maxTagValue))) })
    }

    /// A file to upload: the recorded output and its path under the MLflow run's artifacts.
    struct Artifact: Equatable {
        var output: TargetRecord.Output
        var artifactPath: String
    }

    /// model.json, metrics.json and plots/* of a model target (paths relative to the directory
    /// holding model.json), in the history's order.
    static func artifacts(of target: TargetRecord) -> [Artifact] {
        guard let model = target.outputs.first(where: { $0.path == "model.json" || $0.path.hasSuffix("/model.json") }) else { return [] }
        let directory = String(model.path.dropLast("model.json".count))
        return target.outputs.compactMap { output in
            guard output.path.hasPrefix(directory) else { return nil }
            let relative = String(output.path.dropFirst(directory.count))
            let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
            let wanted = relative == "model.json" || relative == "metrics.json" || (parts.count == 2 && parts[0] == "plots" && !parts[1].isEmpty)
            guard wanted, !parts.contains(where: { $0 == ".." || $0 == "." }) else { return nil }
            return Artifact(output: output, artifactPath: relative)
        }
    }

    /// `sha256:<hex>` (the history stores the bare hex).
    static func taggedDigest(_ digest: String) -> String {
        digest.hasPrefix("sha256:") ? digest : "sha256:" + digest
    }

    /// A key MLflow accepts (letters, digits, `_ - . / : space`); anything else becomes `_`.
    static func key(_ name: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-./: "))
        let scalars = name.unicodeScalars.prefix(250).map { scalar -> Character in
            scalar.isASCII && allowed.contains(scalar) ? Character(scalar) : "_"
        }
        return String(scalars)
    }

    /// A string literal of MLflow's search syntax.
    static func quoted(_ value: String) -> String {
        value.contains("'") ? "\"\(value.replacingOccurrences(of: "\"", with: ""))\"" : "'\(value)'"
    }

    /// The history's timestamp as milliseconds since 1970.
    static func milliseconds(_ text: String) -> Int64? {
        HistoryTime.parse(text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }
}
