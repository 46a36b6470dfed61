import MLBuildBasics
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Builds a reproducible OCI image and writes it as an `oci-archive` tar.
///
/// The archive (see docs/containers.md) is an image layout packed as a tar, entries in a fixed
/// order:
///
///     blobs/  blobs/sha256/  <layer blobs, in the manifest's order>  <config>  <manifest>
///     index.json  oci-layout
///
/// with the same normalized tar metadata as the layers (mtime 0, uid/gid 0, 0644/0755). A layer
/// compressed now is written once, straight into the archive (`ImageArchiveWriter`); the layer
/// cache gets a copy of its bytes made in the kernel. A blob is archived once even when two
/// layers share it.
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

        let level = spec.effectiveCompressionLevel
        // Without a layer cache there is no key, so nothing hashes the files before they are tarred.
        let plans = try spec.layers.map {
            try LayerPlan(spec: $0, compression: spec.compression, compressionLevel: level, keyed: layerCache != nil)
        }
        let totalBytes = plans.reduce(Int64(0)) { sum, plan in plan.items.reduce(sum) { $0 + $1.size } }

        let temp = AtomicFile.temporaryURL(for: output)
        do {
            let sink = try FileSink(url: temp)
            let archive = ImageArchiveWriter(sink: sink)
            try archive.directory("blobs")
            try archive.directory("blobs/sha256")
            // Where each blob's bytes start in the archive; a blob is archived once.
            var archived: [ContentDigest: Int64] = [:]
            /// Copies a blob file made elsewhere (the layer cache, a base image) into the archive,
            /// checking it against its digest on the way.
            func archiveChecked(_ digest: ContentDigest, size: Int64, file: URL, from origin: String) throws {
                guard archived[digest] == nil else { return }
                archived[digest] = sink.bytesWritten + Int64(ImageArchiveWriter.blockSize)
                var hasher = SHA256()
                try archive.file("blobs/sha256/" + digest.hex, size: size, contentsOf: file) { hasher.update(bufferPointer: $0) }
                guard ContentDigest(hasher.finalize()) == digest else {
                    throw OCIError("layer blob \(digest.prefixed) read from '\(file.path)' does not match its digest (corrupt \(origin)?)")
                }
            }

            // Layers: base ones as they are, then ours from the cache or compressed now, straight
            // into the archive.
            var layers: [BuiltImage.Layer] = []
            if let base {
                for (i, layer) in base.layers.enumerated() {
                    layers.append(.init(descriptor: layer.descriptor, diffID: base.config.rootfs.diff_ids[i], origin: .base, name: nil))
                    try archiveChecked(layer.descriptor.digest, size: layer.descriptor.size, file: layer.url, from: "base image")
                }
            }
            var packedBytes: Int64 = 0
            progress?(0, totalBytes)
            for (i, layerSpec) in spec.layers.enumerated() {
                let plan = plans[i]
                let layer: BuiltImage.Layer
                if let key = plan.cacheKey, let hit = try layerCache?.lookup(key: key) {
                    try archiveChecked(hit.digest, size: hit.size, file: hit.url, from: "layer cache")
                    layer = .init(
                        descriptor: Descriptor(mediaType: spec.compression.mediaType, digest: hit.digest, size: hit.size),
                        diffID: hit.diffID, origin: .cache, name: layerSpec.name)
                } else {
                    let entry = try archive.beginStreamedEntry()
                    let written = try LayerBlobWriter.write(
                        plan: plan, into: sink, compression: spec.compression, level: level,
                        mtime: 0, packed: progress.map { progress in { bytes in
                            packedBytes += bytes
                            progress(min(packedBytes, totalBytes), totalBytes)
                        } })
                    if archived[written.digest] == nil {
                        try archive.endStreamedEntry(entry, path: "blobs/sha256/" + written.digest.hex)
                        archived[written.digest] = entry.dataOffset
                    } else {
                        try archive.discardStreamedEntry(entry)  // the same blob is in the archive already
                    }
                    if let layerCache, let key = plan.cacheKey, let offset = archived[written.digest] {
                        let staged = staging.appendingPathComponent("layer-\(i).\(spec.compression.fileExtension)")
                        try sink.copyRange(offset: offset, count: written.size, to: staged)
                        _ = try layerCache.store(
                            key: key,
                            blob: CachedLayerBlob(url: staged, digest: written.digest, diffID: written.diffID, size: written.size))
                    }
                    layer = .init(
                        descriptor: Descriptor(mediaType: spec.compression.mediaType, digest: written.digest, size: written.size),
                        diffID: written.diffID, origin: .compressed, name: layerSpec.name)
                }
                layers.append(layer)
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

            for (digest, bytes) in [(configDescriptor.digest, configBytes), (manifestDescriptor.digest, manifestBytes)]
            where archived[digest] == nil {
                archived[digest] = sink.bytesWritten + Int64(ImageArchiveWriter.blockSize)
                try archive.file("blobs/sha256/" + digest.hex, bytes: bytes)
            }
            try archive.file("index.json", bytes: indexBytes)
            try archive.file("oci-layout", bytes: layoutBytes)
            try archive.finish()
            try AtomicFile.commit(temp, to: output)
            let built = BuiltImage(
                manifestDigest: manifestDescriptor.digest, manifestSize: manifestDescriptor.size,
                configDigest: configDescriptor.digest, layers: layers, archiveSize: sink.bytesWritten,
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
