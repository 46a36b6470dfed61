import MLBuildBasics
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Builds a reproducible OCI image and writes it as an `oci-archive` tar.
///
/// The archive (see docs/containers.md) is an image layout packed as a tar, entries sorted:
///
///     blobs/  blobs/sha256/  blobs/sha256/<hex>…  index.json  oci-layout
///
/// with the same normalized tar metadata as the layers (mtime 0, uid/gid 0, 0644/0755).
/// `index.json` holds one manifest descriptor carrying the annotations; the manifest carries
/// them too. Same spec and same file contents -> same bytes, whatever the host paths or clock.
public enum OCIImageBuilder {
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
    public static let createdAnnotation = "org.opencontainers.image.created"
    public static let versionAnnotation = "org.opencontainers.image.version"
    public static let revisionAnnotation = "org.opencontainers.image.revision"
    public static let sourceAnnotation = "org.opencontainers.image.source"
    public static let baseDigestAnnotation = "org.opencontainers.image.base.digest"

    /// Writes the image to `output` (atomically) and, when given, `sha256:<hex>\n` to `digestFile`.
    /// `progress` hears the file bytes of our layers packed so far and their total (`PackProgress`).
    @discardableResult
    public static func build(
        spec: ImageSpec, layerCache: LayerBlobCache?, output: URL, digestFile: URL? = nil, progress: PackProgress? = nil
    ) throws -> BuiltImage {
        let fm = FileManager.default
        let directory = output.deletingLastPathComponent()
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let staging = directory.appendingPathComponent(
            ".\(output.lastPathComponent).staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        defer { try? fm.removeItem(at: staging) }

        let created = spec.createdTimestamp
        let base = try spec.base.map {
            try BaseImage.load($0, platform: spec.platform, scratch: staging.appendingPathComponent("base"))
        }
        let platform = try resolvePlatform(spec: spec, base: base)

        // Layers: base ones as they are, then ours from the cache or compressed now.
        var layers: [BuiltImage.Layer] = []
        var blobFiles: [ContentDigest: URL] = [:]
        // Layer blobs written and hashed by this build in its private staging directory: copied
        // into the archive without hashing them a second time.
        var stagedAndHashed: Set<ContentDigest> = []
        if let base {
            for (i, layer) in base.layers.enumerated() {
                layers.append(.init(descriptor: layer.descriptor, diffID: base.config.rootfs.diff_ids[i], origin: .base, name: nil))
                blobFiles[layer.descriptor.digest] = layer.url
            }
        }
        let level = spec.effectiveCompressionLevel
        let plans = try spec.layers.map { try LayerPlan(spec: $0, compression: spec.compression, compressionLevel: level) }
        let totalBytes = plans.reduce(Int64(0)) { sum, plan in plan.items.reduce(sum) { $0 + $1.size } }
        var packedBytes: Int64 = 0
        progress?(0, totalBytes)
        for (i, layerSpec) in spec.layers.enumerated() {
            let plan = plans[i]
            var blob: CachedLayerBlob
            var origin = BuiltImage.LayerOrigin.cache
            if let hit = try layerCache?.lookup(key: plan.cacheKey) {
                blob = hit
            } else {
                origin = .compressed
                blob = try LayerBlobWriter.write(
                    plan: plan, to: staging.appendingPathComponent("layer-\(i).\(spec.compression.fileExtension)"),
                    compression: spec.compression, level: level,
                    mtime: 0, packed: progress.map { progress in { bytes in
                        packedBytes += bytes
                        progress(min(packedBytes, totalBytes), totalBytes)
                    } })
                let staged = blob.url
                if let layerCache { blob = try layerCache.store(key: plan.cacheKey, blob: blob) }
                if blob.url == staged { stagedAndHashed.insert(blob.digest) }
            }
            let descriptor = Descriptor(mediaType: spec.compression.mediaType, digest: blob.digest, size: blob.size)
            layers.append(.init(descriptor: descriptor, diffID: blob.diffID, origin: origin, name: layerSpec.name))
            blobFiles[blob.digest] = blob.url
            // A layer from the cache counts as packed at once.
            packedBytes = plans[...i].reduce(Int64(0)) { sum, plan in plan.items.reduce(sum) { $0 + $1.size } }
            progress?(packedBytes, totalBytes)
        }

        let config = try makeConfig(spec: spec, base: base, platform: platform, created: created, layers: layers)
        let configBytes = try OCIJSON.encode(config)
        let configDescriptor = Descriptor(
            mediaType: MediaType.imageConfig, digest: .of(configBytes), size: Int64(configBytes.count))

        let annotations = try makeAnnotations(spec: spec, base: base, created: created)
        let manifest = Manifest(config: configDescriptor, layers: layers.map(\.descriptor), annotations: annotations)
        let manifestBytes = try OCIJSON.encode(manifest)
        let manifestDescriptor = Descriptor(
            mediaType: MediaType.imageManifest, digest: .of(manifestBytes), size: Int64(manifestBytes.count),
            annotations: annotations, platform: platform)
        let indexBytes = try OCIJSON.encode(Index(manifests: [manifestDescriptor]))
        let layoutBytes = try OCIJSON.encode(ImageLayout())

        // Small blobs live in memory; large ones stream from their files with a digest check.
        let memoryBlobs: [ContentDigest: [UInt8]] = [
            configDescriptor.digest: configBytes, manifestDescriptor.digest: manifestBytes,
        ]
        let sizes = Dictionary(
            layers.map { ($0.descriptor.digest, $0.descriptor.size) }, uniquingKeysWith: { first, _ in first })
        let allDigests = Set(blobFiles.keys).union(memoryBlobs.keys).sorted()

        let temp = AtomicFile.temporaryURL(for: output)
        do {
            let sink = try FileSink(url: temp)
            let tar = try ArchiveWriter(format: .paxRestricted, mtime: 0, sink: sink)
            try tar.writeDirectory(path: "blobs")
            try tar.writeDirectory(path: "blobs/sha256")
            for digest in allDigests {
                let path = "blobs/sha256/" + digest.hex
                if let bytes = memoryBlobs[digest] {
                    try tar.writeFile(path: path, bytes: bytes)
                } else if let file = blobFiles[digest], let size = sizes[digest], stagedAndHashed.contains(digest) {
                    try tar.writeFile(path: path, size: size, contentsOf: file)
                } else if let file = blobFiles[digest], let size = sizes[digest] {
                    var hasher = SHA256()
                    try tar.writeFile(path: path, size: size, contentsOf: file) { hasher.update(bufferPointer: $0) }
                    guard ContentDigest(hasher.finalize()) == digest else {
                        throw OCIError(
                            "layer blob \(digest.prefixed) read from '\(file.path)' does not match its digest (corrupt layer cache or base image?)")
                    }
                }
            }
            try tar.writeFile(path: "index.json", bytes: indexBytes)
            try tar.writeFile(path: "oci-layout", bytes: layoutBytes)
            try tar.finish()
            try AtomicFile.commit(temp, to: output)
            let archiveSize = sink.bytesWritten
            let built = BuiltImage(
                manifestDigest: manifestDescriptor.digest, manifestSize: manifestDescriptor.size,
                configDigest: configDescriptor.digest, layers: layers, archiveSize: archiveSize,
                blobsSize: layers.reduce(Int64(configBytes.count + manifestBytes.count)) { $0 + $1.descriptor.size })
            if let digestFile { try AtomicFile.write(Array(built.digestFileContents.utf8), to: digestFile) }
            return built
        } catch {
            unlink(temp.path)
            throw error
        }
    }

    private static func resolvePlatform(spec: ImageSpec, base: BaseImage?) throws -> Platform {
        guard let base else { return spec.platform ?? .linuxAMD64 }
        let basePlatform = Platform(os: base.config.os, architecture: base.config.architecture, variant: base.config.variant)
        if let wanted = spec.platform, wanted.os != basePlatform.os || wanted.architecture != basePlatform.architecture {
            throw OCIError("platform \(wanted) does not match the base image's platform \(basePlatform)")
        }
        return spec.platform ?? basePlatform
    }

    static func makeConfig(
        spec: ImageSpec, base: BaseImage?, platform: Platform, created: String, layers: [BuiltImage.Layer]
    ) throws -> ImageConfig {
        var container = base?.config.config ?? ImageConfig.ContainerConfig()
        if let entrypoint = spec.entrypoint {
            container.Entrypoint = entrypoint
            // As Docker does: a new entrypoint drops the base's cmd unless a cmd is given.
            if spec.cmd == nil { container.Cmd = nil }
        }
        if let cmd = spec.cmd { container.Cmd = cmd }
        if let workdir = spec.workdir { container.WorkingDir = workdir }
        if let user = spec.user { container.User = user }
        var env = container.Env ?? []
        for entry in spec.env {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw OCIError("env entry '\(entry)' is not KEY=VALUE")
            }
            let key = entry[..<equals]
            if let existing = env.firstIndex(where: { $0.hasPrefix(key + "=") }) {
                env[existing] = entry
            } else {
                env.append(entry)
            }
        }
        container.Env = env.isEmpty ? nil : env
        var ports = container.ExposedPorts ?? [:]
        for port in spec.exposedPorts {
            ports[try normalizePort(port)] = ImageConfig.Empty()
        }
        container.ExposedPorts = ports.isEmpty ? nil : ports
        var labels = container.Labels ?? [:]
        labels.merge(spec.labels) { _, new in new }
        container.Labels = labels.isEmpty ? nil : labels

        var history = base?.config.history ?? []
        for layer in layers where layer.origin != .base {
            history.append(.init(created: created, createdBy: "mlbuild container: layer '\(layer.name ?? "")'"))
        }
        return ImageConfig(
            created: created, architecture: platform.architecture, os: platform.os, variant: platform.variant,
            config: container, rootfs: .init(diffIDs: layers.map(\.diffID)), history: history.isEmpty ? nil : history)
    }

    /// `8080` → `8080/tcp`; `53/udp` as it is; an error for anything else.
    public static func normalizePort(_ text: String) throws -> String {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let number = Int(parts[0]), (1...65535).contains(number) else {
            throw OCIError("exposed port '\(text)' is not PORT or PORT/PROTO with PORT in 1...65535")
        }
        let proto = parts.count == 2 ? String(parts[1]) : "tcp"
        guard ["tcp", "udp", "sctp"].contains(proto) else {
            throw OCIError("exposed port '\(text)': protocol must be tcp, udp or sctp")
        }
        return "\(number)/\(proto)"
    }

    static func makeAnnotations(spec: ImageSpec, base: BaseImage?, created: String) throws -> [String: String] {
        var annotations = spec.annotations
        annotations[createdAnnotation] = created
        if let tag = spec.tag {
            // image-spec ref.name grammar, simplified: alphanumerics and . _ - : / + @
            guard !tag.isEmpty, tag.unicodeScalars.allSatisfy({
                ($0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-:/+@".unicodeScalars.contains($0)))
            }) else {
                throw OCIError("tag '\(tag)' is not a valid org.opencontainers.image.ref.name")
            }
            annotations[refNameAnnotation] = tag
        }
        if let version = spec.version { annotations[versionAnnotation] = version }
        if let revision = spec.revision { annotations[revisionAnnotation] = revision }
        if let source = spec.source { annotations[sourceAnnotation] = source }
        if let base {
            annotations[baseDigestAnnotation] = base.manifestDigest.prefixed
        }
        return annotations
    }
}
