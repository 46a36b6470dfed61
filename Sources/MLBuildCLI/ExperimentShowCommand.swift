import ArgumentParser
import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildRules

/// `mlbuild exp show [--sort METRIC] [--limit N] [--target model:NAME] [--json]`: one row per
/// variant recorded under `build/exp/`, after a `workspace` row with the Mlfile's current values
/// and the metrics in `build/model/`, as `dvc exp show` does.
///
/// `--json` prints `{"rows": [{"id": …, "parameters": {"model:churn.l2": "0.1"},
/// "metrics": {"model:churn": {"auc": 0.84, …}}, "status": "ok"}, …]}` in the order shown.
struct ExperimentShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Tabulate the variants of exp run: their parameters and their models' metrics.",
        discussion: """
        Metrics where higher is better (auc, accuracy, precision, recall, f1, r2) sort descending, the others \
        (log_loss, rmse, mae, mse, …) ascending. With several models, a column is MODEL.METRIC (churn_gbt.auc), \
        and --sort takes either form.
        """
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Option(help: ArgumentHelp("Sort the variants by this metric (best first).", valueName: "METRIC"))
    var sort: String?

    @Option(help: ArgumentHelp("Show at most N variants (after sorting).", valueName: "N"))
    var limit: Int?

    @Option(help: ArgumentHelp("Show only this model's metrics.", valueName: "model:NAME"))
    var target: String?

    @Flag(help: "Print one JSON document instead of a table.")
    var json = false

    static let higherIsBetter: Set<String> = ["auc", "accuracy", "precision", "recall", "f1", "r2"]

    struct Row {
        var id: String
        var parameters: [String: String]
        var metrics: [String: [String: Double]]   // model target → metric → value
        var status: String
    }

    /// Six decimals at most, as the build's lines print metrics (`auc 0.84358`).
    static func format(_ value: Double) -> String { CanonicalJSON.format((value * 1_000_000).rounded() / 1_000_000) }

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        let project = try workspaceOptions.project(in: workspace)
        var variants: [Row] = []
        for id in ExperimentRecord.knownIDs() {
            let record = try ExperimentRecord.read(id)
            var metrics: [String: [String: Double]] = [:]
            for (name, entry) in record.targets { if let numbers = entry.metrics { metrics[name] = numbers } }
            variants.append(Row(id: record.id, parameters: record.parameters, metrics: metrics, status: record.succeeded ? "ok" : "failed"))
        }
        if variants.isEmpty {
            MLBuildMain.printError("mlbuild: no experiments under \(ExperimentRecord.directory)/ (run mlbuild exp run --set TARGET.KEY=V1,V2)")
        }
        let parameterNames = Set(variants.flatMap(\.parameters.keys)).sorted()
        var models = Set(variants.flatMap(\.metrics.keys)).sorted()
        if let target {
            guard let reference = TargetReference(parsing: target), reference.kind == ModelRule.kind else {
                throw CLIError.usage("--target must name a model target as model:NAME, not '\(target)'")
            }
            guard models.contains(reference.description) else {
                throw CLIError.usage("--target \(target): no variant has metrics for it (models: \(models.joined(separator: ", ")))")
            }
            models = [reference.description]
        }
        // The workspace's current values and metrics.
        var current = Row(id: "workspace", parameters: [:], metrics: [:], status: "")
        for name in parameterNames {
            guard let dot = name.lastIndex(of: "."), let reference = TargetReference(parsing: String(name[..<dot])),
                  let configuration = project.configurations[reference] else { continue }
            if let value = try? configuration.string(String(name[name.index(after: dot)...])) { current.parameters[name] = value }
        }
        for model in models {
            guard let reference = TargetReference(parsing: model) else { continue }
            current.metrics[model] = ExperimentRecord.metrics(at: "\(ModelRule.directory(reference.name))/metrics.json")
        }
        let metricNames = models.map { model in (model, Set(variants.compactMap { $0.metrics[model] }.flatMap(\.keys)).sorted()) }
        var columns: [(model: String, metric: String, label: String)] = []
        for (model, names) in metricNames {
            let short = model.split(separator: ":", maxSplits: 1).last.map(String.init) ?? model
            for name in names { columns.append((model, name, models.count == 1 ? name : "\(short).\(name)")) }
        }

        if let sort {
            guard let column = columns.first(where: { $0.label == sort || "\($0.model).\($0.metric)" == sort })
                ?? columns.first(where: { $0.metric == sort }) else {
                throw CLIError.usage("--sort \(sort): no such metric (metrics: \(columns.map(\.label).joined(separator: ", ")))")
            }
            let descending = Self.higherIsBetter.contains(column.metric)
            variants.sort { a, b in
                let x = a.metrics[column.model]?[column.metric], y = b.metrics[column.model]?[column.metric]
                switch (x, y) {
                case let (x?, y?) where x != y: return descending ? x > y : x < y
                case (nil, _?): return false
                case (_?, nil): return true
                default: return a.id < b.id
                }
            }
        }
        if let limit { variants = Array(variants.prefix(limit)) }
        let rows = [current] + variants

        if json {
            let list: [JSONValue] = rows.map { row in
                .object([
                    "id": .string(row.id),
                    "status": row.id == "workspace" ? .null : .string(row.status),
                    "parameters": .object(row.parameters.mapValues { .string($0) }),
                    "metrics": .object(row.metrics.filter { models.contains($0.key) }.mapValues { .object($0.mapValues { .number($0) }) }),
                ])
            }
            print(CanonicalJSON.line(.object(["rows": .array(list)])))
            return
        }
        var table = TextTable(["id"] + parameterNames + columns.map(\.label) + ["status"])
        for row in rows {
            table.add([row.id] + parameterNames.map { row.parameters[$0] ?? "-" }
                + columns.map { column in row.metrics[column.model]?[column.metric].map(Self.format) ?? "-" }
                + [row.status.isEmpty ? "-" : row.status])
        }
        print(table.render(), terminator: "")
    }
}
