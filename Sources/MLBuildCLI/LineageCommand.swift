import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildHistory
import MLBuildOCI
import MLBuildRules

/// `mlbuild lineage TARGET | --image image.tar | --uses FILE`.
struct LineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Where an artifact came from, down to source bytes (or what was made from a file).",
        discussion: """
        mlbuild lineage TARGET prints the tree from TARGET down to its source files: each node's \
        action key, output digest, parameters, seed (kinds that use one) and, for models, \
        metrics; a container's image digest and layers; every source file with its SHA-256 as \
        the last build hashed it. A target that is not built, or stale, says so.

        mlbuild lineage --image image.tar reads the same story back from the image's own \
        annotations (no workspace needed). mlbuild lineage --uses FILE lists every target \
        built from FILE (directly or through its dependencies) and every released image whose \
        provenance names it.
        """)

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup(title: "Run history") var historyOptions: HistoryOptions

    @Argument(help: ArgumentHelp("The target (KIND:NAME).", valueName: "TARGET"))
    var target: String?

    @Option(help: ArgumentHelp("Read the lineage from an image archive's annotations.", valueName: "FILE"))
    var image: String?

    @Option(help: ArgumentHelp("List the targets and released images made from this file.", valueName: "FILE"))
    var uses: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        let modes = [target != nil, image != nil, uses != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of TARGET, --image FILE or --uses FILE") }
    }

    func run() async throws {
        if let image { return try showImage(image) }
        let workspace = try workspaceOptions.workspace()
        let project = try workspaceOptions.project(in: workspace)
        if let uses { return try showUses(uses, workspace: workspace, project: project) }
        guard let name = target else { return }
        let roots: [TargetReference]
        do { roots = try project.resolveTargets([name]) } catch let list as DiagnosticList {
            throw CLIError.usage(list.diagnostics.map(\.message).joined(separator: "\n"))
        }
        guard let root = roots.first else { return }
        let builder = Builder(project: project, workspace: workspace, statCache: StatCache(path: workspace.statCachePath))
        var actions: [TargetReference: PlannedTarget.Action] = [:]
        for planned in await builder.plan([root], consultingRemote: false) { actions[planned.target] = planned.action }
        let walker = LineageWalker(project: project, state: BuildState.load(from: workspace.statePath), actions: actions)
        let tree = walker.node(root)
        if json {
            print(String(decoding: CanonicalJSON.serialize(tree), as: UTF8.self), terminator: "")
        } else {
            print(LineageText.render(tree), terminator: "")
        }
    }

    // MARK: --image

    func showImage(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError.message("'\(path)' does not exist") }
        let read: (manifest: ContentDigest, annotations: [String: String], layers: [Descriptor])
        do { read = try ImageAnnotations.read(archive: URL(fileURLWithPath: path)) } catch let error as OCIError {
            throw CLIError.message(error.message)
        } catch let error as ArchiveError {
            throw CLIError.message("\(path): \(error.message)")
        }
        let annotations = read.annotations
        let prefix = "dev.mlbuild."
        var artifacts: [String: JSONValue] = [:], files: [String: JSONValue] = [:], others: [String: JSONValue] = [:]
        for (key, value) in annotations {
            if key.hasPrefix("\(prefix)artifact.") {
                artifacts[String(key.dropFirst("\(prefix)artifact.".count)).replacingOccurrences(of: ".", with: ":", options: [], range: nil)] = .string(value)
            } else if key.hasPrefix("\(prefix)file:") {
                files[String(key.dropFirst("\(prefix)file:".count))] = .string(value)
            } else if key.hasPrefix("org.opencontainers.image.") {
                others[String(key.dropFirst("org.opencontainers.image.".count))] = .string(value)
            }
        }
        let lineage = Unflatten.tree(annotations, prefix: "\(prefix)lineage.")
        let metrics = Unflatten.tree(annotations, prefix: "\(prefix)metrics.")
        let document: JSONValue = .object([
            "image": .string(read.manifest.prefixed),
            "layers": .array(read.layers.map { .object(["digest": .string($0.digest.prefixed), "size": .number(Double($0.size)), "media_type": .string($0.mediaType)]) }),
            "model": annotations["\(prefix)model"].map { .string($0) } ?? .null,
            "lineage": lineage, "metrics": metrics, "artifacts": .object(artifacts), "files": .object(files),
            "oci": .object(others),
        ])
        if json {
            print(String(decoding: CanonicalJSON.serialize(document), as: UTF8.self), terminator: "")
            return
        }
        var out = "\(path): image \(read.manifest.prefixed)"
        if case .string(let revision)? = others["revision"] { out += ", git \(revision.prefix(12))" }
        out += "\n"
        for layer in read.layers { out += "├─ layer \(layer.digest.prefixed) \(layer.size) bytes\n" }
        for key in artifacts.keys.sorted() { if case .string(let v)? = artifacts[key] { out += "├─ \(key) outputs \(v.prefix(16))…\n" } }
        if case .object(let fields) = lineage {
            out += LineageText.render(LineageWalker.fromModelLineage(fields, metrics: metrics), indent: "└─ ", continuation: "   ")
        } else {
            out += "└─ (no model lineage annotations)\n"
        }
        print(out, terminator: "")
    }

    // MARK: --uses

    func showUses(_ file: String, workspace: Workspace, project: Project) throws {
        let absolute = file.hasPrefix("/") ? file : "\(workspace.root)/\(file)"
        let path = PathNormalizer.normalize(workspace.relativePath(of: absolute) ?? file)
        let state = BuildState.load(from: workspace.statePath)
        var direct: [TargetReference] = []
        for reference in project.graph.nodes {
            let recorded = state.records[reference]?.summary.inputs.contains { $0.0 == path } ?? false
            let declared = project.rules[reference]?.inputs.contains { PathNormalizer.normalize($0.pattern) == path } ?? false
            if recorded || declared { direct.append(reference) }
        }
        // Every dependent of a direct user, in graph order.
        var dependents: [TargetReference: [TargetReference]] = [:]
        for node in project.graph.nodes { for dependency in project.graph.dependencies(of: node) { dependents[dependency, default: []].append(node) } }
        var users = Set(direct)
        var queue = direct
        while let next = queue.popLast() {
            for dependent in dependents[next] ?? [] where users.insert(dependent).inserted { queue.append(dependent) }
        }
        let ordered = project.graph.nodes.filter { users.contains($0) }
        let currentDigest = try? FileHashing.digest(ofFileAt: path).digest.hex
        var released: [JSONValue] = []
        var releaseLines: [String] = []
        let storePath = ReleaseSupport.storePath(history: historyOptions, workspace: workspace)
        if FileManager.default.fileExists(atPath: storePath), let store = try? ReleaseStore(path: storePath) {
            for release in (try? store.all()) ?? [] {
                guard case .array(let sources)? = try? JSONDecoder().decode(JSONValue.self, from: Data(release.sources.utf8)) else { continue }
                for case .object(let fields) in sources where fields["path"] == .string(path) {
                    guard case .string(let sha)? = fields["sha256"] else { continue }
                    released.append(.object(["release": .number(Double(release.id)), "channel": .string(release.channel),
                                             "target": .string(release.target), "image_digest": .string(release.imageDigest),
                                             "sha256": .string(sha), "same_bytes_as_now": .bool(sha == currentDigest)]))
                    releaseLines.append("release #\(release.id) \(release.channel) \(release.target) \(release.imageDigest) (from sha256:\(sha.prefix(12))…\(sha == currentDigest ? ", the file as it is now" : ", an earlier version"))")
                }
            }
        }
        if json {
            let digest: JSONValue = currentDigest.map { .string($0) } ?? .null
            let targets: [JSONValue] = ordered.map { .string($0.description) }
            let readers: [JSONValue] = direct.map { .string($0.description) }
            let document: [String: JSONValue] = ["file": .string(path), "sha256": digest, "targets": .array(targets),
                                                 "direct": .array(readers), "releases": .array(released)]
            print(CanonicalJSON.line(.object(document)))
            return
        }
        if ordered.isEmpty && released.isEmpty {
            print("no target or release uses \(path)")
            return
        }
        print("\(path)\(currentDigest.map { " sha256:\($0)" } ?? " (not in the workspace)")")
        for target in ordered { print("  \(target)\(direct.contains(target) ? " (reads it)" : "")") }
        for line in releaseLines { print("  \(line)") }
    }
}
