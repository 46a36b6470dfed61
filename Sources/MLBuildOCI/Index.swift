/// An OCI image index (`index.json` at the root of an image layout).
public struct Index: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = MediaType.imageIndex
        self.manifests = manifests
        self.annotations = annotations
    }
}
