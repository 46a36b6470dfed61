import MLBuildBasics

/// An OCI content descriptor: what a blob is, its digest and exact size.
public struct Descriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    public var digest: ContentDigest
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: Platform?

    public init(
        mediaType: String, digest: ContentDigest, size: Int64, annotations: [String: String]? = nil,
        platform: Platform? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }
}
