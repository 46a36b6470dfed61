import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildELF
import MLBuildEngine
import MLBuildOCI
import Synchronization

/// `runtime = serve` of a `container` target: what makes the image run its model.
///
/// The runtime layer holds the running mlbuild executable (resolved from /proc/self/exe) at
/// `/usr/local/bin/mlbuild` and its whole ELF dependency closure (`DependencyClosure`): the
/// interpreter at its PT_INTERP path and every shared library where the image's loader will look
/// for it, each a regular file with the content of the file it resolves to (mode 0755 for the
/// executable and the interpreter, 0644 for libraries; the usual mtime 0 and owner 0:0). So the
/// layer is a function of those files' bytes: the same mlbuild build packs the same layer, which
/// the layer cache then reuses across model changes.
///
/// The closure's digest (`digest`, over each file's image path, mode and content digest) enters
/// the action key as the derived parameter `runtime`, so a new mlbuild build re-packs. File
/// digests are memoized by stat in `.mlbuild/runtime-stat-cache` (a `StatCache`, like the input
/// hashing's), so an unchanged mlbuild costs a stat per file, not a re-hash, when keys are
/// computed.
struct ContainerRuntime: Sendable {
    enum Kind: String, Sendable, CaseIterable { case serve }

    static let executableImagePath = "/usr/local/bin/mlbuild"
    static let port = "8080"
    static let modelImagePath = "/model/model.json"
    /// The server over the packed model (overridden by the target's `entrypoint`); the
    /// container rule appends `--expect-digest sha256:…` of the packed model.json.
    static let serveEntrypoint = [executableImagePath, "serve", modelImagePath, "--host", "0.0.0.0", "--port", port]
    static let exposedPort = "\(port)/tcp"
    static let healthcheckAnnotation = "\(ContainerAnnotations.prefix)healthcheck"
    static let healthcheck = "GET http://127.0.0.1:\(port)/readyz"
    static let runtimeAnnotation = "\(ContainerAnnotations.prefix)runtime"
    static let runtimeDigestAnnotation = "\(ContainerAnnotations.prefix)runtime.digest"
    static let statCacheName = "runtime-stat-cache"

    struct File: Sendable {
        var hostPath: String
        var imagePath: String
        var mode: UInt32
        var digest: ContentDigest
    }

    let files: [File]
    let digest: ContentDigest

    /// Empty directories the runtime needs as mount points. `/proc`: libdispatch (under Swift
    /// concurrency on Linux) reads `/proc/TID/stat` of its worker threads about once a second
    /// and traps when it cannot (swift-corelibs-libdispatch, src/event/workqueue.c), so the
    /// server needs a procfs there; container engines mount one (the OCI runtime config lists it),
    /// and a chroot runner must mount one at this directory.
    static let mountPoints: [(path: String, mode: UInt32)] = [("/proc", 0o555)]

    var layer: LayerSpec {
        LayerSpec(name: "runtime", entries: files.map {
            LayerEntry(imagePath: $0.imagePath, source: URL(fileURLWithPath: $0.hostPath), mode: $0.mode)
        } + Self.mountPoints.map { LayerEntry(emptyDirectory: $0.path, mode: $0.mode) })
    }

    /// Per process: the executable does not change under a running mlbuild (a replaced file is
    /// a new inode; /proc/self/exe keeps naming the old one).
    private static let memo = Mutex<ContainerRuntime?>(nil)

    /// The runtime of the running mlbuild, digests memoized in WORKSPACE/.mlbuild.
    static func current(workspace: String) throws -> ContainerRuntime {
        if let known = memo.withLock({ $0 }) { return known }
        let runtime = try make(executable: try runningExecutable(), statCache: "\(workspace)/.mlbuild/\(statCacheName)")
        memo.withLock { $0 = runtime }
        return runtime
    }

    static func runningExecutable() throws -> String {
        guard let path = try? FileSystem.readLink("/proc/self/exe") else {
            throw RuleFailure("runtime = serve: cannot read /proc/self/exe to find the mlbuild executable")
        }
        guard !path.hasSuffix(" (deleted)") || FileSystem.exists(path) else {
            throw RuleFailure("runtime = serve: the running mlbuild executable was deleted or replaced ('\(path)'); run the new one")
        }
        return path
    }

    static func make(executable: String, statCache statCachePath: String) throws -> ContainerRuntime {
        let closure: DependencyClosure
        do {
            closure = try DependencyClosure(executable: executable, imagePath: executableImagePath)
        } catch let error as ELFError {
            throw RuleFailure("runtime = serve: \(error)")
        }
        let stats = StatCache(path: statCachePath)
        var files: [File] = []
        for member in closure.members {
            guard let (digest, _) = try stats.digest(of: member.hostPath) else {
                throw RuleFailure("runtime = serve: '\(member.hostPath)' (\(member.role.rawValue) \(member.name)) disappeared")
            }
            files.append(File(hostPath: member.hostPath, imagePath: member.imagePath,
                              mode: member.role == .library ? 0o644 : 0o755, digest: digest))
        }
        // Best effort: without the memo the next run hashes again.
        if FileSystem.exists(FileSystem.parent(of: statCachePath)) { try? stats.save() }
        files.sort { Array($0.imagePath.utf8).lexicographicallyPrecedes(Array($1.imagePath.utf8)) }
        var hasher = StableHasher(domain: "mlbuild-container-runtime-v1")
        hasher.append(files.count)
        for directory in mountPoints {
            hasher.append(directory.path)
            hasher.append(UInt64(directory.mode))
        }
        for file in files {
            hasher.append(file.imagePath)
            hasher.append(UInt64(file.mode))
            hasher.append(file.digest.hex)
        }
        return ContainerRuntime(files: files, digest: hasher.finalize())
    }
}
