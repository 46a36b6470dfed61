import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildOCI
import MLBuildProvenance

/// `container NAME: DEPS` — packs the outputs of its dependencies into a reproducible OCI image
/// archive, `build/container/NAME/image.tar`, and its manifest digest, `build/container/NAME/digest`.
///
///     container churn: model:churn
///         files = serve/app.py:/app/, serve/requirements.txt:/app/requirements.txt
///         base = images/python-slim.tar
///         entrypoint = /usr/bin/python3, /app/app.py
///         env = MODEL_DIR=/model, PYTHONUNBUFFERED=1
///         exposed_ports = 8080
///         tag = churn-1.0.0
///         version = 1.0.0
///
/// Each header dependency is one layer (in header order; gzip, or zstd with `compression = zstd`), so that a new model re-ships only
/// the model layer; `files` is one more layer at the end. Where a dependency's files go
/// (`ContainerLayout`): `model:X` → `/model/`, `dataset:X` → `/data/X/`, `features:X` →
/// `/features/X/`, anything else → `/workspace/<its workspace-relative output path>`. A model's
/// `plots/` are not packed (the image holds model.json and metrics.json, as before plots existed).
///
/// `runtime = serve` (needs a model dependency) puts a runtime layer first (`ContainerRuntime`:
/// mlbuild and its shared libraries, so no base is needed) and defaults `entrypoint` to
/// `mlbuild serve /model/model.json` on 0.0.0.0:8080, adds `8080/tcp` to `exposed_ports` and the
/// `dev.mlbuild.healthcheck` annotation.
///
/// The image is a function of the key: the packed files (dependency outputs and `files`
/// sources), the base archive (an input), the values, `SOURCE_DATE_EPOCH` (a declared environment
/// variable), the git revision and the runtime layer's digest (derived parameters). Compressed
/// layers are kept in the cache's CAS (`ContainerLayerCache`) so an unchanged layer is never
/// recompressed. See docs/containers.md.
public struct ContainerRule: Rule {
    public static let kind = "container"
    public static let version = 4  // 4: gzip in independent blocks, `compression`; 3: provenance.json (issue 13); 2: the seed left out of the key (issue 11: nothing random)
    public static let summary = "packs its dependencies' outputs into a reproducible OCI image archive"
    /// Labels the image with the workspace's git revision, which a worker does not have.
    public static let runsRemotely = false
    public static let keys: [RuleKey] = [
        RuleKey("files", .list, summary: "workspace files or directories to add, SRC:/image/path (a trailing / keeps the name); one layer"),
        RuleKey("base", summary: "an OCI archive or image-layout directory whose layers and config are reused (default: scratch)"),
        RuleKey("entrypoint", .list, summary: "the image's Entrypoint, one list item per argument"),
        RuleKey("cmd", .list, summary: "the image's Cmd, one list item per argument"),
        RuleKey("env", .list, summary: "KEY=VALUE entries of the image's environment"),
        RuleKey("workdir", summary: "the image's working directory"),
        RuleKey("user", summary: "the user the container runs as (USER[:GROUP])"),
        RuleKey("exposed_ports", .list, summary: "PORT or PORT/tcp|udp|sctp"),
        RuleKey("labels", .list, summary: "KEY=VALUE labels of the image config"),
        RuleKey("platform", summary: "os/arch[/variant] (default linux/amd64, or the base's)"),
        RuleKey("tag", summary: "org.opencontainers.image.ref.name"),
        RuleKey("version", summary: "org.opencontainers.image.version"),
        RuleKey("source", summary: "org.opencontainers.image.source (a URL)"),
        RuleKey("annotations", .list, summary: "extra KEY=VALUE annotations on the manifest and index"),
        RuleKey("runtime", summary: "serve: add mlbuild and its shared libraries (no base needed) and serve /model/ on port 8080"),
        RuleKey("compression", summary: "how layers are compressed: gzip (default) or zstd"),
        RuleKey("require_approval", summary: "mlbuild release needs this many distinct approvers (mlbuild approve) per channel; default 0"),
    ]

    /// `SRC:/image/path` items of `files`.
    public struct FileItem: Sendable, Equatable {
        /// Workspace-relative, normalized.
        public var source: String
        public var destination: String
    }

    public let name: String
    /// Header dependencies, in header order: one layer each.
    public let packed: [TargetReference]
    public let files: [FileItem]
    public let base: String?
    public let entrypoint: [String]?
    public let cmd: [String]?
    public let env: [String]
    public let workdir: String?
    public let user: String?
    public let exposedPorts: [String]
    public let labels: [String: String]
    public let platform: Platform?
    public let tag: String?
    public let imageVersion: String?
    public let source: String?
    public let annotations: [String: String]
    /// `runtime = serve`: a runtime layer first, and the server as the default entrypoint.
    let runtime: ContainerRuntime.Kind?
    /// The entrypoint is the default server: `run` pins the packed model.json's digest on it.
    let servesDefaultEntrypoint: Bool

    public let inputs: [InputPattern]
    public let outputs: [String]
    /// Its value becomes `created`; declared so that it enters the key.
    public let environment = ["SOURCE_DATE_EPOCH"]

    public var directory: String { "build/container/\(name)" }
    public var imagePath: String { "\(directory)/image.tar" }
    public var digestPath: String { "\(directory)/digest" }
    public var provenancePath: String { "\(directory)/\(ContainerProvenance.fileName)" }
    /// The canonical Mlfile values: the provenance's `externalParameters`.
    let values: [(String, String)]
    /// `require_approval = N`: distinct approvers a release of this image needs.
    public let requiredApprovals: Int
    /// `compression = gzip | zstd`: how our layers are compressed (a value, so in the key).
    public let compression: LayerCompression

    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        let target = configuration.target
        name = target.reference.name

        // Secrets (which would end up in the image) are refused by TargetConfiguration.
        packed = target.dependencies.map(\.reference)
        let models = target.dependencies.filter { $0.reference.kind == "model" }
        if models.count > 1, let second = models.dropFirst().first {
            diagnostics.add(target.source.diagnostic(
                "\(target.reference) packs \(models[0].reference) and \(second.reference): a container holds one model, under /model/",
                at: second.location))
        }

        // Whether `files` or `base` had a problem: then "packs nothing" would only repeat it.
        let reportedBefore = diagnostics.diagnostics.count
        var files: [FileItem] = []
        var inputs: [InputPattern] = []
        for item in diagnostics.attempt({ try configuration.list("files") }) ?? [] {
            guard let colon = item.text.firstIndex(of: ":") else {
                diagnostics.add(target.source.diagnostic("files item '\(item.text)' must be SRC:/image/path", at: item.location))
                continue
            }
            let rawSource = String(item.text[..<colon]).trimmingCharacters(in: .whitespaces)
            let destination = String(item.text[item.text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            let source = rawSource
            if rawSource.isEmpty || !WorkspacePath.isInside(source) {
                diagnostics.add(target.source.diagnostic(
                    "files source '\(rawSource)' must be a path inside the workspace", at: item.location))
            } else if let problem = WorkspacePath.problem(rawSource) {
                diagnostics.add(target.source.diagnostic("files source '\(rawSource)' \(problem)", at: item.location))
            } else if InputResolver.isGlob(source) {
                diagnostics.add(target.source.diagnostic(
                    "files source '\(rawSource)' is a pattern: name a file or a directory", at: item.location))
            } else if !destination.hasPrefix("/") || destination.split(separator: "/").contains("..") {
                diagnostics.add(target.source.diagnostic(
                    "files destination '\(destination)' must be an absolute path in the image (e.g. /app/)", at: item.location))
            } else {
                files.append(FileItem(source: source, destination: destination))
                inputs.append(InputPattern(source, at: item.location))
            }
        }
        self.files = files

        var base: String? = nil
        if let text = diagnostics.attempt({ try configuration.string("base") }) ?? nil {
            let path = text
            // An absolute path is allowed (a base image kept outside the workspace); `..` is not.
            let placement = WorkspacePath.placement(of: text)
            if text.isEmpty || placement == .root || (placement == .outside && !text.hasPrefix("/")) {
                diagnostics.add(configuration.diagnostic("base", "base '\(text)' must be a path to an OCI archive or layout directory"))
            } else if let problem = WorkspacePath.problem(text, absolute: true) {
                diagnostics.add(configuration.diagnostic("base", "base '\(text)' \(problem)"))
            } else {
                base = path
                if let value = configuration.value("base") { inputs.append(InputPattern(path, at: value.location)) }
            }
        }
        self.base = base
        self.inputs = inputs
        let filesAndBaseClean = diagnostics.diagnostics.count == reportedBefore
            && !configuration.unusableKeys.contains("files") && !configuration.unusableKeys.contains("base")

        func list(_ key: String, into diagnostics: inout DiagnosticCollector) -> [ResolvedValue.Item]? {
            guard configuration.has(key) else { return nil }
            return diagnostics.attempt { try configuration.list(key) }
        }
        func scalar(_ key: String, into diagnostics: inout DiagnosticCollector) -> String? {
            guard let text = diagnostics.attempt({ try configuration.string(key) }) ?? nil else { return nil }
            if text.isEmpty {
                diagnostics.add(configuration.diagnostic(key, "'\(key)' is empty"))
                return nil
            }
            return text
        }
        /// `KEY=VALUE` items, checked (`names`: also that each KEY is an environment variable name).
        func pairs(_ key: String, names: Bool = false, into diagnostics: inout DiagnosticCollector) -> [(String, String)] {
            var out: [(String, String)] = []
            for item in list(key, into: &diagnostics) ?? [] {
                guard let equals = item.text.firstIndex(of: "="), equals != item.text.startIndex else {
                    diagnostics.add(target.source.diagnostic("\(key) item '\(item.text)' must be KEY=VALUE", at: item.location))
                    continue
                }
                if names, !item.text[..<equals].utf8.allSatisfy(MLBuildCore.isEnvironmentNameByte) {
                    diagnostics.add(target.source.diagnostic("env item '\(item.text)': the name is not an environment variable name", at: item.location))
                    continue
                }
                out.append((String(item.text[..<equals]), String(item.text[item.text.index(after: equals)...])))
            }
            return out
        }

        let entrypoint = list("entrypoint", into: &diagnostics).map { $0.map(\.text) }
        cmd = list("cmd", into: &diagnostics).map { $0.map(\.text) }
        env = pairs("env", names: true, into: &diagnostics).map { "\($0.0)=\($0.1)" }
        workdir = scalar("workdir", into: &diagnostics)
        if let workdir, !workdir.hasPrefix("/") {
            diagnostics.add(configuration.diagnostic("workdir", "workdir '\(workdir)' must be an absolute path"))
        }
        user = scalar("user", into: &diagnostics)
        var ports: [String] = []
        for item in list("exposed_ports", into: &diagnostics) ?? [] {
            if Self.isValidPort(item.text) {
                ports.append(item.text)
            } else {
                diagnostics.add(target.source.diagnostic(
                    "exposed port '\(item.text)' must be PORT or PORT/tcp|udp|sctp with PORT in 1...65535", at: item.location))
            }
        }
        labels = Dictionary(pairs("labels", into: &diagnostics), uniquingKeysWith: { _, last in last })

        var platform: Platform? = nil
        if let text = scalar("platform", into: &diagnostics) {
            do { platform = try Platform(parsing: text) } catch {
                diagnostics.add(configuration.diagnostic("platform", "\(error)"))
            }
        }
        self.platform = platform
        tag = scalar("tag", into: &diagnostics)
        if let tag, !Self.isValidTag(tag) {
            diagnostics.add(configuration.diagnostic("tag", "tag '\(tag)' may hold only letters, digits and . _ - : / + @"))
        }
        imageVersion = scalar("version", into: &diagnostics)
        source = scalar("source", into: &diagnostics)

        var annotations: [String: String] = [:]
        for (key, value) in pairs("annotations", into: &diagnostics) {
            if key.hasPrefix(ContainerAnnotations.prefix) || OCIImageBuilder.managedAnnotations.contains(key) {
                diagnostics.add(configuration.diagnostic(
                    "annotations", "annotation '\(key)' is set by mlbuild (use tag, version, source; see docs/containers.md)"))
            } else {
                annotations[key] = value
            }
        }
        var runtime: ContainerRuntime.Kind? = nil
        if let text = scalar("runtime", into: &diagnostics) {
            if let kind = ContainerRuntime.Kind(rawValue: text) {
                runtime = kind
                if models.isEmpty && !target.isIncomplete {
                    diagnostics.add(configuration.diagnostic(
                        "runtime", "runtime = serve needs a model to serve: give \(target.reference) a model:NAME dependency"))
                }
            } else {
                diagnostics.add(configuration.diagnostic(
                    "runtime", "unknown runtime '\(text)' (the runtime is: \(ContainerRuntime.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"))
            }
        }
        self.runtime = runtime
        // The server is the default program; the target's entrypoint (or cmd, as extra
        // arguments after it) still decides.
        self.entrypoint = entrypoint ?? (runtime == .serve ? ContainerRuntime.serveEntrypoint : nil)
        servesDefaultEntrypoint = runtime == .serve && entrypoint == nil
        if runtime == .serve, !ports.contains(where: { (try? OCIImageBuilder.normalizePort($0)) == ContainerRuntime.exposedPort }) {
            ports.append(ContainerRuntime.exposedPort)
        }
        exposedPorts = ports
        if runtime == .serve {
            annotations[ContainerRuntime.healthcheckAnnotation] = ContainerRuntime.healthcheck
            annotations[ContainerRuntime.runtimeAnnotation] = ContainerRuntime.Kind.serve.rawValue
        }
        self.annotations = annotations

        // Not when the header or body was not read whole: what it packs may be on that line.
        if packed.isEmpty && files.isEmpty && base == nil && filesAndBaseClean && !target.isIncomplete {
            diagnostics.add(target.diagnostic("\(target.reference) packs nothing: give it dependencies, 'files' or a 'base'"))
        }
        outputs = ["build/container/\(name)/image.tar", "build/container/\(name)/digest",
                   "build/container/\(name)/\(ContainerProvenance.fileName)"]
        values = (diagnostics.attempt { try configuration.canonicalParameters() }) ?? []
        var approvals = 0
        if let text = diagnostics.attempt({ try configuration.string("require_approval") }) ?? nil {
            if let n = Int(text), n >= 0, n <= 100 {
                approvals = n
            } else {
                diagnostics.add(configuration.diagnostic("require_approval", "require_approval '\(text)' must be a whole number from 0 to 100"))
            }
        }
        requiredApprovals = approvals
        var compression = LayerCompression.gzip
        if let text = diagnostics.attempt({ try configuration.string("compression") }) ?? nil {
            if let chosen = LayerCompression(rawValue: text) {
                compression = chosen
            } else {
                diagnostics.add(configuration.diagnostic(
                    "compression", "unknown compression '\(text)' (the compressions are: \(LayerCompression.allCases.map(\.rawValue).joined(separator: ", ")))"))
            }
        }
        self.compression = compression
    }

    /// The git revision the image is labelled with enters the key (`derived.revision`), and the
    /// public id of the provenance's signing key (`derived.signing`, `unsigned` without one).
    /// With `runtime = serve`, the digest of the runtime layer's files (`derived.runtime`), so
    /// that a new mlbuild build re-packs.
    public func derivedParameters(workspace: String) throws -> [(name: String, value: String)] {
        // The provenance's signing key, by its public id (another key re-signs).
        var derived: [(name: String, value: String)] = [("signing", ProvenanceSigning.keyParameter)]
        if let revision = ContainerRevision.current(workspace: workspace) { derived.append(("revision", revision)) }
        if runtime == .serve {
            let layer = try ContainerRuntime.current(workspace: workspace)
            derived.append(("runtime", "serve sha256:\(layer.digest.hex)"))
        }
        return derived
    }

    public func run(_ context: RuleContext) async throws {
        let created = try Self.sourceDateEpoch(context.environment["SOURCE_DATE_EPOCH"])
        let revision = ContainerRevision.current(workspace: context.workspace)
        let workspace = URL(fileURLWithPath: context.workspace, isDirectory: true)

        var layers: [LayerSpec] = []
        var annotations = annotations
        // Below the packed files (and above a base): it changes only with mlbuild.
        if runtime == .serve {
            let runtime = try await context.budget.run { try ContainerRuntime.current(workspace: context.workspace) }
            layers.append(runtime.layer)
            annotations[ContainerRuntime.runtimeDigestAnnotation] = "sha256:\(runtime.digest.hex)"
        }
        var packedFiles: [ContainerAnnotations.PackedFile] = []
        var sources: [ProvenanceStatement.Resource] = []
        var lineage: [(TargetReference, ActionResult, directory: String)] = []
        for dependency in packed {
            guard let result = context.dependencies[dependency] else {
                throw RuleFailure("internal: the result of \(dependency) is missing")
            }
            // Where the dependency's files are, as declared (relocated or not); a kind without
            // one output directory keeps the path rule (`/workspace/PATH`).
            let directory = (try? context.outputDirectory(of: dependency)) ?? "build/\(dependency.kind)/\(dependency.name)"
            lineage.append((dependency, result, directory))
            sources += ContainerProvenance.sources(of: result, directory: directory)
            var entries: [LayerEntry] = []
            var known: [String: String] = [:]
            // A model's plots/ are for people, not for the server: the image holds what it did before plots existed.
            for output in result.outputs where !ModelPlots.isPlot(output.path, of: dependency, outputDirectory: directory) {
                let destination = ContainerLayout.imagePath(of: output.path, producedBy: dependency, directory: directory)
                let source = workspace.appendingPathComponent(output.path)
                entries.append(LayerEntry(imagePath: destination, source: source))
                if let digest = output.digest { known[source.standardizedFileURL.path] = digest.hex }
                // Symlink and empty-directory entries have no digest to annotate.
                if let digest = output.digest { packedFiles.append(.init(imagePath: destination, digest: digest.hex)) }
            }
            if entries.isEmpty {
                context.output.append(line: "\(dependency) has no output files: no layer")
                continue
            }
            layers.append(LayerSpec(name: dependency.description, entries: entries, knownDigests: known))
        }
        if !files.isEmpty {
            var entries: [LayerEntry] = []
            var known: [String: String] = [:]
            for item in files {
                let url = workspace.appendingPathComponent(item.source)
                guard FileStat.of(item.source) != nil else {
                    throw RuleFailure("files source '\(item.source)' does not exist")
                }
                entries.append(LayerEntry(imagePath: item.destination, source: url))
                // Each file's digest once: the one the action key hashed, else hashed now. The
                // provenance, the annotations and the layer's cache key take it (the layer
                // still hashes the bytes it tars, so a file edited since fails the build).
                let hashed = try Self.sourceFiles(item.source, known: context.inputDigests)
                sources += hashed
                var byPath: [String: String] = [:]
                for resource in hashed where resource.uri.hasPrefix("file:") {
                    let path = String(resource.uri.dropFirst(5))
                    byPath[path] = resource.sha256
                    known[workspace.appendingPathComponent(path).standardizedFileURL.path] = resource.sha256
                }
                packedFiles += try ContainerAnnotations.packedFiles(source: item.source, destination: item.destination, digests: byPath)
            }
            layers.append(LayerSpec(name: "files", entries: entries, knownDigests: known))
        }

        var entrypoint = entrypoint
        if servesDefaultEntrypoint {
            // The server refuses to start (and to reload) a /model/model.json whose bytes are
            // not the ones packed: the image carries its own check.
            guard let model = packedFiles.first(where: { $0.imagePath == ContainerRuntime.modelImagePath }) else {
                throw RuleFailure("runtime = serve: no \(ContainerRuntime.modelImagePath) among the packed files")
            }
            entrypoint = (entrypoint ?? []) + ["--expect-digest", "sha256:\(model.digest)"]
        }
        for (key, value) in try ContainerAnnotations.lineage(packed: lineage, files: packedFiles) {
            annotations[key] = value
        }
        let spec = ImageSpec(
            base: base.map { workspace.appendingPathComponent($0) }, layers: layers, entrypoint: entrypoint, cmd: cmd,
            env: env, workdir: workdir, user: user, exposedPorts: exposedPorts, labels: labels, platform: platform,
            tag: tag, version: imageVersion, revision: revision, source: source, annotations: annotations,
            sourceDateEpoch: created, compression: compression)
        let cache = context.cache.map { ContainerLayerCache(layout: $0) }
        let output = workspace.appendingPathComponent(imagePath)
        let digestFile = workspace.appendingPathComponent(digestPath)
        let built: BuiltImage
        do {
            built = try await context.budget.run {
                try OCIImageBuilder.build(spec: spec, layerCache: cache, output: output, digestFile: digestFile,
                                          progress: { done, total in context.progress.report(done: done, total: total, unit: "bytes") })
            }
        } catch let error as OCIError {
            throw RuleFailure(error.message)
        } catch let error as ArchiveError {
            throw RuleFailure(error.message)
        }
        for layer in built.layers {
            let origin: String
            switch layer.origin {
            case .base: origin = "from the base image"
            case .cache: origin = "reused from the cache"
            case .compressed: origin = "compressed"
            }
            context.output.append(line: "layer \(layer.name ?? "base") \(layer.descriptor.digest.prefixed) \(layer.descriptor.size) bytes: \(origin)")
        }
        if let base, FileStat.of(base)?.isRegularFile == true {
            sources.append(.init(uri: "oci-archive:\(base)", sha256: try FileHashing.digest(ofFileAt: base).digest.hex))
        }
        try ContainerProvenance.write(
            to: workspace.appendingPathComponent(provenancePath), subjectName: tag ?? context.target.description,
            manifestHex: built.manifestDigest.hex, target: context.target.description, values: values,
            actionKey: context.key.hex, sources: sources, startedOn: created, workspace: context.workspace)
        context.output.append(line: "provenance \(provenancePath): " + (ProvenanceSigning.key.map { "signed by \($0.publicKey.keyID.prefix(16))" } ?? "unsigned"))
        let reused = built.layers.filter { $0.origin == .cache }.count
        let layerCount = built.layers.count == 1 ? "1 layer" : "\(built.layers.count) layers"
        context.output.append(line: "image \(built.manifestDigest.prefixed): \(layerCount), \(built.compressedLayerCount) compressed, \(reused) reused, \(built.archiveSize) bytes")
    }

    /// A `files` source as provenance resources: the file, or every regular file under the
    /// directory. `known`: digests the action key already took (by workspace-relative path).
    static func sourceFiles(_ source: String, known: [String: ContentDigest] = [:]) throws -> [ProvenanceStatement.Resource] {
        guard let stat = FileStat.of(source) else { return [] }
        let files = stat.isDirectory ? try FileSystem.regularFiles(under: source) : [source]
        return try files.map { .init(uri: "file:\($0)", sha256: try known[$0]?.hex ?? FileHashing.digest(ofFileAt: $0).digest.hex) }
    }

    /// `SOURCE_DATE_EPOCH` as the reproducible-builds spec defines it: decimal seconds since the epoch.
    static func sourceDateEpoch(_ text: String?) throws -> Int64? {
        guard let text else { return nil }
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let seconds = Int64(text),
              seconds <= 253_402_300_799 else {
            throw RuleFailure("SOURCE_DATE_EPOCH='\(text)' is not a whole number of seconds since 1970 (before year 10000)")
        }
        return seconds
    }

    static func isValidPort(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let number = Int(parts[0]), (1...65535).contains(number) else { return false }
        return parts.count == 1 || ["tcp", "udp", "sctp"].contains(parts[1])
    }

    /// What `OCIImageBuilder` accepts for `org.opencontainers.image.ref.name`, checked early so the
    /// error points at the Mlfile.
    static func isValidTag(_ tag: String) -> Bool {
        tag.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-:/+@".unicodeScalars.contains(scalar))
        }
    }
}

extension OCIImageBuilder {
    /// Annotations the builder writes itself from `ImageSpec` fields.
    static let managedAnnotations: Set<String> = [
        refNameAnnotation, createdAnnotation, versionAnnotation, revisionAnnotation, sourceAnnotation, baseDigestAnnotation,
    ]
}
