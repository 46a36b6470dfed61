import ArgumentParser
import Foundation
import MLBuildDatasets
import MLBuildHistory

/// `mlbuild releases [--channel prod]`: the release records, newest first.
struct ReleasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "releases",
        abstract: "List releases, newest first; * marks each channel's current one.")

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup(title: "Run history") var historyOptions: HistoryOptions

    @Option(help: ArgumentHelp("Only this channel.", valueName: "NAME"))
    var channel: String?

    @Option(help: ArgumentHelp("At most N releases (default 50).", valueName: "N"))
    var limit = 50

    @Flag(help: "Print JSON Lines, one release per line.")
    var json = false

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        guard limit >= 1 else { throw CLIError.usage("--limit must be at least 1") }
        let store = try ReleaseSupport.openStore(history: historyOptions, workspace: workspace)
        let releases = try store.releases(channel: channel, limit: limit)
        let current = Set(try store.channels().map(\.current))
        if json {
            for release in releases { print(CanonicalJSON.line(Self.json(release, current: current.contains(release.id)))) }
            return
        }
        if releases.isEmpty {
            print(channel.map { "no releases in channel \($0)" } ?? "no releases")
            return
        }
        var table = TextTable(["", "ID", "CHANNEL", "TARGET", "IMAGE", "MODEL", "GIT", "WHO", "WHEN", "NOTE"])
        for release in releases {
            table.add([current.contains(release.id) ? "*" : "", "#\(release.id)", release.channel, release.target,
                       String(release.imageDigest.prefix(19)), release.modelDigest.map { String($0.prefix(19)) } ?? "-",
                       release.gitRevision.map { String($0.prefix(12)) + (release.gitDirty == true ? "+" : "") } ?? "-",
                       release.who, release.createdAt,
                       (release.promotedFrom.map { "from #\($0) " } ?? "") + (release.note ?? "")])
        }
        print(table.render(), terminator: "")
    }

    static func json(_ release: ReleaseStore.Release, current: Bool) -> JSONValue {
        func parsed(_ text: String) -> JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null }
        return .object([
            "id": .number(Double(release.id)), "channel": .string(release.channel), "target": .string(release.target),
            "image_digest": .string(release.imageDigest), "model_digest": release.modelDigest.map { .string($0) } ?? .null,
            "action_key": .string(release.actionKey), "outputs_digest": .string(release.outputsDigest),
            "metrics": parsed(release.metrics), "gates": parsed(release.gates),
            "git_revision": release.gitRevision.map { .string($0) } ?? .null,
            "git_dirty": release.gitDirty.map { .bool($0) } ?? .null, "who": .string(release.who),
            "created_at": .string(release.createdAt), "note": release.note.map { .string($0) } ?? .null,
            "approvals": .array(release.approvals.map { .string($0) }), "registry": release.registry.map { .string($0) } ?? .null,
            "promoted_from": release.promotedFrom.map { .number(Double($0)) } ?? .null, "current": .bool(current),
        ])
    }
}
