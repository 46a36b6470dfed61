import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine

/// `mlbuild [build] [options] [TARGET...]`.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build targets (the default command).",
        discussion: "With no TARGET, builds the Mlfile's `default`, or every target when it has none."
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @OptionGroup(title: "Remote cache") var remoteOptions: RemoteOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Run up to N targets at once (default: the number of cores).", valueName: "N"))
    var jobs: Int?

    @Flag(name: .customShort("k"), help: "Keep going past failures (build everything that does not depend on them).")
    var keepGoing = false

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Show what would be done; run nothing.")
    var dryRun = false

    @Flag(help: "Print why each target that is not fresh will run.")
    var explain = false

    @Option(help: ArgumentHelp("Write JSON Lines build events to FILE.", valueName: "FILE"))
    var events: String?

    @Argument(help: ArgumentHelp("Targets to build, as KIND:NAME.", valueName: "TARGET"))
    var targets: [String] = []

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("-j must be at least 1") }
    }

    func run() async throws {
        let trace = PhaseTrace(enabled: ProcessInfo.processInfo.environment["MLBUILD_TRACE"] == "1")
        let workspace = try workspaceOptions.workspace()
        let noopPath = "\(workspace.stateDirectory)/noop"
        let mlfileBytes = try? FileSystem.readBytes(workspaceOptions.file)
        let contextArguments = ["targets"] + targets + ["seed", workspaceOptions.seed.map(String.init) ?? "-", "cache", workspace.cache.root]
        func noopContext(_ names: [String]) -> ContentDigest? {
            mlfileBytes.map {
                NoopManifest.context(version: MLBuildVersion.current, mlfilePath: workspaceOptions.file, mlfile: $0,
                                     arguments: contextArguments, environmentNames: names, environment: workspace.environment)
            }
        }
        if !dryRun, let manifest = NoopManifest.load(from: noopPath), let context = noopContext(manifest.environmentNames),
           manifest.matches(context: context), try finishWithoutWork(manifest, workspace: workspace) {
            trace.mark("no-op check")
            return
        }
        trace.mark("no-op check")
        let project = try workspaceOptions.project(in: workspace)
        trace.mark("load Mlfile")
        let roots: [TargetReference]
        do { roots = try project.resolveTargets(targets) } catch let list as DiagnosticList {
            throw CLIError.usage(list.diagnostics.map(\.message).joined(separator: "\n"))
        }
        let statCache = StatCache(path: workspace.statCachePath)
        let console = ConsoleReporter(live: ConsoleReporter.wantsLiveOutput(environment: workspace.environment))
        let warn: @Sendable (String) -> Void = { console.warning($0) }
        let remote = try remoteOptions.session(environment: workspace.environment, onWarning: warn)
            .map { RemoteCacheAdapter(session: $0, onWarning: warn) }
        let builder = Builder(project: project, workspace: workspace, statCache: statCache, remote: dryRun ? nil : remote)

        if dryRun {
            for planned in builder.plan(roots) { print(StatusCommand.describe(planned, dryRun: true)) }
            return
        }

        let workspaceLock = try FileLock(path: workspace.lockPath)
        if !workspaceLock.tryLock(.exclusive) {
            MLBuildMain.printError("mlbuild: waiting for another mlbuild in this workspace…")
            try workspaceLock.lock(.exclusive)
        }
        defer { workspaceLock.unlock() }
        let cacheLock = try FileLock(path: workspace.cache.lockPath)
        try cacheLock.lock(.shared)
        defer { cacheLock.unlock() }

        var observers: [any BuildObserver] = [console]
        if let events {
            do { observers.append(try EventLog(path: events)) } catch { throw CLIError.usage("\(error)") }
        }
        let options = BuildOptions(jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, keepGoing: keepGoing, explain: explain)
        trace.mark("prepare")
        let summary = await builder.build(roots, options: options, observer: ObserverGroup(observers))
        trace.mark("build")
        CacheMaintenance(layout: workspace.cache).record(.init(
            built: summary.count(.built), restored: summary.count(.restored),
            fresh: summary.count(.fresh), failed: summary.count(.failed)))
        NoopManifest.remove(at: noopPath)
        if summary.succeeded, let entries = builder.noopEntries(), let mlfileBytes {
            var names = Set(NoopManifest.environmentReferences(in: mlfileBytes))
            for outcome in summary.outcomes { names.formUnion(project.rules[outcome.target]?.environment ?? []) }
            let environmentNames = names.sorted()
            if let context = noopContext(environmentNames) {
                let targets = summary.outcomes.compactMap { outcome in outcome.key.map { (outcome.target, $0) } }
                try? NoopManifest(context: context, environmentNames: environmentNames, targets: targets, entries: entries).save(to: noopPath)
            }
        }
        trace.mark("record")
        if !summary.succeeded { throw CLIError.failed }
    }

    /// The fast path: everything recorded in the no-op manifest is unchanged, so every target is
    /// fresh. Reports exactly what a full no-op build reports. False when another build holds
    /// the workspace (then the full path runs and waits for it).
    private func finishWithoutWork(_ manifest: NoopManifest, workspace: Workspace) throws -> Bool {
        let lock = try FileLock(path: workspace.lockPath)
        guard lock.tryLock(.exclusive) else { return false }
        defer { lock.unlock() }
        var observers: [any BuildObserver] = [ConsoleReporter(live: false)]
        if let events {
            do { observers.append(try EventLog(path: events)) } catch { throw CLIError.usage("\(error)") }
        }
        let observer = ObserverGroup(observers)
        let clock = ContinuousClock()
        let started = clock.now
        var summary = BuildSummary()
        observer.buildStarted(total: manifest.targets.count)
        for (index, (target, key)) in manifest.targets.enumerated() {
            let outcome = TargetOutcome(target: target, status: .fresh, key: key)
            summary.outcomes.append(outcome)
            observer.targetFinished(outcome, done: index + 1, total: manifest.targets.count)
        }
        let elapsed = clock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        observer.buildFinished(summary)
        CacheMaintenance(layout: workspace.cache).record(.init(built: 0, restored: 0, fresh: summary.outcomes.count, failed: 0))
        return true
    }
}
