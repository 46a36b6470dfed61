import Foundation
import MLBuildBasics

/// What `RegistryPusher.push` did: the manifest pushed, each blob uploaded or found present,
/// and how the provenance was attached. `json()` is the document `mlbuild push --json` prints.
public struct RegistryPushResult: Sendable, Equatable {
    public struct Blob: Sendable, Equatable {
        public var digest: ContentDigest
        public var size: Int64
        public var mediaType: String
        /// False: the registry had it already (no byte sent).
        public var uploaded: Bool
        /// PATCH chunks plus the closing PUT's body (1 for a monolithic upload, 0 when skipped).
        public var chunks: Int

        public init(digest: ContentDigest, size: Int64, mediaType: String, uploaded: Bool, chunks: Int) {
            self.digest = digest
            self.size = size
            self.mediaType = mediaType
            self.uploaded = uploaded
            self.chunks = chunks
        }
    }

    /// How the provenance artifact was made findable from the image.
    public enum ReferrerMethod: String, Sendable, Equatable {
        /// The registry indexed the artifact's `subject` itself (it answered `OCI-Subject`).
        case referrersAPI = "referrers-api"
        /// The OCI 1.1 fallback: the artifact is listed in the index tagged `sha256-<subject hex>`.
        case referrersTag = "referrers-tag"
    }

    public struct Provenance: Sendable, Equatable {
        /// The artifact manifest's digest (its `subject` is the pushed image).
        public var manifestDigest: ContentDigest
        /// The DSSE envelope blob.
        public var layerDigest: ContentDigest
        public var method: ReferrerMethod
        /// `sha256-<hex>` for `referrersTag`.
        public var tag: String?
        /// Whether the referrers tag index was written (false: it listed the artifact already).
        public var indexUpdated: Bool
        /// The empty config and the envelope.
        public var blobs: [Blob]
    }

    public var reference: RegistryReference
    /// The digest of the manifest (or index) pushed under the reference.
    public var manifestDigest: ContentDigest
    public var mediaType: String
    /// Config and layer blobs of the image, in manifest order, each once.
    public var blobs: [Blob]
    /// Manifests pushed by digest before the tagged one (the images of a multi-platform index).
    public var childManifests: [ContentDigest]
    public var provenance: Provenance?

    /// Bytes sent in blob bodies, provenance blobs included.
    public var bytesUploaded: Int64 {
        (blobs + (provenance?.blobs ?? [])).filter(\.uploaded).reduce(0) { $0 + $1.size }
    }

    /// `{"reference", "digest", "media_type", "blobs": [{"digest","size","media_type","uploaded"}],
    /// "bytes_uploaded", "provenance": {"digest","layer","method","tag"} or null}`, keys sorted.
    public func json() -> String {
        func blob(_ blob: Blob) -> [String: Any] {
            ["digest": blob.digest.prefixed, "size": blob.size, "media_type": blob.mediaType, "uploaded": blob.uploaded]
        }
        var object: [String: Any] = [
            "reference": reference.description,
            "digest": manifestDigest.prefixed,
            "media_type": mediaType,
            "blobs": blobs.map(blob),
            "bytes_uploaded": bytesUploaded,
            "provenance": NSNull(),
        ]
        if let provenance {
            var entry: [String: Any] = [
                "digest": provenance.manifestDigest.prefixed, "layer": provenance.layerDigest.prefixed,
                "method": provenance.method.rawValue, "blobs": provenance.blobs.map(blob), "index_updated": provenance.indexUpdated,
            ]
            entry["tag"] = provenance.tag ?? NSNull()
            object["provenance"] = entry
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// One line: `pushed HOST/REPO:TAG sha256:… (3 blobs: 2 uploaded 4.1 MB, 1 already present);
    /// provenance attached as referrer (referrers tag sha256-…)`.
    public var summary: String {
        let uploaded = blobs.filter(\.uploaded)
        var text = "pushed \(reference) \(manifestDigest.prefixed) (\(blobs.count) blob\(blobs.count == 1 ? "" : "s"): "
            + "\(uploaded.count) uploaded \(Self.bytes(uploaded.reduce(0) { $0 + $1.size })), \(blobs.count - uploaded.count) already present)"
        if let provenance {
            text += "; provenance \(provenance.manifestDigest.prefixed) attached as referrer ("
                + (provenance.method == .referrersAPI ? "referrers API" : "referrers tag \(provenance.tag ?? "")")
                + (provenance.method == .referrersTag && !provenance.indexUpdated ? ", already listed" : "") + ")"
        }
        return text
    }

    static func bytes(_ count: Int64) -> String {
        if count < 1000 { return "\(count) B" }
        let units = ["kB", "MB", "GB", "TB"]
        var value = Double(count) / 1000
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return String(format: "%.1f %@", value, units[unit])
    }
}
