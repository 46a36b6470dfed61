import ArgumentParser
import MLBuildCache
import MLBuildCore
import MLBuildEngine

/// `mlbuild status [TARGET...]`: what is stale and why, building nothing.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show which targets are fresh, restorable from the cache, or must run, and why."
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Argument(help: ArgumentHelp("Targets to check (default: the Mlfile's default).", valueName: "TARGET"))
    var targets: [String] = []

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        let project = try workspaceOptions.project(in: workspace)
        let roots: [TargetReference]
        do { roots = try project.resolveTargets(targets) } catch let list as DiagnosticList {
            throw CLIError.usage(list.diagnostics.map(\.message).joined(separator: "\n"))
        }
        let builder = Builder(project: project, workspace: workspace, statCache: StatCache(path: workspace.statCachePath))
        let plan = builder.plan(roots)
        for planned in plan { print(Self.describe(planned, dryRun: false)) }
        let stale = plan.filter { $0.action != .fresh }.count
        print("\(plan.count) targets: \(plan.count - stale) fresh, \(stale) stale")
    }

    static func describe(_ planned: PlannedTarget, dryRun: Bool) -> String {
        let reason = planned.reason.map { ": \($0)" } ?? ""
        switch planned.action {
        case .fresh: return "fresh    \(planned.target)"
        case .restore: return (dryRun ? "restore  " : "cached   ") + "\(planned.target)\(reason) (restorable from the cache)"
        case .run: return (dryRun ? "build    " : "stale    ") + "\(planned.target)\(reason)"
        case let .blocked(message): return "error    \(planned.target): \(message)"
        }
    }
}
