import MLBuildBasics

/// What `OCIArchiveVerifier.verify` checked.
public struct VerificationReport: Sendable, Equatable {
    public struct Image: Sendable, Equatable {
        public var manifestDigest: ContentDigest
        public var refName: String?
        public var configDigest: ContentDigest
        public var platform: Platform
        /// (blob digest, diff_id) of every layer, in order.
        public var layers: [(digest: ContentDigest, diffID: ContentDigest)]

        public static func == (lhs: Image, rhs: Image) -> Bool {
            lhs.manifestDigest == rhs.manifestDigest && lhs.refName == rhs.refName
                && lhs.configDigest == rhs.configDigest && lhs.platform == rhs.platform
                && lhs.layers.map(\.digest) == rhs.layers.map(\.digest)
                && lhs.layers.map(\.diffID) == rhs.layers.map(\.diffID)
        }
    }

    public var images: [Image]
    /// Distinct blobs whose digest and size were checked.
    public var blobsVerified: Int
    public var bytesVerified: Int64
}
