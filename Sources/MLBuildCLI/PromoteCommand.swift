import ArgumentParser
import Foundation
import MLBuildDatasets
import MLBuildHistory
import MLBuildCore
import MLBuildRules

/// `mlbuild promote --from staging --to prod`: the same image, released to another channel.
struct PromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Release a channel's current image to another channel (staging → prod).",
        discussion: """
        Records a release in --to of exactly the image --from serves now (same digests, \
        metrics, revision; promoted_from names the source release). The destination's approval \
        rule applies: the target's require_approval counts approvals given for --to. Pushed \
        when --to has a registry (or --registry names one). Appends to the audit log.
        """)

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup(title: "Run history") var historyOptions: HistoryOptions
    @OptionGroup(title: "Registry") var registryOptions: ReleaseRegistryOptions

    @Option(help: ArgumentHelp("The channel whose current release is promoted.", valueName: "NAME"))
    var from: String

    @Option(help: ArgumentHelp("The channel it is released to.", valueName: "NAME"))
    var to: String

    @Option(name: .customLong("approve-by"), help: ArgumentHelp("Record an approval by NAME for --to first (repeatable).", valueName: "NAME"))
    var approveBy: [String] = []

    @Option(help: ArgumentHelp("A note kept with the release.", valueName: "TEXT"))
    var note: String?

    @Flag(help: "Print the new release as JSON.")
    var json = false

    func run() async throws {
        try ReleaseSupport.checkChannel(from)
        try ReleaseSupport.checkChannel(to)
        guard from != to else { throw CLIError.usage("--from and --to name the same channel") }
        let workspace = try workspaceOptions.workspace()
        let store = try ReleaseSupport.openStore(history: historyOptions, workspace: workspace)
        guard let source = try store.current(channel: from) else { throw CLIError.message("channel '\(from)' has no release to promote") }
        let who = ReleaseSupport.who(workspace: workspace)
        for approver in approveBy where try store.approve(channel: to, target: source.target, image: source.imageDigest, approver: approver) {
            try ReleaseSupport.record(workspace, action: "approve", who: who, details: [
                "channel": to, "target": source.target, "image": source.imageDigest, "approver": approver])
        }
        // The approval rule is the target's as the Mlfile says now (0 when it is gone).
        var required = 0
        if let project = try? workspaceOptions.project(in: workspace), let reference = TargetReference(parsing: source.target),
           let rule = project.rules[reference] as? ContainerRule {
            required = rule.requiredApprovals
        }
        let approvers = try store.approvers(channel: to, target: source.target, image: source.imageDigest)
        if approvers.count < required {
            throw CLIError.message("\(source.target) needs \(required) distinct approvals for \(to) (require_approval), has \(approvers.count): run mlbuild approve \(source.target) --channel \(to) (with that image built) or pass --approve-by")
        }
        let registry = try registryOptions.reference ?? store.registry(channel: to)
        var pushed: String? = nil
        if let registry {
            let directory = ReleaseSupport.containerDirectory(source.target)
            let path = "\(directory)/image.tar"
            if let digest = try? String(contentsOfFile: "\(directory)/digest", encoding: .utf8),
               digest.trimmingCharacters(in: .whitespacesAndNewlines) == source.imageDigest {
                pushed = try await registryOptions.push(image: path, to: registry, workspace: workspace, who: who)
            } else {
                throw CLIError.message("the workspace's image of \(source.target) is not release #\(source.id)'s \(source.imageDigest): run mlbuild rollback --channel \(from) --to \(source.id) to restore it, or build it, before pushing")
            }
        }
        let release = try store.record(.init(
            channel: to, target: source.target, imageDigest: source.imageDigest, modelDigest: source.modelDigest,
            actionKey: source.actionKey, outputsDigest: source.outputsDigest, metrics: source.metrics, gates: source.gates,
            gitRevision: source.gitRevision, gitDirty: source.gitDirty, who: who, note: note, approvals: approvers,
            registry: registry, promotedFrom: source.id, sources: source.sources))
        var details = ["from_channel": from, "channel": to, "target": release.target, "image": release.imageDigest,
                       "release": String(release.id), "promoted_from": String(source.id)]
        if let pushed { details["registry"] = pushed }
        try ReleaseSupport.record(workspace, action: "promote", who: who, details: details)
        if json {
            print(CanonicalJSON.line(ReleasesCommand.json(release, current: true)))
        } else {
            print("promoted #\(source.id) \(release.target) \(release.imageDigest) from \(from) to \(to) as release #\(release.id)")
            if let pushed { print("pushed to \(pushed)") }
        }
    }
}
