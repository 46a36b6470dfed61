import ArgumentParser
import Foundation
import MLBuildDatasets
import MLBuildCore
import MLBuildHistory
import MLBuildRules

/// `mlbuild release container:NAME --channel prod`: records a built image as the channel's
/// current release, after its checks. `mlbuild release deploy:NAME --channel prod
/// --promote-canary`: the same for the image the deploy target runs as its canary.
struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Release a built container image to a channel (prod, staging, …).",
        discussion: """
        The target must be built and up to date (mlbuild container:NAME first). Before recording, \
        the packed model's gates are evaluated again from its metrics.json, the working tree must \
        be clean (tracked files as committed) unless --allow-dirty, and when the target sets \
        require_approval = N, N distinct people must have run `mlbuild approve` for this image and \
        channel (--approve-by adds approvals now). Records the channel, image and model digests, \
        metrics, gates, git revision, who (git config user.email, else $USER), when and the \
        approvals in the release database (the run history's file, else \
        .mlbuild/releases.sqlite), and appends an entry to the audit log. With --registry (or a \
        registry the channel was released to before) the image is also pushed there.

        With --promote-canary the target is a deploy target with canary = PERCENT and \
        channel = CHANNEL (--channel must name the same channel): its container's image, which \
        the deploy target runs as NAME-canary, is released to the channel with all the checks \
        above. The deploy target must be built and up to date, and its canary image must not be \
        the channel's current release already. The next `mlbuild deploy:NAME` renders the \
        manifest with that image as the stable Deployment (the canary scaled to 0).
        """)

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup(title: "Run history") var historyOptions: HistoryOptions
    @OptionGroup(title: "Provenance") var signingOptions: SigningOptions

    @Argument(help: ArgumentHelp("The container target (with --promote-canary: the deploy target).", valueName: "container:NAME|deploy:NAME"))
    var target: String

    @Option(help: ArgumentHelp("The channel to release to.", valueName: "NAME"))
    var channel: String

    @Option(name: .customLong("approve-by"), help: ArgumentHelp("Record an approval by NAME first (repeatable).", valueName: "NAME"))
    var approveBy: [String] = []

    @Option(help: ArgumentHelp("A note kept with the release.", valueName: "TEXT"))
    var note: String?

    @Flag(name: .customLong("allow-dirty"), help: "Release from a working tree with uncommitted changes to tracked files.")
    var allowDirty = false

    @OptionGroup(title: "Registry") var registryOptions: ReleaseRegistryOptions

    @Flag(name: .customLong("promote-canary"),
          help: "Release the canary image of deploy:NAME (canary = PERCENT, channel = --channel) as the channel's stable release.")
    var promoteCanary = false

    @Flag(help: "Print the release as JSON.")
    var json = false

    func run() async throws {
        try ReleaseSupport.checkChannel(channel)
        let workspace = try workspaceOptions.workspace()
        ReleaseChannelReader.install(history: historyOptions.history, workspace: workspace)
        let git = GitRevision.current(workspace: workspace.root)
        if git?.dirty == true && !allowDirty {
            throw CLIError.message("the working tree has uncommitted changes to tracked files: commit them (a release records its revision) or pass --allow-dirty")
        }
        // The image's key holds the signing key's id: the same key as the build's is needed to find it fresh.
        try signingOptions.configure(environment: workspace.environment)
        if git == nil {
            MLBuildMain.printError("mlbuild: warning: \(workspace.root) is not in a git repository with a commit: the release records no revision (a rollback can then only restore it from a cache)")
        }
        let project = try workspaceOptions.project(in: workspace)
        let canary = promoteCanary ? try await CanaryPromotion.load(target, channel: channel, workspace: workspace, project: project) : nil
        if canary == nil, let reference = TargetReference(parsing: target), reference.kind == DeployRule.kind {
            throw CLIError.usage("release takes a container target; to release the canary of \(reference), add --promote-canary")
        }
        let image = try await ReleasedImage.load(canary?.container.description ?? target, workspace: workspace, project: project)
        if let failing = image.failingGate() {
            throw CLIError.message("refusing to release \(image.target): \(failing)")
        }
        let store = try ReleaseSupport.openStore(history: historyOptions, workspace: workspace)
        let replaced = try canary.map { try $0.check(image: image, store: store) }
        try await canary?.requireBuilt(workspace: workspace, project: project)
        let who = ReleaseSupport.who(workspace: workspace)
        for approver in approveBy {
            guard !approver.trimmingCharacters(in: .whitespaces).isEmpty else { throw CLIError.usage("--approve-by needs a name") }
            if try store.approve(channel: channel, target: image.target.description, image: image.imageDigest, approver: approver) {
                try ReleaseSupport.record(workspace, action: "approve", who: who, details: [
                    "channel": channel, "target": image.target.description, "image": image.imageDigest, "approver": approver])
            }
        }
        let approvers = try store.approvers(channel: channel, target: image.target.description, image: image.imageDigest)
        if approvers.count < image.rule.requiredApprovals {
            let have = approvers.isEmpty ? "none" : "\(approvers.count) (\(approvers.joined(separator: ", ")))"
            throw CLIError.message("\(image.target) needs \(image.rule.requiredApprovals) distinct approvals for \(channel) (require_approval), has \(have): run mlbuild approve \(image.target) --channel \(channel)")
        }
        let registry = try registryOptions.reference ?? store.registry(channel: channel)
        var pushed: String? = nil
        if let registry {
            pushed = try await registryOptions.push(image: image.imagePath, to: registry, workspace: workspace, who: who)
        }
        let release = try store.record(.init(
            channel: channel, target: image.target.description, imageDigest: image.imageDigest, modelDigest: image.modelDigest,
            actionKey: image.key.hex, outputsDigest: image.result.manifestDigest.hex, metrics: CanonicalJSON.line(image.metrics),
            gates: CanonicalJSON.line(image.gates), gitRevision: git?.commit, gitDirty: git?.dirty, who: who, note: note,
            approvals: approvers, registry: registry, promotedFrom: nil, sources: image.provenanceSources()))
        var details = ["channel": channel, "target": release.target, "image": release.imageDigest, "release": String(release.id),
                       "action_key": release.actionKey, "git_revision": release.gitRevision ?? "none"]
        if let model = release.modelDigest { details["model"] = model }
        if !approvers.isEmpty { details["approvals"] = approvers.joined(separator: ",") }
        if let pushed { details["registry"] = pushed }
        if let canary, let replaced {
            details["canary_of"] = canary.deploy.description
            details["replaces_release"] = String(replaced.id)
        }
        try ReleaseSupport.record(workspace, action: "release", who: who, details: details)
        if json {
            print(CanonicalJSON.line(ReleasesCommand.json(release, current: true)))
        } else {
            print("released \(release.target) \(release.imageDigest) to \(channel) as release #\(release.id)"
                  + (release.gitRevision.map { " (git \($0.prefix(12))\(release.gitDirty == true ? ", dirty" : ""))" } ?? " (no git revision)"))
            if let pushed { print("pushed to \(pushed)") }
            if let canary, let replaced {
                print("promoted the canary of \(canary.deploy): it replaces release #\(replaced.id) \(replaced.imageDigest) as \(channel)'s stable image; "
                      + "run mlbuild \(canary.deploy) to render it as the stable Deployment")
            }
        }
    }
}
