import MLBuildBasics
import Foundation

/// A base image read from an OCI archive or layout directory, every blob verified.
struct BaseImage {
    let manifestDigest: ContentDigest
    let config: ImageConfig
    /// Layer descriptors (media types normalized to OCI) with the verified files holding them.
    let layers: [(descriptor: Descriptor, url: URL)]
    let refName: String?

    /// Picks the single image manifest of the layout (or the one matching `platform` when the
    /// index lists several, following one level of nested index).
    static func load(_ url: URL, platform: Platform?, scratch: URL) throws -> BaseImage {
        let source = try OCILayoutSource.open(url, scratch: scratch)
        let index = try source.readIndex()
        let chosen = try choose(index.manifests, platform: platform, source: source, depth: 0)
        let manifest = try source.verifiedJSON(Manifest.self, chosen, what: "base manifest")
        guard manifest.schemaVersion == 2 else {
            throw OCIError("base image '\(url.path)': manifest \(chosen.digest.prefixed) schemaVersion is not 2")
        }
        let config = try source.verifiedJSON(ImageConfig.self, manifest.config, what: "base config")
        guard config.rootfs.diff_ids.count == manifest.layers.count else {
            throw OCIError(
                "base image '\(url.path)': config has \(config.rootfs.diff_ids.count) diff_ids for \(manifest.layers.count) layers")
        }
        var layers: [(Descriptor, URL)] = []
        for (i, layer) in manifest.layers.enumerated() {
            let file = try source.verifiedBlob(layer, what: "base layer \(i)")
            var descriptor = layer
            descriptor.mediaType = MediaType.ociLayerType(layer.mediaType)
            layers.append((descriptor, file))
        }
        return BaseImage(
            manifestDigest: chosen.digest, config: config, layers: layers,
            refName: chosen.annotations?["org.opencontainers.image.ref.name"])
    }

    private static func choose(
        _ manifests: [Descriptor], platform: Platform?, source: OCILayoutSource, depth: Int
    ) throws -> Descriptor {
        var candidates = manifests
        if candidates.count > 1, let platform {
            candidates = candidates.filter {
                $0.platform.map { $0.os == platform.os && $0.architecture == platform.architecture } ?? false
            }
        }
        guard candidates.count == 1, let chosen = candidates.first else {
            throw OCIError(
                "base image '\(source.description)': index lists \(manifests.count) manifests; expected exactly one"
                    + (platform.map { " for \($0)" } ?? " (give a platform)"))
        }
        if MediaType.isIndex(chosen.mediaType) {
            guard depth == 0 else { throw OCIError("base image '\(source.description)': nested index too deep") }
            let nested = try source.verifiedJSON(Index.self, chosen, what: "base nested index")
            return try choose(nested.manifests, platform: platform ?? .linuxAMD64, source: source, depth: 1)
        }
        guard MediaType.isManifest(chosen.mediaType) else {
            throw OCIError("base image '\(source.description)': descriptor \(chosen.digest.prefixed) has media type '\(chosen.mediaType)', not an image manifest")
        }
        return chosen
    }
}
