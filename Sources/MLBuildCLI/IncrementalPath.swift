import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildRules
import Synchronization

/// The incremental path of `mlbuild [build]`: when the no-op manifest does not hold only
/// because some files changed (the Mlfile, the command line and the environment are as the
/// last successful build left them), the manifest tells which targets own those files
/// (`NoopManifest.Entry.owners`); those and everything that depends on them are built, and
/// every other target is fresh without being configured, evaluated or even parsed beyond
/// the Mlfile's syntax. This is how one edited source file in a 100,000-target graph costs
/// about what it costs Ninja, which re-stats everything but evaluates only what moved.
///
/// Conservative like the no-op path: a changed file no target owns by a plain path (found by a
/// glob, in a listed directory), an auxiliary target, a read-only cache, a target without its
/// state record, another build holding the workspace — anything it cannot vouch for returns
/// `false` before touching anything, and the full path runs.
struct IncrementalPath {
    let fastPath: NoopFastPath
    let mlfilePath: String
    let seed: UInt64?

    /// What the manifest says must be built.
    struct Plan {
        var manifest: NoopManifest
        var link: NoopHistoryLink
        /// Indices into `manifest.targets`: the owners of changed files and their dependents.
        var stale: [Int]
        var changedFiles: Int
    }

    /// The plan, or nil when the full path must decide.
    /// `found`: what the no-op check of this process found (`NoopFastPath.takeChanges`), used
    /// when the manifest file is still the one it read; else the manifest is checked here.
    func plan(found: NoopFastPath.Changes? = nil) -> Plan? {
        guard let link = NoopHistoryLink.load(from: fastPath.historyLinkPath), link.historyPath == fastPath.historyPath else { return nil }
        let manifest: NoopManifest, changed: [Int]
        if let found, FileStat.of(fastPath.manifestPath) == found.manifestStat {
            (manifest, changed) = (found.manifest, found.changed)
        } else {
            guard let loaded = NoopManifest.load(from: fastPath.manifestPath),
                  let context = fastPath.context(loaded.environmentNames),
                  let check = loaded.changedEntries(context: context) else { return nil }
            (manifest, changed) = (loaded, check.changed)
        }
        guard !changed.isEmpty, let stale = manifest.staleTargets(changed: changed) else { return nil }
        return Plan(manifest: manifest, link: link, stale: stale, changedFiles: changed.count)
    }

    /// Builds the stale targets of `plan` and reports the whole build; false (nothing done) when
    /// the full path must run instead. Throws as the full path does when the build fails or is
    /// cancelled.
    func run(workspace: Workspace, options: BuildOptions, console: ConsoleReporter, events: String?,
             remote: (any RemoteCacheBackend)?, remoteExecution: RemoteExecutionOptions?, trace: PhaseTrace,
             audit: BuildAudit? = nil) async throws -> Bool {
        // Without a manifest there is nothing to go on (and nothing is created, not even the lock).
        guard FileSystem.exists(fastPath.manifestPath) else { return false }
        // Held from the manifest check on: another build could change what it found.
        let workspaceLock = try FileLock(path: workspace.lockPath)
        guard workspaceLock.tryLock(.exclusive) else { return false }
        defer { workspaceLock.unlock() }
        guard !workspace.cache.isReadOnly, let plan = plan(found: NoopFastPath.takeChanges()) else { return false }
        let manifest = plan.manifest
        let staleTargets = plan.stale.map { manifest.targets[$0].0 }
        var dependencies: [TargetReference: [TargetReference]] = [:]
        var assumedFresh: Set<TargetReference> = []
        let staleSet = Set(plan.stale)
        var configured = staleSet   // the stale targets and their dependencies (indices)
        for index in plan.stale {
            let list = manifest.dependencies[index].map { manifest.targets[Int($0)].0 }
            dependencies[manifest.targets[index].0] = list
            for (dependency, position) in zip(list, manifest.dependencies[index]) where !staleSet.contains(Int(position)) {
                assumedFresh.insert(dependency)
                configured.insert(Int(position))
            }
        }
        // Only the statements of the stale targets and the top-level assignments are parsed.
        guard let bytes = fastPath.mlfileBytes,
              let lines = manifest.statementLines(of: configured.sorted(), lineCount: Self.lineCount(bytes)),
              let mlfile = try? Mlfile.load(path: mlfilePath, bytes: bytes, environment: workspace.environment,
                                            only: Set(staleTargets).union(assumedFresh), lines: lines),
              let project = Project.subset(mlfile: mlfile, registry: BuiltinRules.registry, seedOverride: seed,
                                           targets: staleTargets, dependencies: dependencies) else { return false }
        trace.mark("load Mlfile (\(configured.count) of \(manifest.targets.count) targets)")

        let state = BuildState.load(from: workspace.statePath, only: Set(staleTargets).union(assumedFresh))
        // A partial state only appends to the journal: past the file's own size, the full path
        // (which writes the state whole) folds it in.
        guard assumedFresh.allSatisfy({ state.records[$0] != nil }), state.loadedBytes.journal <= state.loadedBytes.file else {
            return false
        }
        // Where the full build would sweep: every target's output directories, not only these.
        workspace.sweepStaleTemporaryFiles(beside: manifest.sweepBeside, inside: manifest.sweepInside)
        let cacheLock = try BuildCommand.lockCache(workspace)
        defer { cacheLock?.unlock() }

        var observers: [any BuildObserver] = [console]
        if let events {
            do { observers.append(try EventLog(path: events, noopFastPath: false)) } catch { throw CLIError.usage("\(error)") }
        }
        // The stat cache for the files the stale targets looked at last time (the others'
        // entries are read past, not decoded).
        var looked: Set<String> = []
        for entry in manifest.entries where entry.owners.contains(where: { staleSet.contains(Int($0)) }) { looked.insert(entry.path) }
        let statCache = StatCache(path: workspace.statCachePath, only: looked)
        let builder = Builder(project: project, workspace: workspace, statCache: statCache, remote: remote, remoteExecution: remoteExecution)
        let history = HistoryRecorder(path: fastPath.historyPath, workspace: workspace, mlfilePath: mlfilePath)
        let observer = WholeBuildObserver(ObserverGroup(observers), targets: manifest.targets, built: Set(staleTargets).union(assumedFresh))
        trace.mark("prepare")
        let fresh = assumedFresh
        let (partial, signal) = await BuildCancellation.watch {
            await builder.build(staleTargets, options: options, observer: observer, assumedFresh: fresh, previousState: state)
        }
        trace.mark("build")
        trace.note("incremental path: \(staleTargets.count) of \(manifest.targets.count) targets stale "
                   + "(\(plan.changedFiles) changed file\(plan.changedFiles == 1 ? "" : "s"))")
        trace.note("action keys computed: \(builder.keysComputed) of \(manifest.targets.count) targets")
        // The history gets the targets this build evaluated; the rest it takes over from the
        // run of the last full build, as fresh.
        var evaluated = partial
        evaluated.outcomes.removeAll { assumedFresh.contains($0.target) }
        NoopManifest.remove(at: fastPath.manifestPath)
        try? FileManager.default.removeItem(atPath: fastPath.historyLinkPath)
        if partial.cancelled {
            ProcessGroupTermination.waitForAll()
            history.finish(evaluated, project: project, workspace: workspace)
            audit?.record(partial, roots: staleTargets, run: history.recordedRun)
            MLBuildMain.printError(BuildCancellation.line(partial, signal: signal))
            throw ExitCode(BuildCancellation.exitStatus)
        }
        let whole = observer.finished ?? observer.whole(partial)
        history.finish(evaluated, project: project, workspace: workspace, othersFrom: plan.link.run)
        trace.mark("run history")
        audit?.record(whole, roots: nil, run: history.recordedRun)
        ProcessTeardown.keepUntilExit(builder, project, whole)
        CacheMaintenance(layout: workspace.cache).record(.init(
            built: whole.count(.built), restored: whole.count(.restored), fresh: whole.count(.fresh), failed: whole.count(.failed)))
        // Only the stale targets looked at files (the others were taken fresh).
        var position: [TargetReference: UInt32] = [:]
        for index in plan.stale { position[manifest.targets[index].0] = UInt32(index) }
        if whole.succeeded, let witnessed = builder.noopEntries(position: { position[$0] }) {
            var keys: [TargetReference: ContentDigest] = [:]
            for outcome in partial.outcomes { if let key = outcome.key { keys[outcome.target] = key } }
            let updated = manifest.updated(stale: staleSet, keys: keys, witnessed: witnessed)
            if let run = history.recordedRun {
                try? NoopHistoryLink(run: run, historyPath: fastPath.historyPath).save(to: fastPath.historyLinkPath)
                try? updated.save(to: fastPath.manifestPath)
            }
        }
        trace.mark("record")
        if !whole.succeeded { throw CLIError.failed }
        return true
    }
}

extension IncrementalPath {
    /// Lines of a text as `SourceFile` counts them (enough for a range's end: a range past the
    /// last line is cut there).
    static func lineCount(_ bytes: [UInt8]) -> Int {
        bytes.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } + 1
    }
}

/// Tells observers of an incremental build about the whole build: every target of the
/// manifest, those the builder did not see as fresh (told first), the builder's own with
/// their counts shifted, and a summary of all of them in the manifest's order.
final class WholeBuildObserver: BuildObserver {
    private let inner: any BuildObserver
    private let targets: [(TargetReference, ContentDigest)]
    private let built: Set<TargetReference>
    private let others: Int

    init(_ inner: any BuildObserver, targets: [(TargetReference, ContentDigest)], built: Set<TargetReference>) {
        self.inner = inner
        self.targets = targets
        self.built = built
        others = targets.reduce(0) { $0 + (built.contains($1.0) ? 0 : 1) }
    }

    var total: Int { targets.count }

    func buildStarted(total _: Int) {
        inner.buildStarted(total: total)
        var done = 0
        for (target, key) in targets where !built.contains(target) {
            done += 1
            inner.targetFinished(TargetOutcome(target: target, status: .fresh, key: key), done: done, total: total)
        }
    }

    func targetStarted(_ target: TargetReference, running: [TargetReference], done: Int, total _: Int) {
        inner.targetStarted(target, running: running, done: done + others, total: total)
    }

    func targetFinished(_ outcome: TargetOutcome, done: Int, total _: Int) {
        inner.targetFinished(outcome, done: done + others, total: total)
    }

    func explain(_ target: TargetReference, reason: RunReason) { inner.explain(target, reason: reason) }
    func warning(_ text: String) { inner.warning(text) }
    func progress(_ target: TargetReference, done: Int64, total: Int64?, unit: String) {
        inner.progress(target, done: done, total: total, unit: unit)
    }

    func buildFinished(_ summary: BuildSummary) {
        if summary.cancelled { return inner.buildFinished(summary) }
        let whole = whole(summary)
        told.withLock { $0 = whole }
        inner.buildFinished(whole)
    }

    /// The whole summary told at `buildFinished` (nil before, or after a cancellation).
    private let told = Mutex<BuildSummary?>(nil)
    var finished: BuildSummary? { told.withLock { $0 } }

    /// The builder's summary with every other target of the manifest, fresh, in the manifest's order.
    func whole(_ partial: BuildSummary) -> BuildSummary {
        var byTarget: [TargetReference: TargetOutcome] = [:]
        for outcome in partial.outcomes { byTarget[outcome.target] = outcome }
        var summary = partial
        summary.outcomes = []
        summary.outcomes.reserveCapacity(targets.count)
        for (target, key) in targets {
            if let outcome = byTarget.removeValue(forKey: target) {
                summary.outcomes.append(outcome)
            } else if !built.contains(target) {
                summary.outcomes.append(TargetOutcome(target: target, status: .fresh, key: key))
            }
        }
        return summary
    }
}
