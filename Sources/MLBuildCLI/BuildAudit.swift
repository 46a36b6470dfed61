import Foundation
import MLBuildCore
import MLBuildEngine
import MLBuildHistory
import Synchronization

/// The audit entry of a build (every path: full, incremental, no-op):
///
///     action "build", details: targets (as asked, or "default"), status
///     (succeeded|failed|cancelled), built/restored/fresh/failed counts, run (the history's
///     run id) and, for up to 20 requested targets, `key:KIND:NAME` = action key and
///     `outputs:KIND:NAME` = output-manifest digest.
///
/// Who is looked up (git config user.email, else $USER) on a thread of its own as soon as the
/// build starts, so the no-op path does not wait for a git process. A failure to append is a
/// warning: the build's result stands.
final class BuildAudit: Sendable {
    private let workspace: Workspace
    private let requested: [String]
    private let identity = Mutex<String?>(nil)
    private let looked = DispatchSemaphore(value: 0)

    /// The audit the no-op check started (its `git config` lookup already under way), for the
    /// full path of the same build to take over instead of looking again.
    private static let started = Mutex<BuildAudit?>(nil)

    /// The one the no-op check started for this workspace, else a new one.
    static func forBuild(workspace: Workspace, requested: [String]) -> BuildAudit {
        if let earlier = started.withLock({ $0 }), earlier.workspace.root == workspace.root, earlier.requested == requested {
            return earlier
        }
        return BuildAudit(workspace: workspace, requested: requested)
    }

    /// Starts the lookup and remembers it for `forBuild`.
    static func start(workspace: Workspace, requested: [String]) -> BuildAudit {
        let audit = BuildAudit(workspace: workspace, requested: requested)
        started.withLock { $0 = audit }
        return audit
    }

    private init(workspace: Workspace, requested: [String]) {
        self.workspace = workspace
        self.requested = requested
        let thread = Thread { [self] in
            let who = ReleaseSupport.who(workspace: workspace)
            identity.withLock { $0 = who }
            looked.signal()
        }
        thread.start()
    }

    func record(_ summary: BuildSummary, roots: [TargetReference]?, run: Int64?) {
        looked.wait()
        looked.signal()
        let who = identity.withLock { $0 } ?? "unknown"
        var details: [String: String] = [
            "targets": requested.isEmpty ? "default" : requested.joined(separator: " "),
            "status": summary.cancelled ? "cancelled" : summary.succeeded ? "succeeded" : "failed",
            "built": String(summary.count(.built)), "restored": String(summary.count(.restored)),
            "fresh": String(summary.count(.fresh)), "failed": String(summary.count(.failed)),
        ]
        if let run { details["run"] = String(run) }
        let wanted = Set((roots ?? []).prefix(20))
        for outcome in summary.outcomes where wanted.contains(outcome.target) {
            if let key = outcome.key { details["key:\(outcome.target)"] = key.hex }
            if let result = outcome.result { details["outputs:\(outcome.target)"] = result.manifestDigest.hex }
        }
        do {
            try AuditLog(stateDirectory: workspace.stateDirectory).append(action: "build", who: who, details: details, durable: false)
        } catch {
            MLBuildMain.printError("mlbuild: warning: audit log not appended: \(error)")
        }
    }
}
