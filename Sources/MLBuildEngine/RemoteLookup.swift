import MLBuildCache

/// What a remote cache answered for an action key. Kept apart from a plain optional so that a
/// reason never says "no cache entry" when the remote was not asked or its entry was refused.
public enum RemoteLookup: Sendable {
    /// An entry that matches the target's declared outputs (its blobs are not fetched yet).
    case hit(ActionResult)
    case miss
    /// An entry that is malformed or does not match the declared outputs (a warning said so).
    case rejected
    /// The remote cache could not be asked: unreachable, or disabled for this run after an
    /// earlier failure (a warning said so).
    case unavailable
}
