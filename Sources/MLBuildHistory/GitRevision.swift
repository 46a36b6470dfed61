import Foundation
import MLBuildCore

/// The git state a run is recorded at: HEAD's commit and whether tracked files differ from it
/// (untracked files do not count: the build's own `build/`, `cache/` and `.mlbuild/` are
/// untracked and would make every run dirty). nil when there is no git, repository or commit.
public struct GitRevision: Sendable, Equatable {
    public var commit: String
    public var dirty: Bool

    /// HEAD of the repository `workspace` is in: one `git status` (none outside a repository,
    /// which is looked for in-process first: a no-op build records its run too, and a process
    /// costs milliseconds there).
    public static func current(workspace: String) -> GitRevision? {
        guard isInRepository(workspace),
              let status = git(["status", "--porcelain=v2", "--branch", "--untracked-files=no"], workspace: workspace) else { return nil }
        var commit: String?
        var dirty = false
        for line in status.split(separator: "\n") {
            if line.hasPrefix("# branch.oid ") {
                let oid = line.dropFirst("# branch.oid ".count)
                if [40, 64].contains(oid.utf8.count), oid.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) {
                    commit = String(oid)
                }
            } else if !line.hasPrefix("#") {
                dirty = true
            }
        }
        return commit.map { GitRevision(commit: $0, dirty: dirty) }
    }

    /// Whether `directory` or a parent holds `.git` (a directory, or a file for worktrees and submodules).
    static func isInRepository(_ directory: String) -> Bool {
        var path = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        while true {
            if FileManager.default.fileExists(atPath: path + "/.git") { return true }
            let parent = (path as NSString).deletingLastPathComponent
            if parent == path || parent.isEmpty { return false }
            path = parent
        }
    }

    /// The commit `revision` (`HEAD~1`, a tag, a short hash) names; nil when it names none.
    public static func resolve(_ revision: String, workspace: String) -> String? {
        guard !revision.hasPrefix("-"),
              let text = git(["rev-parse", "--verify", "--quiet", "\(revision)^{commit}"], workspace: workspace)?
                .trimmingCharacters(in: .whitespacesAndNewlines),
              [40, 64].contains(text.utf8.count),
              text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return text
    }

    /// `git config user.email` as seen from `workspace` (nil outside a repository or unset).
    public static func userEmail(workspace: String) -> String? {
        guard let text = git(["config", "user.email"], workspace: workspace)?.trimmingCharacters(in: .whitespacesAndNewlines),
              !text.isEmpty else { return nil }
        return text
    }

    static func git(_ arguments: [String], workspace: String) -> String? {
        // A clean environment: no GIT_DIR/GIT_WORK_TREE from the caller, no pager, stable messages.
        let environment = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/nonexistent",
        ]
        guard let result = try? ChildProcess.run(
            "/usr/bin/env", ["git", "--no-optional-locks", "-C", workspace] + arguments, environment: environment),
            result.status == 0 else { return nil }
        return String(decoding: result.stdout, as: UTF8.self)
    }
}
