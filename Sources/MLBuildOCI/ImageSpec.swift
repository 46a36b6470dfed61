import Foundation

/// Everything that determines an image. The builder reads nothing else (no environment, no clock).
public struct ImageSpec: Sendable, Equatable {
    /// An OCI archive (tar) or an OCI image-layout directory whose layers and config are reused.
    public var base: URL?
    public var layers: [LayerSpec]

    public var entrypoint: [String]?
    public var cmd: [String]?
    /// `KEY=VALUE` entries; a key already set by the base is replaced in place.
    public var env: [String]
    public var workdir: String?
    public var user: String?
    /// `8080`, `8080/tcp` or `53/udp`; a bare port means tcp.
    public var exposedPorts: [String]
    public var labels: [String: String]
    /// nil: the base image's platform, or linux/amd64 without a base.
    public var platform: Platform?

    /// `org.opencontainers.image.ref.name` (the tag, e.g. "latest" or "1.2.0").
    public var tag: String?
    public var version: String?
    public var revision: String?
    public var source: String?
    /// Extra annotations (lineage digests, model metrics …) on the manifest and the index entry.
    public var annotations: [String: String]

    /// SOURCE_DATE_EPOCH as given by the caller (seconds); nil -> 1970-01-01T00:00:00Z.
    public var sourceDateEpoch: Int64?
    /// How our layers are compressed (default gzip). Part of the layer cache key.
    public var compression: LayerCompression
    /// The level for `compression`; nil: its default (gzip 6, as gzip's and Go's default; zstd
    /// 3, as the zstd command line's). Part of the layer cache key.
    public var compressionLevel: Int32?

    public init(
        base: URL? = nil, layers: [LayerSpec] = [], entrypoint: [String]? = nil, cmd: [String]? = nil,
        env: [String] = [], workdir: String? = nil, user: String? = nil, exposedPorts: [String] = [],
        labels: [String: String] = [:], platform: Platform? = nil, tag: String? = nil, version: String? = nil,
        revision: String? = nil, source: String? = nil, annotations: [String: String] = [:],
        sourceDateEpoch: Int64? = nil, compression: LayerCompression = .gzip,
        compressionLevel: Int32? = nil
    ) {
        self.base = base
        self.layers = layers
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workdir = workdir
        self.user = user
        self.exposedPorts = exposedPorts
        self.labels = labels
        self.platform = platform
        self.tag = tag
        self.version = version
        self.revision = revision
        self.source = source
        self.annotations = annotations
        self.sourceDateEpoch = sourceDateEpoch
        self.compression = compression
        self.compressionLevel = compressionLevel
    }

    /// The level our layers are compressed at.
    public var effectiveCompressionLevel: Int32 { compressionLevel ?? compression.defaultLevel }

    /// The `created` timestamp (RFC 3339, UTC, whole seconds).
    public var createdTimestamp: String {
        Self.rfc3339(sourceDateEpoch ?? 0)
    }

    static func rfc3339(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }
}
