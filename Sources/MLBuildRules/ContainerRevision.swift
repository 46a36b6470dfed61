import Foundation
import MLBuildCore

/// The `org.opencontainers.image.revision` of a workspace: the commit of HEAD when the workspace is
/// inside a git work tree, with `-dirty` appended when a tracked file differs from it. Untracked
/// files do not count (the build's own `build/`, `cache/` and `.mlbuild/` are untracked and would
/// otherwise make every second build dirty). nil when there is no git, no repository or no commit.
enum ContainerRevision {
    static func current(workspace: String) -> String? {
        // A clean environment: no GIT_DIR/GIT_WORK_TREE from the caller, no pager, stable messages.
        let environment = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            // The user's git config may name this repository a safe.directory.
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/nonexistent",
        ]
        func git(_ arguments: [String]) -> String? {
            guard let result = try? ChildProcess.run(
                "/usr/bin/env", ["git", "--no-optional-locks", "-C", workspace] + arguments, environment: environment),
                result.status == 0 else { return nil }
            return String(decoding: result.stdout, as: UTF8.self)
        }
        guard let head = git(["rev-parse", "--verify", "--quiet", "HEAD"])?.trimmingCharacters(in: .whitespacesAndNewlines),
              [40, 64].contains(head.utf8.count), head.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        guard let status = git(["status", "--porcelain", "--untracked-files=no"]) else { return nil }
        return status.isEmpty ? head : head + "-dirty"
    }
}
