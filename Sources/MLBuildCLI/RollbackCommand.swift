import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildDatasets
import MLBuildHistory

/// `mlbuild rollback --channel prod [--to RELEASE]`: the channel back to its last known-good image.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Re-point a channel to its previous release (or --to one) and restore that image.",
        discussion: """
        The release before the channel's current one (or release --to N of the channel) becomes \
        current. Its image is restored into build/container/NAME/ bit for bit from the local \
        cache or, failing that, the remote cache (--remote-cache), without building; when no \
        cache has it, it is rebuilt at the release's git revision in a temporary worktree and \
        refused unless the digest is the recorded one. Pushed again when the channel has a \
        registry. Appends a rollback entry to the audit log.
        """)

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup(title: "Run history") var historyOptions: HistoryOptions
    @OptionGroup(title: "Remote cache") var remoteOptions: RemoteOptions
    @OptionGroup(title: "Registry") var registryOptions: ReleaseRegistryOptions

    @Option(help: ArgumentHelp("The channel to roll back.", valueName: "NAME"))
    var channel: String

    @Option(help: ArgumentHelp("The release to go back to (its #id, as `mlbuild releases` shows).", valueName: "RELEASE"))
    var to: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        try ReleaseSupport.checkChannel(channel)
        let workspace = try workspaceOptions.workspace()
        let store = try ReleaseSupport.openStore(history: historyOptions, workspace: workspace)
        guard let current = try store.current(channel: channel) else {
            throw CLIError.message("channel '\(channel)' has no release to roll back")
        }
        let destination: ReleaseStore.Release
        if let to {
            let text = to.hasPrefix("#") ? String(to.dropFirst()) : to
            guard let id = Int64(text), let release = try store.release(id) else {
                throw CLIError.usage("no release '\(to)' (see mlbuild releases --channel \(channel))")
            }
            guard release.channel == channel else {
                throw CLIError.usage("release #\(release.id) is in channel \(release.channel), not \(channel) (use mlbuild promote to move images between channels)")
            }
            destination = release
        } else {
            guard let previous = try store.previous(channel: channel) else {
                throw CLIError.message("channel '\(channel)' has no release before #\(current.id) to roll back to")
            }
            destination = previous
        }
        if destination.id == current.id { throw CLIError.message("release #\(current.id) is already \(channel)'s current release") }
        let remote = try remoteOptions.backend(environment: workspace.environment) { MLBuildMain.printError("mlbuild: \($0)") }
        // It writes build/container/NAME/ as a build would: not while one runs.
        let workspaceLock = try FileLock(path: workspace.lockPath)
        if !workspaceLock.tryLock(.exclusive) {
            MLBuildMain.printError("mlbuild: waiting for another mlbuild in this workspace…")
            try workspaceLock.lock(.exclusive)
        }
        defer { workspaceLock.unlock() }
        let cacheLock = try BuildCommand.lockCache(workspace)
        defer { cacheLock?.unlock() }
        let restorer = ReleaseRestorer(workspace: workspace, remote: remote) { MLBuildMain.printError("mlbuild: \($0)") }
        let source = try await restorer.restore(destination)
        let who = ReleaseSupport.who(workspace: workspace)
        var pushed: String? = nil
        if let registry = try registryOptions.reference ?? store.registry(channel: channel) {
            let path = "\(ReleaseSupport.containerDirectory(destination.target))/image.tar"
            pushed = try await registryOptions.push(image: path, to: registry, workspace: workspace, who: who)
        }
        try store.rollBack(channel: channel, to: destination.id, who: who)
        var details = ["channel": channel, "from_release": String(current.id), "to_release": String(destination.id),
                       "from_image": current.imageDigest, "image": destination.imageDigest, "target": destination.target,
                       "restored_from": source.rawValue]
        if let pushed { details["registry"] = pushed }
        try ReleaseSupport.record(workspace, action: "rollback", who: who, details: details)
        if json {
            print(CanonicalJSON.line(.object([
                "channel": .string(channel), "from": ReleasesCommand.json(current, current: false),
                "to": ReleasesCommand.json(destination, current: true), "restored_from": .string(source.rawValue),
                "pushed": pushed.map { .string($0) } ?? .null,
            ])))
        } else {
            print("rolled back \(channel) from #\(current.id) (\(current.imageDigest.prefix(19))) to #\(destination.id) \(destination.target) \(destination.imageDigest), restored from \(source.rawValue)")
            if let pushed { print("pushed to \(pushed)") }
        }
    }
}
