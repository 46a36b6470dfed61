import ArgumentParser
import MLBuildCache
import MLBuildCore
import MLBuildEngine

/// `mlbuild clean [TARGET...]`: removes materialized outputs; the cache keeps everything, so
/// the next build restores instead of running.
struct CleanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        abstract: "Remove built outputs (the cache is kept)."
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Argument(help: ArgumentHelp("Targets to clean (default: all).", valueName: "TARGET"))
    var targets: [String] = []

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        let project = try workspaceOptions.project(in: workspace)
        let chosen = targets.isEmpty ? project.graph.nodes : try project.resolveTargets(targets)
        let lock = try FileLock(path: workspace.lockPath)
        try lock.lock(.exclusive)
        defer { lock.unlock() }
        NoopManifest.remove(at: "\(workspace.stateDirectory)/noop")
        var state = BuildState.load(from: workspace.statePath)
        var removed = 0
        var failures: [String] = []
        for target in chosen {
            for output in project.rules[target]?.outputs ?? [] where FileStat.of(output, followLinks: false) != nil {
                do {
                    try WorkspacePath.checkParents(of: output)
                    try FileSystem.removeTree(output)
                    removed += 1
                } catch {
                    failures.append("\(target): \(error)")
                }
            }
            state.records[target] = nil
        }
        workspace.sweepStaleTemporaryFiles(project: project)
        if FileSystem.exists(workspace.cache.tempDirectory), let cacheLock = try? FileLock(path: workspace.cache.lockPath),
           cacheLock.tryLock(.exclusive) {
            CacheMaintenance(layout: workspace.cache).sweepStaleTemporaryFiles(shards: false)
            cacheLock.unlock()
        }
        do { try state.save(to: workspace.statePath) } catch { throw CLIError.message("\(error)") }
        print("mlbuild: removed \(counted(removed, "output")) of \(counted(chosen.count, "target")) (cache kept)")
        if !failures.isEmpty { throw CLIError.message(failures.joined(separator: "\nerror: ")) }
    }
}
