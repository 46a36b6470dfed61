import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildHistory
import Synchronization

/// The no-op fast path of `mlbuild [build]` (see NoopManifest): when nothing recorded after the
/// last clean build has changed, report every target fresh without parsing the Mlfile.
struct NoopFastPath {
    let workspace: Workspace
    let mlfilePath: String
    let targets: [String]
    let seed: UInt64?
    let mlfileBytes: [UInt8]?
    /// The run history this build records in (`--history`, `$MLBUILD_HISTORY`, the default).
    let historyPath: String

    init(workspace: Workspace, mlfilePath: String, targets: [String], seed: UInt64?, historyPath: String) {
        self.workspace = workspace
        self.mlfilePath = mlfilePath
        self.targets = targets
        self.seed = seed
        self.historyPath = historyPath
        mlfileBytes = try? FileSystem.readBytes(mlfilePath)
    }

    var manifestPath: String { "\(workspace.stateDirectory)/noop" }
    /// Which history run the manifest's build recorded (`NoopHistoryLink`).
    var historyLinkPath: String { "\(workspace.stateDirectory)/noop-run" }

    /// Everything besides files that decides the build: the targets asked for, the seed, the cache.
    func context(_ environmentNames: [String]) -> ContentDigest? {
        let arguments = ["targets"] + targets + ["seed", seed.map(String.init) ?? "-", "cache", workspace.cache.root]
        return mlfileBytes.map {
            NoopManifest.context(version: MLBuildVersion.current, mlfilePath: mlfilePath, mlfile: $0,
                                 arguments: arguments, environmentNames: environmentNames, environment: workspace.environment)
        }
    }

    /// Which path a build took: `MLBUILD_TRACE=1` prints it (`trace: no-op fast path: hit`, or
    /// `miss (REASON)`), and `--events` records it (`"noop_fast_path"` in the summary), so the
    /// fast path can be told from a full build that happened to find everything fresh.
    enum Outcome: Equatable {
        case hit
        case miss(String)

        var traceLine: String {
            switch self {
            case .hit: return "no-op fast path: hit"
            case let .miss(reason): return "no-op fast path: miss (\(reason))"
            }
        }
    }

    static let lockHeld = "another mlbuild holds the workspace"

    /// The miss `runBeforeParsing` found, handed to the full path of the same process so that it
    /// does not load and check the whole manifest again (at 10,000 targets, 85 ms of a
    /// one-change build). Not kept when the workspace was locked: the full path waits for
    /// the other build, and the manifest may hold after it.
    private static let missBeforeParsing = Mutex<String?>(nil)

    /// What the no-op check found changed, for the incremental path of the same process: the
    /// manifest, the indices of its changed entries, and the manifest file's stat when it was
    /// read (if another build rewrote it since, the finding is stale and not used).
    struct Changes: Sendable {
        var manifest: NoopManifest
        var changed: [Int]
        var manifestStat: FileStat
    }

    /// The summary of the no-op this process answered (for its audit entry).
    static let answered = Mutex<BuildSummary?>(nil)
    var noopSummary: BuildSummary? { Self.answered.withLock { $0 } }

    private static let changesFound = Mutex<Changes?>(nil)

    /// The changes the no-op check found, once; nil when it found none to hand over.
    static func takeChanges() -> Changes? {
        changesFound.withLock { found in
            defer { found = nil }
            return found
        }
    }

    /// The miss found before parsing, once; nil when there was none.
    static func takeMissBeforeParsing() -> String? {
        missBeforeParsing.withLock { miss in
            defer { miss = nil }
            return miss
        }
    }

    /// Reports the no-op when the manifest still holds; a miss when a real build must run (also
    /// when another build holds the workspace: the full path then waits for it).
    func attempt(events: String?, trace: PhaseTrace? = nil) throws -> Outcome {
        let manifestStat = FileStat.of(manifestPath)
        guard let manifest = NoopManifest.load(from: manifestPath) else {
            return .miss(FileSystem.exists(manifestPath) ? "unreadable manifest" : "no manifest")
        }
        // The no-op is recorded in the history as a run whose targets are the last build's:
        // the database is opened on another thread while the manifest is checked.
        guard let link = NoopHistoryLink.load(from: historyLinkPath), link.historyPath == historyPath else {
            return .miss("the run history does not hold the last build")
        }
        let (workspace, mlfilePath) = (self.workspace, self.mlfilePath)
        let startedAt = Date()
        let recording = NoopRecording.start(path: historyPath, sameTargetsAs: link.run) {
            let git = GitRevision.current(workspace: workspace.root)
            return NewRun(startedAt: startedAt, gitRevision: git?.commit, gitDirty: git?.dirty,
                          user: HistoryRecorder.user(workspace.environment), commandLine: HistoryRecorder.commandLine(),
                          mlfilePath: mlfilePath)
        }
        // Any way out but a hit closes the database unwritten.
        var hit = false
        defer { if !hit { recording.cancel() } }
        guard let context = context(manifest.environmentNames) else { return .miss("cannot read the Mlfile") }
        let checkedAt = NoopManifest.now()  // before any re-hash: what `settled` may trust
        // Every change, not only the first: the incremental path takes them over.
        guard let check = manifest.changedEntries(context: context) else {
            return .miss("the Mlfile, the command line or the environment changed")
        }
        if !check.rehashed.isEmpty {
            // Not a `no-op fast path:` line: that one is the verdict, one per build.
            trace?.note("racy entries re-hashed: " + check.rehashed.map { "'\($0)'" }.joined(separator: ", "))
        }
        if let first = check.changed.first {
            if let manifestStat { Self.changesFound.withLock { $0 = Changes(manifest: manifest, changed: check.changed, manifestStat: manifestStat) } }
            let entry = manifest.entries[first]
            guard FileStat.of(entry.path) != nil else { return .miss("'\(entry.path)' is gone") }
            return .miss(entry.racyDigest != nil && FileStat.of(entry.path) == entry.stat
                         ? "'\(entry.path)' changed (re-hashed: it was written within the racy window)" : "'\(entry.path)' changed")
        }
        let lock = try FileLock(path: workspace.lockPath)
        guard lock.tryLock(.exclusive) else { return .miss(Self.lockHeld) }
        defer { lock.unlock() }
        trace?.mark("no-op check")
        var observers: [any BuildObserver] = [ConsoleReporter(live: false)]
        if let events {
            do { observers.append(try EventLog(path: events, noopFastPath: true)) } catch { throw CLIError.usage("\(error)") }
        }
        let observer = ObserverGroup(observers)
        let started = ContinuousClock.now
        var summary = BuildSummary()
        summary.outcomes.reserveCapacity(manifest.targets.count)
        observer.buildStarted(total: manifest.targets.count)
        for (index, (target, key)) in manifest.targets.enumerated() {
            let outcome = TargetOutcome(target: target, status: .fresh, key: key)
            summary.outcomes.append(outcome)
            observer.targetFinished(outcome, done: index + 1, total: manifest.targets.count)
        }
        let elapsed = ContinuousClock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        observer.buildFinished(summary)
        let answered = summary
        Self.answered.withLock { $0 = answered }
        CacheMaintenance(layout: workspace.cache).record(.init(built: 0, restored: 0, fresh: summary.outcomes.count, failed: 0))
        trace?.mark("report")
        hit = true
        do {
            try recording.finish()
        } catch {
            // One warning, as for a full build; without the link the next build records the full way.
            try? FileManager.default.removeItem(atPath: historyLinkPath)
            MLBuildMain.printError("mlbuild: warning: run history not recorded: \(historyPath): \(error)")
        }
        trace?.mark("run history")
        // Racy entries that are out of the window now need no re-hash from here on.
        if !check.rehashed.isEmpty, let settled = manifest.settled(now: checkedAt) { try? settled.save(to: manifestPath) }
        return .hit
    }

    /// After a full build: writes the manifest when the build succeeded and everything it read
    /// was recorded, removes it otherwise.
    /// `historyRun`: the run the history recorded for this build (nil when it could not).
    func record(_ summary: BuildSummary, builder: Builder, project: Project, historyRun: Int64?) {
        NoopManifest.remove(at: manifestPath)
        try? FileManager.default.removeItem(atPath: historyLinkPath)
        guard summary.succeeded, let mlfileBytes else { return }
        let targets = summary.outcomes.compactMap { outcome in outcome.key.map { (outcome.target, $0) } }
        var position: [TargetReference: UInt32] = [:]
        position.reserveCapacity(targets.count)
        for (index, (target, _)) in targets.enumerated() { position[target] = UInt32(index) }
        guard let entries = builder.noopEntries(position: { position[$0] }) else { return }
        if let historyRun { try? NoopHistoryLink(run: historyRun, historyPath: historyPath).save(to: historyLinkPath) }
        var names = Set(NoopManifest.environmentReferences(in: mlfileBytes))
        for outcome in summary.outcomes { names.formUnion(project.rules[outcome.target]?.environment ?? []) }
        let environmentNames = names.sorted()
        guard let context = context(environmentNames) else { return }
        let dependencies = targets.map { target, _ in project.graph.dependencies(of: target).compactMap { position[$0] }.sorted() }
        var manifest = NoopManifest(context: context, environmentNames: environmentNames, targets: targets, entries: entries,
                                    dependencies: dependencies)
        (manifest.sweepBeside, manifest.sweepInside) = workspace.temporaryFilePlaces(project: project)
        var headers: [TargetReference: Int] = [:]
        headers.reserveCapacity(project.mlfile.targets.count)
        for target in project.mlfile.targets { headers[target.reference] = target.nameLocation.line }
        manifest.headerLines = targets.map { target, _ in UInt32(headers[target] ?? 0) }
        manifest.assignmentLines = project.mlfile.assignmentLines.map(UInt32.init)
        try? manifest.save(to: manifestPath)
    }

    /// `mlbuild [build] [TARGET…] [-f F] [-C D] [--cache-dir D] [--seed N] [--events F] [-j N] [-k] [--explain]`
    /// recognized without swift-argument-parser, whose first parse costs ~2 ms of a ~10 ms
    /// no-op. Anything else (another command, another flag, `--opt=value`, a target name
    /// without its kind) returns nil and takes the normal path, which makes the same check.
    static func runBeforeParsing(_ arguments: [String]) -> Int32? {
        var file = "Mlfile", directory: String?, cacheDirectory: String?, seed: UInt64?, events: String?, history: String?
        var targets: [String] = []
        var i = arguments.first == "build" ? 1 : 0
        func value() -> String? {
            i += 1
            return i < arguments.count ? arguments[i] : nil
        }
        while i < arguments.count {
            let argument = arguments[i]
            switch argument {
            case "-f", "--file": guard let v = value() else { return nil }; file = v
            case "-C": guard let v = value() else { return nil }; directory = v
            case "--cache-dir": guard let v = value() else { return nil }; cacheDirectory = v
            case "--seed": guard let v = value(), let n = UInt64(v) else { return nil }; seed = n
            case "--events": guard let v = value() else { return nil }; events = v
            case "--history": guard let v = value() else { return nil }; history = v
            case "-j", "--jobs": guard let v = value(), let n = Int(v), n >= 1 else { return nil }
            case "-k", "--explain": break
            default:
                guard !argument.hasPrefix("-"), TargetReference(parsing: argument) != nil else { return nil }
                targets.append(argument)
            }
            i += 1
        }
        // A bad remote cache setting is an error even when everything is fresh: the full path
        // reports it (checking costs an argument parse, so only when one is set).
        let environment = ProcessInfo.processInfo.environment
        // An MLflow export (`--mlflow` is not parsed here) needs the full path's run.
        if environment["MLBUILD_MLFLOW_URI"]?.isEmpty == false { return nil }
        if ["MLBUILD_REMOTE_CACHE", "MLBUILD_REMOTE_TIMEOUT"].contains(where: { environment[$0]?.isEmpty == false }) {
            guard let options = try? RemoteOptions.parse([]),
                  (try? options.validate(environment: environment)) != nil else { return nil }
        }
        let original = FileManager.default.currentDirectoryPath
        var options = WorkspaceOptions()
        options.file = file
        options.directory = directory
        options.cacheDirectory = cacheDirectory
        options.seed = seed
        guard let workspace = try? options.workspace() else { return nil }
        let fastPath = NoopFastPath(workspace: workspace, mlfilePath: file, targets: targets, seed: seed,
                                    historyPath: HistoryOptions.path(option: history, workspace: workspace))
        let trace = PhaseTrace(enabled: environment["MLBUILD_TRACE"] == "1")
        let audit = BuildAudit.start(workspace: workspace, requested: targets)
        switch try? fastPath.attempt(events: events, trace: trace) {
        case .hit?:
            audit.record(fastPath.noopSummary ?? BuildSummary(), roots: nil, run: nil)
            trace.mark("audit log")
            trace.note(NoopFastPath.Outcome.hit.traceLine)
            return 0
        case let .miss(reason)? where reason != lockHeld:
            // Traced by the full path, which takes it over instead of checking again.
            missBeforeParsing.withLock { $0 = reason }
        default:
            break
        }
        _ = chdir(original)  // the full path applies -C again
        return nil
    }
}
