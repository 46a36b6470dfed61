import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildHistory
#if canImport(Glibc)
import Glibc
#endif

/// Puts a recorded release's image back into the workspace, bit for bit, without building:
/// the container's action result under its recorded key, from the local cache or else the
/// remote one, checked against the recorded output-manifest digest, every blob verified as it
/// is materialized, and the image's digest file compared with the release's image digest.
///
/// When neither cache holds it, the image is rebuilt at the release's git revision in a
/// temporary worktree (same cache directory), and used only if its manifest digest is the
/// recorded one.
struct ReleaseRestorer {
    let workspace: Workspace
    let remote: (any RemoteCacheBackend)?
    let say: (String) -> Void

    enum Source: String { case local = "the local cache", remote = "the remote cache", rebuilt = "a rebuild at the recorded revision" }

    func restore(_ release: ReleaseStore.Release) async throws -> Source {
        guard let target = TargetReference(parsing: release.target), let key = ContentDigest(hex: release.actionKey) else {
            throw CLIError.message("release #\(release.id) names a bad target or key (\(release.target), \(release.actionKey))")
        }
        let directory = ReleaseSupport.containerDirectory(release.target)
        let declared = DeclaredOutputs(["\(directory)/image.tar", "\(directory)/digest", "\(directory)/provenance.json"])
        let store = ContentStore(layout: workspace.cache)
        var source = Source.local
        var result = ActionCache(layout: workspace.cache).lookup(key)
        if result == nil, let remote {
            if case .hit(let found) = await remote.lookupAction(key, target: target, declared: declared) {
                result = found
                source = .remote
            }
        }
        if let result, result.manifestDigest.hex == release.outputsDigest {
            if try await materialize(result, store: store, source: source) {
                try checkImage(release, directory: directory)
                if source == .remote { try? ActionCache(layout: workspace.cache).store(result, for: key) }
                return source
            }
        } else if let result {
            say("warning: the cache's entry for \(release.target) under key \(key.hex.prefix(12)) holds outputs \(result.manifestDigest.hex.prefix(12)), not the recorded \(release.outputsDigest.prefix(12)); not used")
        }
        try await rebuild(release, target: target, directory: directory)
        return .rebuilt
    }

    /// Fetches missing blobs (remote) and writes every output; false when a blob is nowhere.
    private func materialize(_ result: ActionResult, store: ContentStore, source: Source) async throws -> Bool {
        for output in result.outputs {
            guard let digest = output.digest else { continue }
            if !store.contains(digest) {
                guard let remote, await remote.fetchBlob(digest, size: output.size, into: store) else {
                    say("note: blob \(digest.hex.prefix(12)) of \(output.path) is in no cache")
                    return false
                }
            }
        }
        for output in result.outputs {
            guard let digest = output.digest else { continue }
            try FileManager.default.createDirectory(atPath: FileSystem.parent(of: output.path), withIntermediateDirectories: true)
            do { try store.materialize(digest, to: output.path, executable: output.executable) } catch {
                throw CLIError.message("cannot restore \(output.path): \(error)")
            }
        }
        return true
    }

    private func checkImage(_ release: ReleaseStore.Release, directory: String) throws {
        let text = (try? String(contentsOfFile: "\(directory)/digest", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text == release.imageDigest else {
            throw CLIError.message("the restored \(directory)/digest says \(text ?? "nothing"), not the release's \(release.imageDigest)")
        }
    }

    /// Builds the target at the release's revision in a temporary worktree and copies its
    /// outputs over only when the image digest is the recorded one.
    private func rebuild(_ release: ReleaseStore.Release, target: TargetReference, directory: String) async throws {
        guard let revision = release.gitRevision else {
            throw CLIError.message("release #\(release.id)'s image is in no cache, and it has no git revision to rebuild it at")
        }
        if release.gitDirty == true {
            say("warning: release #\(release.id) was made from a dirty tree: a rebuild at \(revision.prefix(12)) may not reproduce it")
        }
        say("\(release.target) \(release.imageDigest.prefix(19))… is in no cache: rebuilding it at \(revision.prefix(12)) in a temporary worktree")
        // /usr/bin/env finds git on the caller's PATH.
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-rollback-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        guard let added = try? ChildProcess.run("/usr/bin/env", ["git", "-C", workspace.root, "worktree", "add", "--detach", "--quiet", temporary, revision],
                                             environment: workspace.environment),
              added.status == 0 else {
            throw CLIError.message("cannot check out \(revision.prefix(12)) into a temporary worktree (git worktree add failed)")
        }
        defer {
            _ = try? ChildProcess.run("/usr/bin/env", ["git", "-C", workspace.root, "worktree", "remove", "--force", temporary],
                                     environment: workspace.environment)
            try? FileManager.default.removeItem(atPath: temporary)
        }
        let executable = (try? FileSystem.readLink("/proc/self/exe")) ?? CommandLine.arguments[0]
        let cache = workspace.cache.root.hasPrefix("/") ? workspace.cache.root : "\(workspace.root)/\(workspace.cache.root)"
        let built = try ChildProcess.run(executable, ["-C", temporary, "--cache-dir", cache, target.description],
                                         environment: workspace.environment)
        guard built.status == 0 else {
            throw CLIError.message("rebuilding \(release.target) at \(revision.prefix(12)) failed:\n" + String(decoding: built.stderr, as: UTF8.self))
        }
        let digest = (try? String(contentsOfFile: "\(temporary)/\(directory)/digest", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard digest == release.imageDigest else {
            throw CLIError.message("refusing the rebuild: at \(revision.prefix(12)) \(release.target) builds \(digest ?? "nothing"), not the released \(release.imageDigest)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ["image.tar", "provenance.json", "digest"] {
            let from = "\(temporary)/\(directory)/\(name)", to = "\(directory)/\(name)"
            guard FileManager.default.fileExists(atPath: from) else { continue }
            let temp = FileSystem.temporaryPath(near: to)
            try FileManager.default.copyItem(atPath: from, toPath: temp)
            guard rename(temp, to) == 0 else { throw CLIError.message("cannot write \(to): \(String(cString: strerror(errno)))") }
        }
    }
}
