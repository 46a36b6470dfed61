import MLBuildCache
import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// A rule run in a mirror of the workspace: `root` (workspace-relative, e.g. `build/exp/<id>`)
/// stands in for the workspace root, so the rule writes its usual outputs under it
/// (`build/exp/<id>/build/model/churn`) and leaves the workspace's own untouched. What it
/// reads that is not relocated (a source file, an output of a dependency that is not
/// relocated) is linked into the mirror by a relative symbolic link before it runs. This is how
/// `exp run` builds each variant of a sweep in its own output tree with the unchanged rules.
///
/// The root enters the key as the derived parameter `output_root`: a result names its output
/// paths, so two trees never share one action result.
/// A rule whose instance must run locally whatever its kind says (`RelocatedRule` in a mirror).
protocol LocalOnlyInstance {
    var runsOnlyLocally: Bool { get }
}

public struct RelocatedRule<Inner: Rule>: Rule, LocalOnlyInstance {
    public static var kind: String { Inner.kind }
    public static var version: Int { Inner.version }
    public static var keys: [RuleKey] { Inner.keys }
    public static var summary: String { Inner.summary }
    public static var usesSeed: Bool { Inner.usesSeed }
    public static var runsRemotely: Bool { Inner.runsRemotely }

    public let inner: Inner
    /// The mirror's root, workspace-relative.
    public let root: String
    /// Workspace-relative paths linked into the mirror (each `root/PATH` → `PATH`).
    public let linked: [String]

    public init(inner: Inner, root: String, linked: [String]) {
        self.inner = inner
        self.root = PathNormalizer.normalize(root)
        self.linked = linked.map(PathNormalizer.normalize).sorted()
    }

    /// Not relocated (the protocol's constructor; `Project.relocating` makes relocated ones).
    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        self.init(inner: Inner(configuration: configuration, diagnostics: &diagnostics), root: ".", linked: [])
    }

    var isRelocated: Bool { root != "." }

    /// A mirror is made by links in the workspace: a relocated target always runs here.
    public var runsOnlyLocally: Bool { isRelocated }

    public var implicitDependencies: [LocatedReference] { inner.implicitDependencies }
    public var inputs: [InputPattern] { inner.inputs }
    public var environment: [String] { inner.environment }

    public var outputs: [String] {
        isRelocated ? inner.outputs.map { "\(root)/\(PathNormalizer.normalize($0))" } : inner.outputs
    }

    public func derivedParameters(workspace: String) throws -> [(name: String, value: String)] {
        let derived = try inner.derivedParameters(workspace: workspace)
        return isRelocated ? derived + [("output_root", root)] : derived
    }

    public func run(_ context: RuleContext) async throws {
        guard isRelocated else { return try await inner.run(context) }
        for path in linked { try link(path) }
        // Paths as the inner rule sees them from the mirror's root: a relocated dependency's
        // outputs lie under it, one that is not is linked into it at its own path.
        let prefix = "\(root)/"
        func mirrored(_ path: String) -> String { path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path }
        let mirrored = RuleContext(
            target: context.target, workspace: "\(context.workspace)/\(root)", seed: context.seed, key: context.key,
            environment: context.environment, secrets: context.secrets, dependencies: context.dependencies,
            output: context.output, commandRunner: context.commandRunner, cache: context.cache,
            progress: context.progress,
            outputs: context.outputs.map(mirrored), dependencyOutputs: context.dependencyOutputs.mapValues { $0.map(mirrored) })
        try await inner.run(mirrored)
    }

    /// `root/path` → `path`, relative (the tree can be moved with the workspace). Another
    /// relocated target of the same variant may make the same link at the same time: a link
    /// already in place with the same target is fine; anything else there is replaced.
    func link(_ path: String) throws {
        let at = "\(root)/\(path)"
        let depth = root.split(separator: "/").count + path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth) + path
        try WorkspacePath.checkParents(of: at)
        try FileSystem.createDirectories(FileSystem.parent(of: at))
        if let existing = try? FileSystem.readLink(at), existing == target { return }
        if FileStat.of(at, followLinks: false) != nil { try FileSystem.removeTree(at) }
        if symlink(target, at) != 0 {
            if errno == EEXIST, (try? FileSystem.readLink(at)) == target { return }
            throw FileSystem.Failure("create the symbolic link", at)
        }
    }
}

extension Project {
    /// This project with `targets` built in the mirror `root` (see `RelocatedRule`): their
    /// outputs move under `root`; the outputs of their dependencies that are not relocated, and
    /// their own source inputs, are linked into it. Keys, graph and configurations are
    /// otherwise those of this project.
    public func relocating(_ targets: Set<TargetReference>, under root: String) -> Project {
        var rules = self.rules
        for target in targets.sorted() {
            guard let rule = self.rules[target] else { continue }
            var linked: [String] = []
            for dependency in graph.dependencies(of: target) where !targets.contains(dependency) {
                linked += (self.rules[dependency]?.outputs ?? []).map(PathNormalizer.normalize)
            }
            for input in rule.inputs {
                let path = PathNormalizer.normalize(InputResolver.staticPrefix(input.pattern))
                if !WorkspacePath.isInside(path) { continue }
                if !linked.contains(where: { PathNormalizer.isSameOrInside(path, $0) }) { linked.append(path) }
            }
            rules[target] = Self.relocated(rule, root: root, linked: linked)
        }
        var producers: [String: TargetReference] = [:]
        for (target, rule) in rules {
            for output in rule.outputs { producers[PathNormalizer.normalize(output)] = target }
        }
        return Project(mlfile: mlfile, rules: rules, configurations: configurations, graph: graph, producers: producers)
    }

    private static func relocated<R: Rule>(_ rule: R, root: String, linked: [String]) -> any Rule {
        RelocatedRule(inner: rule, root: root, linked: linked)
    }
}
