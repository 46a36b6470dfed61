import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildHistory
import MLBuildRules

/// `mlbuild release deploy:NAME --channel C --promote-canary`: which image is the canary, and
/// the checks before it is released as the channel's stable image. The release itself is the
/// ordinary one of `ReleaseCommand` (gates, clean tree, approvals, push, audit log).
struct CanaryPromotion {
    var deploy: TargetReference
    var rule: DeployRule
    /// The container the deploy target runs as its canary.
    var container: TargetReference

    /// Refuses a target that is not a deploy target with a canary on `channel`.
    static func load(_ name: String, channel: String, workspace: Workspace, project: Project) async throws -> CanaryPromotion {
        guard let deploy = TargetReference(parsing: name), deploy.kind == DeployRule.kind else {
            throw CLIError.usage("--promote-canary takes the deploy target whose canary to promote: mlbuild release deploy:NAME --channel \(channel) --promote-canary")
        }
        guard let rule = project.rules[deploy] as? DeployRule else { throw CLIError.usage("no target \(deploy) in the Mlfile") }
        guard let percent = rule.canary, let own = rule.channel else {
            throw CLIError.message("\(deploy) has no canary to promote: it sets no canary = PERCENT and channel = NAME")
        }
        guard own == channel else {
            throw CLIError.usage("\(deploy)'s canary (\(percent)%) runs beside channel '\(own)', not '\(channel)': pass --channel \(own)")
        }
        guard let container = rule.container else { throw CLIError.message("\(deploy) names no container target") }
        return CanaryPromotion(deploy: deploy, rule: rule, container: container)
    }

    /// Refuses a deploy target that is not built and up to date: its manifest is what was rolled out.
    func requireBuilt(workspace: Workspace, project: Project) async throws {
        let builder = Builder(project: project, workspace: workspace, statCache: StatCache(path: workspace.statCachePath))
        let planned = await builder.plan([deploy], consultingRemote: false)
        if let stale = planned.first(where: { $0.action != .fresh }) {
            let why = stale.reason.map { ": \($0.description)" } ?? ""
            throw CLIError.message("\(deploy) is not up to date (\(stale.target) \(stale.action == .run ? "would run" : "would be restored")\(why)); "
                + "build and roll out its canary first: mlbuild \(deploy)")
        }
    }

    /// The channel's current release, which the canary replaces; refuses when the canary's image
    /// is that release already, or when the channel has none.
    func check(image: ReleasedImage, store: ReleaseStore) throws -> ReleaseStore.Release {
        let channel = rule.channel ?? ""
        guard let current = try store.current(channel: channel) else {
            throw CLIError.message("channel '\(channel)' has no release: there is no stable image for the canary of \(deploy) to replace")
        }
        if current.imageDigest == image.imageDigest {
            throw CLIError.message("nothing to promote: the canary image of \(deploy) (\(image.target) \(image.imageDigest)) is already \(channel)'s current release #\(current.id)")
        }
        return current
    }
}
