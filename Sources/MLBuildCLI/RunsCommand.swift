import ArgumentParser
import Foundation
import MLBuildHistory

/// `mlbuild runs [--limit N]`, `mlbuild runs show RUN`: the run history.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List recorded builds (the run history).",
        discussion: "Every build records one run in .mlbuild/history.sqlite (--history FILE, $MLBUILD_HISTORY), "
            + "and `exp run` one per variant (its Experiment column names the variant; the diffs' defaults skip those). "
            + "A no-op answered by the fast path is recorded as a run of the last build's targets, all fresh.",
        subcommands: [RunsListCommand.self, RunsShowCommand.self, RunsExportCommand.self],
        defaultSubcommand: RunsListCommand.self
    )

    /// `abc1234` (`abc1234*` when tracked files differed from it), `-` outside git.
    static func revision(_ run: RunSummary) -> String {
        guard let revision = run.gitRevision else { return "-" }
        return String(revision.prefix(7)) + (run.gitDirty == true ? "*" : "")
    }

    static func duration(_ run: RunSummary) -> String {
        run.seconds.map { String(format: "%.3fs", $0) } ?? "-"
    }

    static func json(_ run: RunSummary) -> [String: Any] {
        [
            "id": run.id, "started_at": run.startedAt, "finished_at": HistoryOutput.orNull(run.finishedAt),
            "seconds": HistoryOutput.orNull(run.seconds),
            "git_revision": HistoryOutput.orNull(run.gitRevision), "git_dirty": HistoryOutput.orNull(run.gitDirty), "user": run.user,
            "command_line": run.commandLine, "exit_status": HistoryOutput.orNull(run.exitStatus.map { Int($0) }), "mlfile": run.mlfilePath,
            "experiment": HistoryOutput.orNull(run.experiment),
            "targets": ["built": run.built, "restored": run.restored, "fresh": run.fresh, "failed": run.failed],
        ]
    }
}

struct RunsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the most recent runs, newest first.")

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup var historyOptions: HistoryOptions

    @Option(help: ArgumentHelp("Show at most N runs.", valueName: "N"))
    var limit = 20

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let query = try HistoryQuery(workspaceOptions: workspaceOptions, historyOptions: historyOptions)
        let runs = try query.store().runs(limit: limit)
        if json {
            print(try HistoryOutput.json(["runs": runs.map(RunsCommand.json)]))
            return
        }
        var table = TextTable(["Run", "Started", "Duration", "Revision", "Exit", "Built", "Restored", "Fresh", "Failed", "Experiment", "Command"])
        for run in runs {
            table.add(["\(run.id)", run.startedAt, RunsCommand.duration(run), RunsCommand.revision(run),
                       run.exitStatus.map { String($0) } ?? "-", "\(run.built)", "\(run.restored)", "\(run.fresh)", "\(run.failed)",
                       run.experiment ?? "-", run.commandLine])
        }
        print(table.render(), terminator: "")
    }
}

struct RunsShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one run: every target's status, seconds, action key, parameters, metrics and outputs.")

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup var historyOptions: HistoryOptions

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: ArgumentHelp("The run: its id (7 or run:7), as `mlbuild runs` lists it.", valueName: "RUN"))
    var runID: String

    func run() throws {
        let query = try HistoryQuery(workspaceOptions: workspaceOptions, historyOptions: historyOptions)
        let store = try query.store()
        let id = try query.runID(runID, store: store)
        guard let detail = try store.run(id) else { throw CLIError.usage("no run \(id) in \(query.path)") }
        if json {
            var object = RunsCommand.json(detail.run)
            object["targets"] = detail.targets.map { target -> [String: Any] in
                [
                    "target": target.target, "kind": target.kind, "status": target.status, "seconds": target.seconds,
                    "action_key": HistoryOutput.orNull(target.actionKey), "seed": HistoryOutput.orNull(target.seed.map { NSNumber(value: $0) }),
                    "params": Dictionary(target.params.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
                    "metrics": Dictionary(target.metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
                    "outputs": Dictionary(target.outputs.map { ($0.path, $0.digest) }, uniquingKeysWith: { $1 }),
                ]
            }
            print(try HistoryOutput.json(object))
            return
        }
        let r = detail.run
        print("run \(r.id)")
        print("started: \(r.startedAt)")
        print("finished: \(r.finishedAt ?? "-") (\(RunsCommand.duration(r)))")
        print("revision: \(r.gitRevision.map { $0 + (r.gitDirty == true ? " (dirty)" : "") } ?? "-")")
        print("user: \(r.user)")
        print("command: \(r.commandLine)")
        print("exit status: \(r.exitStatus.map { String($0) } ?? "- (unfinished)")")
        if let experiment = r.experiment { print("experiment: \(experiment)") }
        for target in detail.targets {
            print("")
            print("\(target.target): \(target.status) in \(String(format: "%.3f", target.seconds))s")
            if let key = target.actionKey { print("  key: \(key)") }
            if let seed = target.seed { print("  seed: \(seed)") }
            for p in target.params { print("  param \(p.name) = \(p.value)") }
            for m in target.metrics { print("  metric \(m.name) = \(HistoryOutput.number(m.value))") }
            for o in target.outputs { print("  output \(o.path) \(o.digest)") }
        }
    }
}
