import Foundation
import MLBuildBasics
import MLBuildCore
import MLBuildEngine
import MLBuildOCI
import MLBuildRegistry

/// `deploy NAME: container:NAME` — Kubernetes manifests for a runnable image,
/// `build/deploy/NAME/kubernetes.yaml` (`DeployManifest`): a Deployment and a Service.
///
///     deploy churn: container:churn
///         registry = registry.example.com/churn/app
///         replicas = 10
///         cpu = 500m
///         memory = 512Mi
///         canary = 10
///         channel = prod
///
/// The image is referenced by digest, `REGISTRY@sha256:…` (the container's `digest`); probes,
/// port and scrape annotations are those of `runtime = serve` (`/healthz`, `/readyz`, `/metrics`
/// on 8080). With `canary = PERCENT` the channel's current release (`DeployReleases`) is the
/// stable Deployment `NAME` and the new image runs beside it as `NAME-canary`, replicas split by
/// `DeployManifest.split`. That release is read when the key is computed and enters it as the
/// derived parameter `stable`, so a release, promotion or rollback renders the manifest again.
/// See docs/responsible.md.
public struct DeployRule: Rule {
    public static let kind = "deploy"
    public static let version = 1
    public static let summary = "writes Kubernetes manifests (Deployment, Service) for a runnable container image, with an optional canary"
    /// Reads the workspace's release database.
    public static let runsRemotely = false
    public static let keys: [RuleKey] = [
        RuleKey("registry", required: true, summary: "the image repository, HOST[:PORT]/REPOSITORY (no tag): the manifest names REPOSITORY@sha256:DIGEST"),
        RuleKey("replicas", summary: "pods in all (stable and canary together); default 1"),
        RuleKey("cpu", summary: "CPU request and limit of each pod, a Kubernetes quantity (500m, 1, 2)"),
        RuleKey("memory", summary: "memory request and limit of each pod, a Kubernetes quantity (512Mi, 1Gi)"),
        RuleKey("port", summary: "the port the image serves on (default 8080, runtime = serve's)"),
        RuleKey("namespace", summary: "the Kubernetes namespace of the objects (default: none written, kubectl's)"),
        RuleKey("canary", summary: "PERCENT (1-99) of replicas running the new image beside the channel's current release"),
        RuleKey("channel", summary: "the release channel whose current release is the stable image (needed with canary)"),
    ]

    /// The output, relative to the workspace.
    public static func manifestPath(name: String) -> String { "build/deploy/\(name)/kubernetes.yaml" }

    public let name: String
    /// The one `container:NAME` dependency (nil when the header names none or another kind).
    public let container: TargetReference?
    /// Where it was named in the header.
    let containerLocation: SourceLocation?
    /// The repository as written (validated by `RegistryReference`), without tag or digest.
    public let registry: String?
    public let replicas: Int
    public let cpu: String?
    public let memory: String?
    public let port: Int
    public let namespace: String?
    public let canary: Int?
    public let channel: String?

    public let inputs: [InputPattern] = []
    public let outputs: [String]
    public var manifestPath: String { Self.manifestPath(name: name) }

    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        let target = configuration.target
        name = target.reference.name
        outputs = [Self.manifestPath(name: name)]
        // Deployment names are DNS subdomains and the Service's a DNS label; NAME-canary must fit in 63.
        if !DeployManifest.isDNSLabel(name, maximum: 56) || !(name.first?.isLetter ?? false) {
            diagnostics.add(target.diagnostic(
                "deploy target name '\(name)' is not a Kubernetes name: use lowercase letters, digits and '-', starting with a letter "
                    + "and ending with a letter or digit, at most 56 characters (so that '\(name)-canary' fits in 63)"))
        }

        var container: LocatedReference? = nil
        for dependency in target.dependencies {
            if dependency.reference.kind != ContainerRule.kind {
                diagnostics.add(target.source.diagnostic(
                    "\(target.reference) deploys a container image: \(dependency.reference) is not a container target (deploy \(name): container:NAME)",
                    at: dependency.location))
            } else if let first = container {
                diagnostics.add(target.source.diagnostic(
                    "\(target.reference) deploys one image: it already names \(first.reference)", at: dependency.location))
            } else {
                container = dependency
            }
        }
        if target.dependencies.isEmpty && !target.isIncomplete {
            diagnostics.add(target.diagnostic("\(target.reference) needs the container it deploys: deploy \(name): container:NAME"))
        }
        self.container = container?.reference
        containerLocation = container?.location

        func scalar(_ key: String) -> String? {
            guard let text = diagnostics.attempt({ try configuration.string(key) }) ?? nil else { return nil }
            if text.isEmpty {
                diagnostics.add(configuration.diagnostic(key, "'\(key)' is empty"))
                return nil
            }
            return text
        }

        var registry: String? = nil
        if let text = scalar("registry") {
            do {
                let reference = try RegistryReference(parsing: text)
                let path = text.split(separator: "/", maxSplits: 1).dropFirst().first ?? ""
                if reference.explicitScheme != nil {
                    diagnostics.add(configuration.diagnostic("registry", "registry '\(text)': write the repository without http:// or https:// (Kubernetes pulls by HOST/REPOSITORY)"))
                } else if reference.digest != nil || path.contains(":") {
                    diagnostics.add(configuration.diagnostic("registry", "registry '\(text)' names a tag or digest: give the repository alone (the manifest adds @sha256:DIGEST of the image)"))
                } else if text != text.lowercased() {
                    diagnostics.add(configuration.diagnostic("registry", "registry '\(text)': write the host in lowercase"))
                } else {
                    registry = text
                }
            } catch {
                diagnostics.add(configuration.diagnostic("registry", error.message))
            }
        }
        self.registry = registry

        replicas = (diagnostics.attempt { try configuration.integer("replicas", in: 1...10_000) } ?? nil) ?? 1
        var port = Int(ContainerRuntime.port) ?? 8080
        if let chosen = diagnostics.attempt({ try configuration.integer("port", in: 1...65535) }) ?? nil { port = chosen }
        self.port = port

        func quantity(_ key: String, example: String) -> String? {
            guard let text = scalar(key) else { return nil }
            guard DeployManifest.isQuantity(text) else {
                diagnostics.add(configuration.diagnostic(key, "\(key) '\(text)' is not a Kubernetes quantity (a positive number with an optional suffix, e.g. \(example))"))
                return nil
            }
            return text
        }
        cpu = quantity("cpu", example: "500m, 1, 2")
        memory = quantity("memory", example: "512Mi, 1Gi")

        var namespace: String? = nil
        if let text = scalar("namespace") {
            if DeployManifest.isDNSLabel(text) {
                namespace = text
            } else {
                diagnostics.add(configuration.diagnostic("namespace", "namespace '\(text)' is not a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)"))
            }
        }
        self.namespace = namespace

        let canary = diagnostics.attempt { try configuration.integer("canary", in: 1...99) } ?? nil
        var channel: String? = nil
        if let text = scalar("channel") {
            if text.utf8.allSatisfy({ b in (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2E || b == 0x5F || b == 0x2D }) {
                channel = text
            } else {
                diagnostics.add(configuration.diagnostic("channel", "bad channel name '\(text)': use letters, digits, '.', '_' and '-'"))
            }
        }
        if let canary {
            if configuration.lacks("channel") {
                diagnostics.add(configuration.diagnostic(
                    "canary", "canary = \(canary) needs channel = NAME: the release channel whose current release runs as the stable Deployment"))
            }
            if replicas < 2 && !configuration.unusableKeys.contains("replicas") {
                diagnostics.add(configuration.diagnostic(
                    "canary", "canary = \(canary) needs replicas >= 2 (one stable pod and one canary pod at least), not \(replicas)"))
            }
        } else if configuration.has("channel") && configuration.lacks("canary") {
            diagnostics.add(configuration.diagnostic(
                "channel", "channel is read only for a canary: add canary = PERCENT, or remove channel"))
        }
        self.canary = canary
        self.channel = channel
    }

    /// The container must be a runnable image (`runtime = serve`) that exposes the port.
    public func check(against rules: [TargetReference: any Rule], configuration: TargetConfiguration,
                      diagnostics: inout DiagnosticCollector) {
        guard let container, let location = containerLocation, let rule = rules[container] as? ContainerRule else { return }
        let source = configuration.target.source
        guard rule.runtime == .serve else {
            diagnostics.add(source.diagnostic(
                "\(container) is not runnable: a deploy needs an image with runtime = serve (it answers /healthz, /readyz and /metrics)",
                at: location))
            return
        }
        let exposed = Set(rule.exposedPorts.compactMap { try? OCIImageBuilder.normalizePort($0) })
        if !exposed.contains("\(port)/tcp") {
            diagnostics.add(configuration.diagnostic(
                "port", "port \(port) is not exposed by \(container) (its exposed ports: \(exposed.sorted().joined(separator: ", ")))"))
        }
    }

    /// With `canary`: the channel's current release (`stable`), so that a new release renders
    /// the manifest again. `none` when the channel has none (the run then fails saying so).
    public func derivedParameters(workspace: String) throws -> [(name: String, value: String)] {
        guard canary != nil, let channel else { return [] }
        return [("stable", Self.describe(try DeployReleases.current(channel: channel)))]
    }

    static func describe(_ release: ChannelRelease?) -> String {
        release.map { "release \($0.id) \($0.target) \($0.imageDigest)" } ?? "none"
    }

    public func run(_ context: RuleContext) async throws {
        guard let container, let registry else { throw RuleFailure("internal: \(context.target) has no container or registry") }
        guard let result = context.dependencies[container] else { throw RuleFailure("internal: the result of \(container) is missing") }
        let paths = context.dependencyOutputs[container] ?? result.outputs.map(\.path)
        guard let digestPath = paths.first(where: { $0.hasSuffix("/digest") }),
              let imagePath = paths.first(where: { $0.hasSuffix("/image.tar") }) else {
            throw RuleFailure("\(container) has no image.tar and digest outputs")
        }
        let workspace = URL(fileURLWithPath: context.workspace, isDirectory: true)
        let digestText: String
        do {
            digestText = try String(contentsOf: workspace.appendingPathComponent(digestPath), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw RuleFailure("cannot read \(digestPath): \(error.localizedDescription)")
        }
        guard let digest = ContentDigest(prefixed: digestText) else {
            throw RuleFailure("\(digestPath) does not hold a sha256: digest")
        }
        let imageAnnotations = try Self.manifestAnnotations(archive: workspace.appendingPathComponent(imagePath), name: imagePath, digest: digest)
        // Checked when the Mlfile is loaded too; the incremental path configures targets alone.
        guard imageAnnotations[ContainerRuntime.runtimeAnnotation] == ContainerRuntime.Kind.serve.rawValue else {
            throw RuleFailure("\(container)'s image is not runnable: a deploy needs runtime = serve")
        }

        var newAnnotations = DeployManifest.annotations(ofImage: imageAnnotations)
        newAnnotations[DeployManifest.annotationPrefix + "target"] = context.target.description
        newAnnotations[DeployManifest.annotationPrefix + "container"] = container.description
        newAnnotations[DeployManifest.annotationPrefix + "image-digest"] = digest.prefixed
        let newImage = "\(registry)@\(digest.prefixed)"

        var tracks: [DeployManifest.Track] = []
        if let canary, let channel {
            guard let stable = try DeployReleases.current(channel: channel) else {
                throw RuleFailure("channel '\(channel)' has no release yet: a canary runs beside the channel's current release; "
                    + "release one first (mlbuild release \(container) --channel \(channel)) or remove canary from \(context.target)")
            }
            guard let stableDigest = ContentDigest(prefixed: stable.imageDigest) else {
                throw RuleFailure("release \(stable.id) of channel '\(channel)' records no sha256: image digest ('\(stable.imageDigest)')")
            }
            newAnnotations[DeployManifest.annotationPrefix + "channel"] = channel
            if stableDigest == digest {
                // Promoted (or released before the canary ran): all replicas on the one image; the
                // canary Deployment stays, scaled to 0, so that `kubectl apply` retires its pods.
                var stableAnnotations = newAnnotations
                stableAnnotations[DeployManifest.annotationPrefix + "release"] = String(stable.id)
                tracks.append(.init(kind: .stable, replicas: replicas, image: newImage, annotations: stableAnnotations))
                var canaryAnnotations = newAnnotations
                canaryAnnotations[DeployManifest.annotationPrefix + "canary-percent"] = String(canary)
                tracks.append(.init(kind: .canary, replicas: 0, image: newImage, annotations: canaryAnnotations))
                context.output.append(line: "warning: \(container)'s image \(digest.prefixed) is \(channel)'s current release (#\(stable.id)): "
                    + "no canary, all \(replicas) replicas on it (\(name)-canary scaled to 0)")
            } else {
                let split = DeployManifest.split(replicas: replicas, percent: canary)
                let stableAnnotations = [
                    DeployManifest.annotationPrefix + "target": context.target.description,
                    DeployManifest.annotationPrefix + "image-digest": stableDigest.prefixed,
                    DeployManifest.annotationPrefix + "channel": channel,
                    DeployManifest.annotationPrefix + "release": String(stable.id),
                ]
                tracks.append(.init(kind: .stable, replicas: split.stable, image: "\(registry)@\(stableDigest.prefixed)", annotations: stableAnnotations))
                var canaryAnnotations = newAnnotations
                canaryAnnotations[DeployManifest.annotationPrefix + "canary-percent"] = String(canary)
                tracks.append(.init(kind: .canary, replicas: split.canary, image: newImage, annotations: canaryAnnotations))
                context.output.append(line: "deployment \(name): \(split.stable) replicas of \(channel)'s release #\(stable.id) \(stableDigest.prefixed)")
                context.output.append(line: "deployment \(name)-canary: \(split.canary) replicas of \(digest.prefixed) (\(canary)%)")
            }
        } else {
            tracks.append(.init(kind: .stable, replicas: replicas, image: newImage, annotations: newAnnotations))
            context.output.append(line: "deployment \(name): \(replicas) replicas of \(digest.prefixed)")
        }

        var manifest = DeployManifest(name: name, namespace: namespace, port: port, cpu: cpu, memory: memory, tracks: tracks)
        // Every track: the stable image's needs are not read, and the Secret exists for the new one anyway.
        if let secret = imageAnnotations[ContainerAnnotations.pseudonymizeKeySecret] { manifest.secretEnvironment = [secret] }
        guard let output = context.outputs.first else { throw RuleFailure("internal: \(context.target) declares no output") }
        let file = workspace.appendingPathComponent(output)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(manifest.yaml, to: file.path)
        context.output.append(line: "manifest \(output): \(tracks.count) Deployment\(tracks.count == 1 ? "" : "s") and a Service")
    }

    /// The annotations of the image manifest `digest` in an OCI archive: its blob, read from the
    /// tar without extracting anything else, checked against the digest.
    /// `archive` is named `name` (workspace-relative) in messages.
    static func manifestAnnotations(archive url: URL, name archive: String, digest: ContentDigest) throws -> [String: String] {
        let blob = "blobs/sha256/\(digest.hex)"
        do {
            let reader = try ArchiveReader(file: url)
            var bytes: [UInt8]? = nil
            while let entry = try reader.next() {
                let path = entry.path.hasPrefix("./") ? String(entry.path.dropFirst(2)) : entry.path
                if path == blob, entry.kind == .regular {
                    bytes = try reader.readAll(limit: 4 << 20)
                    break
                }
            }
            try reader.finish()
            guard let bytes else { throw RuleFailure("\(archive) holds no manifest \(digest.prefixed)") }
            guard ContentDigest.of(bytes) == digest else {
                throw RuleFailure("\(archive): the manifest blob \(digest.prefixed) does not match its digest")
            }
            let manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
            return manifest.annotations ?? [:]
        } catch let error as ArchiveError {
            throw RuleFailure(error.message)
        } catch let error as DecodingError {
            throw RuleFailure("\(archive): the manifest \(digest.prefixed) is not an OCI image manifest (\(error))")
        }
    }
}
