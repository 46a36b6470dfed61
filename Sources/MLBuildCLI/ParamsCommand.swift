import ArgumentParser
import Foundation

/// `mlbuild params diff [A [B]]`.
struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params",
        abstract: "Compare Mlfile parameters between runs, revisions and the workspace.",
        subcommands: [ParamsDiffCommand.self],
        defaultSubcommand: ParamsDiffCommand.self
    )
}

struct ParamsDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "The parameters that differ, per target, with old and new values.",
        discussion: """
        A and B are each run:N or N (a recorded run), workspace (the Mlfile as it is now) or a git revision \
        (HEAD~1, a tag, a hash: the newest run recorded at that commit). Default: A is the newest run at \
        HEAD, B the workspace. Secret values are never stored: they show as <secret>.
        """
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup var historyOptions: HistoryOptions

    @OptionGroup var diff: HistoryDiffArguments

    func run() throws {
        let query = try HistoryQuery(workspaceOptions: workspaceOptions, historyOptions: historyOptions)
        let (old, new) = try query.sides(diff.sides)
        let rows = HistoryDiffRow.rows(old: old.params, new: new.params, all: diff.all)
        if diff.json {
            let list = rows.map { row -> [String: Any] in
                ["target": row.target, "param": row.name, "old": HistoryOutput.orNull(row.old), "new": HistoryOutput.orNull(row.new)]
            }
            print(try HistoryOutput.json(["old": old.label, "new": new.label, "params": list]))
            return
        }
        if rows.isEmpty {
            print("no parameter changed between \(old.label) and \(new.label)")
            return
        }
        var table = TextTable(["Target", "Param", "Old (\(old.label))", "New (\(new.label))"])
        for row in rows { table.add([row.target, row.name, row.old ?? "-", row.new ?? "-"]) }
        print(table.render(), terminator: "")
    }
}
