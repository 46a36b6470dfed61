import MLBuildEngine
import Synchronization

/// A channel's current release as a deploy target's canary needs it: the stable image.
public struct ChannelRelease: Sendable, Equatable {
    public var id: Int64
    /// `container:NAME` as recorded.
    public var target: String
    /// `sha256:…` of the image manifest.
    public var imageDigest: String

    public init(id: Int64, target: String, imageDigest: String) {
        self.id = id
        self.target = target
        self.imageDigest = imageDigest
    }
}

/// Where a deploy target with `canary` reads its channel's current release from. The release
/// database belongs to the CLI (MLBuildHistory, which this module does not import): the CLI
/// installs a reader over it (`DeployReleases.use`) before it plans, with the same database the
/// release commands use. Without one, a canary cannot be rendered (the key and the run fail
/// saying so), never rendered from a guess.
public protocol ChannelReleaseReader: Sendable {
    /// The channel's current release, nil when the channel has none (or there is no database).
    func current(channel: String) throws -> ChannelRelease?
}

public enum DeployReleases {
    private static let state = Mutex<(any ChannelReleaseReader)?>(nil)

    public static func use(_ reader: (any ChannelReleaseReader)?) { state.withLock { $0 = reader } }

    static func current(channel: String) throws -> ChannelRelease? {
        guard let reader = state.withLock({ $0 }) else {
            throw RuleFailure("no release database to read channel '\(channel)' from (internal: the command installed no release reader)")
        }
        return try reader.current(channel: channel)
    }
}
