import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildHistory

/// `mlbuild report [TARGET…] [-o report.html]`: one static HTML page (`ReportPage`) of the
/// targets and what they need — the graph, each dataset's schema, validation, drift and
/// histograms, each model's metrics, gates, plots, lineage and its metrics against the previous
/// run. Builds nothing; a target not built yet is shown as such.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a static HTML report of the targets: graph, datasets, metrics, plots, lineage.",
        discussion: """
        The page is self-contained: no script, no network, no external file (CSS inline, every \
        image an inline SVG), so it can be attached or archived as is. The same workspace and \
        run history give the same bytes. A missing or unreadable output is a warning and a note \
        in its section; the page is still written.
        """
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup var historyOptions: HistoryOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the page ('-' for standard output).", valueName: "FILE"))
    var output: String = "report.html"

    @Argument(help: ArgumentHelp("Targets to report, with everything they need (default: every target of the Mlfile).", valueName: "TARGET"))
    var targets: [String] = []

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        let project = try workspaceOptions.project(in: workspace)
        let chosen: [TargetReference]
        if targets.isEmpty {
            chosen = project.graph.nodes
        } else {
            let roots: [TargetReference]
            do { roots = try project.resolveTargets(targets) } catch let list as DiagnosticList {
                throw CLIError.usage(list.diagnostics.map(\.message).joined(separator: "\n"))
            }
            let closure = Set(project.graph.closure(of: roots))
            chosen = project.graph.nodes.filter { closure.contains($0) }
        }

        var warnings: [String] = []
        var history: ReportHistory?
        let historyPath = historyOptions.path(in: workspace)
        do {
            if let store = try HistoryStore.openExisting(path: historyPath) { history = try ReportHistory(store: store) }
        } catch {
            warnings.append("cannot read the run history \(workspace.relativePath(of: historyPath) ?? historyPath): \(error); the page has no comparison with earlier runs")
        }

        let builder = Builder(project: project, workspace: workspace, statCache: StatCache(path: workspace.statCachePath), remote: nil)
        var actions: [TargetReference: PlannedTarget.Action] = [:]
        for planned in await builder.plan(chosen, consultingRemote: false) { actions[planned.target] = planned.action }
        let included = Set(chosen)
        let pageTargets = chosen.map { reference -> ReportPage.Target in
            let outputs = project.rules[reference]?.outputs ?? []
            // A target without outputs (a task run for its effect) is built when the plan finds it fresh.
            let built = outputs.isEmpty ? actions[reference] == .fresh : outputs.allSatisfy { FileStat.of("\(workspace.root)/\($0)") != nil }
                && Self.primaryOutput(reference).map { FileStat.of("\(workspace.root)/\($0)") != nil } ?? true
            let status = !built ? "not built" : actions[reference] == .fresh ? "up to date" : "stale"
            return ReportPage.Target(
                reference: reference, description: project.configurations[reference].flatMap { try? $0.string("description") }, status: status,
                dependencies: project.graph.dependencies(of: reference).filter { included.contains($0) },
                parameters: HistoryRecorder.parameters(project.configurations[reference]), outputs: outputs)
        }
        let mlfile = workspaceOptions.file
        var page = ReportPage(mlfile: mlfile, root: workspace.root, git: GitRevision.current(workspace: workspace.root),
                              targets: pageTargets, history: history, warnings: warnings)
        let text = page.render()
        for warning in page.warnings { MLBuildMain.printError("warning: \(warning)") }
        let summary = "(\(pageTargets.count) target\(pageTargets.count == 1 ? "" : "s")"
            + (page.warnings.isEmpty ? ")" : ", \(page.warnings.count) warning\(page.warnings.count == 1 ? "" : "s"))")
        if output == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: output))
        } catch {
            throw CLIError.message("cannot write \(output): \(error)")
        }
        MLBuildMain.printError("wrote \(output) \(summary)")
    }

    /// The file whose presence says a directory output was published (they are written last).
    static func primaryOutput(_ reference: TargetReference) -> String? {
        switch reference.kind {
        case "dataset": return "build/dataset/\(reference.name)/stats.json"
        case "features": return "build/features/\(reference.name)/feature_names.json"
        case "model": return "build/model/\(reference.name)/metrics.json"
        default: return nil
        }
    }
}
