import Foundation
import MLBuildEngine
import MLBuildHistory
import MLBuildRules

/// The deploy kind's view of the release database (`DeployReleases`): the file the release
/// commands use (`ReleaseSupport.storePath`: the run history's when it exists, else
/// `.mlbuild/releases.sqlite`), opened only when it exists (reading never creates one).
struct ReleaseChannelReader: ChannelReleaseReader {
    let historyPath: String
    let fallbackPath: String

    init(historyPath: String, workspace: Workspace) {
        self.historyPath = historyPath
        fallbackPath = "\(workspace.stateDirectory)/releases.sqlite"
    }

    func current(channel: String) throws -> ChannelRelease? {
        let path = FileManager.default.fileExists(atPath: historyPath) ? historyPath : fallbackPath
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let store: ReleaseStore
        do { store = try ReleaseStore(path: path) } catch { throw RuleFailure("cannot open the release database \(path): \(error)") }
        do {
            return try store.current(channel: channel).map { ChannelRelease(id: $0.id, target: $0.target, imageDigest: $0.imageDigest) }
        } catch {
            throw RuleFailure("cannot read channel '\(channel)' from the release database \(path): \(error)")
        }
    }

    /// Installs the reader for this process: `history` is `--history` when the command has it.
    static func install(history: String?, workspace: Workspace) {
        DeployReleases.use(ReleaseChannelReader(historyPath: HistoryOptions.path(option: history, workspace: workspace), workspace: workspace))
    }
}
