import ArgumentParser
import Foundation
import MLBuildCore

/// `mlbuild metrics show [TARGET…]`, `mlbuild metrics diff [A [B]]`.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Show model metrics, or compare them between runs, revisions and the workspace.",
        subcommands: [MetricsShowCommand.self, MetricsDiffCommand.self],
        defaultSubcommand: MetricsShowCommand.self
    )
}

struct MetricsShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show the current metrics (each model's build/model/NAME/metrics.json).")

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: ArgumentHelp("Model targets to show (default: every model of the Mlfile).", valueName: "TARGET"))
    var targets: [String] = []

    func run() throws {
        let query = try HistoryQuery(workspaceOptions: workspaceOptions, historyOptions: HistoryOptions.parse([]))
        let snapshot = try query.workspaceSnapshot()
        var wanted = snapshot.metrics.keys.sorted()
        if !targets.isEmpty {
            let known = Set(snapshot.params.keys)
            for target in targets where !known.contains(target) {
                throw CLIError.usage("no target \(target) in \(workspaceOptions.file)")
            }
            for target in targets where snapshot.metrics[target] == nil {
                throw CLIError.usage("\(target) has no metrics (not a model, or not built yet: run `mlbuild \(target)`)")
            }
            wanted = targets
        }
        if json {
            var object: [String: Any] = [:]
            for target in wanted { object[target] = snapshot.metrics[target] ?? [:] }
            print(try HistoryOutput.json(["metrics": object]))
            return
        }
        var table = TextTable(["Target", "Metric", "Value"])
        for target in wanted {
            let metrics = snapshot.metrics[target] ?? [:]
            for name in metrics.keys.sorted() { table.add([target, name, HistoryOutput.number(metrics[name] ?? 0)]) }
        }
        print(table.render(), terminator: "")
    }
}

struct MetricsDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare metrics: old, new and change per target and metric.",
        discussion: """
        A and B are each run:N or N (a recorded run), workspace (the metrics.json files as they are now) or a \
        git revision (HEAD~1, a tag, a hash: the newest run recorded at that commit). Default: A is the \
        newest run at HEAD, B the workspace.
        """
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup var historyOptions: HistoryOptions

    @OptionGroup var diff: HistoryDiffArguments

    func run() throws {
        let query = try HistoryQuery(workspaceOptions: workspaceOptions, historyOptions: historyOptions)
        let (old, new) = try query.sides(diff.sides)
        let rows = HistoryDiffRow.rows(old: old.metrics, new: new.metrics, all: diff.all)
        if diff.json {
            let list = rows.map { row -> [String: Any] in
                let change = row.old.flatMap { o in row.new.map { $0 - o } }
                return ["target": row.target, "metric": row.name, "old": HistoryOutput.orNull(row.old),
                        "new": HistoryOutput.orNull(row.new), "change": HistoryOutput.orNull(change)]
            }
            print(try HistoryOutput.json(["old": old.label, "new": new.label, "metrics": list]))
            return
        }
        if rows.isEmpty {
            print("no metric changed between \(old.label) and \(new.label)")
            return
        }
        var table = TextTable(["Target", "Metric", "Old (\(old.label))", "New (\(new.label))", "Change"])
        for row in rows {
            let change = row.old.flatMap { o in row.new.map { HistoryOutput.signed($0 - o) } } ?? "-"
            table.add([row.target, row.name, row.old.map(HistoryOutput.number) ?? "-", row.new.map(HistoryOutput.number) ?? "-", change])
        }
        print(table.render(), terminator: "")
    }
}
