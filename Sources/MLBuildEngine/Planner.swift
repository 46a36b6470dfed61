import MLBuildCache
import MLBuildCore

/// What a build would do, decided without running or restoring anything (`status`, `-n`).
public struct PlannedTarget: Sendable {
    public enum Action: Sendable, Equatable {
        case fresh
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
    public func plan(_ roots: [TargetReference]) -> [PlannedTarget] {
        let state = BuildState.load(from: workspace.statePath)
        var results: [TargetReference: ActionResult] = [:]
        var pending: Set<TargetReference> = []
        var out: [PlannedTarget] = []
        for target in project.graph.closure(of: roots) {
            let dependencies = project.graph.dependencies(of: target)
            if let waiting = dependencies.first(where: { pending.contains($0) }) {
                pending.insert(target)
                out.append(PlannedTarget(target: target, action: .run, reason: .dependencyChanged(waiting.description)))
                continue
            }
            var dependencyResults: [TargetReference: ActionResult] = [:]
            for dependency in dependencies { dependencyResults[dependency] = results[dependency] }
            do {
                let evaluated = try evaluate(target, dependencyResults: dependencyResults, state: state)
                switch evaluated.decision {
                case let .fresh(result):
                    results[target] = result
                    out.append(PlannedTarget(target: target, action: .fresh, reason: nil))
                case let .restore(result, reason):
                    results[target] = result
                    out.append(PlannedTarget(target: target, action: .restore, reason: reason))
                case let .run(reason):
                    pending.insert(target)
                    out.append(PlannedTarget(target: target, action: .run, reason: reason))
                }
            } catch {
                pending.insert(target)
                out.append(PlannedTarget(target: target, action: .blocked(Builder.describe(error)), reason: nil))
            }
        }
        return out
    }
}
