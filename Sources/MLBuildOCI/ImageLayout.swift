/// The `oci-layout` file of an image layout.
public struct ImageLayout: Codable, Sendable, Equatable {
    public var imageLayoutVersion: String

    public init(imageLayoutVersion: String = "1.0.0") {
        self.imageLayoutVersion = imageLayoutVersion
    }
}
