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

    @OptionGroup(title: "Remote execution") var executorOptions: RemoteExecutorOptions

    @OptionGroup(title: "Run history") var historyOptions: HistoryOptions

    @OptionGroup(title: "MLflow export") var mlflowOptions: MLflowOptions

    @OptionGroup(title: "Provenance") var signingOptions: SigningOptions

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
        ReleaseChannelReader.install(history: historyOptions.history, workspace: workspace)
        let console = ConsoleReporter(live: ConsoleReporter.wantsLiveOutput(environment: workspace.environment))
        let warn: @Sendable (String) -> Void = { console.warning($0) }
        try signingOptions.configure(environment: workspace.environment)
        let audit = dryRun ? nil : BuildAudit.forBuild(workspace: workspace, requested: targets)
        // Checked before the no-op path: a bad --remote-cache is an error even when all is fresh.
        let (remote, remoteExecution) = try executorOptions.configure(cache: remoteOptions, environment: workspace.environment, onWarning: warn)
        let fastPath = NoopFastPath(workspace: workspace, mlfilePath: workspaceOptions.file, targets: targets, seed: workspaceOptions.seed,
                                    historyPath: historyOptions.path(in: workspace))
        // An MLflow export sends the build's run, with every target: the full path records one.
        let outcome: NoopFastPath.Outcome = dryRun ? .miss("not tried with --dry-run")
            : mlflowOptions.url(environment: workspace.environment) != nil ? .miss("not tried with an MLflow export")
            : try NoopFastPath.takeMissBeforeParsing().map { .miss($0) } ?? fastPath.attempt(events: events, trace: trace)
        trace.note(outcome.traceLine)
        trace.mark("no-op check")
        if outcome == .hit {
            audit?.record(fastPath.noopSummary ?? BuildSummary(), roots: nil, run: nil)
            return
        }
        let options = BuildOptions(jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, keepGoing: keepGoing, explain: explain)
        if !dryRun, mlflowOptions.url(environment: workspace.environment) == nil,
           case let .miss(reason) = outcome, reason != NoopFastPath.lockHeld {
            let incremental = IncrementalPath(fastPath: fastPath, mlfilePath: workspaceOptions.file, seed: workspaceOptions.seed)
            if try await incremental.run(workspace: workspace, options: options, console: console, events: events,
                                         remote: remote, remoteExecution: remoteExecution, trace: trace, audit: audit) {
                return
            }
        }
        let project = try workspaceOptions.project(in: workspace, bytes: fastPath.mlfileBytes)
        trace.mark("load Mlfile")
        let roots: [TargetReference]
        do { roots = try project.resolveTargets(targets) } catch let list as DiagnosticList {
            throw CLIError.usage(list.diagnostics.map(\.message).joined(separator: "\n"))
        }
        let statCache = StatCache(path: workspace.statCachePath)
        let builder = Builder(project: project, workspace: workspace, statCache: statCache, remote: remote, remoteExecution: remoteExecution)

        if dryRun {
            // Asks the remote's action cache, as `status` does; nothing is fetched or uploaded.
            for planned in await builder.plan(roots) { print(StatusCommand.describe(planned, dryRun: true)) }
            trace.mark("plan")
            trace.note("action keys computed: \(builder.keysComputed) of \(project.graph.closure(of: roots).count) targets")
            return
        }

        let workspaceLock = try FileLock(path: workspace.lockPath)
        if !workspaceLock.tryLock(.exclusive) {
            MLBuildMain.printError("mlbuild: waiting for another mlbuild in this workspace…")
            try workspaceLock.lock(.exclusive)
        }
        defer { workspaceLock.unlock() }
        workspace.sweepStaleTemporaryFiles(project: project)
        let cacheLock = try Self.lockCache(workspace)
        defer { cacheLock?.unlock() }
        if workspace.cache.isReadOnly {
            // Restoring from the remote would write blobs into this cache too: it is not asked.
            let toBuild = await builder.plan(roots, consultingRemote: false).filter { $0.action == .run }.map(\.target)
            if let first = toBuild.first {
                throw CLIError.usage("the cache directory \(workspace.cache.root) is read-only, and \(toBuild.count) "
                    + "target\(toBuild.count == 1 ? "" : "s") must be built (first: \(first)); a build stores every result "
                    + "in the cache: use --cache-dir with a writable directory (or make this one writable)")
            }
        }

        var observers: [any BuildObserver] = [console]
        if let events {
            do { observers.append(try EventLog(path: events, noopFastPath: false)) } catch { throw CLIError.usage("\(error)") }
        }
        let history = HistoryRecorder(path: historyOptions.path(in: workspace), workspace: workspace, mlfilePath: workspaceOptions.file)
        trace.mark("prepare")
        let observer = ObserverGroup(observers)
        let (summary, signal) = await BuildCancellation.watch { await builder.build(roots, options: options, observer: observer) }
        trace.mark("build")
        trace.note("action keys computed: \(builder.keysComputed) of \(summary.outcomes.count) targets")
        if summary.cancelled {
            // No descendant of a cancelled target outlives mlbuild (SIGKILL after the grace).
            ProcessGroupTermination.waitForAll()
            history.finish(summary, project: project, workspace: workspace)
            audit?.record(summary, roots: roots, run: history.recordedRun)
            MLBuildMain.printError(BuildCancellation.line(summary, signal: signal))
            throw ExitCode(BuildCancellation.exitStatus)
        }
        history.finish(summary, project: project, workspace: workspace)
        audit?.record(summary, roots: roots, run: history.recordedRun)
        ProcessTeardown.keepUntilExit(builder, project, summary)
        CacheMaintenance(layout: workspace.cache).record(.init(
            built: summary.count(.built), restored: summary.count(.restored),
            fresh: summary.count(.fresh), failed: summary.count(.failed)))
        fastPath.record(summary, builder: builder, project: project, historyRun: history.recordedRun)
        trace.mark("record")
        await mlflowOptions.exportAfterBuild(runID: history.recordedRun, historyPath: history.path, workspace: workspace, warn: warn)
        if !summary.succeeded { throw CLIError.failed }
    }

    /// The cache's lock, held shared for the build. A read-only cache is only read: its lock
    /// (when there is one) is taken through a read-only descriptor, and the build stops before
    /// anything would have to be stored.
    static func lockCache(_ workspace: Workspace) throws -> FileLock? {
        let cacheLock: FileLock?
        if workspace.cache.isReadOnly {
            cacheLock = try? FileLock(readingExisting: workspace.cache.lockPath)
        } else {
            let lock = try FileLock(path: workspace.cache.lockPath)
            // Alone with the cache (no other build, no gc): sweep what killed builds left in tmp/.
            if lock.tryLock(.exclusive) { CacheMaintenance(layout: workspace.cache).sweepStaleTemporaryFiles(shards: false) }
            cacheLock = lock
        }
        try cacheLock?.lock(.shared)
        return cacheLock
    }
}
