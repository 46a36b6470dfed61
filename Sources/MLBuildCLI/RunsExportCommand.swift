import ArgumentParser
import Foundation
import MLBuildTracking

/// `mlbuild runs export --mlflow URL [RUN]`: logs a recorded run's model targets to MLflow.
struct RunsExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a run to an MLflow tracking server (one MLflow run per model target).",
        discussion: "Logs each model target of RUN (default: the newest run) with its parameters (secrets as <secret>), "
            + "metrics, tags (action key, git revision, output digests) and artifacts (model.json, metrics.json, plots/*, "
            + "when the server proxies artifacts). Exporting a run again skips what is already there. "
            + "Exit status 1 when the server cannot be reached or rejects the export.")

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup var historyOptions: HistoryOptions
    @OptionGroup var mlflowOptions: MLflowOptions

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: ArgumentHelp("The run: its id (7 or run:7), as `mlbuild runs` lists it. Default: the newest run.", valueName: "RUN"))
    var runID: String?

    func run() async throws {
        let query = try HistoryQuery(workspaceOptions: workspaceOptions, historyOptions: historyOptions)
        guard let url = mlflowOptions.url(environment: query.workspace.environment) else {
            throw CLIError.usage("no MLflow tracking server: give --mlflow URL (or set MLBUILD_MLFLOW_URI)")
        }
        let store = try query.store()
        let id: Int64
        if let runID { id = try query.runID(runID, store: store) } else {
            guard let last = try store.lastRun() else { throw CLIError.usage("no run history yet in \(query.path): a build records one") }
            id = last
        }
        let outcome: MLflowExport.Outcome
        do {
            outcome = try await mlflowOptions.export(url: url, runID: id, historyPath: query.path, workspace: query.workspace)
        } catch {
            throw CLIError.message("MLflow export to \(MLflowClient.redacted(url)) failed: \(error)")
        }
        for line in outcome.warnings { MLBuildMain.printError("warning: MLflow export to \(MLflowClient.redacted(url)): \(line)") }
        if json {
            print(try HistoryOutput.json([
                "run": id, "experiment": outcome.experimentName, "experiment_id": outcome.experimentID,
                "tracking_uri": MLflowClient.redacted(url),
                "targets": outcome.runs.map { run -> [String: Any] in
                    ["target": run.target, "mlflow_run_id": run.mlflowRunID, "status": run.isNew ? "exported" : "already exported",
                     "artifacts": run.artifacts]
                },
                "warnings": outcome.warnings,
            ]))
            return
        }
        if outcome.runs.isEmpty { print("run \(id) has no model target: nothing to export") }
        for line in MLflowOptions.lines(outcome) { print(line) }
    }
}
