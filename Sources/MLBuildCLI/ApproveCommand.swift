import ArgumentParser
import Foundation
import MLBuildHistory

/// `mlbuild approve container:NAME --channel prod`: one person's approval of the image built
/// now, for one channel (what `require_approval = N` counts).
struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve the built image of a container target for a channel.",
        discussion: """
        Approves the image as built in the workspace now (by its manifest digest: a rebuilt, \
        different image needs new approvals). The approver is --as NAME, else git config \
        user.email, else $USER; approving twice counts once. Appends to the audit log.
        """)

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup(title: "Run history") var historyOptions: HistoryOptions
    @OptionGroup(title: "Provenance") var signingOptions: SigningOptions

    @Argument(help: ArgumentHelp("The container target.", valueName: "container:NAME"))
    var target: String

    @Option(help: ArgumentHelp("The channel the approval is for.", valueName: "NAME"))
    var channel: String

    @Option(name: .customLong("as"), help: ArgumentHelp("Approve as NAME (default: git config user.email, else $USER).", valueName: "NAME"))
    var approver: String?

    func run() async throws {
        try ReleaseSupport.checkChannel(channel)
        let workspace = try workspaceOptions.workspace()
        // The image's key holds the signing key's id: the same key as the build's is needed to find it fresh.
        try signingOptions.configure(environment: workspace.environment)
        let project = try workspaceOptions.project(in: workspace)
        let image = try await ReleasedImage.load(target, workspace: workspace, project: project)
        let who = ReleaseSupport.who(workspace: workspace)
        let name = approver ?? who
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw CLIError.usage("--as needs a name") }
        let store = try ReleaseSupport.openStore(history: historyOptions, workspace: workspace)
        let added = try store.approve(channel: channel, target: image.target.description, image: image.imageDigest, approver: name)
        if added {
            try ReleaseSupport.record(workspace, action: "approve", who: who, details: [
                "channel": channel, "target": image.target.description, "image": image.imageDigest, "approver": name])
        }
        let approvers = try store.approvers(channel: channel, target: image.target.description, image: image.imageDigest)
        let required = image.rule.requiredApprovals
        print("\(added ? "approved" : "already approved") \(image.target) \(image.imageDigest) for \(channel) by \(name): "
              + "\(approvers.count) of \(required) required approval\(required == 1 ? "" : "s")")
    }
}
