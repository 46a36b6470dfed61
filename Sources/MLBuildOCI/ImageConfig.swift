import MLBuildBasics

/// The image configuration blob (`application/vnd.oci.image.config.v1+json`).
///
/// Only the fields of the image-spec are kept; fields other tools add to a base image's config
/// (e.g. Docker's `Healthcheck`) are not carried over.
public struct ImageConfig: Codable, Sendable, Equatable {
    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var variant: String?
    public var config: ContainerConfig?
    public var rootfs: RootFS
    public var history: [History]?

    public init(
        created: String?, architecture: String, os: String, variant: String?, config: ContainerConfig?,
        rootfs: RootFS, history: [History]?
    ) {
        self.created = created
        self.architecture = architecture
        self.os = os
        self.variant = variant
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    public struct ContainerConfig: Codable, Sendable, Equatable {
        public var User: String?
        public var ExposedPorts: [String: Empty]?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var Volumes: [String: Empty]?
        public var WorkingDir: String?
        public var Labels: [String: String]?
        public var StopSignal: String?

        public init() {}
    }

    public struct RootFS: Codable, Sendable, Equatable {
        public var type: String
        public var diff_ids: [ContentDigest]

        public init(diffIDs: [ContentDigest]) {
            self.type = "layers"
            self.diff_ids = diffIDs
        }
    }

    public struct History: Codable, Sendable, Equatable {
        public var created: String?
        public var created_by: String?
        public var author: String?
        public var comment: String?
        public var empty_layer: Bool?

        public init(created: String?, createdBy: String?, comment: String? = nil, emptyLayer: Bool? = nil) {
            self.created = created
            self.created_by = createdBy
            self.comment = comment
            self.empty_layer = emptyLayer
        }
    }

    /// Encodes as `{}` (the value type of ExposedPorts and Volumes).
    public struct Empty: Codable, Sendable, Equatable {
        public init() {}
    }
}
