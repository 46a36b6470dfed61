import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildTestSupport
import Synchronization

/// One workspace in memory: an `InMemoryDisk`, a `FakeCommandRunner`, and an Mlfile of `fake`
/// targets; `build` runs the real `Builder` on them, as `mlbuild build` would (a new stat cache
/// read from the disk each time, the state file and the cache on the disk). No process, no
/// real file.
final class EngineHarness: Sendable {
    static let root = "/in-memory/workspace"
    static let cacheRoot = "/in-memory/cache"

    let disk = InMemoryDisk(workingDirectory: root)
    let runner: FakeCommandRunner
    let observer = RecordingObserver()
    let mlfile: Mutex<String>
    /// The environment the next build sees (what `env`-reading rules pass through).
    let environment = Mutex<[String: String]>([:])
    let rules: [any Rule.Type]

    init(_ mlfile: String, rules: [any Rule.Type] = [FakeRule.self]) {
        runner = FakeCommandRunner(disk: disk)
        self.mlfile = Mutex(mlfile)
        self.rules = rules
    }

    var workspace: Workspace {
        Workspace(root: Self.root, cacheDirectory: Self.cacheRoot, environment: environment.withLock { $0 })
    }

    func build(_ targets: [String] = [], jobs: Int = 1, keepGoing: Bool = false) async throws -> Built {
        let text = mlfile.withLock { $0 }
        let project = try Project.load(mlfile: try Mlfile.load(path: "Mlfile", text: text, environment: [:]),
                                       registry: RuleRegistry(rules), seedOverride: nil)
        let workspace = self.workspace
        let builder = Builder(project: project, workspace: workspace,
                              statCache: StatCache(path: workspace.statCachePath, disk: disk), runner: runner, disk: disk)
        observer.reset()
        let summary = await builder.build(try project.resolveTargets(targets), options: BuildOptions(jobs: jobs, keepGoing: keepGoing, explain: true),
                                          observer: observer)
        // Time passes between builds (so nothing this build wrote is in the next one's racy window).
        disk.advanceClock(by: 10 * InMemoryDisk.tick)
        return Built(summary: summary, ran: runner.takeStarted(), explained: observer.explained, warnings: observer.warnings,
                     keysComputed: builder.keysComputed)
    }

    /// The records of the workspace state file.
    func stateRecords() -> [TargetReference: BuildState.Record] {
        BuildState.load(from: workspace.statePath, disk: disk).records
    }

    /// Action cache entries (`ac/…`) in the cache directory.
    func actionCacheEntries() -> [String] { disk.files(under: workspace.cache.acDirectory) }

    struct Built {
        var summary: BuildSummary
        /// Targets whose command started, in order.
        var ran: [String]
        var explained: [String: RunReason]
        var warnings: [String]
        /// Action keys the build computed (`Builder.keysComputed`).
        var keysComputed: Int

        func status(_ target: String) -> TargetStatus? {
            summary.outcomes.first { $0.target.description == target }?.status
        }

        func outcome(_ target: String) -> TargetOutcome? {
            summary.outcomes.first { $0.target.description == target }
        }

        /// `target: status` for every target, in dependency order.
        var statuses: [String] { summary.outcomes.map { "\($0.target): \($0.status.rawValue)" } }
    }
}

/// Keeps what the builder tells observers: the last reason per target, the warnings.
final class RecordingObserver: BuildObserver {
    private let state = Mutex<(explained: [String: RunReason], warnings: [String])>(([:], []))

    var explained: [String: RunReason] { state.withLock { $0.explained } }
    var warnings: [String] { state.withLock { $0.warnings } }

    func reset() { state.withLock { $0 = ([:], []) } }

    func targetFinished(_ outcome: TargetOutcome, done: Int, total: Int) {}
    func buildFinished(_ summary: BuildSummary) {}
    func explain(_ target: TargetReference, reason: RunReason) { state.withLock { $0.explained[target.description] = reason } }
    func warning(_ text: String) { state.withLock { $0.warnings.append(text) } }
}
