import MLBuildBasics
import Foundation

/// What `OCIImageBuilder.build` produced.
public struct BuiltImage: Sendable, Equatable {
    public enum LayerOrigin: Sendable, Equatable {
        /// Reused from the base image as it was.
        case base
        /// Blob returned by the layer cache; not recompressed.
        case cache
        /// Tarred and compressed in this build.
        case compressed
    }

    public struct Layer: Sendable, Equatable {
        public var descriptor: Descriptor
        public var diffID: ContentDigest
        public var origin: LayerOrigin
        /// `LayerSpec.name`, or nil for base layers.
        public var name: String?
    }

    public var manifestDigest: ContentDigest
    public var manifestSize: Int64
    public var configDigest: ContentDigest
    public var layers: [Layer]
    /// Size in bytes of the written image.tar.
    public var archiveSize: Int64
    /// Sum of the sizes of all blobs (manifest, config, layers).
    public var blobsSize: Int64

    /// Layers compressed in this build (0 when everything came from the cache or the base).
    public var compressedLayerCount: Int { layers.filter { $0.origin == .compressed }.count }

    /// Content of the `digest` file written next to image.tar: `sha256:<hex>\n`.
    public var digestFileContents: String { manifestDigest.prefixed + "\n" }
}
