/// How our layer blobs are compressed (`compression = gzip | zstd` on a container target). Part
/// of the layer cache key, with the level: a gzip blob is never handed out for a zstd layer.
public enum LayerCompression: String, Sendable, Equatable, CaseIterable {
    /// gzip in independent 128 KiB deflate blocks (see `GzipCompressor`); every tool reads it.
    case gzip
    /// zstd (RFC 8878) through libzstd's multithreaded mode (see `ZstdCompressor`).
    case zstd

    /// The OCI media type of a layer compressed this way.
    public var mediaType: String {
        switch self {
        case .gzip: MediaType.layerTarGzip
        case .zstd: MediaType.layerTarZstd
        }
    }

    /// gzip's and Go's default (6); zstd's command-line default (3).
    public var defaultLevel: Int32 {
        switch self {
        case .gzip: 6
        case .zstd: 3
        }
    }

    /// The levels the compressor accepts.
    public var levels: ClosedRange<Int32> {
        switch self {
        case .gzip: 0...9
        case .zstd: 1...19
        }
    }

    /// The blob's file name extension in the staging directory (for people reading it).
    var fileExtension: String {
        switch self {
        case .gzip: "tar.gz"
        case .zstd: "tar.zst"
        }
    }
}
