import MLBuildCache
import MLBuildCore

/// What a build would do, decided without running or restoring anything (`status`, `-n`), by
/// the code the build decides with (`Builder.evaluate`, `FingerprintSummary.firstDifference`,
/// `RunReason`): the same change reads the same words in `status` and `build --explain`.
public struct PlannedTarget: Sendable {
    public enum Action: Sendable, Equatable {
        case fresh
        /// From the cache the reason names (`reason.source`).
        case restore
        case run
        /// The target's key cannot be known until a dependency has run (or it cannot be computed).
        case blocked(String)
    }

    public var target: TargetReference
    public var action: Action
    public var reason: RunReason?
}

extension Builder {
    /// Decides every target as a build would, from the workspace state, the local action cache
    /// and, when `consultingRemote` and a remote cache is configured, the remote action cache
    /// (one request per target the local cache cannot satisfy; its blobs are not fetched).
    public func plan(_ roots: [TargetReference], consultingRemote: Bool = true) async -> [PlannedTarget] {
        let state = BuildState.load(from: workspace.statePath)
        var results: [TargetReference: DependencyResult] = [:]
        var pending: Set<TargetReference> = []
        var out: [PlannedTarget] = []
        for target in project.graph.closure(of: roots) {
            let dependencies = project.graph.dependencies(of: target)
            if let waiting = dependencies.first(where: { pending.contains($0) }) {
                pending.insert(target)
                out.append(PlannedTarget(target: target, action: .run, reason: RunReason(.dependencyPending(waiting.description))))
                continue
            }
            // Sorted by target, as the key takes them; each result's manifest computed once.
            let dependencyResults = dependencies.sorted().compactMap { results[$0] }
            let evaluated: Evaluated
            do {
                evaluated = try evaluate(target, dependencies: dependencyResults, state: state)
            } catch {
                pending.insert(target)
                out.append(PlannedTarget(target: target, action: .blocked(Builder.describe(error)), reason: nil))
                continue
            }
            var decision = evaluated.decision
            if consultingRemote, case let .run(reason) = decision {
                decision = await remoteDecision(for: target, evaluated: evaluated, reason: reason)
            }
            // A local restore whose blob is gone turns into a build, as it will in the build
            // (Builder.restore), with the same words; the blobs' contents are not hashed here.
            if case let .restore(result, reason) = decision, reason.source == .localCache,
               let missing = result.outputs.lazy.compactMap(\.digest).first(where: { !store.contains($0) }) {
                decision = .run(RunReason(.restoreFailed(.blobMissing(missing))))
            }
            switch decision {
            case let .fresh(result):
                results[target] = DependencyResult(target: target, result: result)
                out.append(PlannedTarget(target: target, action: .fresh, reason: nil))
            case let .restore(result, reason):
                results[target] = DependencyResult(target: target, result: result)
                out.append(PlannedTarget(target: target, action: .restore, reason: reason))
            case let .run(reason):
                pending.insert(target)
                out.append(PlannedTarget(target: target, action: .run, reason: reason))
            }
        }
        return out
    }
}
