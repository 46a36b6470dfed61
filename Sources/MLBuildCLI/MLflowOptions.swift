import ArgumentParser
import Foundation
import MLBuildEngine
import MLBuildHistory
import MLBuildTracking

/// `--mlflow URL` (default `$MLBUILD_MLFLOW_URI`) and `--mlflow-experiment NAME`: where a run is
/// exported (`runs export`, and a build after it has recorded its run).
struct MLflowOptions: ParsableArguments {
    @Option(name: .customLong("mlflow"), help: ArgumentHelp(
        "An MLflow tracking server: log each model target of the run as an MLflow run. Default: $MLBUILD_MLFLOW_URI. "
            + "Credentials: $MLFLOW_TRACKING_TOKEN, or $MLFLOW_TRACKING_USERNAME and $MLFLOW_TRACKING_PASSWORD.",
        valueName: "URL"))
    var mlflow: String?

    @Option(name: .customLong("mlflow-experiment"), help: ArgumentHelp(
        "The MLflow experiment (created when missing). Default: mlbuild/<name of the workspace directory>.", valueName: "NAME"))
    var experiment: String?

    /// The tracking URL chosen, or nil for none.
    func url(environment: [String: String]) -> String? {
        (mlflow ?? environment["MLBUILD_MLFLOW_URI"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Exports history run `runID` of `historyPath` to `url`.
    func export(url: String, runID: Int64, historyPath: String, workspace: Workspace) async throws -> MLflowExport.Outcome {
        let client = try MLflowClient(url: url, environment: workspace.environment)
        guard let store = try HistoryStore.openExisting(path: historyPath), let detail = try store.run(runID) else {
            throw MLflowError.noSuchRun("no run \(runID) in \(historyPath)")
        }
        let name = experiment ?? MLflowExport.defaultExperimentName(workspaceRoot: workspace.root)
        return try await MLflowExport(client: client, experimentName: name, workspaceRoot: workspace.root).export(detail)
    }

    /// What `runs export` and a build print per target.
    static func lines(_ outcome: MLflowExport.Outcome) -> [String] {
        outcome.runs.map { run in
            run.isNew
                ? "exported \(run.target) to MLflow run \(run.mlflowRunID) (experiment \(outcome.experimentName))"
                : "\(run.target) already exported to MLflow run \(run.mlflowRunID) (experiment \(outcome.experimentName))"
        }
    }

    /// After a build: exports its run, never failing it (one warning on any problem).
    func exportAfterBuild(runID: Int64?, historyPath: String, workspace: Workspace, warn: (String) -> Void) async {
        guard let url = url(environment: workspace.environment) else { return }
        let shown = MLflowClient.redacted(url)
        guard let runID else {
            warn("MLflow export to \(shown) failed: the build's run was not recorded in the history")
            return
        }
        do {
            let outcome = try await export(url: url, runID: runID, historyPath: historyPath, workspace: workspace)
            for line in Self.lines(outcome) { print(line) }
            for line in outcome.warnings { warn("MLflow export to \(shown): \(line)") }
        } catch {
            warn("MLflow export to \(shown) failed: \(error)")
        }
    }
}
