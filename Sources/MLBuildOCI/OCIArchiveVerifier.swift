import MLBuildBasics
import Crypto
import Foundation

/// Checks an `oci-archive` tar (or an image-layout directory) end to end: `oci-layout`,
/// `index.json`, every manifest/config/layer blob's size and sha256 against its descriptor, and
/// each layer's uncompressed sha256 against the config's `rootfs.diff_ids`. The first problem is
/// thrown as an `OCIError` naming the blob.
public enum OCIArchiveVerifier {
    public static func verify(_ url: URL) throws -> VerificationReport {
        let scratch = scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        return try verify(source: OCILayoutSource.open(url, scratch: scratch), url: url).report
    }

    /// A fresh path under the temp directory for an extracted archive.
    static func scratchDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent(
            "mlbuild-oci-verify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// Verifies an opened layout; also returns its index.json and every blob digest checked.
    static func verify(source: OCILayoutSource, url: URL) throws
        -> (report: VerificationReport, index: Index, verified: Set<ContentDigest>)
    {
        let index = try source.readIndex()
        guard !index.manifests.isEmpty else { throw OCIError("OCI image '\(url.relativePath)': index.json lists no manifests") }
        var verified = Set<ContentDigest>()
        var bytes: Int64 = 0
        var images: [VerificationReport.Image] = []

        func check(_ descriptor: Descriptor, what: String) throws -> URL {
            let file = try source.verifiedBlob(descriptor, what: what)
            if verified.insert(descriptor.digest).inserted { bytes += descriptor.size }
            return file
        }

        var pending = index.manifests.map { ($0, 0) }
        while !pending.isEmpty {
            let (descriptor, depth) = pending.removeFirst()
            if MediaType.isIndex(descriptor.mediaType) {
                guard depth < 4 else { throw OCIError("OCI image '\(url.relativePath)': index nesting too deep at \(descriptor.digest.prefixed)") }
                let file = try check(descriptor, what: "index")
                let nested = try OCIJSON.decode(
                    Index.self, from: source.readSmall(file, what: "index"), what: "index blob \(descriptor.digest.prefixed)")
                pending.append(contentsOf: nested.manifests.map { ($0, depth + 1) })
                continue
            }
            guard MediaType.isManifest(descriptor.mediaType) else {
                throw OCIError("OCI image '\(url.relativePath)': descriptor \(descriptor.digest.prefixed) has unknown media type '\(descriptor.mediaType)'")
            }
            let manifestFile = try check(descriptor, what: "manifest")
            let manifest = try OCIJSON.decode(
                Manifest.self, from: source.readSmall(manifestFile, what: "manifest"), what: "manifest blob \(descriptor.digest.prefixed)")
            if let declared = manifest.mediaType, declared != descriptor.mediaType {
                throw OCIError("manifest blob \(descriptor.digest.prefixed): mediaType '\(declared)' differs from its descriptor's '\(descriptor.mediaType)'")
            }
            let configFile = try check(manifest.config, what: "config")
            let config = try OCIJSON.decode(
                ImageConfig.self, from: source.readSmall(configFile, what: "config"), what: "config blob \(manifest.config.digest.prefixed)")
            guard config.rootfs.diff_ids.count == manifest.layers.count else {
                throw OCIError(
                    "config blob \(manifest.config.digest.prefixed): \(config.rootfs.diff_ids.count) diff_ids for \(manifest.layers.count) layers in manifest \(descriptor.digest.prefixed)")
            }
            var layers: [(ContentDigest, ContentDigest)] = []
            for (i, layer) in manifest.layers.enumerated() {
                let file = try check(layer, what: "layer \(i)")
                let diffID = try uncompressedDigest(file, digest: layer.digest)
                guard diffID == config.rootfs.diff_ids[i] else {
                    throw OCIError(
                        "layer blob \(layer.digest.prefixed): uncompressed digest \(diffID.prefixed) does not match diff_id \(config.rootfs.diff_ids[i].prefixed) (layer \(i))")
                }
                layers.append((layer.digest, diffID))
            }
            images.append(.init(
                manifestDigest: descriptor.digest, refName: descriptor.annotations?[OCIImageBuilder.refNameAnnotation],
                configDigest: manifest.config.digest,
                platform: Platform(os: config.os, architecture: config.architecture, variant: config.variant),
                layers: layers))
        }
        return (VerificationReport(images: images, blobsVerified: verified.count, bytesVerified: bytes), index, verified)
    }

    /// SHA-256 of a layer after decompression (gzip, zstd or none, as libarchive detects).
    static func uncompressedDigest(_ file: URL, digest: ContentDigest) throws -> ContentDigest {
        do {
            let reader = try ArchiveReader(file: file, mode: .rawStream)
            var hasher = SHA256()
            if try reader.next() != nil {
                try reader.readData { hasher.update(bufferPointer: $0) }
            }
            try reader.finish()
            return ContentDigest(hasher.finalize())
        } catch let error as ArchiveError {
            throw OCIError("layer blob \(digest.prefixed): cannot decompress: \(error)")
        }
    }
}
