import ArgumentParser
import MLBuildCache
import MLBuildCore
import MLBuildEngine

/// `mlbuild status [TARGET...]`: what is fresh, restorable or stale, and why, building nothing.
///
/// Every target is in exactly one group: `fresh`, `restorable` (from the local cache, or from
/// the remote cache when one is configured: its action entry is asked for, its blobs are not
/// fetched), `stale` (must run) or `error` (its key cannot be computed: the build would fail).
/// `--json` prints one document:
///
///     {"targets":[
///     {"target":"task:a","action":"restore","from":"local","reason":"outputs missing; restorable from the local cache"},
///     {"target":"task:b","action":"fresh","reason":null}
///     ],"counts":{"targets":2,"fresh":1,"restorable":1,"stale":0,"error":0}}
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show which targets are fresh, restorable from a cache, or must run, and why."
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @OptionGroup(title: "Remote cache") var remoteOptions: RemoteOptions

    @Flag(help: "Print one JSON document (targets with action and reason, and the counts).")
    var json = false

    @Argument(help: ArgumentHelp("Targets to check (default: the Mlfile's default).", valueName: "TARGET"))
    var targets: [String] = []

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        // A dead remote is a warning (on stderr), never a failure: its targets then read
        // "no cache entry (remote cache unavailable)".
        let remote = try remoteOptions.backend(environment: workspace.environment, onWarning: { MLBuildMain.printError($0) })
        let project = try workspaceOptions.project(in: workspace)
        let roots: [TargetReference]
        do { roots = try project.resolveTargets(targets) } catch let list as DiagnosticList {
            throw CLIError.usage(list.diagnostics.map(\.message).joined(separator: "\n"))
        }
        let builder = Builder(project: project, workspace: workspace, statCache: StatCache(path: workspace.statCachePath), remote: remote)
        let plan = await builder.plan(roots)
        if json {
            print(Self.json(plan))
            return
        }
        for planned in plan { print(Self.describe(planned, dryRun: false)) }
        print(Self.summary(plan))
    }

    /// One line per target, for `status` and `-n`: the action, the target and the reason.
    static func describe(_ planned: PlannedTarget, dryRun: Bool) -> String {
        let reason = planned.reason.map { ": \($0)" } ?? ""
        switch planned.action {
        case .fresh: return "fresh    \(planned.target)"
        case .restore: return (dryRun ? "restore  " : "cached   ") + "\(planned.target)\(reason)"
        case .run: return (dryRun ? "build    " : "stale    ") + "\(planned.target)\(reason)"
        case let .blocked(message): return "error    \(planned.target): \(message)"
        }
    }

    struct Counts {
        var fresh = 0, restorable = 0, stale = 0, error = 0
    }

    static func counts(_ plan: [PlannedTarget]) -> Counts {
        var counts = Counts()
        for planned in plan {
            switch planned.action {
            case .fresh: counts.fresh += 1
            case .restore: counts.restorable += 1
            case .run: counts.stale += 1
            case .blocked: counts.error += 1
            }
        }
        return counts
    }

    /// `4 targets: 1 fresh, 2 restorable, 1 stale`, and `, 1 error` when a key could not be computed.
    static func summary(_ plan: [PlannedTarget]) -> String {
        let counts = counts(plan)
        var line = "\(counted(plan.count, "target")): \(counts.fresh) fresh, \(counts.restorable) restorable, \(counts.stale) stale"
        if counts.error > 0 { line += ", \(counted(counts.error, "error"))" }
        return line
    }

    static func json(_ plan: [PlannedTarget]) -> String {
        let quote = EventLog.quote
        let lines = plan.map { planned -> String in
            var fields = ["\"target\":\(quote(planned.target.description))"]
            let reason: String?
            switch planned.action {
            case .fresh:
                fields.append("\"action\":\"fresh\"")
                reason = nil
            case .restore:
                fields.append("\"action\":\"restore\"")
                if let source = planned.reason?.source.cacheSource { fields.append("\"from\":\"\(source.rawValue)\"") }
                reason = planned.reason?.description
            case .run:
                fields.append("\"action\":\"run\"")
                reason = planned.reason?.description
            case let .blocked(message):
                fields.append("\"action\":\"error\"")
                reason = message
            }
            fields.append("\"reason\":" + (reason.map(quote) ?? "null"))
            return "{" + fields.joined(separator: ",") + "}"
        }
        let counts = counts(plan)
        return "{\"targets\":[\n" + lines.joined(separator: ",\n") + (lines.isEmpty ? "" : "\n")
            + "],\"counts\":{\"targets\":\(plan.count),\"fresh\":\(counts.fresh),\"restorable\":\(counts.restorable),"
            + "\"stale\":\(counts.stale),\"error\":\(counts.error)}}"
    }
}
